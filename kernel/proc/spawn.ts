// Starting a process: a free entry, a memory slot with the program's image
// and its own page directory, and a first trap frame that iretd takes down to
// ring 3.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ebx, ecx, edx, esi, edi, ebp, L, dword, mem, constant } from '../../toolchain/x86/operands.ts';
import { PROC, PS_FREE, PS_RUNNABLE, PROG } from './table.ts';
import { SEL_USER_CODE, SEL_USER_DATA } from '../../boot/gdt.ts';
import { CONTEXT, TRAPFRAME } from '../cpu/trapframe.ts';
import { PM_IMAGE, PM_KSTACK_TOP, PROC_MEM_BASE, PROC_MEM_SIZE, vm_create } from './vm.ts';
import { USER_BASE, USER_STACK_TOP } from './abi.ts';
import { EAGAIN, ENOENT } from './errno.ts';
import { putDec, say } from '../lib/print.ts';
import { trap_return } from '../cpu/isr.ts';
import { serial_newline, serial_puts } from '../dev/serial.ts';
import { program_find, program_list } from './programs.ts';
import { next_pid, proc_table } from './proc.ts';
import { forEachProc } from './iter.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const proc_run = sym('proc_run');
export const proc_spawn = sym('proc_spawn');

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
    throw new Error(`kernel/proc/spawn.ts: proc_size (${procSize}) << PROC_MEM_SHIFT (${shift}) = ${procSize * 2 ** shift}, not PROC_MEM_SIZE (${memSize}): proc_spawn's shift would pick the wrong memory slot`);
  }
}
checkProcMemShift(PROC.size, PROC_MEM_SHIFT.c.value as number, PROC_MEM_SIZE.c.value as number);

export const EFLAGS_USER = constant('EFLAGS_USER', 0x202, 'initial user EFLAGS: IF = 1 (bit 9), bit 1 always 1, IOPL = 0');

export const spawn = defineModule({
  name: 'spawn',
  title: 'Starting a process: its memory slot, its first trap frame, iretd to ring 3',
  about: `
proc_spawn makes a new process out of a program (one entry of the program
table, programs.asm): it takes the first free entry of proc_table (entry 0
is the kernel task), gives it the 64 KiB memory slot that belongs to that
entry - slot i - 1 for entry i, so no allocator is needed and a slot is
reused exactly when its entry is - zeroes the slot, copies the program's
image into it and builds its page directory (vm_create, vm.asm).

How a program gets to ring 3 the first time.  There is no instruction "go
to ring 3"; the only ways down are the returns: iretd (or retf).  So
proc_spawn builds on the new process's kernel stack exactly what an
interrupt from ring 3 would have left there - a trap frame (struc
trapframe in kernel.asm):

    SS = 0x23, ESP = USER_STACK_TOP    pushed by the CPU on a privilege change
    EFLAGS = 0x202 (IF = 1, IOPL = 0)  pushed by the CPU
    CS = 0x1B, EIP = USER_BASE         pushed by the CPU
    error 0, vector 0                  pushed by the stub
    EAX = start argument, others 0     pushad
    DS = ES = FS = GS = 0x23           pushed by isr_common

and below it a context for context_switch (sched.asm) whose return address
is trap_return (isr.asm).  When the scheduler first switches to it,
context_switch "returns" into trap_return, which pops the segment and
general registers and executes iretd: the CPU pops EIP and CS, sees that
CS has RPL 3 - a return to a less privileged level - and therefore also
pops ESP and SS, checks the selectors against the GDT (DPL 3 descriptors),
and continues at USER_BASE with CPL = 3.  From then on the program can
reach the kernel only through interrupts and exceptions: int 0x80, the
timer, a fault.  Nothing runs the new process at once: it is RUNNABLE, and
the scheduler picks it when its turn comes.

  proc_spawn    EAX = program entry (programs.asm), EDX = start argument
                -> EAX = pid, or -EAGAIN when all slots are taken
  proc_run      EAX = program name, EDX = start argument: find and spawn
                -> EAX = pid, or -ENOENT (reported with the list of programs)`,
  spec: ['Intel SDM Vol. 3A §6.12.1 (stack frames with and without a privilege change)', 'Intel SDM Vol. 2A IRET: "return to outer privilege level"', 'xv6: proc.c (allocproc, userinit), exec.c'],
  emit(a) {
    a.routine({
      name: proc_spawn, does: 'start a process running a program: a free entry, its memory slot, a first trap frame',
      in: { eax: 'program entry (programs.asm)', edx: 'start argument (the new process\'s EAX)' },
      out: { eax: 'pid, or -EAGAIN when all user slots are taken' },
      clobbers: [ecx, edx], saves: [ebx, esi, edi, ebp],
    }, (r) => {
      a.pushfd('interrupts as the caller had them at the end');
      a.cli();
      a.mov(esi, eax, 'ESI = program');
      a.mov(ebp, edx, 'EBP = start argument');
      forEachProc(a, ebx, () => {
        a.cmp(dword(ebx, PROC.f.state), PS_FREE);
        a.je(L('.found'));
      }, { skipKernel: true });
      say(a, a.cstr('[proc] cannot start: all 7 user process slots are in use\r\n'));
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
      say(a, a.cstr('[proc] pid '));
      putDec(a, dword(ebx, PROC.f.pid));
      say(a, a.cstr(' started: '));
      a.mov(eax, dword(ebx, PROC.f.name));
      a.call(serial_puts);
      a.call(serial_newline);
      a.mov(eax, dword(ebx, PROC.f.pid));
      a.label('.out');
      a.popfd();
      r.ret();
    });

    a.routine({
      name: proc_run, does: 'find a program by name and spawn it; report an unknown name with the list of programs',
      in: { eax: 'program name', edx: 'start argument' },
      out: { eax: 'pid, or -ENOENT (no such program, reported), or -EAGAIN (proc_spawn)' },
      clobbers: [ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(ebx, eax);
      a.mov(esi, edx);
      a.call(program_find);
      a.test(eax, eax);
      a.if_('nz', () => {
        a.mov(edx, esi);
        a.call(proc_spawn);
        r.ret();
      });
      say(a, a.cstr("[proc] no program '"));
      a.mov(eax, ebx);
      a.call(serial_puts);
      say(a, a.cstr("' (programs: "));
      a.call(program_list);
      say(a, a.cstr(')\r\n'));
      a.mov(eax, ENOENT.neg());
      r.ret();
    });
  },
});
