// The build folder, attacked: a symbolic link planted inside it, a forged
// manifest, folders where files belong, leftovers of an interrupted build.
// A build may fail, but only with a clear message, and it never writes,
// removes or overwrites anything outside the folder it was given.
// (test/unit/cli.test.ts covers the ordinary cases through the CLI; these
// call buildImage in-process, which is what the CLI calls.)
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_MANIFEST, ImageError, buildImage, checkBootImage } from '../../toolchain/image.ts';

let tmp = '';
beforeAll(async () => { tmp = await mkdtemp(path.join(tmpdir(), 'tsk-build-dir-')); });
afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

const manifest = (...lines: string[]) => `# forged\n${lines.join('\n')}\n`;

describe('a build never reaches outside its folder', () => {
  it('refuses a symbolic link inside the build folder, before writing anything, and the folder it points at is untouched', async () => {
    const victim = path.join(tmp, 'victim');
    const out = path.join(tmp, 'linked');
    await mkdir(victim, { recursive: true });
    await mkdir(out);
    await writeFile(path.join(victim, 'kernel.bin'), 'precious');
    await writeFile(path.join(victim, 'gone.txt'), 'precious too');
    await symlink(victim, path.join(out, 'bin'));
    await writeFile(path.join(out, BUILD_MANIFEST), manifest('bin/gone.txt'));
    await expect(buildImage({ outDir: out })).rejects.toThrow(/'bin' in it is a symbolic link/);
    expect((await readdir(victim)).sort()).toEqual(['gone.txt', 'kernel.bin']);
    expect(await readFile(path.join(victim, 'kernel.bin'), 'utf8')).toBe('precious');
    expect((await readdir(out)).sort()).toEqual([BUILD_MANIFEST, 'bin']);
  });

  it('a forged manifest naming folders of the user\'s does not make the build remove them, even when empty', async () => {
    const out = path.join(tmp, 'forged');
    await mkdir(path.join(out, 'empty1', 'empty2'), { recursive: true });
    await writeFile(path.join(out, BUILD_MANIFEST), manifest('empty1/empty2/x', '../outside', '/etc/passwd'));
    await buildImage({ outDir: out });
    expect((await stat(path.join(out, 'empty1', 'empty2'))).isDirectory()).toBe(true);
  });
});

describe('a fresh checkout\'s build folder holding only test-artifacts/ (README: Use in CI)', () => {
  it('is built into, and the downloaded evidence is left as it was', async () => {
    const out = path.join(tmp, 'ci-rerun');
    const evidence = path.join(out, 'test-artifacts', 'boot--panics');
    await mkdir(evidence, { recursive: true });
    await writeFile(path.join(evidence, 'command.txt'), 'qemu-system-i386 ...\n');
    await buildImage({ outDir: out });
    expect((await stat(path.join(out, 'tsk.img'))).isFile()).toBe(true);
    expect(await readFile(path.join(evidence, 'command.txt'), 'utf8')).toBe('qemu-system-i386 ...\n');
    await buildImage({ outDir: out }); // and again, now with the manifest
    expect(await readdir(evidence)).toEqual(['command.txt']);
  });

  it('a test-artifacts that is a file, or anything next to it, is still refused', async () => {
    const file = path.join(tmp, 'ci-file');
    await mkdir(file);
    await writeFile(path.join(file, 'test-artifacts'), 'x');
    await expect(buildImage({ outDir: file })).rejects.toThrow(/refusing to build into/);
    const more = path.join(tmp, 'ci-more');
    await mkdir(path.join(more, 'test-artifacts'), { recursive: true });
    await writeFile(path.join(more, 'notes.txt'), 'mine');
    await expect(buildImage({ outDir: more })).rejects.toThrow(/refusing to build into/);
  });
});

describe('what is in the way is a clear error, not a stack trace', () => {
  it('a manifest that is a folder', async () => {
    const out = path.join(tmp, 'manifest-dir');
    await mkdir(path.join(out, BUILD_MANIFEST), { recursive: true });
    const e = await buildImage({ outDir: out }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ImageError);
    expect((e as Error).message).toMatch(/cannot read the build manifest .*\.tsk-build/);
  });

  it('a folder where the image goes', async () => {
    const out = path.join(tmp, 'img-dir');
    await buildImage({ outDir: out });
    await rm(path.join(out, 'tsk.img'));
    await mkdir(path.join(out, 'tsk.img'));
    const e = await buildImage({ outDir: out }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ImageError);
    expect((e as Error).message).toMatch(/cannot write 'tsk.img' .*a folder of that name is in the way/);
  });
});

describe('leftovers of an interrupted build', () => {
  it('temporary files of a build that is no longer running are removed by the next build; nothing else is', async () => {
    const out = path.join(tmp, 'leftovers');
    await buildImage({ outDir: out });
    const dead = 2 ** 22 + 12345; // above Linux's pid_max default: no such process
    const kernelDir = path.join(out, 'bin');
    await writeFile(path.join(kernelDir, `kernel.bin.tmp-${dead}`), 'half a kernel');
    await writeFile(path.join(out, `${BUILD_MANIFEST}.tmp-${dead}`), 'half a manifest');
    await writeFile(path.join(kernelDir, `mine.tmp-${dead}`), 'not a name the build writes');
    await buildImage({ outDir: out });
    const left = (await readdir(kernelDir)).filter((n) => n.includes('.tmp-'));
    expect(left).toEqual([`mine.tmp-${dead}`]);
    expect((await readdir(out)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe('tsk run --no-build checks the image before booting it', () => {
  it('refuses a file that is not a bootable disk image, naming why', async () => {
    const f = path.join(tmp, 'garbage.img');
    await writeFile(f, 'garbage\n');
    await expect(checkBootImage(f)).rejects.toThrow(/8 bytes, less than one 512-byte sector/);
    await writeFile(f, Buffer.alloc(1024));
    await expect(checkBootImage(f)).rejects.toThrow(/no boot signature \(bytes 510-511 are 0x00 0x00/);
    await expect(checkBootImage(path.join(tmp, 'none.img'))).rejects.toThrow(/there is no image/);
    await expect(checkBootImage(tmp)).rejects.toThrow(/is not a file/);
  });

  it('accepts the image tsk build wrote', async () => {
    const out = path.join(tmp, 'good');
    const r = await buildImage({ outDir: out });
    await expect(checkBootImage(r.imagePath)).resolves.toBeUndefined();
  });
});
