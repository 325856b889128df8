// Error numbers returned (negated) by system calls.  The values are Linux's
// (include/uapi/asm-generic/errno-base.h, errno.h), as docs/design.md §4 asks, so
// that a student can look them up anywhere.
import { constant } from '../../toolchain/x86/operands.ts';

export const EPERM = constant('EPERM', 1, 'operation not permitted', { radix: 10 });
export const ENOENT = constant('ENOENT', 2, 'no such file or directory (here: no such program)', { radix: 10 });
export const ESRCH = constant('ESRCH', 3, 'no such process', { radix: 10 });
export const EIO = constant('EIO', 5, 'input/output error: the device reported a failed request', { radix: 10 });
export const ENXIO = constant('ENXIO', 6, 'no such device or address (here: a sector past the end of the disk)', { radix: 10 });
export const EBADF = constant('EBADF', 9, 'bad file descriptor', { radix: 10 });
export const EAGAIN = constant('EAGAIN', 11, 'resource temporarily unavailable (no free process slot; every request slot of a disk in flight)', { radix: 10 });
export const ENOMEM = constant('ENOMEM', 12, 'out of memory: the page allocator has no free page', { radix: 10 });
export const EFAULT = constant('EFAULT', 14, 'bad address: a pointer argument is not the caller\'s user memory', { radix: 10 });
export const ENODEV = constant('ENODEV', 19, 'no such device (here: no such disk)', { radix: 10 });
export const EINVAL = constant('EINVAL', 22, 'invalid argument (a length or duration out of range)', { radix: 10 });
export const EROFS = constant('EROFS', 30, 'read-only file system (here: a write to a read-only disk)', { radix: 10 });
export const ENOSYS = constant('ENOSYS', 38, 'no such system call', { radix: 10 });
export const EOPNOTSUPP = constant('EOPNOTSUPP', 95, 'operation not supported (here: the device refused the request type)', { radix: 10 });
