// virtio-blk end to end (kernel/virtio/, kernel/blk/virtio_blk.ts): QEMU
// attaches test images with a known pattern (toolchain/disk/pattern.ts) as
// legacy-capable virtio-blk-pci devices, the kernel's test scenarios read
// and write them through the block layer, and the test checks what the
// guest printed against checksums computed here - and, after writes, the
// image file itself.  Slots 2 and 5 both route INTA# to IRQ 10 on QEMU's pc
// (PIIX3 PIRQ routing, SeaBIOS PIRQ A-D = 10, 10, 11, 11), so two devices
// there share one level-triggered line.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BootResult, boot, ensureImage, expectLinesInOrder, expectStatus, report } from '../harness/boot.ts';
import { convertToQcow2, fnv1a32, patternSectors, writePatternImage } from '../../toolchain/disk/pattern.ts';
import { EXIT_POWEROFF, QEMU_BIN } from '../../toolchain/qemu.ts';
import { VBLK_WRAP_BATCH, VBLK_WRITE_LBA, VBLK_WRITE_SECTORS, VBLK_WRITE_XOR } from '../../kernel/blk/virtio_blk.ts';

let image = '';
let dir = '';
const A_SECTORS = 16384; // 8 MiB
const B_SECTORS = 4096; // 2 MiB
beforeAll(async () => {
  image = await ensureImage();
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsk-vblk-'));
  writePatternImage(path.join(dir, 'a.img'), A_SECTORS);
  writePatternImage(path.join(dir, 'b.img'), B_SECTORS);
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** -drive and -device for one virtio-blk disk. */
function disk(id: string, file: string, o: { addr: number; serial?: string; format?: string; readonly?: boolean; snapshot?: boolean; device?: string }): string[] {
  const drive = [`if=none`, `id=${id}`, `file=${file}`, `format=${o.format ?? 'raw'}`, ...(o.readonly ? ['readonly=on'] : []), ...(o.snapshot === false ? [] : ['snapshot=on'])];
  const dev = [`virtio-blk-pci`, `drive=${id}`, `addr=0x${o.addr.toString(16)}`, ...(o.serial ? [`serial=${o.serial}`] : []), ...(o.device ? [o.device] : [])];
  return ['-drive', drive.join(','), '-device', dev.join(',')];
}

const run = (test: string, extraArgs: string[]) => boot({ image, cmdline: `test=${test}`, extraArgs });

/** The boot lines of each disk: name -> { sectors, mib, serial, ro, irq }. */
function disks(r: BootResult) {
  const out = new Map<string, { sectors: number; mib: number; serial: string; ro: boolean; irq: number }>();
  for (const l of r.lines) {
    const m = /^\[virtio_blk\] (vd[a-z]): (\d+) sectors \((\d+) MiB\), serial "(.*)", (read-only|read-write), irq (\d+)$/.exec(l);
    if (m) out.set(m[1]!, { sectors: +m[2]!, mib: +m[3]!, serial: m[4]!, ro: m[5] === 'read-only', irq: +m[6]! });
  }
  return out;
}

/** test=virtio_blk's read lines for one disk, checked against the pattern. */
function checkReads(r: BootResult, name: string, sectors: number): void {
  const reads = r.lines.flatMap((l) => {
    const m = new RegExp(`^\\[vblk\\] ${name} read (\\d+) x (\\d+): (.*)$`).exec(l);
    return m ? [{ lba: +m[1]!, count: +m[2]!, rest: m[3]! }] : [];
  });
  // Sectors 0, 1-8, 63-64, a third in, half-way (256 at once) and the last one.
  expect(reads.map((x) => [x.lba, x.count]), report(r)).toEqual([
    [0, 1], [1, 8], [63, 2], [Math.floor(sectors / 3), 16], [sectors / 2 + 1, 256], [sectors - 1, 1],
  ]);
  for (const x of reads) {
    const want = fnv1a32(patternSectors(x.lba, x.count)).toString(16).padStart(8, '0');
    expect(x.rest.toLowerCase(), `${name} sectors ${x.lba}+${x.count}\n${report(r)}`).toBe(`fnv 0x${want}`);
  }
}

describe('virtio-blk (legacy virtio PCI, split virtqueue, INTx)', () => {
  it('reports the capacity and serial QEMU was given; scattered reads return the pattern; one request is one interrupt', async () => {
    const r = await run('virtio_blk', disk('d0', path.join(dir, 'a.img'), { addr: 5, serial: 'TESTDISK' }));
    expectStatus(r, EXIT_POWEROFF);
    expectLinesInOrder(r, [
      /^\[pic\] level-triggered \(ELCR\): IRQ 10 IRQ 11$/, // the PCI lines, as SeaBIOS set them
      /^\[virtio\] 00:05\.0 1AF4:1001 block device, legacy I\/O 0x[0-9A-F]{4}, irq 10, reset \(status was 0x[0-9A-F]+\)$/,
      /^\[virtio_blk\] vda: 16384 sectors \(8 MiB\), serial "TESTDISK", read-write, irq 10$/,
    ]);
    expect(disks(r).get('vda'), report(r)).toEqual({ sectors: A_SECTORS, mib: 8, serial: 'TESTDISK', ro: false, irq: 10 });
    checkReads(r, 'vda', A_SECTORS);
    // One read after boot: the device completed it once, the driver never polled, one interrupt told it.
    expectLinesInOrder(r, [/^\[vblk\] vda one read: 1 completion\(s\), 0 poll\(s\), 1 interrupt\(s\)$/]);
    // Device errors name the disk and sector, and come back as -errno.
    expectLinesInOrder(r, [
      /^\[blk\] vda: request type 0x00000077 not supported by the device, sector 0$/,
      /^\[vblk\] vda type 0x77: -95$/,
      /^\[blk\] vda: I\/O error at sector 16384$/,
      /^\[vblk\] vda driver read at capacity: -5$/,
      // at boot GET_ID, the boot-disk check and the file system's look at sector 0 (kernel/fs/tar.ts); 8 after
      /^\[vblk\] vda totals: reqs 11, errors 2, pio \d+, interrupts 9$/,
      /^\[vblk\] interrupts no device claimed: 0$/,
    ]);
  });

  it('writes 2 MiB, flushes, and the image file holds exactly those bytes and nothing else changed', async () => {
    const file = path.join(dir, 'w.img');
    copyFileSync(path.join(dir, 'a.img'), file);
    const r = await run('vblkwrite', disk('d0', file, { addr: 4, snapshot: false }));
    expectStatus(r, EXIT_POWEROFF);
    expectLinesInOrder(r, [new RegExp(`^\\[vblk\\] wrote ${VBLK_WRITE_SECTORS} sectors at ${VBLK_WRITE_LBA}, flush: 0$`)]);
    expect(r.lines.filter((l) => /failed|error/i.test(l)), report(r)).toEqual([]);
    const got = readFileSync(file);
    expect(got.length).toBe(A_SECTORS * 512);
    const want = patternSectors(0, A_SECTORS);
    for (let s = VBLK_WRITE_LBA; s < VBLK_WRITE_LBA + VBLK_WRITE_SECTORS; s++) {
      for (let k = 0; k < 128; k++) want.writeUInt32LE((((s << 7) | k) ^ VBLK_WRITE_XOR) >>> 0, s * 512 + k * 4);
    }
    const firstDiff = got.findIndex((b, i) => b !== want[i]);
    expect(firstDiff, firstDiff >= 0 ? `first difference at byte ${firstDiff} (sector ${Math.floor(firstDiff / 512)})` : '').toBe(-1);
  });

  it(`completes 10 x queue size + 7 requests in order with intact data (${VBLK_WRAP_BATCH} in flight: the rings wrap)`, async () => {
    const r = await run('vblkwrap', disk('d0', path.join(dir, 'a.img'), { addr: 5 }));
    expectStatus(r, EXIT_POWEROFF);
    const [line] = expectLinesInOrder(r, [/^\[vblk\] wrap: (\d+) requests, queue size (\d+), (\d+) in flight, fnv 0x([0-9A-F]{8}), avail\.idx (\d+), used\.idx (\d+)$/]);
    const m = /wrap: (\d+) requests, queue size (\d+), (\d+) in flight, fnv 0x([0-9A-F]{8}), avail\.idx (\d+), used\.idx (\d+)$/.exec(line!)!;
    const [total, n] = [+m[1]!, +m[2]!];
    expect(n).toBe(256); // QEMU's default queue-size
    expect(total).toBe(10 * n + 7);
    // Request k read sector k: the checksum over the buffers in request order.
    let h: number | undefined;
    for (let k = 0; k < total; k++) h = fnv1a32(patternSectors(k, 1), h);
    expect(m[4]!.toLowerCase()).toBe(h!.toString(16).padStart(8, '0'));
    // Every request made available was used (plus GET_ID, the boot-disk check and the file system's read of sector 0 at boot).
    expect(+m[5]!).toBe(total + 3);
    expect(+m[6]!).toBe(total + 3);
  });

  it('a waiting process blocks and others run: reads by the kernel task while a CPU-bound program is runnable', async () => {
    // A throttled drive (QEMU's I/O limits) keeps each request in flight for a while, so the reader must wait.
    const r = await run('vblkblock', disk('d0', `${path.join(dir, 'a.img')},throttling.iops-total=20`, { addr: 5 }));
    expectStatus(r, EXIT_POWEROFF);
    const [line] = expectLinesInOrder(r, [/^\[vblk\] 10 reads while spin ran: \d+ ticks, the kernel task's own \d+, idle \d+, blocked \d+ times$/]);
    expectLinesInOrder(r, [/^\[proc\] pid \d+ started: spin$/, /^\[proc\] pid \d+ exited with code 0$/]); // spin may end before or after the reads
    const [, elapsed, own, idle, blocked] = /ran: (\d+) ticks, the kernel task's own (\d+), idle (\d+), blocked (\d+) times/.exec(line!)!.map(Number);
    expect(blocked!, report(r)).toBeGreaterThanOrEqual(1);
    // The ticks that passed while the kernel task waited went to spin: the waiter neither spun nor idled through them.
    expect(elapsed! - own! - idle!, report(r)).toBeGreaterThanOrEqual(blocked!);
    expect(own!, report(r)).toBeLessThanOrEqual(2);
  });

  it('drives two disks at once on one shared IRQ line: each interrupt reaches only the disk that raised it', async () => {
    const r = await run('virtio_blk', [
      ...disk('d0', path.join(dir, 'a.img'), { addr: 2, serial: 'FIRST' }),
      ...disk('d1', path.join(dir, 'b.img'), { addr: 5, serial: 'SECOND' }),
    ]);
    expectStatus(r, EXIT_POWEROFF);
    const d = disks(r);
    expect(d.get('vda'), report(r)).toEqual({ sectors: A_SECTORS, mib: 8, serial: 'FIRST', ro: false, irq: 10 });
    expect(d.get('vdb'), report(r)).toEqual({ sectors: B_SECTORS, mib: 2, serial: 'SECOND', ro: false, irq: 10 });
    checkReads(r, 'vda', A_SECTORS);
    checkReads(r, 'vdb', B_SECTORS);
    // Each disk counts only its own interrupts: 9 requests after boot each, none blamed on the other.
    expectLinesInOrder(r, [
      /^\[vblk\] vda one read: 1 completion\(s\), 0 poll\(s\), 1 interrupt\(s\)$/,
      /^\[vblk\] vda totals: reqs 11, errors 2, pio \d+, interrupts 9$/,
      /^\[vblk\] vdb one read: 1 completion\(s\), 0 poll\(s\), 1 interrupt\(s\)$/,
      /^\[vblk\] vdb totals: reqs 11, errors 2, pio \d+, interrupts 9$/,
      /^\[vblk\] interrupts no device claimed: 0$/,
    ]);
  });

  it('shares IRQ 10 with a virtio network card it does not drive (slots 2 and 5)', async () => {
    const r = await run('virtio_blk', [
      '-netdev', 'user,id=n0,restrict=on', '-device', 'virtio-net-pci,netdev=n0,addr=0x2,romfile=',
      ...disk('d0', path.join(dir, 'b.img'), { addr: 5, serial: 'SHARED' }),
      // More transitional devices on the same line; their type is the subsystem ID, not the device ID - 0xFFF
      '-device', 'virtio-rng-pci,addr=0x6', '-device', 'virtio-balloon-pci,addr=0x9',
    ]);
    expectStatus(r, EXIT_POWEROFF);
    expectLinesInOrder(r, [
      /^\[virtio\] 00:02\.0 1AF4:1000 network card, legacy I\/O 0x[0-9A-F]{4}, irq 10, reset/,
      /^\[virtio\] 00:05\.0 1AF4:1001 block device, legacy I\/O 0x[0-9A-F]{4}, irq 10, reset/,
      /^\[virtio\] 00:06\.0 1AF4:1005 type 4, legacy I\/O 0x[0-9A-F]{4}, irq 10, reset/, // entropy source (virtio 1.1 §5.4)
      /^\[virtio\] 00:09\.0 1AF4:1002 type 5, legacy I\/O 0x[0-9A-F]{4}, irq 10, reset/, // traditional memory balloon (§5.5)
      /^\[virtio_blk\] vda: 4096 sectors \(2 MiB\), serial "SHARED", read-write, irq 10$/,
      /^\[vblk\] vda one read: 1 completion\(s\), 0 poll\(s\), 1 interrupt\(s\)$/,
    ]);
    checkReads(r, 'vda', B_SECTORS);
  });

  it('a read-only disk: reads work, writes fail with a clear error (the block layer first, the device too)', async () => {
    const r = await run('virtio_blk', disk('d0', path.join(dir, 'b.img'), { addr: 4, serial: 'RO', readonly: true }));
    expectStatus(r, EXIT_POWEROFF);
    expect(disks(r).get('vda'), report(r)).toEqual({ sectors: B_SECTORS, mib: 2, serial: 'RO', ro: true, irq: 11 });
    checkReads(r, 'vda', B_SECTORS);
    expectLinesInOrder(r, [
      /^\[vblk\] vda write: -30$/, // EROFS from blk_rw: the driver is never asked
      /^\[blk\] vda: I\/O error at sector 0$/, // the device's own refusal when the driver is asked directly
      /^\[vblk\] vda driver write: -5$/,
    ]);
  });

  it('a qcow2 disk reads the same pattern as the raw one', async () => {
    const q = path.join(dir, 'b.qcow2');
    convertToQcow2(path.join(dir, 'b.img'), q);
    const r = await run('virtio_blk', disk('d0', q, { addr: 3, format: 'qcow2', serial: 'QCOW' }));
    expectStatus(r, EXIT_POWEROFF);
    expect(disks(r).get('vda'), report(r)).toEqual({ sectors: B_SECTORS, mib: 2, serial: 'QCOW', ro: false, irq: 11 });
    checkReads(r, 'vda', B_SECTORS);
  });

  it('no disk at all: one line says so, and the kernel goes on', async () => {
    const r = await run('virtio_blk', []);
    expectStatus(r, EXIT_POWEROFF);
    expectLinesInOrder(r, [/^\[virtio_blk\] no virtio-blk disks$/, /^\[vblk\] interrupts no device claimed: 0$/]);
    expect(r.lines.filter((l) => /^\[virtio\]/.test(l))).toEqual([]);
  });

  it('a modern-only disk (disable-legacy=on) is reported in one line and skipped, never driven', async () => {
    const r = await run('virtio_blk', disk('d0', path.join(dir, 'a.img'), { addr: 4, device: 'disable-legacy=on' }));
    expectStatus(r, EXIT_POWEROFF);
    expect(r.lines.filter((l) => /^\[virtio/.test(l)), report(r)).toEqual([
      '[virtio] 00:04.0 1AF4:1042 modern-only device (virtio 1.0, no legacy I/O BAR0): not driven, skipped',
      '[virtio_blk] no virtio-blk disks',
    ]);
  });

  it('boots from the image attached as virtio-blk (no IDE disk) and finds its own boot disk', async () => {
    const copy = path.join(dir, 'boot.img');
    copyFileSync(image, copy);
    const args = [
      '-nodefaults', '-no-reboot', '-display', 'none', '-machine', 'pc', '-m', '32', '-accel', 'tcg',
      '-drive', `file=${copy},format=raw,if=virtio,snapshot=on`,
      '-serial', 'stdio', '-monitor', 'none', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
      '-fw_cfg', 'name=opt/tsk/cmdline,string=test=boot',
      ...disk('d1', path.join(dir, 'b.img'), { addr: 5, serial: 'DATA' }),
    ];
    const { status, out } = await new Promise<{ status: number | null; out: string }>((resolve) => {
      execFile(QEMU_BIN, args, { timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout) => {
        resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, out: stdout });
      });
    });
    const lines = out.split('\n').map((l) => l.replace(/\r/g, ''));
    const why = `QEMU status ${status}; rerun: ${QEMU_BIN} ${args.join(' ')}\n${lines.slice(-30).join('\n')}`;
    expect(status, why).toBe(EXIT_POWEROFF);
    const sectors = readFileSync(copy).length / 512;
    const vblk = lines.filter((l) => /^\[virtio_blk\]/.test(l));
    expect(vblk, why).toHaveLength(2);
    expect(vblk[0], why).toBe(`[virtio_blk] vda: ${sectors} sectors (${sectors >> 11} MiB), serial "", read-write, irq 10`);
    const boot = lines.filter((l) => / is the boot disk: /.test(l));
    expect(boot, why).toHaveLength(1);
    const m = /^\[blk\] vda is the boot disk: sector 0 is a boot sector and sector (\d+) holds the first 512 bytes of this kernel; writes to it are refused$/.exec(boot[0]!);
    expect(m, why).not.toBeNull();
    // That sector of the image is where the kernel starts: right after stage 2 (LBA 1 on).
    const kernelLba = +m![1]!;
    expect(kernelLba).toBeGreaterThan(1);
    const img = readFileSync(copy);
    expect(img.subarray(510, 512)).toEqual(Buffer.from([0x55, 0xaa]));
    expect(img.subarray(kernelLba * 512, kernelLba * 512 + 512).equals(img.subarray((kernelLba - 1) * 512, kernelLba * 512))).toBe(false);
    expect(vblk[1], why).toBe('[virtio_blk] vdb: 4096 sectors (2 MiB), serial "DATA", read-write, irq 10');
    expect(lines, why).toContain('[tsk] ready');
  });
});
