// The harness gives each QEMU a QMP socket in a temporary folder (test/harness/boot.ts).
// A UNIX socket path has a small fixed limit, so a long TMPDIR (some CI runners and
// build sandboxes set one) must not stop boots from starting, nor lose the registers.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boot, expectStatus, startSession } from '../harness/boot.ts';

const saved = process.env.TMPDIR;
const root = mkdtempSync(path.join(tmpdir(), 'tsk-long-'));
const long = path.join(root, 'd'.repeat(100));

beforeAll(() => { mkdirSync(long); process.env.TMPDIR = long; });
afterAll(() => {
  if (saved === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = saved;
  rmSync(root, { recursive: true, force: true });
});

describe('under a TMPDIR too long for a UNIX socket path', () => {
  it('a boot still starts and powers off', async () => {
    expect(tmpdir()).toBe(long);
    const r = await boot({ cmdline: 'test=boot' });
    expectStatus(r, 33);
  });

  it('the registers of a running guest are still read for the artifacts', async () => {
    const s = await startSession({});
    await s.waitFor(/^tsk> /, { partial: true });
    const out = path.join(root, 'artifacts');
    await s.writeArtifacts(out, 'long tmpdir');
    expect(readdirSync(out)).toContain('registers.txt');
    expect(readFileSync(path.join(out, 'registers.txt'), 'utf8')).toMatch(/^EIP=[0-9a-f]{8} /m);
  });
});
