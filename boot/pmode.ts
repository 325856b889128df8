// Entering protected mode.
import { defineModule } from '../toolchain/x86/asm.ts';
import { cr0, eax, si, L, far, mem, constant } from '../toolchain/x86/operands.ts';
import { SEL_KERNEL_CODE, gdtr } from './gdt.ts';
import { puts } from './serial16.ts';
import { sym } from '../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const enter_protected_mode = sym('enter_protected_mode');

export const CR0_PE = constant('CR0_PE', 1, 'CR0 bit 0: Protection Enable (SDM 3A §2.5)');

export const pmode = defineModule({
  name: 'pmode',
  title: 'Switching to 32-bit protected mode',
  about: `
The switch follows Intel SDM Vol. 3A §9.9.1 "Switching to Protected Mode":
  1. disable maskable interrupts (cli): the real-mode IVT handlers cannot run
     in protected mode, and there is no IDT yet;
  2. load the GDT with lgdt;
  3. set CR0.PE with mov cr0;
  4. immediately far-jump to a 32-bit code segment: this reloads CS with a
     protected-mode selector (and flushes the prefetched real-mode
     instructions).  The operand is ptr16:32 ("jmp dword") because the target,
     the kernel at 0x10000, is beyond 64 KiB.
The kernel reloads DS, ES, SS, FS and GS itself with its data selector.`,
  spec: ['Intel SDM Vol. 3A §9.9.1 "Switching to Protected Mode"', 'Intel SDM Vol. 3A §2.5 "Control Registers" (CR0.PE)'],
  emit(a) {
    a.label(enter_protected_mode);
    a.mov(si, a.cstr('[gdt] loading GDT: kernel code 0x08, kernel data 0x10, user code 0x1B, user data 0x23, TSS 0x28\r\n'));
    a.call(puts);
    a.mov(si, a.cstr('[pm] setting CR0.PE and jumping to the 32-bit kernel\r\n'));
    a.call(puts);
    a.cli('1. no interrupts until the kernel has an IDT');
    a.lgdt(mem(gdtr), '2. GDTR = base and limit of our table');
    a.mov(eax, cr0);
    a.or(eax, CR0_PE, '3. protection on ...');
    a.mov(cr0, eax);
    a.jmp(far(SEL_KERNEL_CODE, L('KERNEL_ENTRY'), { wide: true }), '4. ... and CS = kernel code selector, EIP = kernel entry');

  },
});
