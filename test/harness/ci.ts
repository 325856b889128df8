// Where a test run leaves what CI services pick up (README: Use in CI).
//
// The JUnit report sits outside build/ on purpose: vitest writes it even when
// the global setup (the image build) fails, and a build/ folder holding only
// a report, without the build's manifest, would then be refused by the next
// `tsk build` (toolchain/image.ts: a build never writes into a folder it did
// not make).  Failed boots' evidence goes to build/test-artifacts/, which is
// only ever written after the build has succeeded.

/** The JUnit XML report every `npm test` writes (vitest's built-in 'junit' reporter). */
export const JUNIT_REPORT = 'test-results/junit.xml';

/** One folder per failed boot test: serial.log, command.txt, image.sha256, registers.txt. */
export const ARTIFACTS_DIR = 'build/test-artifacts';

/**
 * Options of the junit reporter.  One <testsuite> per test file, one
 * <testcase> per it(); classname is the file, so CI services group by file.
 */
export const junitReporterOptions = {
  suiteName: 'tskernel',
  classnameTemplate: '{filename}', // the path from the project root
  addFileAttribute: true, // GitLab links a test case to its file with it
} as const;
