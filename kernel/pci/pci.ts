// Enumerating PCI bus 0: every function's identity, BARs, interrupt and
// capabilities, kept in a table for the shell's lspci and for drivers.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, ah, ax, bl, bx, cl, dl, eax, ebx, ecx, edx, esi, edi, byte, word, dword, mem, not, constant } from '../../toolchain/x86/operands.ts';
import { array, defineStruct, u8, u16, u32 } from '../../toolchain/x86/struct.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { putDec, say } from '../lib/print.ts';
import { serial_newline, serial_put_hex } from '../dev/serial.ts';
import { poweroff } from '../dev/qemu_exit.ts';
import type { Scenario } from '../scenarios.ts';
import {
  PCI_BAR0, PCI_CAP_PTR, PCI_CLASS_REV, PCI_CMD_IO, PCI_CMD_MASTER, PCI_CMD_MEM, PCI_COMMAND, PCI_HEADER_TYPE,
  PCI_INTERRUPT, PCI_STATUS, PCI_STATUS_CAPS, PCI_VENDOR_ID, pci_read16, pci_read32, pci_read8, pci_write16, pci_write32,
} from './config.ts';

// The labels this module defines (toolchain/x86/symbol.ts).
export const pci_init = sym('pci_init');
export const pci_enable = sym('pci_enable');
export const pci_table = sym('pci_table');
export const pci_count = sym('pci_count');
export const pci_dropped = sym('pci_dropped');
const pci_probe = sym('pci_probe');
const pci_size_bars = sym('pci_size_bars');
const pci_walk_caps = sym('pci_walk_caps');

export const PCI_MAX_FNS = constant('PCI_MAX_FNS', 32, 'entries in pci_table; functions found beyond it are counted in pci_dropped', { radix: 10 });
export const PCI_MAX_CAPS = constant('PCI_MAX_CAPS', 48, 'capabilities walked per function at most: a list that loops ends here', { radix: 10 });
export const PCI_CLASS_BRIDGE = constant('PCI_CLASS_BRIDGE', 0x06, 'base class 0x06, bridge device (host, ISA, PCI-PCI ...): its BARs are never sized');
export const PCI_CAPS_KEPT = 16;

/** What the kernel keeps about one function it found (pci_table has PCI_MAX_FNS of them). */
export const PCI_FN = defineStruct('pci_fn', {
  addr: u16('function address: bus << 8 | device << 3 | function'),
  vendor: u16('vendor ID'),
  device: u16('device ID'),
  class: u8('base class (offset 0x0B)'),
  subclass: u8('subclass (offset 0x0A)'),
  prog_if: u8('programming interface (offset 0x09)'),
  header: u8('header type (bit 7: multi-function)'),
  irq_line: u8('interrupt line: the IRQ the firmware routed the pin to'),
  irq_pin: u8('interrupt pin: 0 none, 1-4 INTA#-INTD#'),
  bar: array(u32(), 6, 'each BAR as the firmware left it (for a 64-bit BAR the next entry is its upper half)'),
  bar_size: array(u32(), 6, 'bytes each BAR decodes, 0 when unimplemented (a 64-bit BAR: low dword, then high dword)'),
  caps: array(u8(), PCI_CAPS_KEPT, 'capability IDs in list order (the first 16)'),
  bar_count: u8('BARs read and sized: 6 (a device), 0 (a bridge - class 0x06, never sized - or another layout)'),
  cap_count: u8('capabilities walked (PCI_MAX_CAPS when the list was cut)'),
  command: u16('command register after sizing (restored to the firmware\'s value)'),
}, { doc: 'one PCI function found on bus 0 (pci.asm)', size: 80 });

/**
 * test=pci_enable: pci_enable on every virtio function (vendor 0x1af4, which
 * the kernel does not drive yet), three ways, printing the command register
 * each call returns; then power off.  A boot test checks the bits.
 */
export const PCI_ENABLE_SCENARIO: Scenario = {
  name: 'pci_enable', doc: 'pci_enable(addr, io, mem, busmaster) as (0,0,0), (1,0,1), (1,1,1) on each virtio function, printing the command register read back',
  emit(a) {
    a.mov(ebx, pci_table);
    a.mov(esi, dword(pci_count));
    a.forCount(esi, esi, () => {
      a.cmp(word(ebx, PCI_FN.f.vendor), 0x1af4);
      a.if_('e', () => {
        a.movzx(edi, word(ebx, PCI_FN.f.addr));
        for (const [io, m, bm] of [[0, 0, 0], [1, 0, 1], [1, 1, 1]] as const) {
          say(a, a.cstr('[pci] pci_enable('));
          a.mov(eax, edi); a.call(serial_put_hex);
          say(a, a.cstr(`, ${io}, ${m}, ${bm}) -> command `));
          a.invoke(pci_enable, [edi, io, m, bm]);
          a.call(serial_put_hex);
          a.call(serial_newline);
        }
      });
      a.add(ebx, PCI_FN.SIZE);
    }, 'every function found');
    a.call(poweroff);
  },
};

export const pci = defineModule({
  name: 'pci',
  title: 'Enumerating PCI bus 0: identities, BARs, interrupts, capabilities',
  about: `
pci_init reads the configuration space (pci_config.asm) of every function
on bus 0 and records what a driver will need in pci_table (struc pci_fn).

Finding the functions (PCI Local Bus Spec 3.0 §6.2.1).  Each of the 32
device numbers is tried at function 0: a vendor ID of 0xFFFF means nothing
answered (the host bridge returns all 1s for an unclaimed config read).
Functions 1-7 are tried only when function 0's header type has bit 7 set, a
multi-function device (QEMU's PIIX3 at 00:01 is one: ISA bridge, IDE and
ACPI functions); a single-function device may answer every function number
with function 0's registers, so probing them blindly would list it 8 times.

Base Address Registers (§6.2.5.1).  Bit 0 tells I/O (1) from memory (0).
An I/O BAR's address is bits 31:2.  A memory BAR's bits 2:1 are its type -
00 a 32-bit address, 10 a 64-bit address whose upper half is the next BAR -
bit 3 says prefetchable, and bits 31:4 hold the address.  A BAR's size is
not stored anywhere: the device hardwires the address bits below its size
to 0.  Writing all 1s and reading back shows which bits are writable, and
the size is the two's complement of the read-back with the type bits
masked (~(value & ~0xF) + 1 for memory, over 16 bits for I/O).  The
original value is written back.  While a BAR holds all 1s the device would
decode that address, so decoding is switched off in the command register
for the duration (bits 0-1, §6.2.2) and the firmware's command value is
restored afterwards (the implementation note in §6.2.5.1 asks for this).
Bridges (base class 0x06) are not sized at all, and their command register
is never written: switching a bridge's decoding off, even for a moment,
cuts off what lies behind it - for the host bridge (00:00.0) the CPU's own
path to memory and to the PCI bus on a real chipset, for the ISA bridge the
legacy devices this kernel is driving that very moment (PIC, PIT, serial
port).  Their BARs, if they implement any, belong to the chipset, and no
driver here uses them; QEMU's host and ISA bridges have none.

Interrupts (§6.2.4).  Interrupt Pin says which of INTA#-INTD# the function
uses (0: none); Interrupt Line is not read by the hardware at all: it is
where the firmware wrote the IRQ it routed that pin to.

Capabilities (§6.7).  When status bit 4 is set, offset 0x34 points to a
linked list in the device-specific part of the space (0x40-0xFF): each
entry is an ID byte and a next-pointer byte (the low 2 bits are reserved
and masked).  The walk stops at a next pointer of 0, at a pointer into the
header, and after PCI_MAX_CAPS entries, so a device whose list loops cannot
hang the boot.

pci_enable(addr, io, mem, busmaster) sets the three command bits a driver
needs before it touches its device (§6.2.2) and returns what the device
accepted (bits it does not implement read back as 0).`,
  spec: ['PCI Local Bus Spec 3.0 §6.2.1 (device identification, header type), §6.2.2 (command), §6.2.4 (interrupt line and pin), §6.2.5.1 (base addresses), §6.7 (capabilities list)'],
  emit(a) {
    a.bss(pci_table, PCI_MAX_FNS.mul(PCI_FN.SIZE), 4, 'the functions found, in bus order');
    a.bss(pci_count, 4, 4, 'entries used in pci_table');
    a.bss(pci_dropped, 4, 4, 'functions found when pci_table was full');

    a.routine({
      name: pci_init, does: 'enumerate bus 0 into pci_table and print how many functions were found',
      clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.xor(ebx, ebx, 'EBX = function address: device 0, function 0');
      a.while_(() => { a.cmp(ebx, 32 * 8); return 'b'; }, () => {
        a.mov(eax, ebx);
        a.call(pci_probe);
        a.test(bl, 7);
        a.if_('z', () => {
          a.cmp(eax, -1);
          a.if_('e', () => a.xor(eax, eax, 'nothing at function 0: no other function either'));
          a.test(al, 0x80, 'header type bit 7: a multi-function device');
          a.if_('z', () => a.add(ebx, 7, 'single-function: skip functions 1-7 (they may echo function 0)'));
        }, undefined, 'function 0 decides whether functions 1-7 are tried');
        a.inc(ebx);
      }, 'every device 0-31, and functions 1-7 of multi-function ones');
      say(a, a.cstr('[pci] '));
      putDec(a, dword(pci_count));
      say(a, a.cstr(' functions on bus 0'));
      a.cmp(dword(pci_dropped), 0);
      a.if_('ne', () => {
        say(a, a.cstr(' ('));
        putDec(a, dword(pci_dropped));
        say(a, a.cstr(' more not recorded: pci_table is full)'));
      });
      a.call(serial_newline);
      r.ret();
    });

    a.routine({
      name: pci_probe, does: 'record one function in pci_table, if it exists',
      in: { eax: 'function address' }, out: { eax: 'its header type byte, or 0xFFFFFFFF when no function answers' },
      clobbers: [ecx, edx], saves: [ebx, edi],
    }, (r) => {
      a.mov(ebx, eax, 'EBX = function address');
      a.mov(edx, PCI_VENDOR_ID);
      a.call(pci_read32);
      a.cmp(ax, 0xffff);
      a.if_('e', () => { a.or(eax, -1, 'nothing there'); r.ret(); });
      a.mov(ecx, dword(pci_count));
      a.cmp(ecx, PCI_MAX_FNS);
      a.if_('ae', () => {
        a.inc(dword(pci_dropped), 'the table is full: count it, and still say whether it is multi-function');
        a.mov(eax, ebx);
        a.mov(edx, PCI_HEADER_TYPE);
        a.call(pci_read8);
        r.ret();
      });
      a.imul(edi, ecx, PCI_FN.SIZE);
      a.add(edi, pci_table, 'EDI = the free entry');
      a.mov(word(edi, PCI_FN.f.addr), bx);
      a.mov(word(edi, PCI_FN.f.vendor), ax);
      a.shr(eax, 16);
      a.mov(word(edi, PCI_FN.f.device), ax);
      a.mov(eax, ebx);
      a.mov(edx, PCI_CLASS_REV);
      a.call(pci_read32);
      a.shr(eax, 8, 'drop the revision: prog-if, subclass, class');
      a.mov(byte(edi, PCI_FN.f.prog_if), al);
      a.mov(byte(edi, PCI_FN.f.subclass), ah);
      a.shr(eax, 16);
      a.mov(byte(edi, PCI_FN.f.class), al);
      a.mov(eax, ebx);
      a.mov(edx, PCI_INTERRUPT);
      a.call(pci_read16);
      a.mov(byte(edi, PCI_FN.f.irq_line), al);
      a.mov(byte(edi, PCI_FN.f.irq_pin), ah);
      a.mov(eax, ebx);
      a.mov(edx, PCI_HEADER_TYPE);
      a.call(pci_read8);
      a.mov(byte(edi, PCI_FN.f.header), al);
      a.and(al, 0x7f, 'the layout: how many BARs it has');
      a.mov(cl, 6, 'a device (type 0): BAR0-5');
      a.cmp(al, 0);
      a.if_('ne', () => {
        a.mov(cl, 2, 'a PCI-PCI bridge (type 1): BAR0-1');
        a.cmp(al, 1);
        a.if_('ne', () => a.mov(cl, 0), undefined, 'a CardBus bridge or unknown layout: no BARs read');
      });
      a.cmp(byte(edi, PCI_FN.f.class), PCI_CLASS_BRIDGE);
      a.if_('e', () => a.mov(cl, 0), undefined, 'a bridge: never sized - decoding off would cut off what lies behind it');
      a.mov(byte(edi, PCI_FN.f.bar_count), cl);
      a.mov(eax, edi);
      a.call(pci_size_bars);
      a.mov(eax, edi);
      a.call(pci_walk_caps);
      a.inc(dword(pci_count));
      a.movzx(eax, byte(edi, PCI_FN.f.header));
      r.ret();
    });

    a.routine({
      name: pci_size_bars, does: 'record each BAR of a function and its size, with decoding off while sizing',
      in: { eax: 'its pci_table entry (addr and bar_count filled in)' },
      clobbers: [eax, ecx, edx], saves: [ebx, esi, edi],
      locals: { cmd: [4, 'the command register as the firmware left it'], orig: [4, 'the BAR being sized, as found'], low: [4, 'a 64-bit BAR: the low half\'s read-back'] },
    }, (r) => {
      /** EAX = this function's address, EDX = ESI (the BAR's offset). */
      const at = (off: typeof esi | typeof PCI_COMMAND) => {
        a.movzx(eax, word(ebx, PCI_FN.f.addr));
        a.mov(edx, off);
      };
      /** Read the BAR at ESI, write all 1s, read back, restore: EAX = read-back, local orig = the BAR. */
      const probe = () => {
        at(esi); a.call(pci_read32); a.mov(r.local('orig'), eax);
        at(esi); a.mov(ecx, -1); a.call(pci_write32, 'all 1s: only the bits that can hold an address stick');
        at(esi); a.call(pci_read32); a.push(eax);
        at(esi); a.mov(ecx, r.local('orig')); a.call(pci_write32, 'the firmware\'s address back');
        a.pop(eax);
      };
      const bar = (i: typeof edi, field: 'bar' | 'bar_size', disp = 0) => dword({ base: ebx, index: i, scale: 4, disp: disp ? PCI_FN.f[field].add(disp) : PCI_FN.f[field] });
      a.mov(ebx, eax, 'EBX = the entry');
      at(PCI_COMMAND); a.call(pci_read16);
      a.mov(word(ebx, PCI_FN.f.command), ax);
      a.cmp(byte(ebx, PCI_FN.f.bar_count), 0);
      r.retIf('e', 'no BARs to size: the command register is not touched at all');
      a.mov(r.local('cmd'), eax);
      a.mov(ecx, eax);
      a.and(ecx, not(PCI_CMD_IO.or(PCI_CMD_MEM)).and(0xffff), 'I/O and memory decoding off: a BAR holding all 1s must claim no address');
      at(PCI_COMMAND); a.call(pci_write16);
      a.xor(edi, edi, 'EDI = BAR number');
      a.while_(() => { a.movzx(eax, byte(ebx, PCI_FN.f.bar_count)); a.cmp(edi, eax); return 'b'; }, () => {
        a.lea(esi, mem({ index: edi, scale: 4, disp: PCI_BAR0 }), 'ESI = its offset, 0x10 + 4n');
        probe();
        a.mov(ecx, r.local('orig'));
        a.mov(bar(edi, 'bar'), ecx);
        a.test(cl, 1, 'bit 0: I/O or memory?');
        a.if_('nz', () => {
          a.and(eax, 0xfffc, 'an I/O BAR: address bits 15:2 (x86 ports are 16 bits)');
          a.neg(eax, 'the lowest writable bit = the size (0 when nothing is writable: no BAR)');
          a.and(eax, 0xffff);
          a.mov(bar(edi, 'bar_size'), eax);
          a.inc(edi);
        }, () => {
          a.and(eax, ~0xf, 'a memory BAR: address bits 31:4');
          a.and(ecx, 6, 'type, bits 2:1');
          a.cmp(cl, 4, '10b: a 64-bit BAR, its upper half in the next BAR');
          a.if_('e', () => {
            a.lea(edx, mem({ base: edi, disp: 1 }));
            a.cmp(dl, byte(ebx, PCI_FN.f.bar_count));
            a.if_('ae', () => a.xor(ecx, ecx), undefined, 'no next BAR (malformed): size it as a 32-bit one');
          });
          a.cmp(cl, 4);
          a.if_('e', () => {
            a.mov(r.local('low'), eax);
            a.add(esi, 4);
            probe();
            a.mov(ecx, r.local('orig'));
            a.mov(bar(edi, 'bar', 4), ecx, 'the upper half of the address');
            a.mov(edx, r.local('low'));
            a.neg(edx, 'size = -(high:low), a 64-bit negation');
            a.adc(eax, 0);
            a.neg(eax);
            a.mov(bar(edi, 'bar_size'), edx);
            a.mov(bar(edi, 'bar_size', 4), eax, 'the size\'s upper half (0 below 4 GiB)');
            a.add(edi, 2);
          }, () => {
            a.neg(eax, 'a 32-bit BAR: size = -(read-back & ~0xF)');
            a.mov(bar(edi, 'bar_size'), eax);
            a.inc(edi);
          });
        });
      }, 'each BAR');
      at(PCI_COMMAND); a.mov(ecx, r.local('cmd'));
      a.call(pci_write16, 'the firmware\'s command value back');
      at(PCI_COMMAND); a.call(pci_read16);
      a.mov(word(ebx, PCI_FN.f.command), ax);
      r.ret();
    });

    a.routine({
      name: pci_walk_caps, does: 'record the IDs on a function\'s capability list (at most PCI_MAX_CAPS walked)',
      in: { eax: 'its pci_table entry (addr filled in)' },
      clobbers: [eax, ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(ebx, eax);
      a.mov(byte(ebx, PCI_FN.f.cap_count), 0);
      a.movzx(eax, word(ebx, PCI_FN.f.addr));
      a.mov(edx, PCI_STATUS);
      a.call(pci_read16);
      a.test(eax, PCI_STATUS_CAPS);
      r.retIf('z', 'no capability list');
      a.movzx(eax, word(ebx, PCI_FN.f.addr));
      a.mov(edx, PCI_CAP_PTR);
      a.call(pci_read8);
      a.mov(esi, eax);
      a.and(esi, 0xfc, 'ESI = the first capability (low 2 bits reserved)');
      a.xor(edi, edi, 'EDI = capabilities seen');
      a.while_(() => { a.cmp(esi, 0x40); return 'ae'; }, (loop) => {
        a.cmp(edi, PCI_MAX_CAPS);
        loop.break_('ae', 'a list this long loops: stop');
        a.movzx(eax, word(ebx, PCI_FN.f.addr));
        a.mov(edx, esi);
        a.call(pci_read16, 'AL = capability ID, AH = next pointer');
        a.cmp(edi, PCI_CAPS_KEPT);
        a.if_('b', () => a.mov(byte({ base: ebx, index: edi, scale: 1, disp: PCI_FN.f.caps }), al));
        a.inc(edi);
        a.movzx(esi, ah);
        a.and(esi, 0xfc);
      }, 'until a next pointer of 0 (or into the header, 0x00-0x3F, which is malformed)');
      a.mov(eax, edi);
      a.mov(byte(ebx, PCI_FN.f.cap_count), al);
      r.ret();
    });

    a.routine({
      name: pci_enable, does: 'set a function\'s I/O, memory and bus-master enables in its command register',
      args: { addr: 'function address (bus << 8 | device << 3 | function)', io: '1: decode its I/O BARs', mem: '1: decode its memory BARs', busmaster: '1: let it start DMA' },
      out: { eax: 'the command register read back (bits the device does not implement stay 0)' },
      clobbers: [ecx, edx],
    }, (r) => {
      a.mov(ecx, r.arg('io'));
      a.and(ecx, 1, 'PCI_CMD_IO');
      a.mov(eax, r.arg('mem'));
      a.and(eax, 1);
      a.shl(eax, 1, 'PCI_CMD_MEM');
      a.or(ecx, eax);
      a.mov(eax, r.arg('busmaster'));
      a.and(eax, 1);
      a.shl(eax, 2, 'PCI_CMD_MASTER');
      a.or(ecx, eax);
      a.push(ecx);
      a.mov(eax, r.arg('addr'));
      a.mov(edx, PCI_COMMAND);
      a.call(pci_read16);
      a.and(eax, not(PCI_CMD_IO.or(PCI_CMD_MEM).or(PCI_CMD_MASTER)).and(0xffff), 'the other bits as they are');
      a.pop(ecx);
      a.or(ecx, eax);
      a.mov(eax, r.arg('addr'));
      a.mov(edx, PCI_COMMAND);
      a.call(pci_write16, 'a word write: the status half is left alone');
      a.mov(eax, r.arg('addr'));
      a.mov(edx, PCI_COMMAND);
      a.call(pci_read16);
      r.ret();
    });
  },
});
