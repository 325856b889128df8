// System-call tracing: what strace=1 prints for every int 0x80.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, eax, ebx, ecx, edx, esi, L, byte, dword, chr } from '../../toolchain/x86/operands.ts';
import { TRAPFRAME } from '../cpu/trapframe.ts';
import { proc_current } from './proc.ts';
import { PROC } from './table.ts';
import { NSYSCALLS, SYSCALLS } from './abi.ts';
import { serial_newline, serial_put_dec, serial_put_hex, serial_put_hex8, serial_put_int, serial_putc, serial_puts } from '../dev/serial.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { say } from '../lib/print.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const strace_enter = sym('strace_enter');
export const strace_leave = sym('strace_leave');
const strace_name = sym('strace_name');
export const strace_on = sym('strace_on');
const strace_prefix = sym('strace_prefix');
const syscall_argc = sym('syscall_argc');
const syscall_names = sym('syscall_names');

const FRAME_ARGS = [TRAPFRAME.f.ebx, TRAPFRAME.f.ecx, TRAPFRAME.f.edx, TRAPFRAME.f.esi, TRAPFRAME.f.edi];

export const strace = defineModule({
  name: 'strace',
  title: 'strace: print every system call and its result',
  about: `
With "strace=1" on the cmdline, syscall_handler (syscall.asm) calls
strace_enter before a call and strace_leave after it:

  [strace] pid 1 CS=0x1B -> write(0x1, 0x40003C, 0x28)
  [strace] pid 1 <- write = 40

The CS shown is the one the CPU saved in the trap frame: its low two bits
(3) are the privilege level the call came from - the same bits
syscall_handler checks.  Arguments are printed in hex, as many as the call
takes (syscall_argc, generated from SYSCALLS); an unknown number is shown
as "syscall 0x..".  Output of the call itself (a write that ends a line)
comes between the two lines - a program's output is line-buffered
(serial.asm), so a line built from several writes appears whole, at the
write of its LF, never split by trace lines.  exit has no "<-" line,
because it does not return.`,
  emit(a) {
    a.bss(strace_on, 4, 4, '1 when the cmdline says strace=1');

    a.routine({
      name: strace_enter, does: 'print "[strace] pid N CS=0x.. -> name(args)" for a system call about to run',
      in: { eax: 'trap frame' }, clobbers: [eax, ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(ebx, eax);
      a.call(strace_prefix);
      say(a, a.cstr(' CS=0x'));
      a.mov(eax, dword(ebx, TRAPFRAME.f.cs));
      a.call(serial_put_hex8);
      say(a, a.cstr(' -> '));
      a.mov(eax, dword(ebx, TRAPFRAME.f.eax));
      a.call(strace_name, 'EAX = argument count');
      a.mov(esi, eax);
      a.mov(al, chr('('));
      a.call(serial_putc);
      FRAME_ARGS.forEach((off, i) => {
        a.cmp(esi, i + 1);
        a.jb(L('.close'));
        if (i) { a.mov(eax, a.cstr(', ')); a.call(serial_puts); }
        a.mov(eax, dword(ebx, off));
        a.call(serial_put_hex);
      });
      a.label('.close');
      a.mov(al, chr(')'));
      a.call(serial_putc);
      a.call(serial_newline);
      r.ret();
    });

    a.routine({
      name: strace_leave, does: 'print "[strace] pid N <- name = result" for a system call that returned',
      in: { eax: 'trap frame (its EAX holds the result)', edx: 'call number' },
      clobbers: [eax, ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(ebx, eax);
      a.mov(esi, edx);
      a.call(strace_prefix);
      say(a, a.cstr(' <- '));
      a.mov(eax, esi);
      a.call(strace_name);
      say(a, a.cstr(' = '));
      a.mov(eax, dword(ebx, TRAPFRAME.f.eax));
      a.call(serial_put_int);
      a.call(serial_newline);
      r.ret();
    });

    a.routine({
      name: strace_prefix, does: 'print "[strace] pid N" for the current process',
      clobbers: [eax, ecx, edx],
    }, () => {
      say(a, a.cstr('[strace] pid '));
      a.mov(eax, dword(proc_current));
      a.mov(eax, dword(eax, PROC.f.pid));
      a.jmp(serial_put_dec, 'tail call');
    });

    a.routine({
      name: strace_name, does: 'print a system call\'s name ("syscall 0x.." when the number is unknown)',
      in: { eax: 'call number' }, out: { eax: 'its argument count (0 when unknown)' },
      clobbers: [ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      a.cmp(ebx, NSYSCALLS);
      a.if_('b', () => {
        a.mov(eax, dword({ index: ebx, scale: 4, disp: syscall_names }));
        a.call(serial_puts);
        a.movzx(eax, byte({ base: ebx, disp: syscall_argc }));
        r.ret();
      });
      say(a, a.cstr('syscall '));
      a.mov(eax, ebx);
      a.call(serial_put_hex);
      a.xor(eax, eax);
      r.ret();
    });

    a.section('tables (generated from SYSCALLS in kernel/proc/abi.ts)');
    a.label(syscall_names, 'number -> name (for strace)');
    SYSCALLS.forEach((s, i) => a.dataC(4, [L(`strace_name_${s.name}`)], `${i}`));
    a.label(syscall_argc, 'number -> how many arguments (for strace)');
    a.db(...SYSCALLS.map((s) => s.args.length));
    for (const s of SYSCALLS) { a.label(`strace_name_${s.name}`); a.db(s.name, 0); }
  },
});
