// The BIOS memory map as the kernel sees it: the entries stage 2 left at
// E820_TABLE (boot/e820.ts), printed and summed.
import { type Asm, defineModule } from '../../toolchain/x86/asm.ts';
import { type Reg32, al, eax, ebx, ecx, edx, esi, L, dword, chr } from '../../toolchain/x86/operands.ts';
import { E820_COUNT, E820_ENTRY, E820_TABLE, E820_TYPE_NAMES, E820_USABLE } from '../../boot/e820.ts';
import { putDec, say } from '../lib/print.ts';
import { serial_newline, serial_put_dec, serial_put_hex32, serial_put_hex8, serial_putc, serial_puts } from '../dev/serial.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const e820_print_map = sym('e820_print_map');
export const e820_summary = sym('e820_summary');
export const e820_usable_kib = sym('e820_usable_kib');
export const e820_high_kib = sym('e820_high_kib');
const e820_print_entry = sym('e820_print_entry');

/**
 * Emit a walk over the stored entries: `ptr` points at each in turn, ECX
 * counts them down (the body must keep both).  Does nothing when the count is 0.
 */
function forEachEntry(a: Asm, ptr: Reg32, body: () => void): void {
  a.mov(ecx, dword(E820_COUNT));
  a.mov(ptr, E820_TABLE);
  a.while_(() => { a.test(ecx, ecx); return 'nz'; }, () => {
    body();
    a.add(ptr, E820_ENTRY.SIZE);
    a.dec(ecx);
  });
}

export const e820k = defineModule({
  name: 'e820k',
  title: 'The memory map in the kernel: reading what stage 2 stored',
  about: `
Stage 2 asked the BIOS for the memory map before leaving real mode
(stage2/e820.asm) and left it at E820_TABLE, E820_COUNT entries of struc
e820_entry (the ACPI "Address Range Descriptor").  Nothing overwrites that
page (page 1, identity-mapped like all of 0-4 MiB), so the kernel reads it
in place:

  e820_summary    "[mem] e820: N entries, usable X KiB" at boot
  e820_usable_kib EAX = KiB in the entries of type usable (E820_USABLE)
  e820_high_kib   EAX = the same from 1 MiB up: what the page allocator
                  and so every process draws on (mem_check, proc.asm)
  e820_print_map  one line per entry, as the shell's "mem" shows them

The entries are the firmware's word and can overlap or come in any order;
the page allocator (pmm.asm) is the one that makes sense of them.  Sizes are
summed in KiB so that 32 bits hold any map below 4 TiB.`,
  spec: ['ACPI Specification 6.4 §15 "System Address Map Interfaces" (the address range types), §15.1 "INT 15H, E820H - Query System Address Map"'],
  emit(a) {
    a.routine({
      name: e820_usable_kib, does: 'adds up the usable (type 1) entries of the map',
      out: { eax: 'KiB of usable RAM in the map' }, clobbers: [ecx, edx], saves: [esi],
    }, (r) => {
      a.xor(eax, eax);
      forEachEntry(a, esi, () => {
        a.cmp(dword(esi, E820_ENTRY.f.type), E820_USABLE);
        a.if_('e', () => {
          a.mov(edx, dword(esi, E820_ENTRY.f.length));
          a.shr(edx, 10, 'low dword of the length in KiB ...');
          a.add(eax, edx);
          a.mov(edx, dword(esi, E820_ENTRY.f.length.add(4)));
          a.shl(edx, 22, '... plus the high dword\'s share (2^32 bytes = 2^22 KiB)');
          a.add(eax, edx);
        });
      });
      r.ret();
    });

    a.routine({
      name: e820_high_kib, does: 'adds up the usable entries of the map from 1 MiB up (the part of an entry below 1 MiB does not count)',
      out: { eax: 'KiB of usable RAM at or above 1 MiB' }, clobbers: [ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.xor(eax, eax);
      forEachEntry(a, esi, () => {
        a.cmp(dword(esi, E820_ENTRY.f.type), E820_USABLE);
        a.if_('e', () => {
          a.mov(edx, dword(esi, E820_ENTRY.f.length));
          a.shr(edx, 10);
          a.mov(ebx, dword(esi, E820_ENTRY.f.length.add(4)));
          a.shl(ebx, 22);
          a.add(edx, ebx, 'EDX = the entry\'s KiB');
          a.cmp(dword(esi, E820_ENTRY.f.base.add(4)), 0);
          a.if_('e', () => {
            a.mov(ebx, 0x100000);
            a.sub(ebx, dword(esi, E820_ENTRY.f.base), 'EBX = its bytes below 1 MiB, if it starts there');
            a.if_('a', () => {
              a.shr(ebx, 10);
              a.sub(edx, ebx);
              a.if_('b', () => a.xor(edx, edx), undefined, 'it ends below 1 MiB: nothing counts');
            });
          }, undefined, 'an entry above 4 GiB counts whole');
          a.add(eax, edx);
        });
      });
      r.ret();
    });

    a.routine({
      name: e820_summary, does: 'prints "[mem] e820: N entries, usable X KiB"',
      clobbers: [eax, ecx, edx],
    }, (r) => {
      say(a, a.cstr('[mem] e820: '));
      putDec(a, dword(E820_COUNT));
      say(a, a.cstr(' entries, usable '));
      a.call(e820_usable_kib);
      a.call(serial_put_dec);
      say(a, a.cstr(' KiB\r\n'));
      r.ret();
    });

    a.routine({
      name: e820_print_map, does: 'prints every entry: "[mem] 0x<first>-0x<last> <type>"',
      clobbers: [eax, ecx, edx], saves: [esi],
    }, (r) => {
      forEachEntry(a, esi, () => {
        a.push(ecx);
        a.mov(eax, esi);
        a.call(e820_print_entry);
        a.pop(ecx);
      });
      r.ret();
    });

    a.routine({
      name: e820_print_entry, does: 'prints one entry: "[mem] 0x<first>-0x<last> <type>" (first and last byte, 64 bits each)',
      in: { eax: 'the entry' }, clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      say(a, a.cstr('[mem] 0x'));
      a.mov(eax, dword(ebx, E820_ENTRY.f.base.add(4))); a.call(serial_put_hex32);
      a.mov(eax, dword(ebx, E820_ENTRY.f.base)); a.call(serial_put_hex32);
      say(a, a.cstr('-0x'));
      a.mov(eax, dword(ebx, E820_ENTRY.f.base));
      a.mov(edx, dword(ebx, E820_ENTRY.f.base.add(4)));
      a.add(eax, dword(ebx, E820_ENTRY.f.length), 'EDX:EAX = base + length - 1: the last byte');
      a.adc(edx, dword(ebx, E820_ENTRY.f.length.add(4)));
      a.sub(eax, 1);
      a.sbb(edx, 0);
      a.push(eax);
      a.mov(eax, edx); a.call(serial_put_hex32);
      a.pop(eax); a.call(serial_put_hex32);
      a.mov(al, chr(' '));
      a.call(serial_putc);
      a.mov(ecx, dword(ebx, E820_ENTRY.f.type));
      for (const [value, name] of E820_TYPE_NAMES) {
        a.mov(eax, a.cstr(name));
        a.cmp(ecx, value);
        a.je(L('.known'));
      }
      say(a, a.cstr('type 0x'));
      a.mov(eax, ecx);
      a.call(serial_put_hex8);
      a.mov(eax, a.cstr(''));
      a.label('.known');
      a.call(serial_puts);
      a.call(serial_newline);
      r.ret();
    });
  },
});
