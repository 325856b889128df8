// The QEMU command line: one builder (toolchain/qemu.ts), mirrored by qemu-scripts/run.sh.
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  describeExit, escapeOption, exitOutcome, qemuCommand, runExitStatus, tripleFaulted,
} from '../../toolchain/qemu.ts';
import { LineSplitter } from '../harness/boot.ts';

describe('qemuCommand', () => {
  it('builds the documented machine', () => {
    const { args } = qemuCommand({ image: 'build/tsk.img', cmdline: 'test=boot', cpu: '486', memMiB: 8 });
    expect(args).toContain('-nodefaults');
    expect(args.join(' ')).toContain('-device isa-debug-exit,iobase=0xf4,iosize=0x04');
    expect(args.join(' ')).toContain('-fw_cfg name=opt/tsk/cmdline,string=test=boot');
    expect(args.join(' ')).toContain('-cpu 486');
    expect(args.join(' ')).toContain('-m 8');
  });
  it('passes Ctrl-C to the guest only for a person at a terminal', () => {
    expect(qemuCommand({ image: 'x' }).args.join(' ')).toContain('-serial stdio');
    const tty = qemuCommand({ image: 'x', interactive: true }).args.join(' ');
    expect(tty).toContain('-chardev stdio,id=com1,mux=on,signal=off -serial chardev:com1');
    expect(tty).not.toContain('-serial stdio');
  });
  it('doubles commas in option values', () => {
    expect(escapeOption('a,b')).toBe('a,,b');
    expect(qemuCommand({ image: 'x', cmdline: 'echo=a,b' }).args).toContain('name=opt/tsk/cmdline,string=echo=a,,b');
  });
  it('passes 1 MiB on, so the kernel itself reports too little memory', () => {
    expect(qemuCommand({ image: 'x', memMiB: 1 }).args.join(' ')).toContain('-m 1 ');
  });
  it('takes a cmdline up to the kernel\'s 4096 bytes, counted in bytes, and refuses a longer one', () => {
    expect(qemuCommand({ image: 'x', cmdline: 'a'.repeat(4096) }).args.join(' ')).toContain('a'.repeat(4096));
    expect(() => qemuCommand({ image: 'x', cmdline: 'a'.repeat(4097) })).toThrow(/4097 bytes; the kernel reads at most 4096/);
    expect(() => qemuCommand({ image: 'x', cmdline: 'é'.repeat(2049) })).toThrow(/4098 bytes/);
  });
  it('rejects bad input with the value named', () => {
    expect(() => qemuCommand({ image: 'x', memMiB: 0 })).toThrow(/not '0'/);
    expect(() => qemuCommand({ image: 'x', memMiB: 1.5 })).toThrow(/not '1.5'/);
    expect(() => qemuCommand({ image: 'x', cmdline: 'a\nb' })).toThrow(/newline/);
    expect(() => qemuCommand({ image: 'x', cpu: '486; rm' })).toThrow(/'486; rm'/);
  });
  it('names exit statuses', () => {
    expect(describeExit(33)).toMatch(/poweroff/);
    expect(describeExit(35)).toMatch(/panic/);
    expect(describeExit(0)).toMatch(/triple fault/);
    expect(describeExit(0, true)).toMatch(/^triple fault/);
    expect(describeExit(0, false)).toMatch(/^quit/);
  });
  it('chooses the machine: pc by default, q35 on request, nothing else', () => {
    expect(qemuCommand({ image: 'x' }).args.join(' ')).toContain('-machine pc ');
    expect(qemuCommand({ image: 'x', machine: 'q35' }).args.join(' ')).toContain('-machine q35 ');
    expect(() => qemuCommand({ image: 'x', machine: 'isapc' as 'pc' })).toThrow(/machine 'isapc' is not one tskernel boots on \(choose pc or q35\)/);
  });
  it('asks QEMU for its CPU-reset log when given a file for it', () => {
    expect(qemuCommand({ image: 'x', resetLog: '/tmp/r.log' }).args.join(' ')).toContain('-d cpu_reset -D /tmp/r.log');
    expect(qemuCommand({ image: 'x' }).args).not.toContain('-d');
  });
  for (const machine of [undefined, 'q35'] as const) {
    it(`qemu-scripts/run.sh uses the same arguments${machine ? ` (--machine ${machine})` : ''}`, () => {
      const out = execFileSync('bash', ['qemu-scripts/run.sh', '--print', '-c', 'test=boot', '-m', '8', '--cpu', '486', ...(machine ? ['--machine', machine] : [])], { encoding: 'utf8', env: { ...process.env } }).trim().split('\n');
      const ours = qemuCommand({ image: 'IMG', cmdline: 'test=boot', memMiB: 8, cpu: '486', interactive: true, machine });
      const norm = (a: string[]) => a.map((s) => s.replace(/file=[^,]*tsk\.img/, 'file=IMG'));
      expect(norm(out.slice(1))).toEqual(norm(ours.args));
    });
  }
  it('qemu-scripts/run.sh names an option given without its value', () => {
    for (const opt of ['-c', '-m', '--cpu', '--machine']) {
      const r = spawnSync('bash', ['qemu-scripts/run.sh', '--print', opt], { encoding: 'utf8' });
      expect(r.stderr, opt).toBe(`run.sh: option '${opt}' needs a value (see --help)\n`);
      expect(r.status, opt).toBe(2);
    }
    for (const opt of ['-c', '-m', '--cpu', '--machine']) { // "-c --print": the value forgotten, the next option taken for it
      const r = spawnSync('bash', ['qemu-scripts/run.sh', opt, '--print'], { encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL' });
      expect(r.stderr, opt).toBe(`run.sh: option '${opt}' needs a value, got the option '--print' (see --help)\n`);
      expect(r.status, opt).toBe(2);
    }
    const bad = spawnSync('bash', ['qemu-scripts/run.sh', '--print', '--machine', 'isapc'], { encoding: 'utf8' });
    expect(bad.stderr).toMatch(/machine 'isapc' is not one tskernel boots on/);
    expect(bad.status).toBe(2);
  });
  it('qemu-scripts/run.sh checks the memory size as tsk run does', () => {
    for (const [mem, msg] of [['abc', /memory 'abc' is not a whole number of MiB from 1 to 3072/], ['0', /memory '0' is not/], ['3073', /memory '3073' is not/], ['1x', /memory '1x' is not/]] as const) {
      const r = spawnSync('bash', ['qemu-scripts/run.sh', '--print', '-m', mem], { encoding: 'utf8' });
      expect(r.stderr, mem).toMatch(msg);
      expect(r.status, mem).toBe(2);
    }
    const q35 = spawnSync('bash', ['qemu-scripts/run.sh', '--print', '-m', '1', '--machine', 'q35'], { encoding: 'utf8' });
    expect(q35.stderr).toMatch(/q35 machine needs at least 2 MiB/);
    expect(q35.status).toBe(2);
  });
});

describe('q35 and memory', () => {
  it('refuses q35 below 2 MiB (its BIOS cannot read the disk, so the kernel could not say so), takes pc at 1 MiB', () => {
    expect(() => qemuCommand({ image: 'x', machine: 'q35', memMiB: 1 })).toThrow(/q35 machine needs at least 2 MiB/);
    expect(qemuCommand({ image: 'x', machine: 'q35', memMiB: 2 }).args.join(' ')).toContain('-machine q35 -m 2 ');
    expect(qemuCommand({ image: 'x', machine: 'pc', memMiB: 1 }).args.join(' ')).toContain('-machine pc -m 1 ');
  });
});

describe('how a run ended', () => {
  // The first lines of a real QEMU 7.2 -d cpu_reset log: two power-on resets, then the triple fault.
  const powerOn = 'CPU Reset (CPU 0)\nEAX=00000000 EBX=00000000 ECX=00000000 EDX=00000000\nCPU Reset (CPU 0)\nEAX=00000000 EBX=00000000 ECX=00000000 EDX=00000663\n';
  it('finds the triple fault in the CPU-reset log, not in the power-on resets', () => {
    expect(tripleFaulted(powerOn)).toBe(false);
    expect(tripleFaulted(`${powerOn}Triple fault\nCPU Reset (CPU 0)\n`)).toBe(true);
    expect(tripleFaulted('')).toBe(false);
  });
  it('maps QEMU statuses to outcomes and tsk run exit statuses (README: Runtime contracts)', () => {
    const cases: [number | null, boolean, string, number][] = [
      [33, false, 'poweroff', 0],
      [0, false, 'quit', 0],
      [35, false, 'panic', 35],
      [0, true, 'triple fault', 2],
      [1, false, 'qemu error', 1],
      [null, false, 'killed', 137],
    ];
    for (const [status, triple, outcome, exit] of cases) {
      expect(exitOutcome(status, triple), `${status}`).toBe(outcome);
      expect(runExitStatus(exitOutcome(status, triple), status, status === null ? 'SIGKILL' : null), `${status}`).toBe(exit);
    }
  });
});

describe('LineSplitter', () => {
  it('splits on LF, strips CR, keeps a partial line', () => {
    const s = new LineSplitter();
    expect(s.push('a\r\nb')).toEqual(['a']);
    expect(s.partial).toBe('b');
    expect(s.push('c\n')).toEqual(['bc']);
  });
});
