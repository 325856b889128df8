// System calls: the int 0x80 gate, the dispatch table, and each call.
import { type Asm, defineModule } from '../../toolchain/x86/asm.ts';
import { type Reg32, al, eax, ebx, ecx, edx, esi, edi, esp, L, byte, dword } from '../../toolchain/x86/operands.ts';
import type { RoutineBody } from '../../toolchain/x86/routine.ts';
import { TRAPFRAME } from '../cpu/trapframe.ts';
import { GATE_DPL3, GATE_INT32, GATE_P, idt_set_gate } from '../cpu/idt.ts';
import { PTE_P, PTE_U, PTE_W } from '../cpu/paging.ts';
import { proc_current } from './proc.ts';
import { proc_exit } from './exit.ts';
import { PROC } from './table.ts';
import { EBADF, EINVAL, ENODEV, ENOMEM, ENOSYS, EPERM } from './errno.ts';
import { BLK_FLUSH, BLK_READ, BLK_WRITE, DISK, SECTOR_SHIFT, blk_rw, disk_count, disk_table } from '../blk/disk.ts';
import { pmm_alloc, pmm_free } from '../mm/pmm.ts';
import { uart_getc } from '../dev/uart_rx.ts';
import { ASCII_CR, ASCII_LF } from '../lib/ascii.ts';
import { BLK_SYS_MAX, IO_MAX, NSYSCALLS, SLEEP_MAX_MS, SYSCALLS, type SyscallName, VEC_SYSCALL } from './abi.ts';
import { trap_register } from '../cpu/trap.ts';
import { sleep, ticks } from '../dev/pit.ts';
import { con_user_putc, serial_put_hex8, serial_puts } from '../dev/serial.ts';
import { sched_yield } from './sched.ts';
import { strace_enter, strace_leave, strace_on } from './strace.ts';
import { vm_check_user } from './vm.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { say } from '../lib/print.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const read_last_cr = sym('read_last_cr');
const syscall_handler = sym('syscall_handler');
export const syscall_init = sym('syscall_init');
const syscall_table = sym('syscall_table');


/**
 * The kernel's side of one system call of the ABI (abi.ts): the body of
 * sys_<name>, a routine with the contract every system call shares
 * (SYSCALL_CONTRACT): syscall_handler calls it through syscall_table.
 */
interface SyscallBody {
  readonly name: SyscallName;
  /** The callee-saved registers the body uses (pushed and popped by the routine). */
  readonly saves?: readonly Reg32[];
  /** Body of sys_<name>: EAX = trap frame on entry; returns (r.ret()) with EAX = result. */
  readonly emit: (a: Asm, r: RoutineBody) => void;
}

/** What every sys_* routine takes, returns and may destroy: syscall_handler keeps only EBX and ESI across the call. */
const SYSCALL_CONTRACT = {
  in: { eax: 'trap frame (the arguments are its saved EBX, ECX, EDX)' },
  out: { eax: 'the result: >= 0, or -errno (sys_exit does not return)' },
  clobbers: [ecx, edx],
} as const;


/**
 * EBX = the disk numbered by the call's first argument (ESI = frame), or
 * jump to .out with EAX = -ENODEV.  Unsigned: a "negative" number is no disk.
 */
function diskArg(a: Asm): void {
  a.mov(eax, ENODEV.neg());
  a.mov(ecx, dword(esi, TRAPFRAME.f.ebx));
  a.cmp(ecx, dword(disk_count));
  a.jae(L('.out'), 'no such disk');
  a.imul(ebx, ecx, DISK.SIZE);
  a.add(ebx, disk_table, 'EBX = the disk');
}

/**
 * blkread and blkwrite: check disk, count and buffer (in that order), then
 * move the sectors through a page of the kernel's: the user buffer is
 * neither contiguous nor identity-mapped in physical memory, so a device
 * could not DMA into it, and blk_rw takes kernel addresses below 4 MiB.
 * A fresh page per call (pmm_alloc), not one shared buffer: a driver that
 * blocks the caller until its device answers (virtio-blk) lets another
 * process make a call meanwhile.  A process killed while blocked in the
 * driver never returns here: the driver frees the page when the device is
 * done with it (vblk_service), never earlier.
 */
function blkTransfer(a: Asm, r: RoutineBody, write: boolean): void {
  a.mov(esi, eax, 'ESI = frame');
  diskArg(a);
  a.mov(eax, EINVAL.neg());
  a.mov(ecx, dword(esi, TRAPFRAME.f.edx));
  a.dec(ecx, 'count 0 wraps to 0xFFFFFFFF: refused with the too-large ones');
  a.cmp(ecx, BLK_SYS_MAX.sub(1));
  a.ja(L('.out'), 'count is 0 or more than BLK_SYS_MAX');
  a.mov(eax, dword(esi, TRAPFRAME.f.esi));
  a.mov(edx, dword(esi, TRAPFRAME.f.edx));
  a.shl(edx, SECTOR_SHIFT, 'bytes');
  a.mov(ecx, write ? PTE_P.or(PTE_U) : PTE_P.or(PTE_U).or(PTE_W), write ? 'the buffer must be readable from ring 3' : 'the buffer must be writable from ring 3');
  a.call(vm_check_user);
  a.test(eax, eax);
  a.jnz(L('.out'), '-EFAULT');
  a.call(pmm_alloc, 'EAX = a zeroed page below 4 MiB, or 0');
  a.test(eax, eax);
  a.if_('z', () => { a.mov(eax, ENOMEM.neg()); a.jmp(L('.out')); });
  a.mov(edi, eax, 'EDI = the bounce page');
  /** Copy count * 512 bytes from ESI to EDI, keeping ESI (frame) and EDI (page). */
  const copy = (toUser: boolean) => {
    a.push(esi);
    a.push(edi);
    a.mov(ecx, dword(esi, TRAPFRAME.f.edx));
    a.shl(ecx, 7, 'dwords: 128 to the sector');
    if (toUser) {
      a.mov(esi, edi, 'from the page');
      a.mov(edi, dword(esp, 4));
      a.mov(edi, dword(edi, TRAPFRAME.f.esi), 'to the user buffer: safe, vm_check_user said it is the caller\'s writable memory');
    } else {
      a.mov(esi, dword(esi, TRAPFRAME.f.esi), 'from the user buffer (checked above) ...');
    }
    a.rep_movsd(toUser ? '... into the program\'s buffer' : '... into the page');
    a.pop(edi);
    a.pop(esi);
  };
  if (write) copy(false);
  a.invoke(blk_rw, [ebx, write ? BLK_WRITE : BLK_READ, dword(esi, TRAPFRAME.f.ecx), dword(esi, TRAPFRAME.f.edx), edi]);
  a.test(eax, eax);
  a.if_('z', () => {
    if (!write) copy(true);
    a.mov(eax, dword(esi, TRAPFRAME.f.edx), 'the result: count');
  }, undefined, 'or the block layer\'s -errno');
  a.push(eax);
  a.mov(eax, edi);
  a.call(pmm_free, 'the page goes back');
  a.pop(eax);
  a.label('.out');
  r.ret();
}

const BODIES: readonly SyscallBody[] = [
  { name: 'exit', emit: (a) => {
    a.mov(eax, dword(eax, TRAPFRAME.f.ebx), 'the exit code');
    a.jmp(proc_exit);
  } },
  { name: 'write', saves: [ebx, esi, edi], emit: (a, r) => {
    a.mov(esi, eax, 'ESI = frame');
    a.mov(eax, EBADF.neg());
    a.mov(ecx, dword(esi, TRAPFRAME.f.ebx));
    a.dec(ecx);
    a.cmp(ecx, 1);
    a.ja(L('.out'), 'fd - 1 above 1: fd is not 1 (stdout) or 2 (stderr), both the serial port');
    a.mov(eax, EINVAL.neg());
    a.mov(edx, dword(esi, TRAPFRAME.f.edx));
    a.cmp(edx, IO_MAX);
    a.ja(L('.out'), 'unsigned: a "negative" length is huge, and refused too');
    a.mov(eax, dword(esi, TRAPFRAME.f.ecx));
    a.mov(ecx, PTE_P.or(PTE_U), 'the buffer must be readable from ring 3');
    a.call(vm_check_user);
    a.test(eax, eax);
    a.jnz(L('.out'), '-EFAULT');
    a.mov(ebx, dword(esi, TRAPFRAME.f.ecx));
    a.mov(edi, ebx);
    a.add(edi, dword(esi, TRAPFRAME.f.edx), 'EDI = end of the buffer');
    a.while_(() => { a.cmp(ebx, edi); return 'b'; }, () => {
      a.mov(al, byte(ebx), 'safe: vm_check_user said this is the caller\'s memory');
      a.call(con_user_putc, 'into this process\'s line buffer: a line goes out whole at its LF (serial.asm, rule 3)');
      a.inc(ebx);
    });
    a.mov(eax, dword(esi, TRAPFRAME.f.edx), 'all of it was written');
    a.label('.out');
    r.ret();
  } },
  { name: 'read', saves: [ebx, esi, edi], emit: (a, r) => {
    a.mov(esi, eax, 'ESI = frame');
    a.mov(eax, EBADF.neg());
    a.cmp(dword(esi, TRAPFRAME.f.ebx), 0);
    a.jne(L('.out'), 'only fd 0 (stdin, the serial port) can be read');
    a.mov(eax, EINVAL.neg());
    a.mov(edx, dword(esi, TRAPFRAME.f.edx));
    a.cmp(edx, IO_MAX);
    a.ja(L('.out'));
    a.mov(eax, dword(esi, TRAPFRAME.f.ecx));
    a.mov(ecx, PTE_P.or(PTE_U).or(PTE_W), 'the buffer must be writable from ring 3');
    a.call(vm_check_user);
    a.test(eax, eax);
    a.jnz(L('.out'), '-EFAULT (and len 0 returns 0 here: EAX = 0 bytes)');
    a.cmp(dword(esi, TRAPFRAME.f.edx), 0);
    a.je(L('.out'));
    a.mov(ecx, dword(proc_current));
    a.cmp(dword(ecx, PROC.f.background), 0);
    a.jne(L('.out'), 'started with &: stdin is like /dev/null - 0 bytes, end of file (EAX = 0); the console is the shell\'s');
    a.mov(ebx, dword(esi, TRAPFRAME.f.ecx), 'EBX = buffer');
    a.xor(edi, edi, 'EDI = bytes stored');
    a.label('.next');
    a.call(uart_getc, 'blocks this process until a byte arrives (others run meanwhile)');
    a.test(eax, eax);
    a.js(L('.next'), 'RX_LOST: input was lost here (a UART overrun; never with flow control) - skip the marker');
    a.cmp(al, ASCII_LF);
    a.jne(L('.not_lf'));
    a.cmp(byte(read_last_cr), 0);
    a.mov(byte(read_last_cr), 0, '(mov leaves the flags alone)');
    a.jne(L('.next'), 'the LF of a CR LF pair: already ended a line');
    a.jmp(L('.store'));
    a.label('.not_lf');
    a.mov(byte(read_last_cr), 0);
    a.cmp(al, ASCII_CR);
    a.jne(L('.store'));
    a.mov(byte(read_last_cr), 1);
    a.mov(al, ASCII_LF, 'Enter sends CR: the program sees LF (ICRNL)');
    a.label('.store');
    a.mov(byte({ base: ebx, index: edi }), al);
    a.inc(edi);
    a.cmp(al, ASCII_LF);
    a.je(L('.done'), 'a line is complete');
    a.cmp(edi, dword(esi, TRAPFRAME.f.edx));
    a.jb(L('.next'));
    a.label('.done');
    a.mov(eax, edi);
    a.label('.out');
    r.ret();
  } },
  { name: 'getpid', emit: (a, r) => {
    a.mov(eax, dword(proc_current));
    a.mov(eax, dword(eax, PROC.f.pid));
    r.ret();
  } },
  { name: 'uptime', emit: (a, r) => {
    a.mov(eax, dword(ticks));
    r.ret();
  } },
  { name: 'sleep', emit: (a, r) => {
    a.mov(ecx, dword(eax, TRAPFRAME.f.ebx));
    a.mov(eax, EINVAL.neg());
    a.cmp(ecx, SLEEP_MAX_MS);
    r.retIf('a');
    a.test(ecx, ecx);
    a.if_('z', () => a.call(sched_yield, 'sleep(0): just yield'), () => {
      a.mov(eax, ecx);
      a.call(sleep, 'the kernel\'s sleep: blocks this process, others run');
    });
    a.xor(eax, eax);
    r.ret();
  } },
  { name: 'yield', emit: (a, r) => {
    a.call(sched_yield);
    a.xor(eax, eax);
    r.ret();
  } },
  { name: 'blkread', saves: [ebx, esi, edi], emit: (a, r) => blkTransfer(a, r, false) },
  { name: 'blkwrite', saves: [ebx, esi, edi], emit: (a, r) => blkTransfer(a, r, true) },
  { name: 'blkflush', saves: [ebx, esi], emit: (a, r) => {
    a.mov(esi, eax, 'ESI = frame');
    diskArg(a);
    a.invoke(blk_rw, [ebx, BLK_FLUSH, 0, 0, 0], '0, -EOPNOTSUPP or -EIO');
    a.label('.out');
    r.ret();
  } },
];

/** The body of a system call of the ABI; every call in abi.ts has exactly one. */
function bodyOf(name: SyscallName): SyscallBody {
  const found = BODIES.filter((b) => b.name === name);
  if (found.length !== 1) throw new Error(`kernel/proc/syscall.ts: system call '${name}' (abi.ts) has ${found.length} bodies, not 1`);
  return found[0]!;
}

export const syscall = defineModule({
  name: 'syscall',
  title: 'System calls: the int 0x80 gate (DPL 3), the table, argument checks',
  about: `
A user program asks the kernel for something by raising a software
interrupt: "int 0x80" with the call number in EAX and up to five arguments
in EBX, ECX, EDX, ESI, EDI; the result comes back in EAX, a negative errno
on failure (docs/design.md §4, the Linux i386 convention).

Why the gate's DPL must be 3.  For "int n" the CPU checks CPL <= the gate's
DPL (SDM 3A §6.12.1.1); every other gate in the IDT has DPL 0, so a ring-3
"int 3" or "int 32" is a #GP - a program cannot fake a timer interrupt or
an exception.  Gate 0x80 alone has DPL 3, so ring 3 may use it.  (Hardware
interrupts and exceptions ignore the DPL.)

Interrupt gate or trap gate?  Both switch to the kernel stack the same way;
an interrupt gate also clears IF, a trap gate leaves it.  tskernel uses an
interrupt gate, so a system call runs with IF = 0 from the int 0x80 to its
iret, like every interrupt and exception handler (all gates are interrupt
gates); the one exception is the scheduler's idle loop, which a blocked
call may reach (sti; hlt, below).  The kernel task - kmain after its sti,
and the shell it runs - runs with IF = 1, but is never preempted: an
interrupt there returns to ring 0 without a switch.  So a system call is
never interrupted half-way and needs no locks - one write() is never
preempted in the middle (a program is preempted only between two calls).
write() does not send bytes straight to the UART: they go into the
process's line buffer (serial.asm, con_user_putc) and a line goes out whole
at its LF, so lines that programs build from several write() calls do not
mix with other programs' or the kernel's lines.  A call that must wait
(sleep, read, yield) does not spin: it blocks in the scheduler, where
interrupts are enabled while the CPU idles.  (xv6 uses a trap gate and
locks instead; Linux too.)

syscall_handler first checks where the call came from: the RPL of the CS
the CPU saved must be 3.  (The kernel's own "int 0x80", e.g. from the
shell's "int 128", is refused with -EPERM.)  An unknown number - anything
>= NSYSCALLS, compared unsigned so negative numbers are unknown too -
returns -ENOSYS.  Every pointer is checked with vm_check_user before the
kernel touches it, so a bad pointer is -EFAULT, never a kernel page fault;
lengths are bounded (IO_MAX, SLEEP_MAX_MS, BLK_SYS_MAX).  The order of
checks is fixed: fd (-EBADF), then length (-EINVAL), then buffer (-EFAULT);
for the sector calls disk (-ENODEV), count (-EINVAL), buffer (-EFAULT),
then the block layer's own (blk_rw in disk.asm: -ENXIO past the end of the
disk, -EROFS for a read-only one) and the device's (-EIO).  The sectors
travel through a kernel page (pmm_alloc), because blk_rw and the devices
behind it take kernel addresses below 4 MiB, where linear = physical; the
program's buffer is neither.  A disk is named by its number: 0 is the
first disk "blk" lists, the default one.

  nr  call                 returns / errors
${SYSCALLS.map((s, i) => `  ${String(i).padStart(2)}  ${`${s.name}(${s.args.join(', ')})`.padEnd(20)} ${s.returns}${s.errors !== '-' ? `\n${' '.repeat(27)}${s.errors}` : ''}`).join('\n')}

Who reads the console: one reader at a time, the rule of a Unix shell
without job control (POSIX XCU 2.9.3 "Asynchronous Lists": the standard
input of a background command is /dev/null).  A program started with
"run ... &" (proc.background) gets 0 - end of file - from read(0) at once,
after the usual checks, so every line typed goes to the shell.  A program
started in the foreground has the console while the shell waits for it
(the shell reads nothing meanwhile), and type-ahead left when it ends goes
to the shell.  Programs started together in the foreground share the
console as processes sharing a terminal do.

With "strace=1" on the cmdline every call is traced (strace.asm).`,
  spec: ['Intel SDM Vol. 3A §6.11 (gate types), §6.12.1.1 "Protection of Exception- and Interrupt-Handler Procedures"', 'Linux: arch/x86/entry/syscalls/syscall_32.tbl (the int 0x80 register convention), errno-base.h'],
  emit(a) {
    a.bss(read_last_cr, 4, 4, '1 right after read() turned a CR into LF (so CR LF is one line end)');

    a.routine({
      name: syscall_init, does: 'install gate 0x80 (DPL 3 interrupt gate) and register syscall_handler for it',
      clobbers: [eax, ecx, edx],
    }, () => {
      a.mov(eax, VEC_SYSCALL);
      a.mov(edx, GATE_P.or(GATE_DPL3).or(GATE_INT32));
      a.call(idt_set_gate, 'gate 0x80: present, DPL 3 (ring 3 may "int 0x80"), interrupt gate');
      a.mov(eax, VEC_SYSCALL);
      a.mov(edx, syscall_handler);
      a.call(trap_register);
      a.mov(eax, a.cstr(`[syscall] int 0x80: DPL 3 interrupt gate, ${SYSCALLS.length} calls (${SYSCALLS.map((s) => s.name).join(', ')})\r\n`));
      a.jmp(serial_puts, 'tail call');
    });

    a.routine({
      name: syscall_handler, does: 'the int 0x80 handler (trap_dispatch calls it): check the caller, dispatch, store the result',
      in: { eax: 'trap frame (vector 0x80): call number in its EAX, arguments in its EBX, ECX, EDX' },
      clobbers: [eax, ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(ebx, eax, 'EBX = frame');
      a.mov(esi, dword(ebx, TRAPFRAME.f.eax), 'ESI = call number (TRAPFRAME.f.eax will hold the result)');
      a.mov(eax, dword(ebx, TRAPFRAME.f.cs));
      a.and(eax, 3, 'RPL of the saved CS: the privilege level that executed int 0x80');
      a.cmp(eax, 3);
      a.if_('ne', () => {
        say(a, a.cstr('[syscall] int 0x80 from CS=0x'));
        a.mov(eax, dword(ebx, TRAPFRAME.f.cs));
        a.call(serial_put_hex8);
        say(a, a.cstr(' (ring 0) refused: system calls come from ring 3\r\n'));
        a.mov(dword(ebx, TRAPFRAME.f.eax), EPERM.neg());
        r.ret();
      });
      a.mov(eax, dword(proc_current));
      a.inc(dword(eax, PROC.f.syscalls));
      a.cmp(dword(strace_on), 0);
      a.if_('ne', () => {
        a.mov(eax, ebx);
        a.call(strace_enter);
      });
      a.mov(ecx, esi, 'ECX = call number');
      a.mov(eax, ENOSYS.neg());
      a.cmp(ecx, NSYSCALLS, 'unsigned: negative numbers are unknown too');
      a.if_('b', () => {
        a.mov(eax, ebx, 'sys_*(frame)');
        a.call(dword({ index: ecx, scale: 4, disp: syscall_table }));
      });
      a.mov(dword(ebx, TRAPFRAME.f.eax), eax, 'the result: iretd brings it back to the program in EAX');
      a.cmp(dword(strace_on), 0);
      r.retIf('e');
      a.mov(eax, ebx);
      a.mov(edx, esi);
      a.call(strace_leave);
      r.ret();
    });

    for (const s of SYSCALLS) {
      const body = bodyOf(s.name);
      a.routine({
        name: `sys_${s.name}`, does: `${s.name}(${s.args.join(', ')}) -> ${s.returns}; errors: ${s.errors}`,
        ...SYSCALL_CONTRACT, saves: body.saves ?? [],
      }, (r) => body.emit(a, r));
    }

    a.section('tables (generated from SYSCALLS in kernel/proc/abi.ts)');
    a.label(syscall_table, 'number -> handler');
    SYSCALLS.forEach((s, i) => a.dataC(4, [L(`sys_${s.name}`)], `${i}`));
  },
});
