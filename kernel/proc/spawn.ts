// Starting a process: a free entry, pages from the allocator for its kernel
// stack and its own address space with the program's image, and a first trap frame that iretd takes down to
// ring 3.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ebx, ecx, edx, esi, edi, ebp, L, dword, mem, constant } from '../../toolchain/x86/operands.ts';
import { PROC, PS_FREE, PS_RUNNABLE, PROG } from './table.ts';
import { SEL_USER_CODE, SEL_USER_DATA } from '../../boot/gdt.ts';
import { CONTEXT, TRAPFRAME } from '../cpu/trapframe.ts';
import { vm_create } from './vm.ts';
import { pmm_alloc, pmm_free, pmm_free_pages } from '../mm/pmm.ts';
import { USER_BASE, USER_STACK_TOP } from './abi.ts';
import { EAGAIN, ENOENT, ENOMEM } from './errno.ts';
import { putDec, say } from '../lib/print.ts';
import { trap_return } from '../cpu/isr.ts';
import { PAGE_SHIFT, PAGE_SIZE } from '../cpu/paging.ts';
import { serial_newline, serial_puts } from '../dev/serial.ts';
import { program_find, program_list } from './programs.ts';
import { next_pid } from './proc.ts';
import { forEachProc } from './iter.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const proc_run = sym('proc_run');
export const proc_spawn = sym('proc_spawn');

export const KSTACK_SIZE = constant('KSTACK_SIZE', 4096, 'bytes of a process\'s kernel stack: one page from pmm_alloc (xv6 uses one page too)');
export const ENOMEM_MSG = '[proc] cannot start: out of memory';

export const EFLAGS_USER = constant('EFLAGS_USER', 0x202, 'initial user EFLAGS: IF = 1 (bit 9), bit 1 always 1, IOPL = 0');

export const spawn = defineModule({
  name: 'spawn',
  title: 'Starting a process: its pages, its first trap frame, iretd to ring 3',
  about: `
proc_spawn makes a new process out of a program (one entry of the program
table, programs.asm): it takes the first free entry of proc_table (entry 0
is the kernel task), then asks the page allocator (pmm.asm) for the
process's memory, one zeroed 4 KiB page at a time: a page for its kernel
stack (KSTACK_SIZE), and through vm_create (vm.asm) its page directory, its
user page table, the pages of its image and bss - the image copied in -
and its user stack page.  A process of N image pages takes N + 4 pages;
the entry records them (proc.cr3, proc.kstack_top, proc.pages) and
proc_free (exit.asm) gives them all back when the process ends.
One page of kernel stack is plenty here: it holds a trap frame, the
system call's few nested calls, and at most an interrupt's frame on top -
a few hundred bytes (xv6 also gives each process one page).

Memory can run out: with little RAM, or with many programs at once.  Then
spawn gives back whatever it had taken, prints "[proc] cannot start: out of
memory" with the program's name and the free pages, and returns -ENOMEM;
the entry stays free and nothing leaks - the shell's "mem" shows the same
free count before and after.

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
                -> EAX = pid, or -EAGAIN when all entries are taken,
                   or -ENOMEM when the allocator has too few pages
  proc_run      EAX = program name, EDX = start argument: find and spawn
                -> EAX = pid, or -ENOENT (reported with the list of programs)`,
  spec: ['Intel SDM Vol. 3A §6.12.1 (stack frames with and without a privilege change)', 'Intel SDM Vol. 2A IRET: "return to outer privilege level"', 'xv6: proc.c (allocproc, userinit), exec.c'],
  emit(a) {
    a.routine({
      name: proc_spawn, does: 'start a process running a program: a free entry, its pages, a first trap frame',
      in: { eax: 'program entry (programs.asm)', edx: 'start argument (the new process\'s EAX)' },
      out: { eax: 'pid, or -EAGAIN when all user entries are taken, or -ENOMEM when memory ran out (nothing kept)' },
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
      a.call(pmm_alloc, 'its kernel stack page');
      a.test(eax, eax);
      a.jz(L('.nomem'), 'nothing taken yet');
      a.push(eax);
      a.mov(eax, dword(esi, PROG.f.start));
      a.mov(ecx, dword(esi, PROG.f.filesz));
      a.mov(edx, dword(esi, PROG.f.memsz));
      a.call(vm_create, 'its page directory, user page table, image (copied) and user stack pages');
      a.pop(ecx, 'ECX = the kernel stack page');
      a.test(eax, eax);
      a.if_('z', () => {
        a.mov(eax, ecx);
        a.call(pmm_free, 'vm_create gave back its own pages; the kernel stack goes back too');
        a.jmp(L('.nomem'));
      });
      a.mov(dword(ebx, PROC.f.cr3), eax, 'its page directory: loaded into CR3 whenever it runs');
      a.inc(edx, '+ the kernel stack page');
      a.mov(dword(ebx, PROC.f.pages), edx);
      a.add(ecx, KSTACK_SIZE, 'ECX = the top of the kernel stack (it grows down from there)');
      a.mov(dword(ebx, PROC.f.kstack_top), ecx, 'TSS ESP0 while it runs; the page is kstack_top - KSTACK_SIZE');

      a.comment('The first trap frame, as if the process had been interrupted at USER_BASE.');
      a.mov(edi, ecx);
      a.sub(edi, TRAPFRAME.SIZE, 'EDI = trap frame at the top of its kernel stack');
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
      a.jmp(L('.out'));
      a.label('.nomem');
      say(a, a.cstr(`${ENOMEM_MSG} for '`));
      a.mov(eax, dword(esi, PROG.f.name));
      a.call(serial_puts);
      say(a, a.cstr("' (it needs "));
      a.mov(eax, dword(esi, PROG.f.memsz));
      a.add(eax, PAGE_SIZE.sub(1));
      a.shr(eax, PAGE_SHIFT);
      a.add(eax, 4, 'image pages + directory, page table, user stack, kernel stack');
      putDec(a, eax);
      say(a, a.cstr(' pages, '));
      putDec(a, dword(pmm_free_pages));
      say(a, a.cstr(' are free)\r\n'));
      a.mov(eax, ENOMEM.neg());
      a.label('.out');
      a.popfd();
      r.ret();
    });

    a.routine({
      name: proc_run, does: 'find a program by name and spawn it; report an unknown name with the list of programs',
      in: { eax: 'program name', edx: 'start argument' },
      out: { eax: 'pid, or -ENOENT (no such program, reported), or -EAGAIN / -ENOMEM (proc_spawn, reported)' },
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
