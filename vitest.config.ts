// Test configuration: unit tests (no QEMU) and boot tests (QEMU) in one run.
// QEMU under TCG keeps one core busy per boot; two workers fit a 2-core machine.
// Every run also writes a JUnit XML report for CI services (README: Use in CI);
// the console keeps vitest's default reporter.
import { defineConfig } from 'vitest/config';
import { JUNIT_REPORT, junitReporterOptions } from './test/harness/ci.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    reporters: ['default', ['junit', junitReporterOptions]],
    outputFile: { junit: JUNIT_REPORT },
  },
});
