// Kernel routines run without a boot (test/harness/routine.ts): the string
// helpers the cmdline and the shell parse with, name tables, and the fuzz
// program's LFSR, each against its documented contract, under qemu-i386.
import { describe, expect, it } from 'vitest';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { L, eax, ebx, ecx, esi, dword } from '../../toolchain/x86/operands.ts';
import { NAME_LOOKUP, PARSE_UINT, STRCMP, STRLEN, string } from '../../kernel/lib/string.ts';
import { type RoutineSpec, changedRegisters } from '../../toolchain/x86/routine.ts';
import { emitNameTable } from '../../kernel/lib/name_table.ts';
import { FUZZ_RAND, fuzz, LFSR_TAPS } from '../../kernel/user/fuzz.ts';
import { serial, CON_DEFER_SIZE } from '../../kernel/dev/serial.ts';
import { CANARY, type RoutineResult, cstr, data, runRoutine, runRoutines } from '../harness/routine.ts';

/**
 * The registers that came back changed although the routine's contract
 * (a.routine, toolchain/x86/routine.ts) names them in neither `out` nor
 * `clobbers`: empty when the routine keeps its word.
 */
const broken = (spec: RoutineSpec, r: RoutineResult) => r.changed.filter((x) => x === 'esp' || !changedRegisters(spec).has(x as never));

describe('parse_uint (kernel/lib/string.ts): EAX = s; EAX = value, EDX = 0, or EDX = -1 when s is empty, has a non-digit or overflows', () => {
  const ok: [string, number][] = [
    ['0', 0], ['7', 7], ['42', 42], ['007', 7], ['1000', 1000], ['4294967295', 0xffffffff], ['00000000004294967295', 0xffffffff],
  ];
  const bad: [string, string][] = [
    ['', 'empty'], ['12a', 'a non-digit after digits'], [' 7', 'leading space'], ['7 ', 'trailing space'], ['-1', 'a sign'], ['+5', 'a sign'],
    ['/', "the byte below '0'"], [':', "the byte above '9'"], ['4294967296', '2^32: the add carries'], ['4294967300', 'the add carries'],
    ['42949672950', 'the multiply overflows'], ['99999999999999999999', 'far too big'], ['1\u00b2', 'a byte >= 0x80'],
  ];
  it('accepts decimal digits up to 2^32 - 1', async () => {
    const rs = await runRoutines({ modules: [string], routine: 'parse_uint', cases: ok.map(([s]) => ({ name: JSON.stringify(s), args: { eax: cstr(s) } })) });
    rs.forEach((r, i) => {
      expect({ s: ok[i]![0], eax: r.regs.eax, edx: r.regs.edx }).toEqual({ s: ok[i]![0], eax: ok[i]![1], edx: 0 });
      expect(r.clobbered).toEqual([]);
      expect(broken(PARSE_UINT, r)).toEqual([]);
    });
  });
  it('refuses everything else with EDX = -1', async () => {
    const rs = await runRoutines({ modules: [string], routine: 'parse_uint', cases: bad.map(([s, why]) => ({ name: `${JSON.stringify(s)}: ${why}`, args: { eax: cstr(s) } })) });
    rs.forEach((r, i) => {
      expect({ s: bad[i]![0], edx: r.regs.edx }).toEqual({ s: bad[i]![0], edx: 0xffffffff });
      expect(r.clobbered).toEqual([]);
      expect(broken(PARSE_UINT, r)).toEqual([]);
    });
  });
});

describe('strlen (kernel/lib/string.ts): EAX = s; EAX = length', () => {
  it('counts the bytes before the NUL, from 0 to 4 KiB', async () => {
    const strings = ['', 'a', 'hello', 'x'.repeat(255), 'y'.repeat(4096)];
    const rs = await runRoutines({ modules: [string], routine: 'strlen', cases: strings.map((s) => ({ name: `${s.length} bytes`, args: { eax: cstr(s) } })) });
    expect(rs.map((r) => r.regs.eax)).toEqual(strings.map((s) => s.length));
    for (const r of rs) expect(r.clobbered).toEqual([]);
    for (const r of rs) expect(broken(STRLEN, r)).toEqual([]);
  });
  it('stops at the first NUL, not at the end of the data', async () => {
    const r = await runRoutine({ modules: [string], routine: 'strlen', args: { eax: data([0x61, 0x62, 0, 0x63, 0]) } });
    expect(r.regs.eax).toBe(2);
  });
});

describe('strcmp (kernel/lib/string.ts): EAX = a, EDX = b; EAX = 0 when equal, else 1; ECX, EDX clobbered', () => {
  it('is 0 exactly for equal strings', async () => {
    const pairs: [string, string][] = [['', ''], ['run', 'run'], ['run', 'ru'], ['ru', 'run'], ['run', 'rum'], ['', 'a'], ['a', '']];
    const rs = await runRoutines({ modules: [string], routine: 'strcmp', cases: pairs.map(([a, b]) => ({ name: `${a}/${b}`, args: { eax: cstr(a), edx: cstr(b) } })) });
    expect(rs.map((r) => r.regs.eax)).toEqual(pairs.map(([a, b]) => (a === b ? 0 : 1)));
    for (const r of rs) expect(r.clobbered).toEqual([]);
    for (const r of rs) expect(broken(STRCMP, r)).toEqual([]);
  });
});

describe('name_lookup (kernel/lib/string.ts, tables from kernel/lib/name_table.ts)', () => {
  const table = defineModule({
    name: 'test_table', title: 'a name table', about: 'three names, as emitNameTable writes them for the shell',
    emit(a) {
      emitNameTable(a, 'test_names', [
        { name: 'run', value: 0x1111 }, { name: 'ps', value: 0x2222 }, { name: 'kill', value: L('test_names') },
      ], 'test commands');
    },
  });
  it('returns the value stored with the name, or 0 when no entry has it', async () => {
    const names: [string, number | 'table'][] = [['run', 0x1111], ['ps', 0x2222], ['kill', 'table'], ['r', 0], ['runs', 0], ['', 0], ['PS', 0]];
    const rs = await runRoutines({
      modules: [string, table], routine: 'name_lookup',
      cases: names.map(([n]) => ({ name: JSON.stringify(n), args: { eax: cstr(n), edx: L('test_names') } })),
    });
    const tableAddr = rs[0]!.input.edx;
    expect(rs.map((r) => r.regs.eax)).toEqual(names.map(([, v]) => (v === 'table' ? tableAddr : v)));
    for (const r of rs) expect(r.clobbered).toEqual([]);
    for (const r of rs) expect(broken(NAME_LOOKUP, r)).toEqual([]);
  });
  it('finds nothing in an empty table', async () => {
    const empty = defineModule({ name: 'empty_table', title: 'empty', about: 'no entries', emit: (a) => emitNameTable(a, 'no_names', [], 'nothing') });
    const r = await runRoutine({ modules: [string, empty], routine: 'name_lookup', args: { eax: cstr('run'), edx: L('no_names') } });
    expect(r.regs.eax).toBe(0);
  });
});

describe("fuzz_rand (kernel/user/fuzz.ts): the fuzzer's Galois LFSR, 16 steps per call", () => {
  // The model, from the module's text: shift right; when the bit shifted out is 1, XOR the taps.
  const taps = LFSR_TAPS.c.value as number;
  const model = (s: number) => {
    for (let i = 0; i < 16; i++) s = (s & 1 ? (s >>> 1) ^ taps : s >>> 1) >>> 0;
    return s;
  };
  it('advances fuzz_lfsr 16 steps and returns the new state', async () => {
    const seeds = [1, 42, 2026, 0x80000000, 0xffffffff, 0x80200003];
    const rs = await runRoutines({
      modules: [fuzz], routine: 'fuzz_rand',
      cases: seeds.map((s) => ({
        name: `seed ${s}`, memory: [{ at: L('fuzz_lfsr'), bytes: u32(s) }], read: [{ at: L('fuzz_lfsr'), length: 4 }],
      })),
    });
    rs.forEach((r, i) => {
      expect(r.regs.eax, `seed ${seeds[i]}`).toBe(model(seeds[i]!));
      expect([...r.memory[0]!]).toEqual([...u32(model(seeds[i]!))]);
      expect(r.clobbered).toEqual([]);
      expect(broken(FUZZ_RAND, r)).toEqual([]);
    });
  });
  it('continues from the state the previous call left (one run, no presets after the first)', async () => {
    const rs = await runRoutines({
      modules: [fuzz], routine: 'fuzz_rand',
      cases: [{ memory: [{ at: L('fuzz_lfsr'), bytes: u32(42) }] }, {}, {}, {}],
    });
    let s = 42;
    expect(rs.map((r) => r.regs.eax)).toEqual([0, 1, 2, 3].map(() => (s = model(s))));
  });
});

describe('con_defer (kernel/dev/serial.ts): AL = byte, appended to the deferred-output ring unless it is full', () => {
  // A ring of CON_DEFER_SIZE (a power of two) bytes: head = next slot written, tail = next
  // slot sent; one slot stays free, so head + 1 == tail (mod size) means full.
  const size = CON_DEFER_SIZE.c.value as number;
  const at = (label: string, slot = 0) => L(label).add(slot);
  // Memory stays as the previous case left it: set the whole state, including the slot.
  const state = (head: number, tail: number, slot: number) => [
    { at: at('con_defer_head'), bytes: u32(head) }, { at: at('con_defer_tail'), bytes: u32(tail) }, { at: at('con_defer_lost'), bytes: u32(0) },
    { at: at('con_defer_buf', slot), bytes: [0] },
  ];
  const reads = (slot: number) => [
    { at: at('con_defer_head'), length: 4 }, { at: at('con_defer_lost'), length: 4 }, { at: at('con_defer_buf', slot), length: 1 },
  ];
  const cases: { name: string; head: number; tail: number; slot: number; head2: number; lost: number; stored: boolean }[] = [
    { name: 'empty ring', head: 0, tail: 0, slot: 0, head2: 1, lost: 0, stored: true },
    { name: 'head in the middle', head: 100, tail: 7, slot: 100, head2: 101, lost: 0, stored: true },
    { name: 'head at the last slot wraps to 0', head: size - 1, tail: 5, slot: size - 1, head2: 0, lost: 0, stored: true },
    { name: 'full: head just behind tail', head: 4, tail: 5, slot: 4, head2: 4, lost: 1, stored: false },
    { name: 'full across the wrap: head last, tail 0', head: size - 1, tail: 0, slot: size - 1, head2: size - 1, lost: 1, stored: false },
  ];
  it('stores the byte at head and advances head modulo the size; when full it counts the byte as lost', async () => {
    const rs = await runRoutines({
      modules: [serial], routine: 'con_defer',
      cases: cases.map((c) => ({ name: c.name, args: { eax: 0x41 }, memory: state(c.head, c.tail, c.slot), read: reads(c.slot) })),
    });
    rs.forEach((r, i) => {
      const c = cases[i]!;
      const got = { name: c.name, head: le32(r.memory[0]!), lost: le32(r.memory[1]!), slot: r.memory[2]![0] };
      expect(got).toEqual({ name: c.name, head: c.head2, lost: c.lost, slot: c.stored ? 0x41 : 0 });
      expect(r.clobbered).toEqual([]);
    });
  });
});

describe('the harness reports what the routine did, not what the test expects', () => {
  const probe = defineModule({
    name: 'probe', title: 'harness probes', about: 'routines that break the calling convention on purpose',
    emit(a) {
      a.label('clobber_ebx_esi');
      a.mov(ebx, 1);
      a.mov(esi, 2);
      a.ret();
      a.label('set_carry');
      a.mov(eax, 0xffffffff);
      a.add(eax, 1, 'CF = 1, ZF = 1');
      a.ret();
      a.label('store_ecx');
      a.mov(dword(eax), ecx, 'EAX = where, ECX = what');
      a.ret();
      a.label('privileged');
      a.cli('privileged: #GP in ring 3');
      a.ret();
      a.label('forever');
      a.jmp(L('forever'));
    },
  });
  it('lists the callee-saved registers a routine changed, and hands canaries to the unset ones', async () => {
    const r = await runRoutine({ modules: [probe], routine: 'clobber_ebx_esi' });
    expect(r.clobbered).toEqual(['ebx', 'esi']);
    expect(r.regs).toMatchObject({ ebx: 1, esi: 2, edi: CANARY.edi, ebp: CANARY.ebp, eax: CANARY.eax });
  });
  it('returns the flags', async () => {
    const r = await runRoutine({ modules: [probe], routine: 'set_carry' });
    expect(r).toMatchObject({ cf: true, zf: true, sf: false, of: false });
    expect(r.regs.eax).toBe(0);
  });
  it('reads back memory a routine wrote', async () => {
    const buf = data([0, 0, 0, 0, 0, 0, 0, 0]);
    const r = await runRoutine({ modules: [probe], routine: 'store_ecx', args: { eax: buf, ecx: 0x11223344 }, read: [{ at: buf, length: 6 }] });
    expect([...r.memory[0]!]).toEqual([0x44, 0x33, 0x22, 0x11, 0, 0]);
  });
  it('names the external a routine called (u_puts, from the fuzz program)', async () => {
    await expect(runRoutine({ modules: [fuzz], routine: '_start', args: { eax: 1 }, keepFailed: false }))
      .rejects.toThrow(/case 0 of _start: reached 'u_puts', which the modules under test do not define/);
  });
  it('says which case crashed, and why', async () => {
    await expect(runRoutines({ modules: [probe], cases: [{ routine: 'set_carry' }, { routine: 'privileged', name: 'cli in ring 3' }], keepFailed: false }))
      .rejects.toThrow(/case 1 \(cli in ring 3\) of privileged: crashed with SIGSEGV \(.*privileged instruction.*\).*\(case 0 completed\)/s);
  });
  it('stops a routine that never returns', async () => {
    await expect(runRoutine({ modules: [probe], routine: 'forever', timeoutMs: 1000, keepFailed: false }))
      .rejects.toThrow(/case 0 of forever: did not return within 1 s/);
  });
  it('names the package to install when the emulator is missing', async () => {
    await expect(runRoutine({ modules: [string], routine: 'strlen', args: { eax: cstr('') }, emulator: 'qemu-i386-not-installed' }))
      .rejects.toThrow(/qemu-i386-not-installed not found: .*Install Debian's 'qemu-user' package/);
  });
  it('refuses a routine the modules do not define, and a bad input', async () => {
    await expect(runRoutine({ modules: [string], routine: 'parse_int' })).rejects.toThrow(/'parse_int' is not a label in the modules under test \(string\)/);
    await expect(runRoutine({ modules: [string], routine: 'strlen', args: { eax: 2 ** 32 } })).rejects.toThrow(/args\.eax is 4294967296: not a 32-bit integer/);
    await expect(runRoutine({ modules: [string], routine: 'strlen', args: { esp: 0 } as never })).rejects.toThrow(/args\.esp is not an input register/);
    await expect(runRoutine({ modules: [string], routine: 'name_lookup', args: { edx: L('shell_commands') } }))
      .rejects.toThrow(/args\.edx names 'shell_commands': not a label in the modules under test \(string\)/);
  });
});

const le32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}
