// Atomics, fences and 64-bit data, written as a listing: the NASM line the
// emitter must print, beside the bytes the SDM gives for it.  Every row is
// checked three ways: our bytes, our text, and real NASM assembling our text
// to the same bytes.  Then the inputs that must be refused.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Asm, type Bits, defineModule } from '../../toolchain/x86/asm.ts';
import { AsmError, assemble } from '../../toolchain/x86/assemble.ts';
import { emitComponent, itemText } from '../../toolchain/x86/nasm.ts';
import * as o from '../../toolchain/x86/operands.ts';

const { L, eax, ebx, ecx, edx, esp, esi, ax, bx, cx, al, bl, cl, fs, es, byte, word, dword, mem } = o;

type Row = [nasm: string, emit: (a: Asm) => void, hex: string];

const ROWS32: Row[] = [
  // LOCK: F0, before any segment or operand-size prefix (SDM Vol. 2A §2.1.1, LOCK)
  ['lock cmpxchg dword [ebx], ecx', (a) => a.lock.cmpxchg(dword(ebx), ecx), 'f00fb10b'],
  ['lock cmpxchg byte [esi+4], bl', (a) => a.lock.cmpxchg(byte(esi, 4), bl), 'f00fb05e04'],
  ['lock cmpxchg word [ebx], cx', (a) => a.lock.cmpxchg(word(ebx), cx), 'f0660fb10b'],
  ['lock xadd dword [ebx], eax', (a) => a.lock.xadd(dword(ebx), eax), 'f00fc103'],
  ['lock xadd byte [ecx], al', (a) => a.lock.xadd(byte(ecx), al), 'f00fc001'],
  ['lock inc dword [ebx]', (a) => a.lock.inc(dword(ebx)), 'f0ff03'],
  ['lock dec byte [ebx+8]', (a) => a.lock.dec(byte(ebx, 8)), 'f0fe4b08'],
  ['lock add dword [ebx], 1', (a) => a.lock.add(dword(ebx), 1), 'f0830301'],
  ['lock add dword [ebx+0x40], 0x1000', (a) => a.lock.add(dword(ebx, 0x40), 0x1000), 'f0814340' + '00100000'],
  ['lock sub dword [ebx], ecx', (a) => a.lock.sub(dword(ebx), ecx), 'f0290b'],
  ['lock or dword [counter], 0x80', (a) => a.lock.or(dword(L('counter')), 0x80), 'f0810d' + '00000100' + '80000000'],
  ['lock and word [ebx], 0xFFF0', (a) => a.lock.and(word(ebx), 0xfff0), 'f0668323f0'],
  ['lock xor byte [ebx], 1', (a) => a.lock.xor(byte(ebx), 1), 'f0803301'],
  ['lock adc dword [ebx], edx', (a) => a.lock.adc(dword(ebx), edx), 'f01113'],
  ['lock sbb dword [ebx], 0', (a) => a.lock.sbb(dword(ebx), 0), 'f0831b00'],
  ['lock neg dword [ebx]', (a) => a.lock.neg(dword(ebx)), 'f0f71b'],
  ['lock not byte [ebx]', (a) => a.lock.not(byte(ebx)), 'f0f613'],
  ['lock bts dword [ebx], 3', (a) => a.lock.bts(dword(ebx), 3), 'f00fba2b03'],
  ['lock btr dword [ebx], ecx', (a) => a.lock.btr(dword(ebx), ecx), 'f00fb30b'],
  ['lock btc word [ebx], 1', (a) => a.lock.btc(word(ebx), 1), 'f0660fba3b01'],
  ['lock cmpxchg8b [esi]', (a) => a.lock.cmpxchg8b(mem(esi)), 'f00fc70e'],
  ['lock add dword [fs:ebx], 1', (a) => a.lock.add(dword({ base: ebx, seg: fs }), 1), 'f064830301'],
  ['lock add word [fs:ebx], 1', (a) => a.lock.add(word({ base: ebx, seg: fs }), 1), 'f06466830301'],
  ['lock add dword [esp], 0', (a) => a.barrier(), 'f083042400'],
  // without LOCK: single-processor atomic (one instruction), not atomic against other CPUs
  ['cmpxchg dword [ebx], ecx', (a) => a.cmpxchg(dword(ebx), ecx), '0fb10b'],
  ['cmpxchg ecx, edx', (a) => a.cmpxchg(ecx, edx), '0fb1d1'],
  ['cmpxchg bl, cl', (a) => a.cmpxchg(bl, cl), '0fb0cb'],
  ['xadd eax, ecx', (a) => a.xadd(eax, ecx), '0fc1c8'],
  ['xadd word [ebx], ax', (a) => a.xadd(word(ebx), ax), '660fc103'],
  ['cmpxchg8b [ebx+8]', (a) => a.cmpxchg8b(mem(ebx, 8)), '0fc74b08'],
  // xchg with memory: the CPU asserts LOCK by itself (no F0)
  ['xchg dword [ebx], eax', (a) => a.xchg(dword(ebx), eax), '8703'],
  ['xchg byte [ebx], cl', (a) => a.xchg(byte(ebx), cl), '860b'],
  // fences (SSE2: lfence, mfence; SSE: sfence)
  ['lfence', (a) => a.lfence(), '0faee8'],
  ['mfence', (a) => a.mfence(), '0faef0'],
  ['sfence', (a) => a.sfence(), '0faef8'],
  // 64-bit data
  ['dq 0x123456789ABCDEF0', (a) => a.dq(0x123456789abcdef0n), 'f0debc9a78563412'],
  ['dq 0, 1, -1', (a) => a.dq(0, 1, -1), '0000000000000000' + '0100000000000000' + 'ffffffffffffffff'],
  ['dq 0xFFFFFFFFFFFFFFFF', (a) => a.dq(0xffffffffffffffffn), 'ffffffffffffffff'],
  ['dq -0x8000000000000000', (a) => a.dq(-0x8000000000000000n), '0000000000000080'],
  ['dq 0x100000', (a) => a.dq(0x100000), '0000100000000000'],
  ['dq counter', (a) => a.dq(L('counter')), '0000010000000000'],
  ['dq counter + 0x10', (a) => a.dq(L('counter').add(0x10)), '1000010000000000'],
  ['dq 0x12345678 * 0x10', (a) => a.dq(o.bin('*', 0x12345678, 0x10)), '8067452301000000'],
  ['times 2 dq 0x1122334455667788', (a) => a.times(2, 8, 0x1122334455667788n), '8877665544332211'.repeat(2)],
  ['times 3 dq -2', (a) => a.times(3, 8, -2), 'feffffffffffffff'.repeat(3)],
];

const ROWS16: Row[] = [
  ['lock xadd dword [bx], ecx', (a) => a.lock.xadd(dword(bx), ecx), 'f0660fc10f'],
  ['lock add word [bx], 1', (a) => a.lock.add(word(bx), 1), 'f0830701'],
  ['lock cmpxchg word [es:bx], cx', (a) => a.lock.cmpxchg(word({ base: bx, seg: es }), cx), 'f0260fb10f'],
  ['lock inc byte [0x500]', (a) => a.lock.inc(byte(0x500)), 'f0fe060005'],
  ['dq 0x1122334455667788', (a) => a.dq(0x1122334455667788n), '8877665544332211'],
];

/** Assemble the rows as one component; return the row texts, row bytes, and NASM's bytes for our text. */
function run(bits: Bits, rows: Row[]) {
  const origin = 0x10000;
  const mod = defineModule({ name: 'atomics', title: 'atomics', about: 'test', emit: (a) => { a.label('counter'); rows.forEach(([, e]) => e(a)); } });
  const asm = assemble({ name: `atomics${bits}`, title: 'atomics', about: 'test', bits, origin, modules: [mod] });
  const code = asm.rows.filter((r) => r.item.k !== 'label');
  const dir = mkdtempSync(path.join(tmpdir(), 'tsk-atomics-'));
  try {
    for (const f of emitComponent(asm)) writeFileSync(path.join(dir, f.path), f.text);
    execFileSync('nasm', ['-f', 'bin', `atomics${bits}.asm`, '-o', 'out.bin'], { cwd: dir, stdio: 'pipe' });
    return { code, ours: Buffer.from(asm.bytes), nasm: readFileSync(path.join(dir, 'out.bin')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('atomics, fences and dq: listing checked against NASM', () => {
  for (const [bits, rows] of [[32, ROWS32], [16, ROWS16]] as const) {
    it(`${bits}-bit listing`, () => {
      const { code, ours, nasm } = run(bits, rows);
      expect(code.length).toBe(rows.length);
      const got = code.map((r) => [itemText(r.item, 'atomics').replace(/;.*/, '').trim(), Buffer.from(r.bytes).toString('hex')]);
      expect(got).toEqual(rows.map(([text, , hex]) => [text, hex]));
      expect(nasm.toString('hex')).toBe(ours.toString('hex'));
    });
  }
});

describe('refused: LOCK where it would raise #UD, and data that does not fit', () => {
  const one = (bits: Bits, emit: (a: Asm) => void) => {
    const mod = defineModule({ name: 't', title: 't', about: 't', emit });
    return assemble({ name: 't', title: 't', about: 't', bits, origin: 0, modules: [mod] });
  };
  const rejects: [string, (a: Asm) => void, RegExp][] = [
    ['lock with a register destination', (a) => a.ins('lock add', eax, 1), /'lock add' needs a memory destination: with a register destination LOCK raises #UD/],
    ['lock cmpxchg with a register destination', (a) => a.ins('lock cmpxchg', ecx, edx), /'lock cmpxchg' needs a memory destination/],
    ['lock on an instruction that does not write memory', (a) => a.ins('lock mov', dword(ebx), eax), /LOCK may only prefix .*on 'mov' it raises #UD/],
    ['lock cmp (reads only)', (a) => a.ins('lock cmp', dword(ebx), 1), /on 'cmp' it raises #UD/],
    ['dq value beyond 2^53 given as a number', (a) => a.dq(2 ** 60 + 1), /not an exact integer: write 64-bit values beyond 2\^53 as a bigint/],
    ['dq value beyond 64 bits', (a) => a.dq(1n << 64n), /does not fit in 64 bits/],
    ['dq value below -2^63', (a) => a.dq(-(1n << 63n) - 1n), /does not fit in 64 bits/],
    ['bigint in dd', (a) => a.dd(5n), /bigints are for dq/],
    ['cmpxchg8b with a register', (a) => a.ins('cmpxchg8b', eax), /no form of 'cmpxchg8b'/],
  ];
  for (const [name, emit, msg] of rejects) {
    it(name, () => {
      let err: unknown;
      try { one(32, emit); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(AsmError);
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).toMatch(/test\/unit\/encoder-atomics\.test\.ts:\d+/);
    });
  }
  it('times with a bigint value needs width 8', () => {
    expect(() => one(32, (a) => a.times(2, 4, 5n))).toThrow(/times: a bigint value needs width 8 \(dq\), not 4 \(test\/unit\/encoder-atomics\.test\.ts:\d+\)/);
  });

  it('LOCK on a register destination, or on a non-lockable instruction, does not type-check', () => {
    // Each line below must be a compile error; the typecheck test fails if one compiles.
    const mod = defineModule({ name: 'bad', title: 'b', about: 'b', emit: (a) => {
      // @ts-expect-error LOCK with a register destination raises #UD
      a.lock.add(eax, 1);
      // @ts-expect-error LOCK with a register destination raises #UD
      a.lock.cmpxchg(ecx, edx);
      // @ts-expect-error LOCK with a register destination raises #UD
      a.lock.inc(eax);
      // @ts-expect-error cmp only reads memory: not lockable
      a.lock.cmp(dword(ebx), 1);
      // @ts-expect-error mov is not lockable
      a.lock.mov(dword(ebx), eax);
      // @ts-expect-error xchg locks itself: use a.xchg
      a.lock.xchg(dword(ebx), eax);
      // @ts-expect-error cmpxchg source must be a register
      a.cmpxchg(dword(ebx), 1);
      // @ts-expect-error xadd operand sizes differ
      a.xadd(dword(ebx), cx);
      // @ts-expect-error fences take no operands
      a.mfence(esp);
    } });
    expect(mod.name).toBe('bad');
  });
});
