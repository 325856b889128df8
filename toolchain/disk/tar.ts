// A POSIX ustar archive writer: the format of the tar file system's disk
// (kernel/fs/tar.ts), written here so that `npm run build` can make the
// default disk without depending on the host's tar - and checked against
// GNU tar in test/unit/tar.test.ts.
//
// The format is POSIX.1-2008, XCU "pax", "ustar Interchange Format": an
// archive is a sequence of 512-byte header blocks, each followed by the
// entry's data padded to a whole block, and ends with two blocks of zeros.
// Numeric fields are octal ASCII digits ended by a NUL (or a space), the
// checksum is the sum of the header's bytes with its own field counted as
// eight spaces, and a path longer than the 100-byte name field is split at
// a '/' into prefix (155 bytes) and name.
import { SECTOR_SIZE } from './pattern.ts';

export const BLOCK = 512;
/** Field offsets and lengths in a ustar header block (POSIX.1-2008 pax, "ustar Interchange Format", Table: ustar Header Block). */
export const USTAR = {
  name: [0, 100], mode: [100, 8], uid: [108, 8], gid: [116, 8], size: [124, 12], mtime: [136, 12],
  chksum: [148, 8], typeflag: [156, 1], linkname: [157, 100], magic: [257, 6], version: [263, 2],
  uname: [265, 32], gname: [297, 32], devmajor: [329, 8], devminor: [337, 8], prefix: [345, 155],
} as const;
export const TMAGIC = 'ustar\0';
export const TVERSION = '00';
export const REGTYPE = '0';
export const SYMTYPE = '2';
export const DIRTYPE = '5';

export interface TarEntry {
  /** Path inside the archive, '/'-separated, no leading '/' (a directory's trailing '/' is added). */
  readonly name: string;
  /** Permission bits (e.g. 0o644); default 0o644 for files, 0o755 for directories, 0o777 for symlinks. */
  readonly mode?: number;
  /** File contents (a regular file); absent for a directory or a symlink. */
  readonly data?: Buffer | string;
  /** 'file' (default when data is given), 'directory' or 'symlink'. */
  readonly type?: 'file' | 'directory' | 'symlink';
  /** A symlink's target. */
  readonly linkname?: string;
  /** Modification time, seconds since the epoch (default: 0, so builds are reproducible). */
  readonly mtime?: number;
}

function octal(value: number, field: readonly [number, number], what: string): string {
  const digits = field[1] - 1;
  const s = value.toString(8);
  if (!Number.isSafeInteger(value) || value < 0 || s.length > digits) {
    throw new RangeError(`tar: ${what} ${value} does not fit the ${digits}-digit octal field`);
  }
  return s.padStart(digits, '0');
}

/** Splits a path into ustar's prefix and name (name <= 100 bytes, prefix <= 155, split at a '/'). */
export function splitPath(path: string): { prefix: string; name: string } {
  const bytes = Buffer.byteLength(path);
  if (bytes <= 100) return { prefix: '', name: path };
  // The last '/' that leaves a name of at most 100 bytes and a prefix of at most 155.
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== '/') continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(name) > 100) break;
    if (name.length > 0 && Buffer.byteLength(prefix) <= 155) return { prefix, name };
  }
  throw new RangeError(`tar: path '${path}' (${bytes} bytes) does not fit ustar's name (100) and prefix (155) fields`);
}

/** The checksum of a header block: its bytes summed, the chksum field counted as eight spaces. */
export function headerChecksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= USTAR.chksum[0] && i < USTAR.chksum[0] + USTAR.chksum[1] ? 0x20 : block[i]!;
  return sum;
}

/** One 512-byte header block. */
export function tarHeader(e: TarEntry, size: number): Buffer {
  const type = e.type ?? 'file';
  const h = Buffer.alloc(BLOCK);
  const put = (f: readonly [number, number], s: string, what: string) => {
    const b = Buffer.from(s, 'utf8');
    if (b.length > f[1]) throw new RangeError(`tar: ${what} '${s}' is longer than its ${f[1]}-byte field`);
    b.copy(h, f[0]);
  };
  if (e.name === '' || e.name.startsWith('/')) throw new RangeError(`tar: entry name '${e.name}' must be a relative path`);
  const path = type === 'directory' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
  const { prefix, name } = splitPath(path);
  put(USTAR.name, name, 'name');
  put(USTAR.prefix, prefix, 'prefix');
  const mode = e.mode ?? (type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644);
  put(USTAR.mode, `${octal(mode, USTAR.mode, `mode of '${e.name}'`)}\0`, 'mode');
  put(USTAR.uid, `${octal(0, USTAR.uid, 'uid')}\0`, 'uid');
  put(USTAR.gid, `${octal(0, USTAR.gid, 'gid')}\0`, 'gid');
  put(USTAR.size, `${octal(size, USTAR.size, `size of '${e.name}'`)}\0`, 'size');
  put(USTAR.mtime, `${octal(e.mtime ?? 0, USTAR.mtime, 'mtime')}\0`, 'mtime');
  put(USTAR.typeflag, type === 'directory' ? DIRTYPE : type === 'symlink' ? SYMTYPE : REGTYPE, 'typeflag');
  if (type === 'symlink') put(USTAR.linkname, e.linkname ?? '', 'linkname');
  put(USTAR.magic, TMAGIC, 'magic');
  put(USTAR.version, TVERSION, 'version');
  put(USTAR.uname, 'root', 'uname');
  put(USTAR.gname, 'root', 'gname');
  put(USTAR.devmajor, `${octal(0, USTAR.devmajor, 'devmajor')}\0`, 'devmajor');
  put(USTAR.devminor, `${octal(0, USTAR.devminor, 'devminor')}\0`, 'devminor');
  // Six octal digits, a NUL and a space: the form POSIX's own tar and GNU tar write.
  put(USTAR.chksum, `${headerChecksum(h).toString(8).padStart(6, '0')}\0 `, 'chksum');
  return h;
}

/** A whole archive: each entry's header and data (padded to a block), then two zero blocks. */
export function tarArchive(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    const key = e.name.replace(/\/+$/, '');
    if (seen.has(key)) throw new Error(`tar: '${e.name}' is in the archive twice`);
    seen.add(key);
    const type = e.type ?? 'file';
    if (type !== 'file' && e.data !== undefined) throw new Error(`tar: ${type} '${e.name}' cannot have data`);
    const data = type === 'file' ? (typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : (e.data ?? Buffer.alloc(0))) : Buffer.alloc(0);
    parts.push(tarHeader(e, data.length), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** The archive zero-padded to a whole number of MiB: a raw disk image for virtio-blk. */
export function diskImage(archive: Buffer, mib = Math.max(1, Math.ceil(archive.length / (1 << 20)))): Buffer {
  if (archive.length > mib << 20) throw new RangeError(`tar: the archive (${archive.length} bytes) does not fit ${mib} MiB`);
  const out = Buffer.alloc(mib << 20);
  archive.copy(out);
  if (out.length % SECTOR_SIZE !== 0) throw new Error('unreachable: MiB are whole sectors');
  return out;
}

/** What `npm run build` puts on the default disk (build/disk.tar, build/disk.img). */
export function defaultDiskEntries(): TarEntry[] {
  return [
    {
      name: 'README.txt',
      data: 'This disk is a POSIX ustar archive: the tar file system of tskernel.\n'
        + 'In the shell, "ls" lists it, "cat README.txt" prints this file and\n'
        + '"stat docs/tar.txt" shows a file\'s size and mode.\n'
        + 'On the host, "tar -tvf build/disk.tar" lists the same files.\n',
    },
    { name: 'hello.txt', data: 'hello from the disk\n' },
    { name: 'docs', type: 'directory' },
    {
      name: 'docs/tar.txt',
      data: 'Every file on this disk starts with a 512-byte header block: its name,\n'
        + 'mode, size and a checksum, in octal ASCII.  The data follows in whole\n'
        + 'blocks, and two blocks of zeros end the archive.\n',
    },
  ];
}
