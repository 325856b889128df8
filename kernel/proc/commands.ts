// Shell commands for processes: start user programs, list and end them.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ebx, ecx, edx, esi, edi, ebp, L, byte, dword, word, chr } from '../../toolchain/x86/operands.ts';
import { proc_find } from './proc.ts';
import { proc_run } from './spawn.ts';
import { proc_kill, proc_wait } from './exit.ts';
import { proc_ps } from './ps.ts';
import { MAX_PROCS, PROC } from './table.ts';
import { program_list } from './programs.ts';
import { user_arg } from '../cmdline.ts';
import { putDec, say } from '../lib/print.ts';
import { serial_newline } from '../dev/serial.ts';
import { arg_uint } from '../shell/args.ts';
import { type ShellCommand, commandStart } from '../shell/command.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); the handlers go into the shell's table.
export const cmd_run = sym('cmd_run');
export const cmd_ps = sym('cmd_ps');
export const cmd_kill = sym('cmd_kill');
const shell_background = sym('shell_background');
const shell_pids = sym('shell_pids');
const sh_msg_kill_bad = sym('sh_msg_kill_bad');
const sh_msg_kill_kernel = sym('sh_msg_kill_kernel');
const sh_msg_kill_none = sym('sh_msg_kill_none');
const sh_msg_run_usage = sym('sh_msg_run_usage');

const RUN: ShellCommand = { name: 'run', usage: 'run <prog>... [&]', doc: 'start user programs (together) and wait for them; & returns at once', handler: cmd_run };
const PS: ShellCommand = { name: 'ps', usage: 'ps', doc: 'the process table: pid, name, state, ticks, system calls', handler: cmd_ps };
const KILL: ShellCommand = { name: 'kill', usage: 'kill <pid>', doc: 'end a user process (ps shows the pids)', handler: cmd_kill };
/** The commands this module adds to the shell (shell.asm lists them in help). */
export const procCommands: readonly ShellCommand[] = [RUN, PS, KILL];

export const procCmds = defineModule({
  name: 'proc_cmds',
  title: 'Shell commands for processes: run, ps, kill',
  about: `
The user's handle on the process table (proc.asm): the kernel task, which
runs the shell, starts programs from the program table (programs.asm),
shows the table and ends entries in it.

  run p... [&]  starts each named program with proc_run - all of them
                before any runs, so they share the CPU (sched.asm) - and
                waits for each with proc_wait.  The console has one reader
                at a time: without &, the shell reads nothing until the
                programs have ended; with &, it returns to the prompt and
                keeps the console, and the background programs' read(0)
                returns 0, end of file, as if their input were /dev/null
                (what a Unix shell without job control does, POSIX XCU
                2.9.3).  Ctrl-C still stops every user program, foreground
                or background.  "run" alone lists the programs.
  ps            the process table as proc_ps prints it: pid, name, state,
                ticks run and system calls made.
  kill pid      ends a user process with proc_kill, as a fault would.  The
                pid is parsed by arg_uint (shell_args.asm); pid 0 is the
                kernel task itself and is refused.`,
  spec: ['POSIX XCU 2.9.3 Asynchronous Lists: without job control, a background command\'s standard input is /dev/null'],
  emit(a) {
    a.bss(shell_pids, MAX_PROCS.mul(4), 4, 'pids started by one run command');
    a.bss(shell_background, 4, 4, '1 when the run command ended in &');

    commandStart(a, RUN);
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

    commandStart(a, PS);
    a.jmp(proc_ps);

    commandStart(a, KILL);
    a.push(ebx);
    a.mov(edx, -1, 'any 32-bit number: proc_kill says whether the pid exists');
    a.mov(ecx, sh_msg_kill_bad);
    a.call(arg_uint, 'EAX = pid, or EDX = -1 after saying what was wrong');
    a.test(edx, edx);
    a.jnz(L('.out'));
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
    a.label('.out');
    a.pop(ebx);
    a.ret();

    a.section('strings');
    a.label(sh_msg_kill_none); a.db('[shell] kill: no user process has pid ', 0);
    a.label(sh_msg_kill_kernel); a.db('[shell] kill: pid 0 is the kernel task (it runs this shell)\r\n', 0);
    a.label(sh_msg_kill_bad); a.db("[shell] kill: expected a pid, got '", 0);
    a.label(sh_msg_run_usage); a.db('[shell] usage: run <program>... [&]; programs: ', 0);
  },
});
