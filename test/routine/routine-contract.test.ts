// Routines built with a.routine (toolchain/x86/routine.ts) keep their
// contracts when they run: under qemu-i386 (test/harness/routine.ts), with
// every register filled with a random value first, each routine returns the
// documented result and every register outside its `out` and `clobbers`
// comes back unchanged - across stack frames with five cdecl arguments and
// locals, several saved registers, several return points, the flow helpers
// (flow.ts) and string literals (a.cstr).
import { describe, expect, it } from 'vitest';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { type RoutineSpec, changedRegisters } from '../../toolchain/x86/routine.ts';
import { L, al, byte, eax, ebx, ecx, edi, edx, esi } from '../../toolchain/x86/operands.ts';
import { type InputReg, type RoutineResult, cstr, runRoutines } from '../harness/routine.ts';

const SUM5: RoutineSpec = {
  name: 'sum5', does: 'the weighted sum a1 + 2*a2 + 3*a3 + 4*a4 + 5*a5, through locals',
  out: { eax: 'the sum (mod 2^32)' }, clobbers: [edx], saves: [ebx],
  args: { a1: 'weight 1', a2: 'weight 2', a3: 'weight 3', a4: 'weight 4', a5: 'weight 5' },
  locals: { acc: [4, 'the sum so far'], mac: [6, 'a 6-byte buffer, written bytewise'] },
};
const CLASSIFY: RoutineSpec = {
  name: 'classify', does: 'sorts a signed number into one of four classes',
  in: { eax: 'x (signed)' }, out: { eax: '0 if x = 0, 1 if x < 0, 2 if 0 < x < 100, else 3' },
  saves: [ebx, esi, edi],
};
const COUNT_BITS: RoutineSpec = { name: 'count_bits', does: 'counts the set bits', in: { eax: 'x' }, out: { eax: 'bits set in x' }, clobbers: [ecx, edx] };
const SUM_TO: RoutineSpec = { name: 'sum_to', does: '1 + 2 + ... + n', in: { ecx: 'n >= 1' }, out: { eax: 'the sum' }, clobbers: [ecx] };
const FILL: RoutineSpec = { name: 'fill', does: 'stores AL into ECX bytes at EDI', in: { edi: 'destination', ecx: 'count (may be 0)', al: 'the byte' }, clobbers: [ecx, edi] };
const STRLEN: RoutineSpec = { name: 'my_strlen', does: 'the length of a NUL-terminated string', in: { eax: 's' }, out: { eax: 'its length' }, saves: [esi] };
const WEIGH: RoutineSpec = { name: 'weigh', does: 'sum5(x, 1, 2, 3, 4) = x + 40, through a.invoke', in: { eax: 'x' }, out: { eax: 'x + 40' }, clobbers: [edx] };
const HELLO: RoutineSpec = { name: 'hello', does: 'the address of a string literal', out: { eax: 'the address of "Hello, contract\\r\\n"' } };
/** Breaks its contract on purpose: EDX changes but is listed nowhere. */
const LIAR: RoutineSpec = { name: 'liar', does: 'says it keeps EDX but does not', out: { eax: '1' } };

const contract = defineModule({
  name: 'contract',
  title: 'Routines with contracts, for the emulator',
  about: 'One routine per shape of contract (test/routine/routine-contract.test.ts).',
  emit(a) {
    a.routine(SUM5, (r) => {
      a.mov(r.local('acc'), 0);
      a.mov(eax, r.arg('a1'));
      a.add(r.local('acc'), eax);
      a.mov(eax, r.arg('a2'));
      a.shl(eax, 1);
      a.add(r.local('acc'), eax);
      a.imul(eax, r.arg('a3'), 3);
      a.add(r.local('acc'), eax);
      a.mov(eax, r.arg('a4'));
      a.shl(eax, 2);
      a.add(r.local('acc'), eax);
      a.imul(eax, r.arg('a5'), 5);
      a.add(r.local('acc'), eax);
      a.mov(r.local('mac', 8), al, 'the locals are real memory: a byte ...');
      a.mov(r.local('mac', 16), 0x1234, '... and a word');
      a.mov(ebx, r.local('acc'), 'EBX is saved, so the routine may use it');
      a.mov(eax, ebx);
      a.mov(edx, 0x5a5a5a5a, 'EDX is declared clobbered');
      r.ret();
    });
    a.routine(CLASSIFY, (r) => {
      a.mov(ebx, eax);
      a.mov(esi, 0xdead, 'use every saved register');
      a.mov(edi, 0xbeef);
      a.xor(eax, eax);
      a.test(ebx, ebx);
      r.retIf('z', 'zero: class 0');
      a.mov(eax, 1);
      a.if_('s', () => r.ret('negative: class 1'));
      a.cmp(ebx, 100);
      a.if_('l', () => { a.mov(eax, 2); r.ret(); }, () => { a.mov(eax, 3); r.ret(); });
    });
    a.routine(COUNT_BITS, (r) => {
      a.xor(ecx, ecx);
      a.loop_((loop) => {
        a.test(eax, eax);
        loop.break_('z', 'no bits left');
        a.mov(edx, eax);
        a.shr(eax, 1);
        a.test(edx, 1);
        loop.continue_('z', 'bit 0 was clear');
        a.inc(ecx);
      });
      a.mov(eax, ecx);
      r.ret();
    });
    a.routine(SUM_TO, (r) => {
      a.xor(eax, eax);
      a.doWhile(() => a.add(eax, ecx), () => { a.dec(ecx); return 'nz'; });
      r.ret();
    });
    a.routine(FILL, (r) => {
      a.forCount(ecx, ecx, () => { a.mov(byte(edi), al); a.inc(edi); });
      r.ret();
    });
    a.routine(STRLEN, (r) => {
      a.mov(esi, eax);
      a.while_(() => { a.cmp(byte(esi), 0); return 'ne'; }, () => a.inc(esi));
      a.sub(esi, eax);
      a.mov(eax, esi);
      r.ret();
    });
    a.routine(WEIGH, (r) => {
      a.invoke(L('sum5'), [eax, 1, 2, 3, 4]);
      r.ret();
    });
    a.routine(HELLO, (r) => {
      a.mov(eax, a.cstr('Hello, contract\r\n'));
      r.ret();
    });
    a.routine(LIAR, (r) => {
      a.mov(eax, 1);
      a.mov(edx, eax);
      r.ret();
    });
  },
});

/** A fixed-seed generator (xorshift32), so a failure can be rerun. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; return (s >>>= 0); };
}
const REGS: readonly InputReg[] = ['eax', 'ecx', 'edx', 'ebx', 'esi', 'edi', 'ebp'];
const random = rng(2026);
/** Random values in every register, then the case's own inputs. */
const fill = (own: Partial<Record<InputReg, number | ReturnType<typeof L> | ReturnType<typeof cstr>>> = {}) =>
  ({ ...Object.fromEntries(REGS.map((r) => [r, random()])), ...own });

/** The registers that changed although the contract says they do not. */
const broken = (spec: RoutineSpec, r: RoutineResult) => r.changed.filter((x) => x === 'esp' || !changedRegisters(spec).has(x as never));

describe('a.routine contracts under qemu-i386 (registers randomised before each call)', () => {
  it('5 cdecl stack arguments and locals: sum5, and weigh calling it through a.invoke', async () => {
    const argsets = [[1, 2, 3, 4, 5], [0, 0, 0, 0, 0], [0xffffffff, 7, 0x10000, 3, 0x80000000], [100, 200, 300, 400, 500]];
    const xs = [0, 5, 0xfffffff0];
    const rs = await runRoutines({
      modules: [contract],
      cases: [
        ...argsets.map((s) => ({ routine: 'sum5', name: `sum5(${s.join(', ')})`, args: fill(), stack: s })),
        ...xs.map((x) => ({ routine: 'weigh', name: `weigh(${x})`, args: fill({ eax: x }) })),
      ],
    });
    argsets.forEach((s, i) => {
      expect(rs[i]!.regs.eax).toBe(s.reduce((acc, v, k) => (acc + (k + 1) * v) >>> 0, 0));
      expect(broken(SUM5, rs[i]!)).toEqual([]);
    });
    xs.forEach((x, i) => {
      expect(rs[argsets.length + i]!.regs.eax).toBe((x + 40) >>> 0);
      expect(broken(WEIGH, rs[argsets.length + i]!)).toEqual([]);
    });
  });

  it('several saved registers and four return points: classify', async () => {
    const xs: [number, number][] = [[0, 0], [-1, 1], [-100000, 1], [1, 2], [99, 2], [100, 3], [0x7fffffff, 3]];
    const rs = await runRoutines({ modules: [contract], routine: 'classify', cases: xs.map(([x]) => ({ name: `classify(${x})`, args: fill({ eax: x }) })) });
    rs.forEach((r, i) => {
      expect([xs[i]![0], r.regs.eax]).toEqual([xs[i]![0], xs[i]![1]]);
      expect(broken(CLASSIFY, r)).toEqual([]);
    });
  });

  it('loops with break and continue, do-while, a run-time count of 0, while', async () => {
    const bits = [0, 1, 0x80000000, 0xffffffff, 0x12345678];
    const pop = (x: number) => x.toString(2).split('').filter((c) => c === '1').length;
    const buf = cstr('........');
    const rs = await runRoutines({
      modules: [contract],
      cases: [
        ...bits.map((x) => ({ routine: 'count_bits', args: fill({ eax: x }) })),
        ...[1, 2, 10].map((n) => ({ routine: 'sum_to', args: fill({ ecx: n }) })),
        ...[0, 1, 5].map((n) => ({ routine: 'fill', args: fill({ edi: buf, ecx: n, eax: 0x41 + n }), read: [{ at: buf, length: 8 }] })),
        ...['', 'a', 'contract'].map((s) => ({ routine: 'my_strlen', args: fill({ eax: cstr(s) }) })),
      ],
    });
    const [cb, st, fl, sl] = [rs.slice(0, 5), rs.slice(5, 8), rs.slice(8, 11), rs.slice(11)];
    expect(cb.map((r) => r.regs.eax)).toEqual(bits.map(pop));
    expect(st.map((r) => r.regs.eax)).toEqual([1, 3, 55]);
    // memory stays as the previous case left it: 0 bytes, then 1 'B', then 5 'F'
    expect(fl.map((r) => Buffer.from(r.memory[0]!).toString('latin1'))).toEqual(['........', 'B.......', 'FFFFF...']);
    expect(sl.map((r) => r.regs.eax)).toEqual([0, 1, 8]);
    for (const r of cb) expect(broken(COUNT_BITS, r)).toEqual([]);
    for (const r of st) expect(broken(SUM_TO, r)).toEqual([]);
    for (const r of fl) expect(broken(FILL, r)).toEqual([]);
    for (const r of sl) expect(broken(STRLEN, r)).toEqual([]);
  });

  it('a.cstr: the routine returns the address of the literal, which holds the text and a NUL', async () => {
    const label = L('contract_str_hello_contract');
    const [r] = await runRoutines({ modules: [contract], routine: 'hello', cases: [{ args: fill({ ebx: label }), read: [{ at: label, length: 18 }] }] });
    expect(r!.regs.eax).toBe(r!.input.ebx);
    expect(Buffer.from(r!.memory[0]!).toString('latin1')).toBe('Hello, contract\r\n\0');
    expect(broken(HELLO, r!)).toEqual([]);
  });

  it('the check has teeth: a routine that changes a register its contract keeps is caught', async () => {
    const [r] = await runRoutines({ modules: [contract], routine: 'liar', cases: [{ args: fill({ edx: 7 }) }] });
    expect(broken(LIAR, r!)).toEqual(['edx']);
  });
});
