// Test disk images with a known, position-dependent pattern, so that a read
// that returns the wrong sector - or the right sector at the wrong offset -
// is detectable, and the checksum the guest prints can be recomputed here.
//
// Every 512-byte sector n holds:
//   bytes 0-15    "tsk lba " followed by n as 8 lowercase hex digits: a hex
//                 dump of any sector says which sector it is;
//   bytes 16-511  (i * 11 + (i >> 2) + 37 * byte (i & 3) of n) & 0xFF for
//                 byte i, n's bytes taken little-endian: every byte position
//                 cycles through n's four bytes, so no two sectors of a disk
//                 share a body, and the bytes of one sector vary, so a
//                 shifted or doubled buffer shows too.
//
// The checksum is 32-bit FNV-1a (Fowler/Noll/Vo: start at 0x811C9DC5, for
// each byte xor it in, then multiply by 16777619 modulo 2^32): one xor and
// one imul per byte, cheap in the guest and here.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';

export const SECTOR_SIZE = 512;
export const FNV_OFFSET = 0x811c9dc5;
export const FNV_PRIME = 16777619;

/** The pattern's 512 bytes for sector `lba`. */
export function patternSector(lba: number): Buffer {
  if (!Number.isSafeInteger(lba) || lba < 0 || lba > 0xffffffff) throw new RangeError(`patternSector: lba ${lba} is not a 32-bit sector number`);
  const b = Buffer.alloc(SECTOR_SIZE);
  b.write(`tsk lba ${lba.toString(16).padStart(8, '0')}`, 0, 'latin1');
  for (let i = 16; i < SECTOR_SIZE; i++) b[i] = (i * 11 + (i >> 2) + 37 * ((lba >>> (8 * (i & 3))) & 0xff)) & 0xff;
  return b;
}

/** `count` pattern sectors starting at `lba`, as one buffer. */
export function patternSectors(lba: number, count: number): Buffer {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`patternSectors: count ${count} is not a sector count`);
  const out = Buffer.alloc(count * SECTOR_SIZE);
  for (let k = 0; k < count; k++) patternSector(lba + k).copy(out, k * SECTOR_SIZE);
  return out;
}

/** 32-bit FNV-1a of `data`, continuing from `hash` (for a running checksum). */
export function fnv1a32(data: Uint8Array, hash = FNV_OFFSET): number {
  let h = hash >>> 0;
  for (const byte of data) h = Math.imul(h ^ byte, FNV_PRIME) >>> 0;
  return h;
}

/** Write a raw image of `sectors` pattern sectors to `file` (1 MiB at a time). */
export function writePatternImage(file: string, sectors: number): void {
  if (!Number.isSafeInteger(sectors) || sectors <= 0) throw new RangeError(`writePatternImage: ${sectors} is not a positive sector count`);
  const fd = openSync(file, 'w');
  try {
    const chunk = 2048;
    for (let lba = 0; lba < sectors; lba += chunk) writeSync(fd, patternSectors(lba, Math.min(chunk, sectors - lba)));
  } finally {
    closeSync(fd);
  }
}

/**
 * Convert a raw image to qcow2 with qemu-img (Debian's qemu-utils).  The
 * guest must read the same bytes through either back end.
 */
export function convertToQcow2(raw: string, qcow2: string): void {
  try {
    execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, qcow2], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') throw new Error('qemu-img not found: install qemu-utils (npm run setup does)');
    throw new Error(`qemu-img convert ${raw} -> ${qcow2} failed: ${err.stderr?.toString().trim() ?? err.message}`);
  }
}
