// The test-disk pattern and its checksum (toolchain/disk/pattern.ts): the
// properties the storage tests rely on, and FNV-1a against its published
// test vectors.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { convertToQcow2, fnv1a32, patternSector, patternSectors, writePatternImage } from '../../toolchain/disk/pattern.ts';

describe('disk pattern', () => {
  it('names its sector in readable text and differs between sectors and offsets', () => {
    expect(patternSector(0x1f).subarray(0, 16).toString('latin1')).toBe('tsk lba 0000001f');
    const seen = new Set<string>();
    const lbas = [...Array(600).keys(), 0x100, 0x10000, 0x1000000, 0xffffffff, 0x12345678];
    for (const lba of new Set(lbas)) seen.add(patternSector(lba).subarray(16).toString('hex'));
    expect(seen.size).toBe(new Set(lbas).size);
    const s = patternSector(5);
    expect(s.subarray(16, 272).equals(s.subarray(256, 512))).toBe(false);
    expect(patternSectors(7, 3).equals(Buffer.concat([patternSector(7), patternSector(8), patternSector(9)]))).toBe(true);
    expect(() => patternSector(-1)).toThrow(/lba -1/);
  });

  it('FNV-1a matches the published 32-bit test vectors', () => {
    expect(fnv1a32(Buffer.from(''))).toBe(0x811c9dc5);
    expect(fnv1a32(Buffer.from('a'))).toBe(0xe40c292c);
    expect(fnv1a32(Buffer.from('foobar'))).toBe(0xbf9cf968);
    expect(fnv1a32(Buffer.from('bar'), fnv1a32(Buffer.from('foo')))).toBe(0xbf9cf968);
  });

  it('writes raw images and qcow2 copies that hold the same bytes', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsk-pattern-'));
    try {
      const raw = path.join(dir, 'p.img');
      writePatternImage(raw, 4100);
      expect(statSync(raw).size).toBe(4100 * 512);
      expect(readFileSync(raw).equals(patternSectors(0, 4100))).toBe(true);
      const q = path.join(dir, 'p.qcow2');
      convertToQcow2(raw, q);
      expect(readFileSync(q).subarray(0, 4).toString('latin1')).toBe('QFI\xfb');
      const back = path.join(dir, 'back.img');
      execFileSync('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', q, back]);
      expect(readFileSync(back).equals(readFileSync(raw))).toBe(true);
      expect(() => convertToQcow2(path.join(dir, 'missing.img'), q)).toThrow(/missing\.img/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
