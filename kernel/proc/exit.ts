// How a process ends: exit(), a fault in ring 3, Ctrl-C, the shell's kill -
// and waiting for a process to end.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { cr2, cr3, eax, ebx, ecx, edx, esi, esp, L, dword, constant } from '../../toolchain/x86/operands.ts';
import { kernel_pgdir } from '../cpu/paging.ts';
import { pmm_free } from '../mm/pmm.ts';
import { vm_destroy } from './vm.ts';
import { KSTACK_SIZE } from './spawn.ts';
import { PROC, PS_FREE, PS_RUNNABLE, PS_WAIT_EXIT } from './table.ts';
import { TRAPFRAME } from '../cpu/trapframe.ts';
import { VEC_PF, exception_names, pf_print_error } from '../cpu/exceptions.ts';
import { ESRCH } from './errno.ts';
import { putDec, putHex32, say } from '../lib/print.ts';
import { panic } from '../dev/qemu_exit.ts';
import { con_user_end, serial_newline, serial_put_int, serial_puts } from '../dev/serial.ts';
import { sched_block, schedule } from './sched.ts';
import { proc_current, proc_find, proc_say_pid } from './proc.ts';
import { forEachProc } from './iter.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const proc_end = sym('proc_end');
export const proc_exit = sym('proc_exit');
export const proc_fault = sym('proc_fault');
const proc_free = sym('proc_free');
export const proc_interrupt = sym('proc_interrupt');
export const proc_kill = sym('proc_kill');
export const proc_wait = sym('proc_wait');
const exit_stack = sym('exit_stack');

export const EXIT_STACK_SIZE = constant('EXIT_STACK_SIZE', 2048, 'bytes of exit_stack: proc_end, schedule() and the interrupts taken while it idles', { radix: 10 });

export const exit = defineModule({
  name: 'exit',
  title: 'Ending a process: exit, faults, Ctrl-C, kill, and waiting for the end',
  about: `
A process ends in one of four ways, and all of them come down to proc_free:
whoever waits for it (state WAIT_EXIT, proc_wait) becomes RUNNABLE again,
its pages go back to the allocator - vm_destroy (vm.asm) frees every page
its page table maps, the table and the directory; then its kernel stack
page - and its entry becomes FREE, never scheduled again, reused only by a
later spawn.  The shell's "mem" shows the free count back where it was,
and proc_free checks it too: the pages it gave back must be proc.pages,
the count spawn recorded - a leak or a double free anywhere in the kernel
would print a line here instead of passing unnoticed.

  exit()        the program asks (sys_exit, syscall.asm -> proc_exit): print
                "[proc] pid N exited with code C" and end it (proc_end).
  a fault       an exception raised in ring 3 (trap.asm -> proc_fault) is
                the program's problem, not the kernel's: print "[proc] pid N
                killed: <exception> at <eip>" (and, for #PF, the address
                from CR2 and the decoded error code) and end it; the kernel
                carries on.
  Ctrl-C        the serial interrupt sees byte 03h (uart_rx.asm ->
                proc_interrupt) and ends every user process.
  kill N        the shell's command (proc_kill) ends one.

The running process cannot give back the pages it runs on: its kernel stack
holds the very call that frees them, and CR3 points at its directory.  So
proc_end first steps off both - CR3 = kernel_pgdir (the kernel half is the
same in every address space), ESP = exit_stack, a small stack of the
kernel's own - and only then frees the entry and its pages and calls
schedule() (sched.asm), which switches away for good: a FREE entry is never
picked again.  If nothing else can run, the idle loop halts on exit_stack,
and the interrupts that wake it run there too - never on a freed page.
(One process at a time can be in proc_end: interrupts are off from its
start until schedule() has switched away or halts.)

A process that is *not* running is stopped inside context_switch on its own
kernel stack, and nothing else refers to that stack: kill frees such an
entry at once.  Ctrl-C may also find the current process blocked in the
kernel, the CPU idling on its behalf - on its kernel stack, which the
serial interrupt's handler is using at that moment; proc_interrupt frees
it anyway and loads kernel_pgdir into CR3.  That is safe because a freed
page keeps its contents until pmm_alloc hands it out again, and nothing
allocates before schedule() has switched to another stack: pages are
allocated by the kernel task and by system calls, never by an interrupt
handler.  The one case left is Ctrl-C while a process runs in ring 3 (the
interrupt came from there): proc_interrupt only marks it (proc.killed),
and sched_trap_exit ends it on its way back to ring 3.

  proc_exit       EAX = exit code (current process; does not return)
  proc_fault      EAX = trap frame of a ring-3 exception (does not return)
  proc_end        the current process is finished (does not return)
  proc_interrupt  EAX = trap frame of the serial IRQ: Ctrl-C, end every user process
  proc_kill       EAX = pid: end that user process (called by the kernel task)
  proc_wait       EAX = pid: block until that process has ended`,
  spec: ['Intel SDM Vol. 3A §6.15 "Exception and Interrupt Reference" (Interrupt 14, page-fault error code), §6.12.1 (a frame from ring 3 has CS with RPL 3)', 'xv6: proc.c (exit, wait, kill)'],
  emit(a) {
    a.section('proc_exit: EAX = exit code; ends the current process');
    a.label(proc_exit);
    a.mov(esi, eax);
    a.mov(eax, dword(proc_current));
    a.call(con_user_end, 'its unfinished output line first, then the exit message');
    a.call(proc_say_pid);
    say(a, a.cstr('exited with code '));
    a.mov(eax, esi);
    a.call(serial_put_int);
    a.call(serial_newline);
    a.jmp(proc_end);

    a.section('proc_fault: EAX = trap frame of an exception raised in ring 3');
    a.label(proc_fault);
    a.mov(esi, eax, 'ESI = frame');
    a.mov(eax, dword(proc_current));
    a.call(con_user_end);
    a.call(proc_say_pid);
    say(a, a.cstr('killed: '));
    a.mov(ecx, dword(esi, TRAPFRAME.f.vector));
    a.mov(eax, dword({ index: ecx, scale: 4, disp: exception_names }));
    a.call(serial_puts);
    say(a, a.cstr(' at 0x'));
    putHex32(a, dword(esi, TRAPFRAME.f.eip));
    a.call(serial_newline);
    a.cmp(dword(esi, TRAPFRAME.f.vector), VEC_PF);
    a.jne(proc_end);
    a.call(proc_say_pid);
    say(a, a.cstr('page fault address CR2=0x'));
    putHex32(a, cr2, 'the address the program touched');
    a.mov(eax, dword(esi, TRAPFRAME.f.error));
    a.call(pf_print_error);
    a.call(serial_newline);
    a.comment('fall through');

    a.section('proc_end: the current process is finished; never returns');
    a.bss(exit_stack, EXIT_STACK_SIZE, 16, 'proc_end runs here while it frees the ending process\'s kernel stack (and idles here if nothing can run)');
    a.label(proc_end);
    a.cli();
    a.mov(eax, kernel_pgdir);
    a.mov(cr3, eax, 'leave the ending process\'s address space: its directory is about to be freed');
    a.mov(esp, exit_stack.add(EXIT_STACK_SIZE), 'and its kernel stack: nothing below this line touches it');
    a.mov(eax, dword(proc_current));
    a.call(proc_free);
    a.call(schedule, 'switches away for good: a free entry is never picked');
    a.mov(eax, a.cstr('a finished process was scheduled again'));
    a.call(panic);

    a.routine({
      name: proc_free, does: 'wake whoever waits for a process, give its pages back (checking the count), free its entry (never scheduled again)',
      in: { eax: 'process entry, not the one whose directory is in CR3 (kept: EAX comes back unchanged)' },
      clobbers: [ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax, 'EBX = the entry');
      a.mov(eax, dword(ebx, PROC.f.cr3));
      a.call(vm_destroy, 'its directory, page table, image and user stack pages');
      a.push(eax, 'pages given back so far');
      a.mov(eax, dword(ebx, PROC.f.kstack_top));
      a.sub(eax, KSTACK_SIZE);
      a.call(pmm_free, 'its kernel stack page');
      a.test(eax, eax);
      a.if_('z', () => a.inc(dword(esp)));
      a.pop(ecx, 'ECX = pages given back');
      a.cmp(ecx, dword(ebx, PROC.f.pages));
      a.if_('ne', () => {
        a.push(ecx);
        say(a, a.cstr('[proc] pid '));
        putDec(a, dword(ebx, PROC.f.pid));
        say(a, a.cstr(' ended: gave back '));
        a.pop(eax);
        a.call(serial_put_int);
        say(a, a.cstr(' pages, but spawn gave it '));
        putDec(a, dword(ebx, PROC.f.pages));
        say(a, a.cstr(' (a kernel bug: pages leaked or freed twice)\r\n'));
      }, undefined, 'the count spawn recorded: a leak or a double free in the kernel would show here');
      a.mov(dword(ebx, PROC.f.pages), 0);
      a.mov(eax, ebx);
      a.push(eax);
      a.call(con_user_end, 'normally done already; a new process in this slot must start with an empty line buffer');
      a.pop(eax);
      a.mov(edx, dword(eax, PROC.f.pid));
      forEachProc(a, ecx, ({ next }) => {
        a.cmp(dword(ecx, PROC.f.state), PS_WAIT_EXIT);
        a.jne(next);
        a.cmp(dword(ecx, PROC.f.wait), edx);
        a.jne(next);
        a.mov(dword(ecx, PROC.f.state), PS_RUNNABLE, 'it was waiting for this process');
      });
      a.mov(dword(eax, PROC.f.state), PS_FREE, 'never scheduled again; the slot may be reused by the next spawn');
      r.ret();
    });

    a.routine({
      name: proc_interrupt, does: 'Ctrl-C: end every user process (the running one at its return to ring 3)',
      in: { eax: 'trap frame of the serial IRQ that brought the Ctrl-C' },
      clobbers: [eax, ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(esi, eax);
      a.comment('The kernel task (entry 0) is never stopped: it is the one that waits for the programs.');
      forEachProc(a, ebx, ({ next }) => {
        a.mov(eax, ebx);
        a.call(con_user_end);
        say(a, a.cstr('[proc] pid '));
        putDec(a, dword(ebx, PROC.f.pid));
        say(a, a.cstr(' killed: Ctrl-C\r\n'));
        a.cmp(ebx, dword(proc_current));
        a.jne(L('.free'));
        a.test(dword(esi, TRAPFRAME.f.cs), 3);
        a.jz(L('.free'), 'interrupted in ring 0: it is blocked inside the kernel (we idle on its behalf)');
        a.mov(dword(ebx, PROC.f.killed), 1, 'it is running: it ends at the return to ring 3 (sched_trap_exit)');
        a.jmp(next);
        a.label('.free');
        a.comment('Not running: it is stopped inside context_switch (or idle) on its own kernel stack, and');
        a.comment('nothing else refers to that stack - so the entry can simply be freed.');
        a.cmp(ebx, dword(proc_current));
        a.if_('e', () => {
          a.mov(eax, kernel_pgdir);
          a.mov(cr3, eax, 'we idle on its behalf: leave its address space before its directory is freed');
        });
        a.mov(eax, ebx);
        a.call(proc_free);
      }, { skipKernel: true, skipFree: true });
      r.ret();
    });

    a.routine({
      name: proc_kill, does: 'the shell\'s kill: end one user process (the caller is the kernel task)',
      in: { eax: 'pid' }, out: { eax: '0, or -ESRCH when no user process has that pid' },
      clobbers: [ecx, edx], saves: [ebx],
    }, (r) => {
      a.call(proc_find);
      a.test(eax, eax);
      a.if_('z', () => {
        a.mov(eax, ESRCH.neg());
        r.ret();
      });
      a.mov(ebx, eax);
      a.call(con_user_end);
      say(a, a.cstr('[proc] pid '));
      putDec(a, dword(ebx, PROC.f.pid));
      say(a, a.cstr(' killed: kill command\r\n'));
      a.comment('The caller is the kernel task, so the victim is not running: it is stopped inside');
      a.comment('context_switch on its own kernel stack, which nothing else refers to. Free it now.');
      a.mov(eax, ebx);
      a.call(proc_free);
      a.xor(eax, eax);
      r.ret();
    });

    a.routine({
      name: proc_wait, does: 'block until no process has the given pid (any more)',
      in: { eax: 'pid' }, out: { flags: 'as on entry (IF too: pushfd ... popfd)' },
      clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.pushfd();
      a.cli('check and block without a gap');
      a.mov(ebx, eax);
      a.loop_((loop) => {
        a.mov(eax, ebx);
        a.call(proc_find);
        a.test(eax, eax);
        loop.break_('z', 'no such process (any more)');
        a.mov(eax, PS_WAIT_EXIT);
        a.mov(edx, ebx);
        a.call(sched_block, 'proc_free wakes us');
      });
      a.popfd();
      r.ret();
    });
  },
});
