// Process memory from the page allocator (kernel/proc/spawn.ts, vm.ts,
// exit.ts): the shell's "mem" shows the free pages drop while programs run
// and come back exactly when they end - by exit, a fault, kill, or Ctrl-C,
// also while the CPU idles on the ended process's behalf - and when there
// are too few pages, spawn fails with a line and -ENOMEM, taking nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Session, ensureImage, expectStatus, report, startSession } from '../harness/boot.ts';
import { writePatternImage } from '../../toolchain/disk/pattern.ts';

let image = '';
beforeAll(async () => { image = await ensureImage(); });

/** Pages a process of one image page takes: directory, page table, kernel stack, user stack, the image page. */
const SMALL = 5;

/** Shell helpers over a session: the prompt, a command, and "mem"'s free count. */
function shell(s: Session) {
  const prompt = async () => s.waitFor(/^tsk> /, { partial: true, from: s.lines.length });
  const cmd = async (line: string) => { await prompt(); const from = s.lines.length; s.send(`${line}\r`); return from; };
  const free = async () => {
    const from = await cmd('mem');
    const m = await s.waitFor(/^\[mem\] pages: total (\d+), free (\d+) /, { from });
    const [, total, left] = /total (\d+), free (\d+)/.exec(m.line)!;
    return { total: Number(total), free: Number(left) };
  };
  return { prompt, cmd, free };
}

describe('process memory comes from the page allocator and goes back', () => {
  it('mem drops by each program\'s pages while it runs and is exactly back after exit, fault, kill and Ctrl-C, over many cycles', async () => {
    const s = await startSession({ image });
    try {
      await s.waitFor(/^tsk> $/, { partial: true });
      const { cmd, free } = shell(s);
      const start = await free();
      expect(start.free, s.lines.slice(-40).join('\n')).toBe(start.total);

      // Two programs in the background: 2 x 5 pages gone while they run.
      let from = await cmd('run loop loop &');
      await s.waitFor(/^\[proc\] pid 2 started: loop$/, { from });
      const first = await s.waitFor(/\[loop\] looping forever/, { from });
      await s.waitFor(/\[loop\] looping forever/, { from: first.index + 1 });
      s.send('\r');
      expect((await free()).free).toBe(start.free - 2 * SMALL);
      from = await cmd('kill 1');
      await s.waitFor(/\[proc\] pid 1 killed: kill command$/, { from });
      s.send('\r');
      expect((await free()).free).toBe(start.free - SMALL);
      s.send('\x03');
      await s.waitFor(/\[proc\] pid 2 killed: Ctrl-C$/, { from });
      s.send('\r');
      expect((await free()).free).toBe(start.free);

      // Ctrl-C while the program is blocked in read() and the CPU idles on its behalf: its kernel
      // stack and directory are the ones in use when they are freed (exit.ts, proc_interrupt).
      from = await cmd('run syscalls');
      await s.waitFor(/^\[syscalls\] read\(0, buf, 64\): type a line$/, { from });
      await new Promise((r) => setTimeout(r, 100)); // let it block in read()
      s.send('\x03');
      await s.waitFor(/\[proc\] pid 3 killed: Ctrl-C$/, { from });
      s.send('\r');
      expect((await free()).free).toBe(start.free);

      // Faults end programs through proc_end, which leaves their stack and address space first.
      from = await cmd('run fault_ud fault_unmapped fault_kwrite');
      for (const pid of [4, 5, 6]) await s.waitFor(new RegExp(`^\\[proc\\] pid ${pid} killed: `), { from });
      expect((await free()).free).toBe(start.free);

      // Many spawn/exit cycles: seven at a time, five times over; nothing leaks.
      let pid = 7;
      for (let round = 0; round < 5; round++) {
        from = await cmd(`run ${Array(7).fill('hello').join(' ')}`);
        for (let k = 0; k < 7; k++, pid++) await s.waitFor(new RegExp(`^\\[proc\\] pid ${pid} exited with code 0$`), { from });
        expect((await free()).free, `round ${round}`).toBe(start.free);
      }
      await cmd('poweroff');
      const r = await s.exited;
      expect(r.lines.filter((l) => l.startsWith('[pmm] free') || l.startsWith('[panic]') || l.includes(' ended: gave back ')), report(r)).toEqual([]);
      expectStatus(r, 33);
    } finally {
      await s.close();
    }
  });
});

describe('running out of memory', () => {
  it('-m 1100K: spawn fails with a line and -ENOMEM once the pages run out, takes nothing, and the rest run; mem test with no pages to spare says so', async () => {
    // QEMU's -m takes KiB too; 1100K leaves about 20 pages above 1 MiB: a few processes, not seven.
    const s = await startSession({ image, extraArgs: ['-m', '1100K'] });
    try {
      await s.waitFor(/^tsk> $/, { partial: true });
      const { cmd, free } = shell(s);
      const start = await free();
      const fit = Math.floor(start.free / SMALL);
      expect(fit, s.lines.slice(-40).join('\n')).toBeGreaterThanOrEqual(1);
      expect(fit).toBeLessThan(7); // else this machine has too much memory for the test
      let pid = 1;
      for (let round = 0; round < 3; round++) {
        const from = await cmd(`run ${Array(7).fill('hello').join(' ')}`);
        const refused = `[proc] cannot start: out of memory for 'hello' (it needs ${SMALL} pages, ${start.free - fit * SMALL} are free)`;
        for (let k = 0; k < fit; k++, pid++) await s.waitFor(new RegExp(`^\\[proc\\] pid ${pid} exited with code 0$`), { from });
        const lines = s.lines.slice(from);
        expect(lines.filter((l) => l === refused).length, `round ${round}`).toBe(7 - fit);
        expect(lines.filter((l) => /^\[proc\] pid \d+ started: hello$/.test(l)).length).toBe(fit);
        expect((await free()).free, `round ${round}: every page back, the refused spawns took none`).toBe(start.free);
      }
      // Programs holding every page they can: "mem test" has too few to work with, and says so.
      expect(start.free % SMALL, 'the test needs fewer than 2 pages left over').toBeLessThan(2);
      let from = await cmd(`run ${Array(fit).fill('loop').join(' ')} &`);
      for (let k = 0; k < fit; k++, pid++) await s.waitFor(new RegExp(`^\\[proc\\] pid ${pid} started: loop$`), { from });
      let seen = from;
      for (let k = 0; k < fit; k++) seen = (await s.waitFor(/\[loop\] looping forever/, { from: seen })).index + 1;
      s.send('\r'); // the prompt scrolled away under their output: ask for a fresh one
      expect((await free()).free).toBe(start.free % SMALL);
      from = await cmd('mem test');
      await s.waitFor(new RegExp(`^\\[mem\\] test not run: it needs 2 free pages, and ${start.free % SMALL} are free `), { from });
      expect(s.lines.slice(from).some((l) => l.includes('FAILED'))).toBe(false);
      s.send('\x03');
      for (let k = 0; k < fit; k++) await s.waitFor(new RegExp(`\\[proc\\] pid ${pid - fit + k} killed: Ctrl-C$`), { from });
      s.send('\r');
      expect((await free()).free).toBe(start.free);
      await cmd('poweroff');
      const r = await s.exited;
      expect(r.lines.filter((l) => l.startsWith('[pmm] free') || l.startsWith('[panic]') || l.includes(' ended: gave back ')), report(r)).toEqual([]);
      expectStatus(r, 33);
    } finally {
      await s.close();
    }
  });
});

describe('a process killed while its sector call waits for the disk', () => {
  it('Ctrl-C during blkread on a throttled virtio-blk disk: the page the call lent the device comes back when the device is done with it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsk-procmem-'));
    const file = path.join(dir, 'slow.img');
    writePatternImage(file, 4096);
    // One request a second: the sectors program's first blkread of vda blocks for a good while.
    const s = await startSession({ image, extraArgs: ['-drive', `if=none,id=slow,file=${file},format=raw,snapshot=on,throttling.iops-total=1`, '-device', 'virtio-blk-pci,drive=slow,addr=0x5'] });
    try {
      await s.waitFor(/^tsk> $/, { partial: true, timeoutMs: 30_000 });
      const { cmd, free } = shell(s);
      const start = await free();
      for (let round = 0; round < 2; round++) {
        const from = await cmd('run sectors');
        await s.waitFor(/^\[proc\] pid \d+ started: sectors$/, { from });
        await new Promise((r) => setTimeout(r, 200)); // let it block in blkread
        s.send('\x03');
        await s.waitFor(/\[proc\] pid \d+ killed: Ctrl-C$/, { from });
        // The request it left in flight completes within the throttle's second; then every page is back.
        let now = start.free - 1;
        for (let t = 0; t < 40 && now !== start.free; t++) {
          await new Promise((r) => setTimeout(r, 250));
          s.send('\r');
          now = (await free()).free;
        }
        expect(now, `round ${round}: free pages after the killed call's request completed`).toBe(start.free);
      }
      await cmd('poweroff');
      const r = await s.exited;
      expect(r.lines.filter((l) => l.startsWith('[pmm] free') || l.startsWith('[panic]') || l.includes(' ended: gave back ')), report(r)).toEqual([]);
      expectStatus(r, 33);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
