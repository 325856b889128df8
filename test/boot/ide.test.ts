// The IDE disk (kernel/blk/ata.ts) behind the block layer, the shell's blk
// command (kernel/blk/commands.ts) and the sector system calls, asserted on
// what the guest printed and on the image files on the host.  The test disks
// hold toolchain/disk/pattern.ts's position-dependent pattern, so a sector
// read from the wrong place, or shifted, does not match; the boot image is
// drive 0 (hda, snapshot=on) and is never written.
import { closeSync, copyFileSync, ftruncateSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Session, ensureImage, expectLinesInOrder, expectStatus, report, startSession } from '../harness/boot.ts';
import { convertToQcow2, fnv1a32, patternSectors, writePatternImage } from '../../toolchain/disk/pattern.ts';
import { SECTORS_LBA, SECTORS_TEXT, sectorsData } from '../../kernel/user/sectors.ts';

let image = '';
let dir = '';
const RAW_SECTORS = 8192; // 4 MiB
const QCOW_SECTORS = 6000;
beforeAll(async () => {
  image = await ensureImage();
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsk-ide-'));
  writePatternImage(path.join(dir, 'pattern.img'), RAW_SECTORS);
  writePatternImage(path.join(dir, 'q.raw'), QCOW_SECTORS);
  convertToQcow2(path.join(dir, 'q.raw'), path.join(dir, 'q.qcow2'));
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** A fresh copy of the pattern disk, for a test that writes. */
function copyOfPattern(name: string): string {
  const p = path.join(dir, name);
  copyFileSync(path.join(dir, 'pattern.img'), p);
  return p;
}

/** An IDE hard disk at a position (bus ide.0/ide.1, unit 0/1) with a serial and a model of the test's choosing. */
function ideDisk(file: string, at: 'hdb' | 'hdc' | 'hdd', o: { format?: string; serial?: string; model?: string } = {}): string[] {
  const [bus, unit] = { hdb: [0, 1], hdc: [1, 0], hdd: [1, 1] }[at];
  const props = [`drive=${at}`, `bus=ide.${bus}`, `unit=${unit}`, ...(o.serial ? [`serial=${o.serial}`] : []), ...(o.model ? [`model=${o.model}`] : [])];
  return ['-drive', `file=${file},format=${o.format ?? 'raw'},if=none,id=${at}`, '-device', `ide-hd,${props.join(',')}`];
}

/** Type a command and an echo marker after it, return the lines in between. */
async function cmd(s: Session, line: string): Promise<string[]> {
  const from = s.lines.length;
  const marker = `done-${Math.random().toString(36).slice(2, 8)}`;
  s.send(`${line}\recho ${marker}\r`);
  const end = (await s.waitFor(new RegExp(`^\\[echo\\] ${marker}$`), { from, timeoutMs: 60_000 })).index;
  return s.lines.slice(from, end).filter((l) => l.startsWith('['));
}

/** The bytes of a "blk read" hex dump (after its header line), checking each line's offset and ASCII column. */
function dumpBytes(lines: readonly string[]): Buffer {
  const out: number[] = [];
  for (const l of lines) {
    const m = /^\[blk\] ([0-9A-F]{4}):((?: [0-9A-F]{2}){16})  (.{16})$/.exec(l);
    if (!m) throw new Error(`not a hex dump line: ${JSON.stringify(l)}`);
    expect(parseInt(m[1]!, 16), l).toBe(out.length);
    const bytes = m[2]!.trim().split(' ').map((h) => parseInt(h, 16));
    expect(m[3], l).toBe(bytes.map((b) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.')).join(''));
    out.push(...bytes);
  }
  return Buffer.from(out);
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('IDE disks: detection and the blk command', () => {
  it('finds the disks QEMU was given (capacity, model, serial; a CD-ROM skipped), dumps, checksums and refuses bad input', async () => {
    const s = await startSession({
      image,
      extraArgs: [
        ...ideDisk(path.join(dir, 'pattern.img'), 'hdb', { serial: 'TSK-IDE-1', model: 'TSK TEST DISK' }),
        '-drive', 'if=none,id=cd,media=cdrom', '-device', 'ide-cd,drive=cd,bus=ide.1,unit=0',
        ...ideDisk(path.join(dir, 'q.qcow2'), 'hdd', { format: 'qcow2', serial: 'TSK-QCOW2' }),
        // the pattern disk is only read here: a write would fail the checksums below
      ],
      timeoutMs: 120_000,
    });
    try {
      await s.waitFor(/^\[tsk\] ready$/);
      const hdaSectors = statSync(image).size / 512;
      const boot = s.lines;
      const ide = boot.filter((l) => l.startsWith('[ide] '));
      expect(ide, boot.join('\n')).toEqual([
        `[ide] hda: ${hdaSectors} sectors (${hdaSectors >> 11} MiB), model "QEMU HARDDISK", serial "QM00001", 48-bit LBA`,
        '[ide] hdb: 8192 sectors (4 MiB), model "TSK TEST DISK", serial "TSK-IDE-1", 48-bit LBA',
        '[ide] hdc: a packet (ATAPI) device, such as a CD-ROM, not a disk: skipped',
        '[ide] hdd: 6000 sectors (2 MiB), model "QEMU HARDDISK", serial "TSK-QCOW2", 48-bit LBA',
      ]);
      // the block layer's table comes after pci (kmain's order) and before the processes
      expect(boot.findIndex((l) => l.startsWith('[ide] hda'))).toBeGreaterThan(boot.findIndex((l) => l.startsWith('[pci] ')));

      const list = await cmd(s, 'blk');
      expect(list).toHaveLength(3);
      expect(list[0]).toMatch(new RegExp(`^\\[blk\\] hda: ide, ${hdaSectors} sectors \\(\\d+ MiB\\), serial "QM00001", read-write, boot disk \\(writes refused\\), write cache \\(flush\\); 1 requests, 0 errors, \\d+ port accesses$`));
      expect(list[1]).toMatch(/^\[blk\] hdb: ide, 8192 sectors \(4 MiB\), serial "TSK-IDE-1", read-write, write cache \(flush\); 1 requests, 0 errors, \d+ port accesses$/);
      expect(list[2]).toMatch(/^\[blk\] hdd: ide, 6000 sectors \(2 MiB\), serial "TSK-QCOW2", read-write, write cache \(flush\); 1 requests, 0 errors, \d+ port accesses$/);
      // IDENTIFY alone: Device Control, select + 4 status reads, status, 4 registers, command, status, polls, 2 signature reads, 256 words
      for (const l of list) expect(Number(/(\d+) port accesses$/.exec(l)![1])).toBeGreaterThanOrEqual(1 + 5 + 1 + 5 + 1 + 1 + 2 + 256);

      // a hex dump of two sectors is exactly the pattern
      const read = await cmd(s, 'blk hdb read 5 2');
      expect(read[0]).toBe('[blk] hdb: sector 5, 2 x 512 bytes');
      expect(read[1]).toBe('[blk] 0000: 74 73 6B 20 6C 62 61 20 30 30 30 30 30 30 30 35  tsk lba 00000005');
      expect(dumpBytes(read.slice(1)).equals(patternSectors(5, 2))).toBe(true);

      // without a disk name: the first disk, hda, the boot disk (its sector 0 ends in 55 AA)
      const boot0 = await cmd(s, 'blk read 0');
      expect(boot0[0]).toBe('[blk] hda: sector 0, 1 x 512 bytes');
      expect(dumpBytes(boot0.slice(1)).equals(readFileSync(image).subarray(0, 512))).toBe(true);

      // checksums of scattered ranges and of the whole 4 MiB disk, computed here on the same pattern
      for (const [lba, count] of [[0, 1], [1234, 7], [8191, 1], [4000, 100], [17, 4096], [0, RAW_SECTORS]] as const) {
        const [line] = await cmd(s, `blk hdb check ${lba} ${count}`);
        expect(line).toBe(`[blk] hdb: fnv1a32 of ${count} sectors from ${lba} = ${hex8(fnv1a32(patternSectors(lba, count)))}`);
      }
      // the qcow2 disk reads the same pattern
      const [q] = await cmd(s, `blk hdd check 0 ${QCOW_SECTORS}`);
      expect(q).toBe(`[blk] hdd: fnv1a32 of ${QCOW_SECTORS} sectors from 0 = ${hex8(fnv1a32(patternSectors(0, QCOW_SECTORS)))}`);
      const qread = await cmd(s, 'blk hdd read 5999');
      expect(dumpBytes(qread.slice(1)).equals(patternSectors(5999, 1))).toBe(true);

      // bad input: one line each, naming what was wrong
      const usage = 'blk [disk] [read <lba> [count] | write <lba> <text> | flush | check <lba> <count>]';
      const bad: [string, string][] = [
        ['blk hdz read 0', `[blk] no disk or operation 'hdz' (usage: ${usage})`],
        ['blk hdb frob', `[blk] no disk or operation 'frob' (usage: ${usage})`],
        ['blk hdb read x', "[blk] read: not a sector number: 'x'"],
        ['blk hdb read 4294967296', "[blk] read: not a sector number: '4294967296'"],
        ['blk hdb read 0 0', "[blk] read: the count is 1 to 8 sectors, not '0'"],
        ['blk hdb read 0 9', "[blk] read: the count is 1 to 8 sectors, not '9'"],
        ['blk hdb read 8192', '[blk] hdb: read of 1 at sector 8192: -ENXIO: no such sector: the request ends past the end of the disk (8192 sectors (4 MiB))'],
        ['blk hdb read 8191 2', '[blk] hdb: read of 2 at sector 8191: -ENXIO: no such sector: the request ends past the end of the disk (8192 sectors (4 MiB))'],
        ['blk hdb check 8000 193', '[blk] hdb: check of 193 at sector 8000: -ENXIO: no such sector: the request ends past the end of the disk (8192 sectors (4 MiB))'],
        ['blk hdb check 4294967295 1', '[blk] hdb: check of 1 at sector 4294967295: -ENXIO: no such sector: the request ends past the end of the disk (8192 sectors (4 MiB))'],
        ['blk hdb check 0 0', "[blk] check: the count is at least 1, not '0'"],
        ['blk hdb check 0', "[blk] check: not a sector count: ''"],
        ['blk hdb write 5', '[blk] write: no text to write (usage: blk [disk] write <lba> <text>)'],
        ['blk hdb write 99999 hi', '[blk] hdb: write of 1 at sector 99999: -ENXIO: no such sector: the request ends past the end of the disk (8192 sectors (4 MiB))'],
        // words after the last argument are refused, not ignored
        ['blk hdb flush now', `[blk] flush: unexpected 'now' after the arguments (usage: ${usage})`],
        ['blk hdb read 5 1 1', `[blk] read: unexpected '1' after the arguments (usage: ${usage})`],
        ['blk hdb check 0 8 x y', `[blk] check: unexpected 'x y' after the arguments (usage: ${usage})`],
      ];
      for (const [line, want] of bad) expect(await cmd(s, line), line).toEqual([want]);
      // ... and the range right at the end is fine
      const [end] = await cmd(s, 'blk hdb check 8000 192');
      expect(end).toBe(`[blk] hdb: fnv1a32 of 192 sectors from 8000 = ${hex8(fnv1a32(patternSectors(8000, 192)))}`);
      // the requests were counted, none failed (refused ones never reached the driver)
      const [after] = await cmd(s, 'blk hdb');
      expect(after).toMatch(/^\[blk\] hdb: .*; \d+ requests, 0 errors, \d+ port accesses$/);
      // the boot-disk scan, read 5 2, then the checks in chunks of 8 sectors (the refused requests never reach it)
      const chunks = (n: number) => Math.ceil(n / 8);
      expect(Number(/; (\d+) requests/.exec(after!)![1])).toBe(1 + 1 + [1, 7, 1, 100, 4096, RAW_SECTORS, 192].map(chunks).reduce((x, y) => x + y));
      s.send('poweroff\r');
      const r = await s.exited;
      expectStatus(r, 33);
      expect(r.lines.some((l) => /I\/O error|\[panic\]|\[exception\]/.test(l)), report(r)).toBe(false);
    } finally {
      await s.close();
    }
    // nothing was written
    expect(readFileSync(path.join(dir, 'pattern.img')).equals(patternSectors(0, RAW_SECTORS))).toBe(true);
  });

  it('blk write + blk flush + poweroff: the host file holds exactly those sectors, the rest is unchanged', async () => {
    const file = copyOfPattern('written.img');
    const s = await startSession({ image, extraArgs: ideDisk(file, 'hdb') });
    const writes: [number, string][] = [[0, 'the first sector'], [4095, 'hello, disk: spaces  kept'], [RAW_SECTORS - 1, 'the last sector']];
    try {
      await s.waitFor(/^\[tsk\] ready$/);
      for (const [lba, text] of writes) {
        expect(await cmd(s, `blk hdb write ${lba} ${text}`)).toEqual([`[blk] hdb: wrote sector ${lba}: ${text.length} bytes of text, NUL-padded to 512`]);
      }
      expect(await cmd(s, 'blk hdb flush')).toEqual(['[blk] hdb: flushed']);
      const [line] = await cmd(s, 'blk hdb');
      expect(line).toMatch(/; 5 requests, 0 errors, \d+ port accesses$/); // and the boot-disk scan's read of sectors 0-16
      s.send('poweroff\r');
      expectStatus(await s.exited, 33);
    } finally {
      await s.close();
    }
    const want = patternSectors(0, RAW_SECTORS);
    for (const [lba, text] of writes) {
      want.fill(0, lba * 512, lba * 512 + 512);
      want.write(text, lba * 512, 'latin1');
    }
    const got = readFileSync(file);
    expect(got.length).toBe(want.length);
    const differ = [];
    for (let i = 0; i < RAW_SECTORS; i++) if (!got.subarray(i * 512, i * 512 + 512).equals(want.subarray(i * 512, i * 512 + 512))) differ.push(i);
    expect(differ).toEqual([]);
  });

  it('a device error (injected by QEMU\'s blkdebug) is reported with its sector, counted, and the disk goes on working', async () => {
    const conf = path.join(dir, 'errors.conf');
    // blkdebug fails every host read touching sector 100, and every write touching sector 200 or the
    // second sector the sectors program writes, with EIO
    const inject = (event: string, sector: number) => `[inject-error]\nevent = "${event}"\nerrno = "5"\nsector = "${sector}"\nonce = "off"\n\n`;
    writeFileSync(conf, inject('read_aio', 100) + inject('write_aio', 200) + inject('write_aio', SECTORS_LBA + 1));
    const file = copyOfPattern('errors.img');
    const s = await startSession({ image, extraArgs: ['-drive', `file=blkdebug:${conf}:${file},format=raw,if=none,id=hdb`, '-device', 'ide-hd,drive=hdb,bus=ide.0,unit=1'] });
    try {
      await s.waitFor(/^\[tsk\] ready$/);
      // ERR in Status, ABRT (0x04) in Error: QEMU's answer to a failed host read or write
      const ioError = (sector: number) => `[blk] hdb: I/O error at sector ${sector} (status 0x41, error 0x04)`;
      const eio = (what: string) => `[blk] hdb: ${what}: -EIO: I/O error: the device failed the request`;
      expect(await cmd(s, 'blk hdb read 98 4')).toEqual([ioError(100), eio('read of 4 at sector 98')]);
      expect(await cmd(s, 'blk hdb check 96 8')).toEqual([ioError(100), eio('check of 8 at sector 96')]);
      expect(await cmd(s, 'blk hdb write 200 x')).toEqual([ioError(200), eio('write of 1 at sector 200')]);
      const after = await cmd(s, 'blk hdb read 101');
      expect(dumpBytes(after.slice(1)).equals(patternSectors(101, 1))).toBe(true);
      const [line] = await cmd(s, 'blk hdb');
      expect(line).toMatch(/; 2 requests, 3 errors, \d+ port accesses$/); // and the boot-disk scan's read of sectors 0-16
      // through the system call: the second sector of a two-sector write fails, and that sector is named
      const from = s.lines.length;
      s.send('run sectors\r');
      await s.waitFor(/^\[proc\] pid 1 exited with code 0$/, { from });
      const out = s.lines.slice(from);
      const w = out.indexOf(ioError(SECTORS_LBA + 1));
      expect(w, out.join('\n')).toBeGreaterThan(0);
      expect(out[w + 1]).toBe(`[sectors] blkwrite(disk, ${SECTORS_LBA}, 2, text) = -5`);
      expect(out).toContain(`[sectors] sectors ${SECTORS_LBA}-${SECTORS_LBA + 1} read back: different bytes`);
      s.send('poweroff\r');
      expectStatus(await s.exited, 33);
    } finally {
      await s.close();
    }
  });

  it('a disk past 128 GiB: sectors beyond 2^28 go through the 48-bit EXT commands', async () => {
    const file = path.join(dir, 'big.img');
    const sectors = 2 ** 28 + 2048;
    const at = 2 ** 28 - 16; // a window of pattern sectors across the 28-bit limit
    const fd = openSync(file, 'w');
    try {
      ftruncateSync(fd, sectors * 512); // sparse: reads as zeros where nothing is written
      writeSync(fd, patternSectors(at, 64), 0, 64 * 512, at * 512);
    } finally {
      closeSync(fd);
    }
    const s = await startSession({ image, extraArgs: ideDisk(file, 'hdb') });
    try {
      await s.waitFor(/^\[tsk\] ready$/);
      expect(s.lines).toContain(`[ide] hdb: ${sectors} sectors (${sectors >> 11} MiB), model "QEMU HARDDISK", serial "QM00002", 48-bit LBA`);
      const read = await cmd(s, `blk hdb read ${2 ** 28} 2`);
      expect(dumpBytes(read.slice(1)).equals(patternSectors(2 ** 28, 2))).toBe(true);
      const below = await cmd(s, `blk hdb read ${2 ** 28 - 1}`);
      expect(dumpBytes(below.slice(1)).equals(patternSectors(2 ** 28 - 1, 1))).toBe(true);
      for (const [lba, count] of [[at, 64], [2 ** 28 - 3, 6], [2 ** 28 - 8, 8]] as const) {
        expect(await cmd(s, `blk hdb check ${lba} ${count}`)).toEqual([`[blk] hdb: fnv1a32 of ${count} sectors from ${lba} = ${hex8(fnv1a32(patternSectors(lba, count)))}`]);
      }
      expect(await cmd(s, `blk hdb write ${2 ** 28 + 5} beyond 128 GiB`)).toEqual([`[blk] hdb: wrote sector ${2 ** 28 + 5}: ${'beyond 128 GiB'.length} bytes of text, NUL-padded to 512`]);
      expect(await cmd(s, 'blk hdb flush')).toEqual(['[blk] hdb: flushed']);
      s.send('poweroff\r');
      expectStatus(await s.exited, 33);
    } finally {
      await s.close();
    }
    const want = patternSectors(at, 64);
    want.fill(0, (16 + 5) * 512, (16 + 6) * 512);
    want.write('beyond 128 GiB', (16 + 5) * 512, 'latin1');
    const got = Buffer.alloc(64 * 512);
    const rfd = openSync(file, 'r');
    try {
      readSync(rfd, got, 0, got.length, at * 512);
    } finally {
      closeSync(rfd);
    }
    expect(got.equals(want)).toBe(true);
    rmSync(file);
  });
});

describe('sector system calls from ring 3', () => {
  it('the sectors program reads, writes and flushes the last disk without a boot sector, and bad arguments get the documented errno', async () => {
    const file = copyOfPattern('sectors.img');
    const s = await startSession({ image, extraArgs: ideDisk(file, 'hdb'), cmdline: 'strace=1' });
    let r;
    try {
      await s.waitFor(/^\[tsk\] ready$/);
      s.send('run sectors\r');
      await s.waitFor(/^\[proc\] pid 1 exited with code \d+$/);
      s.send('poweroff\r');
      r = await s.exited;
    } finally {
      await s.close();
    }
    const ENODEV = -19, EINVAL = -22, EFAULT = -14, ENXIO = -6;
    const expected: [string, string][] = [
      ['blkread(disk, 0, 1, buf)', '1: tsk lba 00000000'],
      ['blkread(disk, 6, 2, buf)', '2: tsk lba 00000006, tsk lba 00000007'],
      [`blkwrite(disk, ${SECTORS_LBA}, 2, text)`, '2'],
      ['blkflush(disk)', '0'],
      [`blkread(disk, ${SECTORS_LBA}, 2, buf)`, `2: ${SECTORS_TEXT[0].slice(0, 16)}, ${SECTORS_TEXT[1].slice(0, 16)}`],
      ['blkread(99, 0, 1, buf)', `${ENODEV}`],
      ['blkread(-1, 0, 1, buf)', `${ENODEV}`],
      ['blkflush(99)', `${ENODEV}`],
      ['blkread(disk, 0, 0, buf)', `${EINVAL}`],
      ['blkread(disk, 0, 9, buf)', `${EINVAL}`],
      ['blkread(disk, 0, 0x80000000, buf)', `${EINVAL}`],
      ['blkread(disk, 0, 1, 0x10000)', `${EFAULT}`],
      ['blkread(disk, 0, 1, 0x500000)', `${EFAULT}`],
      ['blkread(disk, 0, 2, 0x7FFE00)', `${EFAULT}`],
      ['blkwrite(disk, 0, 1, 0xB8000)', `${EFAULT}`],
      ['blkread(disk, 0xFFFFFFFF, 1, buf)', `${ENXIO}`],
      ['blkread(disk, 0xFFFFFFFF, 8, buf)', `${ENXIO}`],
      ['blkwrite(disk, 0xFFFFFFFF, 1, text)', `${ENXIO}`],
    ];
    expectLinesInOrder(r, [/^\[sectors\] 2 disks$/, /^\[sectors\] disk = 1$/]);
    expectLinesInOrder(r, expected.map(([call, result]) => new RegExp(`^\\[sectors\\] ${esc(call)} = ${esc(result)}$`)));
    expectLinesInOrder(r, [
      new RegExp(`^\\[sectors\\] blkread\\(disk, ${SECTORS_LBA}, 2, buf\\)`),
      new RegExp(`^\\[sectors\\] sectors ${SECTORS_LBA}-${SECTORS_LBA + 1} read back: the same 1024 bytes$`),
      /^\[sectors\] done, exit\(0\)$/,
      /^\[proc\] pid 1 exited with code 0$/,
    ]);
    // strace knows the new calls by name, with their four arguments
    expect(r.lines).toContain('[strace] pid 1 <- blkflush = 0');
    expect(r.lines.some((l) => /^\[strace\] pid 1 CS=0x1B -> blkwrite\(0x1, 0x2, 0x2, 0x4[0-9A-Fa-f]+\)$/.test(l)), report(r)).toBe(true);
    expect(r.lines).toContain('[strace] pid 1 <- blkread = -19');
    expectStatus(r, 33);
    // on the host: sectors 2-3 hold the two texts, NUL-padded; nothing else changed
    const want = patternSectors(0, RAW_SECTORS);
    sectorsData().copy(want, SECTORS_LBA * 512);
    expect(readFileSync(file).equals(want)).toBe(true);
  });

  it('the boot disk is never written: blk write gets -EPERM, and sectors picks the virtio disk numbered before it', async () => {
    // Regression: with a virtio disk (vda, disk 0) next to the IDE boot disk
    // (hda, disk 1), "the last disk" was the boot image, and sectors wrote
    // over stage 2 in it.
    const before = createHash('sha256').update(readFileSync(image)).digest('hex');
    const vd = path.join(dir, 'boot-guard-vd.img');
    writePatternImage(vd, 2048);
    const s = await startSession({ image, extraArgs: ['-drive', `if=none,id=v0,file=${vd},format=raw`, '-device', 'virtio-blk-pci,drive=v0,addr=0x5'] });
    let r;
    try {
      await s.waitFor(/^\[tsk\] ready$/);
      expect(s.lines.filter((l) => / is the boot disk: /.test(l))).toEqual([
        expect.stringMatching(/^\[blk\] hda is the boot disk: sector 0 is a boot sector and sector \d+ holds the first 512 bytes of this kernel; writes to it are refused$/),
      ]);
      expect(await cmd(s, 'blk hda write 5 overwrite')).toEqual(['[blk] hda: write of 1 at sector 5: -EPERM: the kernel booted from this disk: it is not written while it runs']);
      expect((await cmd(s, 'blk')).filter((l) => l.includes('boot disk'))).toEqual([expect.stringMatching(/^\[blk\] hda: ide, .*, boot disk \(writes refused\)/)]);
      s.send('run sectors\r');
      await s.waitFor(/^\[proc\] pid 1 exited with code \d+$/);
      s.send('poweroff\r');
      r = await s.exited;
    } finally {
      await s.close();
    }
    expectLinesInOrder(r, [/^\[sectors\] 2 disks$/, /^\[sectors\] disk = 0$/, /^\[sectors\] blkwrite\(disk, 2, 2, text\) = 2$/, /^\[proc\] pid 1 exited with code 0$/]);
    expectStatus(r, 33);
    const want = patternSectors(0, 2048);
    sectorsData().copy(want, SECTORS_LBA * 512);
    expect(readFileSync(vd).equals(want), report(r)).toBe(true);
    expect(createHash('sha256').update(readFileSync(image)).digest('hex')).toBe(before);
  });

  it('seven at once on a small, slow virtio queue (5 request slots): -EAGAIN is asked again while counting, and each finds vda', async () => {
    const file = copyOfPattern('sectors-busy.img');
    const s = await startSession({ image, extraArgs: ['-drive', `if=none,id=vd0,file=${file},format=raw,snapshot=on,throttling.iops-total=40`, '-device', 'virtio-blk-pci,drive=vd0,addr=0x5,queue-size=16'] });
    let r;
    try {
      await s.waitFor(/^\[tsk\] ready$/);
      s.send(`run ${Array(7).fill('sectors').join(' ')}\r`);
      for (let pid = 1; pid <= 7; pid++) await s.waitFor(new RegExp(`^\\[proc\\] pid ${pid} exited with code \\d+$`), { timeoutMs: 60_000 });
      s.send('poweroff\r');
      r = await s.exited;
    } finally {
      await s.close();
    }
    expect(r.lines.filter((l) => l === '[sectors] disk = 0').length, report(r, 80)).toBe(7);
    expect(r.lines.filter((l) => /^\[proc\] pid \d+ exited with code 0$/.test(l)).length, report(r, 80)).toBe(7);
    // Later calls may meet full slots too: they say so with the documented -EAGAIN, never anything else new.
    expect(r.lines.filter((l) => /^\[sectors\] blk\w+\(disk, \d+, \d, \w+\) = -(?!11$)/.test(l) && !/0xFFFFFFFF|, [09], |0x80000000/.test(l))).toEqual([]);
    expectStatus(r, 33);
  });

  it('with only the boot disk the program writes nothing and exits 1; on q35 there is no legacy IDE and no disk at all', async () => {
    const s = await startSession({ image });
    let r;
    try {
      await s.waitFor(/^\[tsk\] ready$/);
      expect(s.lines.filter((l) => l.startsWith('[ide] ')).map((l) => l.slice(0, 11))).toEqual(['[ide] hda: ']);
      s.send('run sectors\r');
      await s.waitFor(/^\[proc\] pid 1 exited with code \d+$/);
      s.send('poweroff\r');
      r = await s.exited;
    } finally {
      await s.close();
    }
    expectLinesInOrder(r, [
      /^\[sectors\] 1 disks$/,
      /^\[sectors\] no disk without a boot sector, and this program never writes one: exit\(1\)$/,
      /^\[proc\] pid 1 exited with code 1$/,
    ]);
    expectStatus(r, 33);

    const q = await startSession({ image, machine: 'q35' });
    try {
      await q.waitFor(/^\[tsk\] ready$/);
      expect(q.lines.filter((l) => l.startsWith('[ide] '))).toEqual([]); // the boot disk is behind AHCI: the legacy ports float
      expect(await cmd(q, 'blk')).toEqual(['[blk] no disks']);
      expect(await cmd(q, 'blk read 0')).toEqual(["[blk] no disks: nothing to 'read'"]);
      q.send('run sectors\r');
      await q.waitFor(/^\[sectors\] 0 disks$/);
      await q.waitFor(/^\[proc\] pid 1 exited with code 1$/);
      q.send('poweroff\r');
      expectStatus(await q.exited, 33);
    } finally {
      await q.close();
    }
  });
});
