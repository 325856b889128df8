// Encoder form selection, written as listings: source line beside the bytes
// the Intel SDM opcode tables give for it (and that NASM emits), plus the
// inputs the toolchain must reject with an error naming the TS line.
import { describe, expect, it } from 'vitest';
import { type Asm, type Bits, defineModule } from '../../toolchain/x86/asm.ts';
import { AsmError, assemble } from '../../toolchain/x86/assemble.ts';
import * as o from '../../toolchain/x86/operands.ts';

const { L, eax, ebx, ecx, edx, esp, ax, bx, al, cl, ds, es, cr0, si } = o;

function bytesOf(bits: Bits, emit: (a: Asm) => void, origin = 0): string {
  const mod = defineModule({ name: 't', title: 't', about: 't', emit });
  const r = assemble({ name: 't', title: 't', about: 't', bits, origin, modules: [mod] });
  return Buffer.from(r.bytes).toString('hex');
}
const one = (bits: Bits, emit: (a: Asm) => void) => bytesOf(bits, emit);

describe('form selection (SDM Vol. 2 opcode tables; NASM preferences)', () => {
  const cases: [string, Bits, (a: Asm) => void, string][] = [
    ['xor ax, ax: r/m,reg direction (31 /r)', 16, (a) => a.xor(ax, ax), '31c0'],
    ['add ax, 5: sign-extended imm8 beats the accumulator form', 16, (a) => a.add(ax, 5), '83c005'],
    ['add al, 5: accumulator form is shorter', 32, (a) => a.add(al, 5), '0405'],
    ['and eax, 0xFFFFFFF0: imm32 that is -16 becomes imm8', 32, (a) => a.and(eax, 0xfffffff0), '83e0f0'],
    ['cmp eax, 0x1000: accumulator imm32 form (3D)', 32, (a) => a.cmp(eax, 0x1000), '3d00100000'],
    ['shl ebx, 1: D1 shift-by-one', 32, (a) => a.shl(ebx, 1), 'd1e3'],
    ['sal ebx, 3 encodes as /4 like shl', 32, (a) => a.sal(ebx, 3), 'c1e303'],
    ['push 5 in 32-bit code: 6A ib', 32, (a) => a.push(5), '6a05'],
    ['push 0x1234 in 32-bit code: 68 id', 32, (a) => a.push(0x1234), '6834120000'],
    ['push label never shrinks (68 id)', 32, (a) => { a.label('x'); a.push(L('x')); }, '6800000000'],
    ['mov eax, [0x500]: moffs form A1', 32, (a) => a.mov(eax, o.dword(0x500)), 'a100050000'],
    ['mov ds, ax in 32-bit code: no 66 prefix', 32, (a) => a.mov(ds, ax), '8ed8'],
    ['mov ax, ds in 32-bit code: 66 prefix', 32, (a) => a.mov(ax, ds), '668cd8'],
    ['mov cr0, eax', 32, (a) => a.mov(cr0, eax), '0f22c0'],
    ['mov [ebx+4], eax: disp8', 32, (a) => a.mov(o.dword(ebx, 4), eax), '894304'],
    ['mov [ebx+label], eax: label displacements are disp32', 32, (a) => { a.label('x'); a.mov(o.dword(ebx, L('x')), eax); }, '898300000000'],
    ['[esp] needs a SIB byte', 32, (a) => a.mov(eax, o.dword(esp)), '8b0424'],
    ['[eax*2] is written [eax+eax] as NASM does', 32, (a) => a.lea(ecx, o.mem({ index: eax, scale: 2 })), '8d0c00'],
    ['[bx+si-2] 16-bit addressing', 16, (a) => a.mov(al, o.byte({ base: bx, index: si, disp: -2 })), '8a40fe'],
    ['xchg ecx, edx: first operand in ModRM.reg', 32, (a) => a.xchg(ecx, edx), '87ca'],
    ['xchg eax, ecx: one-byte 90+r form', 32, (a) => a.xchg(eax, ecx), '91'],
    ['out 0x21, al', 32, (a) => a.out(0x21, al), 'e621'],
    ['in al, dx', 16, (a) => a.in(al, o.dx), 'ec'],
    ['rep stosd in 16-bit code: F3 before 66', 16, (a) => a.rep_stosd(), 'f366ab'],
    ['iret in 32-bit code is iretd (CF)', 32, (a) => a.iret(), 'cf'],
    ['int 0x80', 32, (a) => a.int(0x80), 'cd80'],
    ['int3 is CC, int 3 is CD 03', 32, (a) => { a.int3(); a.int(3); }, 'cccd03'],
    ['jmp 0x08:label from 16-bit code: EA ptr16:16', 16, (a) => { a.label('x'); a.jmp(o.far(8, L('x'))); }, 'ea00000800'],
    ['jmp dword 0x08:0x10000: 66 EA ptr16:32', 16, (a) => a.jmp(o.far(8, 0x10000, { wide: true })), '66ea000001000800'],
    ['backward jmp within reach is short (EB)', 32, (a) => { a.label('x'); a.nop(); a.jmp(L('x')); }, '90ebfd'],
    ['forward jz within reach is short (74)', 32, (a) => { a.jz(L('x')); a.nop(); a.label('x'); }, '740190'],
    ['jz beyond 127 bytes is near (0F 84)', 32, (a) => { a.jz(L('x')); a.times(200, 1, 0x90); a.label('x'); }, '0f84c8000000' + '90'.repeat(200)],
    ['test al, [ebx] encodes as test [ebx], al', 32, (a) => a.test(al, o.byte(ebx)), '8403'],
    ['shl eax, cl', 32, (a) => a.shl(eax, cl), 'd3e0'],
    ['mov es, ax in 16-bit code', 16, (a) => a.mov(es, ax), '8ec0'],
  ];
  for (const [name, bits, emit, hex] of cases) it(name, () => expect(one(bits, emit)).toBe(hex));
});

describe('data, layout and expressions', () => {
  it('db/dw/dd, strings and times', () => {
    expect(one(16, (a) => { a.db('AB', 0); a.dw(0x1234); a.dd(0xdeadbeef); a.times(3, 1, 0xcc); })).toBe('4142003412efbeaddecccccc');
  });
  it('label arithmetic: size of a table', () => {
    expect(one(16, (a) => { a.label('t'); a.dd(1, 2); a.label('t_end'); a.dw(L('t_end').sub(L('t')).sub(1)); })).toBe('01000000020000000700');
  });
  it('align pads with zeros relative to the section start', () => {
    expect(one(32, (a) => { a.db(1); a.align(4); a.db(2); })).toBe('0100000002');
  });
  it('padding to 510 and the boot signature', () => {
    const hex = bytesOf(16, (a) => { a.nop(); a.times(o.bin('-', 510, o.HERE.sub(o.START)), 1, 0); a.dw(0xaa55); }, 0x7c00);
    expect(hex.length / 2).toBe(512);
    expect(hex.slice(-4)).toBe('55aa');
  });
  it('bss symbols follow the image at a 16-byte boundary', () => {
    const mod = defineModule({ name: 'b', title: 'b', about: 'b', emit: (a) => { a.db(1, 2, 3); a.bss('buf', 100); a.bss('buf2', 8, 8); } });
    const r = assemble({ name: 'b', title: 'b', about: 'b', bits: 32, origin: 0x10000, modules: [mod] });
    expect(r.symbols.get('buf')?.value).toBe(0x10010);
    expect(r.symbols.get('buf2')?.value).toBe(0x10010 + 104);
    expect(r.bssEnd).toBe(0x10010 + 112);
  });
  it('local labels are scoped by the previous global label', () => {
    expect(one(32, (a) => {
      a.label('f'); a.label('.x'); a.jmp(L('.x'));
      a.label('g'); a.label('.x'); a.jmp(L('.x'));
    })).toBe('ebfeebfe');
  });
  it('character constants: chr(c) is its ASCII code, written as NASM\'s \'c\'', async () => {
    expect(one(32, (a) => { a.mov(al, o.chr(' ')); a.cmp(al, o.chr("'")); })).toBe('b0203c27');
    const { exprText } = await import('../../toolchain/x86/nasm.ts');
    expect(exprText(o.chr(' '))).toBe("' '");
    expect(exprText(o.chr("'"))).toBe(`"'"`);
    expect(() => o.chr('ab')).toThrow(/one printable ASCII character/);
    expect(() => o.chr('\n')).toThrow(/one printable ASCII character/);
  });
  it('negation: -CONST evaluates and prints as in NASM', () => {
    const E = o.constant('TEST_ENCODER_E', 14, 'test errno');
    expect(one(32, (a) => a.mov(eax, E.neg()))).toBe('b8f2ffffff');
  });
  it('incbin includes the bytes of a component assembled earlier', () => {
    const mod = defineModule({ name: 'k', title: 'k', about: 'k', emit: (a) => { a.db(0xaa); a.label('blob'); a.incbin('blob'); a.label('blob_end'); a.db(L('blob_end').sub(L('blob'))); } });
    const r = assemble({ name: 'k', title: 'k', about: 'k', bits: 32, origin: 0, modules: [mod], binaries: new Map([['blob', Uint8Array.of(1, 2, 3)]]) });
    expect(Buffer.from(r.bytes).toString('hex')).toBe('aa01020303');
  });
  it('named constants evaluate by value', () => {
    const K = o.constant('TEST_ENCODER_K', 0x20, 'test constant');
    expect(one(32, (a) => a.mov(al, K.add(1)))).toBe('b021');
  });
});

describe('rejected input names the TypeScript line', () => {
  const rejects: [string, Bits, (a: Asm) => void, RegExp][] = [
    ['undefined label', 32, (a) => a.jmp(L('nowhere')), /undefined symbol 'nowhere'/],
    ['duplicate label', 32, (a) => { a.label('x'); a.label('x'); }, /symbol 'x' is defined twice/],
    ['16-bit addressing with ax as base', 16, (a) => a.mov(al, o.byte(ax as never)), /not a 16-bit addressing form/],
    ['esp as index', 32, (a) => a.mov(eax, o.dword({ base: eax, index: esp, scale: 4 })), /esp cannot be an index register/],
    ['loop out of range', 32, (a) => { a.label('x'); a.times(300, 1, 0x90); a.loop(L('x')); }, /cannot reach its target/],
    ['byte out of range', 32, (a) => a.db(300), /does not fit in 8 bits/],
    ['times count negative', 16, (a) => { a.times(4, 1, 0); a.times(o.bin('-', 2, o.HERE.sub(o.START)), 1, 0); }, /times count is negative/],
    ['shift of a label address', 32, (a) => { a.label('x'); a.mov(eax, L('x').shr(4)); }, /only allows \+ and - on labels/],
    ['mov to CS is rejected (#UD)', 32, (a) => a.ins('mov', o.cs, ax), /can load CS/],
    ['unknown mnemonic', 32, (a) => a.ins('frobnicate', eax), /unknown mnemonic 'frobnicate'/],
    ['16-bit immediate too large', 16, (a) => a.mov(ax, 0x12345), /no form of 'mov'/],
    ['scale without index', 32, (a) => a.mov(eax, o.dword({ base: ebx, scale: 4 })), /scale but no index/],
    ['local label before any global label', 32, (a) => a.label('.orphan'), /has no global label before it/],
    ['incbin of a component not assembled first', 32, (a) => a.incbin('missing'), /incbin: component 'missing' was not assembled before 't'/],
    ['negation of a label address', 32, (a) => { a.label('x'); a.mov(eax, L('x').neg()); }, /'-' applied to an address/],
  ];
  for (const [name, bits, emit, msg] of rejects) {
    it(name, () => {
      let err: unknown;
      try { one(bits, emit); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(AsmError);
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).toMatch(/test\/unit\/encoder\.test\.ts:\d+/);
    });
  }

  it('illegal operand combinations do not type-check', () => {
    // Each line below must be a compile error; `npm run typecheck` (run by the typecheck test) fails if one compiles.
    const mod = defineModule({ name: 'bad', title: 'b', about: 'b', emit: (a) => {
      // @ts-expect-error memory-to-memory move
      a.mov(o.dword(ebx), o.dword(ecx));
      // @ts-expect-error operand sizes differ
      a.mov(eax, al);
      // @ts-expect-error immediate destination
      a.add(5, eax);
      // @ts-expect-error shift count must be an immediate or CL
      a.shl(eax, edx);
      // @ts-expect-error in needs AL/AX/EAX
      a.in(bx, o.dx);
      // @ts-expect-error lea needs a register destination
      a.lea(o.dword(ebx), o.mem(ecx));
      // @ts-expect-error memory operand without a size where one is needed
      a.inc(o.mem(ebx));
    } });
    expect(mod.name).toBe('bad');
  });
});
