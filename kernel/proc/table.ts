// The process table's layout: one entry per process (struc proc), the states
// an entry can be in, and the program table's entry (struc prog).  Plain data
// that proc.ts, sched.ts, the console and the shell all read; no code.
import { constant } from '../../toolchain/x86/operands.ts';
import { defineStruct, pad, u32 } from '../../toolchain/x86/struct.ts';

/** One entry of proc_table: what the kernel keeps about a process. */
export const PROC = defineStruct('proc', {
  state: u32('state (PS_*)'),
  pid: u32('process id (0 = the kernel task)'),
  kesp: u32('saved kernel ESP while not running (context_switch)'),
  cr3: u32('physical address of the page directory'),
  kstack_top: u32('top of the kernel stack: TSS ESP0 while running'),
  wait: u32('what a blocked process waits for: wake-up tick, or a pid'),
  name: u32('program name (pointer to a string)'),
  ticks: u32('timer ticks charged to this process'),
  syscalls: u32('system calls made'),
  pages: u32('physical pages it owns (pmm_alloc): directory, page table, kernel stack, image, user stack'),
  killed: u32('1: end this process when it next returns to ring 3 (Ctrl-C while it ran)'),
  background: u32('1: started in the background ("run ... &"): not the console\'s reader, read(0) returns 0 (EOF)'),
  _spare: pad(16, 'room for more fields (the entry stays 64 bytes: a power of two, easy to read in a memory dump)'),
}, { doc: 'process-table entry (proc_table has MAX_PROCS of them)', size: 64 });
export const MAX_PROCS = constant('MAX_PROCS', 8, 'process-table entries: the kernel task and 7 user processes', { radix: 10 });

export const PS_FREE = constant('PS_FREE', 0, 'entry unused');
export const PS_RUNNABLE = constant('PS_RUNNABLE', 1, 'ready to run (or running)');
export const PS_SLEEPING = constant('PS_SLEEPING', 2, 'sleeping until ticks >= proc.wait');
export const PS_WAIT_INPUT = constant('PS_WAIT_INPUT', 3, 'waiting for a byte from the serial port');
export const PS_WAIT_EXIT = constant('PS_WAIT_EXIT', 4, 'waiting for process proc.wait to end');
/** One entry of the program table (programs.asm). */
export const PROG = defineStruct('prog', {
  name: u32('name (pointer to a string)'),
  start: u32('address of its image in the kernel'),
  filesz: u32('bytes of the image'),
  memsz: u32('bytes of image + bss (what must be mapped)'),
}, { doc: 'program-table entry (programs.asm)', size: 16 });

