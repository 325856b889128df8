// The whole project type-checks under `strict` — including the lines in the
// tests marked @ts-expect-error, which prove that illegal operand
// combinations are compile errors (an unused directive fails the check).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { expect, it } from 'vitest';

it('tsc -p . reports no errors', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  let out = '';
  try {
    out = execFileSync(process.execPath, [tsc, '-p', '.', '--pretty', 'false'], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? e);
  }
  expect(out.trim()).toBe('');
}, 120_000);
