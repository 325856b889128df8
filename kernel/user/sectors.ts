// sectors: a user program that reads and writes disk sectors through the
// blkread, blkwrite and blkflush system calls, then tries bad arguments.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { type Expr, eax, ebx, ecx, edx, esi, edi, L, dword, word, dec } from '../../toolchain/x86/operands.ts';
import { SYS, USER_STACK_TOP, VEC_SYSCALL } from '../proc/abi.ts';
import { EAGAIN, ENODEV } from '../proc/errno.ts';
import { u_exit, u_newline, u_put_dec, u_put_int, u_puts, u_write } from './ulib.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts).
const _start = sym('_start');
const sec_buf = sym('sec_buf');
const sec_wbuf = sym('sec_wbuf');
const sec_disk = sym('sec_disk');
const sec_result = sym('sec_result');

/** A call of the program: "[sectors] <text> = <result>"; 'disk' stands for the disk it works on. */
interface Call {
  readonly text: string;
  readonly nr: Expr;
  readonly args: readonly (Expr | 'disk')[];
  /** Sectors read into sec_buf whose first 16 bytes (the pattern's "tsk lba nnnnnnnn") follow the result. */
  readonly show?: number;
  /** Compare sec_buf with the sector written, and say whether they match. */
  readonly compare?: true;
}

/** What the program writes: two sectors, each a line of text NUL-padded. */
export const SECTORS_TEXT = ['sectors: this sector was written by a user program through blkwrite\n', 'sectors: and so was this one, the second of the same call\n'] as const;
/** The first of the two sectors it writes on the last disk. */
export const SECTORS_LBA = 2;
/** The bytes of the two sectors, as they must end up on the disk. */
export function sectorsData(): Buffer {
  const b = Buffer.alloc(1024);
  SECTORS_TEXT.forEach((t, i) => b.write(t, i * 512, 'latin1'));
  return b;
}

/** The calls, in order; test/boot/ide.test.ts checks each result. */
export const SECTOR_CALLS: readonly Call[] = [
  { text: 'blkread(disk, 0, 1, buf)', nr: SYS.blkread!, args: ['disk', 0, 1, sec_buf], show: 1 },
  { text: 'blkread(disk, 6, 2, buf)', nr: SYS.blkread!, args: ['disk', 6, 2, sec_buf], show: 2 },
  { text: `blkwrite(disk, ${SECTORS_LBA}, 2, text)`, nr: SYS.blkwrite!, args: ['disk', SECTORS_LBA, 2, sec_wbuf] },
  { text: 'blkflush(disk)', nr: SYS.blkflush!, args: ['disk'] },
  { text: `blkread(disk, ${SECTORS_LBA}, 2, buf)`, nr: SYS.blkread!, args: ['disk', SECTORS_LBA, 2, sec_buf], show: 2, compare: true },
  // bad arguments
  { text: 'blkread(99, 0, 1, buf)', nr: SYS.blkread!, args: [dec(99), 0, 1, sec_buf] },
  { text: 'blkread(-1, 0, 1, buf)', nr: SYS.blkread!, args: [0xffffffff, 0, 1, sec_buf] },
  { text: 'blkflush(99)', nr: SYS.blkflush!, args: [dec(99)] },
  { text: 'blkread(disk, 0, 0, buf)', nr: SYS.blkread!, args: ['disk', 0, 0, sec_buf] },
  { text: 'blkread(disk, 0, 9, buf)', nr: SYS.blkread!, args: ['disk', 0, dec(9), sec_buf] },
  { text: 'blkread(disk, 0, 0x80000000, buf)', nr: SYS.blkread!, args: ['disk', 0, 0x80000000, sec_buf] },
  { text: 'blkread(disk, 0, 1, 0x10000)', nr: SYS.blkread!, args: ['disk', 0, 1, 0x10000] },
  { text: 'blkread(disk, 0, 1, 0x500000)', nr: SYS.blkread!, args: ['disk', 0, 1, 0x500000] },
  { text: 'blkread(disk, 0, 2, 0x7FFE00)', nr: SYS.blkread!, args: ['disk', 0, 2, USER_STACK_TOP.sub(512)] },
  { text: 'blkwrite(disk, 0, 1, 0xB8000)', nr: SYS.blkwrite!, args: ['disk', 0, 1, 0xb8000] },
  { text: 'blkread(disk, 0xFFFFFFFF, 1, buf)', nr: SYS.blkread!, args: ['disk', 0xffffffff, 1, sec_buf] },
  { text: 'blkread(disk, 0xFFFFFFFF, 8, buf)', nr: SYS.blkread!, args: ['disk', 0xffffffff, dec(8), sec_buf] },
  { text: 'blkwrite(disk, 0xFFFFFFFF, 1, text)', nr: SYS.blkwrite!, args: ['disk', 0xffffffff, 1, sec_wbuf] },
];

const ARG_REGS = [ebx, ecx, edx, esi] as const;

export const sectors = defineModule({
  name: 'sectors',
  title: 'sectors: read and write disk sectors from ring 3',
  about: `
A program reaches a disk only through system calls (docs/design.md §4):
blkread(disk, lba, count, buf), blkwrite(disk, lba, count, buf) and
blkflush(disk), with disks numbered as the shell's "blk" lists them.

It first counts the disks - blkread of sector 0 of disk 0, 1, 2 ... until
-ENODEV, asking again after -EAGAIN - and works on the last one whose sector 0 is not a boot sector
(0x55 0xAA at offset 510).  It never writes a disk that holds one: the disk
the machine booted from always does, and its number is not fixed (virtio-blk
disks come before IDE ones, so an IDE boot disk is after them), and which
the kernel refuses to write anyway (-EPERM).  With no such disk it stops
(exit(1)).  Then,
one line per call ("[sectors] <call> = <result>", and the first 16 bytes of
each sector read, which on a test disk say "tsk lba <n>"):
${SECTOR_CALLS.map((c) => `  ${c.text}`).join('\n')}
It writes sectors ${SECTORS_LBA}-${SECTORS_LBA + 1} with one call, flushes, reads them back and compares, and
ends with exit(0).  The calls after the read-back have bad arguments: no
such disk, a count of 0 or too large, buffers in the kernel, in the hole,
running off the end of the user region, in supervisor-only memory, and
sectors past the end of the disk.`,
  emit(a) {
    a.bss(sec_buf, 4096, 4, 'what blkread reads (up to 8 sectors)');
    a.bss(sec_disk, 4, 4, 'the disk it works on: the last one without a boot sector (-1: none yet)');
    a.bss(sec_result, 4, 4, 'a call\'s result');

    a.label(_start);
    a.section('count the disks: blkread(n, 0, 1, buf) until -ENODEV');
    a.xor(edi, edi, 'EDI = disks found');
    a.mov(dword(sec_disk), -1);
    a.label('.count');
    a.mov(ebx, edi);
    a.xor(ecx, ecx);
    a.mov(edx, 1);
    a.mov(esi, sec_buf);
    a.mov(eax, SYS.blkread!);
    a.int(VEC_SYSCALL);
    a.cmp(eax, ENODEV.neg());
    a.je(L('.counted'));
    a.cmp(eax, EAGAIN.neg());
    a.jne(L('.answered'), 'every request slot of the disk in flight (other programs): ask again in 10 ms');
    a.mov(ebx, dec(10));
    a.mov(eax, SYS.sleep!);
    a.int(VEC_SYSCALL);
    a.jmp(L('.count'));
    a.label('.answered');
    a.cmp(eax, 1);
    a.jne(L('.skip'), 'sector 0 unreadable: not a disk to write either');
    a.cmp(word(sec_buf.add(510)), 0xaa55);
    a.je(L('.skip'), 'a boot sector: maybe the disk we booted from, never written');
    a.mov(dword(sec_disk), edi);
    a.label('.skip');
    a.inc(edi);
    a.cmp(edi, 64);
    a.jb(L('.count'), 'a bound all the same');
    a.label('.counted');
    a.mov(eax, a.cstr('[sectors] '));
    a.call(u_puts);
    a.mov(eax, edi);
    a.call(u_put_dec);
    a.mov(eax, a.cstr(' disks\n'));
    a.call(u_puts);
    a.cmp(dword(sec_disk), -1);
    a.jne(L('.enough'));
    a.mov(eax, a.cstr('[sectors] no disk without a boot sector, and this program never writes one: exit(1)\n'));
    a.call(u_puts);
    a.mov(eax, 1);
    a.call(u_exit);
    a.label('.enough');
    a.mov(eax, a.cstr('[sectors] disk = '));
    a.call(u_puts);
    a.mov(eax, dword(sec_disk));
    a.call(u_put_dec);
    a.call(u_newline);

    SECTOR_CALLS.forEach((c, i) => {
      a.section(c.text);
      c.args.forEach((v, j) => (v === 'disk' ? a.mov(ARG_REGS[j]!, dword(sec_disk)) : a.mov(ARG_REGS[j]!, v)));
      a.mov(eax, c.nr);
      a.int(VEC_SYSCALL, c.text);
      a.mov(dword(sec_result), eax);
      a.mov(eax, a.cstr(`[sectors] ${c.text} = `));
      a.call(u_puts);
      a.mov(eax, dword(sec_result));
      a.call(u_put_int);
      if (c.show) {
        a.cmp(dword(sec_result), c.show);
        a.jne(L(`.shown${i}`), 'nothing was read');
        for (let k = 0; k < c.show; k++) {
          a.mov(eax, a.cstr(k === 0 ? ': ' : ', '));
          a.call(u_puts);
          a.mov(eax, sec_buf.add(512 * k));
          a.mov(edx, 16);
          a.call(u_write, 'the first 16 bytes of the sector');
        }
        a.label(`.shown${i}`);
      }
      a.call(u_newline);
      if (c.compare) {
        a.mov(esi, sec_buf);
        a.mov(edi, sec_wbuf);
        a.mov(ecx, dec(1024), 'bytes in two sectors');
        a.repe_cmpsb();
        a.mov(eax, a.cstr(`[sectors] sectors ${SECTORS_LBA}-${SECTORS_LBA + 1} read back: the same 1024 bytes\n`));
        a.je(L(`.same${i}`));
        a.mov(eax, a.cstr(`[sectors] sectors ${SECTORS_LBA}-${SECTORS_LBA + 1} read back: different bytes\n`));
        a.label(`.same${i}`);
        a.call(u_puts);
      }
    });

    a.mov(eax, a.cstr('[sectors] done, exit(0)\n'));
    a.call(u_puts);
    a.mov(eax, 0);
    a.call(u_exit);

    a.section('data');
    a.align(4);
    a.label(sec_wbuf, 'the two sectors blkwrite writes: each a line of text, NUL-padded to 512 bytes');
    for (const t of SECTORS_TEXT) {
      a.db(t);
      a.times(512 - t.length, 1, 0);
    }
  },
});
