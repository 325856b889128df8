// The scheduler: round-robin over the process table, preemption by the timer.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { cr3, eax, ebx, ecx, edx, edi, esi, ebp, esp, L, dword, mem, constant } from '../../toolchain/x86/operands.ts';
import { proc_current, proc_table, proc_table_end } from './proc.ts';
import { proc_end } from './exit.ts';
import { PROC, MAX_PROCS, PS_RUNNABLE, PS_SLEEPING, PS_WAIT_INPUT } from './table.ts';
import { tss_set_esp0 } from '../cpu/gdt.ts';
import { ticks } from '../dev/pit.ts';
import { con_user_emit, console_sync } from '../dev/serial.ts';
import { rx_head, rx_tail, uart_rx_tick } from '../dev/uart_rx.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const context_switch = sym('context_switch');
export const idle_ticks = sym('idle_ticks');
export const need_resched = sym('need_resched');
const quantum_left = sym('quantum_left');
export const sched_block = sym('sched_block');
export const sched_idle = sym('sched_idle');
export const sched_tick = sym('sched_tick');
export const sched_trap_exit = sym('sched_trap_exit');
export const sched_yield = sym('sched_yield');
export const schedule = sym('schedule');

export const SCHED_QUANTUM = constant('SCHED_QUANTUM', 1, 'timer ticks a ring-3 process may run before it is preempted', { radix: 10 });

export const sched = defineModule({
  name: 'sched',
  title: 'The scheduler: context switch, round robin, preemption on IRQ0, idle',
  about: `
Every process (and the kernel's own task, pid 0, which runs the shell or a
test scenario) has its own kernel stack.  A process that is not running is
always stopped *inside the kernel*, in context_switch, with its registers
saved on that stack - whether it got there by a system call (sleep, yield,
read) or because the timer interrupted it in ring 3.  Switching is then
only: save ESP in the old process's entry, load the new one's ESP, pop.

  context_switch  EAX = where to save the old ESP, EDX = new ESP
      push ebp, ebx, esi, edi      the callee-saved registers (the kernel
      mov [eax], esp               calling convention says the caller does
      mov esp, edx                 not expect EAX, ECX, EDX to survive)
      pop edi, esi, ebx, ebp
      ret                          returns into the *new* process's kernel
                                   code - for a new process: trap_return,
                                   which irets to ring 3 (spawn.asm builds it)

schedule() looks at the table round-robin, starting after the current
process, and picks the first that can run: RUNNABLE, or SLEEPING whose
wake-up tick has come, or WAITING FOR INPUT with a byte in the serial
buffer.  Before switching it loads the new process's CR3 (its address
space) and TSS.ESP0 (the top of its kernel stack: where the CPU will put
the next trap frame when that process enters the kernel from ring 3).
If nothing can run, the idle loop halts: "sti; hlt" sleeps until the next
interrupt (a tick or a byte), then "cli" and look again.  A sleeping
process's wake-up tick is compared as a signed difference,
(int)(ticks - wake) >= 0, not as "ticks >= wake": ticks wraps after 2^32
(497 days at 100 Hz), and the plain compare would wake a sleeper at once
when its wake-up tick has wrapped past zero while ticks has not (Linux's
time_after() does the same).

Accounting: sched_tick charges each tick to the process that was running.
While the idle loop halts nobody runs - proc_current then still names the
process that blocked (or even ended) last - so the idle loop sets
sched_idle and those ticks go to idle_ticks instead; ps shows them on an
"idle" line.

The scheduler is also where the console learns that a writer leaves the
CPU (serial.asm): schedule() sends the lines interrupts deferred
(console_sync), and sched_block sends the blocking process's unfinished
output line, so a prompt is visible while its program waits.

Preemption: pit_irq calls sched_tick on every tick, which charges the tick
to the current process and, after SCHED_QUANTUM ticks, sets need_resched.
trap_dispatch calls sched_trap_exit just before returning to ring 3; if
need_resched is set it calls schedule(), so a CPU-bound program loses the
CPU at the end of its quantum.  The kernel itself is never preempted:
switches happen only on the way back to ring 3 or where kernel code asks
for one (sleep, yield, waiting for input or for a process to end).  System
calls run with interrupts off (an interrupt gate); the kernel task's shell
runs with them on, but an interrupt there returns to ring 0, never switches.
That is the simplest design that is still correct on one CPU: no kernel
data is ever touched by two processes at once.  (sched_trap_exit also ends
a process that Ctrl-C marked while it ran: exit.asm, proc_interrupt.)

Routines: schedule, sched_yield, sched_block (EAX = state, EDX = wait
value), sched_tick, sched_trap_exit (EAX = trap frame).`,
  spec: ['Intel SDM Vol. 3A §6.12.1 (stack switch on a privilege change), §7.2.1 (TSS ESP0)', 'xv6: proc.c (scheduler, sched, yield), swtch.S'],
  emit(a) {
    a.bss(need_resched, 4, 4, '1 when the current process has used up its quantum');
    a.bss(quantum_left, 4, 4, 'ticks left in the current quantum');
    a.bss(sched_idle, 4, 4, '1 while the CPU halts because nothing can run (ticks then go to idle_ticks)');
    a.bss(idle_ticks, 4, 4, 'timer ticks that arrived while the CPU was idle');

    a.label(context_switch, 'EAX = &old->kesp, EDX = new->kesp');
    a.push(ebp);
    a.push(ebx);
    a.push(esi);
    a.push(edi);
    a.mov(dword(eax), esp, 'the old process stops here ...');
    a.mov(esp, edx, '... and the new one continues where it stopped');
    a.pop(edi);
    a.pop(esi);
    a.pop(ebx);
    a.pop(ebp);
    a.ret();

    a.routine({
      name: schedule, does: 'run the next process that can run (may be the current one); returns when this one runs again',
      out: { flags: 'as on entry (IF too: pushfd ... popfd)' },
      clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.pushfd();
      a.cli('the process table must not change under us');
      a.label('.scan');
      a.call(console_sync, 'the running code may be leaving the CPU: lines deferred by interrupts go out now');
      a.comment('The round-robin scan, written out rather than with forEachProc (iter.ts): it starts after the');
      a.comment('current entry and wraps around to proc_table, so that every process gets its turn in order.');
      a.mov(ebx, dword(proc_current));
      a.mov(ecx, MAX_PROCS, 'look at every entry once, the current one last');
      a.label('.next');
      a.add(ebx, PROC.SIZE);
      a.cmp(ebx, proc_table_end);
      a.jb(L('.check'));
      a.mov(ebx, proc_table, 'wrap around');
      a.label('.check');
      a.mov(eax, dword(ebx, PROC.f.state));
      a.cmp(eax, PS_RUNNABLE);
      a.je(L('.found'));
      a.cmp(eax, PS_SLEEPING);
      a.jne(L('.not_sleeping'));
      a.mov(edx, dword(ticks));
      a.sub(edx, dword(ebx, PROC.f.wait), 'EDX = ticks - wake-up tick, modulo 2^32');
      a.jns(L('.wake'), 'its wake-up tick has come: the difference is >= 0 read as signed, even across the wrap');
      a.label('.not_sleeping');
      a.cmp(eax, PS_WAIT_INPUT);
      a.jne(L('.skip'));
      a.mov(edx, dword(rx_tail));
      a.cmp(edx, dword(rx_head));
      a.jne(L('.wake'), 'a byte is waiting in the serial buffer');
      a.label('.skip');
      a.dec(ecx);
      a.jnz(L('.next'));
      a.mov(dword(sched_idle), 1, 'nothing can run: the ticks from now on are idle time, nobody\'s');
      a.sti('idle until the next interrupt');
      a.hlt('(sti takes effect after hlt starts, so no interrupt is lost in between)');
      a.cli();
      a.mov(dword(sched_idle), 0);
      a.jmp(L('.scan'));
      a.label('.wake');
      a.mov(dword(ebx, PROC.f.state), PS_RUNNABLE);
      a.label('.found');
      a.mov(dword(quantum_left), SCHED_QUANTUM, 'a fresh quantum');
      a.mov(dword(need_resched), 0);
      a.mov(eax, dword(proc_current));
      a.cmp(ebx, eax);
      a.je(L('.same'), 'the current process goes on: no switch');
      a.mov(dword(proc_current), ebx);
      a.mov(edx, dword(ebx, PROC.f.cr3));
      a.mov(cr3, edx, 'the new address space (the kernel half is the same in all)');
      a.push(eax);
      a.mov(eax, dword(ebx, PROC.f.kstack_top));
      a.call(tss_set_esp0, 'the next entry from ring 3 lands on the new kernel stack');
      a.pop(eax);
      a.lea(eax, mem(eax, PROC.f.kesp));
      a.mov(edx, dword(ebx, PROC.f.kesp));
      a.call(context_switch, 'returns when someone switches back to us');
      a.label('.same');
      a.popfd('interrupts as they were');
      r.ret();
    });

    a.routine({
      name: sched_yield, does: 'give up the CPU, stay runnable',
      out: { flags: 'as on entry (schedule)' }, clobbers: [eax, ecx, edx],
    }, () => {
      a.mov(eax, dword(proc_current));
      a.mov(dword(eax, PROC.f.state), PS_RUNNABLE);
      a.jmp(schedule, 'tail call');
    });

    a.routine({
      name: sched_block, does: 'block the current process until the scheduler sees its wait is over',
      in: { eax: 'state (PS_SLEEPING, PS_WAIT_INPUT, PS_WAIT_EXIT)', edx: 'wait value: wake-up tick, or a pid' },
      clobbers: [eax, ecx, edx],
    }, () => {
      a.comment('IF comes back as the caller had it (schedule restores EFLAGS); the other flags do not.');
      a.push(eax);
      a.push(edx);
      a.mov(eax, dword(proc_current));
      a.xor(edx, edx);
      a.call(con_user_emit, 'show its unfinished output line (a prompt before read()) while it waits');
      a.pop(edx);
      a.pop(eax);
      a.mov(ecx, dword(proc_current));
      a.mov(dword(ecx, PROC.f.wait), edx);
      a.mov(dword(ecx, PROC.f.state), eax);
      a.jmp(schedule, 'tail call');
    });

    a.routine({
      name: sched_tick, does: 'charge a timer tick (pit_irq calls it on every tick); preempt at the end of a quantum',
      clobbers: [eax, ecx, edx],
    }, (r) => {
      a.call(uart_rx_tick, 'console input held too long? (uart_rx.asm; clobbers EAX, ECX, EDX)');
      a.cmp(dword(sched_idle), 0);
      a.if_('ne', () => {
        a.inc(dword(idle_ticks), 'the CPU was halted: nobody ran, not even the process that blocked last');
        r.ret();
      });
      a.mov(eax, dword(proc_current));
      a.inc(dword(eax, PROC.f.ticks), 'charge the tick to the process that was running');
      a.dec(dword(quantum_left));
      a.if_('le', () => a.mov(dword(need_resched), 1, 'quantum used up: switch before returning to ring 3'));
      r.ret();
    });

    a.routine({
      name: sched_trap_exit, does: 'on the way back to ring 3: end a process Ctrl-C marked, preempt one whose quantum is over',
      in: { eax: 'trap frame (not used)' }, clobbers: [eax, ecx, edx],
    }, (r) => {
      a.mov(ecx, dword(proc_current));
      a.cmp(dword(ecx, PROC.f.killed), 0);
      a.jne(proc_end, 'Ctrl-C arrived while it ran: end it instead of returning (proc_end does not return)');
      a.cmp(dword(need_resched), 0);
      r.retIf('e', 'quantum not used up');
      a.jmp(sched_yield, 'preempt: another process gets the CPU, we continue later from here');
    });
  },
});
