// The BIOS memory map (int 15h, EAX = E820h), asked for in real mode and left
// in low memory for the kernel.
import { defineModule } from '../toolchain/x86/asm.ts';
import { ax, eax, ebx, ecx, edx, bp, di, es, si, dword, L, constant } from '../toolchain/x86/operands.ts';
import { defineStruct, u32, u64 } from '../toolchain/x86/struct.ts';
import { BIOS_SYSTEM } from './a20.ts';
import { newline, put_hex16, put_hex8, puts } from './serial16.ts';
import { sym } from '../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const e820_read = sym('e820_read');
const e820_put_hex32 = sym('e820_put_hex32');
const e820_print_entry = sym('e820_print_entry');

/**
 * One entry of the map as the BIOS writes it (ACPI 6.4 §15.1, its table
 * "Address Range Descriptor Structure"): 20 bytes, plus the 4-byte extended
 * attributes of ACPI 3.0 when the BIOS returns ECX = 24.
 */
export const E820_ENTRY = defineStruct('e820_entry', {
  base: u64('physical start of the range'),
  length: u64('bytes in the range (0: ignore the entry)'),
  type: u32('E820_USABLE, E820_RESERVED, E820_ACPI, E820_NVS, E820_BAD, or another value (reserved)'),
  ext: u32('ACPI 3.0 extended attributes: bit 0 clear = ignore the entry'),
}, { doc: 'a BIOS memory-map entry (ACPI "Address Range Descriptor", int 15h E820h)', size: 24 });

// The map's place in memory: a count and the entries, in the free conventional
// memory below the boot stack (boot/layout.ts), where the kernel finds them.
// Nothing writes there after stage 2: the kernel only reads it (kernel/mm/e820.ts).
export const E820_COUNT = constant('E820_COUNT', 0x1000, 'physical address of a dword: how many entries stage 2 stored at E820_TABLE (0: no map)');
export const E820_TABLE = constant('E820_TABLE', 0x1008, 'physical address of the first e820_entry stage 2 stored (E820_MAX at most)');
export const E820_MAX = constant('E820_MAX', 32, 'entries stage 2 keeps at most (QEMU gives 5 to 7; a BIOS that never ends its list cannot run us over)', { radix: 10 });
export const E820_CALLS_MAX = constant('E820_CALLS_MAX', 128, 'int 15h E820h calls at most: a BIOS that keeps answering (zero-length or ignored entries, EBX never 0) cannot hang the boot', { radix: 10 });
export const E820_SMAP = constant('E820_SMAP', 0x534d4150, "'SMAP' in EDX (call) and EAX (answer): the signature of the E820h interface");
export const E820_FUNC = constant('E820_FUNC', 0xe820, 'int 15h function E820h: query system address map');
export const E820_USABLE = constant('E820_USABLE', 1, 'AddressRangeMemory: RAM the OS may use', { radix: 10 });
export const E820_RESERVED = constant('E820_RESERVED', 2, 'AddressRangeReserved: in use or reserved by the system (ROM, the BIOS, memory-mapped devices)', { radix: 10 });
export const E820_ACPI = constant('E820_ACPI', 3, 'AddressRangeACPI: ACPI tables, usable once the OS has read them', { radix: 10 });
export const E820_NVS = constant('E820_NVS', 4, 'AddressRangeNVS: ACPI non-volatile storage, must be preserved', { radix: 10 });
export const E820_BAD = constant('E820_BAD', 5, 'AddressRangeUnusable: memory with detected errors', { radix: 10 });
export const E820_EXT_ENABLED = constant('E820_EXT_ENABLED', 1, 'extended attributes bit 0: the entry is valid (ACPI 3.0); preset for a BIOS that writes only 20 bytes');

/** Each type's name as stage 2 and the kernel print it; any other value prints as "type N". */
export const E820_TYPE_NAMES: readonly (readonly [number, string])[] = [
  [1, 'usable'], [2, 'reserved'], [3, 'ACPI reclaimable'], [4, 'ACPI NVS'], [5, 'unusable'],
];

export const e820 = defineModule({
  name: 'e820',
  title: 'The BIOS memory map: int 15h, EAX = E820h',
  about: `
Which physical addresses are RAM?  Only the firmware knows: the PC has holes
below 1 MiB (video memory, option ROMs, the BIOS itself), reserved ranges
for ACPI tables and the BIOS's own data, and on a big machine a "PCI hole"
below 4 GiB where device registers live instead of RAM.  The standard
question is int 15h function E820h ("Query System Address Map", ACPI spec
§15 "System Address Map Interfaces").  It is a BIOS call, so it works only
in real mode - which is why stage 2 asks it now, before the switch, and
leaves the answer in memory for the kernel.

One call returns one range ("Address Range Descriptor", struc e820_entry):
  in:  EAX = E820h, EDX = 'SMAP', ECX = 24 (bytes we have room for),
       ES:DI = where to write it, EBX = continuation value (0 the first time)
  out: CF = 0, EAX = 'SMAP', ECX = bytes written (20, or 24 with ACPI 3.0
       extended attributes), EBX = continuation for the next call
  the list ends when EBX comes back 0, or (some BIOSes) with CF = 1 on the
  call after the last entry.  CF = 1 or EAX != 'SMAP' on the first call
  means the BIOS has no E820h: the count stays 0 and the kernel falls back to
  the RAM size it gets from QEMU's fw_cfg (kernel/mm/pmm.ts).

e820_read stores at most E820_MAX entries at E820_TABLE and their number at
E820_COUNT, skips entries of length 0 and those whose extended attributes
say "ignore", and prints each one on serial as
  [e820] 0x0000000000000000-0x000000000009FBFF usable
(first and last byte, like Linux's boot log).`,
  spec: [
    'ACPI Specification 6.4 §15 "System Address Map Interfaces", §15.1 "INT 15H, E820H - Query System Address Map" (its tables: the input, the output, the Address Range Descriptor Structure)',
    'Ralf Brown\'s Interrupt List: INT 15/AX=E820h',
  ],
  emit(a) {
    a.routine({
      name: e820_read, does: 'asks the BIOS for the memory map, stores it at E820_TABLE/E820_COUNT and prints it',
      clobbers: [eax, ebx, ecx, edx],
    }, (r) => {
      a.push(si); a.push(di); a.push(bp); a.push(es);
      a.comment('ES = 0 here, not inherited: the boot sector\'s CHS path calls int 13h AH=08h, which for a');
      a.comment('floppy returns ES:DI = the diskette parameter table (in the BIOS segment), and the BIOS');
      a.comment('would write each entry there while we read DS:DI (DS = 0) - an empty map.');
      a.xor(ax, ax);
      a.mov(es, ax);
      a.mov(bp, E820_CALLS_MAX, 'BP counts the calls left (the BIOS keeps BP)');
      a.mov(dword(E820_COUNT), 0);
      a.mov(di, E820_TABLE, 'ES:DI = the first slot');
      a.xor(ebx, ebx, 'continuation 0: start at the beginning');
      a.loop_((loop) => {
        a.mov(dword(di, E820_ENTRY.f.ext), E820_EXT_ENABLED, 'a 20-byte answer leaves this: the entry counts as valid');
        a.mov(eax, E820_FUNC);
        a.mov(edx, E820_SMAP);
        a.mov(ecx, E820_ENTRY.SIZE);
        a.int(BIOS_SYSTEM);
        loop.break_('c', 'CF = 1: no E820h (first call) or past the last entry');
        a.cmp(eax, E820_SMAP);
        loop.break_('ne', 'not the signature: this BIOS does not implement E820h');
        a.cmp(ecx, E820_ENTRY.f.ext);
        loop.break_('b', 'fewer bytes written than base, length and type (20): not a descriptor (ACPI: ECX is 20 or 24)');
        a.mov(eax, dword(di, E820_ENTRY.f.length));
        a.or(eax, dword(di, E820_ENTRY.f.length.add(4)));
        a.if_('nz', () => {
          a.test(dword(di, E820_ENTRY.f.ext), E820_EXT_ENABLED);
          a.if_('nz', () => {
            a.call(e820_print_entry);
            a.add(di, E820_ENTRY.SIZE, 'keep it: the next call writes the next slot');
            a.inc(dword(E820_COUNT));
          }, undefined, 'ACPI 3.0: bit 0 clear means ignore this descriptor');
        }, undefined, 'a zero-length range says nothing');
        a.test(ebx, ebx);
        loop.break_('z', 'EBX = 0: that was the last entry');
        a.dec(bp);
        a.if_('z', () => {
          a.mov(si, a.cstr(`[e820] the BIOS gave no end of its list after ${E820_CALLS_MAX.c.value} calls: stopped there\r\n`));
          a.call(puts);
          loop.break_();
        });
        a.cmp(dword(E820_COUNT), E820_MAX);
        a.if_('ae', () => {
          a.mov(si, a.cstr('[e820] more entries than E820_MAX: the rest are dropped\r\n'));
          a.call(puts);
          loop.break_();
        });
      });
      a.cmp(dword(E820_COUNT), 0);
      a.if_('e', () => {
        a.mov(si, a.cstr('[e820] no memory map (int 15h E820h unsupported); the kernel will use the fw_cfg RAM size\r\n'));
        a.call(puts);
      });
      a.pop(es); a.pop(bp); a.pop(di); a.pop(si);
      r.ret();
    });

    a.routine({
      name: e820_print_entry, does: 'prints one entry: "[e820] 0x<first>-0x<last> <type>"',
      in: { di: 'the entry (DS:DI)' }, clobbers: [eax, edx],
    }, (r) => {
      a.push(si);
      a.mov(si, a.cstr('[e820] 0x'));
      a.call(puts);
      a.mov(eax, dword(di, E820_ENTRY.f.base.add(4)));
      a.call(e820_put_hex32);
      a.mov(eax, dword(di, E820_ENTRY.f.base));
      a.call(e820_put_hex32);
      a.mov(si, a.cstr('-0x'));
      a.call(puts);
      a.mov(eax, dword(di, E820_ENTRY.f.base));
      a.mov(edx, dword(di, E820_ENTRY.f.base.add(4)));
      a.add(eax, dword(di, E820_ENTRY.f.length), 'EDX:EAX = base + length ...');
      a.adc(edx, dword(di, E820_ENTRY.f.length.add(4)));
      a.sub(eax, 1, '... - 1: the last byte');
      a.sbb(edx, 0);
      a.push(eax);
      a.mov(eax, edx);
      a.call(e820_put_hex32);
      a.pop(eax);
      a.call(e820_put_hex32);
      a.mov(eax, dword(di, E820_ENTRY.f.type));
      for (const [value, name] of E820_TYPE_NAMES) {
        a.mov(si, a.cstr(` ${name}`));
        a.cmp(eax, value);
        a.je(L('.type_known'));
      }
      a.mov(si, a.cstr(' type 0x'));
      a.call(puts);
      a.call(put_hex8, 'low byte of an unknown type');
      a.jmp(L('.line_end'));
      a.label('.type_known');
      a.call(puts);
      a.label('.line_end');
      a.call(newline);
      a.pop(si);
      r.ret();
    });

    a.routine({ name: e820_put_hex32, does: 'prints EAX as 8 hex digits', in: { eax: 'the value' } }, (r) => {
      a.rol(eax, 16, 'high half into AX');
      a.call(put_hex16);
      a.rol(eax, 16);
      a.call(put_hex16);
      r.ret();
    });
  },
});

