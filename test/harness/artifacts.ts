// The evidence a failed boot test leaves behind (README: Use in CI;
// docs/design.md §6).  When a test that booted QEMU fails, the harness writes
// one folder per test to build/test-artifacts/:
//
//   serial.log     every line the guest printed on COM1
//   command.txt    the QEMU command line, re-runnable from the project root
//   image.sha256   the booted image's hash (`sha256sum -c image.sha256`)
//   image.img      the image itself, when it was not one of the project's
//                  (a test's temporary image is gone by the time the test
//                  has failed, and a path in /tmp means nothing on another
//                  machine); command.txt and image.sha256 then name this copy
//   registers.txt  for a timeout (or a guest still running when the test
//                  failed) and for a triple fault: the CPU state at the end
//   summary.txt    how QEMU ended, the last lines and QEMU's stderr
//
// Passing tests write nothing, and the global setup empties the folder at the
// start of a run, so what is there belongs to the last run's failures.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ARTIFACTS_DIR } from './ci.ts';

/** The artifact root: build/test-artifacts, or TSK_TEST_ARTIFACTS (the harness's own tests point it at a temp folder). */
export function artifactsRoot(): string {
  return path.resolve(process.env.TSK_TEST_ARTIFACTS || ARTIFACTS_DIR);
}

/**
 * A test's folder name: its file and its full name ("describe > it"), with
 * everything but letters, digits, '.', '_' and '-' turned into '-', so that
 * it is one plain path component on every system and in every CI service.
 */
export function artifactFolderName(testFile: string, testName: string): string {
  const file = path.basename(testFile).replace(/\.(test|fixture)\.ts$/, '');
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  return `${clean(file)}--${clean(testName)}`.slice(0, 150);
}

/** A path as a person types it from the project root: relative when inside it. */
export function fromProjectRoot(p: string, root = process.cwd()): string {
  const rel = path.relative(root, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

export interface BootEvidence {
  /** The test's full name, for summary.txt. */
  readonly testName: string;
  /** What the run printed and how it ended (report() of test/harness/boot.ts). */
  readonly summary: string;
  readonly lines: readonly string[];
  /** The image QEMU booted. */
  readonly image: string;
  /**
   * The image's bytes as they were at boot, for an image outside the project
   * (read when QEMU started): saved as image.img next to the command.
   */
  readonly imageBytes?: Buffer | null;
  /** The command to write, given where its CPU-reset log should go and the image path to name. */
  readonly rerunCommand: (resetLog: string, image: string) => string;
  /** The CPU state at the end, and where it came from; null when there is none to give. */
  readonly registers: { readonly source: string; readonly text: string } | null;
}

/** Write one boot's evidence into `dir` (replacing what was there); returns the files written. */
export function writeBootArtifacts(dir: string, e: BootEvidence): string[] {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string | Buffer> = {};
  let image = fromProjectRoot(e.image);
  if (e.imageBytes) {
    files['image.img'] = e.imageBytes;
    image = fromProjectRoot(path.join(dir, 'image.img'));
  }
  files['serial.log'] = e.lines.map((l) => `${l}\n`).join('');
  const resetLog = fromProjectRoot(path.join(dir, 'rerun-cpu-reset.log'));
  files['command.txt'] = [
    `# ${e.testName}`,
    '# The boot as the harness ran it; run from the project root with `sh <this file>`.',
    '# Differences: the CPU-reset log goes next to this file, and the harness\'s private',
    '# QMP socket and -action shutdown=pause (to read the registers) are left out.',
    '# COM1 is your terminal; Ctrl-C stops QEMU.',
    e.rerunCommand(resetLog, image),
    '',
  ].join('\n');
  let hash: string;
  try {
    hash = createHash('sha256').update(e.imageBytes ?? readFileSync(e.image)).digest('hex');
  } catch (err) {
    hash = `unreadable: ${(err as Error).message}`;
  }
  files['image.sha256'] = `${hash}  ${image}\n`;
  if (e.registers) files['registers.txt'] = `# ${e.registers.source}\n${e.registers.text.replace(/\r/g, '')}${e.registers.text.endsWith('\n') ? '' : '\n'}`;
  files['summary.txt'] = `${e.testName}\n${e.summary}\n`;
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return Object.keys(files).sort();
}
