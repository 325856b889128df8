// Serial input: the UART's receive interrupt (IRQ4) fills a ring buffer,
// with flow control so that no received byte is ever dropped.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, ah, cl, dx, eax, ecx, edx, esp, L, byte, dword, mem, constant, chr } from '../../toolchain/x86/operands.ts';
import { COM1, LSR_THRE, MCR_DTR_RTS_OUT2, UART_IER, UART_LSR, UART_MCR, UART_THR } from '../../boot/serial16.ts';
import { proc_table } from '../proc/proc.ts';
import { proc_interrupt } from '../proc/exit.ts';
import { forEachProc } from '../proc/iter.ts';
import { PROC, PS_WAIT_EXIT, PS_WAIT_INPUT } from '../proc/table.ts';
import { irq_register, pic_unmask } from './pic.ts';
import { pit_hz } from './pit.ts';
import { need_resched, sched_block } from '../proc/sched.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { ASCII_CR, ASCII_ETX, ASCII_LF } from '../lib/ascii.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const rx_buf = sym('rx_buf');
const rx_discarding = sym('rx_discarding');
export const rx_head = sym('rx_head');
export const rx_held = sym('rx_held');
const rx_hold_ticks = sym('rx_hold_ticks');
const rx_holding = sym('rx_holding');
const rx_lost_at = sym('rx_lost_at');
const rx_lost_pending = sym('rx_lost_pending');
export const rx_overflow = sym('rx_overflow');
export const rx_tail = sym('rx_tail');
export const uart_getc = sym('uart_getc');
const uart_irq = sym('uart_irq');
const uart_note_loss = sym('uart_note_loss');
export const uart_overrun_demo = sym('uart_overrun_demo');
export const uart_rx_init = sym('uart_rx_init');
export const uart_rx_tick = sym('uart_rx_tick');
const uart_try_getc = sym('uart_try_getc');
const uart_wake_reader = sym('uart_wake_reader');


export const UART_RBR = constant('UART_RBR', 0, '16550 register 0 (DLAB=0, read): Receiver Buffer Register');
export const IER_ERBFI = constant('IER_ERBFI', 0x01, 'IER bit 0 (ERBFI): interrupt when received data is available');
export const LSR_DR = constant('LSR_DR', 0x01, 'LSR bit 0: Data Ready - RBR (or the RX FIFO) holds a byte');
export const LSR_OE = constant('LSR_OE', 0x02, 'LSR bit 1: Overrun Error - a byte arrived with the RX FIFO full and was lost');
export const IRQ_COM1 = constant('IRQ_COM1', 4, 'COM1 is wired to IRQ4 (vector 36 after the remap)');
export const RX_BUF_SIZE = constant('RX_BUF_SIZE', 256, 'bytes in the receive ring buffer (a power of two: index & (size - 1))', { radix: 10 });
export const RX_RESUME = constant('RX_RESUME', 128, 'flow control: receiving resumes once fewer than this many bytes wait in the ring', { radix: 10 });
export const MCR_LOOP = constant('MCR_LOOP', 0x10, 'MCR bit 4: loopback - the transmitter feeds the receiver, nothing reaches the line');
export const UART_FIFO_SIZE = constant('UART_FIFO_SIZE', 16, 'bytes in the 16550 receive FIFO');
export const OVERRUN_DEMO_BYTES = constant('OVERRUN_DEMO_BYTES', 20, 'uart_overrun_demo sends this many bytes: 4 more than the RX FIFO holds', { radix: 10 });
export const RX_HOLD_SECONDS = constant('RX_HOLD_SECONDS', 5, 'while the shell waits for programs, input is held at most this long without one of them taking a byte', { radix: 10 });
export const RX_LOST = constant('RX_LOST', -2, 'uart_try_getc / uart_getc result: input was lost at this point (a hardware overrun)');

export const uartRx = defineModule({
  name: 'uart_rx',
  title: 'Serial input: IRQ4, a ring buffer and flow control',
  about: `
With IER.ERBFI set the UART raises IRQ4 when received bytes are waiting;
the PIC delivers it as vector 36.  uart_irq drains the RX FIFO (while
LSR.DR says a byte is there) into a 256-byte ring buffer: rx_head is where
the interrupt writes, rx_tail where readers take, and the buffer is empty
when they are equal (so it holds at most 255 bytes).  The index arithmetic
is masked to the buffer size, so no input, however fast or long, can write
outside it.

Flow control: nothing is dropped when the ring is full.  A reader (the
shell, or a program in read()) may be slow or busy - a paste of a megabyte
arrives far faster than a shell can answer commands.  So uart_irq looks at
the ring *before* it takes a byte from RBR: when the ring is full it leaves
the byte in the UART and clears IER.ERBFI ("input held").  The UART then
keeps its FIFO (16 bytes) and raises no more receive interrupts.  Once a
reader has taken enough (fewer than RX_RESUME bytes left), uart_try_getc
sets ERBFI again and receiving resumes.  rx_overflow (bytes known lost)
therefore stays 0 as long as someone reads; rx_held counts how often input
was held.

Held, but not forever.  While the shell is the reader it always gets to
the bytes, so input is held as long as needed.  While the shell waits for
foreground programs, one of them must read - a program that never does
(run loop) would otherwise leave the console stuck: the Ctrl-C meant to
stop it waits behind the held bytes, and so does QEMU's own Ctrl-A x (its
multiplexer stops reading the terminal when the UART has no room).  So
uart_rx_tick, called on every timer tick, gives up after RX_HOLD_SECONDS
without a byte taken: it sets ERBFI again in "discard" mode, and uart_irq
reads on, handling Ctrl-C and dropping what does not fit - counted in
rx_overflow and reported to the reader as a loss (below).  Discard mode
ends at a Ctrl-C (what follows it is for the shell, and is held again), when
the shell stops waiting, or when a reader takes a byte.

Where do the bytes wait meanwhile?  On real hardware clearing ERBFI only
silences the interrupt: the other end keeps sending, the FIFO fills and the
UART sets LSR.OE (overrun) - real hardware needs the other end to pause too
(RTS/CTS handshake on MCR.RTS, or XON/XOFF).  QEMU's 16550 asks its
character backend only for as many bytes as its FIFO has room for
(serial_can_receive), so with the FIFO full the rest simply stays in the
host's pipe or terminal - QEMU's own flow control, no byte lost.  If the
UART ever reports an overrun (LSR.OE seen here), the loss is counted in
rx_overflow and remembered at its place in the ring: the reader gets
RX_LOST (-2) there, and the shell says "input overrun" and discards that
line instead of gluing two half lines into one command.  (serial_putc also
reads LSR, and reading LSR clears OE, so an overrun that happens while the
kernel is printing may go unseen; with QEMU's flow control none happens.)

Why not simply stop draining after N bytes and return with data still in
the FIFO?  Because the 8259A is programmed edge-triggered (ICW1 bit 3 = 0):
it latches a request on the *rising* edge of IRQ4.  The UART's line stays
high while data is pending, so after the EOI there is no new edge, IRQ4 is
never requested again, and input stops for good.  Toggling ERBFI avoids
that: clearing it drops the line (the 16550 drives the interrupt only for
enabled causes); setting it again with data pending raises the line anew -
a fresh edge, a new IRQ4.  (QEMU 7.2, hw/char/serial.c: a write to IER
that changes it calls serial_update_irq, which raises the line if an
enabled cause is pending: received data at the FIFO trigger level, or the
character timeout.)

The shell's "uart overrun" makes the UART lose bytes on purpose, to show
(and test) that path: with interrupts off it puts the UART in loopback mode
(MCR bit 4 - the transmitter feeds the receiver), sends 20 bytes into the
16-byte RX FIFO, and collects LSR.OE from its LSR reads.  The FIFO keeps
the first 16 and the UART flags the overrun; back in normal mode the
interrupt takes those 16, and the next line the shell reads is discarded.

A byte that arrives while a process waits for input wakes it at once:
uart_irq sets need_resched when someone is in "waiting for input", so a
program busy in ring 3 gives up the CPU on the way back from the interrupt
instead of at the end of its quantum - typing stays responsive, and a paste
is read at the speed of the reader, not one ring per timer tick.

One byte is not input: Ctrl-C (03h, ETX) makes the interrupt handler call
proc_interrupt, which stops every user program - the way out of a program
that never ends, since the kernel task (the shell) is waiting for it.  It
takes its place in line: while input is held, a Ctrl-C still in the UART
or the host waits behind the bytes before it until a reader makes room -
or, if the shell waits for programs that do not read, until discard mode
(above) reaches it.

uart_try_getc returns EAX = the next byte, RX_LOST, or -1 at once;
uart_getc waits for a byte: it blocks the current process in state
"waiting for input", and the scheduler (which checks "head != tail"
itself, with interrupts off) runs it again once a byte is there - so a byte
that arrives between the check and the block is not missed.  read(0, ...)
from ring 3 waits the same way.`,
  spec: [
    'TI PC16550D data sheet: IER bit 0 (ERBFI), LSR bits 0 (DR) and 1 (OE), RBR, FIFO trigger level and character timeout, INTRPT output',
    'Intel 8259A data sheet: ICW1 LTIM = 0 - edge-triggered mode (a request is the rising edge of IR)',
    'QEMU 7.2 hw/char/serial.c: serial_ioport_write (IER), serial_update_irq, serial_can_receive',
    'IBM PC/AT: COM1 on IRQ4',
  ],
  emit(a) {
    a.bss(rx_buf, RX_BUF_SIZE, 4, 'receive ring buffer');
    a.bss(rx_head, 4, 4, 'next slot the interrupt writes');
    a.bss(rx_tail, 4, 4, 'next slot uart_getc reads');
    a.bss(rx_overflow, 4, 4, 'bytes known lost (UART overrun); 0 with flow control');
    a.bss(rx_held, 4, 4, 'times input was held (ERBFI cleared) because the ring was full');
    a.bss(rx_holding, 4, 4, '1 while input is held: ERBFI clear, bytes wait in the UART (and the host)');
    a.bss(rx_discarding, 4, 4, '1: held too long with nobody reading - take bytes anyway, drop what does not fit');
    a.bss(rx_hold_ticks, 4, 4, 'ticks input has been held while the shell waits for programs, since a byte was last taken');
    a.bss(rx_lost_pending, 4, 4, '1 when a loss is to be reported to the reader at rx_lost_at');
    a.bss(rx_lost_at, 4, 4, 'ring index where input was lost');

    a.routine({
      name: uart_rx_init, does: 'route IRQ4 to uart_irq and enable the UART\'s receive interrupt',
      clobbers: [eax, ecx, edx],
    }, () => {
      a.mov(eax, IRQ_COM1);
      a.mov(edx, uart_irq);
      a.call(irq_register);
      a.mov(dx, COM1.add(UART_IER));
      a.mov(al, IER_ERBFI);
      a.out(dx, al, 'IER: interrupt on received data');
      a.mov(eax, IRQ_COM1);
      a.jmp(pic_unmask, 'tail call: let IRQ4 through');
    });

    a.section('uart_irq: IRQ4 handler (EAX = trap frame); pic_irq sends the EOI');
    a.label(uart_irq);
    a.push(eax, 'keep the frame for proc_interrupt');
    a.label('.drain');
    a.mov(dx, COM1.add(UART_LSR));
    a.in(al, dx);
    a.test(al, LSR_OE);
    a.jz(L('.no_overrun'));
    a.call(uart_note_loss, 'the UART lost a byte before we could take it');
    a.label('.no_overrun');
    a.test(al, LSR_DR);
    a.jz(L('.done'), 'FIFO empty');
    a.mov(ecx, dword(rx_head));
    a.lea(edx, mem(ecx, 1));
    a.and(edx, RX_BUF_SIZE.sub(1), 'EDX = slot after head');
    a.cmp(edx, dword(rx_tail));
    a.je(L('.full'), 'look before taking: a byte left in the UART is not lost');
    a.push(edx);
    a.mov(dx, COM1.add(UART_RBR));
    a.in(al, dx, 'reading RBR takes the byte (QEMU refills the FIFO from the host)');
    a.pop(edx);
    a.cmp(al, ASCII_ETX);
    a.jne(L('.store'));
    a.label('.ctrl_c');
    a.mov(dword(rx_discarding), 0, 'what follows a Ctrl-C is for the shell: hold it again, drop nothing');
    a.mov(eax, dword(esp), 'the trap frame');
    a.call(proc_interrupt, 'Ctrl-C: stop the user programs (it is not input)');
    a.jmp(L('.drain'));
    a.label('.store');
    a.mov(byte({ base: ecx, disp: rx_buf }), al);
    a.mov(dword(rx_head), edx);
    a.call(uart_wake_reader);
    a.jmp(L('.drain'));
    a.label('.full');
    a.cmp(dword(rx_discarding), 0);
    a.je(L('.hold'));
    a.cmp(dword(proc_table.add(PROC.f.state)), PS_WAIT_EXIT);
    a.je(L('.discard'));
    a.mov(dword(rx_discarding), 0, 'the shell reads again (a Ctrl-C just ended its program): keep the rest');
    a.jmp(L('.hold'));
    a.label('.discard');
    a.mov(dx, COM1.add(UART_RBR));
    a.in(al, dx, 'discard mode: take the byte although there is no room ...');
    a.cmp(al, ASCII_ETX);
    a.je(L('.ctrl_c'), '... so that a Ctrl-C gets through');
    a.call(uart_note_loss, 'this byte is lost: count it, mark the place');
    a.jmp(L('.drain'));
    a.label('.hold');
    a.comment('Flow control: hold input until a reader makes room (uart_try_getc resumes it).');
    a.mov(dx, COM1.add(UART_IER));
    a.xor(al, al);
    a.out(dx, al, 'IER.ERBFI = 0: the UART drops IRQ4 and keeps its bytes; QEMU stops reading the host');
    a.mov(dword(rx_holding), 1);
    a.mov(dword(rx_hold_ticks), 0);
    a.inc(dword(rx_held));
    a.label('.done');
    a.pop(eax);
    a.ret();

    a.routine({
      name: uart_note_loss, does: 'count a lost byte and mark where it was lost (interrupts off)',
      clobbers: [ecx],
    }, (r) => {
      a.inc(dword(rx_overflow), 'at least one byte');
      a.cmp(dword(rx_lost_pending), 0);
      a.jne(L('.out'), 'an earlier loss is not reported yet: that line is discarded anyway');
      a.mov(ecx, dword(rx_head));
      a.mov(dword(rx_lost_at), ecx, 'the reader learns of it when it gets here');
      a.mov(dword(rx_lost_pending), 1);
      a.label('.out');
      r.ret();
    });

    a.routine({
      name: uart_wake_reader, does: 'a byte arrived: if a process waits for input, ask for a reschedule',
      clobbers: [ecx],
    }, (r) => {
      forEachProc(a, ecx, () => {
        a.cmp(dword(ecx, PROC.f.state), PS_WAIT_INPUT);
        a.je(L('.found'));
      });
      r.ret();
      a.label('.found');
      a.mov(dword(need_resched), 1, 'a ring-3 program yields on the way back (sched_trap_exit); the scheduler wakes the reader');
      r.ret();
    });

    a.routine({
      name: uart_rx_tick, does: 'on every timer tick (interrupts off): stop holding input nobody will read',
      clobbers: [eax, ecx, edx],
    }, (r) => {
      a.cmp(dword(rx_holding), 0);
      a.je(L('.reset'));
      a.cmp(dword(rx_discarding), 0);
      a.jne(L('.out'), 'already reading on');
      a.cmp(dword(proc_table.add(PROC.f.state)), PS_WAIT_EXIT);
      a.jne(L('.reset'), 'the kernel task (the shell) is not waiting for programs: it is the reader, it will take the bytes');
      a.inc(dword(rx_hold_ticks));
      a.mov(eax, dword(pit_hz));
      a.mov(ecx, RX_HOLD_SECONDS);
      a.mul(ecx, 'EAX = ticks in RX_HOLD_SECONDS (EDX = 0)');
      a.cmp(dword(rx_hold_ticks), eax);
      a.jb(L('.out'));
      a.mov(dword(rx_discarding), 1, 'no program has taken a byte for RX_HOLD_SECONDS: read on, drop what does not fit');
      a.mov(dx, COM1.add(UART_IER));
      a.mov(al, IER_ERBFI);
      a.out(dx, al, 'ERBFI on: with data pending the UART raises IRQ4 - a fresh edge');
      r.ret();
      a.label('.reset');
      a.mov(dword(rx_hold_ticks), 0);
      a.label('.out');
      r.ret();
    });

    a.routine({
      name: uart_overrun_demo, does: 'overrun the RX FIFO in loopback mode, as the shell\'s uart command shows',
      out: { eax: '1 if the UART reported the overrun (LSR.OE), else 0' }, clobbers: [ecx, edx],
    }, (r) => {
      a.pushfd();
      a.cli('no interrupt may take bytes from the FIFO meanwhile');
      a.mov(dx, COM1.add(UART_MCR));
      a.mov(al, MCR_DTR_RTS_OUT2.or(MCR_LOOP));
      a.out(dx, al, 'loopback on: what we send is received, nothing goes out');
      a.xor(ah, ah, 'AH = LSR bits seen (reading LSR clears OE, so collect every read)');
      a.mov(ecx, OVERRUN_DEMO_BYTES);
      a.label('.send');
      a.mov(dx, COM1.add(UART_LSR));
      a.label('.wait');
      a.in(al, dx);
      a.or(ah, al);
      a.test(al, LSR_THRE);
      a.jz(L('.wait'));
      a.mov(dx, COM1.add(UART_THR));
      a.mov(al, chr('x'));
      a.out(dx, al, 'once the RX FIFO holds 16 bytes, the next received byte is an overrun');
      a.dec(ecx);
      a.jnz(L('.send'));
      a.mov(dx, COM1.add(UART_LSR));
      a.in(al, dx, 'the last byte\'s overrun');
      a.or(ah, al);
      a.mov(cl, ah, 'CL = LSR bits seen (ECX was 0)');
      a.mov(dx, COM1.add(UART_MCR));
      a.mov(al, MCR_DTR_RTS_OUT2);
      a.out(dx, al, 'loopback off: back on the line');
      a.xor(eax, eax);
      a.test(cl, LSR_OE);
      a.jz(L('.out'));
      a.call(uart_note_loss, 'what uart_irq does when it sees LSR.OE');
      a.mov(eax, 1);
      a.label('.out');
      a.popfd('the interrupt now takes the 16 bytes the FIFO kept');
      r.ret();
    });

    a.routine({
      name: uart_try_getc, does: 'take the next received byte, if any (does not wait)',
      out: { eax: 'the byte, RX_LOST where input was lost, or -1 if none' }, clobbers: [ecx, edx],
    }, (r) => {
      a.pushfd();
      a.cli('look at head and tail without the interrupt changing them meanwhile');
      a.mov(ecx, dword(rx_tail));
      a.cmp(dword(rx_lost_pending), 0);
      a.je(L('.take'));
      a.cmp(ecx, dword(rx_lost_at));
      a.jne(L('.take'));
      a.mov(dword(rx_lost_pending), 0);
      a.mov(eax, RX_LOST, 'input was lost here: tell the reader before the bytes after the gap');
      a.jmp(L('.out'));
      a.label('.take');
      a.mov(eax, -1);
      a.cmp(ecx, dword(rx_head));
      a.je(L('.out'), 'empty');
      a.movzx(eax, byte({ base: ecx, disp: rx_buf }));
      a.inc(ecx);
      a.and(ecx, RX_BUF_SIZE.sub(1));
      a.mov(dword(rx_tail), ecx);
      a.mov(dword(rx_hold_ticks), 0, 'a reader took a byte: progress');
      a.mov(dword(rx_discarding), 0, 'and there is room again: back to holding when full');
      a.cmp(dword(rx_holding), 0);
      a.je(L('.out'));
      a.mov(edx, dword(rx_head));
      a.sub(edx, ecx);
      a.and(edx, RX_BUF_SIZE.sub(1), 'EDX = bytes still waiting in the ring');
      a.cmp(edx, RX_RESUME);
      a.jae(L('.out'), 'still well filled: resume later, so each interrupt brings many bytes');
      a.mov(dword(rx_holding), 0);
      a.push(eax);
      a.mov(dx, COM1.add(UART_IER));
      a.mov(al, IER_ERBFI);
      a.out(dx, al, 'IER.ERBFI = 1 again: with data pending the UART raises IRQ4 anew - a fresh edge for the 8259A');
      a.pop(eax);
      a.label('.out');
      a.popfd();
      r.ret();
    });

    a.routine({
      name: uart_getc, does: 'wait for the next received byte (the process blocks meanwhile)',
      out: { eax: 'the byte, or RX_LOST where input was lost' }, clobbers: [ecx, edx],
    }, (r) => {
      a.loop_((loop) => {
        a.call(uart_try_getc);
        a.cmp(eax, -1);
        loop.break_('ne');
        a.mov(eax, PS_WAIT_INPUT);
        a.xor(edx, edx);
        a.call(sched_block, 'the scheduler wakes us when a byte is in the buffer');
      });
      r.ret();
    });
  },
});
