// `tsk run`'s exit status tells how the machine ended (README: Runtime
// contracts): 0 after poweroff or a user's quit, 35 after a panic, 2 after a
// triple fault, with QEMU's raw status printed.  A quit and a guest reset
// both make QEMU exit 0; they are told apart by watching for the reset
// (QEMU's -d cpu_reset log), in tsk run and in the test harness alike.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boot, ensureImage, expectLinesInOrder, report, startSession } from '../harness/boot.ts';
import { tripleFaultBootSector } from '../harness/images.ts';
import { childOutputPipe } from '../harness/pipe.ts';

const TSK = path.resolve('toolchain/bin/tsk.js');


interface TskRun { status: number | null; stdout: string; stderr: string }

/**
 * Spawn `tsk run ...`; `onOutput` may write to its stdin. A hang is ended by the kill timer (status null).
 * Its stdout is a real pipe (test/harness/pipe.ts), as a terminal would be, so QEMU's serial output is never dropped.
 */
function tskRun(args: readonly string[], onOutput?: (stdout: string, stdin: NodeJS.WritableStream) => void): Promise<TskRun> {
  return new Promise((resolve, reject) => {
    const out = childOutputPipe();
    const child = spawn(process.execPath, [TSK, 'run', '--no-build', ...args], { stdio: ['pipe', out.fd, 'pipe'] });
    out.closeWriteEnd();
    let stdout = '';
    let stderr = '';
    let status: number | null | undefined;
    let ended = false;
    const done = () => { if (ended && status !== undefined) { clearTimeout(timer); resolve({ status, stdout, stderr }); } };
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    out.stream.setEncoding('latin1');
    out.stream.on('data', (d: string) => { stdout += d; onOutput?.(stdout, child.stdin!); });
    out.stream.on('end', () => { ended = true; done(); });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => { stderr += d; });
    child.stdin!.on('error', () => { /* exited */ });
    child.on('error', reject);
    child.on('close', (code) => { status = code; done(); });
    if (!onOutput) child.stdin!.end();
  });
}

let dir = '';
let tripleImage = '';
beforeAll(async () => {
  await ensureImage(); // build/tsk.img, which tsk run --no-build boots
  dir = await mkdtemp(path.join(tmpdir(), 'tsk-run-'));
  tripleImage = path.join(dir, 'tsk.img');
  await writeFile(tripleImage, tripleFaultBootSector());
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe('tsk run exit status', () => {
  it('poweroff (QEMU status 33) exits 0 and says so', async () => {
    const r = await tskRun(['-c', 'test=boot']);
    expect(r.stdout).toMatch(/^\[tsk\] poweroff\r?$/m);
    expect(r.stderr).toMatch(/\[tsk\] QEMU exited: poweroff \(status 33\); tsk exits 0 \(poweroff\)/);
    expect(r.status).toBe(0);
  });

  it('tsk run -- <qemu args>: the arguments reach QEMU after tsk\'s own (a device the guest then finds on the bus)', async () => {
    const r = await tskRun(['-c', 'test=boot', '--', '-device', 'virtio-rng-pci,addr=0x5']);
    expect(r.stderr).toMatch(/^\$ qemu-system-i386 .* -device virtio-rng-pci,addr=0x5$/m);
    expect(r.stdout).toMatch(/^\[pci\] 5 functions on bus 0\r?$/m); // the pc machine's 4, and the one asked for
    expect(r.status).toBe(0);
  });

  it('a kernel panic (QEMU status 35) exits 35', async () => {
    const r = await tskRun(['-c', 'test=div0']);
    expect(r.stdout).toMatch(/^\[panic\] unhandled exception in the kernel\r?$/m);
    expect(r.stderr).toMatch(/\[tsk\] QEMU exited: panic \(status 35\); tsk exits 35 \(panic\)/);
    expect(r.status).toBe(35);
  });

  it('a triple fault (QEMU status 0 after a guest reset) exits 2', async () => {
    const r = await tskRun(['-o', dir]);
    expect(r.stdout).toContain('[triple] resetting');
    expect(r.stderr).toMatch(/\[tsk\] QEMU exited: triple fault: the guest reset and -no-reboot stopped QEMU \(status 0\); tsk exits 2 \(triple fault\)/);
    expect(r.status).toBe(2);
  });

  it('Ctrl-A x at the console (QEMU status 0, no reset) is a quit: exits 0', async () => {
    let sent = false;
    const r = await tskRun([], (out, stdin) => {
      if (!sent && out.includes('tsk> ')) { sent = true; stdin.write('\x01x'); }
    });
    expect(sent).toBe(true);
    expect(r.stdout).toContain('QEMU: Terminated'); // the mux's own goodbye
    expect(r.stderr).toMatch(/\[tsk\] QEMU exited: quit: QEMU was stopped by the user .*\(status 0\); tsk exits 0 \(quit\)/);
    expect(r.stderr).not.toMatch(/triple fault/);
    expect(r.status).toBe(0);
  });
});

describe('the harness tells a guest reset from QEMU being stopped', () => {
  it('a triple fault: status 0 and tripleFault', async () => {
    const r = await boot({ image: tripleImage });
    expectLinesInOrder(r, [/^\[triple\] resetting$/]);
    expect(r.status, report(r)).toBe(0);
    expect(r.tripleFault, report(r)).toBe(true);
  });

  it('QEMU ended by SIGTERM: status 0 but no triple fault', async () => {
    const s = await startSession({});
    await s.waitFor(/^tsk> /, { partial: true });
    process.kill(s.pid!, 'SIGTERM');
    const r = await s.exited;
    expect(r.stderr).toMatch(/terminating on signal 15/);
    expect(r.status, report(r)).toBe(0);
    expect(r.tripleFault, report(r)).toBe(false);
  });
});
