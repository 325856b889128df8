// Two routines of the process code run without a boot (test/harness/routine.ts):
// proc_find (kernel/proc/proc.ts) over a process table the test fills in, and
// vm_create (kernel/proc/vm.ts) building a page directory in a buffer.  Each
// case starts with random values in every register, and every register the
// routine's contract (its a.routine header) does not list in out/clobbers must
// come back unchanged.
import { describe, expect, it } from 'vitest';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { L } from '../../toolchain/x86/operands.ts';
import { proc } from '../../kernel/proc/proc.ts';
import { vm, PM_IMAGE, PM_PGTAB, PM_USTACK } from '../../kernel/proc/vm.ts';
import { MAX_PROCS, PROC, PS_FREE, PS_RUNNABLE, PS_SLEEPING, PS_WAIT_EXIT } from '../../kernel/proc/table.ts';
import { PTE_P, PTE_U, PTE_W } from '../../kernel/cpu/paging.ts';
import { type InputReg, type RoutineResult, data, runRoutines } from '../harness/routine.ts';

const num = (c: { c: { value: unknown } }) => c.c.value as number;

/** A fixed-seed generator (xorshift32), so a failure can be rerun. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; return (s >>>= 0); };
}
const random = rng(0x70c);
const REGS: readonly InputReg[] = ['eax', 'ecx', 'edx', 'ebx', 'esi', 'edi', 'ebp'];
const fill = <T extends object>(own: T) => ({ ...Object.fromEntries(REGS.map((r) => [r, random()])), ...own });

/** Registers that changed although the contract keeps them (ESP always counts). */
const broken = (r: RoutineResult, allowed: readonly string[]) => r.changed.filter((x) => !allowed.includes(x));

const le32 = (b: Uint8Array, at: number) => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

describe('proc_find (kernel/proc/proc.ts): EAX = pid -> EAX = its entry among the live user processes, or 0; clobbers ECX', () => {
  // entry: [state, pid]
  const TABLE: [number, number][] = [
    [num(PS_RUNNABLE), 0], // the kernel task: never found
    [num(PS_RUNNABLE), 5],
    [num(PS_FREE), 7], // a freed entry still holding an old pid: skipped
    [num(PS_SLEEPING), 7],
    [num(PS_FREE), 9],
    [num(PS_WAIT_EXIT), 3],
    [num(PS_FREE), 0],
    [num(PS_RUNNABLE), 11], // the last entry: the scan reaches proc_table_end
  ];
  expect(TABLE.length).toBe(num(MAX_PROCS));
  const bytes = TABLE.flatMap(([state, pid]) => {
    const e = new Array<number>(PROC.size).fill(0);
    e.splice(PROC.f.state.offset, 4, ...u32(state));
    e.splice(PROC.f.pid.offset, 4, ...u32(pid));
    return e;
  });
  const cases: [number, number | null, string][] = [
    [5, 1, 'a runnable process'], [7, 3, 'the live entry, not the free one before it with the same stale pid'],
    [3, 5, 'a process waiting for another'], [11, 7, 'the last entry'],
    [0, null, 'pid 0: the kernel task is not a user process'], [9, null, 'only a free entry has it'],
    [12345, null, 'nobody has it'], [0xffffffff, null, 'nobody has it'],
  ];

  it('returns the entry that holds the pid, or 0, and keeps every register but EAX and ECX', async () => {
    const rs = await runRoutines({
      modules: [proc], routine: 'proc_find',
      cases: cases.map(([pid, , why]) => ({
        name: `pid ${pid}: ${why}`,
        args: fill({ eax: pid, ebx: L('proc_table') }), // EBX (kept) tells the test where the table is
        memory: [{ at: L('proc_table'), bytes }],
      })),
    });
    rs.forEach((r, i) => {
      const [pid, entry, why] = cases[i]!;
      const table = r.input.ebx;
      expect({ pid, why, eax: r.regs.eax }).toEqual({ pid, why, eax: entry === null ? 0 : table + entry * PROC.size });
      expect(broken(r, ['eax', 'ecx'])).toEqual([]);
    });
  });
});

describe('vm_create (kernel/proc/vm.ts): EAX = slot base (zeroed), EDX = image + bss bytes; clobbers EAX, ECX, EDX', () => {
  // The kernel's page table 0 is another module's label: a stand-in gives it an address the test can read.
  const pt0 = defineModule({
    name: 'fake_pt0', title: 'kernel_pt0 for the test', about: 'A label named kernel_pt0, as paging.asm has.',
    emit(a) { a.align(4096); a.label('kernel_pt0'); a.dd(0); },
  });
  const SLOT = 0x2000; // the directory and the user page table: all vm_create writes
  const slot = data(new Uint8Array(SLOT));
  const USER = num(PTE_P) | num(PTE_W) | num(PTE_U);
  const sizes: [number, number][] = [[0, 0], [1, 1], [4096, 1], [4097, 2], [0xb000, 11]];

  it('maps the kernel table, ceil(size / 4 KiB) image pages from USER_BASE, and the stack page, and nothing else', async () => {
    const rs = await runRoutines({
      modules: [vm, pt0], routine: 'vm_create',
      cases: sizes.map(([size]) => ({
        name: `${size} bytes`,
        args: fill({ eax: slot, edx: size, ebx: L('kernel_pt0') }),
        memory: [{ at: slot, bytes: new Uint8Array(SLOT) }],
        read: [{ at: slot, length: SLOT }],
      })),
    });
    rs.forEach((r, i) => {
      const [size, pages] = sizes[i]!;
      const base = r.input.eax;
      const m = r.memory[0]!;
      const want = new Map<number, number>([
        [0, (r.input.ebx | num(PTE_P) | num(PTE_W)) >>> 0], // PDE 0: supervisor only
        [4, (base + num(PM_PGTAB) + USER) >>> 0],
        [num(PM_PGTAB) + 1023 * 4, (base + num(PM_USTACK) + USER) >>> 0],
      ]);
      for (let p = 0; p < pages; p++) want.set(num(PM_PGTAB) + 4 * p, (base + num(PM_IMAGE) + p * 4096 + USER) >>> 0);
      for (let at = 0; at < SLOT; at += 4) expect({ size, at, v: le32(m, at) }).toEqual({ size, at, v: want.get(at) ?? 0 });
      expect(broken(r, ['eax', 'ecx', 'edx'])).toEqual([]);
    });
  });
});
