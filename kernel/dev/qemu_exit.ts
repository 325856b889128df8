// Leaving the machine: poweroff and panic through QEMU's isa-debug-exit device.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, dx, eax, ebx, L, constant } from '../../toolchain/x86/operands.ts';
import { COM1, LSR_TEMT, UART_LSR } from '../../boot/serial16.ts';
import { serial_newline, serial_puts } from './serial.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { say } from '../lib/print.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const panic = sym('panic');
export const poweroff = sym('poweroff');

export const DEBUG_EXIT_PORT = constant('DEBUG_EXIT_PORT', 0xf4, 'isa-debug-exit I/O port (QEMU -device isa-debug-exit,iobase=0xf4,iosize=0x04)');
export const EXIT_POWEROFF = constant('EXIT_POWEROFF', 0x10, 'written by poweroff: QEMU exits with status (0x10 << 1) | 1 = 33');
export const EXIT_PANIC = constant('EXIT_PANIC', 0x11, 'written by panic: QEMU exits with status (0x11 << 1) | 1 = 35');

export const qemuExit = defineModule({
  name: 'qemu_exit',
  title: 'poweroff and panic (QEMU isa-debug-exit)',
  about: `
A teaching kernel needs a way to stop that a test can observe.  QEMU's
isa-debug-exit device makes QEMU exit as soon as the guest writes a value v
to its port, with exit status (v << 1) | 1.  tskernel uses two values
(docs/design.md §4): poweroff writes 0x10 (status 33), panic writes 0x11 (status 35).
Without the device (another emulator, real hardware) the write does nothing,
so both routines then stop the CPU for good with cli; hlt.

Before the write, both wait for LSR.TEMT (Transmitter Empty): THRE only
says the UART can take another byte, while up to 16 bytes may still sit
in its transmit FIFO and one in the shift register.  Switching off then
would cut the last line short - on a real PC as under QEMU, whose UART
hands a byte to the host only when the host can take it (a busy terminal
or test harness).  With no UART, LSR reads as FFh and the wait ends at once.

  poweroff                      prints "[tsk] poweroff", never returns
  panic     EAX = message       prints "[panic] <message>", never returns`,
  spec: ['QEMU hw/misc/debugexit.c: isa-debug-exit (iobase, iosize; exit code (val << 1) | 1)'],
  emit(a) {
    a.label(poweroff);
    say(a, a.cstr('[tsk] poweroff\r\n'));
    a.mov(eax, EXIT_POWEROFF);
    a.jmp(L('.exit'));
    a.label('.exit');
    a.mov(ebx, eax, 'keep the exit value: in al, dx overwrites AL');
    a.mov(dx, COM1.add(UART_LSR));
    a.label('.drain');
    a.in(al, dx);
    a.test(al, LSR_TEMT, 'has the last byte left the UART?');
    a.jz(L('.drain'));
    a.mov(eax, ebx);
    a.mov(dx, DEBUG_EXIT_PORT);
    a.out(dx, eax, 'QEMU exits here');
    a.label('.halt');
    a.cli('not under QEMU: stop for good');
    a.hlt();
    a.jmp(L('.halt'));

    a.label(panic);
    a.cli('nothing may run after a panic');
    a.mov(ebx, eax);
    say(a, a.cstr('[panic] '));
    a.mov(eax, ebx);
    a.call(serial_puts);
    a.call(serial_newline);
    a.mov(eax, EXIT_PANIC);
    a.jmp(L('poweroff.exit'));
  },
});
