// The kernel's first instructions and its initialisation order.
import { defineModule } from '../toolchain/x86/asm.ts';
import { ax, eax, ecx, edi, esp, ds, es, fs, gs, ss, L, byte, constant } from '../toolchain/x86/operands.ts';
import { SEL_KERNEL_DATA } from '../boot/gdt.ts';

export const KERNEL_STACK_SIZE = constant('KERNEL_STACK_SIZE', 16384, 'bytes of the boot kernel stack (kernel_stack): the kernel task runs on it, and ESP0 points at its top until the first user process', { radix: 10 });

export const entry = defineModule({
  name: 'entry',
  title: 'Kernel entry: segments, stack, bss, and the order of initialisation',
  about: `
Contract: stage 2 (pmode.asm) far-jumped here, to the first byte of the
kernel at 0x10000, in 32-bit protected mode: CS = 0x08 (flat ring-0 code),
interrupts disabled, paging off, A20 on.  DS, ES, SS, FS, GS still hold real-
mode values and there is no usable stack.

kernel_entry loads the data selector into every data segment register,
clears the reserved (bss) memory after the image - the kernel's stack is
part of it, so this happens before the first push - sets ESP to the top of
kernel_stack, and calls kmain.

kmain reads like a table of contents (as xv6's main.c does): one init call
per line, in an order where each step only needs the ones above it.

The kernel calling convention, used by every routine: arguments in EAX, EDX,
ECX (in that order), result in EAX; EBX, ESI, EDI and EBP are preserved by
the callee, EAX, ECX and EDX may be clobbered; DF is clear.`,
  spec: ['Intel SDM Vol. 3A §9.9.1 step 9 (reload the segment registers after the switch)'],
  emit(a) {
    a.bss('kernel_stack', KERNEL_STACK_SIZE, 16, 'the kernel stack (grows down from its top)');

    a.label('kernel_entry');
    a.mov(ax, SEL_KERNEL_DATA);
    a.mov(ds, ax, 'flat ring-0 data for every data segment register');
    a.mov(es, ax);
    a.mov(fs, ax);
    a.mov(gs, ax);
    a.mov(ss, ax);
    a.cld();
    a.mov(edi, L('bss_start'), 'clear the bss (it holds the stack: no push before this)');
    a.mov(ecx, L('bss_end').sub(L('bss_start')).div(4), 'dwords to clear');
    a.xor(eax, eax);
    a.rep_stosd();
    a.mov(esp, L('kernel_stack').add(KERNEL_STACK_SIZE), 'ESP = top of the kernel stack');
    a.call(L('kmain'), 'never returns');

    a.label('kmain');
    a.call(L('serial_init'), '1. console first: every later step reports on it');
    a.mov(eax, L('entry_msg_pm'));
    a.call(L('serial_puts'));
    a.call(L('gdt_init'), '2. our own GDT, with the TSS ring 3 needs');
    a.call(L('idt_init'), '3. the IDT, before anything can raise an exception');
    a.call(L('exceptions_init'));
    a.mov(eax, L('entry_msg_idt'));
    a.call(L('serial_puts'));
    a.call(L('paging_init'), '4. paging: the kernel map every address space shares');
    a.call(L('fw_cfg_read_cmdline'), '5. the cmdline, which configures what follows (hz=, test=, seed=, strace=)');
    a.call(L('cmdline_print'));
    a.call(L('cmdline_parse'));
    a.call(L('mem_check'), '   is there RAM for the process slots? (a clear panic, never a triple fault later)');
    a.call(L('pic_init'), '6. remap the PIC before any IRQ line is unmasked');
    a.call(L('pit_init'), '7. the timer (unmasks IRQ0)');
    a.call(L('uart_rx_init'), '8. serial input (unmasks IRQ4)');
    a.call(L('proc_init'), '9. the process table: this code becomes pid 0, the kernel task');
    a.call(L('syscall_init'), '10. the int 0x80 gate');
    a.sti('11. from here on interrupts are delivered');
    a.mov(eax, L('entry_msg_sti'));
    a.call(L('serial_puts'), 'a tick may come mid-line: its message waits for this line\'s end (serial.asm)');
    a.call(L('pit_wait_first_tick'), '12. see the timer work (at most one tick: 10 ms at 100 Hz)');
    a.jmp(L('scenario_run'), '13. a test scenario, or the shell');

    a.label('cmdline_print', 'prints "[boot] cmdline: ..."');
    a.mov(eax, L('entry_msg_cmdline'));
    a.call(L('serial_puts'));
    a.cmp(byte(L('cmdline_buf')), 0);
    a.jne(L('.print'));
    a.mov(eax, L('entry_msg_none'));
    a.call(L('serial_puts'));
    a.jmp(L('serial_newline'));
    a.label('.print');
    a.mov(eax, L('cmdline_buf'));
    a.call(L('serial_put_escaped'), 'the cmdline is outside input: an ESC byte must not reach the terminal raw');
    a.jmp(L('serial_newline'));

    a.label('entry_msg_pm'); a.db('[kernel] protected mode (CS=0x08, data segments 0x10)\r\n', 0);
    a.label('entry_msg_idt'); a.db('[idt] 256 gates loaded: 0-31 CPU exceptions, 32-47 IRQs\r\n', 0);
    a.label('entry_msg_cmdline'); a.db('[boot] cmdline: ', 0);
    a.label('entry_msg_none'); a.db('(none)', 0);
    a.label('entry_msg_sti'); a.db('[kernel] interrupts enabled\r\n', 0);
  },
});
