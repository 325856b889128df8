// The QEMU command line: one builder (toolchain/qemu.ts), mirrored by qemu-scripts/run.sh.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { describeExit, escapeOption, qemuCommand } from '../../toolchain/qemu.ts';
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
  it('rejects bad input with the value named', () => {
    expect(() => qemuCommand({ image: 'x', memMiB: 2 })).toThrow(/not '2'/);
    expect(() => qemuCommand({ image: 'x', cmdline: 'a\nb' })).toThrow(/newline/);
    expect(() => qemuCommand({ image: 'x', cpu: '486; rm' })).toThrow(/'486; rm'/);
  });
  it('names exit statuses', () => {
    expect(describeExit(33)).toMatch(/poweroff/);
    expect(describeExit(35)).toMatch(/panic/);
    expect(describeExit(0)).toMatch(/triple fault/);
  });
  it('qemu-scripts/run.sh uses the same arguments', () => {
    const out = execFileSync('bash', ['qemu-scripts/run.sh', '--print', '-c', 'test=boot', '-m', '8', '--cpu', '486'], { encoding: 'utf8', env: { ...process.env } }).trim().split('\n');
    const ours = qemuCommand({ image: 'IMG', cmdline: 'test=boot', memMiB: 8, cpu: '486', interactive: true });
    const norm = (a: string[]) => a.map((s) => s.replace(/file=[^,]*tsk\.img/, 'file=IMG'));
    expect(norm(out.slice(1)).sort()).toEqual(norm(ours.args).sort());
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
