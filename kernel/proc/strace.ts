// System-call tracing: what strace=1 prints for every int 0x80.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, eax, ebx, edx, esi, L, byte, dword, chr } from '../../toolchain/x86/operands.ts';
import { TRAPFRAME } from '../cpu/trapframe.ts';
import { proc_current } from './proc.ts';
import { PROC } from './table.ts';
import { NSYSCALLS, SYSCALLS } from './abi.ts';
import { serial_newline, serial_put_dec, serial_put_hex, serial_put_hex8, serial_put_int, serial_putc, serial_puts } from '../dev/serial.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const strace_enter = sym('strace_enter');
export const strace_leave = sym('strace_leave');
const strace_msg_arrow_in = sym('strace_msg_arrow_in');
const strace_msg_arrow_out = sym('strace_msg_arrow_out');
const strace_msg_comma = sym('strace_msg_comma');
const strace_msg_cs = sym('strace_msg_cs');
const strace_msg_equals = sym('strace_msg_equals');
const strace_msg_strace = sym('strace_msg_strace');
const strace_msg_unknown = sym('strace_msg_unknown');
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

    a.section('strace_enter (EAX = trap frame) / strace_leave (EAX = trap frame, EDX = call number)');
    a.label(strace_enter);
    a.push(ebx); a.push(esi);
    a.mov(ebx, eax);
    a.call(strace_prefix);
    a.mov(eax, strace_msg_cs);
    a.call(serial_puts);
    a.mov(eax, dword(ebx, TRAPFRAME.f.cs));
    a.call(serial_put_hex8);
    a.mov(eax, strace_msg_arrow_in);
    a.call(serial_puts);
    a.mov(eax, dword(ebx, TRAPFRAME.f.eax));
    a.call(strace_name, 'EAX = argument count');
    a.mov(esi, eax);
    a.mov(al, chr('('));
    a.call(serial_putc);
    FRAME_ARGS.forEach((off, i) => {
      a.cmp(esi, i + 1);
      a.jb(L('.close'));
      if (i) { a.mov(eax, strace_msg_comma); a.call(serial_puts); }
      a.mov(eax, dword(ebx, off));
      a.call(serial_put_hex);
    });
    a.label('.close');
    a.mov(al, chr(')'));
    a.call(serial_putc);
    a.call(serial_newline);
    a.pop(esi); a.pop(ebx);
    a.ret();

    a.label(strace_leave, 'EAX = frame, EDX = call number');
    a.push(ebx);
    a.push(esi);
    a.mov(ebx, eax);
    a.mov(esi, edx);
    a.call(strace_prefix);
    a.mov(eax, strace_msg_arrow_out);
    a.call(serial_puts);
    a.mov(eax, esi);
    a.call(strace_name);
    a.mov(eax, strace_msg_equals);
    a.call(serial_puts);
    a.mov(eax, dword(ebx, TRAPFRAME.f.eax));
    a.call(serial_put_int);
    a.call(serial_newline);
    a.pop(esi);
    a.pop(ebx);
    a.ret();

    a.label(strace_prefix, 'prints "[strace] pid N "');
    a.mov(eax, strace_msg_strace);
    a.call(serial_puts);
    a.mov(eax, dword(proc_current));
    a.mov(eax, dword(eax, PROC.f.pid));
    a.jmp(serial_put_dec);

    a.label(strace_name, 'EAX = call number: prints its name (the number, if unknown); EAX = its argument count');
    a.push(ebx);
    a.mov(ebx, eax);
    a.cmp(ebx, NSYSCALLS);
    a.jae(L('.unknown'));
    a.mov(eax, dword({ index: ebx, scale: 4, disp: syscall_names }));
    a.call(serial_puts);
    a.movzx(eax, byte({ base: ebx, disp: syscall_argc }));
    a.pop(ebx);
    a.ret();
    a.label('.unknown');
    a.mov(eax, strace_msg_unknown);
    a.call(serial_puts);
    a.mov(eax, ebx);
    a.call(serial_put_hex);
    a.xor(eax, eax);
    a.pop(ebx);
    a.ret();

    a.section('tables (generated from SYSCALLS in kernel/proc/syscall.ts)');
    a.label(syscall_names, 'number -> name (for strace)');
    SYSCALLS.forEach((s, i) => a.dataC(4, [L(`strace_name_${s.name}`)], `${i}`));
    a.label(syscall_argc, 'number -> how many arguments (for strace)');
    a.db(...SYSCALLS.map((s) => s.args.length));
    for (const s of SYSCALLS) { a.label(`strace_name_${s.name}`); a.db(s.name, 0); }
    a.label(strace_msg_strace); a.db('[strace] pid ', 0);
    a.label(strace_msg_cs); a.db(' CS=0x', 0);
    a.label(strace_msg_arrow_in); a.db(' -> ', 0);
    a.label(strace_msg_arrow_out); a.db(' <- ', 0);
    a.label(strace_msg_comma); a.db(', ', 0);
    a.label(strace_msg_equals); a.db(' = ', 0);
    a.label(strace_msg_unknown); a.db('syscall ', 0);
  },
});
