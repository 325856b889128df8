// The user library: what every user program links with.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, dl, eax, ebx, ecx, edx, edi, ebp, byte, chr, dec } from '../../toolchain/x86/operands.ts';
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

The kernel restores every register but EAX on the way back from int 0x80
(popad in isr_common), so each wrapper's contract, printed in its header,
lists exactly what it changes: the writers return write's result in EAX
and clobber ECX and EDX.  u_exit (EAX = exit code) does not return.`,
  spec: ['docs/design.md §4 (syscall ABI)'],
  emit(a) {
    a.routine({
      name: u_write, does: 'write(1, buffer, length): the system call',
      in: { eax: 'buffer', edx: 'length' }, out: { eax: 'bytes written, or -errno' },
      clobbers: [ecx], saves: [ebx],
    }, (r) => {
      a.mov(ecx, eax, 'ECX = buffer');
      a.mov(ebx, 1, 'EBX = fd 1 (stdout)');
      a.mov(eax, SYS.write!, 'EDX = length already');
      a.int(VEC_SYSCALL, 'the kernel restores every register but EAX');
      r.ret();
    });

    a.routine({
      name: u_puts, does: 'writes a NUL-terminated string to fd 1',
      in: { eax: 'the string' }, out: { eax: 'what write returned' }, clobbers: [ecx, edx],
    }, () => {
      a.mov(edx, eax);
      a.while_(() => { a.cmp(byte(edx), 0); return 'ne'; }, () => a.inc(edx));
      a.sub(edx, eax, 'EDX = length');
      a.jmp(u_write, 'tail call');
    });

    a.routine({
      name: u_newline, does: 'writes a line feed to fd 1',
      out: { eax: 'what write returned' }, clobbers: [ecx, edx],
    }, () => {
      a.mov(eax, a.cstr('\n'));
      a.mov(edx, 1);
      a.jmp(u_write, 'tail call');
    });

    a.routine({
      name: u_put_int, does: 'writes a signed number in decimal to fd 1',
      in: { eax: 'the value (signed)' }, out: { eax: 'what the last write returned' }, clobbers: [ecx, edx],
    }, () => {
      a.test(eax, eax);
      a.if_('s', () => {
        a.push(eax);
        a.mov(eax, a.cstr('-'));
        a.mov(edx, 1);
        a.call(u_write);
        a.pop(eax);
        a.neg(eax, 'the magnitude (0x80000000 stays itself: read unsigned, it is right)');
      });
      a.jmp(u_put_dec, 'tail call');
    });

    a.routine({
      name: u_put_dec, does: 'writes an unsigned number in decimal to fd 1',
      in: { eax: 'the value' }, out: { eax: 'what write returned' }, clobbers: [ecx, edx], saves: [edi, ebx],
      locals: { digits: [12, 'up to 10 digits, stored backwards from the end'] },
    }, (r) => {
      a.mov(edi, ebp, 'EDI = end of the digits (the locals end at EBP)');
      a.mov(ebx, dec(10), 'base 10');
      a.doWhile(() => {
        a.xor(edx, edx);
        a.div(ebx, 'EAX = quotient, EDX = the next digit');
        a.add(edx, chr('0'));
        a.dec(edi);
        a.mov(byte(edi), dl);
      }, () => { a.test(eax, eax); return 'nz'; });
      a.mov(eax, edi);
      a.mov(edx, ebp);
      a.sub(edx, edi, 'EDX = number of digits');
      a.call(u_write);
      r.ret();
    });

    a.routine({
      name: u_put_hex, does: 'writes a number as 0x and hex digits, without leading zeros, to fd 1',
      in: { eax: 'the value' }, out: { eax: 'what write returned' }, clobbers: [ecx, edx], saves: [edi, ebx],
      locals: { digits: [12, '"0x" and up to 8 hex digits, stored backwards from the end'] },
    }, (r) => {
      a.mov(edi, ebp, 'EDI = end of the digits (the locals end at EBP)');
      a.mov(ebx, eax);
      const hex = a.cstr('0123456789ABCDEF');
      a.doWhile(() => {
        a.mov(eax, ebx);
        a.and(eax, 15);
        a.mov(al, byte({ base: eax, disp: hex }));
        a.dec(edi);
        a.mov(byte(edi), al);
      }, () => { a.shr(ebx, 4); return 'nz'; });
      a.dec(edi);
      a.mov(byte(edi), chr('x'));
      a.dec(edi);
      a.mov(byte(edi), chr('0'));
      a.mov(eax, edi);
      a.mov(edx, ebp);
      a.sub(edx, edi, 'EDX = number of bytes');
      a.call(u_write);
      r.ret();
    });

    a.routine({ name: u_getpid, does: 'getpid()', out: { eax: 'this process\'s pid' } }, (r) => {
      a.mov(eax, SYS.getpid!);
      a.int(VEC_SYSCALL);
      r.ret();
    });

    a.routine({ name: u_uptime, does: 'uptime()', out: { eax: 'timer ticks since boot' } }, (r) => {
      a.mov(eax, SYS.uptime!);
      a.int(VEC_SYSCALL);
      r.ret();
    });

    a.comment('u_exit: EAX = exit code; does not return, so it is a plain label and not a routine (no ret to check)');
    a.label(u_exit);
    a.mov(ebx, eax);
    a.mov(eax, SYS.exit!);
    a.int(VEC_SYSCALL, 'does not return');

  },
});
