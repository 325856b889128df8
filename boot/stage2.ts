// Stage 2: the real-mode program the boot sector loads to 0x7E00.
import { defineModule } from '../toolchain/x86/asm.ts';
import { L, byte, dl, si } from '../toolchain/x86/operands.ts';

export const stage2 = defineModule({
  name: 'stage2',
  title: 'Stage 2: from real mode to protected mode',
  about: `
Contract: the boot sector loaded this component to 0000:7E00 and the kernel to
0x10000, then far-jumped here in real mode with CS = DS = ES = SS = 0, a stack
just below 0x7C00, interrupts enabled and DL = the BIOS boot drive.

Stage 2 has room the boot sector lacked, so it is where the course's first
lessons happen, each in its own file:
  1. ivt.asm    - the real-mode interrupt vector table: install a handler, call it;
  2. a20.asm    - open the A20 gate so addresses above 1 MiB do not wrap around;
  3. gdt.asm    - the global descriptor table: flat code and data segments;
  4. pmode.asm  - set CR0.PE and far-jump into the 32-bit kernel.
It never returns: the far jump in step 4 leaves real mode for good.`,
  emit(a) {
    a.label('stage2_entry');
    a.mov(byte(L('stage2_boot_drive')), dl, 'the boot drive, should a later stage want it');
    a.mov(si, L('msg_stage2'));
    a.call(L('puts'));
    a.call(L('ivt_demo'), '1. real-mode interrupts');
    a.call(L('a20_enable'), '2. reach memory above 1 MiB');
    a.jmp(L('enter_protected_mode'), '3 + 4. load the GDT, switch modes, jump to the kernel; no return');

    a.label('stage2_boot_drive'); a.db(0);
    a.label('msg_stage2'); a.db('[stage2] running in real mode at 0x7E00\r\n', 0);
  },
});
