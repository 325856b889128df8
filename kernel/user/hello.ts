// hello: the smallest user program - one write, one exit.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { ax, cs, eax } from '../../toolchain/x86/operands.ts';
import { u_exit, u_newline, u_put_dec, u_put_hex, u_puts } from './ulib.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const _start = sym('_start');

export const hello = defineModule({
  name: 'hello',
  title: 'hello: write a line from ring 3, then exit(0)',
  about: `
The first program of the lesson.  It runs at CPL 3: it reads its own CS to
show it (the low two bits of CS are the current privilege level), prints
one line with write(1, ...) - i.e. "int 0x80" - and ends with exit(0).
The kernel prints "[proc] pid N exited with code 0".`,
  emit(a) {
    a.label(_start, 'the kernel\'s iretd lands here, at USER_BASE, with CPL = 3');
    a.mov(eax, a.cstr('[hello] hello, world from user mode: CS='));
    a.call(u_puts);
    a.mov(ax, cs, 'CS as the CPU holds it');
    a.movzx(eax, ax);
    a.call(u_put_hex);
    a.mov(eax, a.cstr(', CPL='));
    a.call(u_puts);
    a.mov(ax, cs);
    a.movzx(eax, ax);
    a.and(eax, 3, 'CPL = the RPL bits of CS');
    a.call(u_put_dec);
    a.call(u_newline);
    a.mov(eax, 0);
    a.call(u_exit);
  },
});
