// The interactive shell on the serial console: its loop and its dispatcher.
// The commands come from the subsystems that own what they show
// (kernel/shell/command.ts); the line editor is kernel/shell/readline.ts.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, eax, ebx, edx, ecx, esi, L, byte, chr } from '../../toolchain/x86/operands.ts';
import { say } from '../lib/print.ts';
import { RX_LOST } from '../dev/uart_rx.ts';
import { emitNameTable } from '../lib/name_table.ts';
import { poweroff } from '../dev/qemu_exit.ts';
import { serial_newline, serial_puts } from '../dev/serial.ts';
import { name_lookup } from '../lib/string.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { type ShellCommand, commandStart } from './command.ts';
import { LINE_MAX, line_buf, shell_readline } from './readline.ts';
import { devCommands } from '../dev/commands.ts';
import { cpuCommands } from '../cpu/commands.ts';
import { procCommands } from '../proc/commands.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const shell_main = sym('shell_main');
const shell_execute = sym('shell_execute');
const shell_commands = sym('shell_commands');
const cmd_help = sym('cmd_help');
const cmd_echo = sym('cmd_echo');
const cmd_poweroff = sym('cmd_poweroff');
const sh_msg_echo = sym('sh_msg_echo');
const sh_msg_overrun = sym('sh_msg_overrun');
const sh_msg_prompt = sym('sh_msg_prompt');
const sh_msg_ready = sym('sh_msg_ready');
const sh_msg_too_long = sym('sh_msg_too_long');
const sh_msg_unknown = sym('sh_msg_unknown');
const sh_msg_unknown_end = sym('sh_msg_unknown_end');

// The shell's own commands: the ones that show no subsystem's data.
const HELP: ShellCommand = { name: 'help', usage: 'help', doc: 'list the commands', handler: cmd_help };
const ECHO: ShellCommand = { name: 'echo', usage: 'echo <text>', doc: 'print the text back', handler: cmd_echo };
const POWEROFF: ShellCommand = { name: 'poweroff', usage: 'poweroff', doc: 'power the machine off (QEMU exits with status 33)', handler: cmd_poweroff };

/**
 * Every command: the subsystems' lists, then the order help prints them in -
 * the order the shell has always listed them, which interleaves the lists
 * (ticks from the devices, then idt from the CPU, then pic ...).  A command
 * missing from the order, or a name in it that no list has, stops the build.
 */
const HELP_ORDER = ['help', 'ticks', 'idt', 'pic', 'uart', 'int', 'echo', 'run', 'ps', 'kill', 'poweroff'];
export const COMMANDS: readonly ShellCommand[] = orderCommands(
  [[HELP, ECHO, POWEROFF], devCommands, cpuCommands, procCommands].flat(), HELP_ORDER);

export function orderCommands(all: readonly ShellCommand[], order: readonly string[]): ShellCommand[] {
  const byName = new Map<string, ShellCommand>();
  for (const c of all) {
    if (byName.has(c.name)) throw new Error(`shell command '${c.name}' is contributed twice (${byName.get(c.name)!.handler.file} and ${c.handler.file})`);
    byName.set(c.name, c);
  }
  const missing = all.filter((c) => !order.includes(c.name));
  if (missing.length > 0) throw new Error(`shell command '${missing[0]!.name}' (${missing[0]!.handler.file}) has no place in HELP_ORDER (kernel/shell/shell.ts)`);
  return order.map((n) => {
    const c = byName.get(n);
    if (!c) throw new Error(`HELP_ORDER (kernel/shell/shell.ts) names '${n}', but no subsystem contributes a command of that name`);
    return c;
  });
}

export const shell = defineModule({
  name: 'shell',
  title: 'The serial shell: the prompt loop and the commands',
  about: `
Without test= on the cmdline, boot ends in this shell: it prints "[tsk] ready"
and a "tsk> " prompt on COM1, reads a line with shell_readline (line
editing, readline.asm), splits it into a command word and an argument
string, and calls the command's handler.

A line that was too long (more than LINE_MAX characters) or in which the
UART lost input is reported and not run: "input overrun" means a line with
a gap, which could be the end of one command glued to the start of the
next.  Unknown commands and bad arguments get a one-line error; nothing a
user types stops the shell, except "poweroff".

The shell itself reads no other module's variables.  Each subsystem
contributes its commands as data - name, usage, one line of help, handler
(kernel/shell/command.ts) - and a handler of its own module shows its
state: dev_cmds.asm (devices), cpu_cmds.asm (interrupts), proc_cmds.asm
(processes).  From their lists this module generates the name table
(shell_commands, looked up with name_lookup from string.asm) and help's
text; it keeps only the commands that belong to no subsystem.  A number
argument is parsed by arg_uint (shell_args.asm).

The console has one reader at a time: while "run" waits for its programs
(proc_cmds.asm) the shell reads nothing; "run ... &" returns to the prompt
and the shell keeps the console.

Commands, in help's order:
${COMMANDS.map((c) => `  ${c.usage.padEnd(10)} ${c.doc}`).join('\n')}`,
  spec: ['TI PC16550D data sheet (the UART)'],
  emit(a) {
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
    a.call(name_lookup, 'EAX = the command\'s handler, or 0');
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

    commandStart(a, HELP);
    COMMANDS.forEach((_, i) => say(a, L(`help_line_${i}`)));
    a.ret();

    commandStart(a, ECHO);
    a.push(ebx);
    a.mov(ebx, eax);
    say(a, sh_msg_echo);
    a.mov(eax, ebx);
    a.call(serial_puts);
    a.pop(ebx);
    a.jmp(serial_newline);

    commandStart(a, POWEROFF);
    a.jmp(poweroff);

    a.section('strings');
    emitNameTable(a, shell_commands, COMMANDS.map((c) => ({ name: c.name, value: c.handler })), 'command -> its handler');
    COMMANDS.forEach((c, i) => { a.label(`help_line_${i}`); a.db(`[shell] ${c.usage.padEnd(10)} ${c.doc}\r\n`, 0); });
    a.label(sh_msg_ready); a.db('[tsk] ready\r\n', 0);
    a.label(sh_msg_prompt); a.db('tsk> ', 0);
    a.label(sh_msg_too_long); a.db(`[shell] line too long (more than ${LINE_MAX.c.value} characters); ignored\r\n`, 0);
    a.label(sh_msg_unknown); a.db("[shell] unknown command '", 0);
    a.label(sh_msg_unknown_end); a.db("' (try help)\r\n", 0);
    a.label(sh_msg_overrun); a.db('[shell] input overrun: bytes were lost in this line; ignored\r\n', 0);
    a.label(sh_msg_echo); a.db('[echo] ', 0);
  },
});
