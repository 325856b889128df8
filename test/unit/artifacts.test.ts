// The failure-artifact writer of the boot-test harness (test/harness/artifacts.ts)
// without QEMU: folder names, paths from the project root, the files written.
// test/boot/ci.test.ts checks the same folders as real failed boots leave them.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { artifactFolderName, artifactsRoot, type BootEvidence, fromProjectRoot, writeBootArtifacts } from '../harness/artifacts.ts';
import { ARTIFACTS_DIR } from '../harness/ci.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tsk-artifacts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('artifact folder names', () => {
  it('are the file and the full test name, one plain path component', () => {
    expect(artifactFolderName('/x/test/boot/boot.test.ts', 'boot > prints [tsk] ready, then powers off')).toBe('boot--boot-prints-tsk-ready-then-powers-off');
    expect(artifactFolderName('test/boot/fixtures/ci/failures.fixture.ts', 'on purpose > times out')).toBe('failures--on-purpose-times-out');
    expect(artifactFolderName('a.test.ts', '../../etc/passwd')).toBe('a--..-..-etc-passwd');
    expect(artifactFolderName('a.test.ts', 'x'.repeat(400))).toHaveLength(150);
  });

  it('live in build/test-artifacts unless TSK_TEST_ARTIFACTS says otherwise', () => {
    const saved = process.env.TSK_TEST_ARTIFACTS;
    try {
      delete process.env.TSK_TEST_ARTIFACTS;
      expect(artifactsRoot()).toBe(path.resolve(ARTIFACTS_DIR));
      process.env.TSK_TEST_ARTIFACTS = dir;
      expect(artifactsRoot()).toBe(dir);
    } finally {
      if (saved === undefined) delete process.env.TSK_TEST_ARTIFACTS; else process.env.TSK_TEST_ARTIFACTS = saved;
    }
  });

  it('paths inside the project are written relative to its root, others in full', () => {
    expect(fromProjectRoot('/p/build/tsk.img', '/p')).toBe('build/tsk.img');
    expect(fromProjectRoot('/tmp/x.img', '/p')).toBe('/tmp/x.img');
    expect(fromProjectRoot('/p2/x.img', '/p')).toBe('/p2/x.img');
  });
});

describe('writeBootArtifacts', () => {
  const image = path.join(dir, 'tsk.img');
  writeFileSync(image, 'abc');
  const evidence = (registers: BootEvidence['registers']): BootEvidence => ({
    testName: 'suite > test', summary: 'QEMU: panic (status 35) after 5 ms', lines: ['[boot] one', '[panic] two'], image,
    rerunCommand: (log) => `qemu-system-i386 -d cpu_reset -D ${log}`, registers,
  });

  it('writes the serial log, command, image hash and summary; registers only when there are some', () => {
    const out = path.join(dir, 'one');
    expect(writeBootArtifacts(out, evidence(null))).toEqual(['command.txt', 'image.sha256', 'serial.log', 'summary.txt']);
    expect(readFileSync(path.join(out, 'serial.log'), 'utf8')).toBe('[boot] one\n[panic] two\n');
    // sha256("abc"), in the format sha256sum -c reads.
    expect(readFileSync(path.join(out, 'image.sha256'), 'utf8')).toBe(`ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  ${image}\n`);
    const cmd = readFileSync(path.join(out, 'command.txt'), 'utf8').split('\n');
    expect(cmd.filter((l) => l && !l.startsWith('#'))).toEqual([`qemu-system-i386 -d cpu_reset -D ${path.join(out, 'rerun-cpu-reset.log')}`]);
    expect(readFileSync(path.join(out, 'summary.txt'), 'utf8')).toBe('suite > test\nQEMU: panic (status 35) after 5 ms\n');
  });

  it('replaces an older folder of the same name, and says where the registers came from', () => {
    const out = path.join(dir, 'two');
    writeBootArtifacts(out, evidence(null));
    writeFileSync(path.join(out, 'stale.txt'), 'from an earlier run');
    writeBootArtifacts(out, evidence({ source: 'QEMU monitor', text: 'EAX=00000001\r\nEIP=00007c19\r\n' }));
    expect(readdirSync(out).sort()).toEqual(['command.txt', 'image.sha256', 'registers.txt', 'serial.log', 'summary.txt']);
    expect(readFileSync(path.join(out, 'registers.txt'), 'utf8')).toBe('# QEMU monitor\nEAX=00000001\nEIP=00007c19\n');
  });

  it('an image that cannot be read is said so in image.sha256, and the rest is still written', () => {
    const out = path.join(dir, 'three');
    const files = writeBootArtifacts(out, { ...evidence(null), image: path.join(dir, 'gone.img') });
    expect(files).toContain('serial.log');
    expect(readFileSync(path.join(out, 'image.sha256'), 'utf8')).toMatch(/^unreadable: ENOENT/);
  });
});
