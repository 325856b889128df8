// What a failed boot leaves for CI (README: Use in CI), checked by failing on
// purpose.  A child vitest runs test/boot/fixtures/ci/failures.fixture.ts with
// the project's own reporters: a kernel panic, a triple fault, a timeout and a
// test that boots twice fail, next to a passing boot, a passing test and a
// skipped one.  Then:
//  - its JUnit report parses as XML and counts 7 tests, 4 failures, 1 skipped
//    (a test cannot read the report of the run it is part of, so the
//    configuration is proven on this run instead);
//  - each failed boot has its folder with serial.log, command.txt,
//    image.sha256, summary.txt and, for the triple fault and the timeout,
//    registers.txt; the test that booted twice has boot-1/ and boot-2/; the
//    passing boot has none;
//  - each command.txt, run again from the project root, fails the same way.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureImage } from '../harness/boot.ts';
import { tripleFaultBootSector } from '../harness/images.ts';

const FIXTURE_CONFIG = 'test/boot/fixtures/ci/vitest.config.ts';
const TIMEOUT_MS = 4000;

let dir = '';
let artifacts = '';
let junitPath = '';
let tripleImage = '';
let child: { code: number | null; out: string } = { code: null, out: '' };

function vitestBin(): string {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('vitest/package.json');
  const bin = (JSON.parse(readFileSync(pkgPath, 'utf8')) as { bin: string | Record<string, string> }).bin;
  return path.resolve(path.dirname(pkgPath), typeof bin === 'string' ? bin : bin.vitest!);
}

beforeAll(async () => {
  await ensureImage();
  dir = mkdtempSync(path.join(tmpdir(), 'tsk-ci-'));
  artifacts = path.join(dir, 'artifacts');
  junitPath = path.join(dir, 'junit.xml');
  tripleImage = path.join(dir, 'triple.img');
  writeFileSync(tripleImage, tripleFaultBootSector());
  child = await new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [vitestBin(), 'run', '--config', FIXTURE_CONFIG], {
      env: {
        ...process.env, TSK_TEST_ARTIFACTS: artifacts, TSK_FIXTURE_JUNIT: junitPath,
        TSK_FIXTURE_TRIPLE_IMAGE: tripleImage, TSK_FIXTURE_TIMEOUT_MS: String(TIMEOUT_MS), NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, out }));
  });
}, 120_000);
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const folder = (test: string) => path.join(artifacts, `failures--on-purpose-${test}`);
const read = (test: string, file: string) => readFileSync(path.join(folder(test), file), 'utf8');

describe('a child vitest run with boots that fail on purpose', () => {
  it('fails (exit status 1) with 4 failed, 2 passed, 1 skipped', () => {
    expect(child.code, child.out).toBe(1);
    expect(child.out).toMatch(/Tests\s+4 failed \| 2 passed \| 1 skipped \(7\)/);
  });

  it('writes a JUnit XML report with the right counts', () => {
    const xml = readFileSync(junitPath, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'testsuite' || n === 'testcase' }).parse(xml);
    const root = doc.testsuites;
    expect([root.name, Number(root.tests), Number(root.failures), Number(root.errors)]).toEqual(['tskernel', 7, 4, 0]);
    expect(root.testsuite).toHaveLength(1); // one per test file
    const suite = root.testsuite[0];
    expect(suite.name).toBe('test/boot/fixtures/ci/failures.fixture.ts');
    expect([Number(suite.tests), Number(suite.failures), Number(suite.skipped)]).toEqual([7, 4, 1]);
    const cases = suite.testcase as { name: string; classname: string; file: string; failure?: unknown; skipped?: unknown }[];
    const outcome = (c: (typeof cases)[number]) => (c.failure !== undefined ? 'failed' : c.skipped !== undefined ? 'skipped' : 'passed');
    expect(cases.map((c) => [c.name, outcome(c)])).toEqual([
      ['on purpose > passes without booting', 'passed'],
      ['on purpose > is skipped', 'skipped'],
      ['on purpose > boots and powers off', 'passed'],
      ['on purpose > panics', 'failed'],
      ['on purpose > triple-faults', 'failed'],
      ['on purpose > times out', 'failed'],
      ['on purpose > boots twice', 'failed'],
    ]);
    for (const c of cases) expect([c.classname, c.file]).toEqual([suite.name, suite.name]); // relative: the same in every checkout
  });

  it('leaves one complete artifact folder per failed boot test, none for the passing one', () => {
    expect(readdirSync(artifacts).sort()).toEqual(['boots-twice', 'panics', 'times-out', 'triple-faults'].map((t) => path.basename(folder(t))));
    const image = path.resolve('build/tsk.img');
    const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    for (const [test, registers] of [['panics', false], ['triple-faults', true], ['times-out', true]] as const) {
      // The triple fault booted a temporary image, removed by then: the folder keeps a copy.
      const own = test === 'triple-faults';
      const files = ['command.txt', 'image.sha256', 'serial.log', 'summary.txt', ...(registers ? ['registers.txt'] : []), ...(own ? ['image.img'] : [])].sort();
      expect(readdirSync(folder(test)).sort(), test).toEqual(files);
      expect(read(test, 'summary.txt')).toMatch(new RegExp(`^on purpose > ${test.replace('times-out', 'times out')}\\n`));
      expect(read(test, 'command.txt')).toMatch(/^qemu-system-i386 .* -d cpu_reset -D \S+rerun-cpu-reset\.log$/m);
      const booted = own ? tripleImage : image;
      const named = own ? path.join(folder(test), 'image.img') : 'build/tsk.img';
      expect(read(test, 'image.sha256')).toBe(`${sha(booted)}  ${named}\n`);
      expect(read(test, 'command.txt')).toContain(`file=${named},`);
      if (own) expect(sha(named)).toBe(sha(tripleImage));
    }
    // The panic: the kernel's own words, in full.
    expect(read('panics', 'serial.log')).toMatch(/^\[mem\] RAM from 1 MiB: 0 KiB usable \(e820 map\); tskernel needs 60 KiB.*\n\[panic\] not enough memory/m);
    expect(read('panics', 'summary.txt')).toMatch(/QEMU: panic \(status 35\)/);
    // The triple fault: the registers as the fault left them - EIP at the int3
    // of the hand-made boot sector (0x7C00 + 0x19), an IDT limit of 0.
    expect(read('triple-faults', 'serial.log')).toBe('[triple] resetting\n');
    expect(read('triple-faults', 'summary.txt')).toMatch(/QEMU: triple fault/);
    const tf = read('triple-faults', 'registers.txt');
    expect(tf).toMatch(/^# QEMU monitor 'info registers' .*triple fault/);
    expect(tf).toMatch(/EIP=00007c19 /);
    expect(tf).toMatch(/^IDT= +00000000 00000000$/m);
    // The timeout: the shell waits for input; the registers were read before the kill.
    expect(read('times-out', 'serial.log')).toMatch(/^\[tsk\] ready\ntsk> \n$/m);
    expect(read('times-out', 'summary.txt')).toMatch(/QEMU: timed out/);
    const to = read('times-out', 'registers.txt');
    expect(to).toMatch(new RegExp(`^# QEMU monitor 'info registers' at \\d+ ms, the guest still running: the harness's timeout \\(${TIMEOUT_MS} ms\\)`));
    expect(to).toMatch(/EIP=[0-9a-f]{8} .*CPL=0/);
    expect(to).toMatch(/^CR0=\w+ CR2=\w+ CR3=\w+/m);
  });

  it('gives each boot of a test that booted twice its own folder, in start order', () => {
    const base = folder('boots-twice');
    expect(readdirSync(base).sort()).toEqual(['boot-1', 'boot-2']);
    expect(readdirSync(path.join(base, 'boot-1')).sort()).toEqual(['command.txt', 'image.sha256', 'serial.log', 'summary.txt']);
    expect(readFileSync(path.join(base, 'boot-1', 'serial.log'), 'utf8')).toMatch(/^\[tsk\] poweroff$/m);
    // The second guest was still running when the test failed: its registers were read, then it was stopped.
    expect(readdirSync(path.join(base, 'boot-2')).sort()).toEqual(['command.txt', 'image.sha256', 'registers.txt', 'serial.log', 'summary.txt']);
    expect(readFileSync(path.join(base, 'boot-2', 'registers.txt'), 'utf8')).toMatch(/^# QEMU monitor 'info registers' at \d+ ms, the guest still running: the test failed\n/);
    expect(readFileSync(path.join(base, 'boot-2', 'serial.log'), 'utf8')).toMatch(/^tsk> $/m);
  });
});

/**
 * Run a recorded command.txt with sh from the project root.  Resolves when
 * QEMU exits, or kills it once it has run `minMs` and printed everything
 * `expected` holds (a loaded machine may take longer than the test did), or
 * after `maxMs`.
 */
/**
 * A boot's serial text with the one line printed from interrupt context - the
 * first timer tick's - moved to the end: it may come before or after
 * "[kernel] interrupts enabled" depending on when the tick arrives (by design:
 * the console's line rules, kernel/dev/pit.ts), so two runs of one command
 * agree on every line but not always on that line's place.
 */
function canonical(serial: string): string {
  const lines = serial.replace(/\r/g, '').trimEnd().split('\n');
  const irq = (l: string) => l.startsWith('[pit] first tick');
  return [...lines.filter((l) => !irq(l)), ...lines.filter(irq)].join('\n');
}

function rerun(test: string, o: { expected: string; minMs: number; maxMs: number }): Promise<{ status: number | null; stdout: string; stillRunning: boolean }> {
  return new Promise((resolve, reject) => {
    // The input end stays open, as a terminal's would: QEMU reads COM1 input from it.
    const c: ChildProcess = spawn('sh', [path.join(folder(test), 'command.txt')], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const start = Date.now();
    let stdout = '';
    let stillRunning = false;
    const clean = () => stdout.replace(/\r/g, '');
    c.stdout!.on('data', (d: Buffer) => { stdout += d.toString('latin1'); });
    const poll = setInterval(() => {
      const t = Date.now() - start;
      if ((t >= o.minMs && canonical(clean()) === canonical(o.expected)) || t >= o.maxMs) {
        stillRunning = true;
        process.kill(-c.pid!, 'SIGKILL'); // sh and QEMU
      }
    }, 50);
    c.on('error', reject);
    c.on('close', (status) => { clearInterval(poll); resolve({ status, stdout: clean(), stillRunning }); });
  });
}

describe('the recorded command.txt reproduces each failure', () => {
  it('the panic: QEMU exits with status 35 after the same lines', async () => {
    const r = await rerun('panics', { expected: read('panics', 'serial.log'), minMs: 30_000, maxMs: 30_000 });
    expect(r.status, r.stdout).toBe(35);
    expect(canonical(r.stdout)).toBe(canonical(read('panics', 'serial.log')));
  });

  it('the triple fault: QEMU exits 0 after the same line, and its log says "Triple fault"', async () => {
    const log = path.join(folder('triple-faults'), 'rerun-cpu-reset.log');
    const r = await rerun('triple-faults', { expected: read('triple-faults', 'serial.log'), minMs: 30_000, maxMs: 30_000 });
    expect(r.status, r.stdout).toBe(0);
    expect(canonical(r.stdout)).toBe(canonical(read('triple-faults', 'serial.log')));
    expect(readFileSync(log, 'latin1')).toMatch(/^Triple fault$/m);
  });

  it('the timeout: the same lines, and QEMU still running when the test\'s time is up', async () => {
    const serial = read('times-out', 'serial.log');
    const r = await rerun('times-out', { expected: serial, minMs: TIMEOUT_MS, maxMs: 30_000 });
    expect(r.stillRunning, r.stdout).toBe(true);
    expect(canonical(r.stdout)).toBe(canonical(serial)); // (trimmed: the prompt "tsk> " has no line end until the harness flushed it)
  });

  it('a failure artifact folder is run from the project root: paths inside the project are relative', () => {
    expect(read('panics', 'command.txt')).toContain('file=build/tsk.img,');
    expect(existsSync(path.resolve('build/tsk.img'))).toBe(true);
  });
});
