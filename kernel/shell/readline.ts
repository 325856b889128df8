// Line editing on the serial console: the shell's input.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, eax, ebx, ecx, edx, L, byte, dword, constant, chr } from '../../toolchain/x86/operands.ts';
import { say } from '../lib/print.ts';
import { ASCII_CR, ASCII_LF } from '../lib/ascii.ts';
import { RX_LOST, uart_getc } from '../dev/uart_rx.ts';
import { serial_newline, serial_putc } from '../dev/serial.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); the shell's loop uses the exported ones.
export const shell_readline = sym('shell_readline');
export const line_buf = sym('line_buf');
const last_was_cr = sym('last_was_cr');
const line_esc = sym('line_esc');
const line_lost = sym('line_lost');
const line_too_long = sym('line_too_long');

export const LINE_MAX = constant('LINE_MAX', 127, 'longest shell line; longer lines are reported and discarded', { radix: 10 });
export const ASCII_BS = constant('ASCII_BS', 0x08, 'backspace (Ctrl-H)');
export const ASCII_DEL = constant('ASCII_DEL', 0x7f, 'delete: what most terminals send for the backspace key');
export const ASCII_ESC = constant('ASCII_ESC', 0x1b, 'escape: starts a terminal escape sequence (arrow keys, function keys)');
export const CSI_FINAL_MIN = constant('CSI_FINAL_MIN', 0x40, 'ECMA-48 5.4: a control sequence ends with a final byte 40h-7Eh ...');
export const CSI_FINAL_MAX = constant('CSI_FINAL_MAX', 0x7e, '... after parameter bytes 30h-3Fh and intermediate bytes 20h-2Fh');
export const ESC_NONE = constant('ESC_NONE', 0, 'line_esc: not in an escape sequence');
export const ESC_START = constant('ESC_START', 1, 'line_esc: after ESC');
export const ESC_CSI = constant('ESC_CSI', 2, 'line_esc: inside ESC [ ... (CSI: cursor keys on most terminals)');
export const ESC_SS3 = constant('ESC_SS3', 3, 'line_esc: after ESC O (SS3: cursor keys in "application mode")');

export const readline = defineModule({
  name: 'readline',
  title: 'Line editing: one command line from the serial console',
  about: `
shell_readline reads one line for the shell (shell.asm) with uart_getc
(interrupt-driven, uart_rx.asm) and echoes what it keeps.  It is the only
part of the shell that sees raw bytes; the rest works on a NUL-terminated
line in line_buf.

Printable ASCII is echoed and stored; backspace (08h) or DEL (7Fh) erases
the last character ("\\b \\b" on the terminal); CR or LF ends the line (an
LF right after a CR is the same line end); every other byte is ignored.
Terminal escape sequences are ignored whole - the arrow and function keys
send them: ESC [ <parameter bytes 30h-3Fh> <intermediate bytes 20h-2Fh>
<final byte 40h-7Eh> (CSI, ECMA-48 5.4; up-arrow is ESC [ A) and ESC O
<final byte> (SS3, "application mode" keys).  The editor keeps one state
variable (line_esc) and never swallows more than the sequence: a control
byte inside one (CR, LF, another ESC) ends it and counts as typed, so Enter
always ends the line; ESC followed by anything but [ or O drops only the
ESC (Alt-x sends ESC x: the x is typed).

A line longer than LINE_MAX characters is reported (EAX = -1) and its bytes
are read to its end but not kept - the buffer never grows past LINE_MAX + 1
bytes - so the next line starts fresh.  No typed byte is lost on the way
(uart_rx.asm holds input back while its buffer is full), so a paste of any
length reaches the shell whole.  Should the UART itself ever lose bytes (an
overrun), uart_getc returns RX_LOST at that place and so does
shell_readline for that line: a line with a gap could be the end of one
command glued to the start of the next, so it must never run.`,
  spec: ['ASCII control codes BS, CR, LF, ESC, DEL', 'ECMA-48 (5th edition) §5.3-5.4: escape and control sequences (CSI, SS3)'],
  emit(a) {
    a.bss(line_buf, LINE_MAX.add(1), 4, 'the line being edited (LINE_MAX characters + NUL)');
    a.bss(line_too_long, 4, 4, '1 when the current line overflowed');
    a.bss(line_lost, 4, 4, '1 when input was lost (UART overrun) in the current line');
    a.bss(line_esc, 4, 4, 'escape-sequence state (ESC_*)');
    a.bss(last_was_cr, 4, 4, '1 right after a CR, so that CR LF ends one line, not two');

    a.routine({
      name: shell_readline, does: 'edit one line into line_buf (NUL-terminated) and end it on the terminal',
      out: { eax: 'its length; -1 if it was too long, RX_LOST if input was lost in it' },
      clobbers: [ecx, edx], saves: [ebx],
    }, (r) => {
      a.xor(ebx, ebx, 'EBX = length');
      a.mov(dword(line_too_long), 0);
      a.mov(dword(line_lost), 0);
      a.label('.next');
      a.call(uart_getc);
      a.cmp(eax, RX_LOST);
      a.jne(L('.byte'));
      a.mov(dword(line_lost), 1, 'input was lost: this line is not what was typed');
      a.mov(dword(line_esc), ESC_NONE);
      a.jmp(L('.next'));

      a.label('.byte');
      a.comment('Escape sequences (arrow and function keys) are not text: skip them whole.');
      a.mov(ecx, dword(line_esc));
      a.test(ecx, ecx);
      a.jz(L('.plain'));
      a.mov(dword(line_esc), ESC_NONE, 'unless this byte continues it, the sequence ends here');
      a.cmp(ecx, ESC_START);
      a.jne(L('.in_sequence'));
      a.cmp(al, chr('['));
      a.je(L('.csi'));
      a.cmp(al, chr('O'));
      a.je(L('.ss3'));
      a.jmp(L('.plain'), 'ESC and another byte: only the ESC is dropped, the byte counts as typed');
      a.label('.csi');
      a.mov(dword(line_esc), ESC_CSI);
      a.jmp(L('.next'));
      a.label('.ss3');
      a.mov(dword(line_esc), ESC_SS3);
      a.jmp(L('.next'));
      a.label('.in_sequence');
      a.cmp(al, CSI_FINAL_MIN);
      a.jb(L('.not_final'));
      a.cmp(al, CSI_FINAL_MAX);
      a.jbe(L('.next'), 'the final byte: the whole sequence is ignored');
      a.jmp(L('.plain'), 'DEL or a byte above 7Eh cannot be in a sequence: it ends it, and counts');
      a.label('.not_final');
      a.cmp(ecx, ESC_SS3);
      a.je(L('.plain'), 'SS3 is followed by exactly one final byte; anything else ends it');
      a.cmp(al, chr(' '));
      a.jb(L('.plain'), 'a control byte (CR, LF, ESC ...) ends a broken sequence and counts: Enter is never swallowed');
      a.mov(dword(line_esc), ESC_CSI, 'parameter or intermediate byte (20h-3Fh): still inside the CSI');
      a.jmp(L('.next'));
      a.label('.plain');
      a.cmp(al, ASCII_ESC);
      a.jne(L('.not_esc'));
      a.mov(dword(line_esc), ESC_START);
      a.jmp(L('.next'));
      a.label('.not_esc');
      a.cmp(al, ASCII_LF);
      a.jne(L('.not_lf'));
      a.cmp(dword(last_was_cr), 0);
      a.mov(dword(last_was_cr), 0, '(mov leaves the flags of the cmp alone)');
      a.jne(L('.next'), 'the LF of a CR LF pair: the line already ended');
      a.jmp(L('.end'));
      a.label('.not_lf');
      a.mov(dword(last_was_cr), 0);
      a.cmp(al, ASCII_CR);
      a.jne(L('.not_cr'));
      a.mov(dword(last_was_cr), 1);
      a.jmp(L('.end'));
      a.label('.not_cr');
      a.cmp(al, ASCII_BS);
      a.je(L('.erase'));
      a.cmp(al, ASCII_DEL);
      a.je(L('.erase'));
      a.cmp(al, chr(' '));
      a.jb(L('.next'), 'other control characters: ignored');
      a.cmp(al, chr('~'));
      a.ja(L('.next'), 'bytes above 7Eh (not ASCII text): ignored');
      a.cmp(ebx, LINE_MAX);
      a.jae(L('.overflow'));
      a.mov(byte({ base: ebx, disp: line_buf }), al);
      a.inc(ebx);
      a.call(serial_putc, 'echo');
      a.jmp(L('.next'));
      a.label('.overflow');
      a.mov(dword(line_too_long), 1, 'keep reading to the end of the line, store nothing');
      a.jmp(L('.next'));
      a.label('.erase');
      a.test(ebx, ebx);
      a.jz(L('.next'), 'nothing to erase');
      a.dec(ebx);
      say(a, a.cstr('\b \b', 'erase'));
      a.jmp(L('.next'));
      a.label('.end');
      a.mov(byte({ base: ebx, disp: line_buf }), 0, 'NUL-terminate');
      a.call(serial_newline);
      a.mov(eax, ebx);
      a.cmp(dword(line_too_long), 0);
      a.if_('ne', () => a.mov(eax, -1));
      a.cmp(dword(line_lost), 0);
      a.if_('ne', () => a.mov(eax, RX_LOST, 'a line with a gap is never run: it could glue two commands into one'));
      r.ret();
    });
  },
});
