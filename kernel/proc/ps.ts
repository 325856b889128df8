// ps: the process table as a reader (or a test) sees it, one line per process.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, eax, ebx, ecx, edx, L, dword, chr } from '../../toolchain/x86/operands.ts';
import { PROC } from './table.ts';
import { putDec, say } from '../lib/print.ts';
import { serial_newline, serial_putc, serial_puts } from '../dev/serial.ts';
import { idle_ticks } from './sched.ts';
import { proc_current } from './proc.ts';
import { forEachProc } from './iter.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const proc_ps = sym('proc_ps');
const proc_state_names = sym('proc_state_names');

/** Names of the PS_* states (table.ts), indexed by the state's value. */
const STATE_NAMES = ['free', 'runnable', 'sleeping', 'wait-input', 'wait-exit'];

export const ps = defineModule({
  name: 'ps',
  title: 'ps: one line per process, and the time nobody ran',
  about: `
proc_ps prints every live entry of the process table (the shell's "ps",
and the boot-test scenarios, which check the states):

    [ps] pid 0 kernel running ticks=12 syscalls=0
    [ps] pid 1 hello runnable ticks=0 syscalls=0
    [ps] idle (CPU halted, nothing could run) ticks=3

"running" is the entry proc_current points at; the others show their state
(PS_*), named by proc_state_names: a table of string pointers indexed by
the state's value.  ticks and syscalls are what sched_tick and the system-call
entry (sched.asm, syscall.asm) charged to the process.  The last line is
the time the CPU halted in the idle loop: charged to nobody, so that the
per-process ticks add up to what really ran.`,
  spec: ['xv6: proc.c (procdump)'],
  emit(a) {
    a.routine({
      name: proc_ps, does: 'print one line per live process, and the idle time',
      clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      forEachProc(a, ebx, () => {
        say(a, a.cstr('[ps] pid '));
        putDec(a, dword(ebx, PROC.f.pid));
        a.mov(al, chr(' '));
        a.call(serial_putc);
        a.mov(eax, dword(ebx, PROC.f.name));
        a.call(serial_puts);
        a.mov(al, chr(' '));
        a.call(serial_putc);
        a.mov(eax, a.cstr('running'));
        a.cmp(ebx, dword(proc_current));
        a.if_('ne', () => {
          a.mov(ecx, dword(ebx, PROC.f.state));
          a.mov(eax, dword({ index: ecx, scale: 4, disp: proc_state_names }));
        });
        a.call(serial_puts);
        say(a, a.cstr(' ticks='));
        putDec(a, dword(ebx, PROC.f.ticks));
        say(a, a.cstr(' syscalls='));
        putDec(a, dword(ebx, PROC.f.syscalls));
        a.call(serial_newline);
      }, { skipFree: true });
      say(a, a.cstr('[ps] idle (CPU halted, nothing could run) ticks='));
      putDec(a, dword(idle_ticks), 'ticks while the CPU halted (sched.asm): charged to nobody');
      a.call(serial_newline);
      r.ret();
    });

    a.section('the state names');
    a.label(proc_state_names, 'PS_* -> name');
    STATE_NAMES.forEach((_, i) => a.dataC(4, [L(`proc_state_${i}`)], `PS state ${i}`));
    STATE_NAMES.forEach((n, i) => { a.label(`proc_state_${i}`); a.db(n, 0); });
  },
});
