// The ustar header routines (kernel/fs/tar.ts, module ustar) without a boot,
// under qemu-i386: tar_octal on the fields as tar writes them and on
// malformed ones, and tar_hdr_check on headers made by the toolchain's
// writer (toolchain/disk/tar.ts) and by GNU tar, then damaged one byte at a
// time.  Each case also checks the routine's contract: only EAX, ECX and
// EDX may change.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TAR_ENT, tarfs, ustar } from '../../kernel/fs/tar.ts';
import { DISK, diskModule } from '../../kernel/blk/disk.ts';
import { string } from '../../kernel/lib/string.ts';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { L, al, dword, byte, eax, ebx, ecx, edx, edi } from '../../toolchain/x86/operands.ts';
import { tarHeader } from '../../toolchain/disk/tar.ts';
import { type RoutineCase, cstr, data, runRoutines } from '../harness/routine.ts';

const BAD = 0xffffffff;

describe('ustar header routines', () => {
  it('tar_octal reads octal ASCII fields and refuses what is not one', async () => {
    const fields: [string, string, number, number][] = [
      // [what, field bytes, value, EDX]
      ['size as tar writes it', '00000000764\0', 0o764, 0],
      ['mode', '0000644\0', 0o644, 0],
      ['leading spaces, space-terminated', '   644 \0', 0o644, 0],
      ['all 11 digits of a size (4 GiB - 1)', '37777777777\0', 0xffffffff, 0],
      ['no terminator within the field', '1234', 0o1234, 0],
      ['stops at the field\'s length', '12345678', 0o123, 0], // length 3 below
      ['past 32 bits', '40000000000\0', 0, BAD],
      ['an 8 is not octal', '0000008\0', 0, BAD],
      ['a letter', '00x0644\0', 0, BAD],
      ['empty (all NUL)', '\0\0\0\0\0\0\0\0', 0, BAD],
      ['only spaces', '        ', 0, BAD],
      ['GNU base-256 (high bit set)', '\x80\0\0\0\0\0\0\0\0\0\x10\0', 0, BAD],
    ];
    const cases: RoutineCase[] = fields.map(([name, f]) => ({
      name, routine: 'tar_octal',
      args: { eax: data(Buffer.from(f, 'latin1')), edx: name === 'stops at the field\'s length' ? 3 : f.length },
    }));
    const rs = await runRoutines({ modules: [ustar], cases });
    fields.forEach(([name, , value, edx], i) => {
      const r = rs[i]!;
      expect(r.regs.edx, name).toBe(edx);
      if (edx === 0) expect(r.regs.eax, name).toBe(value);
      expect(r.changed.filter((x) => !['eax', 'ecx', 'edx'].includes(x)), name).toEqual([]);
    });
  });

  it('tar_hdr_check: valid headers from both writers; damage to magic or any checksummed byte is refused', async () => {
    const ours = tarHeader({ name: 'docs/tar.txt', data: 'x' }, 187);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsk-tarhdr-'));
    let gnuUstar: Buffer, gnuOld: Buffer;
    try {
      writeFileSync(path.join(dir, 'f'), 'hello\n');
      execFileSync('tar', ['--format=ustar', '-cf', path.join(dir, 'u.tar'), '-C', dir, 'f']);
      execFileSync('tar', ['--format=gnu', '-cf', path.join(dir, 'g.tar'), '-C', dir, 'f']);
      gnuUstar = readFileSync(path.join(dir, 'u.tar')).subarray(0, 512);
      gnuOld = readFileSync(path.join(dir, 'g.tar')).subarray(0, 512);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const flip = (b: Buffer, at: number, x = 1) => { const c = Buffer.from(b); c[at]! ^= x; return c; };
    const blocks: [string, Buffer, number][] = [
      ['the toolchain\'s header', ours, 0],
      ['GNU tar --format=ustar', gnuUstar, 0],
      ['GNU tar\'s older format ("ustar  ")', gnuOld, 0],
      ['a zero block', Buffer.alloc(512), 1],
      ['magic "ustaR"', flip(ours, 261, 0x20), 1],
      ['magic "ustar" then X', (() => { const c = Buffer.from(ours); c[262] = 0x58; return c; })(), 1],
      ['a name byte changed', flip(ours, 0), 2],
      ['the size changed', flip(ours, 134), 2],
      ['the last byte of the block changed', flip(ours, 511), 2],
      ['a checksum digit changed', flip(ours, 150), 2],
      ['the checksum field unreadable', (() => { const c = Buffer.from(ours); c.write('zzzzzz', 148, 'latin1'); return c; })(), 2],
    ];
    const rs = await runRoutines({
      modules: [ustar],
      cases: blocks.map(([name, b]) => ({ name, routine: 'tar_hdr_check', args: { eax: data(b) } })),
    });
    blocks.forEach(([name, , want], i) => {
      expect(rs[i]!.regs.eax, name).toBe(want);
      expect(rs[i]!.changed.filter((x) => !['eax', 'ecx', 'edx'].includes(x)), name).toEqual([]);
    });
  });

  it('tar_read copies any offset and length from a disk (a memory disk behind blk_rw); tar_norm and tar_lookup find paths', async () => {
    // The memory disk: byte at disk position p is (7p + p/512) mod 256, so a byte from the
    // wrong sector or offset shows.  md_rw stands where a driver would and counts its calls.
    const f = (p: number) => (p * 7 + Math.floor(p / 512)) & 0xff;
    const memdisk = defineModule({
      name: 'memdisk', title: 'a disk in memory for the tar_read test', about: 'md_rw fills the buffer with the position pattern.',
      emit(a) {
        a.bss('rd_buf', 8192 + 64, 4, 'where tar_read copies to');
        a.bss('md_calls', 4, 4, 'requests seen');
        a.bss('md_most', 4, 4, 'the most sectors one request asked for');
        a.routine({
          name: 'md_rw', does: 'reads the pattern', args: { disk: 'd', op: 'o', lba: 'l', count: 'c', buf: 'b' },
          out: { eax: '0' }, clobbers: [ecx, edx], saves: [ebx, edi],
        }, (r) => {
          a.inc(dword(L('md_calls')));
          a.mov(ecx, r.arg('count'));
          a.cmp(ecx, dword(L('md_most')));
          a.if_('a', () => a.mov(dword(L('md_most')), ecx));
          a.shl(ecx, 9);
          a.mov(edx, r.arg('lba'));
          a.shl(edx, 9);
          a.mov(edi, r.arg('buf'));
          a.forCount(ecx, ecx, () => {
            a.imul(eax, edx, 7);
            a.mov(ebx, edx);
            a.shr(ebx, 9);
            a.add(eax, ebx);
            a.mov(byte(edi), al);
            a.inc(edi);
            a.inc(edx);
          });
          a.xor(eax, eax);
          r.ret();
        });
        a.routine({ name: 'md_attach', does: 'makes a disk of 4096 sectors served by md_rw the mounted one', in: { eax: 'the disk' } }, (r) => {
          a.mov(dword(eax, DISK.f.rw), L('md_rw'));
          a.mov(dword(eax, DISK.f.sectors), 4096);
          a.mov(dword(L('tar_disk')), eax);
          r.ret();
        });
      },
    });
    const le32 = (...xs: number[]) => xs.flatMap((x) => [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff]);
    const ent = (p: string, size: number, lba: number) => {
      const b = Buffer.alloc(TAR_ENT.size);
      b.write(p, 0, 'latin1');
      b.writeUInt32LE(size, TAR_ENT.f.size.offset);
      b.writeUInt32LE(0o644, TAR_ENT.f.mode.offset);
      b.writeUInt32LE(0x30, TAR_ENT.f.type.offset);
      b.writeUInt32LE(lba, TAR_ENT.f.lba.offset);
      return [...b];
    };
    const SIZE = 100_000, LBA = 10;
    const reads: [number, number][] = [
      [0, 1], [0, 512], [1, 511], [511, 2], [510, 4096], [100, 8192], [4095, 4097], [99_999, 10], [SIZE - 700, 8192],
      [SIZE, 5], [200_000, 5], [5000, 0], [0xffffffff, 1],
    ];
    const cases: RoutineCase[] = [
      { name: 'add', routine: 'disk_add' },
      {
        name: 'attach', routine: 'md_attach', args: { eax: L('disk_table') },
        memory: [{ at: L('tar_ents'), bytes: [...ent('docs/big', SIZE, LBA), ...ent('a', 3, 300), ...ent('a', 4, 400)] }, { at: L('tar_count'), bytes: le32(3) }],
      },
      ...reads.map(([off, len]): RoutineCase => ({
        name: `read ${off} ${len}`, routine: 'tar_read', stack: [L('tar_ents'), off, len, L('rd_buf')],
        memory: [{ at: L('rd_buf'), bytes: Array(8192 + 64).fill(0xee) }, { at: L('md_calls'), bytes: le32(0) }],
        read: [{ at: L('rd_buf'), length: 8192 + 64 }, { at: L('md_calls'), length: 8 }],
      })),
      ...['/docs/big/', 'docs//', '', `${'x'.repeat(256)}`, `${'x'.repeat(257)}`].map((p): RoutineCase => ({
        name: `norm ${p.length}:${p.slice(0, 12)}`, routine: 'tar_norm', args: { eax: cstr(p) }, read: [{ at: L('tar_path'), length: 260 }],
      })),
      ...['docs/big', 'a', 'docs', 'docs/bi', 'docs/big/x', ''].map((p): RoutineCase => ({ name: `lookup '${p}'`, routine: 'tar_lookup', args: { eax: cstr(p) } })),
    ];
    const rs = await runRoutines({ modules: [ustar, tarfs, diskModule, string, memdisk], cases });
    const at = (name: string) => rs[cases.findIndex((c) => c.name === name)]!;
    for (const [off, len] of reads) {
      const r = at(`read ${off} ${len}`);
      const n = off >= SIZE ? 0 : Math.min(len, SIZE - off);
      expect(r.regs.eax, `read ${off} ${len}`).toBe(n);
      const want = Buffer.alloc(8192 + 64, 0xee);
      for (let i = 0; i < n; i++) want[i] = f(LBA * 512 + off + i);
      const got = Buffer.from(r.memory[0]!);
      const diff = got.findIndex((b, i) => b !== want[i]);
      expect(diff, `read ${off} ${len}: first wrong byte`).toBe(-1);
      const [calls, most] = [Buffer.from(r.memory[1]!).readUInt32LE(0), Buffer.from(r.memory[1]!).readUInt32LE(4)];
      if (n > 0) expect(calls, `read ${off} ${len}: requests`).toBe(Math.ceil(((off % 512) + n) / 4096));
      else expect(calls).toBe(0);
      expect(most, 'TAR_BUF_SECTORS at most').toBeLessThanOrEqual(8);
      expect(r.changed.filter((x) => !['eax', 'ecx', 'edx'].includes(x)), `read ${off} ${len}`).toEqual([]);
    }
    const path0 = (name: string) => { const m = Buffer.from(at(name).memory[0]!); return m.subarray(0, m.indexOf(0)).toString('latin1'); };
    expect(path0('norm 10:/docs/big/')).toBe('docs/big');
    expect(path0('norm 6:docs//')).toBe('docs');
    expect(path0('norm 0:')).toBe('');
    expect(path0(`norm 256:${'x'.repeat(12)}`)).toBe('x'.repeat(256));
    expect(at(`norm 257:${'x'.repeat(12)}`).regs.eax).toBe(0);
    const first = at("lookup 'docs/big'").regs.eax;
    expect(first).not.toBe(0);
    expect(at("lookup 'a'").regs.eax - first, 'a path twice (tar -r): the later entry').toBe(2 * TAR_ENT.size);
    for (const p of ['docs', 'docs/bi', 'docs/big/x', '']) expect(at(`lookup '${p}'`).regs.eax, p).toBe(0);
  });

  it('tar_pax_path keeps the value of a pax "path" record (as GNU tar --format=posix writes them) and refuses damaged records', async () => {
    const rec = (kw: string, v: string) => {
      const body = ` ${kw}=${v}\n`;
      let n = body.length + 1;
      while (`${n}${body}`.length !== n) n++;
      return `${n}${body}`;
    };
    const long = `d/${'x'.repeat(150)}/${'y'.repeat(60)}`; // 213 bytes: no prefix/name split fits the 'x' part
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsk-pax-'));
    let gnuRecords: Buffer;
    try {
      mkdirSync(path.join(dir, 'd', 'x'.repeat(150)), { recursive: true });
      writeFileSync(path.join(dir, long), 'p\n');
      execFileSync('tar', ['--format=posix', '-cf', path.join(dir, 'p.tar'), '-C', dir, long]);
      const t = readFileSync(path.join(dir, 'p.tar'));
      expect(String.fromCharCode(t[156]!), 'the first header is a pax header').toBe('x');
      gnuRecords = t.subarray(512, 512 + parseInt(t.subarray(124, 136).toString('latin1'), 8));
      expect(gnuRecords.toString('latin1')).toContain(` path=${long}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const cases: [string, Buffer, string | null][] = [
      ['GNU tar\'s records', gnuRecords, long],
      ['path alone', Buffer.from(rec('path', 'a/b.txt')), 'a/b.txt'],
      ['after other records; linkpath is not path', Buffer.from(rec('mtime', '1.5') + rec('linkpath', 'no') + rec('path', 'yes') + rec('size', '3')), 'yes'],
      ['the later path wins', Buffer.from(rec('path', 'first') + rec('path', 'second')), 'second'],
      ['TAR_PATH_MAX bytes', Buffer.from(rec('path', 'z'.repeat(256))), 'z'.repeat(256)],
      ['longer than TAR_PATH_MAX', Buffer.from(rec('path', 'z'.repeat(257))), null],
      ['a length past the data', Buffer.from(rec('path', 'abc')).subarray(0, 10), null],
      ['a length that is not a number', Buffer.from(`1x path=abc\n`), null],
      ['no line feed where the length ends', Buffer.from(rec('path', 'abc').replace('\n', 'Z')), null],
      ['a damaged record stops the walk', Buffer.from(`99 path=a\n${rec('path', 'b')}`), null],
      ['no records', Buffer.alloc(0), null],
    ];
    const rs = await runRoutines({
      modules: [ustar, tarfs, diskModule, string],
      cases: cases.map(([name, b]): RoutineCase => ({
        name, routine: 'tar_pax_path', args: { eax: data(b), edx: b.length },
        memory: [{ at: L('tar_long_set'), bytes: [0, 0, 0, 0] }, { at: L('tar_long'), bytes: Array(260).fill(0xee) }],
        read: [{ at: L('tar_long'), length: 260 }],
      })),
    });
    cases.forEach(([name, , want], i) => {
      const r = rs[i]!;
      expect(r.regs.eax, name).toBe(want === null ? 0 : 1);
      if (want !== null) {
        const m = Buffer.from(r.memory[0]!);
        expect(m.subarray(0, m.indexOf(0)).toString('latin1'), name).toBe(want);
      }
      expect(r.changed.filter((x) => !['eax', 'ecx', 'edx'].includes(x)), name).toEqual([]);
    });
  });
});
