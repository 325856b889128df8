// `tsk bench`: how fast the toolchain and a boot are. Numbers go to stdout;
// speed goals live here, never in timed tests.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildImage } from './image.ts';
import { USER_PROGRAMS } from '../kernel/user/index.ts';
import { EXIT_POWEROFF, QemuNotFoundError, findQemu, qemuCommand } from './qemu.ts';
import { writePatternImage } from './disk/pattern.ts';

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const median = s[Math.floor(s.length / 2)]!;
  return `median ${median.toFixed(1)} ms  (min ${s[0]!.toFixed(1)}, max ${s[s.length - 1]!.toFixed(1)}, n=${s.length})`;
}

/** Boot with a cmdline; time from QEMU start to the first output containing `marker`, and to exit. */
async function bootTimed(image: string, cmdline: string, marker: string, startMarker?: string): Promise<{ readyMs: number; exitMs: number; startMs: number }> {
  const cmd = qemuCommand({ image, cmdline });
  const t0 = performance.now();
  const child = spawn(cmd.bin, cmd.args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let readyMs = NaN;
  let startMs = NaN;
  let out = '';
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (d: string) => {
    out += d;
    if (startMarker && Number.isNaN(startMs) && out.includes(startMarker)) startMs = performance.now() - t0;
    if (Number.isNaN(readyMs) && out.includes(marker)) readyMs = performance.now() - t0;
  });
  const status: number | null = await new Promise((resolve) => child.on('close', resolve));
  if (status !== EXIT_POWEROFF) throw new Error(`bench boot ended with status ${status}, not 33; serial output:\n${out}`);
  return { readyMs, exitMs: performance.now() - t0, startMs };
}

/** MiB "bench disk" reads from each disk: enough for the virtio-blk disk to take many timer ticks. */
export const BENCH_DISK_MIB = 16;

/**
 * The guest's own "bench disk": the same reads from an IDE disk (hdb, the
 * disk after the boot disk) and a virtio-blk disk (vda), both pattern
 * images on the host, timed by the guest; returns its lines.
 */
async function benchDisk(image: string, dir: string): Promise<string[]> {
  const sectors = 2 * BENCH_DISK_MIB * 2048;
  for (const n of ['ide', 'virtio']) writePatternImage(path.join(dir, `${n}.img`), sectors);
  const cmd = qemuCommand({
    image,
    extraArgs: [
      '-drive', `file=${path.join(dir, 'ide.img')},format=raw,if=ide,index=1`,
      '-drive', `if=none,id=vd0,file=${path.join(dir, 'virtio.img')},format=raw`, '-device', 'virtio-blk-pci,drive=vd0',
    ],
  });
  const child = spawn(cmd.bin, cmd.args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let typed = false;
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (d: string) => {
    out += d;
    if (!typed && out.includes('tsk> ')) {
      typed = true;
      child.stdin.write(`bench disk ${BENCH_DISK_MIB} hdb vda\rpoweroff\r`);
    }
  });
  const status: number | null = await new Promise((resolve) => child.on('close', resolve));
  const lines = out.split(/\r?\n/).filter((l) => l.startsWith('[bench] '));
  if (status !== EXIT_POWEROFF || lines.length < 3) throw new Error(`bench disk: the boot ended with status ${status} and ${lines.length} [bench] lines; serial output:\n${out}`);
  return [`bench disk ${BENCH_DISK_MIB} (the guest's figures: emulated IDE, PIO, against virtio-blk, TCG):`, ...lines.map((l) => `  ${l.slice('[bench] '.length)}`)];
}

export async function runBench(runs: number): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tsk-bench-'));
  try {
    const build: number[] = [];
    let image = '';
    let mains = new Map<string, string>();
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const r = await buildImage({ outDir: dir });
      image = r.imagePath;
      mains = new Map(r.course.mains);
      build.push(performance.now() - t);
    }
    const components = ['bootsector', 'stage2', 'kernel', ...USER_PROGRAMS.map((p) => p.name)];
    console.log(`build (assemble ${components.length} components in-process, write build/): ${stats(build)}`);
    const nasm: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      for (const c of components) execFileSync('nasm', ['-f', 'bin', mains.get(c)!, '-o', path.join(dir, `${c}.nasm.bin`)], { cwd: path.join(dir, 'asm') });
      nasm.push(performance.now() - t);
    }
    console.log(`nasm -f bin of the emitted source (${components.length} components):       ${stats(nasm)}`);
    if (!findQemu()) throw new QemuNotFoundError();
    const ready: number[] = [];
    const exit: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await bootTimed(image, 'test=boot', '[tsk] ready');
      ready.push(r.readyMs);
      exit.push(r.exitMs);
    }
    console.log(`QEMU start to "[tsk] ready" (test=boot, TCG):            ${stats(ready)}`);
    console.log(`QEMU start to exit after poweroff:                       ${stats(exit)}`);
    const fuzz: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await bootTimed(image, 'test=fuzz', '[fuzz] done:', '[fuzz] seed=');
      fuzz.push(r.readyMs - r.startMs);
    }
    console.log(`fuzz: 10,000 system calls from ring 3 (incl. its sleeps):  ${stats(fuzz)}`);
    for (const line of await benchDisk(image, dir)) console.log(line);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
