// The global descriptor table stage 2 loads before entering protected mode.
import { defineModule } from '../toolchain/x86/asm.ts';
import { constant } from '../toolchain/x86/operands.ts';
import { FLAT, emitDescriptor } from './descriptor.ts';
import { sym } from '../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const gdt = sym('gdt');
const gdt_end = sym('gdt_end');
export const gdtr = sym('gdtr');

export const SEL_KERNEL_CODE = constant('SEL_KERNEL_CODE', 0x08, 'selector of GDT entry 1: ring-0 code (index 1, TI = 0, RPL = 0)');
export const SEL_KERNEL_DATA = constant('SEL_KERNEL_DATA', 0x10, 'selector of GDT entry 2: ring-0 data (index 2, TI = 0, RPL = 0)');
export const SEL_USER_CODE = constant('SEL_USER_CODE', 0x18 | 3, 'selector of GDT entry 3: ring-3 code, RPL = 3');
export const SEL_USER_DATA = constant('SEL_USER_DATA', 0x20 | 3, 'selector of GDT entry 4: ring-3 data, RPL = 3');
export const SEL_TSS = constant('SEL_TSS', 0x28, 'selector of GDT entry 5: the task-state segment (filled in by the kernel)');

export const gdtModule = defineModule({
  name: 'gdt',
  title: 'The global descriptor table (GDT)',
  about: `
In protected mode a segment register holds a selector - an index into a
descriptor table - instead of a paragraph number.  Each 8-byte descriptor
gives the segment's base, limit, type and privilege level (DPL).  Like xv6,
tskernel uses flat segments (base 0, limit 4 GiB) so that segmentation is
transparent and paging (later) does the real protection; segments still
decide the privilege level the CPU runs at.

Entries (selector = index * 8 | table indicator | requested privilege level):
  0  0x00  the null descriptor (the CPU never uses entry 0; loading it faults on use)
  1  0x08  kernel code, ring 0, 32-bit
  2  0x10  kernel data, ring 0
  3  0x18  user code, ring 3 (selector 0x1B with RPL 3)
  4  0x20  user data, ring 3 (selector 0x23 with RPL 3)
  5  0x28  TSS: left empty here; the kernel fills it in when it needs ring 3
gdtr is the 6-byte operand of lgdt: a 16-bit limit (size - 1) and a 32-bit base.`,
  spec: [
    'Intel SDM Vol. 3A §3.4.2 "Segment Selectors", §3.4.5 "Segment Descriptors", §3.5.1 "Segment Descriptor Tables"',
  ],
  emit(a) {
    a.align(8, 'the CPU reads descriptors faster when aligned (SDM 3A §3.5.1)');
    a.label(gdt);
    a.comment('entry 0: null descriptor');
    a.dataC(4, [0, 0], 'null descriptor');
    emitDescriptor(a, { ...FLAT, kind: 'code', dpl: 0 }, 'entry 1 (0x08): kernel code');
    emitDescriptor(a, { ...FLAT, kind: 'data', dpl: 0 }, 'entry 2 (0x10): kernel data');
    emitDescriptor(a, { ...FLAT, kind: 'code', dpl: 3 }, 'entry 3 (0x18): user code');
    emitDescriptor(a, { ...FLAT, kind: 'data', dpl: 3 }, 'entry 4 (0x20): user data');
    a.comment('entry 5 (0x28): TSS slot, empty until the kernel installs a task-state segment');
    a.dataC(4, [0, 0], 'not present');
    a.label(gdt_end);
    a.label(gdtr, 'operand of lgdt');
    a.dataC(2, [gdt_end.sub(gdt).sub(1)], 'limit: size of the table - 1');
    a.dataC(4, [gdt], 'linear base address of the table');
  },
});
