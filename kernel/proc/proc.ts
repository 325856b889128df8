// Processes: the process table, starting a program in ring 3, ending it.
import { KERNEL_STACK_SIZE, kernel_stack } from '../entry.ts';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, cr2, eax, ebx, ecx, edx, esi, edi, ebp, L, dword, mem, constant, chr } from '../../toolchain/x86/operands.ts';
import { MAX_PROCS, PROC, PS_FREE, PS_RUNNABLE, PS_SLEEPING, PS_WAIT_EXIT, PS_WAIT_INPUT, PROG } from './table.ts';
import { SEL_USER_CODE, SEL_USER_DATA } from '../../boot/gdt.ts';
import { CONTEXT, TRAPFRAME } from '../cpu/trapframe.ts';
import { PM_IMAGE, PM_KSTACK_TOP, PROC_MEM_BASE, PROC_MEM_SIZE, vm_create } from './vm.ts';
import { USER_BASE, USER_STACK_TOP } from './abi.ts';
import { VEC_PF, exception_names, pf_print_error } from '../cpu/exceptions.ts';
import { EAGAIN, ENOENT, ESRCH } from './errno.ts';
import { putDec, putHex32, say } from '../lib/print.ts';
import { trap_return } from '../cpu/isr.ts';
import { kernel_pgdir } from '../cpu/paging.ts';
import { fw_cfg_ram_kib } from '../dev/fw_cfg.ts';
import { panic } from '../dev/qemu_exit.ts';
import { con_user_end, serial_newline, serial_put_int, serial_putc, serial_puts } from '../dev/serial.ts';
import { program_find, program_list } from './programs.ts';
import { idle_ticks, sched_block, schedule } from './sched.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const mem_check = sym('mem_check');
const next_pid = sym('next_pid');
export const proc_current = sym('proc_current');
export const proc_end = sym('proc_end');
export const proc_exit = sym('proc_exit');
export const proc_fault = sym('proc_fault');
export const proc_find = sym('proc_find');
const proc_free = sym('proc_free');
export const proc_init = sym('proc_init');
export const proc_interrupt = sym('proc_interrupt');
export const proc_kill = sym('proc_kill');
const proc_msg_at = sym('proc_msg_at');
const proc_msg_close = sym('proc_msg_close');
const proc_msg_cr2 = sym('proc_msg_cr2');
const proc_msg_ctrl_c = sym('proc_msg_ctrl_c');
const proc_msg_exited = sym('proc_msg_exited');
const proc_msg_full = sym('proc_msg_full');
const proc_msg_init = sym('proc_msg_init');
const proc_msg_kill = sym('proc_msg_kill');
const proc_msg_killed = sym('proc_msg_killed');
const proc_msg_mem = sym('proc_msg_mem');
const proc_msg_mem_needs = sym('proc_msg_mem_needs');
const proc_msg_mem_panic = sym('proc_msg_mem_panic');
const proc_msg_mem_unknown = sym('proc_msg_mem_unknown');
const proc_msg_mem_why = sym('proc_msg_mem_why');
const proc_msg_no_program = sym('proc_msg_no_program');
const proc_msg_pid = sym('proc_msg_pid');
const proc_msg_programs = sym('proc_msg_programs');
const proc_msg_ps = sym('proc_msg_ps');
const proc_msg_ps_idle = sym('proc_msg_ps_idle');
const proc_msg_started = sym('proc_msg_started');
const proc_msg_syscalls = sym('proc_msg_syscalls');
const proc_msg_ticks = sym('proc_msg_ticks');
const proc_msg_zombie = sym('proc_msg_zombie');
const proc_name_kernel = sym('proc_name_kernel');
export const proc_ps = sym('proc_ps');
export const proc_run = sym('proc_run');
const proc_say_pid = sym('proc_say_pid');
const proc_spawn = sym('proc_spawn');
const proc_state_names = sym('proc_state_names');
const proc_state_running = sym('proc_state_running');
export const proc_table = sym('proc_table');
export const proc_table_end = sym('proc_table_end');
export const proc_wait = sym('proc_wait');

/**
 * proc_spawn turns an entry's offset in proc_table into its memory slot's
 * offset with one shift: (index - 1) * PROC.SIZE << PROC_MEM_SHIFT =
 * (index - 1) * PROC_MEM_SIZE.  That holds only while PROC.SIZE << shift ==
 * PROC_MEM_SIZE: checked here, at build time.
 */
export const PROC_MEM_SHIFT = constant('PROC_MEM_SHIFT', 10, 'proc_size << PROC_MEM_SHIFT = PROC_MEM_SIZE: entry offset -> slot offset (64 << 10 = 64 KiB)', { radix: 10 });
/** The build-time check behind PROC_MEM_SHIFT: an error naming the three values when the shift is wrong. */
export function checkProcMemShift(procSize: number, shift: number, memSize: number): void {
  if (procSize * 2 ** shift !== memSize) {
    throw new Error(`kernel/proc/proc.ts: proc_size (${procSize}) << PROC_MEM_SHIFT (${shift}) = ${procSize * 2 ** shift}, not PROC_MEM_SIZE (${memSize}): proc_spawn's shift would pick the wrong memory slot`);
  }
}
checkProcMemShift(PROC.size, PROC_MEM_SHIFT.c.value as number, PROC_MEM_SIZE.c.value as number);

const STATE_NAMES = ['free', 'runnable', 'sleeping', 'wait-input', 'wait-exit'];

/** RAM the kernel needs: everything up to the end of the last process slot (slots 1-7 from PROC_MEM_BASE). */
const memNeeded = (PROC_MEM_BASE.c.value as number) + ((MAX_PROCS.c.value as number) - 1) * (PROC_MEM_SIZE.c.value as number);
export const MEM_NEEDED_KIB = constant('MEM_NEEDED_KIB', memNeeded / 1024, 'RAM the kernel needs, in KiB: up to the end of the 7th user slot (1 MiB + 7 x 64 KiB)', { radix: 10 });
const MEM_NEEDED_MIB = Math.ceil(memNeeded / 0x100000);

export const EFLAGS_USER = constant('EFLAGS_USER', 0x202, 'initial user EFLAGS: IF = 1 (bit 9), bit 1 always 1, IOPL = 0');


export const proc = defineModule({
  name: 'proc',
  title: 'Processes: the process table, entering ring 3 with iret, exit and faults',
  about: `
A process is a program running in ring 3 in its own address space (vm.asm),
plus what the kernel keeps about it: one entry of proc_table (struc proc, below).
Entry 0 is the kernel's own task - the one that booted, runs the shell or a
test scenario, and waits for programs; it never leaves ring 0.

How a program gets to ring 3 the first time.  There is no instruction "go
to ring 3"; the only ways down are the returns: iretd (or retf).  So
proc_spawn builds on the new process's kernel stack exactly what an
interrupt from ring 3 would have left there - a trap frame (struc trapframe
in kernel.asm):

    SS = 0x23, ESP = USER_STACK_TOP    pushed by the CPU on a privilege change
    EFLAGS = 0x202 (IF = 1, IOPL = 0)  pushed by the CPU
    CS = 0x1B, EIP = USER_BASE         pushed by the CPU
    error 0, vector 0                  pushed by the stub
    EAX = start argument, others 0     pushad
    DS = ES = FS = GS = 0x23           pushed by isr_common

and below it a context for context_switch whose return address is
trap_return (isr.asm).  When the scheduler first switches to it,
context_switch "returns" into trap_return, which pops the segment and
general registers and executes iretd: the CPU pops EIP and CS, sees that
CS has RPL 3 - a return to a less privileged level - and therefore also
pops ESP and SS, checks the selectors against the GDT (DPL 3 descriptors),
and continues at USER_BASE with CPL = 3.  From then on the program can
reach the kernel only through interrupts and exceptions: int 0x80, the
timer, a fault.

Ending.  exit() or a fault in ring 3 ends the process: any task waiting for
it is woken, its entry is freed, and schedule() switches away for good
(the entry and its memory slot are reused only by a later spawn).  A fault
in ring 3 is the program's problem, not the kernel's: the kernel prints
"[proc] pid N killed: <exception> at <eip>" (and, for #PF, the address and
the decoded error code) and carries on.

  proc_init     the table, with the kernel task as pid 0
  proc_spawn    EAX = program entry (programs.asm), EDX = start argument
                -> EAX = pid, or -EAGAIN when all slots are taken
  proc_run      EAX = program name, EDX = start argument: find and spawn
                -> EAX = pid, or -ENOENT (reported with the list of programs)
  proc_exit     EAX = exit code (current process; does not return)
  proc_fault    EAX = trap frame of a ring-3 exception (does not return)
  proc_wait     EAX = pid: block until that process has ended
  proc_interrupt  Ctrl-C on the console: end every user process
  proc_kill     EAX = pid: end that user process (called by the kernel task)
  proc_ps       print the table (and the idle ticks, sched.asm)
  mem_check     at boot: enough RAM for every process slot? (else panic)

Memory.  The kernel itself lives below 640 KiB (the image builder checks
its load window), but the process slots run from 1 MiB to
1 MiB + 7 x 64 KiB = ${memNeeded / 1024} KiB.  On a machine with less RAM the
first spawn would write its page tables into nothing and the CPU would
triple-fault on the next CR3 load.  So mem_check asks QEMU how much RAM
the machine has (fw_cfg item FW_CFG_RAM_SIZE: exactly what -m said; a real
PC would ask the BIOS for its E820 map before leaving real mode, and CMOS
registers 30h/31h only count up to 63 MiB above 1 MiB) and panics with
both numbers when it is too little.  QEMU's "-m 1" really gives 1 MiB;
"-m ${MEM_NEEDED_MIB}" is the least that works.`,
  spec: ['Intel SDM Vol. 3A §6.12.1 (stack frames with and without a privilege change)', 'Intel SDM Vol. 2A IRET: "return to outer privilege level"', 'xv6: proc.c (allocproc, userinit, exit, wait)'],
  emit(a) {
    a.bss(proc_table, MAX_PROCS.mul(PROC.SIZE), 64, 'the process table');
    a.bss(proc_current, 4, 4, 'the entry of the running process');
    a.bss(next_pid, 4, 4, 'pid for the next spawn');
    a.equ(proc_table_end, proc_table.add(MAX_PROCS.mul(PROC.SIZE)), 'first byte after the table');

    a.label(proc_init);
    a.mov(dword(proc_table.add(PROC.f.state)), PS_RUNNABLE, 'entry 0: the kernel task, running now');
    a.mov(dword(proc_table.add(PROC.f.cr3)), kernel_pgdir);
    a.mov(dword(proc_table.add(PROC.f.kstack_top)), kernel_stack.add(KERNEL_STACK_SIZE));
    a.mov(dword(proc_table.add(PROC.f.name)), proc_name_kernel);
    a.mov(dword(proc_current), proc_table);
    a.mov(dword(next_pid), 1);
    say(a, proc_msg_init);
    a.ret();

    a.section('mem_check: report the RAM and panic if the process slots do not fit');
    a.label(mem_check);
    a.push(ebx);
    a.call(fw_cfg_ram_kib);
    a.mov(ebx, eax, 'EBX = RAM in KiB, 0 = unknown');
    a.test(ebx, ebx);
    a.jnz(L('.known'));
    say(a, proc_msg_mem_unknown);
    a.pop(ebx);
    a.ret();
    a.label('.known');
    say(a, proc_msg_mem);
    putDec(a, ebx);
    say(a, proc_msg_mem_needs);
    putDec(a, MEM_NEEDED_KIB);
    say(a, proc_msg_mem_why);
    a.cmp(ebx, MEM_NEEDED_KIB);
    a.jae(L('.ok'));
    a.mov(eax, proc_msg_mem_panic);
    a.call(panic, 'now, with a reason - not a triple fault at the first spawn');
    a.label('.ok');
    a.pop(ebx);
    a.ret();

    a.section('proc_spawn: EAX = program entry, EDX = start argument -> EAX = pid or -EAGAIN');
    a.label(proc_spawn);
    a.push(ebx); a.push(esi); a.push(edi); a.push(ebp);
    a.pushfd();
    a.cli();
    a.mov(esi, eax, 'ESI = program');
    a.mov(ebp, edx, 'EBP = start argument');
    a.mov(ebx, proc_table.add(PROC.SIZE), 'entry 0 is the kernel task');
    a.label('.find');
    a.cmp(dword(ebx, PROC.f.state), PS_FREE);
    a.je(L('.found'));
    a.add(ebx, PROC.SIZE);
    a.cmp(ebx, proc_table_end);
    a.jb(L('.find'));
    say(a, proc_msg_full);
    a.mov(eax, EAGAIN.neg());
    a.jmp(L('.out'));
    a.label('.found');
    a.mov(eax, ebx);
    a.sub(eax, proc_table.add(PROC.SIZE), 'EAX = (entry index - 1) * PROC.SIZE');
    a.shl(eax, PROC_MEM_SHIFT, '(index - 1) * PROC_MEM_SIZE: proc_size << PROC_MEM_SHIFT = PROC_MEM_SIZE');
    a.add(eax, PROC_MEM_BASE);
    a.mov(dword(ebx, PROC.f.mem), eax, 'this entry\'s memory slot');
    a.mov(edi, eax);
    a.mov(ecx, PROC_MEM_SIZE.div(4));
    a.xor(eax, eax);
    a.rep_stosd('zero the slot: tables, stacks, image and bss all start as 0');
    a.mov(edi, dword(ebx, PROC.f.mem));
    a.add(edi, PM_IMAGE);
    a.mov(ecx, dword(esi, PROG.f.filesz));
    a.push(esi);
    a.mov(esi, dword(esi, PROG.f.start));
    a.rep_movsb('copy the program image into its pages');
    a.pop(esi);
    a.mov(eax, dword(ebx, PROC.f.mem));
    a.mov(edx, dword(esi, PROG.f.memsz));
    a.call(vm_create, 'its page directory and user page table');

    a.comment('The first trap frame, as if the process had been interrupted at USER_BASE.');
    a.mov(edi, dword(ebx, PROC.f.mem));
    a.add(edi, PM_KSTACK_TOP.sub(TRAPFRAME.SIZE), 'EDI = trap frame at the top of its kernel stack');
    a.mov(dword(edi, TRAPFRAME.f.user_ss), SEL_USER_DATA, 'iretd pops these two only because CS is ring 3');
    a.mov(dword(edi, TRAPFRAME.f.user_esp), USER_STACK_TOP);
    a.mov(dword(edi, TRAPFRAME.f.eflags), EFLAGS_USER, 'interrupts on in ring 3, IOPL 0');
    a.mov(dword(edi, TRAPFRAME.f.cs), SEL_USER_CODE, 'RPL 3: iretd drops to ring 3');
    a.mov(dword(edi, TRAPFRAME.f.eip), USER_BASE, 'the program\'s first instruction');
    a.mov(dword(edi, TRAPFRAME.f.eax), ebp, 'the start argument');
    for (const f of [TRAPFRAME.f.ds, TRAPFRAME.f.es, TRAPFRAME.f.fs, TRAPFRAME.f.gs]) a.mov(dword(edi, f), SEL_USER_DATA);
    a.comment('Below it a context (struc context) whose return address is trap_return.');
    a.mov(dword(edi, CONTEXT.f.eip.sub(CONTEXT.SIZE)), trap_return, 'context_switch returns here: pop the frame, iretd');
    a.lea(eax, mem(edi, CONTEXT.SIZE.neg()), 'below it: EBP, EBX, ESI, EDI = 0 for context_switch to pop');
    a.mov(dword(ebx, PROC.f.kesp), eax);
    a.mov(eax, dword(ebx, PROC.f.mem));
    a.mov(dword(ebx, PROC.f.cr3), eax, 'the page directory is the first page of the slot');
    a.add(eax, PM_KSTACK_TOP);
    a.mov(dword(ebx, PROC.f.kstack_top), eax);
    a.mov(eax, dword(esi, PROG.f.name));
    a.mov(dword(ebx, PROC.f.name), eax);
    a.mov(dword(ebx, PROC.f.ticks), 0);
    a.mov(dword(ebx, PROC.f.syscalls), 0);
    a.mov(dword(ebx, PROC.f.killed), 0);
    a.mov(dword(ebx, PROC.f.background), 0, 'foreground unless the shell says otherwise (run ... &)');
    a.mov(eax, dword(next_pid));
    a.inc(dword(next_pid));
    a.mov(dword(ebx, PROC.f.pid), eax);
    a.mov(dword(ebx, PROC.f.state), PS_RUNNABLE, 'the scheduler may pick it from now on');
    say(a, proc_msg_pid);
    putDec(a, dword(ebx, PROC.f.pid));
    say(a, proc_msg_started);
    a.mov(eax, dword(ebx, PROC.f.name));
    a.call(serial_puts);
    a.call(serial_newline);
    a.mov(eax, dword(ebx, PROC.f.pid));
    a.label('.out');
    a.popfd();
    a.pop(ebp); a.pop(edi); a.pop(esi); a.pop(ebx);
    a.ret();

    a.section('proc_run: EAX = program name, EDX = start argument -> EAX = pid, or negative (reported)');
    a.label(proc_run);
    a.push(ebx);
    a.push(esi);
    a.mov(ebx, eax);
    a.mov(esi, edx);
    a.call(program_find);
    a.test(eax, eax);
    a.jz(L('.unknown'));
    a.mov(edx, esi);
    a.call(proc_spawn);
    a.jmp(L('.out'));
    a.label('.unknown');
    say(a, proc_msg_no_program);
    a.mov(eax, ebx);
    a.call(serial_puts);
    say(a, proc_msg_programs);
    a.call(program_list);
    say(a, proc_msg_close);
    a.mov(eax, ENOENT.neg());
    a.label('.out');
    a.pop(esi);
    a.pop(ebx);
    a.ret();

    a.section('proc_exit: EAX = exit code; ends the current process');
    a.label(proc_exit);
    a.mov(esi, eax);
    a.mov(eax, dword(proc_current));
    a.call(con_user_end, 'its unfinished output line first, then the exit message');
    a.call(proc_say_pid);
    say(a, proc_msg_exited);
    a.mov(eax, esi);
    a.call(serial_put_int);
    a.call(serial_newline);
    a.jmp(proc_end);

    a.section('proc_fault: EAX = trap frame of an exception raised in ring 3');
    a.label(proc_fault);
    a.mov(esi, eax, 'ESI = frame');
    a.mov(eax, dword(proc_current));
    a.call(con_user_end);
    a.call(proc_say_pid);
    say(a, proc_msg_killed);
    a.mov(ecx, dword(esi, TRAPFRAME.f.vector));
    a.mov(eax, dword({ index: ecx, scale: 4, disp: exception_names }));
    a.call(serial_puts);
    say(a, proc_msg_at);
    putHex32(a, dword(esi, TRAPFRAME.f.eip));
    a.call(serial_newline);
    a.cmp(dword(esi, TRAPFRAME.f.vector), VEC_PF);
    a.jne(proc_end);
    a.call(proc_say_pid);
    say(a, proc_msg_cr2);
    putHex32(a, cr2, 'the address the program touched');
    a.mov(eax, dword(esi, TRAPFRAME.f.error));
    a.call(pf_print_error);
    a.call(serial_newline);
    a.comment('fall through');

    a.section('proc_end: the current process is finished; never returns');
    a.label(proc_end);
    a.cli();
    a.mov(eax, dword(proc_current));
    a.call(proc_free);
    a.call(schedule, 'switches away for good: a free entry is never picked');
    a.mov(eax, proc_msg_zombie);
    a.call(panic);

    a.section('proc_free: EAX = process entry; wake whoever waits for it, free the entry');
    a.label(proc_free);
    a.push(eax);
    a.call(con_user_end, 'normally done already; a new process in this slot must start with an empty line buffer');
    a.pop(eax);
    a.mov(edx, dword(eax, PROC.f.pid));
    a.mov(ecx, proc_table);
    a.label('.wake');
    a.cmp(dword(ecx, PROC.f.state), PS_WAIT_EXIT);
    a.jne(L('.next'));
    a.cmp(dword(ecx, PROC.f.wait), edx);
    a.jne(L('.next'));
    a.mov(dword(ecx, PROC.f.state), PS_RUNNABLE, 'it was waiting for this process');
    a.label('.next');
    a.add(ecx, PROC.SIZE);
    a.cmp(ecx, proc_table_end);
    a.jb(L('.wake'));
    a.mov(dword(eax, PROC.f.state), PS_FREE, 'never scheduled again; the slot may be reused by the next spawn');
    a.ret();

    a.section('proc_interrupt: EAX = trap frame of the serial IRQ that brought a Ctrl-C');
    a.label(proc_interrupt);
    a.push(ebx);
    a.push(esi);
    a.mov(esi, eax);
    a.mov(ebx, proc_table.add(PROC.SIZE), 'user processes only: the kernel task is never stopped');
    a.label('.entry');
    a.cmp(dword(ebx, PROC.f.state), PS_FREE);
    a.je(L('.next'));
    a.mov(eax, ebx);
    a.call(con_user_end);
    say(a, proc_msg_pid);
    putDec(a, dword(ebx, PROC.f.pid));
    say(a, proc_msg_ctrl_c);
    a.cmp(ebx, dword(proc_current));
    a.jne(L('.free'));
    a.test(dword(esi, TRAPFRAME.f.cs), 3);
    a.jz(L('.free'), 'interrupted in ring 0: it is blocked inside the kernel (we idle on its behalf)');
    a.mov(dword(ebx, PROC.f.killed), 1, 'it is running: it ends at the return to ring 3 (sched_trap_exit)');
    a.jmp(L('.next'));
    a.label('.free');
    a.comment('Not running: it is stopped inside context_switch (or idle) on its own kernel stack, and');
    a.comment('nothing else refers to that stack - so the entry can simply be freed.');
    a.mov(eax, ebx);
    a.call(proc_free);
    a.label('.next');
    a.add(ebx, PROC.SIZE);
    a.cmp(ebx, proc_table_end);
    a.jb(L('.entry'));
    a.pop(esi);
    a.pop(ebx);
    a.ret();

    a.section('proc_kill: EAX = pid -> EAX = 0, or -ESRCH when no user process has it (the shell\'s kill)');
    a.label(proc_kill);
    a.call(proc_find);
    a.test(eax, eax);
    a.jnz(L('.found'));
    a.mov(eax, ESRCH.neg());
    a.ret();
    a.label('.found');
    a.push(ebx);
    a.mov(ebx, eax);
    a.call(con_user_end);
    say(a, proc_msg_pid);
    putDec(a, dword(ebx, PROC.f.pid));
    say(a, proc_msg_kill);
    a.comment('The caller is the kernel task, so the victim is not running: it is stopped inside');
    a.comment('context_switch on its own kernel stack, which nothing else refers to. Free it now.');
    a.mov(eax, ebx);
    a.call(proc_free);
    a.xor(eax, eax);
    a.pop(ebx);
    a.ret();

    a.section('proc_find: EAX = pid -> EAX = its entry among the user processes, or 0');
    a.label(proc_find);
    a.mov(ecx, proc_table.add(PROC.SIZE), 'user processes only');
    a.label('.entry');
    a.cmp(dword(ecx, PROC.f.state), PS_FREE);
    a.je(L('.next'));
    a.cmp(dword(ecx, PROC.f.pid), eax);
    a.je(L('.found'));
    a.label('.next');
    a.add(ecx, PROC.SIZE);
    a.cmp(ecx, proc_table_end);
    a.jb(L('.entry'));
    a.xor(ecx, ecx, 'no such process');
    a.label('.found');
    a.mov(eax, ecx);
    a.ret();

    a.section('proc_say_pid: prints "[proc] pid N " for the current process');
    a.label(proc_say_pid);
    say(a, proc_msg_pid);
    a.mov(eax, dword(proc_current));
    putDec(a, dword(eax, PROC.f.pid));
    a.mov(al, chr(' '));
    a.jmp(serial_putc);

    a.section('proc_wait: EAX = pid; returns once no process has that pid');
    a.label(proc_wait);
    a.push(ebx);
    a.pushfd();
    a.cli('check and block without a gap');
    a.mov(ebx, eax);
    a.label('.check');
    a.mov(eax, ebx);
    a.call(proc_find);
    a.test(eax, eax);
    a.jnz(L('.block'));
    a.popfd('no such process (any more)');
    a.pop(ebx);
    a.ret();
    a.label('.block');
    a.mov(eax, PS_WAIT_EXIT);
    a.mov(edx, ebx);
    a.call(sched_block, 'proc_end wakes us');
    a.jmp(L('.check'));

    a.section('proc_ps: one line per process');
    a.label(proc_ps);
    a.push(ebx);
    a.mov(ebx, proc_table);
    a.label('.entry');
    a.cmp(dword(ebx, PROC.f.state), PS_FREE);
    a.je(L('.next'));
    say(a, proc_msg_ps);
    putDec(a, dword(ebx, PROC.f.pid));
    a.mov(al, chr(' '));
    a.call(serial_putc);
    a.mov(eax, dword(ebx, PROC.f.name));
    a.call(serial_puts);
    a.mov(al, chr(' '));
    a.call(serial_putc);
    a.mov(eax, proc_state_running);
    a.cmp(ebx, dword(proc_current));
    a.je(L('.state'));
    a.mov(ecx, dword(ebx, PROC.f.state));
    a.mov(eax, dword({ index: ecx, scale: 4, disp: proc_state_names }));
    a.label('.state');
    a.call(serial_puts);
    say(a, proc_msg_ticks);
    putDec(a, dword(ebx, PROC.f.ticks));
    say(a, proc_msg_syscalls);
    putDec(a, dword(ebx, PROC.f.syscalls));
    a.call(serial_newline);
    a.label('.next');
    a.add(ebx, PROC.SIZE);
    a.cmp(ebx, proc_table_end);
    a.jb(L('.entry'));
    say(a, proc_msg_ps_idle);
    putDec(a, dword(idle_ticks), 'ticks while the CPU halted (sched.asm): charged to nobody');
    a.call(serial_newline);
    a.pop(ebx);
    a.ret();

    a.section('strings');
    a.label(proc_state_names, 'PS_* -> name');
    STATE_NAMES.forEach((_, i) => a.dataC(4, [L(`proc_state_${i}`)], `PS state ${i}`));
    STATE_NAMES.forEach((n, i) => { a.label(`proc_state_${i}`); a.db(n, 0); });
    a.label(proc_state_running); a.db('running', 0);
    a.label(proc_name_kernel); a.db('kernel', 0);
    a.label(proc_msg_init); a.db('[proc] process table: 8 entries (pid 0 = the kernel task); user memory from 1 MiB, 64 KiB per process\r\n', 0);
    a.label(proc_msg_full); a.db('[proc] cannot start: all 7 user process slots are in use\r\n', 0);
    a.label(proc_msg_pid); a.db('[proc] pid ', 0);
    a.label(proc_msg_started); a.db(' started: ', 0);
    a.label(proc_msg_exited); a.db('exited with code ', 0);
    a.label(proc_msg_killed); a.db('killed: ', 0);
    a.label(proc_msg_at); a.db(' at 0x', 0);
    a.label(proc_msg_cr2); a.db('page fault address CR2=0x', 0);
    a.label(proc_msg_zombie); a.db('a finished process was scheduled again', 0);
    a.label(proc_msg_ctrl_c); a.db(' killed: Ctrl-C\r\n', 0);
    a.label(proc_msg_kill); a.db(' killed: kill command\r\n', 0);
    a.label(proc_msg_no_program); a.db("[proc] no program '", 0);
    a.label(proc_msg_programs); a.db("' (programs: ", 0);
    a.label(proc_msg_close); a.db(')\r\n', 0);
    a.label(proc_msg_ps); a.db('[ps] pid ', 0);
    a.label(proc_msg_ticks); a.db(' ticks=', 0);
    a.label(proc_msg_mem); a.db('[mem] RAM ', 0);
    a.label(proc_msg_mem_needs); a.db(' KiB; tskernel needs ', 0);
    a.label(proc_msg_mem_why); a.db(' KiB (kernel below 640 KiB, 7 user process slots of 64 KiB from 1 MiB)\r\n', 0);
    a.label(proc_msg_mem_unknown); a.db(`[mem] RAM size unknown (no fw_cfg device); assuming at least the ${memNeeded / 1024} KiB tskernel needs\r\n`, 0);
    a.label(proc_msg_mem_panic); a.db(`not enough memory: tskernel needs ${memNeeded / 1024} KiB; give the machine at least ${MEM_NEEDED_MIB} MiB (QEMU -m ${MEM_NEEDED_MIB})`, 0);
    a.label(proc_msg_ps_idle); a.db('[ps] idle (CPU halted, nothing could run) ticks=', 0);
    a.label(proc_msg_syscalls); a.db(' syscalls=', 0);
  },
});
