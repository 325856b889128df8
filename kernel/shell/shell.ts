// The interactive shell on the serial console: its loop and its dispatcher.
// The commands come from the subsystems that own what they show
// (kernel/shell/command.ts); the line editor is kernel/shell/readline.ts.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ebx, edx, ecx, esi, byte } from '../../toolchain/x86/operands.ts';
import { arg_split } from './args.ts';
import { say } from '../lib/print.ts';
import { RX_LOST } from '../dev/uart_rx.ts';
import { emitNameTable } from '../lib/name_table.ts';
import { poweroff } from '../dev/qemu_exit.ts';
import { serial_newline, serial_puts } from '../dev/serial.ts';
import { name_lookup } from '../lib/string.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { type ShellCommand, commandRoutine } from './command.ts';
import { LINE_MAX, line_buf, shell_readline } from './readline.ts';
import { devCommands } from '../dev/commands.ts';
import { cpuCommands } from '../cpu/commands.ts';
import { procCommands } from '../proc/commands.ts';
import { memCommands } from '../mm/commands.ts';
import { pciCommands } from '../pci/commands.ts';
import { blkCommands } from '../blk/commands.ts';
import { benchCommands } from '../blk/bench.ts';
import { fsCommands } from '../fs/commands.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const shell_main = sym('shell_main');
const shell_execute = sym('shell_execute');
const shell_commands = sym('shell_commands');
const cmd_help = sym('cmd_help');
const cmd_echo = sym('cmd_echo');
const cmd_poweroff = sym('cmd_poweroff');

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
const HELP_ORDER = ['help', 'ticks', 'idt', 'pic', 'uart', 'int', 'echo', 'run', 'ps', 'kill', 'mem', 'lspci', 'blk', 'bench', 'ls', 'cat', 'stat', 'poweroff'];
export const COMMANDS: readonly ShellCommand[] = orderCommands(
  [[HELP, ECHO, POWEROFF], devCommands, cpuCommands, procCommands, memCommands, pciCommands, blkCommands, benchCommands, fsCommands].flat(), HELP_ORDER);

/** One line of help: the usages padded to the longest, so the descriptions form one column. */
export function helpLine(c: ShellCommand): string {
  const width = Math.max(...COMMANDS.map((x) => x.usage.length));
  return `${c.usage.padEnd(width)}  ${c.doc}`;
}

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
${COMMANDS.map((c) => `  ${helpLine(c)}`).join('\n')}`,
  spec: ['TI PC16550D data sheet (the UART)'],
  emit(a) {
    a.comment('The shell never returns: boot ends here (scenario_run jumps to it without test=).');
    a.label(shell_main);
    say(a, a.cstr('[tsk] ready\r\n'));
    a.loop_((prompt) => {
      say(a, a.cstr('tsk> ', 'prompt'));
      a.call(shell_readline);
      a.cmp(eax, RX_LOST);
      a.if_('e', () => {
        say(a, a.cstr('[shell] input overrun: bytes were lost in this line; ignored\r\n'));
        prompt.continue_();
      });
      a.cmp(eax, -1);
      a.if_('e', () => {
        say(a, a.cstr(`[shell] line too long (more than ${LINE_MAX.c.value} characters); ignored\r\n`));
        prompt.continue_();
      });
      a.test(eax, eax);
      prompt.continue_('z', 'empty line');
      a.call(shell_execute);
    });

    a.routine({
      name: shell_execute, does: 'split line_buf into a command word and its argument, and run the command',
      clobbers: [eax, ecx, edx], saves: [esi, ebx],
    }, (r) => {
      a.mov(eax, line_buf);
      a.call(arg_split, 'EAX = the command word, EDX = its argument');
      a.mov(ebx, eax, 'EBX = command word');
      a.mov(esi, edx, 'ESI = argument string');
      a.cmp(byte(ebx), 0);
      r.retIf('e', 'only spaces');
      a.mov(eax, ebx);
      a.mov(edx, shell_commands);
      a.call(name_lookup, 'EAX = the command\'s handler, or 0');
      a.test(eax, eax);
      a.if_('nz', () => {
        a.mov(ecx, eax);
        a.mov(eax, esi, 'EAX = argument string');
        a.call(ecx);
      }, () => {
        say(a, a.cstr("[shell] unknown command '"));
        a.mov(eax, ebx);
        a.call(serial_puts);
        say(a, a.cstr("' (try help)\r\n"));
      });
      r.ret();
    });

    commandRoutine(a, HELP, {}, (r) => {
      for (const c of COMMANDS) say(a, a.cstr(`[shell] ${helpLine(c)}\r\n`));
      r.ret();
    });

    commandRoutine(a, ECHO, { saves: [ebx] }, (r) => {
      a.mov(ebx, eax);
      say(a, a.cstr('[echo] '));
      a.mov(eax, ebx);
      a.call(serial_puts);
      a.call(serial_newline);
      r.ret();
    });

    commandRoutine(a, POWEROFF, {}, () => a.jmp(poweroff));

    a.section('shell_commands: every command\'s name and handler, for name_lookup');
    emitNameTable(a, shell_commands, COMMANDS.map((c) => ({ name: c.name, value: c.handler })), 'command -> its handler');
  },
});
