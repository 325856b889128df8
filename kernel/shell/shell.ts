// The interactive shell on the serial console.
import { type Asm, defineModule } from '../../toolchain/x86/asm.ts';
import {
  al, eax, ebx, ecx, edx, esi, edi, ebp, L, byte, dword, word, mem, constant, chr
} from '../../toolchain/x86/operands.ts';
import { NUM_EXCEPTIONS, VEC_BP } from '../cpu/exceptions.ts';
import { NUM_IRQS, PIC1_VECTOR, pic_print_masks, pic_read_irr, pic_read_isr, pic_spurious15, pic_spurious7 } from '../dev/pic.ts';
import { proc_find, proc_kill, proc_ps, proc_run, proc_wait } from '../proc/proc.ts';
import { MAX_PROCS, PROC } from '../proc/table.ts';
import { putDec, putHex32, say } from '../lib/print.ts';
import { ASCII_CR, ASCII_LF } from '../lib/ascii.ts';
import {
  RX_BUF_SIZE,
  RX_LOST,
  rx_head,
  rx_held,
  rx_overflow,
  rx_tail,
  uart_getc,
  uart_overrun_demo,
} from '../dev/uart_rx.ts';
import { emitNameTable } from '../lib/name_table.ts';
import { user_arg } from '../cmdline.ts';
import { trap_counts, trap_handlers } from '../cpu/trap.ts';
import { pit_divisor, pit_hz, ticks } from '../dev/pit.ts';
import { poweroff } from '../dev/qemu_exit.ts';
import { serial_newline, serial_put_dec, serial_put_hex32, serial_put_hex8, serial_putc, serial_puts } from '../dev/serial.ts';
import { name_lookup, parse_uint, strcmp } from '../lib/string.ts';
import { program_list } from '../proc/programs.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const shell_commands = sym('shell_commands');
const int_stubs = sym('int_stubs');
const last_was_cr = sym('last_was_cr');
const line_buf = sym('line_buf');
const line_esc = sym('line_esc');
const line_len = sym('line_len');
const line_lost = sym('line_lost');
const line_too_long = sym('line_too_long');
const sh_msg_at = sym('sh_msg_at');
const sh_msg_divisor = sym('sh_msg_divisor');
const sh_msg_echo = sym('sh_msg_echo');
const sh_msg_erase = sym('sh_msg_erase');
const sh_msg_fired = sym('sh_msg_fired');
const sh_msg_handler = sym('sh_msg_handler');
const sh_msg_idt_rest = sym('sh_msg_idt_rest');
const sh_msg_idtr = sym('sh_msg_idtr');
const sh_msg_int_bad = sym('sh_msg_int_bad');
const sh_msg_int_exception = sym('sh_msg_int_exception');
const sh_msg_int_exception_end = sym('sh_msg_int_exception_end');
const sh_msg_int_irq = sym('sh_msg_int_irq');
const sh_msg_int_irq_end = sym('sh_msg_int_irq_end');
const sh_msg_irr = sym('sh_msg_irr');
const sh_msg_isr = sym('sh_msg_isr');
const sh_msg_kill_bad = sym('sh_msg_kill_bad');
const sh_msg_kill_kernel = sym('sh_msg_kill_kernel');
const sh_msg_kill_none = sym('sh_msg_kill_none');
const sh_msg_limit = sym('sh_msg_limit');
const sh_msg_overrun = sym('sh_msg_overrun');
const sh_msg_prompt = sym('sh_msg_prompt');
const sh_msg_quote_end = sym('sh_msg_quote_end');
const sh_msg_raising = sym('sh_msg_raising');
const sh_msg_ready = sym('sh_msg_ready');
const sh_msg_returned = sym('sh_msg_returned');
const sh_msg_run_usage = sym('sh_msg_run_usage');
const sh_msg_slave = sym('sh_msg_slave');
const sh_msg_spurious15 = sym('sh_msg_spurious15');
const sh_msg_spurious7 = sym('sh_msg_spurious7');
const sh_msg_ticks = sym('sh_msg_ticks');
const sh_msg_times = sym('sh_msg_times');
const sh_msg_too_long = sym('sh_msg_too_long');
const sh_msg_uart = sym('sh_msg_uart');
const sh_msg_uart_bad = sym('sh_msg_uart_bad');
const sh_msg_uart_bad_end = sym('sh_msg_uart_bad_end');
const sh_msg_uart_dropped = sym('sh_msg_uart_dropped');
const sh_msg_uart_held = sym('sh_msg_uart_held');
const sh_msg_uart_no_overrun = sym('sh_msg_uart_no_overrun');
const sh_msg_uart_overrun = sym('sh_msg_uart_overrun');
const sh_msg_unknown = sym('sh_msg_unknown');
const sh_msg_unknown_end = sym('sh_msg_unknown_end');
const sh_msg_vector = sym('sh_msg_vector');
const sh_word_overrun = sym('sh_word_overrun');
const shell_background = sym('shell_background');
const shell_execute = sym('shell_execute');
const shell_idtr = sym('shell_idtr');
export const shell_main = sym('shell_main');
const shell_pids = sym('shell_pids');
const shell_readline = sym('shell_readline');

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
export const INT_STUB_SIZE = constant('INT_STUB_SIZE', 4, 'each entry of int_stubs: int n (2 bytes), ret, padding');

interface Command {
  readonly name: string;
  readonly usage: string;
  readonly doc: string;
  /** Handler body, entered with EAX = the argument string (never NULL). Must end in ret or a tail call. */
  readonly emit: (a: Asm) => void;
}


const COMMANDS: readonly Command[] = [
  { name: 'help', usage: 'help', doc: 'list the commands', emit: (a) => {
    COMMANDS.forEach((_, i) => say(a, L(`help_line_${i}`)));
    a.ret();
  } },
  { name: 'ticks', usage: 'ticks', doc: 'timer ticks since boot, the rate and the PIT divisor', emit: (a) => {
    say(a, sh_msg_ticks); putDec(a, dword(ticks));
    say(a, sh_msg_at); putDec(a, dword(pit_hz));
    say(a, sh_msg_divisor); putDec(a, dword(pit_divisor));
    a.jmp(serial_newline);
  } },
  { name: 'idt', usage: 'idt', doc: 'IDTR as the CPU holds it, and each vector with a handler', emit: (a) => {
    a.push(ebx);
    a.sidt(mem(shell_idtr), 'store IDTR: 2-byte limit, 4-byte base');
    say(a, sh_msg_idtr); putHex32(a, dword(shell_idtr.add(2)));
    say(a, sh_msg_limit); a.movzx(eax, word(shell_idtr)); a.call(serial_put_hex32);
    a.call(serial_newline);
    a.xor(ebx, ebx, 'EBX = vector');
    a.label('.vector');
    a.cmp(dword({ index: ebx, scale: 4, disp: trap_handlers }), 0);
    a.je(L('.next'));
    say(a, sh_msg_vector); putDec(a, ebx);
    say(a, sh_msg_handler); putHex32(a, dword({ index: ebx, scale: 4, disp: trap_handlers }));
    say(a, sh_msg_fired); putDec(a, dword({ index: ebx, scale: 4, disp: trap_counts }));
    say(a, sh_msg_times);
    a.label('.next');
    a.inc(ebx);
    a.cmp(ebx, 256);
    a.jb(L('.vector'));
    say(a, sh_msg_idt_rest);
    a.pop(ebx);
    a.ret();
  } },
  { name: 'pic', usage: 'pic', doc: '8259A masks (read back), IRR, ISR and spurious IRQ counts', emit: (a) => {
    a.push(ebx);
    a.push(esi);
    a.call(pic_print_masks);
    a.call(pic_read_irr);
    a.mov(ebx, eax, 'EBX = IRR (BL master, BH slave)');
    a.call(pic_read_isr);
    a.mov(esi, eax, 'ESI = ISR');
    say(a, sh_msg_irr); a.mov(eax, ebx); a.call(serial_put_hex8);
    say(a, sh_msg_slave); a.mov(eax, ebx); a.shr(eax, 8); a.call(serial_put_hex8);
    say(a, sh_msg_isr); a.mov(eax, esi); a.call(serial_put_hex8);
    say(a, sh_msg_slave); a.mov(eax, esi); a.shr(eax, 8); a.call(serial_put_hex8);
    a.call(serial_newline);
    say(a, sh_msg_spurious7); putDec(a, dword(pic_spurious7));
    say(a, sh_msg_spurious15); putDec(a, dword(pic_spurious15));
    a.call(serial_newline);
    a.pop(esi);
    a.pop(ebx);
    a.ret();
  } },
  { name: 'uart', usage: 'uart [overrun]', doc: 'serial receive buffer: bytes waiting, flow control, dropped bytes; overrun: lose bytes on purpose', emit: (a) => {
    a.cmp(byte(eax), 0);
    a.je(L('.stats'));
    a.push(eax, 'the argument, for an error message');
    a.mov(edx, sh_word_overrun);
    a.call(strcmp);
    a.test(eax, eax);
    a.pop(ecx);
    a.jnz(L('.bad'));
    a.call(uart_overrun_demo);
    a.test(eax, eax);
    a.jz(L('.no_overrun'));
    say(a, sh_msg_uart_overrun);
    a.jmp(L('.stats'));
    a.label('.no_overrun');
    say(a, sh_msg_uart_no_overrun);
    a.jmp(L('.stats'));
    a.label('.bad');
    a.push(ecx);
    say(a, sh_msg_uart_bad);
    a.pop(eax);
    a.call(serial_puts);
    say(a, sh_msg_uart_bad_end);
    a.ret();
    a.label('.stats');
    say(a, sh_msg_uart);
    a.mov(eax, dword(rx_head));
    a.sub(eax, dword(rx_tail));
    a.and(eax, RX_BUF_SIZE.sub(1), 'bytes waiting in the ring (a snapshot: the interrupt may add more)');
    a.call(serial_put_dec);
    say(a, sh_msg_uart_held); putDec(a, dword(rx_held));
    say(a, sh_msg_uart_dropped); putDec(a, dword(rx_overflow));
    a.jmp(serial_newline);
  } },
  { name: 'int', usage: 'int <n>', doc: 'raise software interrupt n (3, or 48-255)', emit: (a) => {
    a.push(ebx);
    a.mov(ebx, eax);
    a.call(parse_uint);
    a.test(edx, edx);
    a.jnz(L('.bad'));
    a.cmp(eax, 255);
    a.ja(L('.bad'));
    a.cmp(eax, VEC_BP);
    a.je(L('.raise'), '#BP is the one exception that returns');
    a.cmp(eax, NUM_EXCEPTIONS);
    a.jb(L('.exception'));
    a.cmp(eax, PIC1_VECTOR.add(NUM_IRQS));
    a.jb(L('.irq'), 'vectors 32-47 belong to the 8259A lines');
    a.label('.raise');
    a.mov(ebx, eax);
    say(a, sh_msg_raising); putDec(a, ebx); a.call(serial_newline);
    a.lea(eax, mem({ index: ebx, scale: 4, disp: int_stubs }), 'int_stubs + n * INT_STUB_SIZE');
    a.call(eax, 'executes int n; ret');
    say(a, sh_msg_returned); putDec(a, ebx); a.call(serial_newline);
    a.pop(ebx);
    a.ret();
    a.label('.exception');
    a.mov(ebx, eax);
    say(a, sh_msg_int_exception); putDec(a, ebx);
    say(a, sh_msg_int_exception_end);
    a.pop(ebx);
    a.ret();
    a.label('.irq');
    a.mov(ebx, eax);
    say(a, sh_msg_int_exception); putDec(a, ebx);
    say(a, sh_msg_int_irq); a.lea(eax, mem(ebx, PIC1_VECTOR.neg())); a.call(serial_put_dec);
    say(a, sh_msg_int_irq_end);
    a.pop(ebx);
    a.ret();
    a.label('.bad');
    say(a, sh_msg_int_bad); a.mov(eax, ebx); a.call(serial_puts);
    say(a, sh_msg_quote_end);
    a.pop(ebx);
    a.ret();
  } },
  { name: 'echo', usage: 'echo <text>', doc: 'print the text back', emit: (a) => {
    a.push(ebx);
    a.mov(ebx, eax);
    say(a, sh_msg_echo);
    a.mov(eax, ebx);
    a.call(serial_puts);
    a.pop(ebx);
    a.jmp(serial_newline);
  } },
  { name: 'run', usage: 'run <prog>... [&]', doc: 'start user programs (together) and wait for them; & returns at once', emit: (a) => {
    a.push(ebx); a.push(esi); a.push(edi); a.push(ebp);
    a.mov(esi, eax, 'ESI = cursor in the argument string');
    a.xor(edi, edi, 'EDI = programs started');
    a.xor(ebp, ebp, 'EBP = program names seen');
    a.mov(dword(shell_background), 0);
    a.label('.word');
    a.cmp(byte(esi), chr(' '));
    a.jne(L('.word_start'));
    a.inc(esi);
    a.jmp(L('.word'));
    a.label('.word_start');
    a.cmp(byte(esi), 0);
    a.je(L('.started'));
    a.mov(ebx, esi, 'EBX = this word');
    a.label('.scan');
    a.inc(esi);
    a.cmp(byte(esi), 0);
    a.je(L('.have_word'));
    a.cmp(byte(esi), chr(' '));
    a.jne(L('.scan'));
    a.mov(byte(esi), 0, 'end the word');
    a.inc(esi);
    a.label('.have_word');
    a.cmp(word(ebx), chr('&'), '"&" and its NUL');
    a.jne(L('.program'));
    a.mov(dword(shell_background), 1);
    a.jmp(L('.word'));
    a.label('.program');
    a.inc(ebp);
    a.mov(eax, ebx);
    a.mov(edx, dword(user_arg), 'start argument: the cmdline seed=');
    a.call(proc_run, 'reports its own errors');
    a.test(eax, eax);
    a.js(L('.word'));
    a.mov(dword({ index: edi, scale: 4, disp: shell_pids }), eax);
    a.inc(edi, '(at most 7: proc_spawn refuses more)');
    a.jmp(L('.word'));
    a.label('.started');
    a.test(ebp, ebp);
    a.jnz(L('.wait'));
    say(a, sh_msg_run_usage);
    a.call(program_list);
    a.call(serial_newline);
    a.jmp(L('.out'));
    a.label('.wait');
    a.cmp(dword(shell_background), 0);
    a.je(L('.foreground'));
    a.comment('Background: the programs do not get the console (read(0) returns 0); back to the prompt.');
    a.comment('They have not run yet - the kernel task is never preempted - so no read() has begun.');
    a.xor(ebx, ebx);
    a.label('.mark');
    a.cmp(ebx, edi);
    a.jae(L('.out'));
    a.mov(eax, dword({ index: ebx, scale: 4, disp: shell_pids }));
    a.call(proc_find);
    a.test(eax, eax);
    a.jz(L('.marked'), 'already gone: a Ctrl-C (IRQ4) may have ended it meanwhile');
    a.mov(dword(eax, PROC.f.background), 1);
    a.label('.marked');
    a.inc(ebx);
    a.jmp(L('.mark'));
    a.label('.foreground');
    a.xor(ebx, ebx);
    a.label('.next_pid');
    a.cmp(ebx, edi);
    a.jae(L('.out'));
    a.mov(eax, dword({ index: ebx, scale: 4, disp: shell_pids }));
    a.call(proc_wait, 'meanwhile the programs (and the idle loop) run');
    a.inc(ebx);
    a.jmp(L('.next_pid'));
    a.label('.out');
    a.pop(ebp); a.pop(edi); a.pop(esi); a.pop(ebx);
    a.ret();
  } },
  { name: 'ps', usage: 'ps', doc: 'the process table: pid, name, state, ticks, system calls', emit: (a) => {
    a.jmp(proc_ps);
  } },
  { name: 'kill', usage: 'kill <pid>', doc: 'end a user process (ps shows the pids)', emit: (a) => {
    a.push(ebx);
    a.mov(ebx, eax);
    a.call(parse_uint);
    a.test(edx, edx);
    a.jnz(L('.bad'));
    a.test(eax, eax);
    a.jz(L('.kernel'));
    a.mov(ebx, eax);
    a.call(proc_kill, 'prints "[proc] pid N killed: kill command"');
    a.test(eax, eax);
    a.jz(L('.out'));
    say(a, sh_msg_kill_none);
    putDec(a, ebx);
    a.call(serial_newline);
    a.jmp(L('.out'));
    a.label('.kernel');
    say(a, sh_msg_kill_kernel);
    a.jmp(L('.out'));
    a.label('.bad');
    say(a, sh_msg_kill_bad);
    a.mov(eax, ebx);
    a.call(serial_puts);
    say(a, sh_msg_quote_end);
    a.label('.out');
    a.pop(ebx);
    a.ret();
  } },
  { name: 'poweroff', usage: 'poweroff', doc: 'power the machine off (QEMU exits with status 33)', emit: (a) => {
    a.jmp(poweroff);
  } },
];

export const shell = defineModule({
  name: 'shell',
  title: 'The serial shell: line editing and commands',
  about: `
Without test= on the cmdline, boot ends in this shell: it prints "[tsk] ready"
and a "tsk> " prompt on COM1, reads a line with uart_getc (interrupt-driven,
uart_rx.asm), and runs the command.

Line editing: printable ASCII is echoed and stored; backspace (08h) or DEL
(7Fh) erases the last character ("\\b \\b" on the terminal); CR or LF ends the
line (an LF right after a CR is the same line end); every other byte is
ignored.  Terminal escape sequences are ignored whole - the arrow and
function keys send them: ESC [ <parameter bytes 30h-3Fh> <intermediate
bytes 20h-2Fh> <final byte 40h-7Eh> (CSI, ECMA-48 5.4; up-arrow is ESC [ A)
and ESC O <final byte> (SS3, "application mode" keys).  The editor keeps
one state variable (line_esc) and never swallows more than the sequence: a
control byte inside one (CR, LF, another ESC) ends it and counts as typed,
so Enter always ends the line; ESC followed by anything but [ or O drops
only the ESC (Alt-x sends ESC x: the x is typed).

A line longer than LINE_MAX characters is reported and discarded whole -
the buffer never grows past LINE_MAX + 1 bytes - and the next line starts
fresh.  No typed byte is lost on the way (uart_rx.asm holds input
back while its buffer is full), so a paste of any length reaches the shell
whole.  Should the UART itself ever lose bytes (an overrun), uart_getc
returns RX_LOST at that place and the shell says "input overrun" and
discards that line: a line with a gap could be the end of one command glued
to the start of the next.  Unknown commands and bad arguments get a
one-line error; nothing a user types stops the shell, except "poweroff".

The console has one reader at a time.  "run" without & gives it to the
programs it starts: the shell waits for them and reads nothing meanwhile.
"run ... &" returns to the prompt and the shell keeps the console: the
background programs' read(0) returns 0, end of file, as if their input were
/dev/null (what a Unix shell without job control does, POSIX XCU 2.9.3).
Ctrl-C still stops every user program, foreground or background.

Commands (a table in kernel/shell/shell.ts; dispatch and help are generated from it):
${COMMANDS.map((c) => `  ${c.usage.padEnd(10)} ${c.doc}`).join('\n')}

"int n" calls int_stubs + 4n, a generated table of "int n; ret" - int takes
its vector as an immediate, so each vector needs its own instruction.  It
refuses CPU exception vectors other than #BP: those without a handler would
panic, and those with an error code would leave the stack one word short.
It refuses the IRQ vectors 32-47 too: their handlers believe the 8259A
sent them - "int 32" would count a timer tick that never happened (and
charge it to a process), and every IRQ handler ends with an EOI to the PIC
for an interrupt that is not in service.`,
  spec: ['TI PC16550D data sheet (the UART); ASCII control codes BS, CR, LF, ESC, DEL', 'ECMA-48 (5th edition) §5.3-5.4: escape and control sequences (CSI, SS3)', 'POSIX XCU 2.9.3 Asynchronous Lists: without job control, a background command\'s standard input is /dev/null'],
  emit(a) {
    a.bss(line_buf, LINE_MAX.add(1), 4, 'the line being edited (LINE_MAX characters + NUL)');
    a.bss(line_len, 4, 4, 'characters in line_buf');
    a.bss(line_too_long, 4, 4, '1 when the current line overflowed');
    a.bss(line_lost, 4, 4, '1 when input was lost (UART overrun) in the current line');
    a.bss(line_esc, 4, 4, 'escape-sequence state (ESC_*)');
    a.bss(last_was_cr, 4, 4, '1 right after a CR, so that CR LF ends one line, not two');
    a.bss(shell_idtr, 8, 4, 'sidt stores IDTR here');
    a.bss(shell_pids, MAX_PROCS.mul(4), 4, 'pids started by one run command');
    a.bss(shell_background, 4, 4, '1 when the run command ended in &');

    a.label(shell_main);
    say(a, sh_msg_ready);
    a.label('.prompt');
    say(a, sh_msg_prompt);
    a.call(shell_readline);
    a.cmp(eax, RX_LOST);
    a.jne(L('.not_lost'));
    say(a, sh_msg_overrun);
    a.jmp(L('.prompt'));
    a.label('.not_lost');
    a.cmp(eax, -1);
    a.jne(L('.length_ok'));
    say(a, sh_msg_too_long);
    a.jmp(L('.prompt'));
    a.label('.length_ok');
    a.test(eax, eax);
    a.jz(L('.prompt'), 'empty line');
    a.call(shell_execute);
    a.jmp(L('.prompt'));

    a.section('shell_readline: edit one line into line_buf; EAX = length, -1 if it was too long, RX_LOST if input was lost in it');
    a.label(shell_readline);
    a.push(ebx);
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
    say(a, sh_msg_erase);
    a.jmp(L('.next'));
    a.label('.end');
    a.mov(byte({ base: ebx, disp: line_buf }), 0, 'NUL-terminate');
    a.call(serial_newline);
    a.mov(eax, ebx);
    a.cmp(dword(line_too_long), 0);
    a.je(L('.check_lost'));
    a.mov(eax, -1);
    a.label('.check_lost');
    a.cmp(dword(line_lost), 0);
    a.je(L('.out'));
    a.mov(eax, RX_LOST, 'a line with a gap is never run: it could glue two commands into one');
    a.label('.out');
    a.pop(ebx);
    a.ret();

    a.section('shell_execute: split line_buf into command and argument, dispatch');
    a.label(shell_execute);
    a.push(esi);
    a.push(ebx);
    a.mov(esi, line_buf);
    a.label('.skip');
    a.cmp(byte(esi), chr(' '));
    a.jne(L('.word'));
    a.inc(esi);
    a.jmp(L('.skip'));
    a.label('.word');
    a.mov(ebx, esi, 'EBX = command word');
    a.label('.scan');
    a.mov(al, byte(esi));
    a.test(al, al);
    a.jz(L('.args'), 'no argument: ESI points at the NUL, an empty string');
    a.cmp(al, chr(' '));
    a.je(L('.split'));
    a.inc(esi);
    a.jmp(L('.scan'));
    a.label('.split');
    a.mov(byte(esi), 0, 'end the command word');
    a.inc(esi);
    a.cmp(byte(esi), chr(' '));
    a.je(L('.split'), 'skip spaces before the argument');
    a.label('.args');
    a.cmp(byte(ebx), 0);
    a.je(L('.done'), 'only spaces');
    a.mov(eax, ebx);
    a.mov(edx, shell_commands);
    a.call(name_lookup, 'EAX = cmd_<name>, or 0');
    a.test(eax, eax);
    a.jz(L('.unknown'));
    a.mov(ecx, eax);
    a.mov(eax, esi, 'EAX = argument string');
    a.call(ecx);
    a.jmp(L('.done'));
    a.label('.unknown');
    say(a, sh_msg_unknown);
    a.mov(eax, ebx);
    a.call(serial_puts);
    say(a, sh_msg_unknown_end);
    a.label('.done');
    a.pop(ebx);
    a.pop(esi);
    a.ret();

    for (const c of COMMANDS) {
      a.section(`${c.usage}: ${c.doc}`);
      a.label(`cmd_${c.name}`);
      c.emit(a);
    }

    a.section('int_stubs: "int n; ret" for every vector n (shell command int)');
    a.label(int_stubs);
    a.rep({
      count: 256, var: 'n',
      rule: 'int_stubs + n * INT_STUB_SIZE: "int n; ret; nop" for every vector n = 0 .. 255 (int takes its vector as an immediate only)',
      nasm: ['    int n', '    ret', '    nop                                         ; pad to INT_STUB_SIZE bytes'],
    }, (r, v) => {
      r.int(v);
      r.ret();
      r.nop('pad to INT_STUB_SIZE bytes');
    });

    a.section('strings');
    emitNameTable(a, shell_commands, COMMANDS.map((c) => ({ name: c.name, value: L(`cmd_${c.name}`) })), 'command -> cmd_<name>');
    COMMANDS.forEach((c, i) => { a.label(`help_line_${i}`); a.db(`[shell] ${c.usage.padEnd(10)} ${c.doc}\r\n`, 0); });
    a.label(sh_msg_ready); a.db('[tsk] ready\r\n', 0);
    a.label(sh_msg_prompt); a.db('tsk> ', 0);
    a.label(sh_msg_erase); a.db('\x08 \x08', 0);
    a.label(sh_msg_too_long); a.db('[shell] line too long (more than 127 characters); ignored\r\n', 0);
    a.label(sh_msg_unknown); a.db("[shell] unknown command '", 0);
    a.label(sh_msg_unknown_end); a.db("' (try help)\r\n", 0);
    a.label(sh_msg_ticks); a.db('[ticks] ', 0);
    a.label(sh_msg_at); a.db(' ticks at ', 0);
    a.label(sh_msg_divisor); a.db(' Hz, PIT divisor ', 0);
    a.label(sh_msg_idtr); a.db('[idt] IDTR base=0x', 0);
    a.label(sh_msg_limit); a.db(' limit=0x', 0);
    a.label(sh_msg_vector); a.db('[idt] vector ', 0);
    a.label(sh_msg_handler); a.db(' handler=0x', 0);
    a.label(sh_msg_fired); a.db(' fired ', 0);
    a.label(sh_msg_times); a.db(' times\r\n', 0);
    a.label(sh_msg_idt_rest); a.db('[idt] other vectors: 0-31 dump and panic, 32-47 report an unexpected IRQ, the rest are reported and ignored\r\n', 0);
    a.label(sh_msg_irr); a.db('[pic] IRR master=0x', 0);
    a.label(sh_msg_isr); a.db(' ISR master=0x', 0);
    a.label(sh_msg_slave); a.db(' slave=0x', 0);
    a.label(sh_msg_spurious7); a.db('[pic] spurious IRQ7=', 0);
    a.label(sh_msg_spurious15); a.db(' IRQ15=', 0);
    a.label(sh_msg_uart); a.db('[uart] rx buffer 256 bytes, waiting: ', 0);
    a.label(sh_msg_uart_held); a.db(', input held (buffer full): ', 0);
    a.label(sh_msg_uart_dropped); a.db(' times, dropped bytes: ', 0);
    a.label(sh_word_overrun); a.db('overrun', 0);
    a.label(sh_msg_uart_overrun); a.db('[uart] loopback: 20 bytes sent into the 16-byte RX FIFO, the UART reported an overrun; the next line is discarded\r\n', 0);
    a.label(sh_msg_uart_no_overrun); a.db('[uart] loopback: 20 bytes sent, but the UART reported no overrun\r\n', 0);
    a.label(sh_msg_uart_bad); a.db("[shell] uart: unknown argument '", 0);
    a.label(sh_msg_uart_bad_end); a.db("' (usage: uart [overrun])\r\n", 0);
    a.label(sh_msg_overrun); a.db('[shell] input overrun: bytes were lost in this line; ignored\r\n', 0);
    a.label(sh_msg_raising); a.db('[shell] int: raising vector ', 0);
    a.label(sh_msg_returned); a.db('[shell] int: returned from vector ', 0);
    a.label(sh_msg_int_exception); a.db('[shell] int: refusing vector ', 0);
    a.label(sh_msg_int_exception_end); a.db(' (CPU exception; only 3 and 48-255 may be raised)\r\n', 0);
    a.label(sh_msg_int_irq); a.db(' (hardware interrupt IRQ', 0);
    a.label(sh_msg_int_irq_end); a.db(' of the 8259A: a software int would fake it, e.g. count a timer tick that never happened; only 3 and 48-255 may be raised)\r\n', 0);
    a.label(sh_msg_int_bad); a.db("[shell] int: expected a vector number 0-255, got '", 0);
    a.label(sh_msg_quote_end); a.db("'\r\n", 0);
    a.label(sh_msg_echo); a.db('[echo] ', 0);
    a.label(sh_msg_kill_none); a.db('[shell] kill: no user process has pid ', 0);
    a.label(sh_msg_kill_kernel); a.db('[shell] kill: pid 0 is the kernel task (it runs this shell)\r\n', 0);
    a.label(sh_msg_kill_bad); a.db("[shell] kill: expected a pid, got '", 0);
    a.label(sh_msg_run_usage); a.db('[shell] usage: run <program>... [&]; programs: ', 0);
  },
});
