// Shell commands for processes: start user programs, list and end them.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ebx, ecx, edx, esi, edi, ebp, byte, dword, word, chr } from '../../toolchain/x86/operands.ts';
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
import { type ShellCommand, commandRoutine } from '../shell/command.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); the handlers go into the shell's table.
export const cmd_run = sym('cmd_run');
export const cmd_ps = sym('cmd_ps');
export const cmd_kill = sym('cmd_kill');
const shell_background = sym('shell_background');
const shell_pids = sym('shell_pids');

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

    commandRoutine(a, RUN, { saves: [ebx, esi, edi, ebp] }, (r) => {
      a.mov(esi, eax, 'ESI = cursor in the argument string');
      a.xor(edi, edi, 'EDI = programs started');
      a.xor(ebp, ebp, 'EBP = program names seen');
      a.mov(dword(shell_background), 0);
      a.loop_((words) => {
        a.while_(() => { a.cmp(byte(esi), chr(' ')); return 'e'; }, () => a.inc(esi), 'skip the spaces before the word');
        a.cmp(byte(esi), 0);
        words.break_('e', 'the end of the line: every program is started');
        a.mov(ebx, esi, 'EBX = this word');
        a.loop_((scan) => {
          a.inc(esi);
          a.cmp(byte(esi), 0);
          scan.break_('e', 'the last word');
          a.cmp(byte(esi), chr(' '));
          a.if_('e', () => {
            a.mov(byte(esi), 0, 'end the word');
            a.inc(esi);
            scan.break_();
          });
        });
        a.cmp(word(ebx), chr('&'), '"&" and its NUL');
        a.if_('e', () => {
          a.mov(dword(shell_background), 1);
          words.continue_();
        });
        a.inc(ebp);
        a.mov(eax, ebx);
        a.mov(edx, dword(user_arg), 'start argument: the cmdline seed=');
        a.call(proc_run, 'reports its own errors');
        a.test(eax, eax);
        a.if_('ns', () => {
          a.mov(dword({ index: edi, scale: 4, disp: shell_pids }), eax);
          a.inc(edi, '(at most 7: proc_spawn refuses more)');
        }, undefined, 'negative: not started (proc_run said why)');
      });
      a.test(ebp, ebp);
      a.if_('z', () => {
        say(a, a.cstr('[shell] usage: run <program>... [&]; programs: '));
        a.call(program_list);
        a.call(serial_newline);
        r.ret();
      }, undefined, 'program names were given');
      a.xor(ebx, ebx, 'EBX = index in shell_pids');
      a.cmp(dword(shell_background), 0);
      a.if_('ne', () => {
        a.comment('Background: the programs do not get the console (read(0) returns 0); back to the prompt.');
        a.comment('They have not run yet - the kernel task is never preempted - so no read() has begun.');
        a.while_(() => { a.cmp(ebx, edi); return 'b'; }, () => {
          a.mov(eax, dword({ index: ebx, scale: 4, disp: shell_pids }));
          a.call(proc_find);
          a.test(eax, eax);
          a.if_('nz', () => a.mov(dword(eax, PROC.f.background), 1), undefined, 'unless already gone: a Ctrl-C (IRQ4) may have ended it meanwhile');
          a.inc(ebx);
        });
        r.ret();
      });
      a.while_(() => { a.cmp(ebx, edi); return 'b'; }, () => {
        a.mov(eax, dword({ index: ebx, scale: 4, disp: shell_pids }));
        a.call(proc_wait, 'meanwhile the programs (and the idle loop) run');
        a.inc(ebx);
      }, 'foreground: wait for each program');
      r.ret();
    });

    commandRoutine(a, PS, {}, () => a.jmp(proc_ps));

    commandRoutine(a, KILL, { saves: [ebx] }, (r) => {
      a.mov(edx, -1, 'any 32-bit number: proc_kill says whether the pid exists');
      a.mov(ecx, a.cstr("[shell] kill: expected a pid, got '"));
      a.call(arg_uint, 'EAX = pid, or EDX = -1 after saying what was wrong');
      a.test(edx, edx);
      r.retIf('nz');
      a.test(eax, eax);
      a.if_('z', () => {
        say(a, a.cstr('[shell] kill: pid 0 is the kernel task (it runs this shell)\r\n'));
        r.ret();
      });
      a.mov(ebx, eax);
      a.call(proc_kill, 'prints "[proc] pid N killed: kill command"');
      a.test(eax, eax);
      r.retIf('z');
      say(a, a.cstr('[shell] kill: no user process has pid '));
      putDec(a, ebx);
      a.call(serial_newline);
      r.ret();
    });
  },
});
