// Test configuration: unit tests (no QEMU) and boot tests (QEMU) in one run.
// QEMU under TCG keeps one core busy per boot; two workers fit a 2-core machine.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});
