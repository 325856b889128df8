// Stage 2: the real-mode program the boot sector loads to 0x7E00.
import { defineModule } from '../toolchain/x86/asm.ts';
import { byte, dl, si } from '../toolchain/x86/operands.ts';
import { a20_enable } from './a20.ts';
import { e820_read } from './e820.ts';
import { ivt_demo } from './ivt.ts';
import { enter_protected_mode } from './pmode.ts';
import { puts } from './serial16.ts';
import { sym } from '../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const stage2_boot_drive = sym('stage2_boot_drive');
const stage2_entry = sym('stage2_entry');

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
  3. e820.asm   - ask the BIOS which physical memory is RAM, for the kernel;
  4. gdt.asm    - the global descriptor table: flat code and data segments;
  5. pmode.asm  - set CR0.PE and far-jump into the 32-bit kernel.
It never returns: the far jump in step 5 leaves real mode for good.`,
  emit(a) {
    a.label(stage2_entry);
    a.mov(byte(stage2_boot_drive), dl, 'the boot drive, should a later stage want it');
    a.mov(si, a.cstr('[stage2] running in real mode at 0x7E00\r\n'));
    a.call(puts);
    a.call(ivt_demo, '1. real-mode interrupts');
    a.call(a20_enable, '2. reach memory above 1 MiB');
    a.call(e820_read, '3. the memory map: a BIOS call, so only possible in real mode');
    a.jmp(enter_protected_mode, '4 + 5. load the GDT, switch modes, jump to the kernel; no return');

    a.label(stage2_boot_drive); a.db(0);
  },
});
