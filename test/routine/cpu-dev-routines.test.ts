// Routines of kernel/cpu and kernel/dev that compute without touching the
// hardware, run under qemu-i386 (test/harness/routine.ts) against the
// contracts their a.routine declarations state: the documented result, and
// no register outside `out`/`clobbers` changed (every input register holds a
// random value first, so a routine that used one as scratch is caught).
import { describe, expect, it } from 'vitest';
import { L } from '../../toolchain/x86/operands.ts';
import { pit } from '../../kernel/dev/pit.ts';
import { pic } from '../../kernel/dev/pic.ts';
import { serial } from '../../kernel/dev/serial.ts';
import { idt, GATE } from '../../kernel/cpu/idt.ts';
import { kgdtModule, TSS } from '../../kernel/cpu/gdt.ts';
import { trap } from '../../kernel/cpu/trap.ts';
import { type InputReg, type RoutineResult, runRoutines } from '../harness/routine.ts';

const le32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
const u32 = (v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v >>> 0, true); return b; };

/** xorshift32 with a fixed seed, so a failure reruns identically. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; return (s >>>= 0); };
}
const random = rng(0x9e3779b9);
const REGS: readonly InputReg[] = ['eax', 'ecx', 'edx', 'ebx', 'esi', 'edi', 'ebp'];
/** Random values in every register, then the case's own inputs. */
const fill = (own: Partial<Record<InputReg, number | ReturnType<typeof L>>> = {}) =>
  ({ ...Object.fromEntries(REGS.map((r) => [r, random()])), ...own });
/** Registers that changed although the contract (out + clobbers) does not allow it. */
const outside = (r: RoutineResult, allowed: readonly string[]) => r.changed.filter((x) => !allowed.includes(x));

describe('ms_to_ticks (kernel/dev/pit.ts): EAX = ms -> EAX = max(1, ceil(ms * pit_hz / 1000)); clobbers ECX, EDX', () => {
  it('rounds up, never returns 0, and keeps every register but EAX, ECX, EDX', async () => {
    const hzs = [19, 100, 250, 1000];
    const mss = [0, 1, 3, 9, 10, 11, 999, 1000, 1001, 1500, 60_000, 4_294_967];
    const cases = hzs.flatMap((hz) => mss.map((ms) => ({ hz, ms })));
    const rs = await runRoutines({
      modules: [pit], routine: 'ms_to_ticks',
      cases: cases.map(({ hz, ms }) => ({ name: `${ms} ms at ${hz} Hz`, args: fill({ eax: ms }), memory: [{ at: L('pit_hz'), bytes: u32(hz) }] })),
    });
    rs.forEach((r, i) => {
      const { hz, ms } = cases[i]!;
      const want = Math.max(1, Number((BigInt(ms) * BigInt(hz) + 999n) / 1000n));
      expect({ hz, ms, ticks: r.regs.eax }).toEqual({ hz, ms, ticks: want });
      expect(outside(r, ['eax', 'ecx', 'edx'])).toEqual([]);
    });
  });
});

describe('con_defer (kernel/dev/serial.ts): AL = byte; clobbers ECX, EDX only', () => {
  it('keeps EAX (callers print the same byte on) and every callee-saved register, stored or dropped', async () => {
    const states = [{ head: 0, tail: 0 }, { head: 4, tail: 5 }];
    const rs = await runRoutines({
      modules: [serial], routine: 'con_defer',
      cases: states.map(({ head, tail }) => ({
        name: `head ${head}, tail ${tail}`, args: fill({ eax: 0x12345641 }),
        memory: [{ at: L('con_defer_head'), bytes: u32(head) }, { at: L('con_defer_tail'), bytes: u32(tail) }],
      })),
    });
    for (const r of rs) {
      expect(r.regs.eax).toBe(0x12345641);
      expect(outside(r, ['ecx', 'edx'])).toEqual([]);
    }
  });
});

describe('table setters: store one value, change no register', () => {
  it('tss_set_esp0 (kernel/cpu/gdt.ts): EAX -> TSS.esp0', async () => {
    const [r] = await runRoutines({
      modules: [kgdtModule], routine: 'tss_set_esp0',
      cases: [{ args: fill({ eax: 0x00123ff0 }), read: [{ at: L('tss').add(TSS.f.esp0), length: 4 }] }],
    });
    expect(le32(r!.memory[0]!)).toBe(0x00123ff0);
    expect(r!.changed).toEqual([]);
  });
  it('idt_set_gate (kernel/cpu/idt.ts): EAX = vector, DL = type byte -> that gate\'s type byte only', async () => {
    const vectors = [0, 0x80, 255];
    const rs = await runRoutines({
      modules: [idt], routine: 'idt_set_gate',
      cases: vectors.map((v) => ({
        name: `vector ${v}`, args: fill({ eax: v, edx: 0xabcd00ef }),
        read: [{ at: L('idt_table').add(v * 8), length: 8 }],
      })),
    });
    rs.forEach((r) => {
      const gate = r.memory[0]!;
      expect(gate[GATE.f.type.offset]).toBe(0xef);
      expect([...gate].filter((b, k) => k !== (GATE.f.type.offset) && b !== 0)).toEqual([]);
      expect(r.changed).toEqual([]);
    });
  });
  it('trap_register (kernel/cpu/trap.ts) and irq_register (kernel/dev/pic.ts): EAX = index, EDX = handler', async () => {
    const [t] = await runRoutines({
      modules: [trap], routine: 'trap_register',
      cases: [{ args: fill({ eax: 0x30, edx: 0xc0ffee00 }), read: [{ at: L('trap_handlers').add(0x30 * 4), length: 4 }] }],
    });
    expect(le32(t!.memory[0]!)).toBe(0xc0ffee00);
    expect(t!.changed).toEqual([]);
    const [p] = await runRoutines({
      modules: [pic], routine: 'irq_register',
      cases: [{ args: fill({ eax: 15, edx: 0x0badf00d }), read: [{ at: L('irq_handlers').add(15 * 4), length: 4 }] }],
    });
    expect(le32(p!.memory[0]!)).toBe(0x0badf00d);
    expect(p!.changed).toEqual([]);
  });
});
