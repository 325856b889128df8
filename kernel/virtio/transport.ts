// The virtio PCI transport, legacy (I/O-port) interface: finding virtio
// functions, the status handshake, features, queues, notify and the shared
// level-triggered INTx handler.  Shared by every virtio driver.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, ax, eax, ebx, ecx, edx, esi, edi, esp, dx, L, byte, word, dword, constant, chr, not } from '../../toolchain/x86/operands.ts';
import { defineStruct, u32 } from '../../toolchain/x86/struct.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { putDec, say } from '../lib/print.ts';
import { serial_newline, serial_put_hex, serial_put_hex8, serial_putc } from '../dev/serial.ts';
import { irq_register, pic_unmask } from '../dev/pic.ts';
import { pmm_alloc_pages } from '../mm/pmm.ts';
import { TRAPFRAME } from '../cpu/trapframe.ts';
import { PIC1_VECTOR } from '../dev/pic.ts';
import { PCI_FN, pci_count, pci_enable, pci_table } from '../pci/pci.ts';
import { pci_read16 } from '../pci/config.ts';
import { VIRTQ_USED, VIRTQ_USED_F_NO_NOTIFY, VQ, VQ_ALIGN, vq_layout } from './queue.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const virtio_init = sym('virtio_init');
export const virtio_devs = sym('virtio_devs');
export const virtio_dev_count = sym('virtio_dev_count');
export const virtio_find = sym('virtio_find');
export const virtio_begin = sym('virtio_begin');
export const virtio_queue = sym('virtio_queue');
export const virtio_ready = sym('virtio_ready');
export const virtio_fail = sym('virtio_fail');
export const virtio_notify = sym('virtio_notify');
export const virtio_attach_irq = sym('virtio_attach_irq');
export const virtio_irq = sym('virtio_irq');
export const virtio_irq_none = sym('virtio_irq_none');
export const virtio_put_fn = sym('virtio_put_fn');
export const virtio_ack_boot = sym('virtio_ack_boot');
const virtio_irq_lines = sym('virtio_irq_lines');

export const VIRTIO_VENDOR = constant('VIRTIO_VENDOR', 0x1af4, 'PCI vendor ID of every virtio device (virtio 1.1 §4.1.2)');
export const VIRTIO_DEV_TRANSITIONAL = constant('VIRTIO_DEV_TRANSITIONAL', 0x1000, 'device IDs 0x1000-0x103F: transitional devices, which keep the legacy interface (§4.1.2.3)');
export const VIRTIO_DEV_MODERN = constant('VIRTIO_DEV_MODERN', 0x1040, 'device IDs 0x1040 + type: modern-only devices, virtio 1.0 capabilities and no legacy I/O BAR (§4.1.2.1)');
export const PCI_SUBSYSTEM_ID = constant('PCI_SUBSYSTEM_ID', 0x2e, 'configuration offset of the Subsystem ID (header type 0): for a transitional virtio device, its virtio device type (virtio 1.1 §4.1.2.1)');
export const VIRTIO_DEV_LAST = constant('VIRTIO_DEV_LAST', 0x107f, 'last device ID assigned to virtio');
export const VIRTIO_TYPE_NET = constant('VIRTIO_TYPE_NET', 1, 'virtio device type 1: network card (§5.1); transitional device ID 0x1000', { radix: 10 });
export const VIRTIO_TYPE_BLK = constant('VIRTIO_TYPE_BLK', 2, 'virtio device type 2: block device (§5.2); transitional device ID 0x1001', { radix: 10 });
export const VIRTIO_MAX_DEVS = constant('VIRTIO_MAX_DEVS', 8, 'entries in virtio_devs: a device beyond them is reported and left alone', { radix: 10 });

// The legacy register block at BAR0 (virtio 1.1 §4.1.4.8).
export const VIRTIO_PCI_HOST_FEATURES = constant('VIRTIO_PCI_HOST_FEATURES', 0x00, 'BAR0+0x00 u32 R: feature bits 0-31 the device offers');
export const VIRTIO_PCI_GUEST_FEATURES = constant('VIRTIO_PCI_GUEST_FEATURES', 0x04, 'BAR0+0x04 u32 R/W: feature bits the driver accepts');
export const VIRTIO_PCI_QUEUE_PFN = constant('VIRTIO_PCI_QUEUE_PFN', 0x08, 'BAR0+0x08 u32 R/W: the selected queue\'s base address >> 12 (0: queue off)');
export const VIRTIO_PCI_QUEUE_NUM = constant('VIRTIO_PCI_QUEUE_NUM', 0x0c, 'BAR0+0x0C u16 R: size N of the selected queue (0: no such queue)');
export const VIRTIO_PCI_QUEUE_SEL = constant('VIRTIO_PCI_QUEUE_SEL', 0x0e, 'BAR0+0x0E u16 R/W: queue select');
export const VIRTIO_PCI_QUEUE_NOTIFY = constant('VIRTIO_PCI_QUEUE_NOTIFY', 0x10, 'BAR0+0x10 u16 W: write a queue number: it has new buffers');
export const VIRTIO_PCI_STATUS = constant('VIRTIO_PCI_STATUS', 0x12, 'BAR0+0x12 u8 R/W: device status (writing 0 resets the device)');
export const VIRTIO_PCI_ISR = constant('VIRTIO_PCI_ISR', 0x13, 'BAR0+0x13 u8 R: interrupt status; reading it clears it and deasserts INTx');
export const VIRTIO_PCI_CONFIG = constant('VIRTIO_PCI_CONFIG', 0x14, 'BAR0+0x14: device-specific configuration (while MSI-X is off)');

export const VIRTIO_STATUS_ACKNOWLEDGE = constant('VIRTIO_STATUS_ACKNOWLEDGE', 1, 'status bit: the guest has noticed the device (§2.1)');
export const VIRTIO_STATUS_DRIVER = constant('VIRTIO_STATUS_DRIVER', 2, 'status bit: the guest knows how to drive it');
export const VIRTIO_STATUS_DRIVER_OK = constant('VIRTIO_STATUS_DRIVER_OK', 4, 'status bit: the driver is set up; the device may work');
export const VIRTIO_STATUS_FAILED = constant('VIRTIO_STATUS_FAILED', 0x80, 'status bit: the driver gave up on the device');
export const VIRTIO_ISR_QUEUE = constant('VIRTIO_ISR_QUEUE', 1, 'ISR bit 0: a used ring has new entries');
export const VIRTIO_ISR_CONFIG = constant('VIRTIO_ISR_CONFIG', 2, 'ISR bit 1: the device configuration changed');
export const VIRTIO_F_BAD_FEATURE = constant('VIRTIO_F_BAD_FEATURE', 1 << 30, 'feature bit 30: offered by legacy devices so that a driver accepting every bit shows up as broken; never accepted');
export const VIRTIO_RESET_POLLS = constant('VIRTIO_RESET_POLLS', 1000, 'status reads after a reset before the device is declared stuck', { radix: 10 });

/** What the transport keeps about one virtio function (virtio_devs has VIRTIO_MAX_DEVS). */
export const VIRTIO_DEV = defineStruct('virtio_dev', {
  pci: u32('its pci_table entry (struc pci_fn)'),
  iobase: u32('I/O port of the legacy register block (BAR0)'),
  irq: u32('the INTx IRQ line the firmware routed it to (interrupt line)'),
  type: u32('virtio device type: VIRTIO_TYPE_NET, VIRTIO_TYPE_BLK'),
  host_features: u32('feature bits 0-31 the device offered'),
  features: u32('feature bits the driver accepted'),
  service: u32('the driver\'s routine for ISR bit 0 (EAX = this struc), called from the interrupt; 0 = none yet'),
  priv: u32('the driver\'s own pointer'),
  irqs: u32('interrupts this device raised (its ISR read nonzero)'),
  config_irqs: u32('of those, configuration changes (ISR bit 1)'),
  pio: u32('port-I/O instructions executed for it since setup (notify, ISR reads, status)'),
  reset_status: u32('the status the device had before our reset (the firmware may have used it)'),
}, { doc: 'a virtio device the transport found (virtio.asm)', size: 48 });

export const virtioTransport = defineModule({
  name: 'virtio',
  title: 'The virtio PCI transport: legacy registers, feature negotiation, queues, shared INTx',
  about: `
Virtio is the paravirtual device interface: instead of imitating a real
disk controller register by register (every register access an exit to the
hypervisor), the guest puts whole requests in shared memory - virtqueues
(vqueue.asm) - and writes one I/O port to say "look".  On PCI each virtio
device is a function with vendor 0x1AF4 (virtio 1.1 §4.1.2).  QEMU's pc
machine gives transitional devices (device ID 0x1000 + type - 1 for net
and block; the type itself is in the Subsystem Device ID), which keep the legacy register block in I/O BAR0
(§4.1.4.8 "Legacy Interfaces: A Note on PCI Device Layout"):

  +0x00 u32 host features     +0x0E u16 queue select
  +0x04 u32 guest features    +0x10 u16 queue notify
  +0x08 u32 queue PFN         +0x12 u8  device status
  +0x0C u16 queue size        +0x13 u8  ISR (read clears)
  +0x14 device configuration (while MSI-X is off: this kernel uses INTx)

A modern-only device (device ID 0x1040 + type, e.g. QEMU's
disable-legacy=on) has no BAR0 registers: reaching it takes the virtio 1.0
capabilities in memory BARs.  virtio_init reports such a device in one
line and leaves it alone.

Initialisation (§3.1.1, and its legacy variant §3.1.2):
  1. reset: status = 0.  Mandatory: the firmware may have used the device
     (SeaBIOS boots from virtio-blk with its own driver and leaves it
     running), and a running device could still write to memory we reuse.
  2. ACKNOWLEDGE, then DRIVER.
  3. features: read what the device offers, write back the subset the
     driver implements (virtio_begin's EDX) - never bit 30, a marker legacy
     devices offer to catch drivers that accept everything.  (There is no
     FEATURES_OK step in the legacy interface.)
  4. queues: select, read N, lay the rings out in zeroed contiguous pages
     (pmm_alloc_pages), write their base >> 12 to queue PFN.
  5. device-specific setup, then DRIVER_OK.  A fatal error sets FAILED.

Interrupts.  Without MSI-X a virtio function raises INTx, routed by the
PIIX3 and the firmware to IRQ 10 or 11 on QEMU's pc (slots 2 and 5 share
IRQ 10).  These lines are level-triggered (the firmware programs the ELCR)
and shared: the line stays asserted while any device on it has its ISR
set.  virtio_irq, the one handler for every virtio line, therefore reads
the ISR of every device on the interrupted line: the read both tells which
device raised it and deasserts its part of the line.  A device whose ISR
reads 0 did not interrupt and its driver is not called; an interrupt no
device claims is counted in virtio_irq_none, not blamed on anyone.  The
EOI (slave, then master) comes after, in pic_irq - once every device on
the line has been read, so the level has dropped and the PIC does not
take the same interrupt again.

Routines (the kernel's register convention unless cdecl is said):
  virtio_init        find, reset and record every legacy virtio function
  virtio_find        EAX = type, EDX = previous device or 0 -> EAX = next or 0
  virtio_begin       EAX = dev, EDX = features the driver implements ->
                     EAX = features agreed (ACKNOWLEDGE | DRIVER set)
  virtio_queue       EAX = dev, EDX = queue number -> EAX = struc vq or 0
  virtio_ready       EAX = dev: DRIVER_OK
  virtio_fail        EAX = dev: FAILED
  virtio_notify      EAX = vq: tell the device the queue has new buffers
  virtio_attach_irq  EAX = dev: route its IRQ line to virtio_irq, unmask it
  virtio_ack_boot    read every device's ISR once, just before kmain's sti

Why virtio_ack_boot: until the scheduler runs, drivers poll the used ring
for their requests (GET_ID, the boot-disk scan).  A completion polled that
way still sets the ISR bit - possibly a moment after the used ring showed
it - and on a level-triggered line that bit would be the first interrupt
after sti, for a request already finished.  kmain calls virtio_ack_boot
after the last boot-time request, so the first interrupt is a real one.`,
  spec: [
    'virtio 1.1 §2.1 (device status field), §2.2 (feature bits), §3.1 (device initialization), §4.1.2 (PCI device discovery), §4.1.4.8 "Legacy Interfaces: A Note on PCI Device Layout", §4.1.5.3-4 (notification, ISR), §6.3 (legacy feature bits)',
    'PCI Local Bus Spec 3.0 §2.2.6 (INTx#: level-sensitive, shareable), Intel 82371SB PIIX3 data sheet (ELCR at 0x4D0/0x4D1)',
  ],
  emit(a) {
    a.bss(virtio_devs, VIRTIO_MAX_DEVS.mul(VIRTIO_DEV.SIZE), 4, 'the legacy virtio devices found, in PCI order');
    a.bss(virtio_dev_count, 4, 4, 'entries used in virtio_devs');
    a.bss(virtio_irq_lines, 4, 4, 'bit n: IRQ n is routed to virtio_irq');
    a.bss(virtio_irq_none, 4, 4, 'virtio interrupts no device on the line claimed (its ISR read 0)');

    a.routine({
      name: virtio_put_fn, does: 'prints "[virtio] 00:04.0 1af4:1001 " for a pci_table entry',
      in: { eax: 'the pci_table entry' }, clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      say(a, a.cstr('[virtio] '));
      a.movzx(eax, word(ebx, PCI_FN.f.addr));
      a.shr(eax, 8, 'bus');
      a.call(serial_put_hex8);
      a.mov(al, chr(':'));
      a.call(serial_putc);
      a.movzx(eax, word(ebx, PCI_FN.f.addr));
      a.shr(eax, 3);
      a.and(eax, 31, 'device');
      a.call(serial_put_hex8);
      a.mov(al, chr('.'));
      a.call(serial_putc);
      a.movzx(eax, word(ebx, PCI_FN.f.addr));
      a.and(eax, 7, 'function');
      a.add(al, chr('0'));
      a.call(serial_putc);
      a.mov(al, chr(' '));
      a.call(serial_putc);
      a.mov(al, 0x1a);
      a.call(serial_put_hex8);
      a.mov(al, 0xf4);
      a.call(serial_put_hex8);
      a.mov(al, chr(':'));
      a.call(serial_putc);
      a.movzx(eax, word(ebx, PCI_FN.f.device));
      a.shr(eax, 8);
      a.call(serial_put_hex8);
      a.movzx(eax, word(ebx, PCI_FN.f.device));
      a.call(serial_put_hex8);
      a.mov(al, chr(' '));
      a.call(serial_putc);
      r.ret();
    });

    a.routine({
      name: virtio_init, does: 'finds the virtio functions on bus 0, resets and records the legacy ones, reports the rest',
      clobbers: [eax, ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(ebx, pci_table);
      a.mov(esi, dword(pci_count));
      a.forCount(esi, esi, () => {
        a.cmp(word(ebx, PCI_FN.f.vendor), VIRTIO_VENDOR);
        a.jne(L('.next'));
        a.movzx(eax, word(ebx, PCI_FN.f.device));
        a.cmp(eax, VIRTIO_DEV_LAST);
        a.ja(L('.next'), 'not a virtio device ID (0x1000-0x107F)');
        a.cmp(eax, VIRTIO_DEV_MODERN);
        a.if_('ae', () => {
          a.mov(eax, ebx);
          a.call(virtio_put_fn);
          say(a, a.cstr('modern-only device (virtio 1.0, no legacy I/O BAR0): not driven, skipped\r\n'));
          a.jmp(L('.next'));
        });
        a.cmp(eax, VIRTIO_DEV_TRANSITIONAL);
        a.jb(L('.next'));
        a.comment('The type is the PCI Subsystem Device ID (§4.1.2.1): the transitional IDs follow no formula');
        a.comment('(0x1000 net = 1, 0x1001 block = 2, but 0x1002 balloon = 5, 0x1003 console = 3, 0x1005 entropy = 4).');
        a.movzx(eax, word(ebx, PCI_FN.f.addr));
        a.mov(edx, PCI_SUBSYSTEM_ID);
        a.call(pci_read16);
        a.mov(edi, eax, 'EDI = type');
        a.mov(eax, dword(ebx, PCI_FN.f.bar));
        a.test(al, 1);
        a.jz(L('.no_io'), 'BAR0 is not an I/O BAR: no legacy registers');
        a.and(eax, 0xfffc);
        a.jz(L('.no_io'), 'an I/O BAR the firmware left unassigned');
        a.mov(ecx, dword(virtio_dev_count));
        a.cmp(ecx, VIRTIO_MAX_DEVS);
        a.if_('ae', () => {
          a.mov(eax, ebx);
          a.call(virtio_put_fn);
          say(a, a.cstr('not used: virtio_devs is full\r\n'));
          a.jmp(L('.next'));
        });
        a.inc(dword(virtio_dev_count));
        a.imul(ecx, ecx, VIRTIO_DEV.SIZE);
        a.add(ecx, virtio_devs, 'ECX = the new entry (bss: zero)');
        a.mov(dword(ecx, VIRTIO_DEV.f.iobase), eax);
        a.mov(dword(ecx, VIRTIO_DEV.f.pci), ebx);
        a.mov(dword(ecx, VIRTIO_DEV.f.type), edi);
        a.movzx(eax, byte(ebx, PCI_FN.f.irq_line));
        a.mov(dword(ecx, VIRTIO_DEV.f.irq), eax);
        a.push(ecx);
        a.movzx(eax, word(ebx, PCI_FN.f.addr));
        a.invoke(pci_enable, [eax, 1, 1, 0], 'its I/O BAR (memory decoding stays on, as the firmware had it); no DMA until a driver takes it (virtio_begin)');
        a.pop(edi, 'EDI = the entry');
        a.mov(edx, dword(edi, VIRTIO_DEV.f.iobase));
        a.add(edx, VIRTIO_PCI_STATUS);
        a.in(al, dx);
        a.movzx(eax, al);
        a.mov(dword(edi, VIRTIO_DEV.f.reset_status), eax, 'what the firmware left (SeaBIOS leaves its boot disk at DRIVER_OK)');
        a.mov(al, 0);
        a.out(dx, al, 'reset (§2.1.2): the device forgets its queues and stops using guest memory');
        a.mov(ecx, VIRTIO_RESET_POLLS);
        a.label('.reset_wait');
        a.in(al, dx);
        a.test(al, al);
        a.jz(L('.reset_done'), 'a legacy device reads 0 as soon as the reset is done');
        a.dec(ecx);
        a.jnz(L('.reset_wait'));
        a.label('.reset_done');
        a.push(ecx, '0: the status never cleared');
        a.add(dword(edi, VIRTIO_DEV.f.pio), 2);
        a.mov(eax, ebx);
        a.call(virtio_put_fn);
        a.cmp(dword(edi, VIRTIO_DEV.f.type), VIRTIO_TYPE_BLK);
        a.if_('e', () => say(a, a.cstr('block device')), () => {
          a.cmp(dword(edi, VIRTIO_DEV.f.type), VIRTIO_TYPE_NET);
          a.if_('e', () => say(a, a.cstr('network card')), () => {
            say(a, a.cstr('type '));
            putDec(a, dword(edi, VIRTIO_DEV.f.type));
          });
        });
        say(a, a.cstr(', legacy I/O 0x'));
        a.mov(eax, dword(edi, VIRTIO_DEV.f.iobase));
        a.shr(eax, 8);
        a.call(serial_put_hex8);
        a.mov(eax, dword(edi, VIRTIO_DEV.f.iobase));
        a.call(serial_put_hex8);
        say(a, a.cstr(', irq '));
        putDec(a, dword(edi, VIRTIO_DEV.f.irq));
        say(a, a.cstr(', reset (status was '));
        a.mov(eax, dword(edi, VIRTIO_DEV.f.reset_status));
        a.call(serial_put_hex);
        a.pop(ecx);
        a.test(ecx, ecx);
        a.if_('z', () => say(a, a.cstr(', and it did not clear')));
        say(a, a.cstr(')\r\n'));
        a.jmp(L('.next'));
        a.label('.no_io');
        a.mov(eax, ebx);
        a.call(virtio_put_fn);
        say(a, a.cstr('has no legacy I/O BAR0: not driven, skipped\r\n'));
        a.label('.next');
        a.add(ebx, PCI_FN.SIZE);
      }, 'every PCI function found');
      r.ret();
    });

    a.routine({
      name: virtio_find, does: 'the next recorded virtio device of a type, in PCI order',
      in: { eax: 'device type (VIRTIO_TYPE_*)', edx: 'the device to continue after, or 0 to start' },
      out: { eax: 'the struc virtio_dev, or 0 when there is no further one' },
      clobbers: [ecx, edx],
    }, (r) => {
      a.mov(ecx, eax);
      a.test(edx, edx);
      a.if_('z', () => a.mov(edx, virtio_devs), () => a.add(edx, VIRTIO_DEV.SIZE));
      a.mov(eax, dword(virtio_dev_count));
      a.imul(eax, eax, VIRTIO_DEV.SIZE);
      a.add(eax, virtio_devs, 'EAX = end of the used entries');
      a.while_(() => { a.cmp(edx, eax); return 'b'; }, () => {
        a.cmp(dword(edx, VIRTIO_DEV.f.type), ecx);
        a.if_('e', () => { a.mov(eax, edx); r.ret(); });
        a.add(edx, VIRTIO_DEV.SIZE);
      });
      a.xor(eax, eax);
      r.ret();
    });

    a.routine({
      name: virtio_begin, does: 'ACKNOWLEDGE, DRIVER, and feature negotiation: accepts the offered bits the driver implements',
      in: { eax: 'the device (reset by virtio_init)', edx: 'feature bits 0-31 the driver implements' },
      out: { eax: 'the features agreed (also in virtio_dev.features)' },
      clobbers: [ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      a.push(edx);
      a.mov(eax, dword(ebx, VIRTIO_DEV.f.pci));
      a.movzx(eax, word(eax, PCI_FN.f.addr));
      a.invoke(pci_enable, [eax, 1, 1, 1], 'bus mastering: the device reads and writes the rings and buffers itself (DMA)');
      a.pop(ecx, 'ECX = the driver\'s features');
      a.mov(edx, dword(ebx, VIRTIO_DEV.f.iobase));
      a.add(edx, VIRTIO_PCI_STATUS);
      a.mov(al, VIRTIO_STATUS_ACKNOWLEDGE);
      a.out(dx, al, '§3.1.1 step 2: we have seen it');
      a.mov(al, VIRTIO_STATUS_ACKNOWLEDGE.or(VIRTIO_STATUS_DRIVER));
      a.out(dx, al, 'step 3: and know how to drive it');
      a.mov(edx, dword(ebx, VIRTIO_DEV.f.iobase));
      a.in(eax, dx, 'host features (BAR0+0)');
      a.mov(dword(ebx, VIRTIO_DEV.f.host_features), eax);
      a.and(eax, ecx, 'only what the driver implements ...');
      a.and(eax, not(VIRTIO_F_BAD_FEATURE).and(0xffffffff), '... and never bit 30 (VIRTIO_F_BAD_FEATURE)');
      a.mov(dword(ebx, VIRTIO_DEV.f.features), eax);
      a.add(edx, VIRTIO_PCI_GUEST_FEATURES);
      a.out(dx, eax, 'guest features: from now on the device behaves as agreed');
      a.add(dword(ebx, VIRTIO_DEV.f.pio), 4);
      r.ret();
    });

    a.routine({
      name: virtio_queue, does: 'sets up one queue: reads its size, lays the rings out in fresh contiguous pages, gives the device their address',
      in: { eax: 'the device', edx: 'queue number' },
      out: { eax: 'the struc vq, or 0 (no such queue, bad size, or no memory: a line says which)' },
      clobbers: [ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(ebx, eax, 'EBX = device');
      a.mov(edi, edx, 'EDI = queue number');
      a.mov(edx, dword(ebx, VIRTIO_DEV.f.iobase));
      a.add(edx, VIRTIO_PCI_QUEUE_SEL);
      a.mov(eax, edi);
      a.out(dx, ax, 'select the queue');
      a.sub(edx, VIRTIO_PCI_QUEUE_SEL.sub(VIRTIO_PCI_QUEUE_NUM));
      a.in(ax, dx, 'its size N, fixed by the device on the legacy interface');
      a.add(dword(ebx, VIRTIO_DEV.f.pio), 2);
      a.movzx(esi, ax, 'ESI = N');
      a.test(esi, esi);
      a.if_('z', () => {
        a.mov(eax, dword(ebx, VIRTIO_DEV.f.pci));
        a.call(virtio_put_fn);
        say(a, a.cstr('has no queue '));
        putDec(a, edi);
        a.call(serial_newline);
        a.xor(eax, eax);
        r.ret();
      });
      a.comment('Pages: the rings (legacy layout, vqueue.asm), then struc vq and one cookie per descriptor.');
      a.mov(eax, esi);
      a.imul(eax, eax, 18);
      a.add(eax, VQ_ALIGN.add(6 - 1));
      a.and(eax, VQ_ALIGN.neg());
      a.mov(ecx, esi);
      a.shl(ecx, 3);
      a.add(ecx, VQ_ALIGN.add(6 - 1));
      a.and(ecx, VQ_ALIGN.neg());
      a.add(eax, ecx);
      a.lea(ecx, dword({ index: esi, scale: 4, disp: VQ.SIZE.add(VQ_ALIGN.sub(1)) }));
      a.and(ecx, VQ_ALIGN.neg());
      a.add(eax, ecx);
      a.shr(eax, 12, 'EAX = pages');
      a.call(pmm_alloc_pages, 'zeroed: the device reads idx 0 and flags 0 in both rings');
      a.test(eax, eax);
      a.if_('z', () => {
        a.mov(eax, dword(ebx, VIRTIO_DEV.f.pci));
        a.call(virtio_put_fn);
        say(a, a.cstr('queue: no contiguous pages left for the rings\r\n'));
        a.xor(eax, eax);
        r.ret();
      });
      a.push(eax, 'the base');
      a.mov(edx, esi);
      a.call(vq_layout);
      a.pop(ecx);
      a.test(eax, eax);
      a.if_('z', () => {
        a.mov(eax, dword(ebx, VIRTIO_DEV.f.pci));
        a.call(virtio_put_fn);
        say(a, a.cstr('reports a queue size that is not a power of 2: not usable\r\n'));
        a.xor(eax, eax);
        r.ret();
      });
      a.mov(dword(eax, VQ.f.dev), ebx);
      a.mov(dword(eax, VQ.f.index), edi);
      a.mov(edx, dword(ebx, VIRTIO_DEV.f.iobase));
      a.add(edx, VIRTIO_PCI_QUEUE_PFN);
      a.shr(ecx, 12, 'page frame number of the base');
      a.xchg(eax, ecx);
      a.out(dx, eax, 'the device now owns the rings');
      a.inc(dword(ebx, VIRTIO_DEV.f.pio));
      a.mov(eax, ecx);
      r.ret();
    });

    for (const [name, bits, why] of [
      [virtio_ready, VIRTIO_STATUS_ACKNOWLEDGE.or(VIRTIO_STATUS_DRIVER).or(VIRTIO_STATUS_DRIVER_OK), 'DRIVER_OK (§3.1.1 step 8): the device may start'],
      [virtio_fail, VIRTIO_STATUS_FAILED, 'FAILED (§2.1): the driver gave up; the device stops'],
    ] as const) {
      a.routine({
        name, does: `sets the device status to ${why.split(' ')[0]}`,
        in: { eax: 'the device' }, clobbers: [eax, edx],
      }, (r) => {
        a.inc(dword(eax, VIRTIO_DEV.f.pio));
        a.mov(edx, dword(eax, VIRTIO_DEV.f.iobase));
        a.add(edx, VIRTIO_PCI_STATUS);
        a.mov(al, bits);
        a.out(dx, al, why);
        r.ret();
      });
    }

    a.routine({
      name: virtio_notify, does: 'tells the device a queue has new buffers (unless it said it does not need to know)',
      in: { eax: 'the queue (struc vq)' }, clobbers: [eax, ecx, edx],
    }, (r) => {
      a.barrier('§2.6.13.6: avail.idx must be visible before the device is told to look');
      a.mov(ecx, dword(eax, VQ.f.used));
      a.test(word(ecx, VIRTQ_USED.f.flags), VIRTQ_USED_F_NO_NOTIFY);
      r.retIf('nz', 'the device is already processing this queue and will see the new entry');
      a.inc(dword(eax, VQ.f.notifies));
      a.mov(ecx, dword(eax, VQ.f.dev));
      a.inc(dword(ecx, VIRTIO_DEV.f.pio));
      a.mov(edx, dword(ecx, VIRTIO_DEV.f.iobase));
      a.add(edx, VIRTIO_PCI_QUEUE_NOTIFY);
      a.mov(eax, dword(eax, VQ.f.index));
      a.out(dx, ax, 'Queue Notify = the queue number: one exit to the hypervisor');
      r.ret();
    });

    a.routine({
      name: virtio_ack_boot, does: 'reads (and so clears) the ISR of every virtio device: boot-time polling is over',
      clobbers: [eax, ecx, edx],
    }, (r) => {
      a.mov(ecx, virtio_devs);
      a.mov(eax, dword(virtio_dev_count));
      a.imul(eax, eax, VIRTIO_DEV.SIZE);
      a.add(eax, ecx);
      a.push(eax);
      a.while_(() => { a.cmp(ecx, dword(esp)); return 'b'; }, () => {
        a.mov(edx, dword(ecx, VIRTIO_DEV.f.iobase));
        a.add(edx, VIRTIO_PCI_ISR);
        a.in(al, dx, 'read-to-clear: a completion polled at boot asks for no interrupt');
        a.inc(dword(ecx, VIRTIO_DEV.f.pio));
        a.add(ecx, VIRTIO_DEV.SIZE);
      }, 'every device recorded');
      a.pop(eax);
      r.ret();
    });

    a.routine({
      name: virtio_attach_irq, does: 'routes the device\'s IRQ line to virtio_irq (once per line) and unmasks it',
      in: { eax: 'the device (its service routine set)' }, clobbers: [eax, ecx, edx],
    }, (r) => {
      a.mov(eax, dword(eax, VIRTIO_DEV.f.irq));
      a.cmp(eax, 15);
      r.retIf('a', 'no IRQ routed (0xFF): the device cannot interrupt us');
      a.bts(dword(virtio_irq_lines), eax);
      r.retIf('c', 'the line is shared with a device attached before: virtio_irq already asks every device on it');
      a.push(eax);
      a.mov(edx, virtio_irq);
      a.call(irq_register);
      a.pop(eax);
      a.call(pic_unmask, 'the slave\'s line (the cascade, IRQ2, is open on the master since pic_init)');
      r.ret();
    });

    a.routine({
      name: virtio_irq, does: 'IRQ handler for every virtio line: reads each device\'s ISR on the line, runs the drivers of those that raised it',
      in: { eax: 'the trap frame (pic_irq sends the EOI after this returns)' }, clobbers: [eax, ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(edi, dword(eax, TRAPFRAME.f.vector));
      a.sub(edi, PIC1_VECTOR, 'EDI = IRQ line');
      a.xor(esi, esi, 'ESI = devices that claimed this interrupt');
      a.mov(ebx, virtio_devs);
      a.mov(ecx, dword(virtio_dev_count));
      a.forCount(ecx, ecx, () => {
        a.cmp(dword(ebx, VIRTIO_DEV.f.irq), edi);
        a.if_('e', () => {
          a.push(ecx);
          a.inc(dword(ebx, VIRTIO_DEV.f.pio));
          a.mov(edx, dword(ebx, VIRTIO_DEV.f.iobase));
          a.add(edx, VIRTIO_PCI_ISR);
          a.in(al, dx, 'read-to-clear: deasserts this device\'s share of the level-triggered line');
          a.test(al, VIRTIO_ISR_QUEUE.or(VIRTIO_ISR_CONFIG));
          a.if_('nz', () => {
            a.inc(esi);
            a.inc(dword(ebx, VIRTIO_DEV.f.irqs));
            a.test(al, VIRTIO_ISR_CONFIG);
            a.if_('nz', () => a.inc(dword(ebx, VIRTIO_DEV.f.config_irqs)));
            a.test(al, VIRTIO_ISR_QUEUE);
            a.if_('nz', () => {
              a.mov(edx, dword(ebx, VIRTIO_DEV.f.service));
              a.test(edx, edx);
              a.if_('nz', () => { a.mov(eax, ebx); a.call(edx, 'the driver consumes its used rings'); });
            });
          }, undefined, 'ISR 0: this device did not interrupt; its driver is not called');
          a.pop(ecx);
        });
        a.add(ebx, VIRTIO_DEV.SIZE);
      }, 'every virtio device');
      a.test(esi, esi);
      a.if_('z', () => a.inc(dword(virtio_irq_none), 'no device on the line claimed it: another device sharing the line, or a spurious one'));
      r.ret();
    });
  },
});
