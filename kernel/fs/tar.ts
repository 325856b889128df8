// The tar file system, read side: a POSIX ustar archive on a virtio-blk disk,
// mounted at boot, its entries in a table, files read at any offset.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, cl, eax, ebx, ecx, edx, esi, edi, byte, word, dword, constant, chr } from '../../toolchain/x86/operands.ts';
import { array, defineStruct, pad, u32, u8 } from '../../toolchain/x86/struct.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { say } from '../lib/print.ts';
import { serial_newline, serial_put_dec, serial_puts } from '../dev/serial.ts';
import { strcmp } from '../lib/string.ts';
import { BLK_READ, DISK, SECTOR_SHIFT, SECTOR_SIZE, blk_rw, disk_count, disk_put_size, disk_table } from '../blk/disk.ts';

// The labels these modules define (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const tar_octal = sym('tar_octal');
export const tar_hdr_check = sym('tar_hdr_check');
export const tar_mount = sym('tar_mount');
const tar_scan = sym('tar_scan');
const tar_add = sym('tar_add');
export const tar_norm = sym('tar_norm');
export const tar_lookup = sym('tar_lookup');
export const tar_read = sym('tar_read');
export const tar_disk = sym('tar_disk');
export const tar_count = sym('tar_count');
export const tar_ents = sym('tar_ents');
export const tar_path = sym('tar_path');
const tar_buf = sym('tar_buf');
const tar_more = sym('tar_more');
const tar_put_where = sym('tar_put_where');
const tar_long = sym('tar_long');
const tar_long_set = sym('tar_long_set');
export const tar_pax_path = sym('tar_pax_path');

// POSIX.1-2008, XCU pax, "ustar Interchange Format": the names the standard's <tar.h> gives.
export const TMAGLEN = constant('TMAGLEN', 6, 'bytes of the magic field: "ustar" and a NUL (GNU tar\'s older format: "ustar" and a space)', { radix: 10 });
export const TVERSLEN = constant('TVERSLEN', 2, 'bytes of the version field: "00"', { radix: 10 });
export const REGTYPE = constant('REGTYPE', chr('0'), 'typeflag: a regular file');
export const AREGTYPE = constant('AREGTYPE', 0, 'typeflag: a regular file (the pre-POSIX NUL)');
export const LNKTYPE = constant('LNKTYPE', chr('1'), 'typeflag: a hard link to an earlier entry');
export const SYMTYPE = constant('SYMTYPE', chr('2'), 'typeflag: a symbolic link');
export const CHRTYPE = constant('CHRTYPE', chr('3'), 'typeflag: a character device');
export const BLKTYPE = constant('BLKTYPE', chr('4'), 'typeflag: a block device');
export const DIRTYPE = constant('DIRTYPE', chr('5'), 'typeflag: a directory');
export const FIFOTYPE = constant('FIFOTYPE', chr('6'), 'typeflag: a FIFO');
export const CONTTYPE = constant('CONTTYPE', chr('7'), 'typeflag: a contiguous file (read as a regular file)');
// Extension headers: not entries, but data about the next one (POSIX.1-2008 XCU pax, "pax Header Block";
// GNU tar's manual, "Basic Tar Format": GNUTYPE_LONGNAME, GNUTYPE_LONGLINK).
export const XHDTYPE = constant('XHDTYPE', chr('x'), 'typeflag: pax extended header for the next entry (skipped: not an entry)');
export const XGLTYPE = constant('XGLTYPE', chr('g'), 'typeflag: pax global extended header (skipped: not an entry)');
export const GNUTYPE_LONGNAME = constant('GNUTYPE_LONGNAME', chr('L'), 'typeflag: GNU tar: the data is the next entry\'s full path');
export const GNUTYPE_LONGLINK = constant('GNUTYPE_LONGLINK', chr('K'), 'typeflag: GNU tar: the data is the next entry\'s full link target (skipped)');
/** "usta" as the little-endian dword at the start of the magic field. */
const MAGIC_USTA = 0x61747375;

export const TAR_OK = constant('TAR_OK', 0, 'tar_hdr_check: a valid ustar header');
export const TAR_NOT_USTAR = constant('TAR_NOT_USTAR', 1, 'tar_hdr_check: no ustar magic in the block');
export const TAR_BAD_SUM = constant('TAR_BAD_SUM', 2, 'tar_hdr_check: the magic is there but the checksum field does not match the block');
const MAX_ENTS = 64;
export const TAR_MAX_ENTS = constant('TAR_MAX_ENTS', MAX_ENTS, 'entries tar_ents holds: an archive with more is mounted with the first TAR_MAX_ENTS (a line says so)', { radix: 10 });
export const TAR_PATH_MAX = constant('TAR_PATH_MAX', 256, 'longest path: prefix (155) + "/" + name (100)', { radix: 10 });
export const TAR_BUF_SECTORS = constant('TAR_BUF_SECTORS', 8, 'sectors tar_read moves in one blk_rw call', { radix: 10 });

/** The 512-byte header block (POSIX.1-2008 pax, "ustar Interchange Format", ustar Header Block). */
export const USTAR_HDR = defineStruct('ustar_hdr', {
  name: array(u8(), 100, 'the path, or its last part when prefix is used; NUL-terminated unless all 100 bytes are used'),
  mode: array(u8(), 8, 'permission bits, octal ASCII'),
  uid: array(u8(), 8, 'owner user ID, octal'),
  gid: array(u8(), 8, 'owner group ID, octal'),
  size: array(u8(), 12, 'bytes of data after the header, octal (up to 11 digits: 8 GiB)'),
  mtime: array(u8(), 12, 'modification time, seconds since the epoch, octal'),
  chksum: array(u8(), 8, 'the sum of the header\'s bytes, this field counted as 8 spaces, octal'),
  typeflag: u8('REGTYPE, DIRTYPE, SYMTYPE, ...'),
  linkname: array(u8(), 100, 'a link\'s target'),
  magic: array(u8(), 6, '"ustar" NUL'),
  version: array(u8(), 2, '"00"'),
  uname: array(u8(), 32, 'owner user name'),
  gname: array(u8(), 32, 'owner group name'),
  devmajor: array(u8(), 8, 'device major number, octal'),
  devminor: array(u8(), 8, 'device minor number, octal'),
  prefix: array(u8(), 155, 'the path before name (joined with a "/"), or empty'),
  pad: pad(12, 'up to the 512 bytes of a block'),
}, { doc: 'a ustar header block (tar.asm)', size: 512 });

/** One entry of the mounted archive, as the scan found it. */
export const TAR_ENT = defineStruct('tar_ent', {
  path: array(u8(), 260, 'prefix "/" name, NUL-terminated, without a leading "./" or a trailing "/"'),
  size: u32('bytes of data'),
  mode: u32('permission bits from the header'),
  type: u32('the typeflag (AREGTYPE stored as REGTYPE)'),
  lba: u32('first sector of the data: the header\'s sector + 1'),
}, { doc: 'an entry of the mounted archive (tar.asm)', size: 276 });

const H = USTAR_HDR.f;
const E = TAR_ENT.f;

export const ustar = defineModule({
  name: 'ustar',
  title: 'The ustar header: octal fields and the checksum',
  about: `
A tar archive is a sequence of 512-byte blocks: a header, then the entry's
data padded to whole blocks, then the next header; two blocks of zeros end
it (POSIX.1-2008, XCU pax, "ustar Interchange Format").  A header block fits
a disk sector exactly, so the sector a header is in is also where its data
starts, one sector later.

Every number in a header is ASCII octal digits (leading zeros, ended by a
NUL or a space), so a hex dump of a header reads like text:

  tar_octal      EAX = field, EDX = its length -> EAX = value, EDX = 0
                 (or EDX = -1: no digit, a character that is not an octal
                 digit, or a value past 32 bits)

The header protects itself with a checksum: the sum of its 512 bytes as
unsigned numbers, the checksum field itself counted as eight spaces.  A
block is a header when the magic field says "ustar" (POSIX: "ustar" NUL,
version "00"; GNU tar's older default: "ustar" space) and the stored sum
matches:

  tar_hdr_check  EAX = block -> EAX = TAR_OK, TAR_NOT_USTAR or TAR_BAD_SUM

Both are pure: they read memory and touch no device, so the routine tests
run them under qemu-i386 on hand-made blocks.`,
  spec: ['POSIX.1-2008 XCU pax, "ustar Interchange Format" (header block, <tar.h> constants)'],
  emit(a) {
    a.routine({
      name: tar_octal, does: 'parses an octal ASCII field of a ustar header',
      in: { eax: 'the field', edx: 'its length in bytes' },
      out: { eax: 'the value', edx: '0, or -1 when the field is not a number that fits 32 bits' },
      clobbers: [ecx], saves: [ebx, esi],
    }, (r) => {
      a.mov(esi, eax, 'ESI = next byte');
      a.mov(ecx, edx, 'ECX = bytes left');
      a.xor(eax, eax, 'EAX = the value');
      a.xor(ebx, ebx, 'EBX = digits seen');
      a.while_(() => { a.test(ecx, ecx); return 'nz'; }, (loop) => {
        a.cmp(byte(esi), chr(' '));
        loop.break_('ne');
        a.inc(esi);
        a.dec(ecx);
      }, 'leading spaces (an old tar pads numbers with them)');
      a.while_(() => { a.test(ecx, ecx); return 'nz'; }, (loop) => {
        a.movzx(edx, byte(esi));
        a.test(edx, edx);
        loop.break_('z', 'a NUL ends the number');
        a.cmp(edx, chr(' '));
        loop.break_('e', 'so does a space');
        a.sub(edx, chr('0'));
        a.cmp(edx, 7);
        a.if_('a', () => { a.mov(edx, -1); r.ret(); }, undefined, 'not an octal digit');
        a.test(eax, 0xe0000000);
        a.if_('nz', () => { a.mov(edx, -1); r.ret(); }, undefined, 'another digit would shift bits out: more than 32 bits');
        a.shl(eax, 3);
        a.or(eax, edx);
        a.inc(ebx);
        a.inc(esi);
        a.dec(ecx);
      }, 'the digits');
      a.mov(edx, -1);
      a.test(ebx, ebx);
      r.retIf('z', 'no digit at all');
      a.xor(edx, edx);
      r.ret();
    });

    a.routine({
      name: tar_hdr_check, does: 'checks that a block is a ustar header: magic and checksum',
      in: { eax: 'the 512-byte block' },
      out: { eax: 'TAR_OK, TAR_NOT_USTAR (no magic) or TAR_BAD_SUM (magic, but the checksum does not match)' },
      clobbers: [ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(ebx, eax);
      a.mov(eax, TAR_NOT_USTAR);
      a.cmp(dword(ebx, H.magic), MAGIC_USTA, '"usta"');
      r.retIf('ne');
      a.cmp(byte(ebx, H.magic.add(4)), chr('r'));
      r.retIf('ne');
      a.mov(cl, byte(ebx, H.magic.add(5)));
      a.test(cl, cl);
      a.if_('nz', () => {
        a.cmp(cl, chr(' '));
        r.retIf('ne', 'neither POSIX\'s NUL nor GNU\'s space after "ustar"');
      });
      a.xor(esi, esi, 'ESI = the sum');
      a.xor(ecx, ecx);
      a.while_(() => { a.cmp(ecx, SECTOR_SIZE); return 'b'; }, () => {
        a.movzx(edx, byte({ base: ebx, index: ecx }));
        a.add(esi, edx);
        a.inc(ecx);
      }, 'every byte, as an unsigned number');
      a.xor(ecx, ecx);
      a.while_(() => { a.cmp(ecx, 8); return 'b'; }, () => {
        a.movzx(edx, byte({ base: ebx, index: ecx, disp: H.chksum }));
        a.sub(esi, edx);
        a.add(esi, chr(' '));
        a.inc(ecx);
      }, 'the checksum field counts as eight spaces');
      a.lea(eax, dword(ebx, H.chksum));
      a.mov(edx, 8);
      a.call(tar_octal);
      a.mov(ecx, eax, 'ECX = the stored checksum');
      a.mov(eax, TAR_BAD_SUM);
      a.test(edx, edx);
      r.retIf('nz', 'the stored checksum is not a number');
      a.cmp(ecx, esi);
      r.retIf('ne', 'the stored checksum differs from the sum');
      a.mov(eax, TAR_OK);
      r.ret();
    });
  },
});

export const tarfs = defineModule({
  name: 'tar',
  title: 'The tar file system: mounting a ustar archive from a virtio-blk disk, lookup and reads',
  about: `
At boot (kmain, after the drivers and disk_find_boot), tar_mount looks at
each virtio-blk disk in disk_table in order and mounts the first whose
sector 0 is a valid ustar header (tar_hdr_check).  IDE disks, and any other
disk, are left untouched: a disk is only ever read here, never written.
It prints one line:

  [fs] vda: ustar archive, 4 entries
  [fs] no file system (no virtio-blk disk holds a ustar archive)

tar_scan walks the archive header by header, one blk_rw read each, and
stops - keeping the entries before - at the first of:

  a block of zeros                    the end-of-archive marker (normal)
  the disk's end                      "no end-of-archive marker"
  a block with a bad checksum         reported with its sector
  a block that is not a header        reported with its sector
  a size whose data ends past the     reported with the header's sector
    disk's end

so a damaged or hostile disk costs at most one pass over its sectors and
never a read outside it.  Each header becomes a tar_ent: the path (prefix
"/" name, without a leading "./" or a trailing "/"), size, mode, type and
the sector where the data starts - the header's sector + 1, since a header
is exactly one sector.  Every type is listed; only regular files
(REGTYPE, AREGTYPE, CONTTYPE) are read.  Whatever the type, the walk skips
the size field's worth of data.  Extension headers are not entries: GNU
tar's long name ('L', the next entry's full path, at most TAR_PATH_MAX
bytes) and a pax header's "path" record ('x', tar_pax_path) give the next
entry its path, in place of prefix and name, which then hold a truncated
one; other pax records ('x', 'g') and GNU long link names ('K') are
skipped.  So --format=gnu and --format=posix archives list as tar -t
lists them, and their headers take no place in tar_ents.  A sector 0
with the magic but a bad checksum is reported and the disk not mounted;
entries past TAR_MAX_ENTS are counted in tar_more and a line says they
are not listed.

  tar_norm    EAX = a path as typed -> EAX = tar_path, the same path
              without leading and trailing "/" (0 if too long)
  tar_lookup  EAX = a normalized path -> EAX = its tar_ent (the last of
              the same path: tar -r appends newer copies), or 0
  tar_read    (ent, off, len, buf) -> EAX = bytes copied (0 at the end
              of the file), or the -errno of blk_rw
  tar_pax_path  EAX = pax records, EDX = their length -> EAX = 1 when a
              "path" record (at most TAR_PATH_MAX bytes) is now in
              tar_long for the next entry, else 0

tar_read reads up to TAR_BUF_SECTORS sectors at a time into tar_buf and
copies the part asked for: any offset, any length.`,
  spec: ['POSIX.1-2008 XCU pax, "ustar Interchange Format" and "pax Extended Header"', 'GNU tar manual, "Basic Tar Format" (GNUTYPE_LONGNAME)'],
  emit(a) {
    a.bss(tar_disk, 4, 4, 'the mounted disk (its disk_table entry), or 0: no file system');
    a.bss(tar_count, 4, 4, 'entries in tar_ents');
    a.bss(tar_more, 4, 4, 'entries past TAR_MAX_ENTS, not in the table');
    a.bss(tar_ents, TAR_MAX_ENTS.mul(TAR_ENT.SIZE), 4, 'the archive\'s entries, in archive order');
    a.bss(tar_path, TAR_PATH_MAX.add(4), 4, 'the path tar_norm made');
    a.bss(tar_buf, TAR_BUF_SECTORS.mul(SECTOR_SIZE), 4, 'sectors read by tar_scan and tar_read');
    a.bss(tar_long, TAR_PATH_MAX.add(4), 4, 'the path a GNU long-name entry gave the next header');
    a.bss(tar_long_set, 4, 4, '1 when tar_long holds a path for the next header');

    a.routine({
      name: tar_mount, does: 'mounts the first virtio-blk disk whose sector 0 is a ustar header, and says so',
      clobbers: [eax, ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(ebx, disk_table);
      a.mov(esi, dword(disk_count));
      a.forCount(esi, esi, () => {
        a.mov(eax, dword(ebx, DISK.f.kind));
        a.mov(edx, a.cstr('virtio-blk'));
        a.call(strcmp);
        a.test(eax, eax);
        a.if_('z', () => {
          a.invoke(blk_rw, [ebx, BLK_READ, 0, 1, tar_buf], 'sector 0');
          a.test(eax, eax);
          a.if_('z', () => {
            a.mov(eax, tar_buf);
            a.call(tar_hdr_check);
            a.cmp(eax, TAR_BAD_SUM);
            a.if_('e', () => {
              say(a, a.cstr('[fs] '));
              a.lea(eax, dword(ebx, DISK.f.name));
              a.call(serial_puts);
              say(a, a.cstr(': sector 0 has the ustar magic but a bad header checksum: not mounted\r\n'));
              a.mov(eax, TAR_BAD_SUM);
            });
            a.cmp(eax, TAR_OK);
            a.if_('e', () => {
              a.mov(dword(tar_disk), ebx);
              a.mov(eax, ebx);
              a.call(tar_scan);
              say(a, a.cstr('[fs] '));
              a.lea(eax, dword(ebx, DISK.f.name));
              a.call(serial_puts);
              say(a, a.cstr(': ustar archive, '));
              a.mov(eax, dword(tar_count));
              a.call(serial_put_dec);
              say(a, a.cstr(' entries\r\n'));
              r.ret();
            });
          }, undefined, 'a disk that cannot be read holds no file system');
        });
        a.add(ebx, DISK.SIZE);
      }, 'every disk, in table order');
      say(a, a.cstr('[fs] no file system (no virtio-blk disk holds a ustar archive)\r\n'));
      r.ret();
    });

    a.routine({
      name: tar_put_where, does: 'starts a scan report: "[fs] <disk>: " and a message, then the sector in ESI',
      in: { eax: 'the message (it ends before the sector number)' }, clobbers: [eax, ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(edi, eax);
      say(a, a.cstr('[fs] '));
      a.mov(eax, dword(tar_disk));
      a.lea(eax, dword(eax, DISK.f.name));
      a.call(serial_puts);
      say(a, a.cstr(': '));
      a.mov(eax, edi);
      a.call(serial_puts);
      a.mov(eax, esi);
      a.call(serial_put_dec);
      r.ret();
    });

    a.routine({
      name: tar_scan, does: 'walks the archive\'s headers into tar_ents, stopping at its end or at the first damage (reported)',
      in: { eax: 'the disk' }, clobbers: [eax, ecx, edx], saves: [ebx, esi, edi],
      locals: { size: [4, 'the entry\'s data bytes'], next: [4, 'the sector after its data'] },
    }, (r) => {
      a.mov(ebx, eax, 'EBX = the disk');
      a.mov(dword(tar_count), 0);
      a.mov(dword(tar_more), 0);
      a.mov(dword(tar_long_set), 0);
      a.xor(esi, esi, 'ESI = the sector of the header');
      a.loop_((walk) => {
        a.cmp(dword(ebx, DISK.f.sectors_hi), 0);
        a.if_('e', () => {
          a.cmp(esi, dword(ebx, DISK.f.sectors));
          a.if_('ae', () => {
            a.mov(eax, a.cstr('no end-of-archive marker before the disk\'s end at sector '));
            a.call(tar_put_where);
            a.call(serial_newline);
            walk.break_();
          });
        }, undefined, 'a disk of 2 TiB or more cannot end before a 32-bit sector number does');
        a.invoke(blk_rw, [ebx, BLK_READ, esi, 1, tar_buf]);
        a.test(eax, eax);
        a.if_('nz', () => {
          a.mov(eax, a.cstr('read error at sector '));
          a.call(tar_put_where);
          say(a, a.cstr(': the archive ends there\r\n'));
          walk.break_();
        });
        a.xor(eax, eax);
        a.xor(ecx, ecx);
        a.while_(() => { a.cmp(ecx, SECTOR_SIZE); return 'b'; }, () => {
          a.or(eax, dword({ base: ecx, disp: tar_buf }));
          a.add(ecx, 4);
        }, 'OR of every dword: 0 only for a block of zeros');
        a.test(eax, eax);
        walk.break_('z', 'a zero block: the end-of-archive marker');
        a.mov(eax, tar_buf);
        a.call(tar_hdr_check);
        a.cmp(eax, TAR_BAD_SUM);
        a.if_('e', () => {
          a.mov(eax, a.cstr('bad header checksum at sector '));
          a.call(tar_put_where);
          say(a, a.cstr(': the archive ends there\r\n'));
          walk.break_();
        });
        a.cmp(eax, TAR_OK);
        a.if_('ne', () => {
          a.mov(eax, a.cstr('no ustar header at sector '));
          a.call(tar_put_where);
          say(a, a.cstr(': the archive ends there\r\n'));
          walk.break_();
        });
        a.mov(eax, tar_buf.add(H.size));
        a.mov(edx, 12);
        a.call(tar_octal);
        a.test(edx, edx);
        a.if_('nz', () => {
          a.mov(eax, a.cstr('bad size field in the header at sector '));
          a.call(tar_put_where);
          say(a, a.cstr(': the archive ends there\r\n'));
          walk.break_();
        });
        a.mov(r.local('size'), eax);
        a.mov(ecx, eax);
        a.shr(ecx, SECTOR_SHIFT, 'whole sectors of data');
        a.test(eax, SECTOR_SIZE.sub(1));
        a.if_('nz', () => a.inc(ecx), undefined, 'and a partial one');
        a.cmp(dword(ebx, DISK.f.sectors_hi), 0);
        a.if_('e', () => {
          a.mov(edx, dword(ebx, DISK.f.sectors));
          a.sub(edx, esi);
          a.dec(edx, 'EDX = sectors after the header (ESI < sectors: checked above)');
          a.cmp(ecx, edx);
          a.if_('a', () => {
            a.mov(eax, a.cstr('the header at sector '));
            a.call(tar_put_where);
            say(a, a.cstr(' claims '));
            a.mov(eax, r.local('size'));
            a.call(serial_put_dec);
            say(a, a.cstr(' bytes, past the disk\'s end ('));
            a.mov(eax, ebx);
            a.call(disk_put_size);
            say(a, a.cstr('): the archive ends there\r\n'));
            walk.break_();
          });
        }, undefined, 'the data must lie on the disk (compared as counts: no sum that could wrap)');
        a.lea(ecx, dword({ base: ecx, index: esi, disp: 1 }), 'the sector after the data');
        a.mov(r.local('next'), ecx);
        a.cmp(ecx, esi);
        walk.break_('be', 'wrapped past 2^32 sectors (only possible on a disk of 2 TiB or more)');
        a.movzx(eax, byte(tar_buf.add(H.typeflag)));
        a.cmp(eax, GNUTYPE_LONGNAME);
        a.if_('e', () => {
          a.mov(ecx, r.local('size'));
          a.cmp(ecx, TAR_PATH_MAX.add(1));
          a.if_('a', () => {
            a.mov(eax, a.cstr('a GNU long name longer than TAR_PATH_MAX at sector '));
            a.call(tar_put_where);
            say(a, a.cstr(': the next entry keeps its short name\r\n'));
          }, () => {
            a.lea(eax, dword(esi, 1));
            a.invoke(blk_rw, [ebx, BLK_READ, eax, 1, tar_buf], 'the name: at most TAR_PATH_MAX + 1 bytes, one sector');
            a.test(eax, eax);
            a.if_('z', () => {
              a.push(esi);
              a.mov(esi, tar_buf);
              a.mov(edi, tar_long);
              a.mov(ecx, r.local('size'));
              a.rep_movsb();
              a.mov(byte(edi), 0, 'the count includes tar\'s NUL; this one bounds a name without it');
              a.pop(esi);
              a.mov(dword(tar_long_set), 1);
            }, undefined, 'a read error: the next entry keeps its short name (tar_add reports nothing; the walk goes on)');
          });
          a.mov(esi, r.local('next'));
          walk.continue_();
        }, undefined, 'a GNU long name: the next header\'s path');
        a.cmp(eax, XHDTYPE);
        a.if_('e', () => {
          a.mov(ecx, r.local('size'));
          a.cmp(ecx, TAR_BUF_SECTORS.mul(SECTOR_SIZE));
          a.if_('be', () => {
            a.mov(edx, ecx);
            a.add(edx, SECTOR_SIZE.sub(1));
            a.shr(edx, SECTOR_SHIFT);
            a.lea(eax, dword(esi, 1));
            a.invoke(blk_rw, [ebx, BLK_READ, eax, edx, tar_buf]);
            a.test(eax, eax);
            a.if_('z', () => {
              a.mov(eax, tar_buf);
              a.mov(edx, r.local('size'));
              a.call(tar_pax_path);
            });
          }, undefined, 'records that fit tar_buf (a path record is at most a few hundred bytes); a longer header is skipped');
          a.mov(esi, r.local('next'));
          walk.continue_();
        }, undefined, 'pax attributes for the next entry: its "path" record, if any, is its path');
        for (const t of [XGLTYPE, GNUTYPE_LONGLINK]) {
          a.cmp(eax, t);
          a.if_('e', () => { a.mov(esi, r.local('next')); walk.continue_(); }, undefined, 'an extension header: not an entry (its data is skipped)');
        }
        a.mov(eax, esi);
        a.mov(edx, r.local('size'));
        a.call(tar_add);
        a.mov(esi, r.local('next'));
      }, 'header by header');
      r.ret();
    });

    a.routine({
      name: tar_add, does: 'adds the header in tar_buf to tar_ents (a full table is reported once)',
      in: { eax: 'the header\'s sector', edx: 'its data size' }, clobbers: [eax, ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(ebx, eax);
      a.mov(ecx, dword(tar_count));
      a.cmp(ecx, TAR_MAX_ENTS);
      a.if_('ae', () => {
        a.mov(dword(tar_long_set), 0, 'a long name belongs to this entry only');
        a.cmp(dword(tar_more), 0);
        a.if_('e', () => {
          say(a, a.cstr(`[fs] more than TAR_MAX_ENTS (${MAX_ENTS}) entries: the rest are not listed\r\n`));
        }, undefined, 'said once');
        a.inc(dword(tar_more));
        r.ret();
      });
      a.imul(edi, ecx, TAR_ENT.SIZE);
      a.add(edi, tar_ents, 'EDI = the new entry');
      a.mov(dword(edi, E.size), edx);
      a.lea(eax, dword(ebx, 1));
      a.mov(dword(edi, E.lba), eax, 'the data follows the header');
      a.movzx(eax, byte(tar_buf.add(H.typeflag)));
      a.cmp(eax, AREGTYPE);
      a.if_('e', () => a.mov(eax, REGTYPE), undefined, 'the old NUL typeflag is a regular file too');
      a.mov(dword(edi, E.type), eax);
      a.mov(eax, tar_buf.add(H.mode));
      a.mov(edx, 8);
      a.call(tar_octal);
      a.test(edx, edx);
      a.if_('nz', () => a.xor(eax, eax), undefined, 'an unreadable mode shows as 0000');
      a.and(eax, 0o7777);
      a.mov(dword(edi, E.mode), eax);
      // The path: the one an extension header gave (tar_long), else prefix, "/" if there
      // is one, then name; neither field need end in a NUL.
      a.push(edi);
      a.cmp(dword(tar_long_set), 0);
      a.if_('ne', () => {
        a.mov(dword(tar_long_set), 0);
        a.mov(esi, tar_long);
        a.loop_((copy) => {
          a.mov(al, byte(esi));
          a.test(al, al);
          copy.break_('z');
          a.mov(byte(edi), al);
          a.inc(esi); a.inc(edi);
        }, 'the long name (NUL-terminated within TAR_PATH_MAX + 2 bytes by tar_scan or tar_pax_path)');
      }, () => {
        /** Copy a header field of `len` bytes, NUL-terminated or full, from ESI to EDI; ECX = bytes left unused. */
        const copyField = (len: number, what: string) => {
          a.mov(ecx, len);
          a.while_(() => { a.test(ecx, ecx); return 'nz'; }, (loop) => {
            a.mov(al, byte(esi));
            a.test(al, al);
            loop.break_('z');
            a.mov(byte(edi), al);
            a.inc(esi); a.inc(edi); a.dec(ecx);
          }, what);
        };
        a.mov(esi, tar_buf.add(H.prefix));
        copyField(155, 'prefix');
        a.cmp(ecx, 155);
        a.if_('ne', () => { a.mov(byte(edi), chr('/')); a.inc(edi); }, undefined, 'a prefix was there');
        a.mov(esi, tar_buf.add(H.name));
        copyField(100, 'name');
      }, 'a path from a GNU long-name or pax header, or prefix "/" name');
      a.mov(byte(edi), 0);
      a.pop(esi, 'ESI = the entry (its path first)');
      a.while_(() => { a.cmp(edi, esi); return 'a'; }, (loop) => {
        a.cmp(byte(edi, -1), chr('/'));
        loop.break_('ne');
        a.dec(edi);
        a.mov(byte(edi), 0);
      }, 'no trailing "/" (a directory\'s name has one)');
      a.cmp(word(esi), 0x2f2e);
      a.if_('e', () => {
        a.mov(edi, esi);
        a.push(esi);
        a.add(esi, 2);
        a.mov(ecx, TAR_PATH_MAX);
        a.rep_movsb('move the path left over the "./" that tar -C dir . puts first');
        a.pop(esi);
      });
      a.cmp(byte(esi), 0);
      r.retIf('e', 'the archive\'s own "." (or an empty name): not an entry');
      a.cmp(word(esi), chr('.'));
      r.retIf('e', '"." alone');
      a.inc(dword(tar_count));
      r.ret();
    });

    a.routine({
      name: tar_pax_path, does: 'finds the "path" record of pax extended header data and keeps its value for the next entry',
      in: { eax: 'the records', edx: 'their length in bytes' },
      out: { eax: '1 when a path was kept in tar_long (tar_long_set = 1), else 0' },
      clobbers: [ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      // Each record is "<length> <keyword>=<value>\n", the length in decimal counting the
      // whole record (POSIX.1-2008 XCU pax, "pax Extended Header"); a later "path" wins.
      a.mov(esi, eax, 'ESI = the record');
      a.lea(edi, dword({ base: eax, index: edx }), 'EDI = the end of the data');
      a.loop_((recs) => {
        a.cmp(esi, edi);
        recs.break_('ae');
        a.xor(ebx, ebx, 'EBX = the record\'s length');
        a.mov(ecx, esi);
        a.loop_((digits) => {
          a.cmp(ecx, edi);
          recs.break_('ae', 'no space before the end: not a record');
          a.movzx(eax, byte(ecx));
          a.inc(ecx);
          a.cmp(eax, chr(' '));
          digits.break_('e');
          a.sub(eax, chr('0'));
          a.cmp(eax, 9);
          recs.break_('a', 'not a decimal digit: the records are damaged, stop');
          a.cmp(ebx, 0x1000000);
          recs.break_('ae', 'absurdly long');
          a.imul(ebx, ebx, 10);
          a.add(ebx, eax);
        }, 'the decimal length, up to its space');
        a.mov(edx, edi);
        a.sub(edx, esi);
        a.cmp(ebx, edx);
        recs.break_('a', 'the record runs past the data');
        a.lea(edx, dword({ base: esi, index: ebx }), 'EDX = the next record');
        a.cmp(byte(edx, -1), 10);
        recs.break_('ne', 'a record ends with a line feed');
        a.mov(eax, edx);
        a.sub(eax, ecx, 'EAX = bytes from the keyword to the end');
        a.cmp(eax, 6);
        a.if_('ae', () => {
          a.cmp(dword(ecx), 0x68746170, '"path"');
          a.if_('e', () => {
            a.cmp(byte(ecx, 4), chr('='));
            a.if_('e', () => {
              a.sub(eax, 6, 'EAX = the value\'s length (without "path=" and the line feed)');
              a.cmp(eax, TAR_PATH_MAX);
              a.if_('be', () => {
                a.push(esi); a.push(edi);
                a.lea(esi, dword(ecx, 5));
                a.mov(edi, tar_long);
                a.mov(ecx, eax);
                a.rep_movsb();
                a.mov(byte(edi), 0);
                a.pop(edi); a.pop(esi);
                a.mov(dword(tar_long_set), 1);
              }, undefined, 'a longer path fits no entry: the entry keeps its ustar name');
            });
          });
        });
        a.mov(esi, edx);
      }, 'record by record');
      a.mov(eax, dword(tar_long_set));
      r.ret();
    });

    a.routine({
      name: tar_norm, does: 'copies a path to tar_path without leading and trailing "/"',
      in: { eax: 'the path, NUL-terminated' }, out: { eax: 'tar_path, or 0 when the path is longer than TAR_PATH_MAX' },
      clobbers: [ecx, edx],
    }, (r) => {
      a.while_(() => { a.cmp(byte(eax), chr('/')); return 'e'; }, () => a.inc(eax), 'leading "/": every path starts at the archive\'s root');
      a.mov(edx, tar_path);
      a.xor(ecx, ecx);
      a.loop_((copy) => {
        a.mov(cl, byte(eax));
        a.mov(byte(edx), cl);
        a.test(cl, cl);
        copy.break_('z');
        a.inc(eax);
        a.inc(edx);
        a.cmp(edx, tar_path.add(TAR_PATH_MAX));
        a.if_('a', () => { a.xor(eax, eax); r.ret(); }, undefined, 'too long for any entry');
      });
      a.while_(() => { a.cmp(edx, tar_path); return 'a'; }, (loop) => {
        a.cmp(byte(edx, -1), chr('/'));
        loop.break_('ne');
        a.dec(edx);
        a.mov(byte(edx), 0);
      }, 'trailing "/"');
      a.mov(eax, tar_path);
      r.ret();
    });

    a.routine({
      name: tar_lookup, does: 'finds an entry by its path',
      in: { eax: 'the path (as tar_norm made it)' }, out: { eax: 'the last tar_ent with that path, or 0 when no entry has it' },
      clobbers: [ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      // From the last entry back: when a path is in the archive twice (tar -r appends a
      // newer copy), the later one is the file, as tar -x leaves it (POSIX.1-2008 XCU pax:
      // a later member replaces an earlier one of the same name).
      a.mov(edi, eax);
      a.mov(esi, dword(tar_count));
      a.imul(ebx, esi, TAR_ENT.SIZE);
      a.add(ebx, tar_ents, 'EBX = just past the last entry');
      a.forCount(esi, esi, () => {
        a.sub(ebx, TAR_ENT.SIZE);
        a.mov(eax, ebx);
        a.mov(edx, edi);
        a.call(strcmp);
        a.test(eax, eax);
        a.if_('z', () => { a.mov(eax, ebx); r.ret(); });
      }, 'every entry, the last first');
      a.xor(eax, eax);
      r.ret();
    });

    a.routine({
      name: tar_read, does: 'copies bytes of a file from the disk, at any offset and length',
      args: { ent: 'the tar_ent (a regular file)', off: 'first byte', len: 'bytes wanted', buf: 'where to copy them' },
      out: { eax: 'bytes copied (fewer at the end of the file, 0 past it), or the -errno of blk_rw' },
      clobbers: [ecx, edx], saves: [ebx, esi, edi],
      locals: { left: [4, 'bytes still to copy'], done: [4, 'bytes copied'], pos: [4, 'the file offset of the next byte'] },
    }, (r) => {
      a.mov(ebx, r.arg('ent'));
      a.xor(eax, eax);
      a.mov(r.local('done'), eax);
      a.mov(ecx, r.arg('off'));
      a.mov(r.local('pos'), ecx);
      a.mov(edx, dword(ebx, E.size));
      a.cmp(ecx, edx);
      r.retIf('ae', 'at or past the end: nothing');
      a.sub(edx, ecx, 'bytes from off to the end');
      a.cmp(edx, r.arg('len'));
      a.if_('a', () => a.mov(edx, r.arg('len')));
      a.mov(r.local('left'), edx);
      a.while_(() => { a.cmp(r.local('left'), 0); return 'ne'; }, () => {
        a.mov(ecx, r.local('pos'));
        a.and(ecx, SECTOR_SIZE.sub(1), 'ECX = where in its sector the next byte is');
        a.mov(edx, r.local('left'));
        a.add(edx, ecx);
        a.cmp(edx, TAR_BUF_SECTORS.mul(SECTOR_SIZE));
        a.if_('a', () => a.mov(edx, TAR_BUF_SECTORS.mul(SECTOR_SIZE)), undefined, 'at most a buffer full');
        a.push(edx, 'the end of this piece in tar_buf');
        a.add(edx, SECTOR_SIZE.sub(1));
        a.shr(edx, SECTOR_SHIFT, 'EDX = sectors to read');
        a.mov(eax, r.local('pos'));
        a.shr(eax, SECTOR_SHIFT);
        a.add(eax, dword(ebx, E.lba), 'EAX = the first of them');
        a.invoke(blk_rw, [dword(tar_disk), BLK_READ, eax, edx, tar_buf]);
        a.pop(edx);
        a.test(eax, eax);
        r.retIf('nz', 'a device error: its -errno');
        a.mov(esi, r.local('pos'));
        a.and(esi, SECTOR_SIZE.sub(1));
        a.mov(ecx, edx);
        a.sub(ecx, esi, 'ECX = bytes of this piece');
        a.add(esi, tar_buf);
        a.mov(edi, r.arg('buf'));
        a.add(edi, r.local('done'));
        a.add(r.local('done'), ecx);
        a.add(r.local('pos'), ecx);
        a.sub(r.local('left'), ecx);
        a.rep_movsb();
      }, 'a buffer full at a time');
      a.mov(eax, r.local('done'));
      r.ret();
    });
  },
});
