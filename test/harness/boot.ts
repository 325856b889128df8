// The boot-test harness (docs/design.md §6): start QEMU on an image, stream the
// serial lines, stop on exit, a matching line or a timeout, and report
// lines, exit status and elapsed time.  On failure its messages carry the
// last serial lines and the QEMU command, so a person can rerun it, and a
// failed test's boots leave their evidence in build/test-artifacts/
// (test/harness/artifacts.ts).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestRunner, onTestFailed } from 'vitest';
import { artifactFolderName, artifactsRoot, fromProjectRoot, writeBootArtifacts } from './artifacts.ts';
import { Qmp } from './qmp.ts';
import { childOutputPipe } from './pipe.ts';
import {
  type QemuOptions, QemuNotFoundError, describeExit, findQemu, formatCommand, qemuCommand, tripleFaulted,
} from '../../toolchain/qemu.ts';

export interface BootOptions extends Partial<QemuOptions> {
  /** Kill QEMU once a serial line matches (the status is then null). */
  readonly stopOn?: RegExp;
  /** Default 30 s: a boot takes about a second, but CI machines are shared. */
  readonly timeoutMs?: number;
}

export interface BootResult {
  readonly lines: readonly string[];
  /** QEMU's exit status; null when the harness killed it (stopOn or timeout). */
  readonly status: number | null;
  readonly elapsedMs: number;
  readonly timedOut: boolean;
  /**
   * The guest reset, i.e. triple-faulted, and -no-reboot made QEMU exit
   * (status 0): seen in QEMU's CPU-reset log, not inferred from the status
   * (tripleFaulted() in toolchain/qemu.ts).
   */
  readonly tripleFault: boolean;
  readonly stderr: string;
  /** The exact command the harness ran (with its private log, QMP socket and -action shutdown=pause). */
  readonly command: string;
  /** The same boot for a person, from the project root: without the harness's private options. */
  readonly rerunCommand: string;
  /** Milliseconds since start at which each line arrived. */
  readonly times: readonly number[];
}

const DEFAULT_TIMEOUT_MS = 30_000;
const live = new Set<ChildProcess>();
process.once('exit', () => { for (const c of live) c.kill('SIGKILL'); });
/**
 * A fresh folder for one QEMU run's private files - its CPU-reset log
 * (-d cpu_reset -D) and its QMP socket - removed as soon as the run's log has
 * been read (test workers may be ended without an 'exit' event, so nothing
 * waits for that).
 */
function runDir(): string {
  // A UNIX socket's path must fit sockaddr_un.sun_path (108 bytes on Linux,
  // 104 on macOS, with the NUL): under a long TMPDIR QEMU refuses the -qmp
  // option and no boot would start, so the folder goes to /tmp then.
  const base = tmpdir();
  const socketPath = path.join(base, 'tsk-harness-XXXXXX', 'qmp.sock');
  return mkdtempSync(path.join(Buffer.byteLength(socketPath) < 104 ? base : '/tmp', 'tsk-harness-'));
}

/** An image's bytes, or null when it cannot be read (QEMU will say why). */
function readImage(image: string): Buffer | null {
  try { return readFileSync(image); } catch { return null; }
}

/** The CPU state at the end of a run, and where it came from. */
export interface Registers { readonly source: string; readonly text: string }

let imagePromise: Promise<string> | null = null;
/** The image built by the global setup (test/harness/global-setup.ts); built here if missing. */
export function ensureImage(): Promise<string> {
  const image = path.resolve('build/tsk.img');
  imagePromise ??= import('node:fs').then(async (fs) => (fs.existsSync(image) ? image : (await import('../../toolchain/image.ts').then((m) => m.buildImage())).imagePath));
  return imagePromise;
}

/** Splits a byte stream into lines (LF-terminated, CR stripped), keeping a trailing partial line. */
export class LineSplitter {
  readonly lines: string[] = [];
  partial = '';
  push(chunk: string): string[] {
    const text = this.partial + chunk;
    const parts = text.split('\n');
    this.partial = parts.pop()!;
    const added = parts.map((l) => l.replace(/\r/g, ''));
    this.lines.push(...added);
    return added;
  }
  flush(): void {
    if (this.partial) { this.lines.push(this.partial.replace(/\r/g, '')); this.partial = ''; }
  }
}

/** An interactive QEMU run: send bytes to COM1, wait for output. */
export class Session {
  private readonly child: ChildProcess;
  private readonly split = new LineSplitter();
  private readonly start = Date.now();
  private readonly times: number[] = [];
  private stderr = '';
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout;
  private killedByUs = false;
  private outputEnded = false;
  private timedOut = false;
  private registers: Registers | null = null;
  private readonly qmp: Promise<Qmp | null>;
  private shutdownSeen = false;
  private readonly options: BootOptions & { image: string };
  /** An image from outside the project, as it was at boot: kept for the failure artifacts (artifacts.ts). */
  private readonly imageBytes: Buffer | null;
  readonly command: string;
  readonly rerunCommand: string;
  readonly exited: Promise<BootResult>;

  constructor(o: BootOptions & { image: string }) {
    if (!findQemu()) throw new QemuNotFoundError();
    this.options = o;
    // A test's own image (a temporary copy, a hand-made boot sector) is often
    // removed before the test's failure is reported; keep its bytes now.
    this.imageBytes = path.isAbsolute(fromProjectRoot(o.image)) ? readImage(o.image) : null;
    const dir = runDir();
    const resetLog = path.join(dir, 'cpu-reset.log');
    // A QMP socket, so that the registers of a guest that hangs or
    // triple-faults can be read (test/harness/qmp.ts explains shutdown=pause);
    // wait=off: QEMU does not wait for the harness, so a boot is as fast as before.
    const qmpSocket = path.join(dir, 'qmp.sock');
    const cmd = qemuCommand({
      ...o, resetLog,
      extraArgs: [...(o.extraArgs ?? []), '-action', 'shutdown=pause', '-qmp', `unix:${qmpSocket},server=on,wait=off`],
    });
    this.command = formatCommand(cmd);
    this.rerunCommand = formatCommand(qemuCommand({ ...o, image: fromProjectRoot(o.image) }));
    // QEMU's serial output goes through a real pipe, not the socket pair Node
    // would give it: a socket fills after a few hundred one-byte writes and
    // QEMU's UART then drops bytes (see pipe.ts).
    const out = childOutputPipe();
    try {
      this.child = spawn(cmd.bin, cmd.args, { stdio: ['pipe', out.fd, 'pipe'] });
    } finally {
      out.closeWriteEnd();
    }
    live.add(this.child);
    this.attachToTest();
    const gone = () => this.child.exitCode !== null || this.child.signalCode !== null;
    this.qmp = Qmp.connect(qmpSocket, gone).then(async (q) => {
      if (!q) return null;
      q.onEvent((name, data) => { if (name === 'SHUTDOWN') void this.onShutdown(data.reason === 'guest-reset'); });
      // A shutdown before the connection was ready left the machine paused, its event unseen.
      const st = await q.execute('query-status') as { status?: string } | null;
      if (st?.status === 'shutdown') {
        let log = '';
        try { log = readFileSync(resetLog, 'latin1'); } catch { /* not written yet */ }
        void this.onShutdown(tripleFaulted(log));
      }
      return q;
    });
    const stdout = out.stream;
    stdout.setEncoding('latin1');
    stdout.on('data', (d: string) => {
      const added = this.split.push(d);
      for (const line of added) {
        this.times.push(Date.now() - this.start);
        if (o.stopOn?.test(line)) this.kill();
      }
      this.wake();
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (d: string) => { this.stderr += d; });
    this.child.stdin!.on('error', () => { /* QEMU exited while we were writing */ });
    const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      void this.captureRegisters(`the harness's timeout (${timeoutMs} ms)`).finally(() => this.kill());
    }, timeoutMs);
    // Done when QEMU has exited *and* its output has been read to the end:
    // with a pipe the last bytes can arrive after the exit is reported.
    const outputEnded = new Promise<void>((resolve) => {
      const end = () => { this.outputEnded = true; this.wake(); resolve(); };
      stdout.on('end', end);
      stdout.on('error', end);
    });
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', (e) => { stdout.destroy(); reject(e); });
      this.child.on('close', async (code) => {
        void this.qmp.then((q) => q?.close());
        await outputEnded;
        clearTimeout(this.timer);
        live.delete(this.child);
        this.split.flush();
        this.wake();
        const status = this.killedByUs ? null : code;
        let log = '';
        try { log = readFileSync(resetLog, 'latin1'); } catch { /* QEMU never started */ }
        rmSync(dir, { recursive: true, force: true });
        const tripleFault = status === 0 && tripleFaulted(log);
        if (tripleFault && !this.registers) this.registers = { source: "QEMU's -d cpu_reset log (the registers could not be read over QMP)", text: log };
        resolve({
          lines: this.split.lines, status, elapsedMs: Date.now() - this.start, timedOut: this.timedOut,
          tripleFault, stderr: this.stderr, command: this.command, rerunCommand: this.rerunCommand, times: this.times,
        });
      });
    });
  }

  get lines(): readonly string[] { return this.split.lines; }

  /** The QEMU process id (for looking at it from the host, e.g. its CPU time in /proc). */
  get pid(): number | undefined { return this.child.pid; }

  send(data: string | Buffer): void {
    this.child.stdin!.write(data);
  }

  /**
   * Send a large input in chunks, waiting whenever the pipe to QEMU is full
   * ('drain'): QEMU reads only as fast as the guest takes bytes, so this
   * resolves once the last chunk is in the pipe, not when the guest has read it.
   */
  async sendAll(data: Buffer, chunkBytes = 64 * 1024): Promise<void> {
    const stdin = this.child.stdin!;
    for (let off = 0; off < data.length; off += chunkBytes) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`QEMU exited after ${off} of ${data.length} bytes were sent\n${report(this.snapshot())}`);
      if (!stdin.write(data.subarray(off, off + chunkBytes))) {
        await new Promise<void>((resolve) => {
          const done = () => { stdin.off('drain', done); this.child.off('close', done); resolve(); };
          stdin.on('drain', done);
          this.child.on('close', done);
        });
      }
    }
  }

  /**
   * Resolve with the first complete line matching `re` from index `from` on; with
   * `partial`, an unterminated last line (a prompt such as "tsk> ") counts too.
   */
  async waitFor(re: RegExp, opts: { timeoutMs?: number; from?: number; partial?: boolean } = {}): Promise<{ line: string; index: number }> {
    const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
    let from = opts.from ?? 0;
    for (;;) {
      for (let i = from; i < this.split.lines.length; i++) if (re.test(this.split.lines[i]!)) return { line: this.split.lines[i]!, index: i };
      from = this.split.lines.length;
      if (opts.partial && re.test(this.split.partial)) return { line: this.split.partial, index: this.split.lines.length };
      if (this.outputEnded) break; // QEMU has exited and every byte it wrote is in
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((r) => { const t = setTimeout(r, left); this.waiters.push(() => { clearTimeout(t); r(); }); });
    }
    if (!this.outputEnded) await this.captureRegisters(`waitFor(${re}) gave up after ${opts.timeoutMs ?? 15_000} ms`);
    throw new Error(`waited for ${re} but it never came\n${report(this.snapshot())}`);
  }

  /**
   * Run a QEMU monitor (HMP) command, such as 'info pci', on the running
   * guest over the harness's QMP socket; its text, or an error naming the
   * command when QEMU gave no answer.  For checking the guest's view of the
   * machine against QEMU's own.
   */
  async monitor(command: string): Promise<string> {
    const q = await Promise.race([this.qmp, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    const text = await q?.execute('human-monitor-command', { 'command-line': command });
    if (typeof text !== 'string') throw new Error(`QEMU monitor command '${command}' got no answer over QMP\n${report(this.snapshot())}`);
    return text;
  }

  /** Read the registers of the running guest over QMP (kept for the failure artifacts). */
  private async captureRegisters(why: string): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null || this.shutdownSeen) return;
    const at = Date.now() - this.start;
    // Bounded: a QEMU that never opened its socket must not delay the kill for long.
    const q = await Promise.race([this.qmp, new Promise<null>((r) => setTimeout(() => r(null), 2000))]);
    const text = await q?.registers();
    if (text) this.registers = { source: `QEMU monitor 'info registers' at ${at} ms, the guest still running: ${why}`, text };
  }

  /**
   * The machine shut down and -action shutdown=pause paused it: after a
   * triple fault, read the registers it stopped with; then quit, so QEMU
   * exits with status 0 as it would have without the pause.
   */
  private async onShutdown(tripleFault: boolean): Promise<void> {
    if (this.shutdownSeen) return;
    this.shutdownSeen = true;
    const q = await this.qmp;
    if (!q) return;
    if (tripleFault) {
      const at = Date.now() - this.start;
      const text = await q.registers();
      if (text) this.registers = { source: `QEMU monitor 'info registers' at ${at} ms: the CPU as the triple fault left it (the machine paused, not reset)`, text };
    }
    await q.execute('quit');
  }

  /**
   * Write this boot's evidence into `dir` (test/harness/artifacts.ts): for a
   * failed test, by the hook the harness registers; also callable directly.
   * A guest still running is asked for its registers, then stopped.
   */
  async writeArtifacts(dir: string, testName: string): Promise<string[]> {
    if (this.child.exitCode === null && this.child.signalCode === null) await this.captureRegisters('the test failed');
    const r = await this.close();
    const o = this.options;
    return writeBootArtifacts(dir, {
      testName,
      summary: report(r),
      lines: r.lines,
      image: o.image,
      imageBytes: this.imageBytes,
      rerunCommand: (resetLog, image) => formatCommand(qemuCommand({ ...o, image, resetLog })),
      registers: this.registers,
    });
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) { this.killedByUs = true; this.child.kill('SIGKILL'); }
  }

  async close(): Promise<BootResult> {
    this.kill();
    return this.exited;
  }

  /** Register this session with the running test, if any, so that its failure writes the artifacts. */
  private attachToTest(): void {
    const test = TestRunner.getCurrentTest();
    if (!test) return;
    let sessions = sessionsOfTest.get(test);
    if (!sessions) {
      sessions = [];
      sessionsOfTest.set(test, sessions);
      const all = sessions;
      onTestFailed(async ({ task }) => {
        const name = fullTestName(task);
        const base = path.join(artifactsRoot(), artifactFolderName(task.file.filepath, name));
        // One boot: its files in the test's folder; several: boot-1/, boot-2/ ... in start order.
        for (const [i, s] of all.entries()) await s.writeArtifacts(all.length === 1 ? base : path.join(base, `boot-${i + 1}`), name);
      });
    }
    sessions.push(this);
  }

  private snapshot(): BootResult {
    return {
      lines: [...this.split.lines, ...(this.split.partial ? [this.split.partial] : [])], status: this.child.exitCode,
      elapsedMs: Date.now() - this.start, timedOut: false, tripleFault: false, stderr: this.stderr, command: this.command, rerunCommand: this.rerunCommand, times: this.times,
    };
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

const sessionsOfTest = new WeakMap<object, Session[]>();

/** "describe > it", as vitest's reporters name a test. */
function fullTestName(task: { name: string; suite?: { name: string; suite?: unknown } | undefined }): string {
  const names = [task.name];
  for (let s = task.suite as { name: string; suite?: unknown } | undefined; s && s.name; s = s.suite as typeof s) names.unshift(s.name);
  return names.join(' > ');
}

/** Start an interactive session on the tskernel image (built on first use). */
export async function startSession(o: BootOptions = {}): Promise<Session> {
  const image = o.image ?? (await ensureImage());
  return new Session({ ...o, image });
}

/** Boot once, without input, until QEMU exits, stopOn matches, or the timeout. */
export async function boot(o: BootOptions = {}): Promise<BootResult> {
  const s = await startSession(o);
  s.send(''); // keep stdin open; QEMU reads COM1 input from it
  return s.exited;
}

/** The failure report: what happened, the last serial lines, and how to rerun it. */
export function report(r: BootResult, lastN = 30): string {
  const tail = r.lines.slice(-lastN);
  return [
    `QEMU: ${r.timedOut ? 'timed out' : describeExit(r.status, r.tripleFault)} after ${r.elapsedMs} ms`,
    `last ${tail.length} serial lines:`,
    ...tail.map((l) => `  | ${l}`),
    ...(r.stderr.trim() ? ['QEMU stderr:', ...r.stderr.trim().split('\n').map((l) => `  ! ${l}`)] : []),
    `rerun by hand (from the project root): ${r.rerunCommand}`,
  ].join('\n');
}

/** Assert that lines matching each pattern appear, in this order. Returns the matched lines. */
export function expectLinesInOrder(r: BootResult, patterns: readonly RegExp[]): string[] {
  const found: string[] = [];
  let from = 0;
  for (const re of patterns) {
    const i = r.lines.findIndex((l, k) => k >= from && re.test(l));
    if (i < 0) {
      const after = from > 0 ? ` after line ${from}: "${r.lines[from - 1]}"` : '';
      throw new Error(`expected a serial line matching ${re}${after}\n${report(r)}`);
    }
    found.push(r.lines[i]!);
    from = i + 1;
  }
  return found;
}

/** Assert the QEMU exit status (33 poweroff, 35 panic, 0 triple fault). */
export function expectStatus(r: BootResult, status: number): void {
  if (r.status !== status) throw new Error(`expected QEMU to exit with ${describeExit(status)}, but it ended with ${r.timedOut ? 'a timeout' : describeExit(r.status)}\n${report(r)}`);
}

/** Address of a symbol from build/tsk.map (the symbol map written by the build). */
export async function symbolAddress(name: string, mapPath = path.resolve('build/tsk.map')): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(mapPath, 'utf8');
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[3] === name) return parseInt(f[0]!, 16);
  }
  throw new Error(`symbol '${name}' is not in ${mapPath}`);
}
