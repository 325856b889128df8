// The image builder: assembles every component, checks that each fits where
// the boot path loads it, and writes the disk image and its companions:
//
//   build/tsk.img                 raw disk image: boot sector, stage 2, kernel
//   build/asm/README.md           the course index: chapters in reading order (toolchain/course.ts)
//   build/asm/<n>-<part>.asm      annotated NASM source, numbered in reading order (+ <n>-<part>/*.asm;
//                                 user programs in <n>-user/, shared modules written once)
//   build/bin/<component>.bin     the encoded bytes of each component
//   build/lst/<component>.lst     listing: address, bytes, source, TypeScript line
//   build/tsk.map                 symbol map: address, symbol, kind, source file
//   build/disk.tar                the default data disk: a POSIX ustar archive (toolchain/disk/tar.ts)
//   build/disk.img                the same archive zero-padded to a whole MiB, a raw virtio-blk disk
//   build/.tsk-build              manifest: every file this build wrote (see writeBuildDir)
//
// Components are assembled kernel first, because stage 2 needs the kernel's
// entry address and the boot sector needs the sector counts of both.
// Nothing is written unless every component assembled and fits.

import { lstat, mkdir, open, stat, readFile, readdir, rename, rmdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Assembled, type ComponentDef, assemble } from './x86/assemble.ts';
import { hex, listing } from './x86/nasm.ts';
import { defaultDiskEntries, diskImage, tarArchive } from './disk/tar.ts';
import { type CoursePlan, emitCourse, planCourse } from './course.ts';
import type { Module } from './x86/asm.ts';
import { bootSignature, bootsector } from '../boot/bootsector.ts';
import { serial16 } from '../boot/serial16.ts';
import { stage2 } from '../boot/stage2.ts';
import { e820 } from '../boot/e820.ts';
import { ivt } from '../boot/ivt.ts';
import { a20 } from '../boot/a20.ts';
import { gdtModule } from '../boot/gdt.ts';
import { pmode } from '../boot/pmode.ts';
import { USER_PROGRAMS, type UserProgram } from '../kernel/user/index.ts';
import { memszExtern } from '../kernel/proc/programs.ts';
import { USER_IMAGE_MAX } from '../kernel/proc/vm.ts';
import { USER_BASE } from '../kernel/proc/abi.ts';
import {
  BOOT_ORIGIN, BOOT_SECTOR_CODE_MAX, KERNEL_ORIGIN, KERNEL_WINDOW_END, SECTOR_SIZE, STAGE2_ORIGIN, STAGE2_WINDOW_END,
} from '../boot/layout.ts';

/** The boot path may not use memory beyond this (the EBDA can start just below 0xA0000). */
export const LOW_MEMORY_END = 0x9f000;

export class ImageError extends Error {}

export interface LayoutRow {
  readonly component: string;
  readonly lba: number;
  readonly sectors: number;
  readonly load: number;
  readonly bytes: number;
  readonly bss: number;
  readonly windowEnd: number;
}

export interface ImagePlan {
  readonly components: readonly Assembled[];
  readonly layout: readonly LayoutRow[];
  readonly image: Uint8Array;
}

/** Where user programs are linked (USER_BASE in kernel/proc/vm.ts). */
const USER_BASE_ADDR = USER_BASE.c.value as number;

const sectorsFor = (n: number) => Math.ceil(n / SECTOR_SIZE);

/**
 * The image is padded with zeros to a multiple of 1 MiB (2048 sectors).
 * A BIOS that boots a disk from its size alone has to invent a CHS geometry
 * for it: SeaBIOS on QEMU's q35 machine (disk behind the ICH9 AHCI
 * controller) uses 16 heads x 63 sectors and rounds the cylinder count down,
 * so a 54-sector image has 0 cylinders (LCHS 0/16/63) and every int 13h read
 * fails ("Boot failed: could not read the boot disk").  The i440FX (pc) IDE
 * path takes its geometry elsewhere and never noticed.  Real disks are whole
 * cylinders; any size of at least one 16 x 63 cylinder (1,008 sectors) would
 * do, and 1 MiB is the modern alignment convention (2 cylinders, and all of
 * tskernel sits in the first).  The floppy boot test pads further, to 1.44 MB.
 */
export const IMAGE_ALIGN_BYTES = 1024 * 1024;

const STAGE2_MODULES: readonly Module[] = [stage2, ivt, a20, e820, gdtModule, pmode, serial16];

/** Assemble all components and lay out the image, in memory. Throws ImageError/AsmError on any problem. */
export function planImage(kernel: readonly Module[], programs: readonly UserProgram[] = USER_PROGRAMS): ImagePlan {
  // User programs first: the kernel includes their bytes (programs.asm).
  const users = programs.map((p) => {
    const u = assemble({
      name: p.name, title: `tskernel user program '${p.name}': ${p.doc}`,
      about: `Runs in ring 3.  Copied by proc_spawn into its own pages, mapped at USER_BASE (${hex(USER_BASE_ADDR)});\nentered by iretd at its first byte with EAX = the start argument and ESP = USER_STACK_TOP.`,
      bits: 32, origin: USER_BASE_ADDR, modules: p.modules,
    });
    const memsz = u.bssEnd - USER_BASE_ADDR;
    if (memsz > USER_IMAGE_MAX) {
      throw new ImageError(`user program '${p.name}' needs ${memsz} bytes (image + bss), more than the ${USER_IMAGE_MAX} (USER_IMAGE_MAX, kernel/proc/vm.ts) a process may map at USER_BASE`);
    }
    return { u, memsz };
  });
  const k = assemble({
    name: 'kernel', title: 'tskernel: the 32-bit protected-mode kernel',
    about: 'Loaded at 0x10000 by the boot sector; entered from stage 2 by a far jump to kernel_entry\nwith CS = 0x08 (flat ring-0 code), interrupts disabled.',
    bits: 32, origin: KERNEL_ORIGIN, modules: kernel,
    binaries: new Map(users.map(({ u }) => [u.def.name, u.bytes])),
    externs: users.map(({ u, memsz }) => ({ name: memszExtern(u.def.name), value: memsz, radix: 10, doc: `${u.def.name}: ${u.bytes.length} bytes of image + ${memsz - u.bytes.length} of bss` })),
  });
  const entry = k.symbols.get('kernel_entry');
  if (!entry || entry.value !== KERNEL_ORIGIN) {
    throw new ImageError(`the kernel must start with the label 'kernel_entry' at ${hex(KERNEL_ORIGIN)} (found ${entry ? hex(entry.value) : 'none'})`);
  }
  fits('kernel', k, KERNEL_WINDOW_END, LOW_MEMORY_END);

  const s2 = assemble({
    name: 'stage2', title: 'tskernel stage 2: real mode to protected mode',
    about: 'Loaded at 0x7E00 by the boot sector, entered in real mode with DL = boot drive.',
    bits: 16, origin: STAGE2_ORIGIN, modules: STAGE2_MODULES,
    externs: [{ name: 'KERNEL_ENTRY', value: entry.value, doc: 'kernel_entry in kernel.asm: the first instruction of the 32-bit kernel' }],
  });
  fits('stage2', s2, STAGE2_WINDOW_END, STAGE2_WINDOW_END);

  const stage2Sectors = sectorsFor(s2.bytes.length);
  const kernelSectors = sectorsFor(k.bytes.length);
  const kernelLba = 1 + stage2Sectors;
  const bootDef = (withSignature: boolean): ComponentDef => ({
    name: 'bootsector', title: 'tskernel boot sector',
    about: 'The first sector of the disk; the BIOS loads it to 0x7C00 and jumps to it in real mode.',
    bits: 16, origin: BOOT_ORIGIN,
    modules: withSignature ? [bootsector, serial16, bootSignature] : [bootsector, serial16],
    externs: [
      { name: 'STAGE2_SECTORS', value: stage2Sectors, radix: 10, doc: `stage 2 is ${s2.bytes.length} bytes = ${stage2Sectors} sectors, from LBA 1` },
      { name: 'KERNEL_LBA', value: kernelLba, radix: 10, doc: 'the kernel starts right after stage 2' },
      { name: 'KERNEL_SECTORS', value: kernelSectors, radix: 10, doc: `the kernel is ${k.bytes.length} bytes = ${kernelSectors} sectors` },
    ],
  });
  const code = assemble(bootDef(false));
  if (code.bytes.length > BOOT_SECTOR_CODE_MAX) {
    throw new ImageError(`the boot sector's code is ${code.bytes.length} bytes, but only ${BOOT_SECTOR_CODE_MAX} fit before the 0x55AA signature (over by ${code.bytes.length - BOOT_SECTOR_CODE_MAX})`);
  }
  const boot = assemble(bootDef(true));
  if (boot.bytes.length !== SECTOR_SIZE || boot.bytes[510] !== 0x55 || boot.bytes[511] !== 0xaa) {
    throw new ImageError(`internal: boot sector is ${boot.bytes.length} bytes or lacks its signature`);
  }

  const layout: LayoutRow[] = [
    { component: 'bootsector', lba: 0, sectors: 1, load: BOOT_ORIGIN, bytes: boot.bytes.length, bss: 0, windowEnd: BOOT_ORIGIN + SECTOR_SIZE },
    { component: 'stage2', lba: 1, sectors: stage2Sectors, load: STAGE2_ORIGIN, bytes: s2.bytes.length, bss: s2.bssEnd - s2.bssStart, windowEnd: STAGE2_WINDOW_END },
    { component: 'kernel', lba: kernelLba, sectors: kernelSectors, load: KERNEL_ORIGIN, bytes: k.bytes.length, bss: k.bssEnd - k.bssStart, windowEnd: KERNEL_WINDOW_END },
  ];
  const usedBytes = (kernelLba + kernelSectors) * SECTOR_SIZE;
  const image = new Uint8Array(Math.ceil(usedBytes / IMAGE_ALIGN_BYTES) * IMAGE_ALIGN_BYTES);
  image.set(boot.bytes, 0);
  image.set(s2.bytes, SECTOR_SIZE);
  image.set(k.bytes, kernelLba * SECTOR_SIZE);
  return { components: [boot, s2, k, ...users.map(({ u }) => u)], layout, image };
}

function fits(name: string, a: Assembled, windowEnd: number, bssLimit: number): void {
  const end = a.def.origin + a.bytes.length;
  if (end > windowEnd) {
    throw new ImageError(`${name} is ${a.bytes.length} bytes: loaded at ${hex(a.def.origin)} it would end at ${hex(end)}, past its load window (ends ${hex(windowEnd)}) by ${end - windowEnd} bytes`);
  }
  if (a.bssEnd > bssLimit) {
    throw new ImageError(`${name}'s reserved memory (bss) ends at ${hex(a.bssEnd)}, past ${hex(bssLimit)}: reserve less or move it`);
  }
}

export function layoutText(plan: ImagePlan, imagePath: string): string {
  const rows = plan.layout.map((r) => [
    r.component, String(r.lba), String(r.sectors), hex(r.load), String(r.bytes) + (r.bss ? ` (+${r.bss} bss)` : ''),
    `${hex(r.load)}-${hex(r.windowEnd - 1)}`,
  ]);
  const head = ['component', 'LBA', 'sectors', 'load at', 'bytes', 'load window'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const users = plan.components.filter((c) => c.def.origin === USER_BASE_ADDR);
  return [
    line(head), ...rows.map(line),
    `user programs (inside the kernel, run at ${hex(USER_BASE_ADDR)}): ${users.map((u) => `${u.def.name} ${u.bytes.length}`).join(', ')}`,
    `${imagePath}: ${plan.image.length / SECTOR_SIZE} sectors (${plan.image.length} bytes; ${lastUsedLba(plan) + 1} used, zero-padded to whole MiB)`,
  ].join('\n');
}

const lastUsedLba = (plan: ImagePlan) => Math.max(...plan.layout.map((r) => r.lba + r.sectors - 1));

export function mapText(plan: ImagePlan): string {
  const out = ['# tskernel symbol map - generated by toolchain/image.ts; do not edit', '# address     kind    component   symbol                          source'];
  for (const c of plan.components) {
    const syms = [...c.symbols.values()].filter((s) => s.kind !== 'const').sort((x, y) => x.value - y.value || x.name.localeCompare(y.name));
    for (const s of syms) {
      out.push(`${hex(s.value >>> 0, 8)}  ${s.kind.padEnd(6)}  ${c.def.name.padEnd(10)}  ${s.name.padEnd(30)}  ${s.file}`);
    }
  }
  return out.join('\n') + '\n';
}

export interface BuildResult {
  readonly imagePath: string;
  readonly outDir: string;
  readonly plan: ImagePlan;
  /** Where build/asm/ put each component's files (main file: course.mains). */
  readonly course: CoursePlan;
  readonly layoutText: string;
}

/** Assemble everything and write build/ (or `outDir`). */
export async function buildImage(opts: { outDir?: string } = {}): Promise<BuildResult> {
  const given = opts.outDir ?? 'build';
  if (given.trim() === '') throw new ImageError("the build directory may not be empty (got '')");
  const outDir = path.resolve(given);
  const previous = await checkBuildDir(outDir, given); // before assembling: a bad -o fails fast
  const { kernelModules } = await import('../kernel/index.ts');
  const plan = planImage(kernelModules);
  const course = planCourse(plan.components);
  const files = new Map<string, string | Uint8Array>();
  for (const f of emitCourse(plan.components, course, 'toolchain/image.ts')) files.set(path.join('asm', f.path), f.text);
  for (const c of plan.components) {
    files.set(path.join('bin', `${c.def.name}.bin`), c.bytes);
    files.set(path.join('lst', `${c.def.name}.lst`), listing(c));
  }
  files.set('tsk.map', mapText(plan));
  files.set('tsk.img', plan.image);
  // The tar file system's default disk (kernel/fs/tar.ts mounts it from virtio-blk).
  const archive = tarArchive(defaultDiskEntries());
  files.set('disk.tar', archive);
  files.set('disk.img', diskImage(archive));
  await writeBuildDir(outDir, given, files, previous);
  const imagePath = path.join(outDir, 'tsk.img');
  const rel = path.relative(process.cwd(), imagePath) || imagePath;
  return { imagePath, outDir, plan, course, layoutText: layoutText(plan, rel) };
}

// ---------------------------------------------------------------------------
// The build directory.  `tsk build -o DIR` must never remove or overwrite a
// file it did not write itself (`-o ~` must not touch ~/bin), so:
//
//  - DIR/.tsk-build is a manifest: one relative path per line, every file the
//    last build wrote.  A build removes only files listed there that it no
//    longer writes (a renamed module's old .asm), then the directories that
//    became empty.  Files someone else put into DIR are left alone.
//  - A DIR that exists, is not empty and has no manifest is refused, with
//    nothing touched.  A missing or empty DIR is fine.
//  - Exception for checkouts built before the manifest existed: a DIR that
//    holds only the old layout (asm/**.asm, bin/*.bin, lst/*.lst, tsk.img,
//    tsk.map), including tsk.img, bin/kernel.bin and a tsk.map that starts
//    with the symbol map's header, is recognised as an old build folder, and
//    exactly those files count as the previous build's.
//  - The manifest is written first as old + new entries, so an interrupted
//    build still lists every file it may have written.

/** The manifest file that marks a folder as written by `tsk build`. */
export const BUILD_MANIFEST = '.tsk-build';
const MANIFEST_HEADER = '# tskernel build folder: files written by `tsk build` (toolchain/image.ts); only these are ever removed by it';

/** The boot tests' failure evidence inside the build folder (test/harness/ci.ts ARTIFACTS_DIR). */
const TEST_ARTIFACTS = 'test-artifacts';

/** Checks DIR can be a build folder; returns the files the previous build wrote there. */
async function checkBuildDir(outDir: string, given: string): Promise<Set<string>> {
  const st = await stat(outDir).catch((e: NodeJS.ErrnoException) => { // a symlink to a folder is that folder
    if (e.code === 'ENOENT') return null;
    throw new ImageError(`cannot use '${given}' as the build directory: ${e.message}`);
  });
  if (st === null) return new Set();
  if (!st.isDirectory()) throw new ImageError(`'${given}' is a file, not a directory: choose a new or empty folder for the build`);
  const entries = await readdir(outDir).catch((e: Error) => { throw new ImageError(`cannot read the build directory '${given}': ${e.message}`); });
  if (entries.length === 0) return new Set();
  if (entries.includes(BUILD_MANIFEST)) {
    const text = await readFile(path.join(outDir, BUILD_MANIFEST), 'utf8').catch((e: Error) => {
      throw new ImageError(`cannot read the build manifest '${path.join(given, BUILD_MANIFEST)}': ${e.message}`);
    });
    const listed = text.split('\n').filter((l) => l && !l.startsWith('#'));
    // Only plain relative paths inside DIR (a hand-edited manifest cannot aim outside it).
    return new Set(listed.filter((l) => !path.isAbsolute(l) && !l.split(/[\\/]/).includes('..')));
  }
  // A fresh checkout's build/ holding only a failed CI run's evidence, put
  // there to rerun it (README: Use in CI): nothing of a build's to replace.
  // The build never lists that folder, so it never touches it.
  if (entries.length === 1 && entries[0] === TEST_ARTIFACTS && (await lstat(path.join(outDir, TEST_ARTIFACTS))).isDirectory()) return new Set();
  const legacy = await oldLayoutFiles(outDir, entries);
  if (legacy) return legacy;
  throw new ImageError(
    `refusing to build into '${given}': it is not empty and has no ${BUILD_MANIFEST} manifest, so it is not a folder tsk build wrote ` +
    '(a build removes its old output, and must not touch files it did not write). Choose a new or empty folder.',
  );
}

/** The files of a build folder made before the manifest existed, or null if DIR holds anything else. */
async function oldLayoutFiles(outDir: string, entries: readonly string[]): Promise<Set<string> | null> {
  const pattern: Record<string, RegExp> = { asm: /\.asm$/, bin: /\.bin$/, lst: /\.lst$/ };
  const found = new Set<string>();
  const walk = async (rel: string, re: RegExp, depth: number): Promise<boolean> => {
    for (const e of await readdir(path.join(outDir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory() && depth > 0) { if (!(await walk(r, re, depth - 1))) return false; }
      else if (e.isFile() && re.test(e.name)) found.add(r);
      else return false;
    }
    return true;
  };
  for (const name of entries) {
    const st = await lstat(path.join(outDir, name));
    if ((name === 'tsk.img' || name === 'tsk.map') && st.isFile()) found.add(name);
    else if (pattern[name] && st.isDirectory()) { if (!(await walk(name, pattern[name]!, name === 'asm' ? 1 : 0))) return null; }
    else return null;
  }
  // ...and it must be recognisably ours: the files every old build wrote, with the symbol map's header.
  if (!['tsk.img', 'tsk.map', path.join('bin', 'kernel.bin')].every((f) => found.has(f))) return null;
  const map = await readFile(path.join(outDir, 'tsk.map'), 'utf8');
  return map.startsWith('# tskernel symbol map') ? found : null;
}

/**
 * mkdir -p without fs.mkdir's `recursive`, which loops forever where mkdir
 * fails with ENOENT although the parent exists (e.g. /proc/x on Linux).
 */
async function makeDir(dir: string, given: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EEXIST') {
      if ((await stat(dir).catch(() => null))?.isDirectory()) return; // a folder, or a symlink to one
      throw new ImageError(`cannot create '${dir}' for the build directory '${given}': a file (or a dangling symbolic link) is in the way`);
    }
    const parent = path.dirname(dir);
    const parentExists = await lstat(parent).then(() => true, () => false);
    if (err.code !== 'ENOENT' || parent === dir || parentExists) {
      throw new ImageError(`cannot create the build directory '${given}' (${dir}): ${err.message}`);
    }
    await makeDir(parent, given);
    await mkdir(dir).catch((e2: NodeJS.ErrnoException) => {
      throw new ImageError(`cannot create the build directory '${given}' (${dir}): ${e2.message}`);
    });
  }
}

async function writeBuildDir(outDir: string, given: string, files: ReadonlyMap<string, string | Uint8Array>, previous: ReadonlySet<string>): Promise<void> {
  try {
    await writeBuildFiles(outDir, given, files, previous);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(`cannot write the build directory '${given}': ${(e as Error).message}`);
  }
}

/** The top-level folders of the layout: the only folders a build ever removes (once empty). */
const LAYOUT_DIRS = new Set(['asm', 'bin', 'lst']);

/**
 * Make sure DIR/rel (a folder below the build folder) is a real folder,
 * creating what is missing.  A symbolic link below DIR is refused: following
 * it would let a build write or delete outside DIR.  (DIR itself may be a
 * link: that is the folder the user named.)  With create = false, answers
 * whether the folder exists and is real, without creating anything.
 */
async function realDir(outDir: string, rel: string, given: string, create: boolean): Promise<boolean> {
  let at = outDir;
  for (const part of rel === '.' ? [] : rel.split(path.sep)) {
    at = path.join(at, part);
    const st = await lstat(at).catch((e: NodeJS.ErrnoException) => { if (e.code === 'ENOENT') return null; throw e; });
    if (st === null) {
      if (!create) return false;
      await mkdir(at).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'EEXIST') throw e; }); // EEXIST: a concurrent build made it
      if (!(await lstat(at)).isDirectory()) throw new ImageError(`refusing to build into '${given}': '${path.relative(outDir, at)}' in it is not a real folder`);
    } else if (!st.isDirectory()) {
      if (!create) return false;
      const what = st.isSymbolicLink() ? 'a symbolic link' : 'not a folder';
      throw new ImageError(`refusing to build into '${given}': '${path.relative(outDir, at)}' in it is ${what}, and a build writes only into real folders it can call its own`);
    }
  }
  return true;
}

/** Throws if any existing part of DIR/rel is a symbolic link or not a folder (creates nothing). */
async function refuseLinks(outDir: string, rel: string, given: string): Promise<void> {
  let at = outDir;
  for (const part of rel === '.' ? [] : rel.split(path.sep)) {
    at = path.join(at, part);
    const st = await lstat(at).catch(() => null);
    if (st === null) return;
    if (!st.isDirectory()) {
      const what = st.isSymbolicLink() ? 'a symbolic link' : 'not a folder';
      throw new ImageError(`refusing to build into '${given}': '${path.relative(outDir, at)}' in it is ${what}, and a build writes only into real folders it can call its own`);
    }
  }
}

async function writeBuildFiles(outDir: string, given: string, files: ReadonlyMap<string, string | Uint8Array>, previous: ReadonlySet<string>): Promise<void> {
  await makeDir(outDir, given);
  const manifest = async (names: Iterable<string>) => {
    const tmp = path.join(outDir, `${BUILD_MANIFEST}.tmp-${process.pid}`);
    await writeFile(tmp, [MANIFEST_HEADER, ...[...names].sort()].join('\n') + '\n');
    await rename(tmp, path.join(outDir, BUILD_MANIFEST));
  };
  // Every folder the build will write into is checked before anything is written.
  for (const d of new Set([...files.keys()].map((rel) => path.dirname(rel)))) await refuseLinks(outDir, d, given);
  await manifest(new Set([...previous, ...files.keys()]));
  for (const [rel, data] of files) {
    await realDir(outDir, path.dirname(rel), given, true);
    const p = path.join(outDir, rel);
    if ((await lstat(p).catch(() => null))?.isDirectory()) {
      throw new ImageError(`cannot write '${rel}' in the build directory '${given}': a folder of that name is in the way`);
    }
    // Write then rename: a boot test reading tsk.img meanwhile sees the old or the new file, never half of one.
    // (rename replaces a symbolic link itself, never the file it points to.)
    const tmp = `${p}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, data);
      await rename(tmp, p);
    } catch (e) {
      await unlink(tmp).catch(() => { /* never created */ });
      throw e;
    }
  }
  const stale = [...previous].filter((rel) => !files.has(rel));
  for (const rel of stale) {
    if (await realDir(outDir, path.dirname(rel), given, false)) await unlink(path.join(outDir, rel)).catch(() => { /* already gone */ });
  }
  // Directories of the layout that held only stale files (deepest first); rmdir refuses a non-empty one.
  const dirs = new Set(stale.flatMap((rel) => { const out: string[] = []; for (let d = path.dirname(rel); d !== '.'; d = path.dirname(d)) out.push(d); return out; }));
  for (const d of [...dirs].sort((x, y) => y.length - x.length)) {
    if (!LAYOUT_DIRS.has(d.split(path.sep)[0]!) || !(await realDir(outDir, d, given, false))) continue;
    await rmdir(path.join(outDir, d)).catch(() => { /* not empty: keep it */ });
  }
  await removeLeftovers(outDir, given, [...files.keys()]);
  await manifest(files.keys());
}

/**
 * Temporary files an interrupted build left behind ('<file>.tmp-<pid>' next
 * to a file it writes, '.tsk-build.tmp-<pid>'): the build wrote them, so it
 * removes them; nothing else matches their names.
 */
/** Is process `pid` running (another build writing into the same folder right now)? */
function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

async function removeLeftovers(outDir: string, given: string, written: readonly string[]): Promise<void> {
  const byDir = new Map<string, Set<string>>([['.', new Set([BUILD_MANIFEST])]]);
  for (const rel of written) {
    const d = path.dirname(rel);
    if (!byDir.has(d)) byDir.set(d, new Set());
    byDir.get(d)!.add(path.basename(rel));
  }
  for (const [d, names] of byDir) {
    if (!(await realDir(outDir, d, given, false))) continue;
    for (const e of await readdir(path.join(outDir, d), { withFileTypes: true })) {
      const m = /^(.+)\.tmp-(\d+)$/.exec(e.name);
      if (!m || !names.has(m[1]!) || !e.isFile() || processAlive(Number(m[2]))) continue; // a build running now owns its own
      await unlink(path.join(outDir, d, e.name)).catch(() => { /* gone */ });
    }
  }
}

/**
 * Is the file at `imagePath` something the BIOS would boot?  `tsk run
 * --no-build` checks before starting QEMU, because SeaBIOS meets a
 * non-bootable disk with "No bootable device" on a screen we do not show,
 * and then waits forever: the user would see nothing at all.
 */
export async function checkBootImage(imagePath: string): Promise<void> {
  const st = await stat(imagePath).catch(() => null);
  if (!st) throw new ImageError(`there is no image at '${imagePath}': build it first (tsk build) or drop --no-build`);
  if (!st.isFile()) throw new ImageError(`'${imagePath}' is not a file: expected a disk image written by tsk build`);
  if (st.size < SECTOR_SIZE) throw new ImageError(`'${imagePath}' is ${st.size} bytes, less than one 512-byte sector: not a disk image`);
  const head = Buffer.alloc(SECTOR_SIZE);
  const fh = await open(imagePath, 'r');
  try { await fh.read(head, 0, SECTOR_SIZE, 0); } finally { await fh.close(); }
  if (head[510] !== 0x55 || head[511] !== 0xaa) {
    throw new ImageError(`'${imagePath}' has no boot signature (bytes 510-511 are 0x${hex2(head[510]!)} 0x${hex2(head[511]!)}, not 0x55 0xAA): the BIOS would not boot it`);
  }
}

const hex2 = (b: number) => b.toString(16).toUpperCase().padStart(2, '0');
