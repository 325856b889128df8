// The boot harness itself: it must not lose what the guest printed while the
// test's own process was busy and read nothing.  QEMU writes its serial output
// one byte per write and its UART model drops a byte after a few failed
// retries, so the output channel must hold what piles up meanwhile.  The
// harness hands QEMU a real pipe (test/harness/pipe.ts: 64 KiB, counted in
// bytes) rather than the socket pair Node would give a child, whose buffer
// is accounted per write; that socket pair was seen cutting a line under
// load, although this stall alone does not make it drop a byte.
import { describe, expect, it } from 'vitest';
import { startSession } from '../harness/boot.ts';

/** Block this process's event loop (nothing reads QEMU's output meanwhile). */
function busy(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('boot harness', () => {
  it('keeps every byte the guest printed while the test process was busy', async () => {
    const s = await startSession();
    try {
      await s.waitFor(/^tsk> /, { partial: true, timeoutMs: 30_000 });
      const words = Array.from({ length: 24 }, (_, i) => `line${String(i).padStart(2, '0')}-${'x'.repeat(90)}`);
      s.send(words.map((w) => `echo ${w}\r`).join(''));
      // Once the first command has run, QEMU has the input (Node wrote it when its event loop ran);
      // then stop reading: the guest runs the other 23 commands and prints ~4.5 KB meanwhile.
      await s.waitFor(/^\[echo\] line00-/, { timeoutMs: 30_000 });
      busy(2500);
      const last = await s.waitFor(new RegExp(`^\\[echo\\] ${words[words.length - 1]}$`), { timeoutMs: 30_000 });
      // each command line as typed (the shell echoes it) and its output, whole and in order
      const typed = s.lines.slice(0, last.index + 1).filter((l) => l.includes('echo line')).map((l) => l.replace(/^.*echo /, ''));
      const printed = s.lines.slice(0, last.index + 1).filter((l) => l.startsWith('[echo] ')).map((l) => l.slice('[echo] '.length));
      expect(printed).toEqual(words);
      expect(typed).toEqual(words);
    } finally {
      await s.close();
    }
  }, 90_000);
});
