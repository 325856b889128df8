// Ring 3: user programs, the int 0x80 system calls, user faults, preemptive
// scheduling and the shell's run/ps - asserted on what the guest printed.
import { beforeAll, describe, expect, it } from 'vitest';
import { boot, ensureImage, expectLinesInOrder, expectStatus, report, startSession, symbolAddress } from '../harness/boot.ts';

let image = '';
beforeAll(async () => { image = await ensureImage(); });

const hex8 = (v: number) => v.toString(16).toUpperCase().padStart(8, '0');
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Linux errno values (docs/design.md §4): what the syscall table documents.
const EBADF = -9, EFAULT = -14, EINVAL = -22, ENOSYS = -38;

describe('hello: a program in ring 3', () => {
  it('prints through int 0x80 from CPL 3 and exits with its code', async () => {
    const r = await boot({ image, cmdline: 'test=hello' });
    expectLinesInOrder(r, [
      /^\[gdt\] kernel GDT loaded: user code 0x1B, user data 0x23, TSS 0x28/,
      /^\[syscall\] int 0x80: DPL 3 interrupt gate, 10 calls \(exit, write, read, getpid, uptime, sleep, yield, blkread, blkwrite, blkflush\)$/,
      /^\[proc\] pid 1 started: hello$/,
      /^\[hello\] hello, world from user mode: CS=0x1B, CPL=3$/,
      /^\[proc\] pid 1 exited with code 0$/,
    ]);
    expectStatus(r, 33);
  });

  it('strace=1 shows each call entering the kernel from CS=0x1B (RPL 3) and its result', async () => {
    const r = await boot({ image, cmdline: 'test=hello strace=1' });
    const enters = r.lines.map((l) => /\[strace\] pid 1 CS=0x(..) -> (\w+)\((.*)\)$/.exec(l)).filter((m) => m !== null);
    expect(enters.length, report(r)).toBeGreaterThanOrEqual(2);
    for (const m of enters) expect(m![1], m![0]).toBe('1B');
    expect(enters.map((m) => m![2])).toContain('write');
    expect(enters.at(-1)![2]).toBe('exit');
    expect(enters.at(-1)![3]).toBe('0x0');
    const leaves = r.lines.map((l) => /\[strace\] pid 1 <- write = (-?\d+)$/.exec(l)).filter((m) => m !== null);
    expect(leaves.length).toBe(enters.length - 1); // every call but exit returns
    expectStatus(r, 33);
  });
});

describe('cmdline keys of this lesson', () => {
  it('seed=, strace= and hz= take decimal numbers; anything else is reported and ignored', async () => {
    const r = await boot({ image, cmdline: 'test=hello seed=abc strace=yes hz=1e3' });
    expectLinesInOrder(r, [
      /^\[boot\] seed='abc' is not a decimal number; ignored$/,
      /^\[boot\] strace='yes' is not a decimal number; ignored$/,
      /^\[boot\] hz='1e3' is not a decimal number; ignored$/,
      /^\[hello\] hello, world from user mode: CS=0x1B, CPL=3$/,
    ]);
    expect(r.lines.some((l) => l.startsWith('[strace]'))).toBe(false);
    expectStatus(r, 33);
  });
});

describe('system calls: valid and invalid arguments', () => {
  it('each call returns the documented result or negative errno, read(0) gets a typed line, exit(3) is reported', async () => {
    const s = await startSession({ image, cmdline: 'test=syscalls' });
    let r;
    try {
      await s.waitFor(/^\[syscalls\] read\(0, buf, 64\): type a line$/);
      s.send('ping\r');
      await s.waitFor(/^\[syscalls\] read\(0, buf, 64\) = 5: ping$/);
      s.send('abcdef\r');
      r = await s.exited;
    } finally {
      await s.close();
    }
    const expected: [string, number | RegExp][] = [
      ['write(1, msg, 31)', 31], ['write(2, msg, 31)', 31], ['write(1, msg, 0)', 0],
      ['write(1, 0x10000, 16)', EFAULT], ['write(1, 0x500000, 16)', EFAULT], ['write(1, 0x7FEFF8, 16)', EFAULT],
      ['write(1, 0xFFFFFFF0, 32)', EFAULT], ['write(1, msg, 4097)', EINVAL], ['write(1, msg, -1)', EINVAL],
      ['write(0, msg, 1)', EBADF], ['write(7, msg, 1)', EBADF],
      ['read(1, buf, 16)', EBADF], ['read(0, 0x10000, 16)', EFAULT], ['read(0, 0xB8000, 16)', EFAULT],
      ['read(0, 0x500000, 16)', EFAULT], ['read(0, buf, 4097)', EINVAL], ['read(0, buf, 0)', 0],
      ['getpid()', 1], ['uptime()', /^\d+$/], ['sleep(60001)', EINVAL], ['sleep(-1)', EINVAL], ['sleep(0)', 0], ['yield()', 0],
      ['syscall 10()', ENOSYS], ['syscall 0x80000000()', ENOSYS], ['syscall -1()', ENOSYS],
    ];
    for (const [call, want] of expected) {
      const line = r.lines.find((l) => l.startsWith(`[syscalls] ${call} = `));
      expect(line, `no result line for ${call}\n${report(r)}`).toBeDefined();
      const got = line!.slice(`[syscalls] ${call} = `.length);
      if (typeof want === 'number') expect(got, call).toBe(String(want));
      else expect(got, call).toMatch(want);
    }
    expectLinesInOrder(r, [
      /^\[syscalls\] hello from write\(1\)$/,
      /^\[syscalls\] hello from write\(2\)$/,
    ]);
    const [sleepLine] = expectLinesInOrder(r, [/^\[syscalls\] sleep\(100\) = 0 after (\d+) ticks$/]);
    expect(Number(/after (\d+)/.exec(sleepLine!)![1])).toBeGreaterThanOrEqual(10); // 100 ms at 100 Hz
    expectLinesInOrder(r, [
      /^\[syscalls\] read\(0, buf, 64\) = 5: ping$/,
      /^\[syscalls\] read\(0, buf, 3\) = 3: abc$/,
      /^\[syscalls\] read\(0, buf, 64\) = 4: def$/,
      /^\[syscalls\] done, exit\(3\)$/,
      /^\[proc\] pid 1 exited with code 3$/,
    ]);
    expectStatus(r, 33);
  });
});

describe('fuzz: 10,000 random system calls', () => {
  for (const seed of [42, 2026]) {
    it(`seed=${seed}: every call is answered with a result or a known errno, and the kernel lives on`, async () => {
      const r = await boot({ image, cmdline: `test=fuzz seed=${seed}`, timeoutMs: 60_000 });
      expectLinesInOrder(r, [new RegExp(`^\\[fuzz\\] seed=0x${seed.toString(16).toUpperCase()}: 10000 random system calls$`)]);
      const [done] = expectLinesInOrder(r, [
        /^\[fuzz\] done: (\d+) syscalls, ok=(\d+) ENOSYS=(\d+) EFAULT=(\d+) EINVAL=(\d+) EBADF=(\d+) ENODEV=(\d+) other=(\d+) \(skipped draws: \d+\)$/,
        /^\[proc\] pid 1 exited with code 0$/,
        /^\[hello\] hello, world from user mode: CS=0x1B, CPL=3$/,
        /^\[tsk\] kernel alive after the user programs$/,
      ]);
      const [total, ok, enosys, efault, einval, ebadf, enodev, other] = /done: (\d+) syscalls, ok=(\d+) ENOSYS=(\d+) EFAULT=(\d+) EINVAL=(\d+) EBADF=(\d+) ENODEV=(\d+) other=(\d+)/
        .exec(done!)!.slice(1).map(Number);
      expect(total).toBeGreaterThanOrEqual(10000);
      expect(ok! + enosys! + efault! + einval! + ebadf! + enodev! + other!).toBe(total);
      expect(other).toBe(0);
      for (const [name, n] of Object.entries({ ok, enosys, efault, einval, ebadf, enodev })) expect(n, name).toBeGreaterThan(0);
      expect(r.lines.some((l) => /^\[exception\]|^\[panic\]|killed/.test(l)), report(r)).toBe(false);
      expectStatus(r, 33);
    });
  }

  it('two runs with the same seed give the same summary (the LFSR is the only source of randomness)', async () => {
    const runs = await Promise.all([1, 2].map(() => boot({ image, cmdline: 'test=fuzz seed=7', timeoutMs: 60_000 })));
    const summaries = runs.map((r) => r.lines.find((l) => l.startsWith('[fuzz] done:')));
    expect(summaries[0]).toBeDefined();
    expect(summaries[1]).toBe(summaries[0]);
  });
});

describe('faults in ring 3 kill the program, not the kernel', () => {
  const faults = [
    ['fault_cli', '#GP general protection'], ['fault_hlt', '#GP general protection'], ['fault_in', '#GP general protection'],
    ['fault_out', '#GP general protection'], ['fault_int', '#GP general protection'], ['fault_kread', '#PF page fault'],
    ['fault_kwrite', '#PF page fault'], ['fault_unmapped', '#PF page fault'], ['fault_div0', '#DE divide error'],
    ['fault_ud', '#UD invalid opcode'],
  ] as const;
  const pfDetail: Record<string, string> = {
    fault_kread: 'CR2=0x00010000 error=0x05 (protection violation, read, user mode)',
    fault_kwrite: 'CR2=0x00010000 error=0x07 (protection violation, write, user mode)',
    fault_unmapped: 'CR2=0x00500000 error=0x04 (page not present, read, user mode)',
  };

  it('each fault program is killed at its faulting instruction with the right exception; then hello still runs', async () => {
    const r = await boot({ image, cmdline: 'test=faults' });
    const patterns: RegExp[] = [];
    for (const [i, [name, exc]] of faults.entries()) {
      // Each program is linked at USER_BASE; its faulting instruction's label is in the symbol map.
      const eip = await symbolAddress(`${name}_insn`);
      const pid = i + 1;
      patterns.push(new RegExp(`^\\[proc\\] pid ${pid} started: ${name}$`));
      patterns.push(new RegExp(`^\\[proc\\] pid ${pid} killed: ${esc(exc)} at 0x${hex8(eip)}$`));
      if (pfDetail[name]) patterns.push(new RegExp(`^\\[proc\\] pid ${pid} page fault address ${esc(pfDetail[name])}$`));
    }
    expectLinesInOrder(r, [
      ...patterns,
      /^\[hello\] hello, world from user mode: CS=0x1B, CPL=3$/,
      /^\[tsk\] kernel alive after the user programs$/,
    ]);
    expect(r.lines.filter((l) => /still running/.test(l)), report(r)).toEqual([]);
    expect(r.lines.some((l) => /^\[panic\]|^\[exception\]/.test(l))).toBe(false);
    expectStatus(r, 33);
  });
});

describe('on the smallest machine we support', () => {
  it('a 486 with 8 MiB runs the fault programs and the preemption scenario too', async () => {
    const faults = await boot({ image, cmdline: 'test=faults', cpu: '486', memMiB: 8 });
    expect(faults.lines.filter((l) => / killed: /.test(l)).length, report(faults)).toBe(10);
    expectLinesInOrder(faults, [/^\[tsk\] kernel alive after the user programs$/]);
    expectStatus(faults, 33);
    const preempt = await boot({ image, cmdline: 'test=preempt', cpu: '486', memMiB: 8 });
    expectLinesInOrder(preempt, [/^\[proc\] pid 1 exited with code 0$/]);
    expectLinesInOrder(preempt, [/^\[proc\] pid 2 exited with code 0$/]);
    expectStatus(preempt, 33);
  });
});

describe('preemptive round-robin scheduling', () => {
  it('two CPU-bound programs both make progress, interleaved, while the tick count advances', async () => {
    const r = await boot({ image, cmdline: 'test=preempt' });
    const [before] = expectLinesInOrder(r, [/^\[preempt\] ticks before: (\d+)$/]);
    const steps = r.lines.map((l) => /^\[spin\] pid (\d) step (\d)\/5$/.exec(l)).filter((m) => m !== null).map((m) => [Number(m![1]), Number(m![2])]);
    expect(steps.filter(([pid]) => pid === 1).map(([, s]) => s), report(r)).toEqual([1, 2, 3, 4, 5]);
    expect(steps.filter(([pid]) => pid === 2).map(([, s]) => s)).toEqual([1, 2, 3, 4, 5]);
    // Without preemption one would finish all five steps before the other
    // printed its first: the pid sequence would change only once.
    const switches = steps.slice(1).filter(([pid], i) => pid !== steps[i]![0]).length;
    expect(switches, steps.join(' ')).toBeGreaterThanOrEqual(4);
    const [after] = expectLinesInOrder(r, [/^\[preempt\] ticks after: (\d+)$/]);
    const t0 = Number(/(\d+)$/.exec(before!)![1]);
    const t1 = Number(/(\d+)$/.exec(after!)![1]);
    expect(t1 - t0).toBeGreaterThanOrEqual(25); // each spin needs 5 steps x 5 ticks
    expectStatus(r, 33);
  });
});

describe('the idle loop', () => {
  // CPU seconds QEMU has used so far (utime + stime from /proc/<pid>/stat, in clock ticks of 1/100 s).
  const cpuSeconds = async (pid: number) => {
    const { readFile } = await import('node:fs/promises');
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // fields 14 and 15 of proc(5), counted after the name
  };
  it.runIf(process.platform === 'linux')('halts the CPU while nothing can run: a 1 s wait at the prompt costs QEMU well under 1 s of CPU', async () => {
    // Measured while the guest waits at its prompt, so QEMU is alive at both reads of
    // /proc/<pid>/stat (a scenario that powers off right after its last line races the second read).
    const s = await startSession({ image });
    try {
      await s.waitFor(/^tsk> $/, { partial: true });
      const cpu0 = await cpuSeconds(s.pid!);
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 1000));
      const cpu = (await cpuSeconds(s.pid!)) - cpu0;
      const wall = (Date.now() - t0) / 1000;
      // A busy-waiting idle loop would keep QEMU's vCPU thread at 100% of a core.
      expect(cpu, `QEMU used ${cpu.toFixed(2)} s of CPU in ${wall.toFixed(2)} s`).toBeLessThan(0.5 * wall);
    } finally {
      await s.close();
    }
  });
});

describe('shell: run and ps', () => {
  it('runs programs in the foreground and background, lists processes, refuses bad input', async () => {
    const s = await startSession({ image });
    try {
      // A prompt may share its line with output of a background program that follows it.
      const prompt = async () => s.waitFor(/^tsk> /, { partial: true, from: s.lines.length });
      const cmd = async (line: string) => { await prompt(); return type(line); };
      // While a background program prints, the prompt may already have scrolled
      // into its output: then type without waiting for it (the shell buffers input).
      const type = (line: string) => { const from = s.lines.length; s.send(`${line}\r`); return from; };

      let from = await cmd('ps');
      await s.waitFor(/^\[ps\] pid 0 kernel running ticks=\d+ syscalls=0$/, { from });

      from = await cmd('run hello');
      await s.waitFor(/^\[hello\] hello, world from user mode: CS=0x1B, CPL=3$/, { from });
      await s.waitFor(/^\[proc\] pid 1 exited with code 0$/, { from });

      from = await cmd('run nosuch');
      await s.waitFor(/^\[proc\] no program 'nosuch' \(programs: hello syscalls fuzz spin loop fault_cli .*\)$/, { from });
      from = await cmd('run');
      await s.waitFor(/^\[shell\] usage: run <program>\.\.\. \[&\]; programs: hello syscalls fuzz spin/, { from });

      from = await cmd('run spin &');
      await s.waitFor(/^\[proc\] pid 2 started: spin$/, { from });
      from = type('ps');
      await s.waitFor(/^\[ps\] pid 2 spin (runnable|sleeping) ticks=\d+ syscalls=\d+$/, { from });
      await s.waitFor(/^\[proc\] pid 2 exited with code 0$/, { from, timeoutMs: 20_000 });
      s.send('\r'); // the last prompt scrolled away under the program's output: ask for a fresh one

      // More programs than process slots: the eighth is refused, the seven run and end.
      from = await cmd(`run ${Array(8).fill('spin').join(' ')}`);
      await s.waitFor(/^\[proc\] cannot start: all 7 user process slots are in use$/, { from });
      for (let pid = 3; pid <= 9; pid++) await s.waitFor(new RegExp(`^\\[proc\\] pid ${pid} exited with code 0$`), { from, timeoutMs: 20_000 });

      // A program that never ends: Ctrl-C stops it, whether it runs or the shell waits for it.
      from = await cmd('run loop');
      await s.waitFor(/^\[loop\] looping forever \(Ctrl-C stops it\)$/, { from });
      s.send('\x03');
      await s.waitFor(/^\[proc\] pid 10 killed: Ctrl-C$/, { from });
      from = await cmd('run loop loop &');
      await s.waitFor(/^\[proc\] pid 12 started: loop$/, { from });
      // Both have made their one system call (each prints a line, maybe after a prompt) before ps:
      // typed input wakes the shell at once, possibly before the second program ever ran.
      const looping = await s.waitFor(/\[loop\] looping forever/, { from });
      await s.waitFor(/\[loop\] looping forever/, { from: looping.index + 1 });
      from = type('ps');
      await s.waitFor(/^\[ps\] pid 12 loop runnable ticks=\d+ syscalls=1$/, { from });
      s.send('\x03');
      await s.waitFor(/\[proc\] pid 11 killed: Ctrl-C$/, { from }); // may follow the prompt on its line
      await s.waitFor(/^\[proc\] pid 12 killed: Ctrl-C$/, { from });
      s.send('\r');
      from = await cmd('ps');
      await s.waitFor(/^\[ps\] pid 0 kernel running/, { from });
      await new Promise((r) => setTimeout(r, 200));
      expect(s.lines.slice(from).filter((l) => /^\[ps\] pid [1-9]/.test(l))).toEqual([]);

      // kill <pid> ends one process; bad pids are refused with a reason.
      from = await cmd('run loop &');
      await s.waitFor(/^\[proc\] pid 13 started: loop$/, { from });
      from = type('kill 13');
      await s.waitFor(/\[proc\] pid 13 killed: kill command$/, { from });
      s.send('\r');
      from = await cmd('kill 13');
      await s.waitFor(/^\[shell\] kill: no user process has pid 13$/, { from });
      from = await cmd('kill 0');
      await s.waitFor(/^\[shell\] kill: pid 0 is the kernel task \(it runs this shell\)$/, { from });
      from = await cmd('kill me');
      await s.waitFor(/^\[shell\] kill: expected a pid, got 'me'$/, { from });

      // int 0x80 from ring 0 (the shell runs in the kernel) is refused.
      from = await cmd('int 128');
      await s.waitFor(/^\[syscall\] int 0x80 from CS=0x08 \(ring 0\) refused: system calls come from ring 3$/, { from });

      from = await cmd('echo still here');
      await s.waitFor(/^\[echo\] still here$/, { from });
      await cmd('poweroff');
      const r = await s.exited;
      expectStatus(r, 33);
    } finally {
      await s.close();
    }
  });
});
