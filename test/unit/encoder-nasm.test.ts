// The encoder against the independent oracle: a sweep of operand forms in
// 16- and 32-bit code is encoded in-process (iced-x86 via toolchain/x86) and
// by NASM from the emitted text; the bytes must be identical.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Asm, type Bits, defineModule } from '../../toolchain/x86/asm.ts';
import { assemble } from '../../toolchain/x86/assemble.ts';
import { emitComponent } from '../../toolchain/x86/nasm.ts';
import * as o from '../../toolchain/x86/operands.ts';

const { L } = o;
const R8 = [o.al, o.cl, o.dl, o.bl, o.ah, o.ch, o.dh, o.bh];
const R16 = [o.ax, o.cx, o.dx, o.bx, o.sp, o.bp, o.si, o.di];
const R32 = [o.eax, o.ecx, o.edx, o.ebx, o.esp, o.ebp, o.esi, o.edi];
const IMMS = [0, 1, 5, -1, -128, 127, 128, 255, 0x1234, 0x7fff, 0x8000, 0xffff, -32768, 0x12345678, 0xfffffff0, 0x80000000];
const fitsIn = (v: number, size: number) => (size === 8 ? v >= -128 && v <= 255 : size === 16 ? v >= -32768 && v <= 0xffff : true);

function addresses(bits: Bits): o.Address[] {
  const list: o.Address[] = [
    { disp: 0x500 }, { disp: L('target') }, { base: o.bx }, { base: o.bp }, { base: o.si, disp: 4 }, { base: o.di, disp: -4 },
    { base: o.bx, index: o.si }, { base: o.bp, index: o.di, disp: 0x100 }, { base: o.bx, disp: L('target') },
    { base: o.eax }, { base: o.esp }, { base: o.ebp }, { base: o.ebx, disp: 0x7f }, { base: o.ebx, disp: 0x80 },
    { base: o.esi, disp: -129 }, { base: o.eax, index: o.ecx, scale: 4 }, { base: o.esp, index: o.ebp, scale: 8, disp: 12 },
    { index: o.edi, scale: 4, disp: L('target') }, { index: o.edx, scale: 2 }, { base: o.edx, index: o.esp },
    { base: o.ecx, disp: L('target') }, { base: o.bx, seg: o.es }, { base: o.eax, seg: o.fs, disp: 8 }, { disp: 0x1000, seg: o.gs },
  ];
  return bits === 16 ? list : list.filter((a) => !(a.disp === 0x500) && !(a.base?.size === 16 && typeof a.disp === 'object'));
}

function sweep(a: Asm, bits: Bits): void {
  const ins = (mn: string, ...ops: o.Operand[]) => a.ins(mn, ...ops);
  const mems = (size: 8 | 16 | 32) => addresses(bits).map((ad) => (size === 8 ? o.byte(ad) : size === 16 ? o.word(ad) : o.dword(ad)));
  const regs = { 8: R8, 16: R16, 32: R32 } as const;
  a.label('target');
  for (const mn of ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp', 'mov', 'test']) {
    for (const size of [8, 16, 32] as const) {
      for (const r of regs[size]) {
        ins(mn, r, regs[size][3]!); ins(mn, regs[size][2]!, r);
        for (const v of IMMS) if (fitsIn(v, size)) ins(mn, r, v);
        ins(mn, r, mems(size)[5]!);
      }
      for (const m of mems(size)) { ins(mn, m, regs[size][1]!); for (const v of [1, -1, 0x7f, 0x80]) if (fitsIn(v, size)) ins(mn, m, v); }
      if (size === 32 || (size === 16 && bits === 16)) ins(mn, regs[size][0]!, L('target'));
    }
  }
  for (const mn of ['shl', 'shr', 'sar', 'sal', 'rol', 'ror', 'rcl', 'rcr']) {
    for (const size of [8, 16, 32] as const) for (const r of regs[size]) { ins(mn, r, 1); ins(mn, r, 4); ins(mn, r, o.cl); }
    ins(mn, o.dword(o.ebx), 3); ins(mn, o.word(o.bx), 1);
  }
  for (const mn of ['inc', 'dec', 'neg', 'not', 'mul', 'div', 'idiv', 'imul']) {
    for (const size of [8, 16, 32] as const) { for (const r of regs[size]) ins(mn, r); ins(mn, mems(size)[4]!); }
  }
  for (const r of R32) { ins('imul', r, o.ecx); ins('imul', r, o.ebx, 10); ins('imul', r, o.esi, 1000); ins('push', r); ins('pop', r); }
  for (const r of R16) { ins('imul', r, o.cx); ins('push', r); ins('pop', r); ins('movzx', r, o.al); ins('movsx', r, o.byte(o.bx)); }
  for (const r of R32) { ins('movzx', r, o.bl); ins('movzx', r, o.word(o.esi)); ins('movsx', r, o.dx); ins('lea', r, o.mem({ base: o.ebx, index: r === o.esp ? o.eax : r, scale: 2, disp: 3 })); }
  for (const v of [0, 5, -5, 0x7f, 0x80, 0x1234, L('target')]) ins('push', v);
  for (const s of [o.es, o.cs, o.ss, o.ds, o.fs, o.gs]) { ins('push', s); if (s !== o.cs) ins('pop', s); ins('mov', o.ax, s); ins('mov', o.word(o.ebx), s); }
  for (const s of [o.es, o.ss, o.ds, o.fs, o.gs]) { ins('mov', s, o.ax); ins('mov', s, o.eax); ins('mov', s, o.word(o.bx)); }
  for (const c of [o.cr0, o.cr2, o.cr3, o.cr4]) { ins('mov', o.eax, c); ins('mov', c, o.edx); }
  for (const acc of [o.al, o.ax, o.eax]) { ins('in', acc, 0x60); ins('in', acc, o.dx); ins('out', 0x80, acc); ins('out', o.dx, acc); }
  for (const r of [o.eax, o.ebx]) { ins('xchg', r, o.ecx); ins('xchg', o.ecx, r); ins('xchg', r, o.dword(o.esi)); ins('bt', r, 3); ins('bts', r, o.edx); ins('bsf', r, o.dword(o.edi)); }
  // LOCK-prefixed read-modify-writes on every address form; cmpxchg/xadd; fences
  for (const size of [8, 16, 32] as const) {
    for (const m of mems(size)) {
      for (const mn of ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor']) { ins(`lock ${mn}`, m, regs[size][2]!); ins(`lock ${mn}`, m, 1); }
      for (const mn of ['inc', 'dec', 'neg', 'not']) ins(`lock ${mn}`, m);
      for (const mn of ['cmpxchg', 'xadd']) { ins(`lock ${mn}`, m, regs[size][1]!); ins(mn, m, regs[size][3]!); }
      if (size !== 8) for (const mn of ['bts', 'btr', 'btc']) { ins(`lock ${mn}`, m, regs[size][0]!); ins(`lock ${mn}`, m, 5); }
    }
    for (const r of regs[size]) { ins('cmpxchg', r, regs[size][1]!); ins('xadd', regs[size][2]!, r); }
  }
  for (const ad of addresses(bits)) { ins('cmpxchg8b', o.mem(ad)); ins('lock cmpxchg8b', o.mem(ad)); }
  for (const mn of ['lfence', 'mfence', 'sfence']) ins(mn);
  for (const cc of ['e', 'ne', 'z', 'nz', 'c', 'nc', 'a', 'b', 'ge', 'l', 'le', 'g', 's', 'ns', 'o', 'no', 'p', 'np']) {
    ins(`j${cc}`, L('target')); ins(`j${cc}`, L('far_target')); ins(`set${cc}`, o.al); ins(`set${cc}`, o.byte(o.ebx));
  }
  ins('jmp', L('target')); ins('jmp', L('far_target')); ins('call', L('far_target'));
  ins('jmp', o.eax); ins('call', o.dword(o.ebx, 4)); ins('jmp', o.ax); ins('call', o.word(o.bx));
  a.label('near_target');
  ins('loop', L('near_target')); ins(bits === 16 ? 'jcxz' : 'jecxz', L('near_target'));
  ins('int', 0x80); ins('int', 3); ins('int3'); ins('ret'); ins('ret', 8); ins('retf'); ins('iret');
  ins('lgdt', o.mem(L('target'))); ins('lidt', o.mem(o.ebx)); ins('sidt', o.mem({ disp: 0x600 })); ins('invlpg', o.mem(o.eax)); ins('ltr', o.ax); ins('lldt', o.word(o.bx));
  ins('jmp', o.far(0x08, L('target'))); ins('jmp', o.far(0x10, 0x1234, { wide: true }));
  for (const mn of ['cli', 'sti', 'hlt', 'nop', 'pusha', 'popa', 'pushf', 'popf', 'pushad', 'popad', 'pushfd', 'popfd', 'iretd', 'cld', 'std', 'clc', 'stc', 'cmc', 'cbw', 'cwde', 'cwd', 'cdq', 'leave', 'lahf', 'sahf', 'clts', 'wbinvd', 'ud2']) ins(mn);
  for (const mn of ['lodsb', 'lodsw', 'lodsd', 'stosb', 'stosw', 'stosd', 'movsb', 'movsw', 'movsd', 'insb', 'insw', 'insd', 'outsb', 'outsw', 'outsd', 'cmpsb', 'scasb', 'rep stosd', 'rep movsb', 'rep insw', 'rep outsw', 'repe cmpsb', 'repne scasb']) ins(mn);
  a.times(200, 1, 0x90, 'push far_target beyond rel8 range');
  a.label('far_target');
  a.db('data', 0, 0xff, -1); a.dw(0xffff, L('far_target').sub(L('target'))); if (bits === 16) a.dw(L('target')); a.dd(0xdeadbeef, L('target'), -1);
  a.align(16);
  a.times(o.HERE.sub(o.START).mod(7), 1, 0xcc);
}

function crossCheck(bits: Bits) {
  const mod = defineModule({ name: `sweep${bits}`, title: 'encoder sweep', about: 'test', emit: (a) => sweep(a, bits) });
  const asm = assemble({ name: `sweep${bits}`, title: 'sweep', about: 'test', bits, origin: bits === 16 ? 0 : 0x100000, modules: [mod] });
  const dir = mkdtempSync(path.join(tmpdir(), 'tsk-enc-'));
  try {
    for (const f of emitComponent(asm)) writeFileSync(path.join(dir, f.path), f.text);
    execFileSync('nasm', ['-f', 'bin', `sweep${bits}.asm`, '-o', 'out.bin'], { cwd: dir, stdio: 'pipe' });
    return { ours: Buffer.from(asm.bytes), nasm: readFileSync(path.join(dir, 'out.bin')), asm };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('encoder agrees with NASM byte for byte', () => {
  for (const bits of [16, 32] as const) {
    it(`${bits}-bit sweep`, () => {
      const { ours, nasm, asm } = crossCheck(bits);
      const rows = asm.rows.filter((r) => r.item.k === 'ins').length;
      if (bits === 16) expect(asm.bytes.length).toBeLessThan(0x10000);
      expect(rows).toBeGreaterThan(2500);
      if (!ours.equals(nasm)) {
        const at = ours.findIndex((b, i) => b !== nasm[i]);
        const row = asm.rows.find((r) => r.addr - asm.def.origin + r.bytes.length > at && r.bytes.length > 0);
        throw new Error(`first difference at offset ${at} (${row ? JSON.stringify(row.item) : '?'}): ours ${ours.subarray(at, at + 8).toString('hex')} nasm ${nasm.subarray(at, at + 8).toString('hex')}`);
      }
    });
  }
});
