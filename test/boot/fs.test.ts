// The tar file system (kernel/fs/tar.ts, kernel/fs/commands.ts) in QEMU:
// archives made here - by GNU tar and by the toolchain's writer
// (toolchain/disk/tar.ts) - are attached as virtio-blk disks, and what the
// shell's ls, cat and stat print must equal the host's view of the same
// archive (tar -tv: types, sizes, modes; the files' bytes).  Damaged disks
// are refused with a reason on the serial console, and the kernel lives on.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Session, ensureImage, expectStatus, report, startSession } from '../harness/boot.ts';
import { diskImage, tarArchive, tarHeader } from '../../toolchain/disk/tar.ts';

let image = '';
let dir = '';
beforeAll(async () => {
  image = await ensureImage();
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsk-fs-'));
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const MIB = 1 << 20;

/** Printable text of exactly n bytes in lines (no CR, so the serial lines give back the bytes). */
function text(n: number, seed: string): Buffer {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `${seed} line ${i} ${'abcdefghijklmnopqrstuvwxyz'.slice(0, (i * 7) % 27)}\n`;
  return Buffer.from(s.slice(0, n), 'latin1');
}

/** A raw disk image file holding `bytes`, zero-padded to `mib` MiB. */
function diskFile(name: string, bytes: Buffer, mib = 1): string {
  const p = path.join(dir, name);
  writeFileSync(p, diskImage(bytes, mib));
  return p;
}

function vblk(id: string, file: string): string[] {
  return ['-drive', `if=none,id=${id},file=${file},format=raw,snapshot=on`, '-device', `virtio-blk-pci,drive=${id}`];
}

/** Type a command and an echo marker after it; the lines between the command's own echo and the marker's. */
async function cmd(s: Session, line: string): Promise<string[]> {
  const from = s.lines.length;
  const marker = `done-${Math.random().toString(36).slice(2, 8)}`;
  s.send(`${line}\recho ${marker}\r`);
  const end = (await s.waitFor(new RegExp(`^\\[echo\\] ${marker}$`), { from, timeoutMs: 60_000 })).index;
  const lines = s.lines.slice(from, end);
  const start = lines.findIndex((l) => l.endsWith(`tsk> ${line}`));
  expect(start, `the echo of '${line}' in\n${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
  const stop = lines.findIndex((l, i) => i > start && l.endsWith(`tsk> echo ${marker}`));
  return lines.slice(start + 1, stop < 0 ? undefined : stop);
}

/** What cat prints for a file: its bytes, and a line end when they do not end in one. */
function catLines(data: Buffer): string[] {
  if (data.length === 0) return [];
  const t = data.toString('latin1');
  return (t.endsWith('\n') ? t.slice(0, -1) : t).split('\n');
}

interface HostEntry { type: string; size: number; mode: string }

/** tar -tv's view: path (without a trailing /) -> type word, size, permission bits in octal. */
function hostView(file: string): Map<string, HostEntry> {
  const out = new Map<string, HostEntry>();
  for (const l of execFileSync('tar', ['--numeric-owner', '-tvf', file]).toString().trim().split('\n')) {
    const m = /^(\S)(\S{9}) \S+ +(\d+) \S+ \S+ (.*?)(?: -> .*)?$/.exec(l);
    if (!m) throw new Error(`unexpected tar -tv line: ${l}`);
    const bits = m[2]!.split('').map((c) => (c === '-' ? 0 : 1));
    let mode = 0;
    for (const b of bits) mode = mode * 2 + b;
    const type = { '-': 'file', d: 'dir', l: 'symlink', h: 'hardlink', c: 'chardev', b: 'blockdev', p: 'fifo' }[m[1]!] ?? 'other';
    out.set(m[4]!.replace(/\/$/, ''), { type, size: +m[3]!, mode: mode.toString(8).padStart(4, '0') });
  }
  return out;
}

/** Every entry the guest's ls shows, walking down from the root. */
async function guestView(s: Session): Promise<Map<string, HostEntry>> {
  const out = new Map<string, HostEntry>();
  const walk = async (p: string) => {
    for (const l of await cmd(s, p ? `ls ${p}` : 'ls')) {
      const m = /^\[ls\] (\S+) (\S+) (\d+) ([0-7]{4})$/.exec(l);
      if (!m) throw new Error(`unexpected ls line for '${p}': ${l}`);
      expect(out.has(m[1]!), `${m[1]} listed twice`).toBe(false);
      out.set(m[1]!, { type: m[2]!, size: +m[3]!, mode: m[4]! });
      if (m[2] === 'dir') await walk(m[1]!);
    }
  };
  await walk('');
  return out;
}

const sizes = [0, 511, 512, 513, 100_000];
// 116 bytes: longer than the name field (100), so tar puts the directories in prefix;
// short enough to type at the prompt (LINE_MAX, kernel/shell/readline.ts)
const longDir = `${'p'.repeat(50)}/${'q'.repeat(20)}`;
const longFile = `${longDir}/${'r'.repeat(40)}.txt`;

describe('tar file system (read side)', () => {
  it('an archive made by GNU tar: ls, cat and stat agree with tar -tv and tar -xO', async () => {
    const src = path.join(dir, 'src');
    mkdirSync(path.join(src, 'a/b/c'), { recursive: true });
    mkdirSync(path.join(src, longDir), { recursive: true });
    const files = new Map<string, Buffer>();
    for (const n of sizes) files.set(`f${n}`, text(n, `f${n}`));
    files.set('a/top.txt', text(40, 'top'));
    files.set('a/b/c/deep.txt', text(700, 'deep'));
    files.set(longFile, text(33, 'long'));
    for (const [p, d] of files) writeFileSync(path.join(src, p), d);
    chmodSync(path.join(src, 'f511'), 0o600);
    chmodSync(path.join(src, 'f513'), 0o755);
    chmodSync(path.join(src, 'a/b'), 0o700);
    symlinkSync('f512', path.join(src, 'link'));
    const tarFile = path.join(dir, 'gnu.tar');
    execFileSync('tar', ['--format=ustar', '--owner=0', '--group=0', '-cf', tarFile, '-C', src, ...sizes.map((n) => `f${n}`), 'a', 'p'.repeat(50), 'link']);
    const host = hostView(tarFile);
    expect(host.get(longFile)?.size).toBe(33);
    // tar split the long path into prefix and name
    const raw = readFileSync(tarFile);
    const at = raw.indexOf(Buffer.from(`${'r'.repeat(40)}.txt\0`));
    expect(at % 512, 'the name field starts the header').toBe(0);
    expect(raw.subarray(at + 345, at + 345 + longDir.length).toString()).toBe(longDir);
    expect(host.get('link')?.type).toBe('symlink');
    const img = diskFile('gnu.img', readFileSync(tarFile));

    const s = await startSession({ image, extraArgs: vblk('d0', img), timeoutMs: 120_000 });
    try {
      await s.waitFor(/^\[tsk\] ready$/);
      expect(s.lines.filter((l) => l.startsWith('[fs] ')), s.lines.join('\n')).toEqual([`[fs] vda: ustar archive, ${host.size} entries`]);
      expect(await guestView(s)).toEqual(host);
      for (const [p, d] of files) expect(await cmd(s, `cat ${p}`), `cat ${p}`).toEqual(catLines(d));
      for (const [p, d] of files) expect(execFileSync('tar', ['-xOf', tarFile, p]).equals(d)).toBe(true);
      expect(await cmd(s, 'stat f513')).toEqual([expect.stringMatching(/^\[stat\] f513: file, 513 bytes, mode 0755, header at sector \d+$/)]);
      expect(await cmd(s, `stat /${longDir}/`)).toEqual([expect.stringMatching(new RegExp(`^\\[stat\\] ${longDir}: dir, 0 bytes, mode 0755, header at sector \\d+$`))]);
      expect(await cmd(s, 'ls f0')).toEqual(['[ls] f0 file 0 0644']);
      // a symlink is listed, not followed or opened
      expect(await cmd(s, 'cat link')).toEqual(["[cat] 'link' is a symlink, not a regular file: not opened"]);
      expect(await cmd(s, 'cat a/b')).toEqual(["[cat] 'a/b' is a directory (ls lists it)"]);
      expect(await cmd(s, 'cat a/nope')).toEqual(["[cat] no such file or directory: 'a/nope'"]);
      expect(await cmd(s, 'ls a/b/c/deep.txt/x')).toEqual(["[ls] no such file or directory: 'a/b/c/deep.txt/x'"]);
      expect(await cmd(s, 'stat')).toEqual(['[stat] no file named (usage: stat <file>)']);
      s.send('poweroff\r');
      const r = await s.exited;
      expectStatus(r, 33);
      expect(r.lines.some((l) => /\[panic\]|\[exception\]/.test(l)), report(r)).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('the toolchain\'s archive on the second virtio-blk disk (the first holds none): implied directories list too', async () => {
    const entries = [
      { name: 'README.txt', data: text(300, 'readme') },
      { name: 'docs', type: 'directory' as const, mode: 0o750 },
      { name: 'docs/a.txt', data: text(1024, 'a'), mode: 0o640 },
      { name: 'implied/only/file.bin', data: text(5, 'i') }, // no entries for its directories
      { name: longFile, data: text(12, 'w') },
    ];
    const tarBytes = tarArchive(entries);
    writeFileSync(path.join(dir, 'w.tar'), tarBytes);
    const host = hostView(path.join(dir, 'w.tar'));
    const s = await startSession({
      image, timeoutMs: 120_000,
      extraArgs: [...vblk('z', diskFile('zero.img', Buffer.alloc(0))), ...vblk('w', diskFile('w.img', tarBytes, 2))],
    });
    try {
      await s.waitFor(/^\[tsk\] ready$/);
      expect(s.lines.filter((l) => l.startsWith('[fs] '))).toEqual(['[fs] vdb: ustar archive, 5 entries']);
      expect(await cmd(s, 'ls')).toEqual(['[ls] README.txt file 300 0644', '[ls] docs dir 0 0750']);
      expect(await cmd(s, 'ls docs')).toEqual(['[ls] docs/a.txt file 1024 0640']);
      expect(await cmd(s, 'ls implied/only/')).toEqual(['[ls] implied/only/file.bin file 5 0644']);
      expect(await cmd(s, `ls ${longDir}`)).toEqual([`[ls] ${longFile} file 12 0644`]);
      for (const e of entries) if (e.data) expect(await cmd(s, `cat ${e.name}`)).toEqual(catLines(e.data));
      expect(host.get('docs/a.txt')).toEqual({ type: 'file', size: 1024, mode: '0640' });
      s.send('poweroff\r');
      expectStatus(await s.exited, 33);
    } finally {
      await s.close();
    }
  });

  it('no file system: an all-zero disk, random bytes, sector 0 with a bad checksum, and an IDE disk holding an archive', async () => {
    const good = tarArchive([{ name: 'x.txt', data: 'x\n' }]);
    const badSum = Buffer.from(good);
    badSum[0] = 'y'.charCodeAt(0); // the name changes, the stored checksum does not
    let seed = 12345;
    const random = Buffer.alloc(MIB);
    for (let i = 0; i < random.length; i++) { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; random[i] = seed >>> 24; }
    const ide = diskFile('ide.img', good);
    const s = await startSession({
      image, timeoutMs: 120_000,
      extraArgs: [
        ...vblk('z', diskFile('zero2.img', Buffer.alloc(0))),
        ...vblk('r', diskFile('random.img', random)),
        ...vblk('b', diskFile('badsum.img', badSum)),
        '-drive', `file=${ide},format=raw,if=none,id=hdb,snapshot=on`, '-device', 'ide-hd,drive=hdb,bus=ide.0,unit=1',
      ],
    });
    try {
      await s.waitFor(/^\[tsk\] ready$/);
      expect(s.lines.filter((l) => l.startsWith('[fs] ')), s.lines.join('\n')).toEqual([
        '[fs] vdc: sector 0 has the ustar magic but a bad header checksum: not mounted',
        '[fs] no file system (no virtio-blk disk holds a ustar archive)',
      ]);
      expect(s.lines.some((l) => l.startsWith('[ide] hdb: 2048 sectors'))).toBe(true);
      const none = 'no file system (no virtio-blk disk holds a ustar archive)';
      expect(await cmd(s, 'ls')).toEqual([`[ls] ${none}`]);
      expect(await cmd(s, 'cat x.txt')).toEqual([`[cat] ${none}`]);
      expect(await cmd(s, 'stat x.txt')).toEqual([`[stat] ${none}`]);
      expect(await cmd(s, 'echo alive')).toEqual(['[echo] alive']);
      s.send('poweroff\r');
      expectStatus(await s.exited, 33);
    } finally {
      await s.close();
    }
  });

  it('damage inside the archive: a bad checksum and a size past the disk\'s end stop the walk, reported with the sector', async () => {
    const first = [{ name: 'one.txt', data: text(600, 'one') }, { name: 'two.txt', data: text(10, 'two') }];
    // one.txt: header 0, data 1-2; two.txt: header 3, data 4; the third header at sector 5
    const corrupt = tarArchive([...first, { name: 'three.txt', data: 'three\n' }]);
    corrupt[5 * 512 + 1] ^= 0x20; // "tHree.txt": the stored checksum no longer matches
    const huge = Buffer.concat([tarArchive(first).subarray(0, 5 * 512), tarHeader({ name: 'huge.bin' }, 2 * MIB), Buffer.alloc(1024)]);
    const s1 = await startSession({ image, timeoutMs: 120_000, extraArgs: vblk('c', diskFile('corrupt.img', corrupt)) });
    try {
      await s1.waitFor(/^\[tsk\] ready$/);
      expect(s1.lines.filter((l) => l.startsWith('[fs] '))).toEqual([
        '[fs] vda: bad header checksum at sector 5: the archive ends there',
        '[fs] vda: ustar archive, 2 entries',
      ]);
      expect(await cmd(s1, 'ls')).toEqual(['[ls] one.txt file 600 0644', '[ls] two.txt file 10 0644']);
      expect(await cmd(s1, 'cat two.txt')).toEqual(catLines(first[1]!.data));
      expect(await cmd(s1, 'cat tHree.txt')).toEqual(["[cat] no such file or directory: 'tHree.txt'"]);
      s1.send('poweroff\r');
      expectStatus(await s1.exited, 33);
    } finally {
      await s1.close();
    }
    const s2 = await startSession({ image, timeoutMs: 120_000, extraArgs: vblk('h', diskFile('huge.img', huge)) });
    try {
      await s2.waitFor(/^\[tsk\] ready$/);
      expect(s2.lines.filter((l) => l.startsWith('[fs] '))).toEqual([
        "[fs] vda: the header at sector 5 claims 2097152 bytes, past the disk's end (2048 sectors (1 MiB)): the archive ends there",
        '[fs] vda: ustar archive, 2 entries',
      ]);
      expect(await cmd(s2, 'stat huge.bin')).toEqual(["[stat] no such file or directory: 'huge.bin'"]);
      expect(await cmd(s2, 'cat one.txt')).toEqual(catLines(first[0]!.data));
      s2.send('poweroff\r');
      expectStatus(await s2.exited, 33);
    } finally {
      await s2.close();
    }
  });

  it('bounded: more entries than the table holds, and an archive that runs to the disk\'s end without an end marker', async () => {
    const many = tarArchive(Array.from({ length: 70 }, (_, i) => ({ name: `n${String(i).padStart(2, '0')}`, data: `${i}\n` })));
    const s1 = await startSession({ image, timeoutMs: 120_000, extraArgs: vblk('m', diskFile('many.img', many)) });
    try {
      await s1.waitFor(/^\[tsk\] ready$/);
      expect(s1.lines.filter((l) => l.startsWith('[fs] '))).toEqual([
        '[fs] more than TAR_MAX_ENTS (64) entries: the rest are not listed',
        '[fs] vda: ustar archive, 64 entries',
      ]);
      expect(await cmd(s1, 'cat n63')).toEqual(['63']);
      expect(await cmd(s1, 'stat n64')).toEqual(["[stat] no such file or directory: 'n64'"]);
      s1.send('poweroff\r');
      expectStatus(await s1.exited, 33);
    } finally {
      await s1.close();
    }
    // two files and no zero blocks: the disk (its raw file) ends right after the second file's data
    const open = tarArchive([{ name: 'a', data: 'a\n' }, { name: 'b', data: text(700, 'b') }]).subarray(0, -1024);
    const file = path.join(dir, 'open.img');
    writeFileSync(file, open);
    const s2 = await startSession({ image, timeoutMs: 120_000, extraArgs: vblk('o', file) });
    try {
      await s2.waitFor(/^\[tsk\] ready$/);
      expect(s2.lines.filter((l) => l.startsWith('[fs] '))).toEqual([
        "[fs] vda: no end-of-archive marker before the disk's end at sector 5",
        '[fs] vda: ustar archive, 2 entries',
      ]);
      expect(await cmd(s2, 'cat b')).toEqual(catLines(text(700, 'b')));
      s2.send('poweroff\r');
      expectStatus(await s2.exited, 33);
    } finally {
      await s2.close();
    }
  });

  it('GNU tar --format=gnu and --format=posix: long names from the extension headers, which take no place in the table', async () => {
    const src = path.join(dir, 'ext');
    const longName = `d/${'n'.repeat(110)}`; // 110 > the name field: no prefix/name split, GNU 'L' or a pax path record
    const hundred = 'h'.repeat(100); // exactly the name field: GNU tar writes an 'L' header for it too
    mkdirSync(path.join(src, 'd'), { recursive: true });
    const files = new Map<string, Buffer>([[longName, text(77, 'long')], [hundred, text(600, 'hundred')]]);
    // 40 files: with a pax header before each, 80 headers (more than TAR_MAX_ENTS, 64)
    for (let i = 0; i < 40; i++) files.set(`d/s${String(i).padStart(2, '0')}`, text(i * 13, `s${i}`));
    for (const [p, d] of files) writeFileSync(path.join(src, p), d);
    for (const format of ['gnu', 'posix']) {
      const tarFile = path.join(dir, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '--owner=0', '--group=0', '--pax-option=delete=atime,delete=ctime', '-cf', tarFile, '-C', src, 'd', hundred]
        .filter((x) => format === 'posix' || !x.startsWith('--pax')));
      const raw = readFileSync(tarFile);
      const types = new Set<string>();
      for (let at = 0; at + 512 <= raw.length && raw[at] !== 0; at += 512 * (1 + Math.ceil(parseInt(raw.subarray(at + 124, at + 136).toString('latin1'), 8) / 512))) types.add(String.fromCharCode(raw[at + 156]!));
      expect(types.has(format === 'gnu' ? 'L' : 'x'), `${format}: extension headers in the archive`).toBe(true);
      const host = hostView(tarFile);
      expect(host.size).toBe(43);
      const s = await startSession({ image, extraArgs: vblk('e', diskFile(`${format}.img`, raw)), timeoutMs: 120_000 });
      try {
        await s.waitFor(/^\[tsk\] ready$/);
        expect(s.lines.filter((l) => l.startsWith('[fs] ')), format).toEqual([`[fs] vda: ustar archive, ${host.size} entries`]);
        expect(await guestView(s), format).toEqual(host);
        for (const p of [longName, hundred, 'd/s39']) expect(await cmd(s, `cat ${p}`), `${format}: cat ${p}`).toEqual(catLines(files.get(p)!));
        s.send('poweroff\r');
        expectStatus(await s.exited, 33);
      } finally {
        await s.close();
      }
    }
  });
});
