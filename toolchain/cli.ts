// tsk: the command-line interface of the tskernel toolchain.
//
//   tsk build            assemble everything, write build/, print the image layout
//   tsk run              build, then boot in QEMU with COM1 on this terminal
//                        (tsk run -- <qemu args...>: more QEMU arguments, e.g. -device, -drive)
//   tsk debug            build, then boot halted with a GDB stub
//   tsk test             run the test suite (vitest)
//   tsk bench            measure build and boot times
//
// The npm scripts (setup, build, start, test, bench) call these verbs.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { type BuildResult, ImageError, buildImage, checkBootImage } from './image.ts';
import {
  DEFAULT_MEM_MIB, MACHINES, MAX_MEM_MIB, MIN_MEM_MIB, type Machine, QemuNotFoundError, QemuOptionError, describeExit, exitOutcome,
  findQemu, formatCommand, qemuCommand, runExitStatus, tripleFaulted,
} from './qemu.ts';
import { AsmError } from './x86/assemble.ts';
import { runBench } from './bench.ts';

const program = new Command();

function parseMem(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < MIN_MEM_MIB || n > MAX_MEM_MIB) {
    throw new InvalidArgumentError(`'${value}' is not a whole number of MiB from ${MIN_MEM_MIB} to ${MAX_MEM_MIB}.`);
  }
  return n;
}

function parseMachine(value: string): Machine {
  if (!(MACHINES as readonly string[]).includes(value)) throw new InvalidArgumentError(`'${value}' is not a machine tskernel boots on (choose ${MACHINES.join(' or ')}).`);
  return value as Machine;
}

function parseOutDir(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError("the build directory may not be empty (got '').");
  return value;
}

interface BootFlags { cmdline?: string; mem: number; cpu?: string; machine: Machine; build: boolean; out: string }

/** Thrown when extra QEMU arguments were given without the `--` that marks them. */
class QemuArgsError extends Error {}

/**
 * The operands of run/debug are QEMU arguments, and only after `--`: without
 * it a mistyped tsk option would reach QEMU as a file name.  (commander drops
 * the `--` itself, so the raw argv decides.)
 */
export function qemuExtraArgs(operands: readonly string[], argv: readonly string[]): string[] {
  if (operands.length === 0) return [];
  if (!argv.includes('--')) {
    throw new QemuArgsError(`unexpected argument '${operands[0]}': extra QEMU arguments go after --, e.g. tsk run -- -device virtio-rng-pci`);
  }
  return [...operands];
}

async function build(out: string, quiet = false): Promise<BuildResult> {
  const r = await buildImage({ outDir: out });
  if (!quiet) process.stderr.write(`${r.layoutText}\n`);
  return r;
}

async function startQemu(flags: BootFlags, gdb: boolean, extraArgs: readonly string[] = []): Promise<void> {
  if (!findQemu()) throw new QemuNotFoundError();
  let image = path.join(flags.out, 'tsk.img');
  if (flags.build) image = (await build(flags.out)).imagePath;
  else if (!existsSync(image)) throw new ImageError(`--no-build: there is no image at '${image}': build it first (tsk build -o ${flags.out}) or drop --no-build`);
  else await checkBootImage(image);
  const logDir = await mkdtemp(path.join(tmpdir(), 'tsk-run-'));
  const resetLog = path.join(logDir, 'cpu-reset.log');
  try {
    const cmd = qemuCommand({ image, cmdline: flags.cmdline, memMiB: flags.mem, cpu: flags.cpu, machine: flags.machine, gdb, interactive: !gdb, resetLog, extraArgs });
    process.stderr.write(`$ ${formatCommand(cmd)}\n`);
    if (gdb) {
      process.stderr.write([
        'QEMU is halted before the first BIOS instruction, with a GDB stub on localhost:1234. In another terminal:',
        "  gdb -ex 'target remote :1234' -ex 'set architecture i8086' -ex 'break *0x7c00' -ex continue",
        `  (use 'set architecture i386' once in protected mode; addresses of every label are in ${flags.out}/tsk.map)`,
        'Serial output appears below; quit QEMU with Ctrl-C here or "kill" in GDB.',
        '',
      ].join('\n'));
    } else {
      process.stderr.write('COM1 is this terminal (type at the tsk> prompt). Ctrl-C goes to tskernel (it stops user programs); quit with "poweroff" or Ctrl-A x.\n');
    }
    const child = spawn(cmd.bin, cmd.args, { stdio: 'inherit' });
    // SIGINT/SIGTERM to tsk (Ctrl-C in debug mode reaches both; `kill` may reach tsk only) go to QEMU,
    // which stops ("terminating on signal", status 0: a quit); tsk stays to report how QEMU ended.
    const forward = (sig: NodeJS.Signals) => { child.kill(sig); };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, sig) => resolve([code, sig]));
    }).finally(() => { process.off('SIGINT', forward); process.off('SIGTERM', forward); });
    const triple = tripleFaulted(await readFile(resetLog, 'utf8').catch(() => ''));
    const outcome = exitOutcome(status, triple);
    const exit = runExitStatus(outcome, status, signal);
    const how = status === null ? `killed by ${signal}` : describeExit(status, triple); // keeps QEMU's raw status
    process.stderr.write(`\n[tsk] QEMU exited: ${how}; tsk exits ${exit} (${outcome})\n`);
    process.exitCode = exit;
  } finally {
    await rm(logDir, { recursive: true, force: true });
  }
}

function bootOptions(cmd: Command): Command {
  return cmd
    .option('-c, --cmdline <text>', 'boot cmdline: test=<scenario> hz=<19-1000> seed=<n> strace=1 (see README: Runtime contracts)')
    .option('-m, --mem <MiB>', `guest memory in MiB (${MIN_MEM_MIB}-${MAX_MEM_MIB})`, parseMem, DEFAULT_MEM_MIB)
    .option('--cpu <model>', 'QEMU CPU model, e.g. 486 or pentium (default: QEMU\'s qemu32)')
    .option('--machine <type>', `QEMU machine: ${MACHINES.join(' (i440FX, IDE) or ')} (ICH9, AHCI)`, parseMachine, 'pc')
    .option('--no-build', 'boot the existing image instead of building first')
    .option('-o, --out <dir>', 'build directory', parseOutDir, 'build')
    .argument('[qemu-args...]', 'after --: more arguments for QEMU, appended to tsk\'s own (devices, disks; a later -m wins)');
}

const EXIT_HELP = [
  'Exit status (QEMU\'s raw status is printed too):',
  '  0   the guest powered off (QEMU status 33), or you quit QEMU (Ctrl-A x, Ctrl-C in debug, a signal: QEMU status 0, no guest reset)',
  '  35  kernel panic (QEMU status 35)',
  '  2   triple fault: the guest reset (QEMU status 0, "Triple fault" in its -d cpu_reset log)',
  '  other  QEMU itself failed (bad option, unreadable image...): QEMU\'s own status, usually 1; 128+n if QEMU was killed by signal n',
].join('\n');

program
  .name('tsk')
  .description('tskernel toolchain: build the x86 teaching kernel from TypeScript, boot it in QEMU, test it.')
  .showHelpAfterError('(run tsk --help for usage)')
  .version(createRequire(import.meta.url)('../package.json').version as string);

program
  .command('build')
  .description('assemble every component, write build/ (image, annotated NASM source, listings, symbol map) and print the layout')
  .option('-o, --out <dir>', 'build directory: new, empty, or one tsk build wrote (it keeps a .tsk-build manifest and removes only files it wrote)', parseOutDir, 'build')
  .action(async (o: { out: string }) => {
    const r = await build(o.out, true);
    process.stdout.write(`${r.layoutText}\nannotated source: ${o.out}/asm/ (start at ${o.out}/asm/README.md)   listings: ${o.out}/lst/   symbols: ${o.out}/tsk.map\n`
      + `data disk: ${o.out}/disk.tar (ustar archive; tar -tvf lists it) and ${o.out}/disk.img (zero-padded to 1 MiB; attach with -drive if=none,id=d,file=${o.out}/disk.img,format=raw -device virtio-blk-pci,drive=d)\n`);
  })
  .addHelpText('after', '\nExample:\n  tsk build && (cd build/asm && nasm -f bin kernel.asm -o /tmp/kernel.bin && cmp /tmp/kernel.bin ../bin/kernel.bin)');

bootOptions(program.command('run'))
  .description('build, then boot the image in QEMU with COM1 on this terminal; exits 0 after poweroff or quit, non-zero after a panic or triple fault')
  .action((qemuArgs: string[], o: BootFlags) => startQemu(o, false, qemuExtraArgs(qemuArgs, process.argv)))
  .addHelpText('after', `\nExamples:\n  tsk run                      boot to the tsk> shell\n  tsk run -- -drive if=none,id=d0,file=disk.img,format=raw -device virtio-blk-pci,drive=d0\n                               more QEMU arguments after --: here a virtio disk\n  tsk run -c test=div0         run one scenario (see README)\n  tsk run -c "test=fuzz seed=7" 10,000 random system calls from ring 3\n  tsk run -c "test=hello strace=1"  trace every system call\n  tsk run --cpu 486 -m 8       a small, old machine\n  tsk run --machine q35        the ICH9 chipset: the disk sits behind AHCI\nAt the tsk> prompt: run hello, run spin spin, ps; Ctrl-C stops user programs, Ctrl-A x quits QEMU.\n\n${EXIT_HELP}`);

bootOptions(program.command('debug'))
  .description('like run, but QEMU starts halted with a GDB stub on :1234 and prints how to attach')
  .action((qemuArgs: string[], o: BootFlags) => startQemu(o, true, qemuExtraArgs(qemuArgs, process.argv)))
  .addHelpText('after', `\n${EXIT_HELP}`);

program
  .command('test')
  .description('run the whole test suite (unit tests, NASM cross-check, QEMU boot tests); extra arguments go to vitest')
  .allowUnknownOption()
  .argument('[vitest-args...]')
  .action((args: string[]) => {
    // vitest's package exports do not include its bin script; find it through package.json's "bin".
    const require = createRequire(import.meta.url);
    const pkgPath = require.resolve('vitest/package.json');
    const bin = (require(pkgPath) as { bin: string | Record<string, string> }).bin;
    const vitest = path.resolve(path.dirname(pkgPath), typeof bin === 'string' ? bin : bin.vitest!);
    const r = spawnSync(process.execPath, [vitest, 'run', ...args], { stdio: 'inherit' });
    process.exitCode = r.status ?? 1;
  })
  .addHelpText('after', '\nExamples:\n  tsk test                     everything\n  tsk test test/unit           only the tests that need no QEMU');

program
  .command('bench')
  .description('measure: in-process build time, NASM assembly time, and boot-to-ready time in QEMU')
  .option('-n, --runs <count>', 'repetitions per measurement', (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || n > 100) throw new InvalidArgumentError(`'${v}' is not a count from 1 to 100.`);
    return n;
  }, 5)
  .action(async (o: { runs: number }) => { await runBench(o.runs); });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof QemuNotFoundError) { process.stderr.write(`tsk: ${e.message}\n`); process.exitCode = 127; }
  else if (e instanceof QemuOptionError || e instanceof AsmError || e instanceof ImageError || e instanceof QemuArgsError) {
    process.stderr.write(`tsk: ${e.message}\n`);
    process.exitCode = 1;
  } else throw e;
}
