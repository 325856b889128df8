// Hardening: whole console lines, long and hostile cmdlines, too little RAM,
// honest tick accounting, sleep across the tick wrap - asserted on what the
// guest printed and its exit status.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BootResult, boot, ensureImage, expectLinesInOrder, expectStatus, report, startSession } from '../harness/boot.ts';

let image = '';
beforeAll(async () => { image = await ensureImage(); });

/** A kernel line: "[subsystem] message", with no second "[x]" glued into it. */
const WELL_FORMED = /^\[[a-z0-9_]+\] [^[]*$/;
const torn = (r: BootResult) => r.lines.filter((l) => !WELL_FORMED.test(l));

/** QEMU's fw_cfg option for a cmdline the harness's `cmdline` option would refuse (longer than the host's limit). */
const fwCfgString = (cmdline: string) => ['-fw_cfg', `name=opt/tsk/cmdline,string=${cmdline.replace(/,/g, ',,')}`];

describe('console lines stay whole', () => {
  it('lines printed by the timer interrupt never land inside a line the kernel task is printing (test=console, hz=1000)', async () => {
    const r = await boot({ image, cmdline: 'test=console hz=1000' });
    expectStatus(r, 33);
    expect(torn(r), report(r)).toEqual([]);
    const kernel = r.lines.filter((l) => l.startsWith('[console] kernel line '));
    const irq = r.lines.filter((l) => l.startsWith('[console] interrupt line '));
    for (const l of kernel) expect(l).toMatch(/^\[console\] kernel line \d+: printed by the kernel task with interrupts enabled$/);
    expect(irq).toEqual(Array.from({ length: 20 }, (_, i) => `[console] interrupt line ${i + 1}: printed by the IRQ0 handler`));
    const [done] = expectLinesInOrder(r, [/^\[console\] done: (\d+) kernel lines and 20 interrupt lines$/]);
    expect(kernel.length).toBe(Number(/done: (\d+)/.exec(done!)![1]));
  });

  it('every boot-log line is whole at hz=1000, "[kernel] interrupts enabled" included (16 boots, 4 at a time)', async () => {
    for (let round = 0; round < 4; round++) {
      const runs = await Promise.all([0, 1, 2, 3].map(() => boot({ image, cmdline: 'test=boot hz=1000' })));
      for (const r of runs) {
        expectStatus(r, 33);
        expect(torn(r), report(r)).toEqual([]);
        expectLinesInOrder(r, [/^\[kernel\] interrupts enabled$/, /^\[tsk\] ready$/]);
        expect(r.lines.filter((l) => l.startsWith('[pit] first tick')), report(r)).toEqual(['[pit] first tick arrived on vector 32 (IRQ0 remapped to 32: ok)']);
      }
    }
  });

  it('two programs writing lines piecewise, preempted, with strace=1: every line has one writer', async () => {
    const r = await boot({ image, cmdline: 'test=preempt strace=1' });
    expectStatus(r, 33);
    expect(torn(r), report(r)).toEqual([]);
    const spin = r.lines.filter((l) => l.startsWith('[spin]'));
    for (const l of spin) expect(l, report(r)).toMatch(/^\[spin\] pid [12] step [1-5]\/5$/);
    expect(spin.length, report(r)).toBe(10);
    // Each spin line takes five write() calls; each call is traced around it.
    expect(r.lines.filter((l) => /^\[strace\] pid [12] <- write = \d+$/.test(l)).length).toBeGreaterThanOrEqual(50);
  });
});

describe('console lines stay whole at the shell', () => {
  it('background programs and their exit messages never glue onto the prompt or the line being typed', async () => {
    const s = await startSession({ image });
    try {
      await s.waitFor(/^tsk> $/, { partial: true });
      s.send('run spin spin &\r');
      await s.waitFor(/^\[proc\] pid 2 started: spin$/);
      s.send('echo typed while they run\r');
      await s.waitFor(/^\[echo\] typed while they run$/);
      for (const pid of [1, 2]) await s.waitFor(new RegExp(`^\\[proc\\] pid ${pid} exited with code 0$`), { timeoutMs: 20_000 });
      s.send('\rpoweroff\r');
      const r = await s.exited;
      expectStatus(r, 33);
      // A line is a kernel line, a user line, or the prompt with what was typed after it.
      const bad = r.lines.filter((l) => !WELL_FORMED.test(l) && !/^(tsk> )?[a-z &]*$/.test(l));
      expect(bad, report(r)).toEqual([]);
      expect(r.lines.filter((l) => l.startsWith('[spin]')).length, report(r)).toBe(10);
    } finally {
      await s.close();
    }
  });
});

describe('long and hostile cmdlines', () => {
  it('a 300-byte cmdline is read whole: test=boot across byte 255 applies (a 255-byte reader would see test=boo)', async () => {
    const cmdline = `${'strace=0 '.repeat(27)}    test=boot${' strace=0'.repeat(4)} seed=12`;
    expect(cmdline.length).toBe(300);
    expect(cmdline.slice(0, 255).endsWith(' test=boo')).toBe(true);
    const r = await boot({ image, extraArgs: fwCfgString(cmdline) });
    expect(r.lines, report(r)).toContain(`[boot] cmdline: ${cmdline}`);
    expect(r.lines.some((l) => /truncated|only the first/.test(l)), report(r)).toBe(false);
    expectLinesInOrder(r, [/^\[tsk\] ready$/]);
    expectStatus(r, 33);
  });

  it('beyond 4096 bytes the word cut at the limit is reported and dropped, never applied', async () => {
    // "hz=1000" straddles byte 4096: the kernel would keep "hz=10".
    const head = 'test=boot ';
    const cmdline = `${head}${' '.repeat(4096 - head.length - 5)}hz=1000 seed=7`;
    const dir = await mkdtemp(path.join(tmpdir(), 'tsk-cmdline-'));
    try {
      const file = path.join(dir, 'cmdline');
      await writeFile(file, cmdline);
      const r = await boot({ image, extraArgs: ['-fw_cfg', `name=opt/tsk/cmdline,file=${file.replace(/,/g, ',,')}`] });
      expectLinesInOrder(r, [
        new RegExp(`^\\[boot\\] cmdline is ${cmdline.length} bytes; only the first 4096 are read, the rest is ignored; the word cut at byte 4096 is dropped: 'hz=10'$`),
        /^\[pit\] channel 0 mode 2 \(rate generator\), divisor 11932 -> 100 Hz$/,
        /^\[tsk\] ready$/,
      ]);
      expect(r.lines.some((l) => /hz=10 is out of range/.test(l)), report(r)).toBe(false);
      expectStatus(r, 33);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('control bytes in the cmdline are echoed escaped (\\xHH), never raw', async () => {
    const r = await boot({ image, cmdline: 'test=boot k\x1b[2J=1 \x07bell \\x=2' });
    expectLinesInOrder(r, [
      /^\[boot\] cmdline: test=boot k\\x1B\[2J=1 \\x07bell \\\\x=2$/,
      /^\[boot\] unknown cmdline key 'k\\x1B\[2J' ignored/,
      /^\[boot\] cmdline word '\\x07bell' ignored \(not key=value\)$/,
      /^\[boot\] unknown cmdline key '\\\\x' ignored/,
      /^\[tsk\] ready$/,
    ]);
    expect(r.lines.filter((l) => /[\x00-\x1f\x7f]/.test(l)), report(r)).toEqual([]);
    expectStatus(r, 33);
  });

  it('an unknown scenario name is echoed escaped too', async () => {
    const r = await boot({ image, cmdline: 'test=\x1bc' });
    expectLinesInOrder(r, [/^\[tsk\] unknown test scenario '\\x1Bc' \(known: /]);
    expectStatus(r, 35);
  });
});

describe('too little RAM is a clear panic, never a triple fault', () => {
  // The harness refuses less than 4 MiB; a later -m wins in QEMU, so extraArgs sets the real size.
  // What counts is the usable RAM from 1 MiB in the E820 map (mem_check, kernel/proc/proc.ts): the
  // pages of one process of the largest size.  Its number is computed here from the map stage 2 printed.
  for (const size of ['1', '1080K']) {
    it(`-m ${size}: the kernel says how much it has from 1 MiB and needs, and panics (status 35)`, async () => {
      const r = await boot({ image, cmdline: 'test=hello', extraArgs: ['-m', size] });
      const high = r.lines.flatMap((l) => {
        const m = /^\[e820\] 0x([0-9A-F]{16})-0x([0-9A-F]{16}) usable$/.exec(l);
        if (!m) return [];
        const [first, last] = [parseInt(m[1]!, 16), parseInt(m[2]!, 16)];
        return last < 0x100000 ? [] : [(last + 1 - Math.max(first, 0x100000)) / 1024];
      }).reduce((x, y) => x + y, 0);
      expect(high, report(r)).toBeLessThan(60);
      expectLinesInOrder(r, [
        new RegExp(`^\\[mem\\] RAM from 1 MiB: ${high} KiB usable \\(e820 map\\); tskernel needs 60 KiB there \\(the pages of one process\\)$`),
        /^\[panic\] not enough memory: tskernel needs 60 KiB of usable RAM from 1 MiB; give the machine at least 2 MiB \(QEMU -m 2\)$/,
      ]);
      expect(r.lines.some((l) => l.startsWith('[proc] pid')), report(r)).toBe(false);
      expectStatus(r, 35);
    });
  }

  it('-m 1090K, just enough: a program runs (running out later is -ENOMEM, not a panic: test/boot/procmem.test.ts)', async () => {
    const r = await boot({ image, cmdline: 'test=hello', extraArgs: ['-m', '1090K'] });
    expectLinesInOrder(r, [/^\[mem\] RAM from 1 MiB: \d+ KiB usable \(e820 map\); tskernel needs 60 KiB/, /^\[proc\] pid 1 exited with code 0$/]);
    expectStatus(r, 33);
  });
});

describe('tick accounting', () => {
  it('ps charges the ticks of a 1 s sleep with nothing to run to idle, not to the kernel task or the program that ran last', async () => {
    const r = await boot({ image, cmdline: 'test=idle' });
    const [, kernelLine, idleLine, totalLine] = expectLinesInOrder(r, [
      /^\[proc\] pid 1 exited with code 0$/,
      /^\[ps\] pid 0 kernel running ticks=(\d+) syscalls=0$/,
      /^\[ps\] idle \(CPU halted, nothing could run\) ticks=(\d+)$/,
      /^\[idle\] ticks since boot: (\d+)$/,
    ]);
    const n = (l: string) => Number(/(\d+)$/.exec(l)![1]);
    expect(n(idleLine!), report(r)).toBeGreaterThanOrEqual(100); // a 1000 ms sleep at 100 Hz
    expect(n(kernelLine!), report(r)).toBeLessThan(100);
    expect(n(kernelLine!) + n(idleLine!)).toBeLessThanOrEqual(n(totalLine!));
    expectStatus(r, 33);
  });
});

describe('sleep across the 32-bit tick wrap', () => {
  it('a 1000 ms sleep that starts 50 ticks before ticks wraps to 0 still lasts 100 ticks', async () => {
    const r = await boot({ image, cmdline: 'test=sleepwrap' });
    const [, woke] = expectLinesInOrder(r, [
      /^\[sleepwrap\] ticks set to 0xFFFFFFCE \(50 ticks before the wrap\); sleeping 1000 ms$/,
      /^\[sleepwrap\] woke at ticks=0x([0-9A-F]{8}) after (\d+) ticks at 100 Hz$/,
    ]);
    const m = /ticks=0x([0-9A-F]{8}) after (\d+)/.exec(woke!)!;
    expect(Number(m[2]), report(r)).toBeGreaterThanOrEqual(100);
    expect(Number(m[2]), report(r)).toBeLessThanOrEqual(102);
    expect(parseInt(m[1]!, 16)).toBeLessThan(0x100); // it did wrap
    expectStatus(r, 33);
  });
});
