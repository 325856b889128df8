// The one place that builds QEMU command lines for tskernel.
//
// Everything that starts QEMU - `tsk run`, `tsk debug`, the boot-test
// harness - goes through qemuCommand(), so the machine a test boots is the
// machine a person boots.  qemu-scripts/run.sh mirrors these arguments for
// people with only a shell (a unit test keeps the two in step).

import { existsSync } from 'node:fs';
import path from 'node:path';

export const QEMU_BIN = 'qemu-system-i386';

export interface QemuOptions {
  /** Raw disk image to boot (build/tsk.img). */
  readonly image: string;
  /** Boot cmdline, passed as fw_cfg file opt/tsk/cmdline (DESIGN.md §4). */
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
  /** Start halted with a GDB stub on tcp::1234 (-s -S). */
  readonly gdb?: boolean;
  /** More arguments (devices for later lessons). Never user-mode networking without restrict=on. */
  readonly extraArgs?: readonly string[];
}

export const DEFAULT_MEM_MIB = 32;
export const MIN_MEM_MIB = 4;
export const MAX_MEM_MIB = 3072;

/** QEMU exit statuses (DESIGN.md §4). isa-debug-exit makes QEMU exit with (v << 1) | 1. */
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
  const args = [
    '-nodefaults', // no default NIC, VGA, floppy or serial: only what we ask for (DESIGN.md §7)
    '-no-reboot', // a triple fault exits QEMU (status 0) instead of rebooting forever
    '-display', 'none',
    '-machine', 'pc',
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
    if (o.cmdline.length > 255) throw new QemuOptionError(`the cmdline is ${o.cmdline.length} characters; the kernel keeps at most 255`);
    if (o.cmdline.length > 0) args.push('-fw_cfg', `name=opt/tsk/cmdline,string=${escapeOption(o.cmdline)}`);
  }
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

/** What a QEMU exit status means for tskernel. */
export function describeExit(status: number | null): string {
  if (status === null) return 'killed (timeout or stopped by the harness)';
  if (status === EXIT_POWEROFF) return 'poweroff (status 33)';
  if (status === EXIT_PANIC) return 'panic (status 35)';
  if (status === 0) return 'triple fault: the guest reset and -no-reboot stopped QEMU (status 0)';
  return `QEMU error (status ${status})`;
}
