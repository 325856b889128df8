// COM1 in protected mode: the kernel's console.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { type Expr, al, cl, dl, dx, eax, ebx, ecx, edx, esi, edi, ebp, esp, L, byte, dword, mem, constant, chr, dec } from '../../toolchain/x86/operands.ts';
import {
  COM1, FCR_ENABLE_KEEP_RX_14, LCR_8N1, LCR_DLAB, LSR_THRE, MCR_DTR_RTS_OUT2, UART_DIVISOR_115200, UART_DLL, UART_DLM, UART_FCR,
  UART_IER, UART_LCR, UART_LSR, UART_MCR, UART_THR,
} from '../../boot/serial16.ts';
import { proc_current, proc_table } from '../proc/proc.ts';
import { PROC, MAX_PROCS } from '../proc/table.ts';
import { ASCII_CR, ASCII_LF } from '../lib/ascii.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const con_break_line = sym('con_break_line');
const con_col = sym('con_col');
const con_defer = sym('con_defer');
const con_defer_buf = sym('con_defer_buf');
const con_defer_head = sym('con_defer_head');
const con_defer_lost = sym('con_defer_lost');
const con_defer_tail = sym('con_defer_tail');
const con_flush_deferred = sym('con_flush_deferred');
const con_out = sym('con_out');
const con_owner = sym('con_owner');
const con_ubuf = sym('con_ubuf');
const con_ulen = sym('con_ulen');
export const con_user_emit = sym('con_user_emit');
export const con_user_end = sym('con_user_end');
export const con_user_putc = sym('con_user_putc');
export const console_irq_enter = sym('console_irq_enter');
export const console_irq_leave = sym('console_irq_leave');
export const console_panic = sym('console_panic');
export const console_sync = sym('console_sync');
const irq_defer = sym('irq_defer');
const irq_depth = sym('irq_depth');
export const serial_init = sym('serial_init');
export const serial_newline = sym('serial_newline');
export const serial_put_dec = sym('serial_put_dec');
export const serial_put_escaped = sym('serial_put_escaped');
export const serial_put_hex = sym('serial_put_hex');
export const serial_put_hex32 = sym('serial_put_hex32');
export const serial_put_hex8 = sym('serial_put_hex8');
export const serial_put_int = sym('serial_put_int');
export const serial_putc = sym('serial_putc');
export const serial_puts = sym('serial_puts');
const serial_raw_putc = sym('serial_raw_putc');

export const CON_DEFER_SIZE = constant('CON_DEFER_SIZE', 1024, 'bytes in the deferred-message ring (a power of two): interrupt-time lines wait here', { radix: 10 });
const PROC_SIZE_SHIFT = 6;
if (PROC.SIZE.c.value !== 1 << PROC_SIZE_SHIFT) throw new Error('serial.ts assumes proc_size = 64');
/** con_ubuf + (entry - proc_table) * LINE_SCALE = that slot's buffer: CON_LINE_MAX = PROC.SIZE * LINE_SCALE. */
const LINE_SCALE = 2;
export const CON_LINE_MAX = constant('CON_LINE_MAX', 128, 'bytes of a user line kept until its LF; a longer line goes out in pieces', { radix: 10 });

export const serial = defineModule({
  name: 'serial',
  title: 'The 16550 UART on COM1: the kernel console (output)',
  about: `
All kernel output goes to COM1 as lines "[subsystem] message" - the test
harness reads them from QEMU's serial port.  serial_init programs the UART
the same way the boot stages did (115200 baud, 8N1, FIFOs on), because the
kernel must not depend on what an earlier stage left behind - except the
bytes already received: they were typed during boot, and stay in the FIFO
for the shell.  Output is polled: wait for LSR.THRE, then write THR.

The console keeps lines whole.  Four kinds of code print, and without rules
their bytes would mix ("[kernel] inter[pit] first tick ..."):
  - the kernel task (boot messages, the shell) runs with interrupts ON, so
    an interrupt can arrive between any two of its bytes;
  - interrupt handlers (the first timer tick, Ctrl-C's "[proc] pid N
    killed", an unexpected IRQ) print whenever their interrupt comes;
  - system calls (write, strace lines, "[proc] ... exited") run with
    interrupts OFF: int 0x80 is an interrupt gate (syscall.asm), so one
    write() is never interrupted and never preempted half-way;
  - user programs build a line from several write() calls ("[spin] pid ",
    "1", " step ", ...) and can be preempted BETWEEN any two of them.
The rules:
  1. serial_putc is atomic: it sends a byte and updates the console state
     with interrupts off (pushfd; cli ... popfd), so "is a line in
     progress?" (con_col) is always true of the bytes already on the wire.
  2. The line lock.  pic_irq calls console_irq_enter, which notes whether
     the interrupted code was in the middle of a kernel line.  If it was,
     everything the handler prints goes to a deferred ring (con_defer_buf,
     CON_DEFER_SIZE bytes) instead of the wire; the interrupted line ends
     first, and its LF flushes the ring - whole lines, in order.  If the
     line stays unfinished because its writer blocks (the shell's prompt
     while it waits for a key), schedule() flushes the ring on a fresh line
     (console_sync).  A handler that found the line empty prints directly:
     it runs with interrupts off, so its own line cannot be torn.
  3. User output is line-buffered in the kernel, per process (con_ubuf,
     CON_LINE_MAX bytes each): sys_write stores bytes with con_user_putc;
     the LF sends the whole line at once (LF -> CR LF, ONLCR).  A partial
     line goes out when the buffer is full, when the process blocks (a
     prompt before read() must be visible) and when it ends.
  4. Every line has one writer.  The console remembers who owns the open
     line (con_owner): a process entry for user output, the entry with bit
     0 set for the kernel printing on behalf of that process (pid 0: the
     kernel task's boot messages, prompt and echo).  Whoever starts output
     while another writer's partial line is open - a "tsk> " prompt while
     a background program's exit is reported, a user prompt before read(),
     a user line longer than CON_LINE_MAX - starts a fresh line first.
Cost: interrupts wait at most one character (one THRE poll and one OUT);
no line is ever printed with interrupts off as a whole, which at a real
115200 baud would block the timer for up to ~10 ms per 128-byte line.

Routines (kernel calling convention: arguments in EAX, EDX, ECX; EBX, ESI,
EDI, EBP preserved; EAX, ECX, EDX may be clobbered):
  serial_init
  serial_putc        AL = byte (the kernel's own output); EAX comes back unchanged
  serial_puts        EAX = NUL-terminated string
  serial_put_escaped EAX = NUL-terminated string of untrusted bytes: control
                     bytes, DEL, bytes >= 80h and backslash shown as \\xHH / \\\\
  serial_put_hex32   EAX = value, 8 hex digits (no 0x)
  serial_put_hex8    AL = value, 2 hex digits
  serial_put_dec     EAX = unsigned value in decimal
  serial_put_int     EAX = signed value in decimal
  serial_put_hex     EAX = value as 0x and hex digits, no leading zeros
  serial_newline     CR LF
  console_irq_enter / console_irq_leave   around an IRQ handler (pic.asm)
  console_sync       flush deferred interrupt-time lines (schedule())
  console_panic      flush everything and start a fresh line (kernel exceptions)
  con_user_putc      AL = byte written by the current process (sys_write)
  con_user_emit      EAX = process entry, EDX = 1 to end the line: send its buffer
  con_user_end       EAX = process entry that ends: send its unfinished line`,
  spec: ['TI PC16550D data sheet: registers (Table 2), LSR bit 5 THRE, divisor latch'],
  emit(a) {
    const out = (reg: Expr, value: Expr, why: string) => {
      a.mov(dx, COM1.add(reg));
      a.mov(al, value);
      a.out(dx, al, why);
    };
    a.routine({
      name: serial_init, does: 'program COM1: 115200 baud, 8N1, FIFOs on, polled (IER = 0)',
      clobbers: [eax, edx],
    }, (r) => {
      out(UART_IER, 0, 'IER = 0: polled output; serial input enables its interrupt later');
      out(UART_LCR, LCR_DLAB, 'DLAB = 1: registers 0 and 1 address the divisor latch');
      out(UART_DLL, UART_DIVISOR_115200, 'divisor low byte');
      out(UART_DLM, 0, 'divisor high byte');
      out(UART_LCR, LCR_8N1, 'DLAB = 0, 8 data bits, no parity, 1 stop bit');
      // The boot sector turned the FIFOs on (a change of FCR bit 0 empties both: PC16550D data sheet, FCR);
      // what arrived since is typed input, and clearing the RX FIFO here would drop up to 14 bytes of it.
      out(UART_FCR, FCR_ENABLE_KEEP_RX_14, 'FIFOs on; the transmit FIFO is cleared, received bytes are kept');
      out(UART_MCR, MCR_DTR_RTS_OUT2, 'DTR, RTS, and OUT2 (which gates the IRQ line on PCs)');
      r.ret();
    });

    a.section('the console: serial_putc and the line rules (see the header)');
    a.bss(con_col, 4, 4, '0: the wire is at the start of a line; 1: a line is in progress');
    a.bss(con_owner, 4, 4, '0: the line in progress is the kernel\'s; else the process entry whose partial line it is');
    a.bss(irq_depth, 4, 4, 'interrupt handlers running (pic_irq): non-zero = interrupt context');
    a.bss(irq_defer, 4, 4, 'non-zero: the interrupted code was mid-line, so this handler\'s output is deferred');
    a.bss(con_defer_buf, CON_DEFER_SIZE, 4, 'deferred interrupt-time output');
    a.bss(con_defer_head, 4, 4, 'next byte the interrupt handler writes');
    a.bss(con_defer_tail, 4, 4, 'next byte the flush sends');
    a.bss(con_defer_lost, 4, 4, 'deferred bytes dropped because the ring was full');
    a.bss(con_ubuf, MAX_PROCS.mul(CON_LINE_MAX), 4, 'one user line buffer per process entry');
    a.bss(con_ulen, MAX_PROCS.mul(4), 4, 'bytes in each user line buffer');

    a.routine({
      name: serial_raw_putc, does: 'poll THRE, then send one byte (no console rules)',
      in: { al: 'the byte' }, clobbers: [ecx, edx],
    }, (r) => {
      a.mov(ecx, eax, 'keep the byte: in al, dx overwrites AL');
      a.mov(dx, COM1.add(UART_LSR));
      a.doWhile(() => {
        a.in(al, dx);
        a.test(al, LSR_THRE, 'transmitter holding register empty?');
      }, () => 'z');
      a.mov(eax, ecx);
      a.mov(dx, COM1.add(UART_THR));
      a.out(dx, al);
      r.ret();
    });

    a.routine({
      name: con_out, does: 'send a byte and track whether a line is in progress (interrupts off)',
      in: { al: 'the byte' }, clobbers: [ecx, edx],
    }, (r) => {
      a.call(serial_raw_putc, 'EAX survives it');
      a.cmp(al, ASCII_LF);
      a.if_('e', () => a.mov(dword(con_col), 0, 'LF ends the line'), () => a.mov(dword(con_col), 1));
      r.ret();
    });

    a.routine({
      name: con_break_line, does: 'end the line in progress, if any (CR LF); the next line is the kernel\'s',
      clobbers: [eax, ecx, edx],
    }, (r) => {
      a.mov(dword(con_owner), 0);
      a.cmp(dword(con_col), 0);
      a.if_('ne', () => {
        a.mov(al, ASCII_CR);
        a.call(con_out);
        a.mov(al, ASCII_LF);
        a.call(con_out);
      });
      r.ret();
    });

    a.routine({
      name: con_defer, does: 'append a byte to the deferred ring, or count it lost when the ring is full (interrupts off)',
      in: { al: 'the byte' }, clobbers: [ecx, edx],
    }, (r) => {
      a.mov(ecx, dword(con_defer_head));
      a.lea(edx, mem(ecx, 1));
      a.and(edx, CON_DEFER_SIZE.sub(1), 'EDX = slot after head');
      a.cmp(edx, dword(con_defer_tail));
      a.if_('ne', () => {
        a.mov(byte({ base: ecx, disp: con_defer_buf }), al);
        a.mov(dword(con_defer_head), edx);
      }, () => a.inc(dword(con_defer_lost), 'full: cannot happen with the kernel\'s messages (at most 7 Ctrl-C lines and one tick line)'));
      r.ret();
    });

    a.routine({
      name: con_flush_deferred, does: 'send the deferred ring, on a fresh line (interrupts off)',
      clobbers: [eax, ecx, edx],
    }, (r) => {
      a.mov(ecx, dword(con_defer_tail));
      a.cmp(ecx, dword(con_defer_head));
      r.retIf('e', 'nothing deferred (the usual case)');
      a.call(con_break_line);
      a.while_(() => {
        a.mov(ecx, dword(con_defer_tail));
        a.cmp(ecx, dword(con_defer_head));
        return 'ne';
      }, () => {
        a.movzx(eax, byte({ base: ecx, disp: con_defer_buf }));
        a.inc(ecx);
        a.and(ecx, CON_DEFER_SIZE.sub(1));
        a.mov(dword(con_defer_tail), ecx);
        a.call(con_out);
      });
      a.jmp(con_break_line, 'handlers print whole lines; end one anyway if the ring overflowed mid-line');
    });

    a.routine({
      name: serial_putc, does: 'print one byte of the kernel\'s own output, by the console rules',
      in: { al: 'the byte' }, clobbers: [ecx, edx],
    }, (r) => {
      a.pushfd();
      a.cli('rule 1: the byte and the console state change together');
      a.push(eax);
      a.cmp(dword(irq_depth), 0);
      a.je(L('.direct'));
      a.cmp(dword(irq_defer), 0);
      a.je(L('.direct'));
      a.call(con_defer, 'rule 2: an interrupt came mid-line - this waits for that line to end');
      a.jmp(L('.out'));
      a.label('.direct');
      a.mov(ecx, dword(proc_current));
      a.or(ecx, 1, 'ECX = us: the kernel printing for the current process (odd: user output owners are entries, 64-aligned)');
      a.cmp(dword(con_col), 0);
      a.je(L('.own'), 'at the start of a line: it is ours');
      a.cmp(dword(con_owner), ecx);
      a.je(L('.put'), 'continuing our own line');
      a.push(ecx);
      a.call(con_break_line, 'rule 4: someone else\'s partial line is open (a prompt, a user line) - start a fresh one');
      a.pop(ecx);
      a.label('.own');
      a.mov(dword(con_owner), ecx);
      a.label('.put');
      a.mov(eax, dword(esp), 'the byte');
      a.call(con_out);
      a.cmp(al, ASCII_LF);
      a.jne(L('.out'));
      a.cmp(dword(irq_depth), 0);
      a.jne(L('.out'), '(a handler\'s own line: nothing can be deferred behind it)');
      a.call(con_flush_deferred, 'a kernel line ended: lines that interrupts deferred go out now');
      a.label('.out');
      a.pop(eax, 'EAX comes back unchanged: callers print the same byte again or test it');
      a.popfd('interrupts as they were');
      r.ret();
    });

    a.routine({
      name: serial_puts, does: 'print a NUL-terminated string',
      in: { eax: 'the string' }, clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      a.loop_((loop) => {
        a.mov(al, byte(ebx));
        a.test(al, al);
        loop.break_('z');
        a.call(serial_putc);
        a.inc(ebx);
      });
      r.ret();
    });

    a.routine({ name: serial_newline, does: 'print CR LF', clobbers: [eax, ecx, edx] }, () => {
      a.mov(al, ASCII_CR);
      a.call(serial_putc);
      a.mov(al, ASCII_LF);
      a.jmp(serial_putc, 'tail call');
    });

    a.routine({
      name: serial_put_hex32, does: 'print a value as 8 hex digits (no 0x)',
      in: { eax: 'the value' }, clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      a.mov(eax, ebx); a.shr(eax, 24); a.call(serial_put_hex8);
      a.mov(eax, ebx); a.shr(eax, 16); a.call(serial_put_hex8);
      a.mov(eax, ebx); a.shr(eax, 8); a.call(serial_put_hex8);
      a.mov(eax, ebx); a.call(serial_put_hex8);
      r.ret();
    });

    a.routine({
      name: serial_put_hex8, does: 'print a byte as 2 hex digits (no 0x)',
      in: { al: 'the value' }, clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      a.shr(al, 4);
      a.call(L('.nibble'));
      a.mov(eax, ebx);
      a.and(al, 0x0f);
      a.call(L('.nibble'));
      r.ret();
      a.comment('.nibble: AL = 0-15 -> one hex digit (a call target of its own: serial_put_hex uses it too); clobbers ECX, EDX');
      a.label('.nibble');
      a.add(al, chr('0'));
      a.cmp(al, chr('9'));
      a.jbe(serial_putc);
      a.add(al, 7, "skip to 'A'");
      a.jmp(serial_putc);
    });

    a.routine({
      name: serial_put_dec, does: 'print an unsigned value in decimal',
      in: { eax: 'the value' }, clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.push(0, 'sentinel: digits are pushed in reverse, 0 marks the end');
      a.mov(ebx, dec(10), 'base 10');
      a.doWhile(() => {
        a.xor(edx, edx);
        a.div(ebx, 'EAX = quotient, EDX = next digit (least significant first)');
        a.add(dl, chr('0'));
        a.push(edx);
        a.test(eax, eax);
      }, () => 'nz');
      a.loop_((loop) => {
        a.pop(eax);
        a.test(eax, eax);
        loop.break_('z', 'the sentinel: all digits printed');
        a.call(serial_putc);
      });
      r.ret();
    });

    a.routine({
      name: serial_put_hex, does: 'print a value as "0x" and its hex digits without leading zeros',
      in: { eax: 'the value' }, clobbers: [eax, ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(ebx, eax);
      a.mov(al, chr('0'));
      a.call(serial_putc);
      a.mov(al, chr('x'));
      a.call(serial_putc);
      a.mov(esi, dec(28), 'ESI = shift of the current digit, from the top (bits 31:28 first)');
      a.loop_((loop) => {
        a.test(esi, esi);
        loop.break_('z', 'the last digit is printed even when 0');
        a.mov(eax, ebx);
        a.mov(ecx, esi);
        a.shr(eax, cl);
        a.test(al, 0x0f);
        loop.break_('nz', 'the first significant digit');
        a.sub(esi, 4, 'a leading zero: skip it');
      });
      a.doWhile(() => {
        a.mov(eax, ebx);
        a.mov(ecx, esi);
        a.shr(eax, cl);
        a.and(al, 0x0f);
        a.call(L('serial_put_hex8.nibble'));
        a.sub(esi, 4);
      }, () => 'ns');
      r.ret();
    });

    a.routine({
      name: serial_put_int, does: 'print a signed value in decimal: "-" and the magnitude when negative',
      in: { eax: 'the value (signed)' }, clobbers: [eax, ecx, edx],
    }, () => {
      a.test(eax, eax);
      a.jns(serial_put_dec);
      a.push(eax);
      a.mov(al, chr('-'));
      a.call(serial_putc);
      a.pop(eax);
      a.neg(eax, 'two\'s complement: the magnitude (0x80000000 stays itself, read unsigned: 2147483648)');
      a.jmp(serial_put_dec);
    });

    a.routine({
      name: serial_put_escaped, does: 'print a string from outside (the cmdline): printable ASCII as is, other bytes as \\xHH, a backslash as \\\\',
      in: { eax: 'the NUL-terminated string' }, clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      a.loop_(() => {
        a.mov(al, byte(ebx));
        a.test(al, al);
        r.retIf('z');
        a.cmp(al, chr('\\'));
        a.je(L('.backslash'));
        a.cmp(al, chr(' '));
        a.jb(L('.hex'), 'a control byte (ESC would start a terminal escape sequence)');
        a.cmp(al, chr('~'));
        a.ja(L('.hex'), 'DEL and bytes >= 80h');
        a.call(serial_putc);
        a.jmp(L('.step'));
        a.label('.backslash');
        a.call(serial_putc, 'a backslash is doubled, so "\\x1B" in the output always means the byte 1Bh');
        a.mov(al, chr('\\'));
        a.call(serial_putc);
        a.jmp(L('.step'));
        a.label('.hex');
        a.mov(al, chr('\\'));
        a.call(serial_putc);
        a.mov(al, chr('x'));
        a.call(serial_putc);
        a.movzx(eax, byte(ebx));
        a.call(serial_put_hex8, 'two hex digits, as C and JavaScript write \\x1B');
        a.label('.step');
        a.inc(ebx);
      });
    });

    a.section('interrupt context and the deferred ring (rule 2)');
    a.routine({
      name: console_irq_enter, does: 'called by pic_irq before a handler (interrupts off): enter interrupt context',
      clobbers: [eax, ecx],
    }, (r) => {
      a.cmp(dword(irq_depth), 0);
      a.if_('e', () => {
        a.mov(ecx, dword(proc_current));
        a.or(ecx, 1);
        a.xor(eax, eax);
        a.cmp(dword(con_owner), ecx);
        a.if_('e', () => a.mov(eax, dword(con_col), 'the interrupted kernel code is mid-line: this handler\'s lines wait for its end'),
          undefined, 'another writer\'s open line: rule 4 breaks it, no need to wait');
        a.mov(dword(irq_defer), eax);
      }, undefined, 'the outermost handler decides; a nested one inherits');
      a.inc(dword(irq_depth));
      r.ret();
    });

    a.routine({ name: console_irq_leave, does: 'called by pic_irq after the handler: leave interrupt context' }, (r) => {
      a.dec(dword(irq_depth));
      r.ret();
    });

    a.routine({
      name: console_sync, does: 'flush deferred lines now (schedule(): the writer of the unfinished line is leaving the CPU)',
      clobbers: [eax, ecx, edx],
    }, (r) => {
      a.pushfd();
      a.cli();
      a.call(con_flush_deferred);
      a.popfd();
      r.ret();
    });

    a.routine({
      name: console_panic, does: 'a kernel exception: leave interrupt context, flush, and start a fresh line for the dump',
      clobbers: [eax, ecx, edx],
    }, (r) => {
      a.pushfd();
      a.cli();
      a.mov(dword(irq_depth), 0, 'the dump must reach the wire even if the fault was in a handler');
      a.call(con_flush_deferred);
      a.call(con_break_line);
      a.popfd();
      r.ret();
    });

    a.section('user output, line-buffered per process (rule 3)');
    a.routine({
      name: con_user_putc, does: 'store a byte the current process writes (sys_write, interrupts off); LF or a full buffer sends the line',
      in: { al: 'the byte' }, clobbers: [eax, ecx, edx],
    }, (r) => {
      a.mov(ecx, dword(proc_current));
      a.sub(ecx, proc_table, 'ECX = slot * PROC.SIZE');
      a.cmp(al, ASCII_LF);
      a.je(L('.eol'));
      a.mov(edx, ecx);
      a.shr(edx, PROC_SIZE_SHIFT - 2, 'EDX = slot * 4: its con_ulen entry');
      a.push(ebx);
      a.mov(ebx, dword({ base: edx, disp: con_ulen }));
      a.mov(byte({ base: ebx, index: ecx, scale: LINE_SCALE, disp: con_ubuf }), al, 'con_ubuf + slot * CON_LINE_MAX + length');
      a.inc(ebx);
      a.mov(dword({ base: edx, disp: con_ulen }), ebx);
      a.cmp(ebx, CON_LINE_MAX);
      a.pop(ebx);
      r.retIf('b', 'room left: the line waits for its LF');
      a.mov(eax, dword(proc_current));
      a.xor(edx, edx, 'full: send what we have; the line goes on');
      a.jmp(con_user_emit);
      a.label('.eol');
      a.mov(eax, dword(proc_current));
      a.mov(edx, 1, 'LF: the line is complete');
      a.jmp(con_user_emit);
    });

    a.routine({
      name: con_user_end, does: 'a process ends (or is killed): send its unfinished line, ended with CR LF',
      in: { eax: 'the process entry' }, clobbers: [eax, ecx, edx],
    }, (r) => {
      a.mov(ecx, eax);
      a.sub(ecx, proc_table);
      a.shr(ecx, PROC_SIZE_SHIFT - 2);
      a.cmp(dword({ base: ecx, disp: con_ulen }), 0);
      r.retIf('e', 'nothing buffered');
      a.mov(edx, 1);
      a.jmp(con_user_emit);
    });

    a.routine({
      name: con_user_emit, does: 'send and empty a process\'s line buffer, optionally ending the line (CR LF)',
      in: { eax: 'the process entry', edx: '1: end the line; 0: leave it open' },
      clobbers: [eax, ecx, edx], saves: [ebx, esi, edi, ebp],
    }, (r) => {
      a.pushfd();
      a.cli();
      a.mov(ebx, eax, 'EBX = entry');
      a.mov(ebp, edx, 'EBP = end the line?');
      a.mov(esi, ebx);
      a.sub(esi, proc_table);
      a.mov(ecx, esi);
      a.shr(ecx, PROC_SIZE_SHIFT - 2);
      a.add(ecx, con_ulen, 'ECX = &con_ulen[slot]');
      a.lea(esi, mem({ index: esi, scale: LINE_SCALE, disp: con_ubuf }), 'ESI = the buffer');
      a.mov(edi, esi);
      a.add(edi, dword(ecx), 'EDI = its end');
      a.mov(dword(ecx), 0, 'empty from now on');
      a.mov(eax, edi);
      a.sub(eax, esi);
      a.or(eax, ebp);
      a.jz(L('.out'), 'nothing buffered and no line end: nothing to do');
      const sendAll = (put: string) => {
        a.while_(() => { a.cmp(esi, edi); return 'b'; }, () => {
          a.mov(al, byte(esi));
          a.call(L(put));
          a.inc(esi);
        });
        a.test(ebp, ebp);
        a.jz(L('.out'));
        a.mov(al, ASCII_CR, 'LF -> CR LF, as a terminal driver does (ONLCR)');
        a.call(L(put));
        a.mov(al, ASCII_LF);
        a.call(L(put));
      };
      a.cmp(dword(irq_depth), 0);
      a.je(L('.direct'));
      a.cmp(dword(irq_defer), 0);
      a.je(L('.direct'));
      a.comment('Interrupt context mid-line: a process ended by Ctrl-C leaves its partial line in the ring.');
      sendAll('con_defer');
      a.jmp(L('.out'));
      a.label('.direct');
      a.cmp(dword(con_col), 0);
      a.je(L('.mine'));
      a.cmp(dword(con_owner), ebx);
      a.je(L('.mine'), 'continuing our own partial line');
      a.call(con_break_line, 'rule 4: someone else\'s line is open - start a fresh one');
      a.label('.mine');
      a.mov(dword(con_owner), ebx);
      sendAll('con_out');
      a.mov(dword(con_owner), 0, 'the line is over: the next one may be anybody\'s');
      a.cmp(dword(irq_depth), 0);
      a.jne(L('.out'));
      a.call(con_flush_deferred, 'a line ended: deferred interrupt-time lines go out');
      a.label('.out');
      a.popfd();
      r.ret();
    });
  },
});
