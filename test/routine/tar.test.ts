// The ustar header routines (kernel/fs/tar.ts, module ustar) without a boot,
// under qemu-i386: tar_octal on the fields as tar writes them and on
// malformed ones, and tar_hdr_check on headers made by the toolchain's
// writer (toolchain/disk/tar.ts) and by GNU tar, then damaged one byte at a
// time.  Each case also checks the routine's contract: only EAX, ECX and
// EDX may change.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ustar } from '../../kernel/fs/tar.ts';
import { tarHeader } from '../../toolchain/disk/tar.ts';
import { type RoutineCase, data, runRoutines } from '../harness/routine.ts';

const BAD = 0xffffffff;

describe('ustar header routines', () => {
  it('tar_octal reads octal ASCII fields and refuses what is not one', async () => {
    const fields: [string, string, number, number][] = [
      // [what, field bytes, value, EDX]
      ['size as tar writes it', '00000000764\0', 0o764, 0],
      ['mode', '0000644\0', 0o644, 0],
      ['leading spaces, space-terminated', '   644 \0', 0o644, 0],
      ['all 11 digits of a size (4 GiB - 1)', '37777777777\0', 0xffffffff, 0],
      ['no terminator within the field', '1234', 0o1234, 0],
      ['stops at the field\'s length', '12345678', 0o123, 0], // length 3 below
      ['past 32 bits', '40000000000\0', 0, BAD],
      ['an 8 is not octal', '0000008\0', 0, BAD],
      ['a letter', '00x0644\0', 0, BAD],
      ['empty (all NUL)', '\0\0\0\0\0\0\0\0', 0, BAD],
      ['only spaces', '        ', 0, BAD],
      ['GNU base-256 (high bit set)', '\x80\0\0\0\0\0\0\0\0\0\x10\0', 0, BAD],
    ];
    const cases: RoutineCase[] = fields.map(([name, f]) => ({
      name, routine: 'tar_octal',
      args: { eax: data(Buffer.from(f, 'latin1')), edx: name === 'stops at the field\'s length' ? 3 : f.length },
    }));
    const rs = await runRoutines({ modules: [ustar], cases });
    fields.forEach(([name, , value, edx], i) => {
      const r = rs[i]!;
      expect(r.regs.edx, name).toBe(edx);
      if (edx === 0) expect(r.regs.eax, name).toBe(value);
      expect(r.changed.filter((x) => !['eax', 'ecx', 'edx'].includes(x)), name).toEqual([]);
    });
  });

  it('tar_hdr_check: valid headers from both writers; damage to magic or any checksummed byte is refused', async () => {
    const ours = tarHeader({ name: 'docs/tar.txt', data: 'x' }, 187);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsk-tarhdr-'));
    let gnuUstar: Buffer, gnuOld: Buffer;
    try {
      writeFileSync(path.join(dir, 'f'), 'hello\n');
      execFileSync('tar', ['--format=ustar', '-cf', path.join(dir, 'u.tar'), '-C', dir, 'f']);
      execFileSync('tar', ['--format=gnu', '-cf', path.join(dir, 'g.tar'), '-C', dir, 'f']);
      gnuUstar = readFileSync(path.join(dir, 'u.tar')).subarray(0, 512);
      gnuOld = readFileSync(path.join(dir, 'g.tar')).subarray(0, 512);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const flip = (b: Buffer, at: number, x = 1) => { const c = Buffer.from(b); c[at]! ^= x; return c; };
    const blocks: [string, Buffer, number][] = [
      ['the toolchain\'s header', ours, 0],
      ['GNU tar --format=ustar', gnuUstar, 0],
      ['GNU tar\'s older format ("ustar  ")', gnuOld, 0],
      ['a zero block', Buffer.alloc(512), 1],
      ['magic "ustaR"', flip(ours, 261, 0x20), 1],
      ['magic "ustar" then X', (() => { const c = Buffer.from(ours); c[262] = 0x58; return c; })(), 1],
      ['a name byte changed', flip(ours, 0), 2],
      ['the size changed', flip(ours, 134), 2],
      ['the last byte of the block changed', flip(ours, 511), 2],
      ['a checksum digit changed', flip(ours, 150), 2],
      ['the checksum field unreadable', (() => { const c = Buffer.from(ours); c.write('zzzzzz', 148, 'latin1'); return c; })(), 2],
    ];
    const rs = await runRoutines({
      modules: [ustar],
      cases: blocks.map(([name, b]) => ({ name, routine: 'tar_hdr_check', args: { eax: data(b) } })),
    });
    blocks.forEach(([name, , want], i) => {
      expect(rs[i]!.regs.eax, name).toBe(want);
      expect(rs[i]!.changed.filter((x) => !['eax', 'ecx', 'edx'].includes(x)), name).toEqual([]);
    });
  });
});
