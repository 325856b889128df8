// COM1 in protected mode: the kernel's console.
import { defineModule } from '../toolchain/x86/asm.ts';
import { type Expr, al, cl, dl, dx, eax, ebx, ecx, edx, esi, L, byte, chr } from '../toolchain/x86/operands.ts';
import {
  COM1, FCR_ENABLE_CLEAR_14, LCR_8N1, LCR_DLAB, LSR_THRE, MCR_DTR_RTS_OUT2, UART_DIVISOR_115200, UART_DLL, UART_DLM, UART_FCR,
  UART_IER, UART_LCR, UART_LSR, UART_MCR, UART_THR,
} from '../boot/serial16.ts';

export const serial = defineModule({
  name: 'serial',
  title: 'The 16550 UART on COM1: the kernel console (output)',
  about: `
All kernel output goes to COM1 as lines "[subsystem] message" - the test
harness reads them from QEMU's serial port.  serial_init programs the UART
the same way the boot stages did (115200 baud, 8N1, FIFOs on), because the
kernel must not depend on what an earlier stage left behind.  Output is
polled: wait for LSR.THRE, then write THR.

Routines (kernel calling convention: arguments in EAX, EDX, ECX; EBX, ESI,
EDI, EBP preserved; EAX, ECX, EDX may be clobbered):
  serial_init
  serial_putc        AL = byte
  serial_puts        EAX = NUL-terminated string
  serial_put_hex32   EAX = value, 8 hex digits (no 0x)
  serial_put_hex8    AL = value, 2 hex digits
  serial_put_dec     EAX = unsigned value in decimal
  serial_put_int     EAX = signed value in decimal
  serial_put_hex     EAX = value as 0x and hex digits, no leading zeros
  serial_newline     CR LF`,
  spec: ['TI PC16550D data sheet: registers (Table 2), LSR bit 5 THRE, divisor latch'],
  emit(a) {
    const out = (reg: Expr, value: Expr, why: string) => {
      a.mov(dx, COM1.add(reg));
      a.mov(al, value);
      a.out(dx, al, why);
    };
    a.label('serial_init');
    out(UART_IER, 0, 'IER = 0: polled output; serial input enables its interrupt later');
    out(UART_LCR, LCR_DLAB, 'DLAB = 1: registers 0 and 1 address the divisor latch');
    out(UART_DLL, UART_DIVISOR_115200, 'divisor low byte');
    out(UART_DLM, 0, 'divisor high byte');
    out(UART_LCR, LCR_8N1, 'DLAB = 0, 8 data bits, no parity, 1 stop bit');
    out(UART_FCR, FCR_ENABLE_CLEAR_14, 'FIFOs on and cleared');
    out(UART_MCR, MCR_DTR_RTS_OUT2, 'DTR, RTS, and OUT2 (which gates the IRQ line on PCs)');
    a.ret();

    a.label('serial_putc', 'AL = byte');
    a.mov(ecx, eax, 'keep the byte: in al, dx overwrites AL');
    a.mov(dx, COM1.add(UART_LSR));
    a.label('.wait');
    a.in(al, dx);
    a.test(al, LSR_THRE, 'transmitter holding register empty?');
    a.jz(L('.wait'));
    a.mov(eax, ecx);
    a.mov(dx, COM1.add(UART_THR));
    a.out(dx, al);
    a.ret();

    a.label('serial_puts', 'EAX = NUL-terminated string');
    a.push(ebx);
    a.mov(ebx, eax);
    a.label('.next');
    a.mov(al, byte(ebx));
    a.test(al, al);
    a.jz(L('.done'));
    a.call(L('serial_putc'));
    a.inc(ebx);
    a.jmp(L('.next'));
    a.label('.done');
    a.pop(ebx);
    a.ret();

    a.label('serial_newline');
    a.mov(al, 13);
    a.call(L('serial_putc'));
    a.mov(al, 10);
    a.jmp(L('serial_putc'), 'tail call');

    a.label('serial_put_hex32', 'EAX = value');
    a.push(ebx);
    a.mov(ebx, eax);
    a.mov(eax, ebx); a.shr(eax, 24); a.call(L('serial_put_hex8'));
    a.mov(eax, ebx); a.shr(eax, 16); a.call(L('serial_put_hex8'));
    a.mov(eax, ebx); a.shr(eax, 8); a.call(L('serial_put_hex8'));
    a.mov(eax, ebx); a.call(L('serial_put_hex8'));
    a.pop(ebx);
    a.ret();

    a.label('serial_put_hex8', 'AL = value');
    a.push(ebx);
    a.mov(ebx, eax);
    a.shr(al, 4);
    a.call(L('.nibble'));
    a.mov(eax, ebx);
    a.and(al, 0x0f);
    a.call(L('.nibble'));
    a.pop(ebx);
    a.ret();
    a.label('.nibble');
    a.add(al, chr('0'));
    a.cmp(al, chr('9'));
    a.jbe(L('serial_putc'));
    a.add(al, 7, "skip to 'A'");
    a.jmp(L('serial_putc'));

    a.label('serial_put_dec', 'EAX = unsigned value');
    a.push(ebx);
    a.push(0, 'sentinel: digits are pushed in reverse, 0 marks the end');
    a.mov(ebx, 10);
    a.label('.divide');
    a.xor(edx, edx);
    a.div(ebx, 'EAX = quotient, EDX = next digit (least significant first)');
    a.add(dl, chr('0'));
    a.push(edx);
    a.test(eax, eax);
    a.jnz(L('.divide'));
    a.label('.print');
    a.pop(eax);
    a.test(eax, eax);
    a.jz(L('.done'));
    a.call(L('serial_putc'));
    a.jmp(L('.print'));
    a.label('.done');
    a.pop(ebx);
    a.ret();

    a.label('serial_put_hex', 'EAX = value: "0x" and its hex digits without leading zeros');
    a.push(ebx);
    a.push(esi);
    a.mov(ebx, eax);
    a.mov(al, chr('0'));
    a.call(L('serial_putc'));
    a.mov(al, chr('x'));
    a.call(L('serial_putc'));
    a.mov(esi, 28, 'ESI = shift of the current digit, from the top');
    a.label('.skip');
    a.test(esi, esi);
    a.jz(L('.digit'), 'the last digit is printed even when 0');
    a.mov(eax, ebx);
    a.mov(ecx, esi);
    a.shr(eax, cl);
    a.test(al, 0x0f);
    a.jnz(L('.digit'));
    a.sub(esi, 4, 'a leading zero: skip it');
    a.jmp(L('.skip'));
    a.label('.digit');
    a.mov(eax, ebx);
    a.mov(ecx, esi);
    a.shr(eax, cl);
    a.and(al, 0x0f);
    a.call(L('serial_put_hex8.nibble'));
    a.sub(esi, 4);
    a.jns(L('.digit'));
    a.pop(esi);
    a.pop(ebx);
    a.ret();

    a.label('serial_put_int', 'EAX = signed value: "-" and the magnitude when negative');
    a.test(eax, eax);
    a.jns(L('serial_put_dec'));
    a.push(eax);
    a.mov(al, chr('-'));
    a.call(L('serial_putc'));
    a.pop(eax);
    a.neg(eax, 'two\'s complement: the magnitude (0x80000000 stays itself, read unsigned: 2147483648)');
    a.jmp(L('serial_put_dec'));
  },
});
