// The memory map (stage 2's int 15h E820h, boot/e820.ts), the kernel's reading
// of it (kernel/mm/e820.ts), the page allocator (kernel/mm/pmm.ts) and the
// shell's "mem".  The expected maps are computed from the -m value and the
// machine's memory layout (QEMU's pc and q35 boards put RAM below the PCI
// hole and, past a threshold, the rest above 4 GiB), not copied from output.
import { copyFileSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BootResult, boot, ensureImage, expectLinesInOrder, expectStatus, report, startSession } from '../harness/boot.ts';
import { PMM_RANGE } from '../../kernel/mm/pmm.ts';

let image = '';
beforeAll(async () => { image = await ensureImage(); });

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const hex16 = (v: number) => v.toString(16).toUpperCase().padStart(16, '0');
const hex8 = (v: number) => v.toString(16).toUpperCase().padStart(8, '0');
/** The allocator's range as its boot line and the shell print it: from the constants, never copied from output. */
const BASE = hex8(PMM_RANGE.base);
const LAST = hex8(PMM_RANGE.limit - 1);

interface Range { first: number; last: number; type: string }

/** The "[e820] 0x...-0x... type" lines (or the shell's "[mem] ..." ones), in order. */
function mapLines(r: BootResult, prefix: string): Range[] {
  const re = new RegExp(`^\\[${prefix}\\] 0x([0-9A-F]{16})-0x([0-9A-F]{16}) (.+)$`);
  return r.lines.flatMap((l) => {
    const m = re.exec(l);
    return m ? [{ first: parseInt(m[1]!, 16), last: parseInt(m[2]!, 16), type: m[3]! }] : [];
  });
}

/**
 * What the map must say for `mib` MiB on a machine: RAM below the hole
 * (QEMU pc: all of it up to 3.5 GiB; q35: 2 GiB once -m reaches 2.75 GiB,
 * else all of it), the rest from 4 GiB.
 */
function layout(machine: 'pc' | 'q35', mib: number): { below4g: number; above4g: number } {
  const ram = mib * MiB;
  const lowmem = machine === 'pc' ? (ram >= 0xe0000000 ? 0xc0000000 : 0xe0000000) : (ram >= 0xb0000000 ? 0x80000000 : 0xb0000000);
  const below4g = Math.min(ram, lowmem);
  return { below4g, above4g: ram - below4g };
}

function checkMap(map: readonly Range[], machine: 'pc' | 'q35', mib: number, r: BootResult): void {
  const why = `-machine ${machine} -m ${mib}\n${report(r, 60)}`;
  const { below4g, above4g } = layout(machine, mib);
  // Below 1 MiB: conventional memory up to the EBDA, the EBDA, the BIOS ROM at 0xF0000.
  expect(map.slice(0, 3), why).toEqual([
    { first: 0, last: 0x9fbff, type: 'usable' },
    { first: 0x9fc00, last: 0x9ffff, type: 'reserved' },
    { first: 0xf0000, last: 0xfffff, type: 'reserved' },
  ]);
  // From 1 MiB: usable RAM up to the firmware's own few pages at the top of low RAM.
  const low = map[3]!;
  expect(low.first, why).toBe(0x100000);
  expect(low.type, why).toBe('usable');
  expect(below4g - (low.last + 1), why).toBeGreaterThan(0);
  expect(below4g - (low.last + 1), why).toBeLessThanOrEqual(256 * 1024);
  expect(map[4], why).toEqual({ first: low.last + 1, last: below4g - 1, type: 'reserved' });
  // Nothing else usable below 4 GiB: the hole up to 4 GiB holds devices and the BIOS ROM.
  const rest = map.slice(5);
  expect(rest.filter((e) => e.last < 4 * GiB && e.type === 'usable'), why).toEqual([]);
  expect(rest.some((e) => e.first === 0xfffc0000 && e.last === 0xffffffff && e.type === 'reserved'), why).toBe(true);
  const high = rest.filter((e) => e.first >= 4 * GiB);
  expect(high, why).toEqual(above4g === 0 ? [] : [{ first: 4 * GiB, last: 4 * GiB + above4g - 1, type: 'usable' }]);
}

const usableKiB = (map: readonly Range[]) => map.filter((e) => e.type === 'usable').reduce((s, e) => s + (e.last + 1 - e.first) / 1024, 0);
/** Usable KiB at or above 1 MiB: what mem_check (kernel/proc/proc.ts) weighs. */
const highKiB = (map: readonly Range[]) => map.filter((e) => e.type === 'usable' && e.last >= MiB).reduce((s, e) => s + (e.last + 1 - Math.max(e.first, MiB)) / 1024, 0);
/** Pages the allocator must manage: usable frames of the map inside its range. */
function expectedPages(map: readonly Range[]): number {
  let pages = 0;
  for (let f = PMM_RANGE.base; f < PMM_RANGE.limit; f += 4096) {
    const inside = (e: Range) => e.first <= f && f + 4095 <= e.last;
    const touches = (e: Range) => e.first <= f + 4095 && f <= e.last;
    if (map.some((e) => e.type === 'usable' && inside(e)) && !map.some((e) => e.type !== 'usable' && touches(e))) pages++;
  }
  return pages;
}

describe('the E820 memory map', () => {
  const cases: ['pc' | 'q35', number][] = [['pc', 2], ['pc', 8], ['pc', 64], ['pc', 3072], ['q35', 64], ['q35', 3072]];
  for (const [machine, mib] of cases) {
    it(`-machine ${machine} -m ${mib}: stage 2 prints the map, the kernel sums it and manages the usable pages`, async () => {
      const r = await boot({ image, machine, memMiB: mib, cmdline: 'test=boot' });
      expectStatus(r, 33);
      const map = mapLines(r, 'e820');
      checkMap(map, machine, mib, r);
      expect(usableKiB(map)).toBeGreaterThan(mib * 1024 - 1024); // the map accounts for (almost) all of -m
      expect(usableKiB(map)).toBeLessThan(mib * 1024);
      expectLinesInOrder(r, [
        /^\[stage2\] running in real mode at 0x7E00$/,
        /^\[e820\] 0x0000000000000000-0x000000000009FBFF usable$/,
        /^\[pm\] setting CR0.PE/,
        // mem_check counts what the map says is usable from 1 MiB, not what fw_cfg says -m was.
        new RegExp(`^\\[mem\\] RAM from 1 MiB: ${highKiB(map)} KiB usable \\(e820 map\\); tskernel needs 60 KiB there `),
        new RegExp(`^\\[mem\\] e820: ${map.length} entries, usable ${usableKiB(map)} KiB$`),
        new RegExp(`^\\[pmm\\] ${expectedPages(map)} free 4 KiB pages in 0x${BASE}-0x${LAST} `),
        /^\[tsk\] ready$/,
      ]);
      if (mib > 4) expect(expectedPages(map)).toBe(PMM_RANGE.frames); // all of 1-4 MiB is RAM
    });
  }
  it('booted from a floppy (CHS path, whose int 13h AH=08h points ES at the diskette table): stage 2 still gets the map', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsk-e820-floppy-'));
    try {
      const floppy = path.join(dir, 'floppy.img');
      copyFileSync(image, floppy);
      truncateSync(floppy, 1474560); // 1.44 MB: 80 cylinders x 2 heads x 18 sectors
      const r = await boot({ image: floppy, floppy: true, memMiB: 64, cmdline: 'test=boot' });
      expectStatus(r, 33);
      const map = mapLines(r, 'e820');
      checkMap(map, 'pc', 64, r);
      expectLinesInOrder(r, [
        /^\[boot\] CHS reads$/,
        /^\[e820\] 0x0000000000000000-0x000000000009FBFF usable$/,
        new RegExp(`^\\[mem\\] RAM from 1 MiB: ${highKiB(map)} KiB usable \\(e820 map\\); `),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('the map is not a constant: a 3 GiB pc and an 8 MiB one differ where RAM ends', () => {
    expect(layout('pc', 3072).below4g).toBe(3 * GiB);
    expect(layout('q35', 3072)).toEqual({ below4g: 2 * GiB, above4g: GiB });
    expect(hex16(layout('pc', 8).below4g)).toBe('0000000000800000');
  });
});

describe('the shell: mem', () => {
  it('mem shows the map stage 2 printed and the page counts; mem test allocates, frees and catches a double free', async () => {
    const s = await startSession({ image, memMiB: 64 });
    try {
      await s.waitFor(/^tsk> $/, { partial: true });
      s.send('mem\r');
      const total = await s.waitFor(new RegExp(`^\\[mem\\] pages: total (\\d+), free (\\d+) \\(4 KiB each, from 0x${BASE}\\)$`));
      s.send('mem test\r');
      await s.waitFor(/^\[mem\] test (passed|FAILED)/, { from: total.index });
      s.send('mem bogus\r');
      await s.waitFor(/^\[shell\] mem: unknown argument 'bogus' \(usage: mem \[test\]\)$/);
      s.send('mem\r');
      await s.waitFor(/^\[mem\] pages: total/, { from: total.index + 1 });
      s.send('poweroff\r');
      const r = await s.exited;
      expectStatus(r, 33);
      const stage2 = mapLines(r, 'e820');
      const shown = mapLines(r, 'mem');
      expect(shown.slice(0, stage2.length)).toEqual(stage2);
      expect(shown.length).toBe(stage2.length * 2);
      const pages = r.lines.filter((l) => l.startsWith('[mem] pages:'));
      expect(pages).toEqual([
        `[mem] pages: total ${PMM_RANGE.frames}, free ${PMM_RANGE.frames} (4 KiB each, from 0x${BASE})`,
        `[mem] pages: total ${PMM_RANGE.frames}, free ${PMM_RANGE.frames} (4 KiB each, from 0x${BASE})`,
      ]);
      const first = PMM_RANGE.base.toString(16).toUpperCase().padStart(8, '0');
      const second = (PMM_RANGE.base + 4096).toString(16).toUpperCase().padStart(8, '0');
      expectLinesInOrder(r, [
        new RegExp(`^\\[mem\\] test: allocated 0x${first} and 0x${second}$`),
        new RegExp(`^\\[mem\\] test: page 0x${first} dirtied, freed, allocated again: zeroed$`),
        new RegExp(`^\\[pmm\\] free 0x${first} refused: double free: the page is already free$`),
        new RegExp(`^\\[pmm\\] free 0x${(PMM_RANGE.base + 4096 + 8).toString(16).toUpperCase().padStart(8, '0')} refused: not page-aligned$`),
        /^\[pmm\] free 0x00010000 refused: outside the allocator's range$/,
        new RegExp(`^\\[mem\\] test passed: ${PMM_RANGE.frames} pages free before and after$`),
      ]);
    } finally {
      await s.close();
    }
  });
});
