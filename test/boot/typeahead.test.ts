// Input typed while the machine boots is kept once the boot sector has turned
// the UART's FIFOs on: the kernel reprograms the UART but must not clear the
// receive FIFO (it did, and a command typed during boot lost its first 15
// bytes: "echo typed-ahead" ran as "d").  The one byte QEMU may hand to the
// 16550's holding register before the FIFOs are on is lost when they are turned
// on (a change of FCR bit 0 empties them), so the line starts with a CR that
// may go: either way "echo typed-ahead" must arrive whole.
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureImage, report, startSession } from '../harness/boot.ts';

let image = '';
beforeAll(async () => { image = await ensureImage(); });

describe('type-ahead', () => {
  it('a command typed while the machine boots runs whole once the shell is ready', async () => {
    const s = await startSession({ image });
    s.send('\recho typed-ahead\r');
    try {
      const got = await s.waitFor(/^\[echo\] |\[shell\] unknown command/, { timeoutMs: 30_000 });
      expect(got.line, report(await s.close())).toBe('[echo] typed-ahead');
    } finally {
      await s.close();
    }
  });
});
