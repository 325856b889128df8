// The block layer: one table of disks, whatever driver serves them, and the
// one entry point (blk_rw) through which the shell, system calls and
// benchmarks reach any of them.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ebx, ecx, edx, esi, edi, dword, constant } from '../../toolchain/x86/operands.ts';
import { array, defineStruct, u32, u8 } from '../../toolchain/x86/struct.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { say } from '../lib/print.ts';
import { serial_put_dec, serial_puts } from '../dev/serial.ts';
import { strcmp } from '../lib/string.ts';
import { EINVAL, ENXIO, EPERM, EROFS } from '../proc/errno.ts';
import { KERNEL_ORIGIN } from '../../boot/layout.ts';
import { pmm_alloc_pages, pmm_free } from '../mm/pmm.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const disk_table = sym('disk_table');
export const disk_count = sym('disk_count');
export const disk_add = sym('disk_add');
export const disk_find = sym('disk_find');
export const blk_rw = sym('blk_rw');
export const disk_put_size = sym('disk_put_size');
export const disk_find_boot = sym('disk_find_boot');

export const DISK_MAX = constant('DISK_MAX', 8, 'entries in disk_table: a disk found beyond them is reported and left alone', { radix: 10 });
export const SECTOR_SIZE = constant('SECTOR_SIZE', 512, 'bytes per sector: the unit of every LBA and count in the block layer', { radix: 10 });
export const SECTOR_SHIFT = constant('SECTOR_SHIFT', 9, 'log2(SECTOR_SIZE)', { radix: 10 });
export const BLK_MAX_COUNT = constant('BLK_MAX_COUNT', 256, 'most sectors one blk_rw call moves (128 KiB): a longer transfer is several calls', { radix: 10 });
export const BLK_READ = constant('BLK_READ', 0, 'blk_rw op: read sectors into buf (virtio-blk VIRTIO_BLK_T_IN)');
export const BLK_WRITE = constant('BLK_WRITE', 1, 'blk_rw op: write sectors from buf (VIRTIO_BLK_T_OUT)');
export const BLK_FLUSH = constant('BLK_FLUSH', 4, 'blk_rw op: make earlier writes durable (VIRTIO_BLK_T_FLUSH); lba, count and buf are ignored');
export const DISK_RO = constant('DISK_RO', 1, 'disk.flags bit 0: read-only - blk_rw refuses writes');
export const DISK_FLUSH = constant('DISK_FLUSH', 2, 'disk.flags bit 1: the device has a volatile write cache that BLK_FLUSH empties');
export const DISK_BOOT = constant('DISK_BOOT', 4, 'disk.flags bit 2: the disk the running kernel was loaded from - blk_rw refuses writes to it');
export const BOOT_SCAN = constant('BOOT_SCAN', 16, 'sectors after sector 0 searched for the kernel\'s first sector (stage 2 lies between them)', { radix: 10 });
export const KERNEL_FIRST_SECTOR = constant('KERNEL_FIRST_SECTOR', KERNEL_ORIGIN, 'where the boot sector loaded the kernel: its first 512 bytes are code, which nothing writes');
export const DISK_NAME_LEN = 8;
export const DISK_SERIAL_LEN = 24;

/** One disk, whichever driver serves it. */
export const DISK = defineStruct('disk', {
  name: array(u8(), DISK_NAME_LEN, 'NUL-terminated: vda, vdb, ... (virtio-blk), hda-hdd (IDE)'),
  rw: u32('the driver\'s routine: cdecl (disk, op, lba, count, buf) -> EAX 0 or -errno, called with checked arguments'),
  priv: u32('the driver\'s own pointer (its device state)'),
  sectors: u32('capacity in 512-byte sectors, low half'),
  sectors_hi: u32('capacity, high half'),
  flags: u32('DISK_RO, DISK_FLUSH'),
  kind: u32('address of the driver\'s NUL-terminated name: "virtio-blk", "ide"'),
  serial: array(u8(), DISK_SERIAL_LEN, 'NUL-terminated serial number, at most 20 characters; "" when the device has none'),
  pio: u32('port-I/O instructions the driver executed for this disk: each in/out, and each element of rep ins/outs, is one exit to the hypervisor under virtualization'),
  reqs: u32('requests completed'),
  errors: u32('requests that ended in an error'),
}, { doc: 'a disk in disk_table (disk.asm)', size: 68 });

export const diskModule = defineModule({
  name: 'disk',
  title: 'The block layer: a table of disks and one entry point for every driver',
  about: `
A disk is an array of 512-byte sectors numbered from 0 (the logical block
address, LBA).  How the sectors travel differs completely between drivers -
port I/O one word at a time for the emulated IDE disk, a descriptor chain
in shared memory for virtio-blk - but what a user of the disk asks is the
same: read or write COUNT sectors at LBA, or flush.  So every driver adds
its disks to one table (struc disk) and puts the address of its own
routine in disk.rw; the shell's blk commands, the sector system calls and
"bench disk" only ever call blk_rw, and never know which driver answers.
(Linux splits the same way: the block layer's struct gendisk and its
request queue in front of each driver.)

blk_rw(disk, op, lba, count, buf) checks what does not depend on the
device, so that no driver sees a request it would have to refuse:

  op not BLK_READ, BLK_WRITE or BLK_FLUSH          -EINVAL
  count 0, or more than BLK_MAX_COUNT sectors      -EINVAL
  lba + count past the capacity (a 64-bit sum:     -ENXIO
    a huge lba cannot wrap around to a small one)
  a write to a disk marked DISK_RO                  -EROFS
  a write to the disk the kernel booted from        -EPERM

and then calls [disk.rw] with the same five arguments.  A driver returns 0
or its own error (-EIO when the device reports one, naming the sector).
buf is a kernel address below 4 MiB, where linear = physical (paging.asm),
so a driver may hand it to a device for DMA as it is.  A request made by a
user process (the sector system calls) always uses a page from pmm_alloc:
a driver that blocks the process frees that page itself if the process ends
before the request completes (virtio_blk.asm), since the call never resumes.

disk_add hands a driver a zeroed entry to fill in (or 0 when all DISK_MAX
are taken); the first disk added is the default one.

Which disk did we boot from?  The BIOS knew (DL held its drive number),
but neither the IDE nor the virtio interface says which device that was.
After the drivers have added their disks, disk_find_boot recognises it by
content: sector 0 ends in the boot signature 0x55 0xAA, and one of the
BOOT_SCAN sectors after it (stage 2 comes first) holds exactly the 512
bytes at KERNEL_FIRST_SECTOR - the start of the running kernel, code that
nothing writes after loading.  That disk gets DISK_BOOT, and blk_rw
refuses to write to it: whatever a user program or a shell command does,
the image the machine runs from (build/tsk.img, shared by every boot
test) stays as it was built.  disk_find
disk up by name, and disk_put_size prints a capacity the one way every
driver's boot line and the shell show it: "16384 sectors (8 MiB)", or
"1 * 2^32 + 16 sectors (2097152 MiB)" past 2 TiB.`,
  spec: ['virtio 1.1 §5.2.6 "Device Operation" (request types IN 0, OUT 1, FLUSH 4, which BLK_* reuse)'],
  emit(a) {
    a.bss(disk_table, DISK_MAX.mul(DISK.SIZE), 4, 'DISK_MAX entries of struc disk');
    a.bss(disk_count, 4, 4, 'entries in use, from the first');

    a.routine({
      name: disk_add, does: 'hands a driver the next free disk_table entry, zeroed',
      out: { eax: 'address of the entry, or 0 when the table is full (a line says so)' },
      clobbers: [ecx, edx], saves: [edi],
    }, (r) => {
      a.mov(eax, dword(disk_count));
      a.cmp(eax, DISK_MAX);
      a.if_('ae', () => {
        say(a, a.cstr('[blk] disk table full (DISK_MAX disks): this disk is not used\r\n'));
        a.xor(eax, eax);
        r.ret();
      });
      a.inc(dword(disk_count));
      a.imul(eax, eax, DISK.SIZE);
      a.add(eax, disk_table);
      a.mov(edi, eax);
      a.mov(edx, eax, 'keep the address: rep stosd moves EDI');
      a.xor(eax, eax);
      a.mov(ecx, DISK.SIZE.div(4));
      a.rep_stosd('zero the entry');
      a.mov(eax, edx);
      r.ret();
    });

    a.routine({
      name: disk_find, does: 'looks a disk up by name',
      in: { eax: 'the name (NUL-terminated)' }, out: { eax: 'the disk\'s address, or 0 when no disk has that name' },
      clobbers: [ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(edi, eax);
      a.mov(ebx, disk_table);
      a.mov(esi, dword(disk_count));
      a.forCount(esi, esi, () => {
        a.mov(eax, edi);
        a.lea(edx, dword(ebx, DISK.f.name));
        a.call(strcmp);
        a.test(eax, eax);
        a.if_('z', () => { a.mov(eax, ebx); r.ret(); });
        a.add(ebx, DISK.SIZE);
      }, 'every disk in the table');
      a.xor(eax, eax);
      r.ret();
    });

    a.routine({
      name: disk_put_size, does: 'prints a disk\'s capacity as "N sectors (M MiB)"',
      in: { eax: 'the disk' }, clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      a.cmp(dword(ebx, DISK.f.sectors_hi), 0);
      a.if_('ne', () => {
        a.mov(eax, dword(ebx, DISK.f.sectors_hi));
        a.call(serial_put_dec);
        say(a, a.cstr(' * 2^32 + '));
      }, undefined, 'more than 2 TiB: the high half first');
      a.mov(eax, dword(ebx, DISK.f.sectors));
      a.call(serial_put_dec);
      say(a, a.cstr(' sectors ('));
      a.mov(eax, dword(ebx, DISK.f.sectors));
      a.shr(eax, 11, '2048 sectors to the MiB');
      a.mov(edx, dword(ebx, DISK.f.sectors_hi));
      a.shl(edx, 21, 'and the high half\'s share');
      a.or(eax, edx);
      a.call(serial_put_dec);
      say(a, a.cstr(' MiB)'));
      r.ret();
    });

    a.routine({
      name: disk_find_boot, does: 'marks the disk the kernel was loaded from DISK_BOOT and says which it is',
      clobbers: [eax, ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(eax, 3);
      a.call(pmm_alloc_pages, 'room for sector 0 and BOOT_SCAN more (8.5 KiB)');
      a.test(eax, eax);
      a.if_('z', () => { say(a, a.cstr('[blk] no memory to look for the boot disk\r\n')); r.ret(); });
      a.mov(edi, eax, 'EDI = buffer');
      a.mov(ebx, disk_table);
      a.mov(esi, dword(disk_count));
      a.forCount(esi, esi, () => {
        a.invoke(blk_rw, [ebx, BLK_READ, 0, BOOT_SCAN.add(1), edi], 'sector 0 and the BOOT_SCAN after it');
        a.test(eax, eax);
        a.if_('z', () => {
          a.cmp(dword(edi, 508), 0xaa550000, 'the boot signature 0x55 0xAA at offset 510');
          a.if_('e', () => {
            a.mov(edx, 1, 'EDX = the sector compared');
            a.loop_((scan) => {
              a.push(esi);
              a.push(edi);
              a.mov(esi, edx);
              a.shl(esi, SECTOR_SHIFT);
              a.add(esi, edi);
              a.mov(edi, KERNEL_FIRST_SECTOR);
              a.mov(ecx, SECTOR_SIZE);
              a.repe_cmpsb('compare the two sectors byte by byte: ZF = all equal');
              a.pop(edi);
              a.pop(esi);
              a.if_('e', () => {
                a.or(dword(ebx, DISK.f.flags), DISK_BOOT);
                a.push(edx);
                say(a, a.cstr('[blk] '));
                a.lea(eax, dword(ebx, DISK.f.name));
                a.call(serial_puts);
                say(a, a.cstr(' is the boot disk: sector 0 is a boot sector and sector '));
                a.pop(eax);
                a.call(serial_put_dec);
                say(a, a.cstr(' holds the first 512 bytes of this kernel; writes to it are refused\r\n'));
                scan.break_();
              });
              a.inc(edx);
              a.cmp(edx, BOOT_SCAN);
              scan.break_('a', 'not this disk');
            });
          });
        }, undefined, 'a disk it cannot read (under 17 sectors, or an error) is not the one');
        a.add(ebx, DISK.SIZE);
      }, 'every disk');
      for (let k = 0; k < 3; k++) {
        a.lea(eax, dword(edi, k * 4096));
        a.call(pmm_free);
      }
      r.ret();
    });

    a.routine({
      name: blk_rw, does: 'reads, writes or flushes a disk through its driver, after the checks no driver should have to make',
      args: {
        disk: 'address of the disk (a disk_table entry)', op: 'BLK_READ, BLK_WRITE or BLK_FLUSH', lba: 'first sector',
        count: 'sectors, 1 to BLK_MAX_COUNT (ignored for BLK_FLUSH)', buf: 'kernel buffer below 4 MiB, count * 512 bytes (ignored for BLK_FLUSH)',
      },
      out: { eax: '0, or -EINVAL (op or count), -ENXIO (past the end), -EROFS (write to a read-only disk), -EPERM (write to the boot disk), or the driver\'s -errno' },
      clobbers: [ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, r.arg('disk'));
      a.mov(eax, r.arg('op'));
      a.cmp(eax, BLK_FLUSH);
      a.if_('ne', () => {
        a.mov(eax, EINVAL.neg());
        a.cmp(r.arg('op'), BLK_WRITE);
        r.retIf('a', 'neither read, write nor flush');
        a.mov(ecx, r.arg('count'));
        a.test(ecx, ecx);
        r.retIf('z', 'no sectors');
        a.cmp(ecx, BLK_MAX_COUNT);
        r.retIf('a', 'more than one call may move');
        a.mov(eax, ENXIO.neg());
        a.add(ecx, r.arg('lba'));
        a.mov(edx, 0);
        a.adc(edx, 0, 'EDX:ECX = lba + count, as 64 bits: never wraps');
        a.cmp(edx, dword(ebx, DISK.f.sectors_hi));
        r.retIf('a', 'the end lies past the capacity (high halves)');
        a.if_('e', () => {
          a.cmp(ecx, dword(ebx, DISK.f.sectors));
          r.retIf('a', 'the end lies past the capacity (low halves)');
        });
        a.cmp(r.arg('op'), BLK_WRITE);
        a.if_('e', () => {
          a.mov(eax, EROFS.neg());
          a.test(dword(ebx, DISK.f.flags), DISK_RO);
          r.retIf('nz', 'a read-only disk');
          a.mov(eax, EPERM.neg());
          a.test(dword(ebx, DISK.f.flags), DISK_BOOT);
          r.retIf('nz', 'the disk the running kernel came from');
        });
      }, undefined, 'a flush has no sectors to check');
      a.invoke(dword(ebx, DISK.f.rw), [ebx, r.arg('op'), r.arg('lba'), r.arg('count'), r.arg('buf')], 'the driver');
      r.ret();
    });
  },
});

