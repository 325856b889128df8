// A minimal client of QEMU's machine protocol (QMP, JSON lines over a UNIX
// socket), for what the boot-test harness needs from a running QEMU: the
// SHUTDOWN event, the run state, the CPU registers and quit.
//
// Why the harness talks to QEMU at all: the evidence of a failed boot includes
// the registers at the end, and for a hang or a triple fault only QEMU has
// them.  Under -no-reboot a triple fault makes QEMU exit at once, without the
// CPU reset whose -d cpu_reset dump would show the state, so the harness runs
// QEMU with `-action shutdown=pause`: the guest's shutdown (the triple fault
// turned into a reset, turned into a shutdown by -no-reboot) pauses the
// machine instead; the harness reads `info registers` and sends `quit`, and
// QEMU exits with status 0 exactly as it did before.  A signal (SIGTERM) is a
// shutdown too: it is answered with `quit` alone.  Should the harness fail
// to connect (QEMU gives it 10 s), a triple fault would leave QEMU paused
// until the boot's timeout: slower and reported as a timeout, never a pass.

import net from 'node:net';

type Message = Record<string, unknown>;

export class Qmp {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<number, (m: Message | null) => void>();
  private eventHandler: (name: string, data: Message) => void = () => {};
  private closed = false;

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    const end = () => { this.closed = true; for (const f of this.pending.values()) f(null); this.pending.clear(); };
    sock.on('close', end);
    sock.on('error', end);
  }

  /**
   * Connect to QEMU's QMP socket (`-qmp unix:PATH,server=on,wait=off`) and
   * negotiate capabilities.  QEMU creates the socket while it starts, so the
   * connection is retried until `deadlineMs` or until `gone()` says QEMU has
   * exited; resolves null then.
   */
  static async connect(path: string, gone: () => boolean, deadlineMs = 10_000): Promise<Qmp | null> {
    const until = Date.now() + deadlineMs;
    while (!gone() && Date.now() < until) {
      const sock = await new Promise<net.Socket | null>((resolve) => {
        const s = net.createConnection(path);
        s.once('connect', () => { s.removeAllListeners('error'); resolve(s); });
        s.once('error', () => { s.destroy(); resolve(null); });
      });
      if (!sock) { await new Promise((r) => setTimeout(r, 10)); continue; }
      const q = new Qmp(sock);
      // The greeting ({"QMP": ...}) comes first; commands are refused until qmp_capabilities.
      const ok = await q.execute('qmp_capabilities');
      if (ok !== null) return q;
      q.close();
      return null;
    }
    return null;
  }

  onEvent(f: (name: string, data: Message) => void): void { this.eventHandler = f; }

  /** Run a QMP command; resolves its "return" value, or null on an error reply, a closed socket or after `timeoutMs`. */
  execute(command: string, args?: Message, timeoutMs = 5000): Promise<unknown> {
    if (this.closed) return Promise.resolve(null);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.pending.delete(id); resolve(null); }, timeoutMs);
      this.pending.set(id, (m) => { clearTimeout(timer); resolve(m && 'return' in m ? m.return : null); });
      this.sock.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  /** QEMU's own register dump (HMP `info registers`), or null. */
  async registers(): Promise<string | null> {
    const r = await this.execute('human-monitor-command', { 'command-line': 'info registers' });
    return typeof r === 'string' ? r : null;
  }

  close(): void { this.closed = true; this.sock.destroy(); }

  private onData(d: string): void {
    this.buf += d;
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let m: Message;
      try { m = JSON.parse(line) as Message; } catch { continue; }
      if (typeof m.event === 'string') this.eventHandler(m.event, (m.data ?? {}) as Message);
      else if (typeof m.id === 'number') { const f = this.pending.get(m.id); this.pending.delete(m.id); f?.(m); }
    }
  }
}
