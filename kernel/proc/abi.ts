// The system-call ABI: what a ring-3 program may rely on, and nothing of how
// the kernel implements it.  The user library and the user programs import
// this file (and errno.ts), never the kernel's modules: a program sees the
// kernel only through int 0x80 (docs/design.md §4).  syscall.ts gives each
// call here its body; strace.ts prints them by these names.
import { constant } from '../../toolchain/x86/operands.ts';

export const VEC_SYSCALL = constant('VEC_SYSCALL', 0x80, 'the system-call vector: "int 0x80" (as in Linux i386)');
export const IO_MAX = constant('IO_MAX', 4096, 'longest read or write, in bytes: a longer length is -EINVAL', { radix: 10 });
export const BLK_SYS_MAX = constant('BLK_SYS_MAX', 8, 'most sectors one blkread/blkwrite moves (4 KiB, IO_MAX): a larger count is -EINVAL', { radix: 10 });
export const SLEEP_MAX_MS = constant('SLEEP_MAX_MS', 60000, 'longest sleep, in milliseconds: a longer one is -EINVAL', { radix: 10 });

// The user address space: where a program is linked and where its stack starts.
export const USER_BASE = constant('USER_BASE', 0x400000, 'user programs are linked and loaded at 4 MiB: page directory entry 1');
export const USER_END = constant('USER_END', 0x800000, 'end of the user region (8 MiB): directory entry 1 covers 4-8 MiB');
export const USER_STACK_TOP = constant('USER_STACK_TOP', 0x800000, 'initial ESP of a user program: the stack is the last page of the user region');

/** One system call as a program sees it: its number is its index in SYSCALLS. */
export interface Syscall {
  readonly name: string;
  /** Arguments in EBX, ECX, EDX, ESI, EDI, in that order. */
  readonly args: readonly string[];
  /** What EAX holds afterwards when the call succeeds. */
  readonly returns: string;
  /** The negated error numbers it can return, and when ('-': none). */
  readonly errors: string;
}

export const SYSCALLS = [
  { name: 'exit', args: ['code'], returns: 'does not return', errors: '-' },
  { name: 'write', args: ['fd', 'buf', 'len'], returns: 'len', errors: 'EBADF unless fd is 1 or 2; EINVAL if len > 4096; EFAULT unless buf..buf+len-1 is the caller\'s user memory' },
  { name: 'read', args: ['fd', 'buf', 'len'], returns: 'bytes read: up to len, ending at the first newline; waits for at least one; 0 (end of file) at once in a background program', errors: 'EBADF unless fd is 0; EINVAL if len > 4096; EFAULT unless the buffer is the caller\'s writable user memory' },
  { name: 'getpid', args: [], returns: 'the caller\'s pid', errors: '-' },
  { name: 'uptime', args: [], returns: 'timer ticks since boot', errors: '-' },
  { name: 'sleep', args: ['ms'], returns: '0 after at least ms milliseconds (0: just yield)', errors: 'EINVAL if ms > 60000' },
  { name: 'yield', args: [], returns: '0, after other runnable processes had their turn', errors: '-' },
  { name: 'blkread', args: ['disk', 'lba', 'count', 'buf'], returns: 'count: sectors lba..lba+count-1 of disk number disk (0 = the first, as "blk" lists them) are in buf', errors: 'ENODEV unless disk < the number of disks; EINVAL if count is 0 or > 8; EFAULT unless buf..buf+count*512-1 is the caller\'s writable user memory; ENXIO if a sector is past the end of the disk; ENOMEM if no page is free for the kernel\'s copy; EAGAIN if every request slot of a virtio-blk disk is in flight (a small virtqueue shared by several programs): try again; EIO if the device failed' },
  { name: 'blkwrite', args: ['disk', 'lba', 'count', 'buf'], returns: 'count: buf is on sectors lba..lba+count-1 (maybe in the device\'s write cache until blkflush)', errors: 'ENODEV, EINVAL, ENXIO, ENOMEM, EAGAIN, EIO as blkread; EFAULT unless the buffer is the caller\'s user memory; EROFS if the disk is read-only' },
  { name: 'blkflush', args: ['disk'], returns: '0: every write before it is on the medium', errors: 'ENODEV, EAGAIN as blkread; EOPNOTSUPP if the device has no flush; EIO if it failed' },
] as const satisfies readonly Syscall[];

export type SyscallName = (typeof SYSCALLS)[number]['name'];

/** SYS_<NAME> constants, shared by the kernel and the user programs. */
export const SYS: Readonly<Record<SyscallName, ReturnType<typeof constant>>> = Object.fromEntries(
  SYSCALLS.map((s, i) => [s.name, constant(`SYS_${s.name.toUpperCase()}`, i, `system call ${i}: ${s.name}(${s.args.join(', ')})`)]),
) as Record<SyscallName, ReturnType<typeof constant>>;
export const NSYSCALLS = constant('NSYSCALLS', SYSCALLS.length, 'system call numbers 0 .. NSYSCALLS-1 exist; others return -ENOSYS', { radix: 10 });
