// Two computations of the disk code without a boot: the FNV-1a hash "blk
// check" prints (kernel/blk/commands.ts), which must equal the one the boot
// tests compute on the host image (toolchain/disk/pattern.ts), and the
// IDENTIFY string copy of the ATA driver (kernel/blk/ata.ts): swapped bytes,
// trailing spaces dropped.
import { describe, expect, it } from 'vitest';
import { L } from '../../toolchain/x86/operands.ts';
import { ata } from '../../kernel/blk/ata.ts';
import { FNV_OFFSET_BASIS, FNV_PRIME_32, blkCmds } from '../../kernel/blk/commands.ts';
import { FNV_OFFSET, FNV_PRIME, fnv1a32, patternSectors } from '../../toolchain/disk/pattern.ts';
import { type RoutineCase, runRoutines } from '../harness/routine.ts';

describe('fnv1a32 (kernel/blk/commands.ts)', () => {
  it('uses the parameters of toolchain/disk/pattern.ts', () => {
    expect(FNV_OFFSET_BASIS.c.value).toBe(FNV_OFFSET);
    expect(FNV_PRIME_32.c.value).toBe(FNV_PRIME);
  });

  it('hashes like the host: published vectors, a pattern sector, and a hash continued over a second buffer', async () => {
    const sector = patternSectors(0x12345678, 1);
    const inputs: { name: string; bytes: Buffer; from?: number; want: number }[] = [
      { name: 'no bytes', bytes: Buffer.alloc(0), want: 0x811c9dc5 },
      { name: '"a"', bytes: Buffer.from('a'), want: 0xe40c292c },
      { name: '"foobar"', bytes: Buffer.from('foobar'), want: 0xbf9cf968 },
      { name: 'a pattern sector', bytes: sector, want: fnv1a32(sector) },
      { name: 'continued from the first half', bytes: sector.subarray(256), from: fnv1a32(sector.subarray(0, 256)), want: fnv1a32(sector) },
      { name: 'bytes 0x80-0xFF (no sign extension)', bytes: Buffer.from(Array.from({ length: 128 }, (_, i) => 0x80 + i)), want: fnv1a32(Buffer.from(Array.from({ length: 128 }, (_, i) => 0x80 + i))) },
    ];
    const cases: RoutineCase[] = inputs.map((t) => ({
      name: t.name, routine: 'fnv1a32',
      args: { eax: t.from ?? FNV_OFFSET, edx: L('blk_buf'), ecx: t.bytes.length },
      memory: t.bytes.length ? [{ at: L('blk_buf'), bytes: t.bytes }] : [],
    }));
    const rs = await runRoutines({ modules: [blkCmds], cases });
    inputs.forEach((t, i) => {
      expect(rs[i]!.regs.eax.toString(16), t.name).toBe(t.want.toString(16));
      expect(rs[i]!.changed.filter((r) => !['eax', 'ecx', 'edx'].includes(r)), t.name).toEqual([]);
    });
  });
});

describe('ata_id_string (kernel/blk/ata.ts): an IDENTIFY DEVICE string', () => {
  /** How a drive stores a string: padded with spaces to 2 * words bytes, the two bytes of each word swapped. */
  const stored = (s: string, words: number) => {
    const b = Buffer.from(s.padEnd(words * 2, ' '), 'latin1');
    for (let i = 0; i < b.length; i += 2) [b[i], b[i + 1]] = [b[i + 1]!, b[i]!];
    return b;
  };
  it('swaps each word\'s bytes back, drops the trailing spaces and ends the string with a NUL', async () => {
    const tests = [
      { s: 'QEMU HARDDISK', words: 20, want: 'QEMU HARDDISK' },
      { s: 'QM00001', words: 10, want: 'QM00001' },
      { s: 'TWENTY-CHARACTERS-SN', words: 10, want: 'TWENTY-CHARACTERS-SN' },
      { s: '  A B', words: 10, want: '  A B' },
      { s: '', words: 10, want: '' },
      { s: 'odd', words: 2, want: 'odd' },
    ];
    const cases: RoutineCase[] = tests.map((t) => ({
      name: JSON.stringify(t.s), routine: 'ata_id_string',
      args: { eax: L('ata_model'), edx: 54, ecx: t.words },
      memory: [{ at: L('ata_model'), bytes: Buffer.alloc(44, 0xee) }, { at: L('ata_ident').add(54), bytes: stored(t.s, t.words) }],
      read: [{ at: L('ata_model'), length: 44 }],
    }));
    const rs = await runRoutines({ modules: [ata], cases });
    tests.forEach((t, i) => {
      const out = Buffer.from(rs[i]!.memory[0]!);
      expect(out.subarray(0, t.want.length + 1).toString('latin1'), JSON.stringify(t.s)).toBe(`${t.want}\0`);
      expect(rs[i]!.changed.filter((r) => !['eax', 'ecx', 'edx'].includes(r))).toEqual([]);
    });
  });
});
