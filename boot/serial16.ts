// Polled serial output for real mode: the boot sector and stage 2 each link
// this module, so every boot stage can say what it is doing on COM1.
import { defineModule } from '../toolchain/x86/asm.ts';
import { ah, al, ax, dx, eax, L, constant, chr } from '../toolchain/x86/operands.ts';
import { sym } from '../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const newline = sym('newline');
export const put_hex16 = sym('put_hex16');
export const put_hex8 = sym('put_hex8');
export const putc = sym('putc');
export const puts = sym('puts');
export const serial16_init = sym('serial16_init');

export const COM1 = constant('COM1', 0x3f8, 'I/O base of the first serial port (IBM PC/AT assignment)');
export const UART_THR = constant('UART_THR', 0, '16550 register 0 (DLAB=0, write): Transmitter Holding Register');
export const UART_DLL = constant('UART_DLL', 0, '16550 register 0 (DLAB=1): Divisor Latch, low byte');
export const UART_IER = constant('UART_IER', 1, '16550 register 1 (DLAB=0): Interrupt Enable Register');
export const UART_DLM = constant('UART_DLM', 1, '16550 register 1 (DLAB=1): Divisor Latch, high byte');
export const UART_FCR = constant('UART_FCR', 2, '16550 register 2 (write): FIFO Control Register');
export const UART_LCR = constant('UART_LCR', 3, '16550 register 3: Line Control Register');
export const UART_MCR = constant('UART_MCR', 4, '16550 register 4: Modem Control Register');
export const UART_LSR = constant('UART_LSR', 5, '16550 register 5: Line Status Register');
export const LCR_DLAB = constant('LCR_DLAB', 0x80, 'LCR bit 7: Divisor Latch Access Bit (registers 0/1 become the divisor)');
export const LCR_8N1 = constant('LCR_8N1', 0x03, 'LCR bits 1:0 = 11b: 8 data bits; bit 2 = 0: 1 stop bit; bit 3 = 0: no parity');
export const FCR_ENABLE_CLEAR_14 = constant('FCR_ENABLE_CLEAR_14', 0xc7, 'FCR: enable FIFOs (bit 0), clear RX/TX FIFOs (bits 1,2), RX trigger at 14 bytes (bits 7:6 = 11b)');
export const FCR_ENABLE_KEEP_RX_14 = constant('FCR_ENABLE_KEEP_RX_14', 0xc5, 'FCR: FIFOs stay on (bit 0), clear the TX FIFO (bit 2) but not the RX FIFO (bit 1 = 0: bytes typed during boot are input), RX trigger at 14 bytes');
export const MCR_DTR_RTS_OUT2 = constant('MCR_DTR_RTS_OUT2', 0x0b, 'MCR: DTR (bit 0), RTS (bit 1), OUT2 (bit 3; gates the UART interrupt line on PCs)');
export const LSR_THRE = constant('LSR_THRE', 0x20, 'LSR bit 5: Transmitter Holding Register Empty - the UART can take another byte');
export const LSR_TEMT = constant('LSR_TEMT', 0x40, 'LSR bit 6: Transmitter Empty - the FIFO and the shift register are both empty: every byte has left');
export const UART_DIVISOR_115200 = constant('UART_DIVISOR_115200', 1, 'baud divisor: 1.8432 MHz / (16 * 115200) = 1');

export const serial16 = defineModule({
  name: 'serial16',
  title: 'Polled COM1 output in real mode (16550 UART)',
  about: `
The 16550 UART is programmed through eight I/O ports starting at COM1 = 0x3F8.
We only transmit, and we poll: before each byte we wait until the Line Status
Register says the transmitter holding register is empty (LSR.THRE).  Polling
needs no interrupts, so it works in the boot sector, before any IDT exists.

Routines (16-bit, near calls; all preserve every register except as noted):
  serial16_init              (clobbers AX) 115200 baud, 8 data bits, no parity, 1 stop bit, FIFOs on
  putc      AL = byte        send one byte
  puts      DS:SI = string   send a NUL-terminated string (SI ends past the NUL)
  put_hex8  AL = value       two hex digits
  put_hex16 AX = value       four hex digits
  newline                    CR LF`,
  spec: [
    'TI PC16550D data sheet: register summary (Table 2), LSR bit 5, divisor latch (Table 3)',
  ],
  emit(a) {
    // 16-bit routines name 32-bit registers in clobbers: AX is EAX's low half, and real-mode code leaves the high halves alone.
    a.routine({ name: serial16_init, does: 'programs COM1 for 115200 baud, 8N1, FIFOs on', clobbers: [eax] }, (r) => {
      a.push(dx);
      a.mov(dx, COM1.add(UART_IER)); a.mov(al, 0); a.out(dx, al, 'IER = 0: no UART interrupts while we poll');
      a.mov(dx, COM1.add(UART_LCR)); a.mov(al, LCR_DLAB); a.out(dx, al, 'DLAB = 1: ports 0 and 1 now address the divisor latch');
      a.mov(dx, COM1.add(UART_DLL)); a.mov(al, UART_DIVISOR_115200); a.out(dx, al, 'divisor low byte');
      a.mov(dx, COM1.add(UART_DLM)); a.mov(al, 0); a.out(dx, al, 'divisor high byte');
      a.mov(dx, COM1.add(UART_LCR)); a.mov(al, LCR_8N1); a.out(dx, al, 'DLAB = 0 again, and set the frame format');
      a.mov(dx, COM1.add(UART_FCR)); a.mov(al, FCR_ENABLE_CLEAR_14); a.out(dx, al);
      a.mov(dx, COM1.add(UART_MCR)); a.mov(al, MCR_DTR_RTS_OUT2); a.out(dx, al);
      a.pop(dx);
      r.ret();
    });

    a.routine({ name: putc, does: 'sends one byte on COM1 (polled)', in: { al: 'the byte' } }, (r) => {
      a.push(dx); a.push(ax);
      a.mov(dx, COM1.add(UART_LSR));
      a.label('.wait');
      a.in(al, dx);
      a.test(al, LSR_THRE, 'room in the transmitter?');
      a.jz(L('.wait'), 'not yet: keep polling');
      a.pop(ax);
      a.mov(dx, COM1.add(UART_THR));
      a.out(dx, al);
      a.pop(dx);
      r.ret();
    });

    a.routine({
      name: puts, does: 'sends the NUL-terminated string at DS:SI', in: { si: 'the string (DS:SI)' }, out: { si: 'just past its NUL' },
    }, (r) => {
      a.push(ax);
      a.label('.next');
      a.lodsb('AL = [DS:SI], SI += 1 (DF is clear)');
      a.test(al, al);
      a.jz(L('.done'), 'NUL ends the string');
      a.call(putc);
      a.jmp(L('.next'));
      a.label('.done');
      a.pop(ax);
      r.ret();
    });

    a.comment('put_hex16 falls through into put_hex8 (no bytes to spare in the boot sector), so they stay plain labels');
    a.label(put_hex16, 'print AX as four hex digits');
    a.xchg(al, ah);
    a.call(put_hex8, 'high byte first');
    a.xchg(al, ah);
    a.label(put_hex8, 'print AL as two hex digits');
    a.push(ax);
    a.push(ax);
    a.shr(al, 4, 'high nibble');
    a.call(L('.nibble'));
    a.pop(ax);
    a.and(al, 0x0f, 'low nibble');
    a.call(L('.nibble'));
    a.pop(ax);
    a.ret();
    a.label('.nibble', 'AL = 0..15 -> ASCII 0-9, A-F');
    a.add(al, chr('0'));
    a.cmp(al, chr('9'));
    a.jbe(putc, 'tail call: putc returns for us');
    a.add(al, 'A'.charCodeAt(0) - '9'.charCodeAt(0) - 1, "skip the 7 characters between '9' and 'A'");
    a.jmp(putc);

    a.routine({ name: newline, does: 'sends CR LF' }, (r) => {
      a.push(ax);
      a.mov(al, 13); a.call(putc);
      a.mov(al, 10); a.call(putc);
      a.pop(ax);
      r.ret();
    });
  },
});
