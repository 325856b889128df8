// Trap dispatch: from a vector number to the handler registered for it.
import { defineModule } from '../toolchain/x86/asm.ts';
import { eax, ebx, ecx, edx, L, dword } from '../toolchain/x86/operands.ts';
import { TF_VECTOR } from './trapframe.ts';
import { NUM_EXCEPTIONS } from './exceptions.ts';

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
(0-31) is dumped and panics (exceptions.asm); any other vector is reported
by number and dispatch returns (the shell's "int n" relies on that).`,
  spec: ['Intel SDM Vol. 3A §6.4 "Sources of Interrupts", §6.12 "Exception and Interrupt Handling"'],
  emit(a) {
    a.bss('trap_handlers', 256 * 4, 4, 'handler address per vector, 0 = none');
    a.bss('trap_counts', 256 * 4, 4, 'how many times each vector fired (the shell\'s idt command shows them)');

    a.label('trap_register', 'EAX = vector, EDX = handler');
    a.mov(dword({ index: eax, scale: 4, disp: L('trap_handlers') }), edx);
    a.ret();

    a.label('trap_dispatch', 'EAX = trap frame');
    a.push(ebx);
    a.mov(ebx, eax);
    a.mov(ecx, dword(ebx, TF_VECTOR));
    a.inc(dword({ index: ecx, scale: 4, disp: L('trap_counts') }));
    a.mov(edx, dword({ index: ecx, scale: 4, disp: L('trap_handlers') }));
    a.test(edx, edx);
    a.jz(L('.unhandled'));
    a.mov(eax, ebx, 'handler(frame)');
    a.call(edx);
    a.pop(ebx);
    a.ret();
    a.label('.unhandled');
    a.cmp(ecx, NUM_EXCEPTIONS);
    a.jae(L('.report'));
    a.mov(eax, ebx);
    a.jmp(L('exception_unhandled'), 'a CPU exception nobody handles: dump and panic (no return)');
    a.label('.report');
    a.mov(eax, L('trap_msg_unhandled'));
    a.call(L('serial_puts'));
    a.mov(eax, dword(ebx, TF_VECTOR));
    a.call(L('serial_put_dec'));
    a.mov(eax, L('trap_msg_unhandled_end'));
    a.call(L('serial_puts'));
    a.pop(ebx);
    a.ret();

    a.label('trap_msg_unhandled'); a.db('[trap] vector ', 0);
    a.label('trap_msg_unhandled_end'); a.db(' has no handler (ignored)\r\n', 0);
  },
});
