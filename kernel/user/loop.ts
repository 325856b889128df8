// loop: a program that never ends.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax } from '../../toolchain/x86/operands.ts';
import { u_puts } from './ulib.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const _start = sym('_start');
const loop_forever = sym('loop_forever');

export const loop = defineModule({
  name: 'loop',
  title: 'loop: say hello, then spin forever',
  about: `
A program that never exits and never makes another system call.  It cannot
hang the machine: the timer still interrupts it (preemption), the shell's
"run loop &" returns to the prompt, and Ctrl-C on the console ends it.`,
  emit(a) {
    a.label(_start);
    a.mov(eax, a.cstr('[loop] looping forever (Ctrl-C stops it)\n'));
    a.call(u_puts);
    a.label(loop_forever);
    a.jmp(loop_forever, 'only an interrupt takes the CPU away from here');
  },
});
