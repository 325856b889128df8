// PCI configuration space through the two I/O ports of Configuration
// Mechanism #1: the routines every other PCI file reads and writes it with.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { ax, al, dx, eax, ebx, ecx, edx, constant } from '../../toolchain/x86/operands.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts).
export const pci_read32 = sym('pci_read32');
export const pci_read16 = sym('pci_read16');
export const pci_read8 = sym('pci_read8');
export const pci_write32 = sym('pci_write32');
export const pci_write16 = sym('pci_write16');

export const PCI_CONFIG_ADDRESS = constant('PCI_CONFIG_ADDRESS', 0xcf8, 'CONFIG_ADDRESS: a 32-bit write selects bus, device, function and register');
export const PCI_CONFIG_DATA = constant('PCI_CONFIG_DATA', 0xcfc, 'CONFIG_DATA: the selected dword (bytes 0xCFC-0xCFF reach its bytes)');
export const PCI_CONFIG_ENABLE = constant('PCI_CONFIG_ENABLE', 0x80000000, 'CONFIG_ADDRESS bit 31: the next CONFIG_DATA access is a configuration cycle');

// Offsets in the configuration header shared by every header type (PCI Local Bus Spec 3.0 §6.1, Figure 6-1).
export const PCI_VENDOR_ID = constant('PCI_VENDOR_ID', 0x00, 'u16 vendor ID (0xFFFF: no function here), then u16 device ID');
export const PCI_COMMAND = constant('PCI_COMMAND', 0x04, 'u16 command register (§6.2.2), then u16 status (§6.2.3)');
export const PCI_STATUS = constant('PCI_STATUS', 0x06, 'u16 status register');
export const PCI_CLASS_REV = constant('PCI_CLASS_REV', 0x08, 'u8 revision, u8 prog-if, u8 subclass, u8 class');
export const PCI_HEADER_TYPE = constant('PCI_HEADER_TYPE', 0x0e, 'u8 header type: bit 7 = multi-function, bits 6:0 = layout (0 device, 1 PCI-PCI bridge)');
export const PCI_BAR0 = constant('PCI_BAR0', 0x10, 'first Base Address Register (6 in a type-0 header, 2 in a bridge)');
export const PCI_CAP_PTR = constant('PCI_CAP_PTR', 0x34, 'u8 offset of the first capability (valid when status bit 4 is set)');
export const PCI_INTERRUPT = constant('PCI_INTERRUPT', 0x3c, 'u8 interrupt line (the IRQ the firmware routed), u8 interrupt pin (0 none, 1-4 INTA#-INTD#)');

export const PCI_CMD_IO = constant('PCI_CMD_IO', 1 << 0, 'command bit 0: respond to I/O-space accesses');
export const PCI_CMD_MEM = constant('PCI_CMD_MEM', 1 << 1, 'command bit 1: respond to memory-space accesses');
export const PCI_CMD_MASTER = constant('PCI_CMD_MASTER', 1 << 2, 'command bit 2: bus master (the device may start DMA)');
export const PCI_STATUS_CAPS = constant('PCI_STATUS_CAPS', 1 << 4, 'status bit 4: a capability list starts at PCI_CAP_PTR');

/** The contract every routine here shares for naming a register. */
const WHERE = {
  eax: 'function address: bus << 8 | device << 3 | function',
  edx: 'register offset in its 256-byte configuration space',
} as const;

export const pciConfig = defineModule({
  name: 'pci_config',
  title: 'PCI configuration space: Configuration Mechanism #1 (ports 0xCF8/0xCFC)',
  about: `
Every PCI function has 256 bytes of configuration space: who it is (vendor
and device ID, class), what it decodes (the Base Address Registers), how it
interrupts (line and pin), and a list of optional capabilities.  The bus
does not map it into memory or I/O space; on a PC it is reached through an
address/data pair of I/O ports (PCI Local Bus Spec 3.0 §3.2.2.3.2,
"Configuration Mechanism #1"):

  CONFIG_ADDRESS (0xCF8, written as a dword)
    bit 31      enable: the next CONFIG_DATA access becomes a config cycle
    bits 23:16  bus, bits 15:11 device (0-31), bits 10:8 function (0-7)
    bits 7:2    the dword of configuration space; bits 1:0 are 0
  CONFIG_DATA (0xCFC-0xCFF)
    the selected dword; a byte or word access at 0xCFC + (offset & 3)
    reaches just those bytes of it.

The routines name a function by its "address" bus << 8 | device << 3 |
function (the same 16 bits as CONFIG_ADDRESS bits 23:8, so one shift makes
the address word).  A word or byte is read and written with a word or byte
access to the matching CONFIG_DATA port, never by rewriting the whole dword:
the status register (offset 6) shares a dword with the command register,
and its error bits are cleared by writing 1s to them (§6.2.3), so a
read-modify-write of the dword would clear whatever the device reported.

Selecting and accessing are two port accesses, so they must not be split by
another configuration access: these routines run in the kernel task only
(at boot and from the shell), never in an interrupt handler.`,
  spec: ['PCI Local Bus Spec 3.0 §3.2.2.3.2 (Configuration Mechanism #1), §6.1 (configuration space organization), §6.2.2-6.2.3 (command, status)'],
  emit(a) {
    /** EAX = function address, EDX = offset -> CONFIG_ADDRESS written; EDX = CONFIG_DATA + (offset & 3), ECX = offset. */
    const select = () => {
      a.mov(ecx, edx, 'ECX = the offset, for the byte lane');
      a.shl(eax, 8, 'the function address into bits 23:8');
      a.and(edx, 0xfc, 'the dword number, bits 7:2');
      a.or(eax, edx);
      a.or(eax, PCI_CONFIG_ENABLE);
      a.mov(dx, PCI_CONFIG_ADDRESS);
      a.out(dx, eax, 'select bus, device, function, dword');
      a.mov(edx, ecx);
      a.and(edx, 3, 'which bytes of the dword');
      a.add(edx, PCI_CONFIG_DATA, 'EDX = the CONFIG_DATA port of those bytes');
    };

    a.routine({
      name: pci_read32, does: 'read a dword of configuration space',
      in: { ...WHERE, edx: 'register offset (a multiple of 4)' }, out: { eax: 'the dword (0xFFFFFFFF when no function answers)' },
      clobbers: [ecx, edx],
    }, (r) => {
      select();
      a.in(eax, dx);
      r.ret();
    });
    a.routine({
      name: pci_read16, does: 'read a word of configuration space',
      in: { ...WHERE, edx: 'register offset (even)' }, out: { eax: 'the word, zero-extended' },
      clobbers: [ecx, edx],
    }, (r) => {
      select();
      a.in(ax, dx);
      a.movzx(eax, ax);
      r.ret();
    });
    a.routine({
      name: pci_read8, does: 'read a byte of configuration space',
      in: WHERE, out: { eax: 'the byte, zero-extended' },
      clobbers: [ecx, edx],
    }, (r) => {
      select();
      a.in(al, dx);
      a.movzx(eax, al);
      r.ret();
    });
    a.routine({
      name: pci_write32, does: 'write a dword of configuration space',
      in: { ...WHERE, edx: 'register offset (a multiple of 4)', ecx: 'the value' },
      clobbers: [eax, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, ecx, 'the value: select() needs ECX');
      select();
      a.mov(eax, ebx);
      a.out(dx, eax);
      a.mov(ecx, ebx, 'ECX comes back as it came');
      r.ret();
    });
    a.routine({
      name: pci_write16, does: 'write a word of configuration space (only those two bytes: see the header)',
      in: { ...WHERE, edx: 'register offset (even)', cx: 'the value' },
      clobbers: [eax, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, ecx);
      select();
      a.mov(eax, ebx);
      a.out(dx, ax);
      a.mov(ecx, ebx);
      r.ret();
    });
  },
});
