// The instruction forms the IDE driver and the blk command brought into the
// kernel (kernel/blk/ata.ts, kernel/blk/commands.ts, the sector system calls):
// port I/O with DX, the word string instructions that move a sector through
// the Data register, and the rest, written as a listing - the NASM line the
// emitter must print beside the bytes the SDM gives for it - and checked
// three ways: our bytes, our text, and real NASM assembling our text to the
// same bytes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Asm, defineModule } from '../../toolchain/x86/asm.ts';
import { assemble } from '../../toolchain/x86/assemble.ts';
import { emitComponent, itemText } from '../../toolchain/x86/nasm.ts';
import * as o from '../../toolchain/x86/operands.ts';

const { eax, ebx, edx, al, ah, ax, dx, byte, word } = o;

type Row = [nasm: string, emit: (a: Asm) => void, hex: string];

const ROWS: Row[] = [
  // IN/OUT with the port in DX (SDM Vol. 2A IN: EC; Vol. 2B OUT: EE)
  ['in al, dx', (a) => a.in(al, dx), 'ec'],
  ['out dx, al', (a) => a.out(dx, al), 'ee'],
  ['in ax, dx', (a) => a.in(ax, dx), '66ed'],
  // string I/O: REP (F3) with the operand-size prefix (66) for words (SDM Vol. 2A INS, Vol. 2B OUTS, REP)
  ['rep insw', (a) => a.rep_insw(), 'f3666d'],
  ['rep outsw', (a) => a.rep_outsw(), 'f3666f'],
  ['lodsw', (a) => a.lodsw(), '66ad'],
  ['stosw', (a) => a.stosw(), '66ab'],
  ['repe cmpsb', (a) => a.repe_cmpsb(), 'f3a6'],
  ['rep movsd', (a) => a.rep_movsd(), 'f3a5'],
  // IMUL r32, r/m32, imm32 (69 /r id): the FNV-1a step
  ['imul eax, eax, 0x1000193', (a) => a.imul(eax, eax, 0x01000193), '69c093010001'],
  ['xor al, byte [edx]', (a) => a.xor(al, byte(edx)), '3202'],
  // XCHG r/m8, r8 (86 /r): ModRM C4 puts AH in r/m and AL in reg, the form NASM picks as well
  ['xchg al, ah', (a) => a.xchg(al, ah), '86c4'],
  ['cmp ax, 0xEB14', (a) => a.cmp(ax, 0xeb14), '663d14eb'],
  ['test word [ebx+0x62], 0x200', (a) => a.test(word(ebx, 0x62), 0x200), '66f743620002'],
];

describe('port I/O and string forms of the disk code: listing checked against NASM', () => {
  it('32-bit listing', () => {
    const mod = defineModule({ name: 'pio', title: 'pio', about: 'test', emit: (a) => ROWS.forEach(([, e]) => e(a)) });
    const asm = assemble({ name: 'pio32', title: 'pio', about: 'test', bits: 32, origin: 0x10000, modules: [mod] });
    const code = asm.rows.filter((r) => r.item.k !== 'label');
    expect(code.length).toBe(ROWS.length);
    const got = code.map((r) => [itemText(r.item, 'pio').replace(/;.*/, '').trim(), Buffer.from(r.bytes).toString('hex')]);
    expect(got).toEqual(ROWS.map(([text, , hex]) => [text, hex]));
    const dir = mkdtempSync(path.join(tmpdir(), 'tsk-pio-'));
    try {
      for (const f of emitComponent(asm)) writeFileSync(path.join(dir, f.path), f.text);
      execFileSync('nasm', ['-f', 'bin', 'pio32.asm', '-o', 'out.bin'], { cwd: dir, stdio: 'pipe' });
      expect(readFileSync(path.join(dir, 'out.bin')).toString('hex')).toBe(Buffer.from(asm.bytes).toString('hex'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
