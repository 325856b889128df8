// loop: a program that never ends.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, L } from '../../toolchain/x86/operands.ts';

export const loop = defineModule({
  name: 'loop',
  title: 'loop: say hello, then spin forever',
  about: `
A program that never exits and never makes another system call.  It cannot
hang the machine: the timer still interrupts it (preemption), the shell's
"run loop &" returns to the prompt, and Ctrl-C on the console ends it.`,
  emit(a) {
    a.label('_start');
    a.mov(eax, L('loop_msg'));
    a.call(L('u_puts'));
    a.label('loop_forever');
    a.jmp(L('loop_forever'), 'only an interrupt takes the CPU away from here');
    a.label('loop_msg'); a.db('[loop] looping forever (Ctrl-C stops it)\n', 0);
  },
});
