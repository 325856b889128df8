// Trap dispatch: from a vector number to the handler registered for it.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ebx, ecx, edx, L, byte, dword } from '../../toolchain/x86/operands.ts';
import { TRAPFRAME } from './trapframe.ts';
import { NUM_EXCEPTIONS, exception_unhandled } from './exceptions.ts';
import { IDT_ENTRIES } from './idt.ts';
import { serial_put_dec } from '../dev/serial.ts';
import { proc_fault } from '../proc/exit.ts';
import { sched_trap_exit } from '../proc/sched.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { say } from '../lib/print.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const trap_counts = sym('trap_counts');
export const trap_dispatch = sym('trap_dispatch');
export const trap_handlers = sym('trap_handlers');
export const trap_register = sym('trap_register');

export const trap = defineModule({
  name: 'trap',
  title: 'Trap dispatch: one table of handlers, indexed by vector',
  about: `
isr_common (isr.asm) calls trap_dispatch for every interrupt, exception and
software "int" with EAX = the trap frame.  trap_handlers holds one handler
address per vector (0 = none); modules register theirs with trap_register
during initialisation (exceptions, PIC lines, the timer, the UART ...).

A handler is called with EAX = trap frame and follows the kernel calling
convention; it may change the frame (the registers iret will restore).
A vector nobody registered is never silently ignored: a CPU exception
(0-31) raised in ring 0 is dumped and panics (exceptions.asm), one raised
in ring 3 kills the program (exit.asm); any other vector is reported by
number and dispatch returns (the shell's "int n" relies on that).

Which ring was interrupted?  The low two bits of the CS the CPU saved in
the frame: the privilege level the code was running at.  Before returning
to ring 3, dispatch gives the scheduler its chance to preempt
(sched_trap_exit): the kernel itself is never preempted.`,
  spec: ['Intel SDM Vol. 3A §6.3 "Sources of Interrupts", §6.4 "Sources of Exceptions", §6.12 "Exception and Interrupt Handling"'],
  emit(a) {
    a.bss(trap_handlers, IDT_ENTRIES.mul(4), 4, 'handler address per vector, 0 = none');
    a.bss(trap_counts, IDT_ENTRIES.mul(4), 4, 'how many times each vector fired (the shell\'s idt command shows them)');

    a.routine({
      name: trap_register, does: 'install the handler for one vector',
      in: { eax: 'vector', edx: 'handler (called with EAX = trap frame), or 0 for none' },
    }, (r) => {
      a.mov(dword({ index: eax, scale: 4, disp: trap_handlers }), edx);
      r.ret();
    });

    a.routine({
      name: trap_dispatch, does: 'count the vector and call its handler; report or kill on a vector without one',
      in: { eax: 'trap frame (the registers iret will restore; the handler may change them)' },
      clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      a.mov(ecx, dword(ebx, TRAPFRAME.f.vector));
      a.inc(dword({ index: ecx, scale: 4, disp: trap_counts }));
      a.mov(edx, dword({ index: ecx, scale: 4, disp: trap_handlers }));
      a.test(edx, edx);
      a.jz(L('.unhandled'));
      a.mov(eax, ebx, 'handler(frame)');
      a.call(edx);
      a.label('.back');
      a.test(byte(ebx, TRAPFRAME.f.cs), 3, 'returning to ring 3?');
      r.retIf('z');
      a.mov(eax, ebx);
      a.call(sched_trap_exit, 'the one place a user program can be preempted');
      r.ret();
      a.label('.unhandled');
      a.cmp(ecx, NUM_EXCEPTIONS);
      a.jae(L('.report'));
      a.mov(eax, ebx);
      a.test(byte(ebx, TRAPFRAME.f.cs), 3, 'RPL of the saved CS = the privilege level that faulted');
      a.jnz(proc_fault, 'ring 3: kill the program, not the kernel (no return)');
      a.jmp(exception_unhandled, 'ring 0: a kernel bug - dump and panic (no return)');
      a.label('.report');
      say(a, a.cstr('[trap] vector '));
      a.mov(eax, dword(ebx, TRAPFRAME.f.vector));
      a.call(serial_put_dec);
      say(a, a.cstr(' has no handler (ignored)\r\n'));
      a.jmp(L('.back'));
    });
  },
});
