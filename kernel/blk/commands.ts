// The shell's blk command: the disks in disk_table, and reading, writing,
// flushing and checksumming their sectors - through blk_rw only, so it works
// the same for every driver.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, eax, ebx, ecx, edx, esi, edi, byte, dword, chr, constant } from '../../toolchain/x86/operands.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { say } from '../lib/print.ts';
import { name_lookup } from '../lib/string.ts';
import { serial_newline, serial_put_dec, serial_put_hex32, serial_put_hex8, serial_putc, serial_puts } from '../dev/serial.ts';
import { arg_split, arg_uint } from '../shell/args.ts';
import { type ShellCommand, commandRoutine } from '../shell/command.ts';
import { EFAULT, EINVAL, EIO, ENODEV, ENOMEM, ENXIO, EOPNOTSUPP, EPERM, EROFS } from '../proc/errno.ts';
import { BLK_FLUSH, BLK_READ, BLK_WRITE, DISK, DISK_FLUSH, DISK_BOOT, DISK_RO, SECTOR_SIZE, blk_rw, disk_count, disk_find, disk_put_size, disk_table } from './disk.ts';

// The labels this module defines (toolchain/x86/symbol.ts); the handler goes into the shell's table.
export const cmd_blk = sym('cmd_blk');
export const fnv1a32 = sym('fnv1a32');
const blk_show = sym('blk_show');
const blk_fail = sym('blk_fail');
const blk_dump = sym('blk_dump');
const blk_read = sym('blk_read');
const blk_write = sym('blk_write');
const blk_flush = sym('blk_flush');
const blk_check = sym('blk_check');
const blk_ops = sym('blk_ops');
const blk_errors = sym('blk_errors');
const blk_buf = sym('blk_buf');

export const BLK_CMD_MAX = constant('BLK_CMD_MAX', 8, 'sectors in blk_buf (4 KiB): the most "blk read" dumps, and the chunk "blk check" reads at a time', { radix: 10 });
export const FNV_OFFSET_BASIS = constant('FNV_OFFSET_BASIS', 0x811c9dc5, 'FNV-1a 32-bit offset basis: the hash of no bytes');
export const FNV_PRIME_32 = constant('FNV_PRIME_32', 16777619, 'FNV 32-bit prime (2^24 + 2^8 + 0x93)', { radix: 10 });

export const BLK_USAGE = 'blk [disk] [read <lba> [count] | write <lba> <text> | flush | check <lba> <count>]';
const BLK: ShellCommand = { name: 'blk', usage: 'blk [disk] [op]', doc: 'disks; read <lba> [n] (hex dump), write <lba> <text>, flush, check <lba> <n> (FNV-1a)', handler: cmd_blk };
export const blkCommands: readonly ShellCommand[] = [BLK];

/** What "blk" prints for a block-layer error: errno, its name, its meaning. */
export const BLK_ERRORS = [
  { errno: EINVAL, name: 'EINVAL', text: 'invalid argument' },
  { errno: ENXIO, name: 'ENXIO', text: 'no such sector: the request ends past the end of the disk' },
  { errno: EROFS, name: 'EROFS', text: 'the disk is read-only' },
  { errno: EPERM, name: 'EPERM', text: 'the kernel booted from this disk: it is not written while it runs' },
  { errno: EIO, name: 'EIO', text: 'I/O error: the device failed the request' },
  { errno: EOPNOTSUPP, name: 'EOPNOTSUPP', text: 'the device does not support this request' },
  { errno: ENODEV, name: 'ENODEV', text: 'no such disk' },
  { errno: ENOMEM, name: 'ENOMEM', text: 'out of memory' },
  { errno: EFAULT, name: 'EFAULT', text: 'bad address' },
] as const;

export const blkCmds = defineModule({
  name: 'blk_cmds',
  title: 'Shell command for the disks: blk',
  about: `
  ${BLK_USAGE}

"blk" alone lists every disk in disk_table (disk.asm): name, driver,
capacity in sectors and MiB, serial number, read-only or read-write, and
what the driver counted - requests, errors and port accesses (each one an
exit to the hypervisor: compare an IDE disk with a virtio-blk one).

The first word may name a disk ("blk hdb read 0"); without one the command
goes to the first disk, the default.  Then:
  read <lba> [count]   count sectors (1 to BLK_CMD_MAX, default 1) as a hex
                       dump: byte offset, 16 bytes, the same as ASCII;
  write <lba> <text>   one sector: the text, NUL-padded to 512 bytes;
  flush                empty the device's write cache onto the medium;
  check <lba> <count>  the 32-bit FNV-1a hash of count sectors (any number:
                       read BLK_CMD_MAX at a time), as 8 hex digits - the
                       same function the test computes on the host image
                       (toolchain/disk/pattern.ts), so a whole range can be
                       compared without printing it; a range past the end
                       of the disk is refused before anything is read.
Numbers are decimal.  Every request goes through blk_rw, so the checks are
the block layer's and an error is printed with the errno's name and what
it means, e.g. "-ENXIO" for a sector past the end of the disk.  The data
goes through blk_buf, a kernel buffer below 4 MiB (where a device may DMA).

FNV-1a (Fowler, Noll, Vo): hash = 0x811C9DC5, then for each byte
hash = (hash xor byte) * 16777619 mod 2^32 - one xor and one imul a byte.`,
  spec: ['FNV-1a: Fowler/Noll/Vo hash, IETF draft-eastlake-fnv (the 32-bit parameters)'],
  emit(a) {
    /** EAX = the next word of the arguments at ESI (NUL-terminated in place, "" at the end); ESI = the rest. */
    const word = () => {
      a.mov(eax, esi);
      a.call(arg_split);
      a.mov(esi, edx, 'ESI = the rest of the arguments');
    };
    a.bss(blk_buf, BLK_CMD_MAX.mul(SECTOR_SIZE), 4, 'the sectors a blk command reads or writes');

    commandRoutine(a, BLK, { saves: [ebx, esi, edi] }, (r) => {
      a.mov(esi, eax, 'ESI = the rest of the line');
      word();
      a.cmp(byte(eax), 0);
      a.if_('e', () => {
        a.cmp(dword(disk_count), 0);
        a.if_('e', () => { say(a, a.cstr('[blk] no disks\r\n')); r.ret(); });
        a.mov(ebx, disk_table);
        a.mov(edi, dword(disk_count));
        a.forCount(edi, edi, () => {
          a.call(blk_show);
          a.add(ebx, DISK.SIZE);
        }, 'every disk');
        r.ret();
      }, undefined, 'no arguments: list the disks');
      a.mov(edi, eax, 'EDI = the first word');
      a.call(disk_find);
      a.test(eax, eax);
      a.if_('nz', () => {
        a.mov(ebx, eax, 'EBX = the disk it names');
        word();
        a.cmp(byte(eax), 0);
        a.if_('e', () => { a.call(blk_show); r.ret(); }, undefined, '"blk hdb": that disk\'s line');
        a.mov(edi, eax, 'EDI = the operation');
      }, () => {
        a.cmp(dword(disk_count), 0);
        a.if_('e', () => {
          say(a, a.cstr("[blk] no disks: nothing to '"));
          a.mov(eax, edi);
          a.call(serial_puts);
          say(a, a.cstr("'\r\n"));
          r.ret();
        });
        a.mov(ebx, disk_table, 'no disk named: the first disk, the default');
      });
      a.mov(eax, edi);
      a.mov(edx, blk_ops);
      a.call(name_lookup);
      a.test(eax, eax);
      a.if_('z', () => {
        say(a, a.cstr("[blk] no disk or operation '"));
        a.mov(eax, edi);
        a.call(serial_puts);
        say(a, a.cstr(`' (usage: ${BLK_USAGE})\r\n`));
        r.ret();
      });
      a.call(eax, 'blk_read, blk_write, blk_flush or blk_check: EBX = disk, ESI = their arguments');
      r.ret();
    });

    /** ECX-free arg_uint: EAX = the word, EDX = max, message -> EAX value; returns from the routine after arg_uint's message. */
    const number = (r: { ret(): void }, max: number | ReturnType<typeof constant>, message: string) => {
      a.mov(edx, max);
      a.mov(ecx, a.cstr(message));
      a.call(arg_uint);
      a.test(edx, edx);
      a.if_('nz', () => r.ret(), undefined, 'arg_uint printed what was wrong');
    };
    /** Refuse words after the last argument (ESI = the rest) instead of ignoring them; returns from the routine. */
    const noMore = (r: { ret(): void }, op: string) => {
      a.cmp(byte(esi), 0);
      a.if_('ne', () => {
        say(a, a.cstr(`[blk] ${op}: unexpected '`));
        a.mov(eax, esi);
        a.call(serial_puts);
        say(a, a.cstr(`' after the arguments (usage: ${BLK_USAGE})\r\n`));
        r.ret();
      }, undefined, 'more words than the operation takes');
    };
    /** Print "[blk] <disk>: " (EBX = the disk). */
    const head = () => {
      say(a, a.cstr('[blk] '));
      a.lea(eax, dword(ebx, DISK.f.name));
      a.call(serial_puts);
      say(a, a.cstr(': '));
    };

    a.routine({
      name: blk_read, does: 'blk [disk] read <lba> [count]: hex dump of count sectors (default 1)',
      in: { ebx: 'the disk', esi: 'the arguments' }, clobbers: [eax, ecx, edx, esi], saves: [edi],
    }, (r) => {
      word();
      number(r, 0xffffffff, "[blk] read: not a sector number: '");
      a.mov(edi, eax, 'EDI = lba');
      word();
      a.cmp(byte(eax), 0);
      a.if_('e', () => a.mov(eax, 1), () => {
        number(r, BLK_CMD_MAX, `[blk] read: the count is 1 to ${BLK_CMD_MAX.c.value} sectors, not '`);
        a.test(eax, eax);
        a.if_('z', () => { say(a, a.cstr(`[blk] read: the count is 1 to ${BLK_CMD_MAX.c.value} sectors, not '0'\r\n`)); r.ret(); });
      });
      a.push(eax);
      noMore({ ret: () => { a.pop(eax); r.ret(); } }, 'read');
      a.pop(eax);
      a.mov(esi, eax, 'ESI = count');
      a.invoke(blk_rw, [ebx, BLK_READ, edi, esi, blk_buf]);
      a.test(eax, eax);
      a.if_('nz', () => {
        a.invoke(blk_fail, [ebx, eax, a.cstr('read'), edi, esi]);
        r.ret();
      });
      head();
      say(a, a.cstr('sector '));
      a.mov(eax, edi);
      a.call(serial_put_dec);
      say(a, a.cstr(', '));
      a.mov(eax, esi);
      a.call(serial_put_dec);
      say(a, a.cstr(' x 512 bytes\r\n'));
      a.mov(eax, blk_buf);
      a.mov(edx, esi);
      a.shl(edx, 9, 'bytes');
      a.call(blk_dump);
      r.ret();
    });

    a.routine({
      name: blk_write, does: 'blk [disk] write <lba> <text>: one sector holding the text, NUL-padded',
      in: { ebx: 'the disk', esi: 'the arguments' }, clobbers: [eax, ecx, edx, esi], saves: [edi],
    }, (r) => {
      word();
      number(r, 0xffffffff, "[blk] write: not a sector number: '");
      a.push(eax, 'the lba');
      a.cmp(byte(esi), 0);
      a.if_('e', () => {
        a.pop(eax);
        say(a, a.cstr('[blk] write: no text to write (usage: blk [disk] write <lba> <text>)\r\n'));
        r.ret();
      });
      a.mov(edi, blk_buf);
      a.xor(eax, eax);
      a.mov(ecx, SECTOR_SIZE.div(4));
      a.rep_stosd('a sector of NULs');
      a.mov(edi, blk_buf);
      a.xor(ecx, ecx, 'ECX = bytes of text');
      a.while_(() => { a.cmp(byte(esi), 0); return 'ne'; }, (loop) => {
        a.cmp(ecx, SECTOR_SIZE);
        loop.break_('ae', 'a sector is full (a shell line is shorter anyway)');
        a.mov(al, byte(esi));
        a.mov(byte(edi), al);
        a.inc(esi);
        a.inc(edi);
        a.inc(ecx);
      });
      a.mov(esi, ecx, 'ESI = bytes of text');
      a.pop(edi, 'EDI = lba');
      a.invoke(blk_rw, [ebx, BLK_WRITE, edi, 1, blk_buf]);
      a.test(eax, eax);
      a.if_('nz', () => {
        a.invoke(blk_fail, [ebx, eax, a.cstr('write'), edi, 1]);
        r.ret();
      });
      head();
      say(a, a.cstr('wrote sector '));
      a.mov(eax, edi);
      a.call(serial_put_dec);
      say(a, a.cstr(': '));
      a.mov(eax, esi);
      a.call(serial_put_dec);
      say(a, a.cstr(' bytes of text, NUL-padded to 512\r\n'));
      r.ret();
    });

    a.routine({
      name: blk_flush, does: 'blk [disk] flush: the device\'s write cache onto the medium',
      in: { ebx: 'the disk', esi: 'the arguments (none)' }, clobbers: [eax, ecx, edx, esi],
    }, (r) => {
      noMore(r, 'flush');
      a.invoke(blk_rw, [ebx, BLK_FLUSH, 0, 0, 0]);
      a.test(eax, eax);
      a.if_('nz', () => {
        a.invoke(blk_fail, [ebx, eax, a.cstr('flush'), 0, 0]);
        r.ret();
      });
      head();
      say(a, a.cstr('flushed\r\n'));
      r.ret();
    });

    a.routine({
      name: blk_check, does: 'blk [disk] check <lba> <count>: FNV-1a of count sectors, read BLK_CMD_MAX at a time',
      in: { ebx: 'the disk', esi: 'the arguments' }, clobbers: [eax, ecx, edx, esi], saves: [edi],
      locals: { lba: [4, 'the first sector'], count: [4, 'sectors'], next: [4, 'the next sector to read'], left: [4, 'sectors still to read'], hash: [4, 'FNV-1a so far'] },
    }, (r) => {
      word();
      number(r, 0xffffffff, "[blk] check: not a sector number: '");
      a.mov(r.local('lba'), eax);
      a.mov(r.local('next'), eax);
      word();
      number(r, 0xffffffff, "[blk] check: not a sector count: '");
      a.mov(r.local('count'), eax);
      noMore(r, 'check');
      a.mov(eax, r.local('count'));
      a.mov(r.local('left'), eax);
      a.test(eax, eax);
      a.if_('z', () => { say(a, a.cstr("[blk] check: the count is at least 1, not '0'\r\n")); r.ret(); });
      a.add(eax, r.local('lba'));
      a.mov(edx, 0);
      a.adc(edx, 0, 'EDX:EAX = lba + count, 64 bits');
      a.cmp(edx, dword(ebx, DISK.f.sectors_hi));
      a.if_('e', () => a.cmp(eax, dword(ebx, DISK.f.sectors)), undefined, 'equal high halves: the low halves decide');
      a.if_('a', () => {
        a.invoke(blk_fail, [ebx, ENXIO.neg(), a.cstr('check'), r.local('lba'), r.local('count')]);
        r.ret();
      }, undefined, 'past the end: say so before reading anything (blk_rw would refuse only the chunk that crosses it)');
      a.mov(r.local('hash'), FNV_OFFSET_BASIS);
      a.while_(() => { a.cmp(r.local('left'), 0); return 'ne'; }, () => {
        a.mov(esi, r.local('left'));
        a.cmp(esi, BLK_CMD_MAX);
        a.if_('a', () => a.mov(esi, BLK_CMD_MAX), undefined, 'ESI = this chunk: at most what blk_buf holds');
        a.invoke(blk_rw, [ebx, BLK_READ, r.local('next'), esi, blk_buf]);
        a.test(eax, eax);
        a.if_('nz', () => {
          a.invoke(blk_fail, [ebx, eax, a.cstr('check'), r.local('next'), esi]);
          r.ret();
        });
        a.mov(eax, r.local('hash'));
        a.mov(edx, blk_buf);
        a.mov(ecx, esi);
        a.shl(ecx, 9, 'bytes');
        a.call(fnv1a32);
        a.mov(r.local('hash'), eax);
        a.add(r.local('next'), esi);
        a.sub(r.local('left'), esi);
      });
      head();
      say(a, a.cstr('fnv1a32 of '));
      a.mov(eax, r.local('count'));
      a.call(serial_put_dec);
      say(a, a.cstr(' sectors from '));
      a.mov(eax, r.local('lba'));
      a.call(serial_put_dec);
      say(a, a.cstr(' = '));
      a.mov(eax, r.local('hash'));
      a.call(serial_put_hex32);
      a.call(serial_newline);
      r.ret();
    });

    a.routine({
      name: fnv1a32, does: '32-bit FNV-1a of a buffer, continuing from a hash (FNV_OFFSET_BASIS to start)',
      in: { eax: 'the hash so far', edx: 'the bytes', ecx: 'how many' }, out: { eax: 'the hash' }, clobbers: [ecx, edx],
    }, (r) => {
      a.forCount(ecx, ecx, () => {
        a.xor(al, byte(edx), 'xor the byte into the low 8 bits ...');
        a.imul(eax, eax, FNV_PRIME_32, '... then multiply, modulo 2^32');
        a.inc(edx);
      }, 'every byte');
      r.ret();
    });

    a.routine({
      name: blk_show, does: 'print one disk\'s line for "blk"',
      in: { ebx: 'the disk' }, clobbers: [eax, ecx, edx],
    }, (r) => {
      head();
      a.mov(eax, dword(ebx, DISK.f.kind));
      a.call(serial_puts);
      say(a, a.cstr(', '));
      a.mov(eax, ebx);
      a.call(disk_put_size);
      say(a, a.cstr(', serial "'));
      a.lea(eax, dword(ebx, DISK.f.serial));
      a.call(serial_puts);
      a.test(dword(ebx, DISK.f.flags), DISK_RO);
      a.if_('nz', () => say(a, a.cstr('", read-only')), () => say(a, a.cstr('", read-write')));
      a.test(dword(ebx, DISK.f.flags), DISK_BOOT);
      a.if_('nz', () => say(a, a.cstr(', boot disk (writes refused)')));
      a.test(dword(ebx, DISK.f.flags), DISK_FLUSH);
      a.if_('nz', () => say(a, a.cstr(', write cache (flush)')));
      say(a, a.cstr('; '));
      a.mov(eax, dword(ebx, DISK.f.reqs));
      a.call(serial_put_dec);
      say(a, a.cstr(' requests, '));
      a.mov(eax, dword(ebx, DISK.f.errors));
      a.call(serial_put_dec);
      say(a, a.cstr(' errors, '));
      a.mov(eax, dword(ebx, DISK.f.pio));
      a.call(serial_put_dec);
      say(a, a.cstr(' port accesses\r\n'));
      r.ret();
    });

    a.routine({
      name: blk_fail, does: 'print why a blk request failed: the disk, the request, the errno\'s name and meaning',
      args: { disk: 'the disk', err: '-errno from blk_rw', op: 'what was asked ("read" ...)', lba: 'its first sector', count: 'its sectors (0: none, a flush)' },
      clobbers: [eax, ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(ebx, r.arg('disk'));
      head();
      a.mov(eax, r.arg('op'));
      a.call(serial_puts);
      a.cmp(r.arg('count'), 0);
      a.if_('ne', () => {
        say(a, a.cstr(' of '));
        a.mov(eax, r.arg('count'));
        a.call(serial_put_dec);
        say(a, a.cstr(' at sector '));
        a.mov(eax, r.arg('lba'));
        a.call(serial_put_dec);
      });
      say(a, a.cstr(': -'));
      a.mov(eax, r.arg('err'));
      a.neg(eax, 'the errno');
      a.mov(esi, blk_errors);
      a.while_(() => { a.cmp(dword(esi), 0); return 'ne'; }, (loop) => {
        a.cmp(dword(esi), eax);
        loop.break_('e');
        a.add(esi, 12);
      });
      a.cmp(dword(esi), 0);
      a.if_('e', () => {
        say(a, a.cstr('errno '));
        a.call(serial_put_dec);
        a.call(serial_newline);
        r.ret();
      }, undefined, 'not in the table');
      a.mov(eax, dword(esi, 4));
      a.call(serial_puts);
      say(a, a.cstr(': '));
      a.mov(eax, dword(esi, 8));
      a.call(serial_puts);
      a.cmp(dword(esi), ENXIO);
      a.if_('e', () => {
        say(a, a.cstr(' ('));
        a.mov(eax, ebx);
        a.call(disk_put_size);
        say(a, a.cstr(')'));
      });
      a.call(serial_newline);
      r.ret();
    });

    a.routine({
      name: blk_dump, does: 'hex dump: "[blk] oooo: 16 bytes in hex  the same as ASCII" per line',
      in: { eax: 'the bytes', edx: 'how many (a multiple of 16)' }, clobbers: [eax, ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(esi, eax, 'ESI = the line\'s bytes');
      a.mov(edi, edx, 'EDI = bytes left');
      a.xor(ebx, ebx, 'EBX = offset');
      a.while_(() => { a.test(edi, edi); return 'nz'; }, () => {
        say(a, a.cstr('[blk] '));
        a.mov(eax, ebx);
        a.shr(eax, 8);
        a.call(serial_put_hex8);
        a.mov(eax, ebx);
        a.call(serial_put_hex8);
        a.mov(al, chr(':'));
        a.call(serial_putc);
        a.xor(ecx, ecx);
        a.while_(() => { a.cmp(ecx, 16); return 'b'; }, () => {
          a.push(ecx);
          a.mov(al, chr(' '));
          a.call(serial_putc);
          a.pop(ecx);
          a.push(ecx);
          a.mov(al, byte({ base: esi, index: ecx }));
          a.call(serial_put_hex8);
          a.pop(ecx);
          a.inc(ecx);
        }, 'the 16 bytes in hex');
        a.mov(al, chr(' '));
        a.call(serial_putc);
        a.mov(al, chr(' '));
        a.call(serial_putc);
        a.xor(ecx, ecx);
        a.while_(() => { a.cmp(ecx, 16); return 'b'; }, () => {
          a.push(ecx);
          a.mov(al, byte({ base: esi, index: ecx }));
          a.cmp(al, 0x20);
          a.if_('b', () => a.mov(al, chr('.')), undefined, 'a control character');
          a.cmp(al, 0x7e);
          a.if_('a', () => a.mov(al, chr('.')), undefined, 'DEL and bytes above ASCII');
          a.call(serial_putc);
          a.pop(ecx);
          a.inc(ecx);
        }, 'the same bytes as ASCII, "." for the unprintable');
        a.call(serial_newline);
        a.add(esi, 16);
        a.add(ebx, 16);
        a.sub(edi, 16);
      });
      r.ret();
    });

    a.section('tables');
    a.label(blk_ops, 'blk\'s operations -> their routines, for name_lookup');
    for (const [n, h] of [['read', blk_read], ['write', blk_write], ['flush', blk_flush], ['check', blk_check]] as const) a.dataC(4, [a.cstr(n), h], n);
    a.dataC(4, [0], 'end of the table');
    a.align(4);
    a.label(blk_errors, 'errno -> name, meaning (ends with 0)');
    for (const e of BLK_ERRORS) a.dataC(4, [e.errno, a.cstr(e.name), a.cstr(e.text)], e.name);
    a.dataC(4, [0], 'end of the table');
  },
});
