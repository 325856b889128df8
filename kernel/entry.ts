// The kernel's first instructions and its initialisation order.
import { defineModule } from '../toolchain/x86/asm.ts';
import { ax, eax, ecx, edx, edi, esp, ds, es, fs, gs, ss, byte, constant } from '../toolchain/x86/operands.ts';
import { SEL_KERNEL_DATA } from '../boot/gdt.ts';
import { cmdline_parse } from './cmdline.ts';
import { exceptions_init } from './cpu/exceptions.ts';
import { gdt_init } from './cpu/gdt.ts';
import { idt_init } from './cpu/idt.ts';
import { paging_init } from './cpu/paging.ts';
import { cmdline_buf, fw_cfg_read_cmdline } from './dev/fw_cfg.ts';
import { pic_init } from './dev/pic.ts';
import { pit_init, pit_wait_first_tick } from './dev/pit.ts';
import { serial_init, serial_newline, serial_put_escaped, serial_puts } from './dev/serial.ts';
import { uart_rx_init } from './dev/uart_rx.ts';
import { pci_init } from './pci/pci.ts';
import { virtio_ack_boot, virtio_init } from './virtio/transport.ts';
import { virtio_blk_init } from './blk/virtio_blk.ts';
import { ata_init } from './blk/ata.ts';
import { disk_find_boot } from './blk/disk.ts';
import { tar_mount } from './fs/tar.ts';
import { mem_check, proc_init } from './proc/proc.ts';
import { pmm_init } from './mm/pmm.ts';
import { syscall_init } from './proc/syscall.ts';
import { scenario_run } from './scenarios.ts';
import { bss_end, bss_start, sym } from '../toolchain/x86/symbol.ts';
import { say } from './lib/print.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const cmdline_print = sym('cmdline_print');
const kernel_entry = sym('kernel_entry');
export const kernel_stack = sym('kernel_stack');
const kmain = sym('kmain');

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
    a.bss(kernel_stack, KERNEL_STACK_SIZE, 16, 'the kernel stack (grows down from its top)');

    a.label(kernel_entry);
    a.mov(ax, SEL_KERNEL_DATA);
    a.mov(ds, ax, 'flat ring-0 data for every data segment register');
    a.mov(es, ax);
    a.mov(fs, ax);
    a.mov(gs, ax);
    a.mov(ss, ax);
    a.cld();
    a.mov(edi, bss_start, 'clear the bss (it holds the stack: no push before this)');
    a.mov(ecx, bss_end.sub(bss_start).div(4), 'dwords to clear');
    a.xor(eax, eax);
    a.rep_stosd();
    a.mov(esp, kernel_stack.add(KERNEL_STACK_SIZE), 'ESP = top of the kernel stack');
    a.call(kmain, 'never returns');

    a.label(kmain);
    a.call(serial_init, '1. console first: every later step reports on it');
    say(a, a.cstr('[kernel] protected mode (CS=0x08, data segments 0x10)\r\n'));
    a.call(gdt_init, '2. our own GDT, with the TSS ring 3 needs');
    a.call(idt_init, '3. the IDT, before anything can raise an exception');
    a.call(exceptions_init);
    say(a, a.cstr('[idt] 256 gates loaded: 0-31 CPU exceptions, 32-47 IRQs\r\n'));
    a.call(paging_init, '4. paging: the kernel map every address space shares');
    a.call(fw_cfg_read_cmdline, '5. the cmdline, which configures what follows (hz=, test=, seed=, strace=)');
    a.call(cmdline_print);
    a.call(cmdline_parse);
    a.call(mem_check, '   is there RAM for the process slots? (a clear panic, never a triple fault later)');
    a.call(pmm_init, '   the memory map stage 2 got from the BIOS, and the page allocator over it');
    a.call(pic_init, '6. remap the PIC before any IRQ line is unmasked');
    a.call(pit_init, '7. the timer (unmasks IRQ0)');
    a.call(uart_rx_init, '8. serial input (unmasks IRQ4)');
    a.call(pci_init, '   the functions on PCI bus 0, for lspci and the drivers');
    a.call(virtio_init, '   the virtio functions among them: reset, recorded for their drivers');
    a.call(virtio_blk_init, '   virtio-blk disks into the block layer (polling: nothing can block yet)');
    a.call(ata_init, '   the IDE disks on the legacy channels (polled ATA PIO), into the block layer\'s table (after virtio: vda comes first)');
    a.call(disk_find_boot, '   which disk holds this kernel: writes to it are refused');
    a.call(tar_mount, '   the first virtio-blk disk that holds a ustar archive becomes the file system (read only)');
    a.call(virtio_ack_boot, '   boot-time polling is over: clear the virtio ISRs it left, before sti');
    a.call(proc_init, '9. the process table: this code becomes pid 0, the kernel task');
    a.call(syscall_init, '10. the int 0x80 gate');
    a.sti('11. from here on interrupts are delivered');
    a.mov(eax, a.cstr('[kernel] interrupts enabled\r\n'));
    a.call(serial_puts, 'a tick may come mid-line: its message waits for this line\'s end (serial.asm)');
    a.call(pit_wait_first_tick, '12. see the timer work (at most one tick: 10 ms at 100 Hz)');
    a.jmp(scenario_run, '13. a test scenario, or the shell');

    a.routine({
      name: cmdline_print, does: 'prints "[boot] cmdline: " and the cmdline (escaped), or "(none)"',
      clobbers: [eax, ecx, edx],
    }, () => {
      say(a, a.cstr('[boot] cmdline: '));
      a.cmp(byte(cmdline_buf), 0);
      a.if_('e', () => {
        say(a, a.cstr('(none)'));
      }, () => {
        a.mov(eax, cmdline_buf);
        a.call(serial_put_escaped, 'the cmdline is outside input: an ESC byte must not reach the terminal raw');
      });
      a.jmp(serial_newline, 'tail call');
    });
  },
});
