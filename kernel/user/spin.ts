// spin: a CPU-bound program, to watch preemption.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ecx, dword, constant } from '../../toolchain/x86/operands.ts';
import { u_exit, u_getpid, u_put_dec, u_puts, u_uptime } from './ulib.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const _start = sym('_start');
const spin_pid = sym('spin_pid');
const spin_step = sym('spin_step');
const spin_t0 = sym('spin_t0');

export const SPIN_STEPS = constant('SPIN_STEPS', 5, 'spin reports this many steps, then exits');
export const SPIN_STEP_TICKS = constant('SPIN_STEP_TICKS', 5, 'each step busy-loops until this many timer ticks have passed');

export const spin = defineModule({
  name: 'spin',
  title: 'spin: burn CPU and report progress - it never yields',
  about: `
spin never gives up the CPU on its own: it loops, and only asks the time
(uptime(), which returns at once) to decide when a step is done.  A step
lasts SPIN_STEP_TICKS timer ticks of wall-clock time; after each it prints
"[spin] pid N step S/5".

Run two at once ("run spin spin", or test=preempt): without preemption the
first would print all five steps before the second printed one; with it,
the timer interrupt takes the CPU away from each at the end of its quantum
and their lines interleave.`,
  emit(a) {
    a.label(_start);
    a.call(u_getpid);
    a.mov(dword(spin_pid), eax);
    a.mov(dword(spin_step), 1);
    a.doWhile(() => {
      a.call(u_uptime);
      a.mov(dword(spin_t0), eax);
      a.doWhile(() => {
        a.forCount(ecx, 10000, () => {}, 'pure computation: only the timer can interrupt this');
        a.call(u_uptime);
        a.sub(eax, dword(spin_t0));
      }, () => { a.cmp(eax, SPIN_STEP_TICKS); return 'b'; }, 'busy until SPIN_STEP_TICKS ticks have passed');
      a.mov(eax, a.cstr('[spin] pid '));
      a.call(u_puts);
      a.mov(eax, dword(spin_pid));
      a.call(u_put_dec);
      a.mov(eax, a.cstr(' step '));
      a.call(u_puts);
      a.mov(eax, dword(spin_step));
      a.call(u_put_dec);
      a.mov(eax, a.cstr('/5\n'));
      a.call(u_puts);
      a.inc(dword(spin_step));
    }, () => { a.cmp(dword(spin_step), SPIN_STEPS); return 'be'; }, 'steps 1 .. SPIN_STEPS');
    a.mov(eax, 0);
    a.call(u_exit);

    a.label(spin_pid); a.dd(0);
    a.label(spin_step); a.dd(0);
    a.label(spin_t0); a.dd(0);
  },
});
