// Serial input: the UART's receive interrupt (IRQ4) fills a ring buffer.
import { defineModule } from '../toolchain/x86/asm.ts';
import { al, dx, eax, ecx, edx, esp, L, byte, dword, mem, constant } from '../toolchain/x86/operands.ts';
import { COM1, UART_IER, UART_LSR } from '../boot/serial16.ts';
import { PS_WAIT_INPUT } from './proc.ts';

export const ASCII_ETX = constant('ASCII_ETX', 0x03, 'Ctrl-C (end of text): stops the user programs instead of being input');

export const UART_RBR = constant('UART_RBR', 0, '16550 register 0 (DLAB=0, read): Receiver Buffer Register');
export const IER_ERBFI = constant('IER_ERBFI', 0x01, 'IER bit 0: interrupt when received data is available');
export const LSR_DR = constant('LSR_DR', 0x01, 'LSR bit 0: Data Ready - RBR (or the RX FIFO) holds a byte');
export const IRQ_COM1 = constant('IRQ_COM1', 4, 'COM1 is wired to IRQ4 (vector 36 after the remap)');
export const RX_BUF_SIZE = constant('RX_BUF_SIZE', 256, 'bytes in the receive ring buffer (a power of two: index & (size - 1))');

export const uartRx = defineModule({
  name: 'uart_rx',
  title: 'Serial input: IRQ4 and a ring buffer',
  about: `
With IER.ERBFI set the UART raises IRQ4 when received bytes are waiting;
the PIC delivers it as vector 36.  uart_irq drains the RX FIFO (while
LSR.DR says a byte is there) into a 256-byte ring buffer: rx_head is where
the interrupt writes, rx_tail where readers take, and the buffer is empty
when they are equal.  When it is full the byte is dropped and rx_overflow
counted - the index arithmetic is masked to the buffer size, so no input,
however fast or long, can write outside it.

One byte is not input: Ctrl-C (03h, ETX) makes the interrupt handler call
proc_interrupt, which stops every user program - the way out of a program
that never ends, since the kernel task (the shell) is waiting for it.

uart_try_getc returns EAX = the next byte or -1 at once; uart_getc waits
for one: it blocks the current process in state "waiting for input", and
the scheduler (which checks "head != tail" itself, with interrupts off)
runs it again once a byte is there - so a byte that arrives between the
check and the block is not missed.  read(0, ...) from ring 3 waits the
same way.`,
  spec: ['TI PC16550D data sheet: IER bit 0, LSR bit 0, RBR', 'IBM PC/AT: COM1 on IRQ4'],
  emit(a) {
    a.bss('rx_buf', 256, 4, 'receive ring buffer');
    a.bss('rx_head', 4, 4, 'next slot the interrupt writes');
    a.bss('rx_tail', 4, 4, 'next slot uart_getc reads');
    a.bss('rx_overflow', 4, 4, 'bytes dropped because the buffer was full');

    a.label('uart_rx_init');
    a.mov(eax, IRQ_COM1);
    a.mov(edx, L('uart_irq'));
    a.call(L('irq_register'));
    a.mov(dx, COM1.add(UART_IER));
    a.mov(al, IER_ERBFI);
    a.out(dx, al, 'IER: interrupt on received data');
    a.mov(eax, IRQ_COM1);
    a.jmp(L('pic_unmask'), 'tail call: let IRQ4 through');

    a.section('uart_irq: IRQ4 handler (EAX = trap frame); pic_irq sends the EOI');
    a.label('uart_irq');
    a.push(eax, 'keep the frame for proc_interrupt');
    a.label('.drain');
    a.mov(dx, COM1.add(UART_LSR));
    a.in(al, dx);
    a.test(al, LSR_DR);
    a.jz(L('.done'), 'FIFO empty');
    a.mov(dx, COM1.add(UART_RBR));
    a.in(al, dx, 'reading RBR takes the byte and clears the interrupt');
    a.cmp(al, ASCII_ETX);
    a.jne(L('.store'));
    a.push(eax);
    a.mov(eax, dword(esp, 4), 'the trap frame');
    a.call(L('proc_interrupt'), 'Ctrl-C: stop the user programs (it is not input)');
    a.pop(eax);
    a.jmp(L('.drain'));
    a.label('.store');
    a.mov(ecx, dword(L('rx_head')));
    a.lea(edx, mem(ecx, 1));
    a.and(edx, RX_BUF_SIZE.sub(1), 'EDX = slot after head');
    a.cmp(edx, dword(L('rx_tail')));
    a.je(L('.full'));
    a.mov(byte({ base: ecx, disp: L('rx_buf') }), al);
    a.mov(dword(L('rx_head')), edx);
    a.jmp(L('.drain'));
    a.label('.full');
    a.inc(dword(L('rx_overflow')), 'drop the byte, count it');
    a.jmp(L('.drain'));
    a.label('.done');
    a.pop(eax);
    a.ret();

    a.section('uart_try_getc: EAX = next received byte, or -1 if none (does not wait)');
    a.label('uart_try_getc');
    a.pushfd();
    a.cli('look at head and tail without the interrupt changing them meanwhile');
    a.mov(eax, -1);
    a.mov(ecx, dword(L('rx_tail')));
    a.cmp(ecx, dword(L('rx_head')));
    a.je(L('.out'), 'empty');
    a.movzx(eax, byte({ base: ecx, disp: L('rx_buf') }));
    a.inc(ecx);
    a.and(ecx, RX_BUF_SIZE.sub(1));
    a.mov(dword(L('rx_tail')), ecx);
    a.label('.out');
    a.popfd();
    a.ret();

    a.section('uart_getc: EAX = next received byte (waits)');
    a.label('uart_getc');
    a.call(L('uart_try_getc'));
    a.test(eax, eax);
    a.jns(L('.done'));
    a.mov(eax, PS_WAIT_INPUT);
    a.xor(edx, edx);
    a.call(L('sched_block'), 'the scheduler wakes us when a byte is in the buffer');
    a.jmp(L('uart_getc'));
    a.label('.done');
    a.ret();
  },
});
