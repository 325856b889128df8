// The CI files a fork copies (README: Use in CI) cannot run here, so they are
// checked here: each validates against its service's own schema, with a
// maintained validator from npm that works offline, and runs exactly the
// commands the README tells a person to type.  The JUnit report is part of
// every run's configuration.
//
// Validators: @action-validator/cli (GitHub's workflow schema, bundled in its
// WebAssembly core) and gitlab-ci-local (GitLab's own .gitlab-ci.yml schema,
// bundled, checked with ajv before it lists or runs jobs; --list-json lists
// the jobs and runs nothing).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import config from '../../vitest.config.ts';
import { ARTIFACTS_DIR, JUNIT_REPORT, junitReporterOptions } from '../harness/ci.ts';

const ROOT = process.cwd();
const WORKFLOW = '.github/workflows/boot-tests.yml';
const GITLAB = '.gitlab-ci.yml';
const ACTION_VALIDATOR = path.join(ROOT, 'node_modules/@action-validator/cli/cli.mjs');
const GITLAB_CI_LOCAL = path.join(ROOT, 'node_modules/gitlab-ci-local/dist/index.js');
const SET_UNION = path.join(ROOT, 'test/harness/set-union.mjs');

const scratch = mkdtempSync(path.join(tmpdir(), 'tsk-ci-config-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function node(args: string[], cwd = ROOT): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** A copy of a CI file, optionally edited, in a fresh folder of its own. */
function copyOf(file: string, edit: (text: string) => string = (t) => t): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(scratch, 'copy-'));
  const target = path.join(dir, path.basename(file));
  writeFileSync(target, edit(readFileSync(file, 'utf8')));
  return { dir, file: target };
}

const validateWorkflow = (file: string) => node([ACTION_VALIDATOR, file]);
/** gitlab-ci-local wants its --cwd relative, so it runs in the folder of the copy. */
const validateGitlab = (dir: string) => node(['--import', SET_UNION, GITLAB_CI_LOCAL, '--list-json'], dir);

/** The shell commands of a list of `run:` blocks or script lines, one per line, without `sudo`. */
function commands(blocks: readonly string[]): string[] {
  return blocks.flatMap((b) => b.split('\n')).map((l) => l.trim()).filter(Boolean).map((l) => l.replace(/^sudo\s+/, ''));
}

/** The commands in the README's "Use in CI" section: its first sh block, comments dropped. */
function readmeCiCommands(): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const section = /^## Use in CI\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  if (!section) throw new Error('README.md has no "## Use in CI" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('the "Use in CI" section of README.md has no ```sh block');
  return commands([block.replace(/#.*$/gm, '')]);
}

interface Step { uses?: string; run?: string; if?: string; with?: Record<string, unknown> }
const workflow = parse(readFileSync(WORKFLOW, 'utf8')) as { on: Record<string, unknown>; jobs: Record<string, { steps: Step[] }> };
const gitlab = parse(readFileSync(GITLAB, 'utf8')) as Record<string, any>;

describe(`GitHub Actions: ${WORKFLOW}`, () => {
  it('is a valid workflow (action-validator)', async () => {
    const r = await validateWorkflow(WORKFLOW);
    expect(r.code, r.out).toBe(0);
  });

  it('the validator does reject a broken workflow (a job without runs-on, a step with an unknown key)', async () => {
    const bad = copyOf(WORKFLOW, (t) => t.replace('runs-on:', 'runs_on:').replace('- run: npm ci', '- run: npm ci\n        retries: 3'));
    const r = await validateWorkflow(bad.file);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Additional property 'runs_on' is not allowed/);
    expect(r.out).toMatch(/Additional property 'retries' is not allowed/);
  });

  it('runs on push and pull request, with npm\'s cache, and uploads the JUnit report and the failure artifacts', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push']);
    const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);
    const setupNode = steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(setupNode?.with).toMatchObject({ cache: 'npm' });
    const uploads = steps.filter((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(uploads.map((s) => [s.if, s.with?.path])).toEqual([['always()', JUNIT_REPORT], ['failure()', `${ARTIFACTS_DIR}/`]]);
  });
});

describe(`GitLab CI: ${GITLAB}`, () => {
  it('is valid against GitLab\'s CI schema (gitlab-ci-local) and defines the boot-tests job', async () => {
    const r = await validateGitlab(copyOf(GITLAB).dir);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/json schema validated/);
    expect(r.out).toMatch(/"name": "boot-tests"/);
  }, 60_000);

  it('the validator does reject a broken file (an unknown job key, a bad artifacts:when)', async () => {
    const bad = copyOf(GITLAB, (t) => t.replace('  image: node:20-bookworm', '  image: node:20-bookworm\n  imagez: debian').replace('when: always', 'when: sometimes'));
    const r = await validateGitlab(bad.dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Invalid \.gitlab-ci\.yml configuration/);
    expect(r.out).toMatch(/'imagez' property is not expected/);
  }, 60_000);

  it('runs for merge requests and pushed branches on a Debian image, and keeps the JUnit report and the failure artifacts', () => {
    const rules = (gitlab.workflow.rules as { if: string }[]).map((r) => r.if);
    expect(rules).toContain('$CI_PIPELINE_SOURCE == "merge_request_event"');
    expect(rules).toContain('$CI_COMMIT_BRANCH');
    const job = gitlab['boot-tests'];
    expect(job.image).toMatch(/^node:20-(bookworm|trixie)/); // Node.js 20 on Debian
    expect(job.artifacts.when).toBe('always');
    expect(job.artifacts.reports.junit).toBe(JUNIT_REPORT);
    expect(job.artifacts.paths).toContain(`${ARTIFACTS_DIR}/`);
    expect(job.cache.key.files).toEqual(['package-lock.json']);
  });
});

describe('the Node.js the CI files use', () => {
  // package.json's engines is ">=N"; both services must run at least that major version.
  const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node;
  const min = Number(/^>=\s*(\d+)/.exec(engines)?.[1]);

  it(`is a major version package.json allows (${engines}), the same on both services`, () => {
    expect(min).toBeGreaterThan(0);
    const setupNode = Object.values(workflow.jobs).flatMap((j) => j.steps).find((s) => s.uses?.startsWith('actions/setup-node@'));
    const github = Number(String(setupNode?.with?.['node-version']).split('.')[0]);
    const gitlabMajor = Number(/^node:(\d+)/.exec(gitlab['boot-tests'].image as string)?.[1]);
    expect(github).toBeGreaterThanOrEqual(min);
    expect(gitlabMajor).toBeGreaterThanOrEqual(min);
    expect(github).toBe(gitlabMajor);
  });
});

describe('the CI files run the README\'s commands', () => {
  const readme = readmeCiCommands();

  it('the README names the commands: apt-get, npm ci, npm test', () => {
    expect(readme).toEqual([
      'apt-get update',
      expect.stringMatching(/^apt-get install -y --no-install-recommends /),
      'npm ci',
      'npm test',
    ]);
  });

  it('the GitHub workflow runs them (apt-get with sudo), in order, and nothing else', () => {
    const runs = Object.values(workflow.jobs).flatMap((j) => j.steps).flatMap((s) => (s.run ? [s.run] : []));
    expect(commands(runs)).toEqual(readme);
  });

  it('the GitLab job runs them, in order, and nothing else', () => {
    expect(commands(gitlab['boot-tests'].script as string[])).toEqual(readme);
  });

  it('the packages are the ones npm run setup and the project\'s own CI install', () => {
    const pkgs = readme[1]!.replace(/^apt-get install -y --no-install-recommends /, '').split(/\s+/).sort();
    expect(pkgs).toEqual(['nasm', 'qemu-system-x86', 'qemu-user', 'qemu-utils']);
    const setup = readFileSync('toolchain/setup.sh', 'utf8');
    const ciRun = readFileSync('.ci/run', 'utf8');
    for (const p of pkgs) {
      expect(setup).toMatch(new RegExp(`missing\\+=\\(${p}\\)`));
      expect(ciRun).toMatch(new RegExp(`--no-install-recommends [^\\n]*\\b${p}\\b`));
    }
  });
});

describe('the JUnit report', () => {
  it(`every run writes it to ${JUNIT_REPORT}, next to the default console reporter`, () => {
    expect(config.test?.reporters).toEqual(['default', ['junit', junitReporterOptions]]);
    expect(config.test?.outputFile).toEqual({ junit: JUNIT_REPORT });
  });

  it('the README and .gitignore name its path, and the artifacts folder', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain(`\`${JUNIT_REPORT}\``);
    expect(readme).toContain(`\`${ARTIFACTS_DIR}/`);
    expect(readFileSync('.gitignore', 'utf8').split('\n')).toContain(`${path.dirname(JUNIT_REPORT)}/`);
  });
});
