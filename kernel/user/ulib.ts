// The user library: what every user program links with.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, dl, eax, ebx, ecx, edx, edi, esp, L, byte, mem, chr, dec } from '../../toolchain/x86/operands.ts';
import { SYS, VEC_SYSCALL } from '../proc/abi.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const u_exit = sym('u_exit');
export const u_getpid = sym('u_getpid');
export const u_newline = sym('u_newline');
export const u_put_dec = sym('u_put_dec');
export const u_put_hex = sym('u_put_hex');
export const u_put_int = sym('u_put_int');
export const u_puts = sym('u_puts');
export const u_uptime = sym('u_uptime');
export const u_write = sym('u_write');
const ulib_flush_digits = sym('ulib_flush_digits');
const ulib_hex = sym('ulib_hex');
const ulib_minus = sym('ulib_minus');
const ulib_newline = sym('ulib_newline');

export const ulib = defineModule({
  name: 'ulib',
  title: 'ulib: system-call wrappers and number printing for user programs',
  about: `
User programs run in ring 3 and cannot call kernel routines: the kernel's
pages are supervisor-only, and a call into them would fault.  Everything
goes through "int 0x80" (docs/design.md §4): number in EAX, arguments in EBX,
ECX, EDX, ESI, EDI, result in EAX.  These wrappers follow the same calling
convention as the kernel's routines (arguments in EAX, EDX, ECX; EBX, ESI,
EDI, EBP preserved), so they save EBX, which the ABI uses for argument 1.

  u_write    EAX = buffer, EDX = length: write(1, ...) -> EAX = result
  u_puts     EAX = NUL-terminated string, to fd 1
  u_newline
  u_put_dec  EAX = unsigned value in decimal
  u_put_int  EAX = signed value in decimal
  u_put_hex  EAX = value as 0x and hex digits, no leading zeros
  u_getpid, u_uptime -> EAX
  u_exit     EAX = exit code (does not return)`,
  spec: ['docs/design.md §4 (syscall ABI)'],
  emit(a) {
    a.label(u_write);
    a.push(ebx);
    a.mov(ecx, eax, 'ECX = buffer');
    a.mov(ebx, 1, 'EBX = fd 1 (stdout)');
    a.mov(eax, SYS.write!, 'EDX = length already');
    a.int(VEC_SYSCALL);
    a.pop(ebx);
    a.ret();

    a.label(u_puts);
    a.mov(edx, eax);
    a.label('.len');
    a.cmp(byte(edx), 0);
    a.je(L('.write'));
    a.inc(edx);
    a.jmp(L('.len'));
    a.label('.write');
    a.sub(edx, eax, 'EDX = length');
    a.jmp(u_write);

    a.label(u_newline);
    a.mov(eax, ulib_newline);
    a.mov(edx, 1);
    a.jmp(u_write);

    a.label(u_put_int);
    a.test(eax, eax);
    a.jns(u_put_dec);
    a.push(eax);
    a.mov(eax, ulib_minus);
    a.mov(edx, 1);
    a.call(u_write);
    a.pop(eax);
    a.neg(eax);
    a.comment('fall through');
    a.label(u_put_dec);
    a.push(edi);
    a.push(ebx);
    a.sub(esp, dec(12), 'room for 10 digits');
    a.lea(edi, mem(esp, dec(12)), 'EDI = end of the digits; they are stored backwards');
    a.mov(ebx, dec(10), 'base 10');
    a.label('.digit');
    a.xor(edx, edx);
    a.div(ebx);
    a.add(edx, chr('0'));
    a.dec(edi);
    a.mov(byte(edi), dl);
    a.test(eax, eax);
    a.jnz(L('.digit'));
    a.jmp(ulib_flush_digits);

    a.label(u_put_hex);
    a.push(edi);
    a.push(ebx);
    a.sub(esp, dec(12), 'room for "0x" and 8 hex digits (same buffer as u_put_dec)');
    a.lea(edi, mem(esp, dec(12)));
    a.mov(ebx, eax);
    a.label('.digit');
    a.mov(eax, ebx);
    a.and(eax, 15);
    a.mov(al, byte({ base: eax, disp: ulib_hex }));
    a.dec(edi);
    a.mov(byte(edi), al);
    a.shr(ebx, 4);
    a.jnz(L('.digit'));
    a.dec(edi);
    a.mov(byte(edi), chr('x'));
    a.dec(edi);
    a.mov(byte(edi), chr('0'));
    a.comment('fall through');
    a.label(ulib_flush_digits, 'write EDI .. ESP+12, then drop the buffer and restore EBX, EDI');
    a.mov(eax, edi);
    a.lea(edx, mem(esp, dec(12)));
    a.sub(edx, edi);
    a.call(u_write);
    a.add(esp, dec(12));
    a.pop(ebx);
    a.pop(edi);
    a.ret();

    a.label(u_getpid);
    a.mov(eax, SYS.getpid!);
    a.int(VEC_SYSCALL);
    a.ret();

    a.label(u_uptime);
    a.mov(eax, SYS.uptime!);
    a.int(VEC_SYSCALL);
    a.ret();

    a.label(u_exit);
    a.mov(ebx, eax);
    a.mov(eax, SYS.exit!);
    a.int(VEC_SYSCALL, 'does not return');

    a.label(ulib_newline); a.db(10);
    a.label(ulib_minus); a.db('-');
    a.label(ulib_hex); a.db('0123456789ABCDEF');
  },
});
