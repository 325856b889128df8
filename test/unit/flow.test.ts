// Structured control flow (toolchain/x86/flow.ts): the inverse of every
// condition code, checked against the flags it tests and against the Jcc
// opcode pairs; the exact NASM each helper emits; real NASM assembling it to
// the same bytes in 32- and 16-bit code; and the mistakes it refuses.
import { describe, expect, it } from 'vitest';
import { type Cond, FAMILIES, collect } from '../../toolchain/x86/asm.ts';
import { assemble } from '../../toolchain/x86/assemble.ts';
import { INVERSE, inverse } from '../../toolchain/x86/flow.ts';
import { L, al, byte, cx, dword, eax, ebx, ecx, edx, esi, si } from '../../toolchain/x86/operands.ts';
import { code, mod, nasmRoundTrip } from './fixtures/edsl-text.ts';

const CONDS = FAMILIES.rm8.map((m) => m.slice(3) as Cond);

/** When each Jcc jumps, from the SDM's Jcc table (Vol. 2A "Jcc"), over CF ZF SF OF PF. */
type F = { cf: boolean; zf: boolean; sf: boolean; of: boolean; pf: boolean };
const JUMPS: Record<Cond, (f: F) => boolean> = {
  o: (f) => f.of, no: (f) => !f.of,
  b: (f) => f.cf, nae: (f) => f.cf, c: (f) => f.cf, ae: (f) => !f.cf, nb: (f) => !f.cf, nc: (f) => !f.cf,
  e: (f) => f.zf, z: (f) => f.zf, ne: (f) => !f.zf, nz: (f) => !f.zf,
  be: (f) => f.cf || f.zf, na: (f) => f.cf || f.zf, a: (f) => !f.cf && !f.zf, nbe: (f) => !f.cf && !f.zf,
  s: (f) => f.sf, ns: (f) => !f.sf,
  p: (f) => f.pf, pe: (f) => f.pf, np: (f) => !f.pf, po: (f) => !f.pf,
  l: (f) => f.sf !== f.of, nge: (f) => f.sf !== f.of, ge: (f) => f.sf === f.of, nl: (f) => f.sf === f.of,
  le: (f) => f.zf || f.sf !== f.of, ng: (f) => f.zf || f.sf !== f.of, g: (f) => !f.zf && f.sf === f.of, nle: (f) => !f.zf && f.sf === f.of,
};

describe('inverse conditions', () => {
  it('covers every condition the eDSL knows, aliases included', () => {
    expect(Object.keys(INVERSE).sort()).toEqual([...CONDS].sort());
    expect(CONDS).toHaveLength(30);
  });
  it('the inverse jumps exactly when the condition does not, for all 32 flag combinations', () => {
    for (const c of CONDS) {
      for (let bits = 0; bits < 32; bits++) {
        const f = { cf: !!(bits & 1), zf: !!(bits & 2), sf: !!(bits & 4), of: !!(bits & 8), pf: !!(bits & 16) };
        expect([c, bits, JUMPS[inverse(c)](f)]).toEqual([c, bits, !JUMPS[c](f)]);
      }
    }
  });
  it('the inverse is the other opcode of the Jcc pair (7x and 7x^1)', () => {
    const m = mod((a) => { a.label('x'); for (const c of CONDS) { a.ins(`j${c}`, L('x')); a.ins(`j${inverse(c)}`, L('x')); } });
    const bytes = assemble({ name: 'inv', title: 't', about: 't', bits: 32, origin: 0, modules: [m] }).bytes;
    CONDS.forEach((c, i) => {
      const [op, inv] = [bytes[i * 4]!, bytes[i * 4 + 2]!];
      expect([c, op & 0xf0, inv]).toEqual([c, 0x70, op ^ 1]);
    });
  });
  it('inverse of the inverse is the plain spelling', () => {
    expect(CONDS.map((c) => `${c}:${inverse(inverse(c))}`)).toEqual(CONDS.map((c) => `${c}:${INVERSE[INVERSE[c]]}`));
    expect(['nae', 'nbe', 'pe', 'nge', 'ng'].map((c) => inverse(c as Cond))).toEqual(['ae', 'be', 'po', 'ge', 'g']);
  });
});

describe('the NASM each helper emits', () => {
  it('if_ without else: one jump around the body', () => {
    const m = mod((a) => { a.label('f'); a.cmp(eax, 0); a.if_('e', () => a.inc(ebx), undefined, 'only when zero'); a.ret(); });
    expect(code(m)).toEqual(['f:', 'cmp eax, 0', 'jne .if1_end', 'inc ebx', '.if1_end:', 'ret']);
  });
  it('if_ with else; the jmp over the else is left out when the then branch ends in a jump', () => {
    const m = mod((a) => {
      a.label('f');
      a.cmp(eax, ebx);
      a.if_('b', () => a.mov(ecx, 1), () => a.mov(ecx, 2));
      a.if_('ge', () => a.jmp(L('f')), () => a.mov(ecx, 3));
      a.if_('z', () => a.ret(), () => a.ret());
    });
    expect(code(m)).toEqual([
      'f:', 'cmp eax, ebx',
      'jae .if1_else', 'mov ecx, 1', 'jmp .if1_end', '.if1_else:', 'mov ecx, 2', '.if1_end:',
      'jl .if2_else', 'jmp f', '.if2_else:', 'mov ecx, 3', '.if2_end:',
      'jnz .if3_else', 'ret', '.if3_else:', 'ret',
    ]);
  });
  it('nested blocks number their labels per kind', () => {
    const m = mod((a) => {
      a.label('f');
      a.while_(() => { a.cmp(byte(esi), 0); return 'ne'; }, (loop) => {
        a.cmp(byte(esi), 0x20);
        a.if_('e', () => loop.continue_());
        a.inc(esi);
        loop.break_('s', 'a byte >= 0x80');
      });
      a.ret();
    });
    expect(code(m)).toEqual([
      'f:', '.while1:', 'cmp byte [esi], 0', 'je .while1_end',
      'cmp byte [esi], 0x20', 'jne .if1_end', 'jmp .while1', '.if1_end:',
      'inc esi', 'js .while1_end', 'jmp .while1', '.while1_end:', 'ret',
    ]);
  });
  it('doWhile: the next label only when continue_ is used, the end label only when break_ is', () => {
    const m = mod((a) => {
      a.label('f');
      a.doWhile(() => a.add(eax, ecx), () => { a.dec(ecx); return 'nz'; });
      a.doWhile((loop) => { a.test(eax, 1); loop.continue_('z'); loop.break_('s'); a.shr(eax, 1); }, () => { a.cmp(eax, 1); return 'a'; });
      a.ret();
    });
    expect(code(m)).toEqual([
      'f:', '.do1:', 'add eax, ecx', 'dec ecx', 'jnz .do1',
      '.do2:', 'test eax, 1', 'jz .do2_next', 'js .do2_end', 'shr eax, 1', '.do2_next:', 'cmp eax, 1', 'ja .do2', '.do2_end:', 'ret',
    ]);
  });
  it('loop_: forever, left by break_', () => {
    const m = mod((a) => { a.label('f'); a.loop_((l) => { a.dec(eax); l.break_('z'); }, 'wait'); a.loop_(() => a.hlt()); });
    expect(code(m)).toEqual(['f:', '.loop1:', 'dec eax', 'jz .loop1_end', 'jmp .loop1', '.loop1_end:', '.loop2:', 'hlt', 'jmp .loop2']);
    expect(collect(m, 32).find((it) => it.k === 'label' && it.name === '.loop1')).toMatchObject({ comment: 'wait' });
  });
  it('forCount: a constant count, and a run-time count that may be 0', () => {
    const m = mod((a) => {
      a.label('f');
      a.forCount(ecx, 8, () => a.nop());
      a.forCount(ecx, dword(L('n')), (l) => { l.continue_('z'); a.nop(); });
      a.forCount(ecx, ecx, () => a.nop());
      a.ret();
      a.label('n'); a.dd(3);
    });
    expect(code(m)).toEqual([
      'f:', 'mov ecx, 8', '.for1:', 'nop', 'dec ecx', 'jnz .for1',
      'mov ecx, dword [n]', 'test ecx, ecx', 'jz .for2_end', '.for2:', 'jz .for2_next', 'nop', '.for2_next:', 'dec ecx', 'jnz .for2', '.for2_end:',
      'test ecx, ecx', 'jz .for3_end', '.for3:', 'nop', 'dec ecx', 'jnz .for3', '.for3_end:',
      'ret', 'n:', 'dd 3',
    ]);
  });
});

describe('NASM assembles the emitted text to the same bytes', () => {
  const all = (bits: 16 | 32) => mod((a) => {
    const [cx_, si_] = bits === 32 ? [ecx, esi] as const : [cx, si] as const;
    a.label('flows');
    a.cmp(al, 0x20);
    a.if_('be', () => a.inc(al), () => a.dec(al));
    a.if_('g', () => a.nop());
    a.while_(() => { a.cmp(byte(si_), 0); return 'nz'; }, (l) => { a.inc(si_); l.break_('o'); l.continue_('p'); a.nop(); });
    a.doWhile((l) => { a.nop(); l.break_('c'); l.continue_('nc'); }, () => { a.cmp(al, 1); return 'nle'; });
    a.loop_((l) => { a.inc(al); l.break_('z'); });
    a.forCount(cx_, 5, () => a.nop());
    if (bits === 32) a.forCount(ecx, edx, (l) => { a.nop(); l.break_('e'); });
    // a body long enough that the jumps around it need rel16/rel32 forms
    a.if_('ne', () => { for (let i = 0; i < 70; i++) { if (bits === 32) a.mov(eax, 0x1234); else a.mov(cx, 0x1234); } });
    a.ret();
  }, `flows${bits}`);
  it('32-bit', () => {
    const { ours, nasm } = nasmRoundTrip([all(32)], 32);
    expect(nasm).toBe(ours);
  });
  it('16-bit', () => {
    const { ours, nasm } = nasmRoundTrip([all(16)], 16, 0x7e00);
    expect(nasm).toBe(ours);
  });
});

describe('mistakes it refuses', () => {
  it('a global label inside a block, naming the label, the block and both TS lines', () => {
    const m = mod((a) => { a.label('f'); a.cmp(eax, 0); a.if_('e', () => { a.label('g'); }); });
    expect(() => collect(m, 32)).toThrow(/global label 'g' at test\/unit\/flow\.test\.ts:\d+ is inside if_ \(\.if1\), opened at test\/unit\/flow\.test\.ts:\d+/);
    const n = mod((a) => { a.label('f'); a.loop_(() => { a.if_('e', () => a.nop()); a.label('h'); }); });
    expect(() => collect(n, 32)).toThrow(/global label 'h' .* is inside loop_ \(\.loop1\)/);
  });
  it('local labels inside a block are fine', () => {
    const m = mod((a) => { a.label('f'); a.loop_(() => { a.label('.mine'); a.jmp(L('.mine')); }); });
    expect(code(m)).toEqual(['f:', '.loop1:', '.mine:', 'jmp .mine']);
  });
  it('a test that returns something that is not a condition code', () => {
    const m = mod((a) => { a.label('f'); a.while_(() => 'equal' as Cond, () => a.nop()); });
    expect(() => collect(m, 32)).toThrow(/while_: the test at test\/unit\/flow\.test\.ts:\d+: "equal" is not a condition code/);
    const n = mod((a) => { a.label('f'); a.if_('zero' as Cond, () => a.nop()); });
    expect(() => collect(n, 32)).toThrow(/if_ at .*: "zero" is not a condition code/);
  });
  it('break_ or continue_ after the loop has ended', () => {
    const m = mod((a) => {
      a.label('f');
      let saved: { break_(): void } | undefined;
      a.loop_((l) => { saved = l; l.break_(); });
      saved!.break_();
    });
    expect(() => collect(m, 32)).toThrow(/loop_ \(\.loop1\): break_ at test\/unit\/flow\.test\.ts:\d+ after the loop has ended/);
  });
  it('forCount with a count of 0 or a count of another size', () => {
    expect(() => collect(mod((a) => { a.label('f'); a.forCount(ecx, 0, () => a.nop()); }), 32)).toThrow(/forCount at .*: count 0 is not a positive integer \(the body would run 2\^32 times\)/);
    expect(() => collect(mod((a) => { a.label('f'); a.forCount(ecx, cx, () => a.nop()); }), 32)).toThrow(/the count cx and the counter ecx differ in size/);
    expect(() => collect(mod((a) => { a.label('f'); a.forCount(cx, dword(L('n')), () => a.nop()); }), 32)).toThrow(/the count a 32-bit memory operand and the counter cx differ in size/);
  });
});
