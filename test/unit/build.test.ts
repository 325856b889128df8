// The build: every component's emitted NASM source assembles, with real NASM,
// to exactly the bytes the in-process encoder produced; and two builds are
// byte-identical.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildResult, buildImage } from '../../toolchain/image.ts';
import { USER_PROGRAMS } from '../../kernel/user/index.ts';

let dirA = '';
let dirB = '';
let a: BuildResult;
beforeAll(async () => {
  dirA = await mkdtemp(path.join(tmpdir(), 'tsk-build-a-'));
  dirB = await mkdtemp(path.join(tmpdir(), 'tsk-build-b-'));
  a = await buildImage({ outDir: dirA });
  await buildImage({ outDir: dirB });
});
afterAll(async () => {
  await rm(dirA, { recursive: true, force: true });
  await rm(dirB, { recursive: true, force: true });
});

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else out.push(path.relative(base, p));
  }
  return out.sort();
}

describe('build output', () => {
  for (const component of ['bootsector', 'stage2', 'kernel', ...USER_PROGRAMS.map((p) => p.name)]) {
    it(`cd build/asm && nasm -f bin <main file of ${component}> reproduces build/bin/${component}.bin`, async () => {
      const out = path.join(dirA, `${component}.nasm.bin`);
      const main = a.course.mains.get(component)!;
      expect(main, `${component} has a main file in build/asm`).toMatch(/\.asm$/);
      // No -i: every %include and incbin path is relative to build/asm itself.
      execFileSync('nasm', ['-f', 'bin', main, '-o', out], { cwd: path.join(dirA, 'asm'), stdio: 'pipe' });
      const nasm = await readFile(out);
      const ours = await readFile(path.join(dirA, 'bin', `${component}.bin`));
      expect(ours.length).toBeGreaterThan(0);
      expect(nasm.equals(ours)).toBe(true);
    });
  }

  it('two builds are byte-identical, file by file', async () => {
    const files = (await listFiles(dirA)).filter((f) => !f.endsWith('.nasm.bin'));
    expect(files).toContain('tsk.img');
    expect(files).toContain('.tsk-build');
    expect(await listFiles(dirB)).toEqual(files);
    for (const f of files) expect((await readFile(path.join(dirB, f))).equals(await readFile(path.join(dirA, f))), f).toBe(true);
  });

  it('the image holds each component at the LBA of the layout', async () => {
    const img = await readFile(a.imagePath);
    for (const row of a.plan.layout) {
      const bin = await readFile(path.join(dirA, 'bin', `${row.component}.bin`));
      expect(img.subarray(row.lba * 512, row.lba * 512 + bin.length).equals(bin), row.component).toBe(true);
      expect(row.sectors).toBe(Math.ceil(bin.length / 512));
    }
  });

  it('the image is zero-padded to whole MiB after the last component (q35 needs whole cylinders)', async () => {
    const img = await readFile(a.imagePath);
    expect(img.length % (1024 * 1024)).toBe(0);
    expect(img.length).toBeGreaterThanOrEqual(1008 * 512); // at least one 16-head x 63-sector cylinder
    const end = Math.max(...a.plan.layout.map((r) => (r.lba + r.sectors) * 512));
    expect(img.subarray(end).every((b) => b === 0)).toBe(true);
    expect(a.layoutText).toMatch(new RegExp(`: ${img.length / 512} sectors \\(${img.length} bytes; ${end / 512} used, zero-padded to whole MiB\\)$`, 'm'));
  });

  it('the kernel embeds each user program byte for byte, with its size in the program table', async () => {
    const kernel = await readFile(path.join(dirA, 'bin', 'kernel.bin'));
    const k = a.plan.components.find((c) => c.def.name === 'kernel')!;
    const table = k.symbols.get('program_table')!.value - k.def.origin;
    for (const [i, p] of USER_PROGRAMS.entries()) {
      const bin = await readFile(path.join(dirA, 'bin', `${p.name}.bin`));
      const start = k.symbols.get(`prog_image_${p.name}`)!.value - k.def.origin;
      expect(kernel.subarray(start, start + bin.length).equals(bin), p.name).toBe(true);
      expect(kernel.readUInt32LE(table + 16 * i + 4), `${p.name} PROG_START`).toBe(start + k.def.origin);
      expect(kernel.readUInt32LE(table + 16 * i + 8), `${p.name} PROG_SIZE`).toBe(bin.length);
      const u = a.plan.components.find((c) => c.def.name === p.name)!;
      expect(kernel.readUInt32LE(table + 16 * i + 12), `${p.name} PROG_MEMSZ`).toBe(u.bssEnd - u.def.origin);
      expect(u.symbols.get('_start')!.value, `${p.name} starts at USER_BASE`).toBe(0x400000);
    }
  });

  it('every generated file says it is generated and from what', async () => {
    for (const f of (await listFiles(path.join(dirA, 'asm')))) {
      const text = await readFile(path.join(dirA, 'asm', f), 'utf8');
      expect(text.slice(0, 400), f).toMatch(/GENERATED FILE - do not edit\. Generated by the tskernel toolchain from/);
    }
    expect(await readFile(path.join(dirA, 'tsk.map'), 'utf8')).toMatch(/^# tskernel symbol map - generated/);
  });
});

describe('user programs the build refuses', () => {
  it('a program larger than a process slot holds is an ImageError naming it', async () => {
    const { planImage, ImageError } = await import('../../toolchain/image.ts');
    const { kernelModules } = await import('../../kernel/index.ts');
    const { defineModule } = await import('../../toolchain/x86/asm.ts');
    const big = defineModule({ name: 'big', title: 'big', about: 'too big', emit: (a) => { a.label('_start'); a.bss('big_buf', 0xc000); } });
    const programs = USER_PROGRAMS.map((p) => (p.name === 'hello' ? { ...p, modules: [big, ...p.modules.slice(1)] } : p));
    expect(() => planImage(kernelModules, programs)).toThrow(ImageError);
    expect(() => planImage(kernelModules, programs)).toThrow(/user program 'hello' needs \d+ bytes \(image \+ bss\), more than the 45056/);
  });
});
