// System-call tracing: what strace=1 prints for every int 0x80.
import { defineModule } from '../toolchain/x86/asm.ts';
import { al, eax, ebx, edx, esi, L, byte, dword, chr } from '../toolchain/x86/operands.ts';
import { TRAPFRAME } from './trapframe.ts';
import { PROC } from './proc.ts';
import { NSYSCALLS, SYSCALLS } from './syscall.ts';

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
    a.bss('strace_on', 4, 4, '1 when the cmdline says strace=1');

    a.section('strace_enter (EAX = trap frame) / strace_leave (EAX = trap frame, EDX = call number)');
    a.label('strace_enter');
    a.push(ebx); a.push(esi);
    a.mov(ebx, eax);
    a.call(L('strace_prefix'));
    a.mov(eax, L('strace_msg_cs'));
    a.call(L('serial_puts'));
    a.mov(eax, dword(ebx, TRAPFRAME.f.cs));
    a.call(L('serial_put_hex8'));
    a.mov(eax, L('strace_msg_arrow_in'));
    a.call(L('serial_puts'));
    a.mov(eax, dword(ebx, TRAPFRAME.f.eax));
    a.call(L('strace_name'), 'EAX = argument count');
    a.mov(esi, eax);
    a.mov(al, chr('('));
    a.call(L('serial_putc'));
    FRAME_ARGS.forEach((off, i) => {
      a.cmp(esi, i + 1);
      a.jb(L('.close'));
      if (i) { a.mov(eax, L('strace_msg_comma')); a.call(L('serial_puts')); }
      a.mov(eax, dword(ebx, off));
      a.call(L('serial_put_hex'));
    });
    a.label('.close');
    a.mov(al, chr(')'));
    a.call(L('serial_putc'));
    a.call(L('serial_newline'));
    a.pop(esi); a.pop(ebx);
    a.ret();

    a.label('strace_leave', 'EAX = frame, EDX = call number');
    a.push(ebx);
    a.push(esi);
    a.mov(ebx, eax);
    a.mov(esi, edx);
    a.call(L('strace_prefix'));
    a.mov(eax, L('strace_msg_arrow_out'));
    a.call(L('serial_puts'));
    a.mov(eax, esi);
    a.call(L('strace_name'));
    a.mov(eax, L('strace_msg_equals'));
    a.call(L('serial_puts'));
    a.mov(eax, dword(ebx, TRAPFRAME.f.eax));
    a.call(L('serial_put_int'));
    a.call(L('serial_newline'));
    a.pop(esi);
    a.pop(ebx);
    a.ret();

    a.label('strace_prefix', 'prints "[strace] pid N "');
    a.mov(eax, L('strace_msg_strace'));
    a.call(L('serial_puts'));
    a.mov(eax, dword(L('proc_current')));
    a.mov(eax, dword(eax, PROC.f.pid));
    a.jmp(L('serial_put_dec'));

    a.label('strace_name', 'EAX = call number: prints its name (the number, if unknown); EAX = its argument count');
    a.push(ebx);
    a.mov(ebx, eax);
    a.cmp(ebx, NSYSCALLS);
    a.jae(L('.unknown'));
    a.mov(eax, dword({ index: ebx, scale: 4, disp: L('syscall_names') }));
    a.call(L('serial_puts'));
    a.movzx(eax, byte({ base: ebx, disp: L('syscall_argc') }));
    a.pop(ebx);
    a.ret();
    a.label('.unknown');
    a.mov(eax, L('strace_msg_unknown'));
    a.call(L('serial_puts'));
    a.mov(eax, ebx);
    a.call(L('serial_put_hex'));
    a.xor(eax, eax);
    a.pop(ebx);
    a.ret();

    a.section('tables (generated from SYSCALLS in kernel/syscall.ts)');
    a.label('syscall_names', 'number -> name (for strace)');
    SYSCALLS.forEach((s, i) => a.dataC(4, [L(`strace_name_${s.name}`)], `${i}`));
    a.label('syscall_argc', 'number -> how many arguments (for strace)');
    a.db(...SYSCALLS.map((s) => s.args.length));
    for (const s of SYSCALLS) { a.label(`strace_name_${s.name}`); a.db(s.name, 0); }
    a.label('strace_msg_strace'); a.db('[strace] pid ', 0);
    a.label('strace_msg_cs'); a.db(' CS=0x', 0);
    a.label('strace_msg_arrow_in'); a.db(' -> ', 0);
    a.label('strace_msg_arrow_out'); a.db(' <- ', 0);
    a.label('strace_msg_comma'); a.db(', ', 0);
    a.label('strace_msg_equals'); a.db(' = ', 0);
    a.label('strace_msg_unknown'); a.db('syscall ', 0);
  },
});
