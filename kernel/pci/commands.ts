// The shell's lspci: the functions pci_init found, one line each.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { ah, al, cl, dl, eax, ebx, ecx, edx, esi, edi, byte, word, dword, mem, chr } from '../../toolchain/x86/operands.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { say } from '../lib/print.ts';
import { strcmp } from '../lib/string.ts';
import { serial_newline, serial_put_dec, serial_putc, serial_puts } from '../dev/serial.ts';
import { type ShellCommand, commandRoutine } from '../shell/command.ts';
import { PCI_CAPS_KEPT, PCI_FN, PCI_MAX_CAPS, pci_count, pci_table } from './pci.ts';

// The labels this module defines (toolchain/x86/symbol.ts); the handler goes into the shell's table.
export const cmd_lspci = sym('cmd_lspci');
const lspci_put_hex = sym('lspci_put_hex');
const lspci_put_class = sym('lspci_put_class');
const lspci_bars = sym('lspci_bars');
const lspci_classes = sym('lspci_classes');

const LSPCI: ShellCommand = { name: 'lspci', usage: 'lspci [-v]', doc: 'PCI functions on bus 0: slot, class, vendor:device, IRQ; -v: BARs, command register, capabilities', handler: cmd_lspci };
export const pciCommands: readonly ShellCommand[] = [LSPCI];

/**
 * Class names for "base class << 8 | subclass", as the PCI Code and ID
 * Assignment Specification defines the codes; the ones QEMU's pc and q35
 * machines and their usual devices show.
 */
export const PCI_CLASS_NAMES: readonly (readonly [number, string])[] = [
  [0x0000, 'Non-VGA unclassified device'],
  [0x0100, 'SCSI storage controller'],
  [0x0101, 'IDE interface'],
  [0x0104, 'RAID bus controller'],
  [0x0105, 'ATA controller'],
  [0x0106, 'SATA controller'],
  [0x0108, 'Non-Volatile memory controller'],
  [0x0180, 'Mass storage controller'],
  [0x0200, 'Ethernet controller'],
  [0x0280, 'Network controller'],
  [0x0300, 'VGA compatible controller'],
  [0x0380, 'Display controller'],
  [0x0401, 'Multimedia audio controller'],
  [0x0403, 'Audio device'],
  [0x0500, 'RAM memory'],
  [0x0580, 'Memory controller'],
  [0x0600, 'Host bridge'],
  [0x0601, 'ISA bridge'],
  [0x0604, 'PCI bridge'],
  [0x0680, 'Bridge'],
  [0x0700, 'Serial controller'],
  [0x0780, 'Communication controller'],
  [0x0805, 'SD Host controller'],
  [0x0880, 'System peripheral'],
  [0x0980, 'Input device controller'],
  [0x0c00, 'FireWire (IEEE 1394)'],
  [0x0c03, 'USB controller'],
  [0x0c05, 'SMBus'],
  [0x1080, 'Encryption controller'],
  [0x00ff, 'Unassigned class'],
];

export const pciCmds = defineModule({
  name: 'pci_cmds',
  title: 'Shell command for the PCI bus: lspci',
  about: `
lspci prints pci_table (pci.asm), one line per function in the short form
of the usual tool:

  [lspci] 00:01.3 Bridge: 8086:7113 irq 9 (INTA)

bus:device.function, the class name (base class and subclass, as the PCI
Code and ID Assignment Specification numbers them; "Class ccss" for one
not in lspci_classes), vendor:device in hex, and - for a function with an
interrupt pin - the IRQ the firmware routed it to (the Interrupt Line
register, PCI Local Bus Spec 3.0 §6.2.4) and the pin: INTA-INTD for pins
1-4, "INT? pin N" for a value the specification reserves (5-255), which
only a broken or hostile device reports.

"lspci -v" adds, per function, each implemented BAR decoded (I/O or
memory, 32- or 64-bit, prefetchable; §6.2.5.1) with its address and its
size in bytes (in GiB from 4 GiB on: a 64-bit BAR that large has a low
size dword of 0, so both halves decide whether it exists), the command
register after
enumeration (the firmware's value: sizing restored it), and the
capability IDs in list order (§6.7; 0x05 MSI, 0x09 vendor-specific,
0x10 PCI Express, 0x11 MSI-X).`,
  spec: ['PCI Local Bus Spec 3.0 §6.2.1 (class code), §6.2.4, §6.2.5.1, §6.7; PCI Code and ID Assignment Specification (class codes)'],
  emit(a) {
    commandRoutine(a, LSPCI, { saves: [ebx, esi, edi] }, (r) => {
      a.xor(edi, edi, 'EDI = 1 for -v');
      a.cmp(byte(eax), 0);
      a.if_('ne', () => {
        a.mov(esi, eax);
        a.mov(edx, a.cstr('-v'));
        a.call(strcmp);
        a.test(eax, eax);
        a.if_('nz', () => {
          say(a, a.cstr("[shell] lspci: unknown argument '"));
          a.mov(eax, esi);
          a.call(serial_puts);
          say(a, a.cstr("' (usage: lspci [-v])\r\n"));
          r.ret();
        });
        a.inc(edi);
      });
      a.mov(ebx, pci_table, 'EBX = the entry');
      a.mov(esi, dword(pci_count));
      a.forCount(esi, esi, () => {
        say(a, a.cstr('[lspci] '));
        a.movzx(eax, byte(ebx, PCI_FN.f.addr.add(1)), 'bus: the address\'s high byte');
        a.mov(ecx, 2); a.call(lspci_put_hex);
        a.mov(al, chr(':')); a.call(serial_putc);
        a.movzx(eax, word(ebx, PCI_FN.f.addr));
        a.shr(eax, 3); a.and(eax, 31, 'device');
        a.mov(ecx, 2); a.call(lspci_put_hex);
        a.mov(al, chr('.')); a.call(serial_putc);
        a.movzx(eax, word(ebx, PCI_FN.f.addr));
        a.and(eax, 7, 'function');
        a.mov(ecx, 1); a.call(lspci_put_hex);
        a.mov(al, chr(' ')); a.call(serial_putc);
        a.movzx(eax, word(ebx, PCI_FN.f.class), 'AL = class, AH = subclass (adjacent in pci_fn)');
        a.xchg(al, ah, 'EAX = class << 8 | subclass');
        a.call(lspci_put_class);
        say(a, a.cstr(': '));
        a.movzx(eax, word(ebx, PCI_FN.f.vendor)); a.mov(ecx, 4); a.call(lspci_put_hex);
        a.mov(al, chr(':')); a.call(serial_putc);
        a.movzx(eax, word(ebx, PCI_FN.f.device)); a.mov(ecx, 4); a.call(lspci_put_hex);
        a.cmp(byte(ebx, PCI_FN.f.irq_pin), 0);
        a.if_('ne', () => {
          say(a, a.cstr(' irq '));
          a.movzx(eax, byte(ebx, PCI_FN.f.irq_line));
          a.call(serial_put_dec);
          say(a, a.cstr(' (INT'));
          a.mov(al, byte(ebx, PCI_FN.f.irq_pin));
          a.cmp(al, 4);
          a.if_('be', () => {
            a.add(al, chr('A').sub(1), 'pin 1-4 -> INTA-INTD');
            a.call(serial_putc);
          }, () => {
            a.comment('Pins 5-255 are reserved (§6.2.4): print the number, never a stray character.');
            say(a, a.cstr('? pin '));
            a.movzx(eax, byte(ebx, PCI_FN.f.irq_pin));
            a.call(serial_put_dec);
          });
          a.mov(al, chr(')')); a.call(serial_putc);
        }, undefined, 'pin 0: the function does not interrupt');
        a.call(serial_newline);
        a.test(edi, edi);
        a.if_('nz', () => { a.mov(eax, ebx); a.call(lspci_bars); });
        a.add(ebx, PCI_FN.SIZE);
      }, 'every entry of pci_table');
      r.ret();
    });

    a.routine({
      name: lspci_bars, does: 'print a function\'s BARs, command register and capability IDs (lspci -v)',
      in: { eax: 'its pci_table entry' }, clobbers: [eax, ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      const bar = (field: 'bar' | 'bar_size', disp = 0) => dword({ base: ebx, index: edi, scale: 4, disp: disp ? PCI_FN.f[field].add(disp) : PCI_FN.f[field] });
      /** ECX = the upper half of the size of the BAR at EDI (ESI as found): 0 unless it is a 64-bit one with a next BAR. */
      const sizeHigh = () => {
        a.xor(ecx, ecx);
        a.mov(eax, esi);
        a.and(eax, 7, 'memory (bit 0 = 0) and 64-bit (bits 2:1 = 10b)?');
        a.cmp(eax, 4);
        a.if_('e', () => {
          a.lea(edx, mem({ base: edi, disp: 1 }));
          a.cmp(dl, byte(ebx, PCI_FN.f.bar_count));
          a.if_('b', () => a.mov(ecx, bar('bar_size', 4)), undefined, 'pci_size_bars sized a last "64-bit" BAR as a 32-bit one');
        });
      };
      a.mov(ebx, eax);
      a.xor(edi, edi, 'EDI = BAR number');
      a.while_(() => { a.movzx(eax, byte(ebx, PCI_FN.f.bar_count)); a.cmp(edi, eax); return 'b'; }, (loop) => {
        a.mov(esi, bar('bar'), 'ESI = the BAR as found');
        sizeHigh();
        a.or(ecx, bar('bar_size'), 'a 64-bit BAR of 4 GiB or more has a low size dword of 0: both halves count');
        a.if_('z', () => { a.inc(edi); loop.continue_(); }, undefined, 'nothing writable: not implemented');
        say(a, a.cstr('[lspci]   BAR'));
        a.mov(eax, edi); a.call(serial_put_dec);
        a.test(esi, 1);
        a.if_('nz', () => {
          say(a, a.cstr(' I/O 0x'));
          a.mov(eax, esi); a.and(eax, 0xfffc); a.mov(ecx, 4); a.call(lspci_put_hex);
        }, () => {
          a.mov(eax, esi);
          a.and(eax, 6, 'type, bits 2:1');
          a.cmp(eax, 4);
          a.if_('e', () => {
            say(a, a.cstr(' mem64 0x'));
            a.mov(eax, bar('bar', 4), 'the upper half first');
            a.mov(ecx, 8); a.call(lspci_put_hex);
          }, () => say(a, a.cstr(' mem32 0x')));
          a.mov(eax, esi); a.and(eax, ~0xf); a.mov(ecx, 8); a.call(lspci_put_hex);
          a.test(esi, 8);
          a.if_('nz', () => say(a, a.cstr(' prefetchable')));
        });
        say(a, a.cstr(' size '));
        sizeHigh();
        a.test(ecx, ecx);
        a.if_('nz', () => {
          a.mov(eax, ecx);
          a.shl(eax, 2, 'GiB: a size is a power of two, so from 4 GiB on its low dword is 0');
          a.call(serial_put_dec);
          say(a, a.cstr(' GiB'));
        }, () => {
          a.mov(eax, bar('bar_size'), 'in bytes');
          a.call(serial_put_dec);
        });
        a.call(serial_newline);
        a.inc(edi);
        a.mov(eax, esi);
        a.and(eax, 7, 'memory (bit 0 = 0) and 64-bit (bits 2:1 = 10b)?');
        a.cmp(eax, 4);
        a.if_('e', () => a.inc(edi), undefined, 'the upper half is not a BAR of its own');
      }, 'each implemented BAR');
      say(a, a.cstr('[lspci]   command 0x'));
      a.movzx(eax, word(ebx, PCI_FN.f.command)); a.mov(ecx, 4); a.call(lspci_put_hex);
      a.movzx(esi, byte(ebx, PCI_FN.f.cap_count));
      a.test(esi, esi);
      a.if_('nz', () => {
        say(a, a.cstr(', capabilities:'));
        a.xor(edi, edi);
        a.while_(() => { a.cmp(edi, esi); return 'b'; }, (loop) => {
          a.cmp(edi, PCI_CAPS_KEPT);
          loop.break_('ae', 'only the first 16 are kept');
          say(a, a.cstr(' 0x'));
          a.movzx(eax, byte({ base: ebx, index: edi, scale: 1, disp: PCI_FN.f.caps }));
          a.mov(ecx, 2); a.call(lspci_put_hex);
          a.inc(edi);
        });
        a.cmp(esi, PCI_MAX_CAPS);
        a.if_('ae', () => say(a, a.cstr(' (the list was cut after 48: it loops or is malformed)')));
      });
      a.call(serial_newline);
      r.ret();
    });

    a.routine({
      name: lspci_put_class, does: 'print the name of a class code, or "Class ccss" for one not in lspci_classes',
      in: { eax: 'base class << 8 | subclass' }, clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, lspci_classes);
      a.while_(() => { a.cmp(dword(ebx), eax); return 'ne'; }, () => {
        a.cmp(dword(ebx), -1);
        a.if_('e', () => {
          a.push(eax);
          say(a, a.cstr('Class '));
          a.pop(eax);
          a.mov(ecx, 4);
          a.call(lspci_put_hex);
          r.ret();
        }, undefined, 'the end of the table');
        a.add(ebx, 8);
      });
      a.mov(eax, dword(ebx, 4));
      a.call(serial_puts);
      r.ret();
    });

    a.routine({
      name: lspci_put_hex, does: 'print the low ECX hex digits of a value, in lowercase as lspci does',
      in: { eax: 'the value', ecx: 'digits (1-8)' }, clobbers: [eax, ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(ebx, eax);
      a.mov(esi, ecx);
      a.neg(ecx);
      a.add(ecx, 8);
      a.shl(ecx, 2, 'CL = 4 * (8 - digits)');
      a.shl(ebx, cl, 'the first digit to print now in bits 31:28');
      a.forCount(esi, esi, () => {
        a.rol(ebx, 4);
        a.mov(eax, ebx);
        a.and(eax, 0xf);
        a.cmp(al, 10);
        a.if_('b', () => a.add(al, chr('0')), () => a.add(al, chr('a').sub(10)));
        a.call(serial_putc);
      });
      r.ret();
    });

    a.align(4);
    a.label(lspci_classes, 'class code -> name: dd class << 8 | subclass, dd the name; ends with -1');
    for (const [code, name] of PCI_CLASS_NAMES) a.dataC(4, [code, a.cstr(name)], name);
    a.dataC(4, [0xffffffff, 0], 'end of the table');
  },
});
