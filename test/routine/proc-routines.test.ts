// Two routines of the process code run without a boot (test/harness/routine.ts):
// proc_find (kernel/proc/proc.ts) over a process table the test fills in, and
// vm_create (kernel/proc/vm.ts) building a page directory in a buffer.  Each
// case starts with random values in every register, and every register the
// routine's contract (its a.routine header) does not list in out/clobbers must
// come back unchanged.
import { describe, expect, it } from 'vitest';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { L, eax, ecx, edx, edi, dword } from '../../toolchain/x86/operands.ts';
import { proc } from '../../kernel/proc/proc.ts';
import { vm } from '../../kernel/proc/vm.ts';
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

describe('vm_create and vm_destroy (kernel/proc/vm.ts): every page from pmm_alloc, every page back with pmm_free, nothing leaked when memory runs out', () => {
  // The kernel's page table 0 and the page allocator are other modules' labels: stand-ins give the
  // test an address to read and a pool of pages whose size each case sets (fake_left), and they
  // record every page given back (fake_freed).
  const POOL = 20;
  const fakes = defineModule({
    name: 'fakes', title: 'kernel_pt0 and pmm_alloc/pmm_free for the test', about: 'Stand-ins for paging.asm and pmm.asm.',
    emit(a) {
      a.bss('kernel_pt0', 4096, 4096);
      a.bss('fake_pool', POOL * 4096, 4096, 'the pages fake pmm_alloc hands out, in order');
      a.bss('fake_next', 4, 4);
      a.bss('fake_left', 4, 4);
      a.bss('fake_allocs', 4, 4);
      a.bss('fake_frees', 4, 4);
      a.bss('fake_freed', 4 * 32, 4);
      a.label('pmm_alloc');
      a.cmp(dword(L('fake_next')), 0);
      a.if_('e', () => a.mov(dword(L('fake_next')), L('fake_pool')), undefined, 'each case starts at the pool\'s first page');
      a.xor(eax, eax);
      a.cmp(dword(L('fake_left')), 0);
      a.je(L('.out'));
      a.dec(dword(L('fake_left')));
      a.inc(dword(L('fake_allocs')));
      a.mov(edx, dword(L('fake_next')));
      a.add(dword(L('fake_next')), 4096);
      a.push(edi);
      a.mov(edi, edx);
      a.mov(ecx, 1024);
      a.rep_stosd('zeroed, as pmm_alloc promises');
      a.pop(edi);
      a.mov(eax, edx);
      a.label('.out');
      a.ret();
      a.label('pmm_free');
      a.mov(ecx, dword(L('fake_frees')));
      a.mov(dword({ index: ecx, scale: 4, disp: L('fake_freed') }), eax);
      a.inc(dword(L('fake_frees')));
      a.xor(eax, eax);
      a.ret();
    },
  });
  const USER = num(PTE_P) | num(PTE_W) | num(PTE_U);
  const state = (left: number) => [
    { at: L('fake_next'), bytes: u32(0) }, // 0: start at fake_pool
    { at: L('fake_left'), bytes: u32(left) }, { at: L('fake_allocs'), bytes: u32(0) }, { at: L('fake_frees'), bytes: u32(0) },
  ];
  const reads = [
    { at: L('fake_pool'), length: POOL * 4096 }, { at: L('fake_allocs'), length: 4 }, { at: L('fake_frees'), length: 4 },
    { at: L('fake_freed'), length: 4 * 32 },
  ];
  const image = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 1) & 0xff || 1);
  // [bytes copied, bytes mapped]: an empty image, one byte, a page, a page and a bit, bss past the image, the largest.
  const sizes: [number, number][] = [[0, 0], [1, 1], [4096, 4096], [4097, 4200], [5000, 0x3000], [0xb000, 0xb000]];
  const pagesOf = (mem: number) => Math.ceil(mem / 4096);

  it('builds the directory and page table from allocated pages, copies the image and zeroes the rest, and reports the pages taken', async () => {
    const rs = await runRoutines({
      modules: [vm, fakes],
      cases: sizes.map(([file, mem]) => ({
        name: `${file} of ${mem} bytes`, routine: 'vm_create',
        args: fill({ eax: data(image(Math.max(file, 1))), ecx: file, edx: mem, ebx: L('fake_pool'), esi: L('kernel_pt0') }), // EBX, ESI (kept): where the pool and the table are
        memory: state(POOL),
        read: reads,
      })),
    });
    rs.forEach((r, i) => {
      const [file, mem] = sizes[i]!;
      const pool = r.input.ebx;
      const [bytes, allocs, frees] = [r.memory[0]!, le32(r.memory[1]!, 0), le32(r.memory[2]!, 0)];
      const pages = pagesOf(mem);
      const page = (n: number) => pool + n * 4096;
      const why = `${file}/${mem}`;
      expect({ why, eax: r.regs.eax, edx: r.regs.edx, allocs, frees }).toEqual({ why, eax: page(0), edx: 3 + pages, allocs: 3 + pages, frees: 0 });
      // The directory: PDE 0 = the kernel table (supervisor), PDE 1 = the user table (page 1), nothing else.
      const want = new Map<number, number>([[0, (r.input.esi | num(PTE_P) | num(PTE_W)) >>> 0], [4, (page(1) + USER) >>> 0]]);
      for (let at = 0; at < 4096; at += 4) expect({ why, at, v: le32(bytes, at) }).toEqual({ why, at, v: want.get(at) ?? 0 });
      // The user table: the stack (page 2) in entry 1023, image page p -> pool page 3 + p, nothing else.
      const tw = new Map<number, number>([[1023 * 4, (page(2) + USER) >>> 0]]);
      for (let p = 0; p < pages; p++) tw.set(4 * p, (page(3 + p) + USER) >>> 0);
      for (let at = 0; at < 4096; at += 4) expect({ why, at, v: le32(bytes, 4096 + at) }).toEqual({ why, at, v: tw.get(at) ?? 0 });
      // The image pages hold the image, then zeroes (the bss) up to the page end; the stack page is zero.
      const img = bytes.subarray(3 * 4096, (3 + pages) * 4096);
      expect(Buffer.from(img.subarray(0, file)).equals(Buffer.from(image(Math.max(file, 1)).subarray(0, file))), why).toBe(true);
      expect(img.subarray(file).every((b) => b === 0), why).toBe(true);
      expect(bytes.subarray(2 * 4096, 3 * 4096).every((b) => b === 0), why).toBe(true);
      expect(broken(r, ['eax', 'ecx', 'edx'])).toEqual([]);
    });
  });

  it('out of memory at every step: EAX = EDX = 0, and every page it took is given back exactly once', async () => {
    const MEM = 0x3000; // 3 image pages: 6 pages in all
    const cases = [0, 1, 2, 3, 4, 5, 6].map((left) => ({
      name: `${left} pages free`, routine: 'vm_create',
      args: fill({ eax: data(image(MEM)), ecx: MEM, edx: MEM, ebx: L('fake_pool') }),
      memory: state(left),
      read: reads,
    }));
    const rs = await runRoutines({ modules: [vm, fakes], cases });
    rs.forEach((r, left) => {
      const [allocs, frees] = [le32(r.memory[1]!, 0), le32(r.memory[2]!, 0)];
      const freed = Array.from({ length: frees }, (_, k) => le32(r.memory[3]!, 4 * k)).sort((x, y) => x - y);
      const taken = Array.from({ length: allocs }, (_, k) => r.input.ebx + k * 4096);
      if (left === 6) {
        expect({ left, eax: r.regs.eax, edx: r.regs.edx, frees }).toEqual({ left, eax: r.input.ebx, edx: 6, frees: 0 });
      } else {
        expect({ left, eax: r.regs.eax, edx: r.regs.edx, allocs }).toEqual({ left, eax: 0, edx: 0, allocs: left });
        expect({ left, freed }).toEqual({ left, freed: taken });
      }
      expect(broken(r, ['eax', 'ecx', 'edx'])).toEqual([]);
    });
  });

  it('vm_destroy gives back the directory, the table and every page the table maps, each once, and returns how many', async () => {
    const MEM = 0x5000;
    const rs = await runRoutines({
      modules: [vm, fakes],
      cases: [
        { name: 'build', routine: 'vm_create', args: fill({ eax: data(image(MEM)), ecx: MEM, edx: MEM, ebx: L('fake_pool') }), memory: state(POOL), read: reads },
        { name: 'destroy', routine: 'vm_destroy', args: fill({ eax: L('fake_pool') }), read: reads },
      ],
    });
    const [built, gone] = rs as [RoutineResult, RoutineResult];
    const allocs = le32(built.memory[1]!, 0);
    expect(allocs).toBe(3 + MEM / 4096);
    const frees = le32(gone.memory[2]!, 0);
    const freed = Array.from({ length: frees }, (_, k) => le32(gone.memory[3]!, 4 * k)).sort((x, y) => x - y);
    expect(freed).toEqual(Array.from({ length: allocs }, (_, k) => built.regs.eax + k * 4096));
    expect(gone.regs.eax).toBe(allocs); // EAX = pages given back: what proc_free checks against proc.pages
    expect(broken(gone, ['eax', 'ecx', 'edx'])).toEqual([]);
  });
});
