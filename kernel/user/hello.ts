// hello: the smallest user program - one write, one exit.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { ax, cs, eax } from '../../toolchain/x86/operands.ts';
import { u_exit, u_newline, u_put_dec, u_put_hex, u_puts } from './ulib.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const _start = sym('_start');
const hello_msg = sym('hello_msg');
const hello_msg_cpl = sym('hello_msg_cpl');

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
    a.mov(eax, hello_msg);
    a.call(u_puts);
    a.mov(ax, cs, 'CS as the CPU holds it');
    a.movzx(eax, ax);
    a.call(u_put_hex);
    a.mov(eax, hello_msg_cpl);
    a.call(u_puts);
    a.mov(ax, cs);
    a.movzx(eax, ax);
    a.and(eax, 3, 'CPL = the RPL bits of CS');
    a.call(u_put_dec);
    a.call(u_newline);
    a.mov(eax, 0);
    a.call(u_exit);

    a.label(hello_msg); a.db('[hello] hello, world from user mode: CS=', 0);
    a.label(hello_msg_cpl); a.db(', CPL=', 0);
  },
});
