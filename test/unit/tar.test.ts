// The ustar writer (toolchain/disk/tar.ts) checked against GNU tar on the
// host: tar lists what was written with the right types, modes and sizes,
// extracts exactly the bytes, and prints no warning; and the header fields
// are where POSIX puts them.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../toolchain/image.ts';
import { BLOCK, USTAR, defaultDiskEntries, diskImage, headerChecksum, splitPath, tarArchive, tarHeader } from '../../toolchain/disk/tar.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tsk-tar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs GNU tar, failing on a non-zero status or anything on stderr (a warning). */
function tar(args: string[]): Buffer {
  const r = spawnSync('tar', args, { maxBuffer: 1 << 26 });
  expect(r.stderr.toString(), `tar ${args.join(' ')}`).toBe('');
  expect(r.status, `tar ${args.join(' ')}`).toBe(0);
  return r.stdout;
}

const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
const longDir = `${'a'.repeat(60)}/${'b'.repeat(60)}`;
const longPath = `${longDir}/${'c'.repeat(90)}.txt`;

describe('ustar writer', () => {
  it('writes an archive GNU tar lists and extracts without a warning', () => {
    const entries = [
      { name: 'empty', data: '' },
      { name: 'f511', data: bytes(511), mode: 0o600 },
      { name: 'f512', data: bytes(512) },
      { name: 'f513', data: bytes(513), mode: 0o755 },
      { name: 'big', data: bytes(100_000) },
      { name: 'd', type: 'directory' as const },
      { name: 'd/e', type: 'directory' as const, mode: 0o700 },
      { name: 'd/e/deep.txt', data: 'deep\n' },
      { name: longDir, type: 'directory' as const },
      { name: longPath, data: 'long\n' },
      { name: 'link', type: 'symlink' as const, linkname: 'd/e/deep.txt' },
    ];
    const archive = tarArchive(entries);
    expect(archive.length % BLOCK).toBe(0);
    expect(archive.subarray(-2 * BLOCK).every((b) => b === 0)).toBe(true);
    const file = path.join(dir, 'a.tar');
    writeFileSync(file, archive);
    const listing = tar(['--numeric-owner', '-tvf', file]).toString().trim().split('\n');
    const got = listing.map((l) => {
      const m = /^(\S+) 0\/0 +(\d+) \S+ \S+ (.*)$/.exec(l);
      if (!m) throw new Error(`unexpected tar -tv line: ${l}`);
      return [m[1], +m[2]!, m[3]];
    });
    expect(got).toEqual([
      ['-rw-r--r--', 0, 'empty'], ['-rw-------', 511, 'f511'], ['-rw-r--r--', 512, 'f512'], ['-rwxr-xr-x', 513, 'f513'],
      ['-rw-r--r--', 100_000, 'big'], ['drwxr-xr-x', 0, 'd/'], ['drwx------', 0, 'd/e/'], ['-rw-r--r--', 5, 'd/e/deep.txt'],
      ['drwxr-xr-x', 0, `${longDir}/`], ['-rw-r--r--', 5, longPath], ['lrwxrwxrwx', 0, 'link -> d/e/deep.txt'],
    ]);
    for (const e of entries.filter((x) => x.data !== undefined)) {
      const want = typeof e.data === 'string' ? Buffer.from(e.data) : e.data!;
      expect(tar(['-xOf', file, e.name]).equals(want), e.name).toBe(true);
    }
    // Strict format checks: GNU tar reads it back as POSIX ustar
    tar(['--format=ustar', '-tf', file]);
  });

  it('puts every field where POSIX says: magic, version, octal digits, checksum, prefix/name split', () => {
    const h = tarHeader({ name: longPath, data: 'x' }, 1);
    const field = (f: readonly [number, number]) => h.subarray(f[0], f[0] + f[1]).toString('latin1');
    expect(field(USTAR.magic)).toBe('ustar\0');
    expect(field(USTAR.version)).toBe('00');
    expect(field(USTAR.size)).toBe('00000000001\0');
    expect(field(USTAR.mode)).toBe('0000644\0');
    expect(field(USTAR.typeflag)).toBe('0');
    expect(field(USTAR.prefix).replace(/\0+$/, '')).toBe(longDir);
    expect(field(USTAR.name).replace(/\0+$/, '')).toBe(`${'c'.repeat(90)}.txt`);
    expect(field(USTAR.chksum)).toBe(`${headerChecksum(h).toString(8).padStart(6, '0')}\0 `);
    // the checksum is the plain byte sum with the field as spaces
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    expect(parseInt(field(USTAR.chksum), 8)).toBe(sum);
  });

  it('refuses what ustar cannot hold, naming it', () => {
    expect(() => splitPath('x'.repeat(101))).toThrow(/does not fit ustar's name \(100\) and prefix \(155\)/);
    expect(() => splitPath(`${'p'.repeat(156)}/name`)).toThrow(/does not fit/);
    expect(splitPath(`${'p'.repeat(155)}/name`)).toEqual({ prefix: 'p'.repeat(155), name: 'name' });
    expect(() => tarArchive([{ name: 'a', data: '' }, { name: 'a', data: 'x' }])).toThrow(/'a' is in the archive twice/);
    expect(() => tarArchive([{ name: '/abs', data: '' }])).toThrow(/must be a relative path/);
    expect(() => tarHeader({ name: 'm', mode: 0o10000000 }, 0)).toThrow(/mode of 'm'/);
    expect(() => tarHeader({ name: 's', data: '' }, 8 ** 11)).toThrow(/size of 's' 8589934592 does not fit the 11-digit octal field/);
  });

  it('makes the default disk: an archive tar reads, padded to a whole MiB', () => {
    const archive = tarArchive(defaultDiskEntries());
    const img = diskImage(archive);
    expect(img.length).toBe(1 << 20);
    expect(img.subarray(0, archive.length).equals(archive)).toBe(true);
    const file = path.join(dir, 'disk.img');
    writeFileSync(file, img);
    expect(tar(['-tf', file]).toString().trim().split('\n')).toEqual(['README.txt', 'hello.txt', 'docs/', 'docs/tar.txt']);
    expect(execFileSync('tar', ['-xOf', file, 'hello.txt']).toString()).toBe('hello from the disk\n');
  });

  it('npm run build writes build/disk.tar and build/disk.img (the same archive, padded to 1 MiB)', async () => {
    const out = path.join(dir, 'build');
    await buildImage({ outDir: out });
    const tarFile = readFileSync(path.join(out, 'disk.tar'));
    const img = readFileSync(path.join(out, 'disk.img'));
    expect(tarFile.equals(tarArchive(defaultDiskEntries()))).toBe(true);
    expect(img.length).toBe(1 << 20);
    expect(img.subarray(0, tarFile.length).equals(tarFile)).toBe(true);
    expect(img.subarray(tarFile.length).every((b) => b === 0)).toBe(true);
    expect(tar(['-tf', path.join(out, 'disk.img')]).toString()).toBe('README.txt\nhello.txt\ndocs/\ndocs/tar.txt\n');
  }, 60_000);
});
