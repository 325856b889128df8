// A real pipe for a child's output, for tests that hand a process's stdout
// straight to QEMU (`tsk run` passes its own stdout on to QEMU).
//
// Why: Node gives a child's stdio a UNIX socket pair, not a pipe.  A socket
// accounts every write as a whole packet (about 770 bytes of buffer for each
// 1-byte write), so after ~280 unread bytes QEMU's one-byte-per-write serial
// output finds the socket full.  Its 16550 model then retries a byte a few
// times and drops it: under load a test could lose part of a line the guest
// did print.  A pipe counts bytes (64 KiB), as a terminal's output does.
// The pipe is a FIFO opened at both ends and unlinked at once.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ChildPipe {
  /** Give this as the child's stdout (spawn's stdio[1]), then call closeWriteEnd(). */
  readonly fd: number;
  /** Close our copy of the write end once the child has it, so `stream` ends when the child's copy closes. */
  closeWriteEnd(): void;
  /** The read end: 'data' while the child writes, 'end' after every writer has closed. */
  readonly stream: net.Socket;
}

export function childOutputPipe(): ChildPipe {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsk-pipe-'));
  const fifo = path.join(dir, 'out');
  try {
    execFileSync('mkfifo', [fifo]);
    const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // does not wait for a writer
    const fd = openSync(fifo, constants.O_WRONLY); // a reader exists, so this does not block either
    const stream = new net.Socket({ fd: readFd, readable: true, writable: false });
    let closed = false;
    return { fd, stream, closeWriteEnd: () => { if (!closed) { closed = true; closeSync(fd); } } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
