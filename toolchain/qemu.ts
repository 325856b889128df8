// The one place that builds QEMU command lines for tskernel.
//
// Everything that starts QEMU - `tsk run`, `tsk debug`, the boot-test
// harness - goes through qemuCommand(), so the machine a test boots is the
// machine a person boots.  qemu-scripts/run.sh mirrors these arguments for
// people with only a shell (a unit test keeps the two in step).

import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { CMDLINE_MAX } from '../kernel/dev/fw_cfg.ts';

export const QEMU_BIN = 'qemu-system-i386';

/** The longest cmdline the kernel reads (kernel/dev/fw_cfg.ts); a longer one is refused here with a clear message. */
export const CMDLINE_MAX_BYTES = CMDLINE_MAX.c.value as number;

export interface QemuOptions {
  /** Raw disk image to boot (build/tsk.img). */
  readonly image: string;
  /** Boot cmdline, passed as fw_cfg file opt/tsk/cmdline (docs/design.md §4). */
  readonly cmdline?: string;
  /** Guest memory in MiB (default 32). */
  readonly memMiB?: number;
  /** CPU model, e.g. '486' (default: QEMU's default, qemu32). */
  readonly cpu?: string;
  /**
   * A person at a terminal: COM1 goes through a mux chardev with signals off,
   * so Ctrl-C reaches the guest (tskernel stops its user programs) and
   * Ctrl-A x quits QEMU.  Tests (pipes, no terminal) leave it off.
   */
  readonly interactive?: boolean;
  /**
   * Boot the image as a 1.44 MB floppy instead of an IDE disk.  The BIOS has
   * no LBA extensions for floppies, so the boot sector takes its CHS path.
   * The image must be padded to 1474560 bytes (QEMU picks the geometry by size).
   */
  readonly floppy?: boolean;
  /**
   * QEMU machine type: 'pc' (i440FX + PIIX, IDE disk; the default) or 'q35'
   * (ICH9: the if=ide drive attaches to its AHCI controller).  Both boot the
   * same image; q35 needs it padded to whole cylinders (toolchain/image.ts).
   */
  readonly machine?: Machine;
  /**
   * Write QEMU's CPU-reset log here (-d cpu_reset -D <file>), so that a
   * guest reset can be told apart from a user quitting QEMU: see tripleFaulted().
   */
  readonly resetLog?: string;
  /** Start halted with a GDB stub on tcp::1234 (-s -S). */
  readonly gdb?: boolean;
  /** More arguments (devices for later lessons). Never user-mode networking without restrict=on. */
  readonly extraArgs?: readonly string[];
}

export const MACHINES = ['pc', 'q35'] as const;
export type Machine = (typeof MACHINES)[number];

export const DEFAULT_MEM_MIB = 32;
/** 1, so that too little memory is the kernel's own message ('[mem] ... needs N KiB'), not ours. */
export const MIN_MEM_MIB = 1;
export const MAX_MEM_MIB = 3072;
/** The least memory with which SeaBIOS boots from the q35 machine's AHCI disk. */
export const Q35_MIN_MEM_MIB = 2;

/** QEMU exit statuses (docs/design.md §4). isa-debug-exit makes QEMU exit with (v << 1) | 1. */
export const EXIT_POWEROFF = 33;
export const EXIT_PANIC = 35;

export class QemuNotFoundError extends Error {
  constructor() {
    super(`${QEMU_BIN} was not found on PATH: install it with \`sudo apt-get install qemu-system-x86\` (or run \`npm run setup\`).`);
  }
}

/** Thrown for options QEMU cannot take; the message names the bad value. */
export class QemuOptionError extends Error {}

/** The argument list for qemu-system-i386. */
export function qemuCommand(o: QemuOptions): { bin: string; args: string[] } {
  const mem = o.memMiB ?? DEFAULT_MEM_MIB;
  if (!Number.isInteger(mem) || mem < MIN_MEM_MIB || mem > MAX_MEM_MIB) {
    throw new QemuOptionError(`memory must be a whole number of MiB from ${MIN_MEM_MIB} to ${MAX_MEM_MIB}, not '${o.memMiB}'`);
  }
  const machine = o.machine ?? 'pc';
  if (!(MACHINES as readonly string[]).includes(machine)) {
    throw new QemuOptionError(`machine '${machine}' is not one tskernel boots on (choose ${MACHINES.join(' or ')})`);
  }
  // With 1 MiB, SeaBIOS on q35 cannot read the disk behind AHCI ("Boot failed: could not read
  // the boot disk"): the kernel never runs, so it could not report the shortage itself.
  if (machine === 'q35' && mem < Q35_MIN_MEM_MIB) {
    throw new QemuOptionError(`the q35 machine needs at least ${Q35_MIN_MEM_MIB} MiB (its BIOS cannot read the boot disk with ${mem}); tskernel itself needs 1472 KiB`);
  }
  const args = [
    '-nodefaults', // no default NIC, VGA, floppy or serial: only what we ask for (docs/design.md §7)
    '-no-reboot', // a triple fault exits QEMU (status 0) instead of rebooting forever
    '-display', 'none',
    '-machine', machine,
    '-m', String(mem),
    // snapshot=on: writes go to a temporary overlay: the image stays unchanged and boots may run in parallel
    '-drive', `file=${escapeOption(o.image)},format=raw,if=${o.floppy ? 'floppy' : 'ide'},index=0,snapshot=on`,
    ...(o.floppy ? ['-boot', 'a'] : []),
    ...(o.interactive
      ? ['-chardev', 'stdio,id=com1,mux=on,signal=off', '-serial', 'chardev:com1'] // COM1 <-> the terminal; Ctrl-C to the guest, Ctrl-A x quits
      : ['-serial', 'stdio']), // COM1 <-> this process's stdin/stdout
    '-monitor', 'none',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', // poweroff/panic exit codes 33/35
  ];
  if (o.cpu !== undefined) {
    if (!/^[A-Za-z0-9_.+-]+$/.test(o.cpu)) throw new QemuOptionError(`CPU model '${o.cpu}' is not a QEMU CPU name (try 486, pentium, qemu32)`);
    args.push('-cpu', o.cpu);
  }
  if (o.cmdline !== undefined) {
    if (/[\n\r\0]/.test(o.cmdline)) throw new QemuOptionError('the cmdline may not contain a newline or NUL byte');
    const bytes = Buffer.byteLength(o.cmdline, 'utf8');
    if (bytes > CMDLINE_MAX_BYTES) throw new QemuOptionError(`the cmdline is ${bytes} bytes; the kernel reads at most ${CMDLINE_MAX_BYTES} (CMDLINE_MAX in kernel/dev/fw_cfg.ts)`);
    if (o.cmdline.length > 0) args.push('-fw_cfg', `name=opt/tsk/cmdline,string=${escapeOption(o.cmdline)}`);
  }
  if (o.resetLog !== undefined) args.push('-d', 'cpu_reset', '-D', o.resetLog);
  if (o.gdb) args.push('-s', '-S');
  if (o.extraArgs) args.push(...o.extraArgs);
  return { bin: QEMU_BIN, args };
}

/** QEMU option syntax: a comma inside a value is written twice. */
export function escapeOption(value: string): string {
  return value.replace(/,/g, ',,');
}

/** A shell-quoted command a person can paste to rerun it by hand. */
export function formatCommand(c: { bin: string; args: readonly string[] }): string {
  return [c.bin, ...c.args].map(shellQuote).join(' ');
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The path of qemu-system-i386 on PATH, or null. */
export function findQemu(env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, QEMU_BIN);
    if (existsSync(p)) return p;
  }
  return null;
}

/**
 * Did the guest triple-fault?  QEMU exits with status 0 both when a guest
 * resets under -no-reboot and when a person quits it (Ctrl-A x on the mux
 * console exits 0; so does SIGINT/SIGTERM), so status 0 alone says nothing.
 * Instead we watch for the reset: with -d cpu_reset, QEMU 7.2's x86 CPU
 * writes the line "Triple fault" to its log at the moment it turns a fault
 * during double-fault delivery into a reset (target/i386 check_exception).
 * The log also has two "CPU Reset" dumps from power-on in every run, so we
 * look for that exact line.  This is simpler and race-free next to the
 * other way (a QMP socket and its SHUTDOWN event, reason "guest-reset"),
 * which only delivers events after capability negotiation, so the guest
 * would have to start paused (-S) and be resumed over QMP.  Limitation: a
 * reset the guest asks for on purpose (keyboard controller 0xFE, port 0xCF9)
 * logs nothing; tskernel never does that, it powers off through 0xF4.
 */
export function tripleFaulted(resetLogText: string): boolean {
  return /^Triple fault$/m.test(resetLogText);
}

/** How a run of tskernel in QEMU ended. */
export type Outcome = 'poweroff' | 'panic' | 'triple fault' | 'quit' | 'killed' | 'qemu error';

/**
 * Classify QEMU's exit.  `status` is null when QEMU was killed by a signal;
 * `tripleFault` comes from tripleFaulted() on the run's reset log.
 */
export function exitOutcome(status: number | null, tripleFault: boolean): Outcome {
  if (status === null) return 'killed';
  if (status === EXIT_POWEROFF) return 'poweroff';
  if (status === EXIT_PANIC) return 'panic';
  if (status === 0) return tripleFault ? 'triple fault' : 'quit';
  return 'qemu error';
}

/** `tsk run`'s exit status for an outcome (README: Runtime contracts; tsk run --help). */
export const RUN_EXIT_TRIPLE_FAULT = 2;
export function runExitStatus(outcome: Outcome, status: number | null, signal?: NodeJS.Signals | null): number {
  switch (outcome) {
    case 'poweroff': case 'quit': return 0; // the machine was switched off on purpose
    case 'panic': return EXIT_PANIC; // the kernel's own status, unchanged
    case 'triple fault': return RUN_EXIT_TRIPLE_FAULT;
    case 'killed': return 128 + (signal ? osConstants.signals[signal] ?? 0 : 0); // the shell's convention for a process killed by signal n
    case 'qemu error': return status ?? 1;
  }
}

/** What a QEMU exit status means for tskernel (tripleFault: see tripleFaulted()). */
export function describeExit(status: number | null, tripleFault?: boolean): string {
  if (status === null) return 'killed (timeout or stopped by the harness)';
  if (status === EXIT_POWEROFF) return 'poweroff (status 33)';
  if (status === EXIT_PANIC) return 'panic (status 35)';
  if (status === 0 && tripleFault === undefined) return 'status 0: the guest reset (triple fault) under -no-reboot, or QEMU was quit';
  if (status === 0) {
    return tripleFault
      ? 'triple fault: the guest reset and -no-reboot stopped QEMU (status 0)'
      : 'quit: QEMU was stopped by the user (Ctrl-A x, a signal or the monitor), no guest reset (status 0)';
  }
  return `QEMU error (status ${status})`;
}
