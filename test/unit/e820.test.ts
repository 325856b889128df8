// The memory map's layout (boot/e820.ts): the entry as the ACPI specification
// defines it, and its place in low memory, clear of everything else the boot
// path and the kernel put there.
import { describe, expect, it } from 'vitest';
import { E820_COUNT, E820_ENTRY, E820_MAX, E820_SMAP, E820_TABLE } from '../../boot/e820.ts';
import { BOOT_ORIGIN } from '../../boot/layout.ts';
import { PMM_RANGE } from '../../kernel/mm/pmm.ts';

const v = (c: { c: { value: unknown } }) => c.c.value as number;

describe('the E820 map layout', () => {
  it('an entry is ACPI\'s Address Range Descriptor: base, length (u64), type, extended attributes (u32)', () => {
    expect([E820_ENTRY.f.base.offset, E820_ENTRY.f.length.offset, E820_ENTRY.f.type.offset, E820_ENTRY.f.ext.offset]).toEqual([0, 8, 16, 20]);
    expect(E820_ENTRY.size).toBe(24);
    expect(v(E820_SMAP)).toBe(Buffer.from('SMAP').readUInt32BE(0)); // 'SMAP' as the BIOS compares it in EAX/EDX
  });
  it('the count and the table sit in page 1, below the boot stack and the boot sector, aligned for u64 fields', () => {
    expect(v(E820_COUNT)).toBeGreaterThanOrEqual(0x1000); // page 0 is unmapped in the kernel (paging.ts)
    expect(v(E820_TABLE)).toBeGreaterThanOrEqual(v(E820_COUNT) + 4);
    expect(v(E820_TABLE) % 8).toBe(0);
    const end = v(E820_TABLE) + v(E820_MAX) * E820_ENTRY.size;
    expect(end).toBeLessThanOrEqual(0x2000); // inside page 1
    expect(end).toBeLessThan(BOOT_ORIGIN - 0x1000); // at least 4 KiB of boot stack below 0x7C00 stays free
  });
  it('the allocator\'s range starts at 1 MiB, above the kernel\'s fixed regions and the BIOS area, and ends at the identity map\'s 4 MiB', () => {
    expect(PMM_RANGE).toEqual({ base: 0x100000, limit: 0x400000, frames: (0x400000 - 0x100000) / 4096 });
  });
});
