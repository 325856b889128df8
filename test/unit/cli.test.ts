// The tsk command line, run as a person runs it (node toolchain/bin/tsk.js ...)
// in temporary folders: the build folder it writes, the options it refuses,
// `tsk test` itself, and the set-up scripts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TSK = path.resolve('toolchain/bin/tsk.js');

/** Run tsk; a hang is ended by the spawn timeout (status null), which fails the status assertion. */
function tsk(args: readonly string[], opts: { cwd?: string; timeoutMs?: number } = {}) {
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'FORCE_COLOR')), NO_COLOR: '1' };
  const r = spawnSync(process.execPath, [TSK, ...args], {
    cwd: opts.cwd ?? process.cwd(), encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL', env,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

let tmp = '';
beforeAll(async () => { tmp = await mkdtemp(path.join(tmpdir(), 'tsk-cli-')); });
afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else out.push(path.relative(base, p));
  }
  return out.sort();
}

describe('tsk build -o DIR removes only what it wrote', () => {
  it('refuses a non-empty folder it did not write, and leaves its bin/, asm/ and lst/ alone', async () => {
    const home = path.join(tmp, 'home');
    for (const d of ['bin', 'asm', 'lst']) {
      await mkdir(path.join(home, d), { recursive: true });
      await writeFile(path.join(home, d, 'mine.sh'), `someone else's ${d}\n`);
    }
    const before = await listFiles(home);
    const r = tsk(['build', '-o', home]);
    expect(r.stderr).toMatch(/refusing to build into '.*home': it is not empty and has no \.tsk-build manifest/);
    expect(r.status).toBe(1);
    expect(await listFiles(home)).toEqual(before);
    for (const d of ['bin', 'asm', 'lst']) expect(await readFile(path.join(home, d, 'mine.sh'), 'utf8')).toBe(`someone else's ${d}\n`);
  });

  it('the same for `tsk run -o` (refused before QEMU starts)', async () => {
    const dir = path.join(tmp, 'run-foreign');
    await mkdir(path.join(dir, 'bin'), { recursive: true });
    await writeFile(path.join(dir, 'bin', 'tool'), 'x');
    const r = tsk(['run', '-o', dir, '-c', 'test=boot']); // should it boot after all, it powers off at once
    expect(r.stderr).toMatch(/refusing to build into/);
    expect(r.status).toBe(1);
    expect(await listFiles(dir)).toEqual(['bin/tool']);
  });

  it('a second build into its own folder works, removes the stale files it wrote before, keeps other files', async () => {
    const out = path.join(tmp, 'out');
    const first = tsk(['build', '-o', out]);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const manifest = await readFile(path.join(out, '.tsk-build'), 'utf8');
    expect(manifest).toMatch(/^tsk\.img$/m);
    expect(manifest).toMatch(/^asm\/kernel\.asm$/m);
    // A module file an earlier build wrote (e.g. before a rename), listed in the manifest, and a file of the user's.
    await mkdir(path.join(out, 'asm', 'gone'), { recursive: true });
    await writeFile(path.join(out, 'asm', 'gone', 'old_module.asm'), '; stale\n');
    await writeFile(path.join(out, '.tsk-build'), `${manifest}asm/gone/old_module.asm\n`);
    await writeFile(path.join(out, 'asm', 'notes.txt'), 'mine\n');
    const second = tsk(['build', '-o', out]);
    expect(second.status).toBe(0);
    expect(existsSync(path.join(out, 'asm', 'gone'))).toBe(false);
    expect(await readFile(path.join(out, 'asm', 'notes.txt'), 'utf8')).toBe('mine\n');
    expect(await readFile(path.join(out, '.tsk-build'), 'utf8')).toBe(manifest);
    expect(existsSync(path.join(out, 'tsk.img'))).toBe(true);
  });

  it('accepts a build folder of the old layout (no manifest), and refuses it with anything else inside', async () => {
    const old = path.join(tmp, 'old');
    await mkdir(path.join(old, 'asm', 'kernel'), { recursive: true });
    await mkdir(path.join(old, 'bin'));
    await writeFile(path.join(old, 'asm', 'kernel', 'renamed.asm'), '; old\n');
    await writeFile(path.join(old, 'bin', 'renamed.bin'), 'x');
    await writeFile(path.join(old, 'tsk.img'), 'x');
    const r = tsk(['build', '-o', old]);
    expect(r.status).toBe(0);
    expect(existsSync(path.join(old, 'asm', 'kernel', 'renamed.asm'))).toBe(false);
    expect(existsSync(path.join(old, 'bin', 'renamed.bin'))).toBe(false);
    expect(existsSync(path.join(old, '.tsk-build'))).toBe(true);

    const mixed = path.join(tmp, 'mixed');
    await mkdir(path.join(mixed, 'bin'), { recursive: true });
    await writeFile(path.join(mixed, 'bin', 'kernel.bin'), 'x');
    await writeFile(path.join(mixed, 'bin', 'my-script'), 'x');
    const m = tsk(['build', '-o', mixed]);
    expect(m.stderr).toMatch(/refusing to build into/);
    expect(m.status).toBe(1);
    expect(await listFiles(mixed)).toEqual(['bin/kernel.bin', 'bin/my-script']);
  });
});

describe('tsk build -o: bad targets are clear errors, never a hang or a stack trace', () => {
  it('a file', async () => {
    const file = path.join(tmp, 'a-file');
    await writeFile(file, 'keep\n');
    const r = tsk(['build', '-o', file], { timeoutMs: 30_000 });
    expect(r.stderr).toMatch(/^tsk: '.*a-file' is a file, not a directory/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.status).toBe(1);
    expect(await readFile(file, 'utf8')).toBe('keep\n');
  });

  it('an empty string (would be the current folder), for build, run and debug', () => {
    for (const verb of ['build', 'run', 'debug']) {
      const r = tsk([verb, '-o', ''], { cwd: tmp, timeoutMs: 30_000 });
      expect(r.stderr, verb).toMatch(/the build directory may not be empty/);
      expect(r.status, verb).toBe(1);
    }
    expect(existsSync(path.join(tmp, 'tsk.img'))).toBe(false);
  });

  it('/proc/x (mkdir fails with ENOENT under an existing parent)', () => {
    const r = tsk(['build', '-o', '/proc/x'], { timeoutMs: 30_000 });
    expect(r.signal).toBeNull(); // not killed by the spawn timeout
    expect(r.stderr).toMatch(/^tsk: cannot create the build directory '\/proc\/x'/);
    expect(r.status).toBe(1);
  });

  it('--no-build without an image, and an unknown --machine', () => {
    const r = tsk(['run', '--no-build', '-o', path.join(tmp, 'nothing-here')], { timeoutMs: 30_000 });
    expect(r.stderr).toMatch(/--no-build: there is no image at '.*nothing-here\/tsk\.img'/);
    expect(r.status).toBe(1);
    const m = tsk(['run', '--machine', 'isapc'], { timeoutMs: 30_000 });
    expect(m.stderr).toMatch(/'isapc' is not a machine tskernel boots on \(choose pc or q35\)/);
    expect(m.status).toBe(1);
  });
});

describe('tsk test', () => {
  it('runs vitest on the files it is given, with vitest\'s exit status', () => {
    const ok = tsk(['test', 'test/unit/descriptor.test.ts'], { timeoutMs: 120_000 });
    expect(ok.stderr).not.toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
    expect(ok.stdout).toMatch(/descriptor\.test\.ts/);
    expect(ok.stdout).toMatch(/Tests\s+\d+ passed/);
    expect(ok.status).toBe(0);
    const none = tsk(['test', 'test/unit/no-such-file-here'], { timeoutMs: 120_000 });
    expect(none.stdout + none.stderr).toMatch(/No test files found/);
    expect(none.status).toBe(1);
  });
});

describe('set-up scripts', () => {
  it('npm run setup and .ci/run install QEMU without its recommended GUI packages', async () => {
    for (const f of ['toolchain/setup.sh', '.ci/run']) {
      const installs = (await readFile(f, 'utf8')).split('\n').filter((l) => /^\s*(\$SUDO )?apt-get install/.test(l));
      expect(installs.length, f).toBeGreaterThan(0);
      for (const l of installs) expect(l, f).toMatch(/apt-get install -y --no-install-recommends /);
    }
  });
});
