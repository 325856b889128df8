// "For each process": the scan over proc_table that the process code, the
// console and the scheduler's helpers all need.  An emit helper, not a module:
// it writes the loop into the routine that calls it, so the reader sees the
// ordinary instructions, with local labels named after what they are.
//
//     forEachProc(a, ebx, ({ next, done }) => {
//       a.cmp(dword(ebx, PROC.f.pid), eax);
//       a.jne(next);                          // continue: the next entry
//       ...
//       a.jmp(done);                          // break: leave the loop
//     }, { skipKernel: true, skipFree: true });
//
// emits
//
//     ; for each process-table entry (EBX = entry; user processes only, free entries skipped)
//         mov ebx, proc_table + proc_size         ; entry 0 is the kernel task
//     .each_proc_1:
//         cmp dword [ebx+proc.state], PS_FREE
//         je .each_proc_1_next
//         cmp dword [ebx+proc.pid], eax
//         jne .each_proc_1_next
//         ...
//         jmp .each_proc_1_done
//     .each_proc_1_next:
//         add ebx, proc_size
//         cmp ebx, proc_table_end
//         jb .each_proc_1
//     .each_proc_1_done:
//
// The entry register walks the table by address (proc_table, +proc_size, ...,
// up to proc_table_end), so the body addresses fields as [reg + proc.field]
// and the loop needs no index register.  The body must leave the register
// as it found it; it may jump anywhere else too (to a label of its routine:
// "found").  Labels are local ('.'), made unique per module with a.uniq(),
// and `next`/`done` are printed only when something jumps to them.
import type { Asm } from '../../toolchain/x86/asm.ts';
import { type ExprNode, type Reg32, L, callerLocation, dword, emitHelperFile } from '../../toolchain/x86/operands.ts';
import { PROC, PS_FREE } from './table.ts';
import { proc_table, proc_table_end } from './proc.ts';

// The listing names the line that called forEachProc (or wrote the body), not this file.
emitHelperFile();

/** Where the body may jump: `next` continues with the next entry, `done` leaves the loop. */
export interface ProcLoop {
  /** continue: skip the rest of the body for this entry. */
  readonly next: ExprNode;
  /** break: leave the loop (what follows the loop runs next). */
  readonly done: ExprNode;
}

export interface ForEachProcOptions {
  /** Start at entry 1: user processes only, not the kernel task (entry 0, pid 0). */
  readonly skipKernel?: boolean;
  /** Go on to the next entry at once when this one is free (PS_FREE): the body sees live processes only. */
  readonly skipFree?: boolean;
}

/**
 * Emit a scan over the process table: `reg` holds each entry's address in
 * turn while `body` runs.  After the loop (fallen off the end, or `done`),
 * `reg` is proc_table_end, or the entry the body broke at.
 */
export function forEachProc(a: Asm, reg: Reg32, body: (loop: ProcLoop) => void, opts: ForEachProcOptions = {}): void {
  // ESP would walk the stack off into the table: every push in the body would write into it.
  if (reg.name === 'esp') throw new Error(`forEachProc(a, esp, ...) at ${callerLocation()}: the entry register must be a general register other than ESP`);
  const top = a.uniq('each_proc');
  const nextName = `${top}_next`;
  const doneName = `${top}_done`;
  let nextUsed = false;
  let doneUsed = false;
  const loop: ProcLoop = {
    get next() { nextUsed = true; return L(nextName); },
    get done() { doneUsed = true; return L(doneName); },
  };
  const which = [opts.skipKernel ? 'user processes only' : 'from the kernel task (entry 0)', ...(opts.skipFree ? ['free entries skipped'] : [])];
  a.comment(`for each process-table entry (${reg.name.toUpperCase()} = entry; ${which.join(', ')})`);
  if (opts.skipKernel) a.mov(reg, proc_table.add(PROC.SIZE), 'entry 0 is the kernel task');
  else a.mov(reg, proc_table);
  a.label(top);
  if (opts.skipFree) {
    a.cmp(dword(reg, PROC.f.state), PS_FREE);
    a.je(loop.next);
  }
  body(loop);
  if (nextUsed) a.label(nextName);
  a.add(reg, PROC.SIZE);
  a.cmp(reg, proc_table_end);
  a.jb(L(top));
  if (doneUsed) a.label(doneName);
}
