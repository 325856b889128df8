// Boot tests for the boot path: boot sector -> stage 2 -> protected mode ->
// kernel, asserted on what the guest prints on COM1 and how QEMU exits.
import { copyFile, mkdtemp, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { boot, ensureImage, expectLinesInOrder, expectStatus, symbolAddress } from '../harness/boot.ts';

let image = '';
beforeAll(async () => { image = await ensureImage(); });

const hex4 = (v: number) => v.toString(16).toUpperCase().padStart(4, '0');

describe('boot path (test=boot)', () => {
  it('goes boot sector -> IVT demo -> A20 -> GDT -> protected mode -> ready, and powers off with status 33', async () => {
    const r = await boot({ image, cmdline: 'test=boot' });
    const handler = await symbolAddress('ivt_demo_handler');
    expectLinesInOrder(r, [
      /^\[boot\] tskernel boot sector$/,
      /^\[boot\] (LBA|CHS) reads$/,
      /^\[stage2\] running in real mode at 0x7E00$/,
      new RegExp(`^\\[ivt\\] int 0x60 handler installed: vector 0x60 -> 0000:${hex4(handler)}$`),
      /^\[ivt\] int 0x60 handler running \(real mode, via the IVT\)$/,
      /^\[ivt\] iret returned to stage 2$/,
      /^\[a20\] enabled/,
      /^\[gdt\] loading GDT/,
      /^\[pm\] setting CR0\.PE/,
      /^\[kernel\] protected mode/,
      /^\[boot\] cmdline: test=boot$/,
      /^\[tsk\] ready$/,
      /^\[tsk\] poweroff$/,
    ]);
    expectStatus(r, 33);
    expect(r.tripleFault).toBe(false);
  });

  for (const variant of [{ memMiB: 8 }, { memMiB: 512 }, { cpu: '486' }] as const) {
    it(`boots with ${JSON.stringify(variant)}`, async () => {
      const r = await boot({ image, cmdline: 'test=boot', ...variant });
      expectLinesInOrder(r, [/^\[boot\] tskernel boot sector$/, /^\[kernel\] protected mode/, /^\[tsk\] ready$/]);
      expectStatus(r, 33);
    });
  }

  it('reports unknown cmdline keys and non key=value words, and still boots', async () => {
    const r = await boot({ image, cmdline: 'foo=1 test=boot bare' });
    expectLinesInOrder(r, [
      /^\[boot\] cmdline: foo=1 test=boot bare$/,
      /^\[boot\] unknown cmdline key 'foo' ignored \(known: test, hz, seed, strace\)$/,
      /^\[boot\] cmdline word 'bare' ignored \(not key=value\)$/,
      /^\[tsk\] ready$/,
    ]);
    expectStatus(r, 33);
  });

  it('panics with status 35 on an unknown test scenario', async () => {
    const r = await boot({ image, cmdline: 'test=nope' });
    expectLinesInOrder(r, [/^\[tsk\] unknown test scenario 'nope' \(known: boot, div0/, /^\[panic\] unknown test scenario$/]);
    expectStatus(r, 35);
  });

  it('says "(none)" without a cmdline and ends at the shell prompt', async () => {
    const r = await boot({ image, stopOn: /^\[tsk\] ready$/ });
    expectLinesInOrder(r, [/^\[boot\] cmdline: \(none\)$/, /^\[tsk\] ready$/]);
    expect(r.status).toBeNull(); // stopped by the harness at "[tsk] ready" ...
    expect(r.timedOut).toBe(false); // ... not by the timeout
  });

  it('boots from a floppy through the CHS path (no LBA extensions there) all the way to a ring-3 program', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tsk-floppy-'));
    try {
      const floppy = path.join(dir, 'floppy.img');
      await copyFile(image, floppy);
      await truncate(floppy, 1474560); // a 1.44 MB floppy: 80 cylinders x 2 heads x 18 sectors
      const r = await boot({ image: floppy, floppy: true, cmdline: 'test=hello' });
      expectLinesInOrder(r, [
        /^\[boot\] tskernel boot sector$/,
        /^\[boot\] CHS reads$/,
        /^\[stage2\] running in real mode at 0x7E00$/,
        /^\[kernel\] protected mode/,
        /^\[hello\] hello, world from user mode: CS=0x1B, CPL=3$/,
      ]);
      expectStatus(r, 33);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prints the BIOS status and halts when the disk is shorter than the image layout says', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tsk-short-'));
    try {
      const short = path.join(dir, 'short.img');
      await copyFile(image, short);
      await truncate(short, 512 * 2); // boot sector + one stage-2 sector: the rest is missing
      const r = await boot({ image: short, stopOn: /^\[boot\] disk error/, timeoutMs: 20_000 });
      const [line] = expectLinesInOrder(r, [/^\[boot\] disk error 0x[0-9A-F]{2} LBA 0x[0-9A-F]{4}$/]);
      expect(line).not.toMatch(/LBA 0x000[01]$/); // sectors 0 and 1 exist; a later one failed
      expect(r.lines.some((l) => l.startsWith('[stage2]'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the image on disk', () => {
  it('has the boot signature and the layout the build printed', async () => {
    const img = await readFile(image);
    expect(img.length % 512).toBe(0);
    expect(img[510]).toBe(0x55);
    expect(img[511]).toBe(0xaa);
  });
});
