// Stage 1: the 512-byte boot sector.
import { defineModule } from '../toolchain/x86/asm.ts';
import { ah, al, ax, bx, ch, cl, cx, di, dh, dl, dx, ds, es, si, sp, ss, bp, eax, ebx, ecx, L, HERE, START, byte, word, far, constant } from '../toolchain/x86/operands.ts';
import { BOOT_STACK_TOP, KERNEL_LOAD_SEGMENT, STAGE2_LBA, STAGE2_LOAD, STAGE2_LOAD_SEGMENT } from './layout.ts';
import { newline, put_hex16, put_hex8, puts, serial16_init } from './serial16.ts';
import { sym } from '../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const boot_drive = sym('boot_drive');
const boot_start = sym('boot_start');
const current_lba = sym('current_lba');
const dap = sym('dap');
const dap_lba = sym('dap_lba');
const dap_segment = sym('dap_segment');
const disk_error = sym('disk_error');
const heads = sym('heads');
const load = sym('load');
const read_sector = sym('read_sector');
const sectors_per_track = sym('sectors_per_track');
const use_lba = sym('use_lba');

export const BIOS_DISK = constant('BIOS_DISK', 0x13, 'BIOS interrupt 13h: fixed-disk services');
export const DISK_EXT_CHECK = constant('DISK_EXT_CHECK', 0x41, 'int 13h AH=41h: installation check for the EDD (LBA) extensions');
export const DISK_EXT_READ = constant('DISK_EXT_READ', 0x42, 'int 13h AH=42h: extended read, sectors addressed by LBA through a disk address packet');
export const DISK_READ_CHS = constant('DISK_READ_CHS', 0x02, 'int 13h AH=02h: read sectors addressed by cylinder/head/sector');
export const DISK_GET_PARAMS = constant('DISK_GET_PARAMS', 0x08, 'int 13h AH=08h: get drive parameters (CHS geometry)');
export const DISK_RESET = constant('DISK_RESET', 0x00, 'int 13h AH=00h: reset the disk system (recalibrate before a retry)');
export const EDD_SIGNATURE = constant('EDD_SIGNATURE', 0x55aa, 'BX value the caller passes to AH=41h; the BIOS answers with it byte-swapped (0xAA55)');
export const EDD_PACKET_ACCESS = constant('EDD_PACKET_ACCESS', 1, 'AH=41h CX bit 0: the BIOS supports AH=42h packet reads');
export const DISK_RETRIES = constant('DISK_RETRIES', 3, 'tries per sector: floppies and old drives often need more than one');
export const SECTOR_PARAGRAPHS = constant('SECTOR_PARAGRAPHS', 512 / 16, 'one 512-byte sector is 32 paragraphs: advance the segment by this per sector');

export const bootsector = defineModule({
  name: 'bootsector',
  title: 'Stage 1: the boot sector (real mode, 16-bit)',
  about: `
Contract: the BIOS has loaded the first sector of the disk (these 512 bytes) to
physical address 0x7C00 and jumped to it in real mode, with DL = the BIOS drive
number we booted from.  Nothing else is promised: segment registers and the
stack are whatever the BIOS left, and CS:IP may be 0000:7C00 or 07C0:0000.

What this sector does, in order:
  1. canonicalise CS:IP to 0000:7C00, set DS = ES = SS = 0 and a stack below us;
  2. initialise COM1 and print a banner (all tskernel output goes to serial);
  3. ask the BIOS whether it has the int 13h LBA extensions (EDD); if not,
     read the CHS geometry so that LBA numbers can be converted;
  4. load stage 2 (STAGE2_SECTORS sectors from LBA 1 to 0x7E00) and the kernel
     (KERNEL_SECTORS sectors from KERNEL_LBA to 0x10000), one sector per BIOS
     call, retrying each failed read after a disk reset;
  5. jump to stage 2 with DL = boot drive (stage 2 prints the next line).
A read that still fails prints the BIOS status and the LBA, then halts.

The sector counts are computed by the image builder from the encoded sizes of
stage 2 and the kernel and appear above as equ constants.  The last two bytes
of the sector hold the signature 0x55 0xAA, which the BIOS checks before
booting from a disk.`,
  spec: [
    'IBM PC BIOS boot protocol: load sector 0 to 0000:7C00, DL = drive, signature 0x55AA at offset 510',
    'Phoenix/T13 BIOS Enhanced Disk Drive Specification 3.0: int 13h AH=41h, AH=42h, disk address packet',
    'IBM BIOS int 13h AH=02h (CHS read), AH=08h (drive parameters)',
  ],
  emit(a) {
    a.label(boot_start);
    a.jmp(far(0, L('.canonical')), 'reload CS: some BIOSes enter at 07C0:0000, our labels assume 0000:7C00');
    a.label('.canonical');
    a.xor(ax, ax);
    a.mov(ds, ax);
    a.mov(es, ax);
    a.mov(ss, ax, 'a write to SS holds off interrupts until after the next instruction (SDM 2B, MOV) ...');
    a.mov(sp, BOOT_STACK_TOP, '... so SS:SP is never half-updated; the stack grows down from 0x7C00');
    a.cld('string instructions count upwards');
    a.mov(byte(boot_drive), dl, 'remember the boot drive the BIOS gave us');

    a.section('2. say hello on COM1');
    a.call(serial16_init);
    a.mov(si, a.cstr('[boot] tskernel boot sector\r\n'));
    a.call(puts);

    a.section('3. choose how to address sectors: LBA (EDD extensions) or CHS');
    a.mov(ah, DISK_EXT_CHECK, 'DL = boot drive, as the BIOS gave it to us');
    a.mov(bx, EDD_SIGNATURE);
    a.int(BIOS_DISK);
    a.jc(L('.no_edd'), 'CF set: no extensions');
    a.cmp(bx, 0xaa55, 'a BIOS that knows EDD swaps the signature');
    a.jne(L('.no_edd'));
    a.test(cl, EDD_PACKET_ACCESS);
    a.jz(L('.no_edd'), 'extensions present but without packet reads');
    a.inc(byte(use_lba), 'use_lba = 1');
    a.mov(si, a.cstr('[boot] LBA reads\r\n'));
    a.jmp(L('.addressing_known'));
    a.label('.no_edd');
    a.mov(ah, DISK_GET_PARAMS, 'DL still holds the boot drive');
    a.xor(di, di, 'ES:DI = 0:0 works around BIOSes that look at it');
    a.int(BIOS_DISK);
    a.jc(disk_error);
    a.and(cx, 0x3f, 'CL bits 5:0 = sectors per track');
    a.mov(word(sectors_per_track), cx);
    a.mov(dl, dh, 'DH = highest head number, so heads = DH + 1');
    a.xor(dh, dh);
    a.inc(dx);
    a.mov(word(heads), dx);
    a.mov(si, a.cstr('[boot] CHS reads\r\n'));
    a.label('.addressing_known');
    a.call(puts);

    a.section('4. load stage 2 and the kernel');
    a.mov(ax, STAGE2_LBA);
    a.mov(bx, STAGE2_LOAD_SEGMENT);
    a.mov(cx, L('STAGE2_SECTORS'));
    a.call(load);
    a.mov(ax, L('KERNEL_LBA'));
    a.mov(bx, KERNEL_LOAD_SEGMENT);
    a.mov(cx, L('KERNEL_SECTORS'));
    a.call(load);

    a.section('5. hand over to stage 2 (it announces itself on serial)');
    a.mov(dl, byte(boot_drive), 'stage 2 expects DL = boot drive');
    a.jmp(far(0, STAGE2_LOAD), 'far jump: CS = 0, IP = 0x7E00');

    a.routine({
      name: load, does: 'reads CX sectors starting at LBA AX to BX:0000, one at a time',
      in: { ax: 'first LBA', bx: 'segment to load to (offset 0)', cx: 'sector count' },
      clobbers: [eax, ebx, ecx],
    }, (r) => {
      a.label('.next');
      a.jcxz(L('.done'));
      a.call(read_sector);
      a.inc(ax, 'next LBA');
      a.add(bx, SECTOR_PARAGRAPHS, 'next 512 bytes of memory');
      a.dec(cx);
      a.jmp(L('.next'));
      a.label('.done');
      r.ret();
    });

    a.comment('The registers are saved by hand (pusha, push es): a.routine saves 32-bit registers, which would cost bytes here.');
    a.routine({
      name: read_sector, does: 'reads one sector, LBA AX to BX:0000, with retries; a read that still fails ends in disk_error',
      in: { ax: 'LBA', bx: 'segment to load to (offset 0)' },
    }, (r) => {
      a.pusha();
      a.push(es, 'the CHS path changes ES');
      a.mov(bp, sp, 'BP addresses the saved registers: [bp+16] = AX (LBA), [bp+10] = BX (segment)');
      a.mov(word(current_lba), ax, 'for the error message');
      a.mov(di, DISK_RETRIES);
      a.label('.try');
      a.mov(ax, word(bp, 16));
      a.mov(bx, word(bp, 10));
      a.mov(dl, byte(boot_drive));
      a.cmp(byte(use_lba), 0);
      a.je(L('.chs'));
      a.mov(word(dap_lba), ax, 'fill in the disk address packet');
      a.mov(word(dap_segment), bx);
      a.mov(si, dap, 'DS:SI = packet');
      a.mov(ah, DISK_EXT_READ);
      a.jmp(L('.call_bios'));
      a.label('.chs');
      a.comment('LBA -> CHS: sector = LBA % spt + 1; track = LBA / spt; head = track % heads; cylinder = track / heads');
      a.mov(es, bx, 'the CHS call reads to ES:BX');
      a.xor(bx, bx);
      a.push(dx, 'keep DL = drive across the divisions');
      a.xor(dx, dx);
      a.div(word(sectors_per_track), 'AX = track, DX = sector index within the track');
      a.mov(cl, dl);
      a.inc(cl, 'sectors are numbered from 1');
      a.xor(dx, dx);
      a.div(word(heads), 'AX = cylinder, DX = head');
      a.mov(ch, al, 'CH = cylinder bits 7:0');
      a.shl(ah, 6);
      a.or(cl, ah, 'CL bits 7:6 = cylinder bits 9:8');
      a.mov(al, dl);
      a.pop(dx);
      a.mov(dh, al, 'DH = head, DL = drive');
      a.mov(ax, DISK_READ_CHS.shl(8).or(1), 'AH = 02h read, AL = 1 sector');
      a.label('.call_bios');
      a.int(BIOS_DISK);
      a.jnc(L('.ok'));
      a.dec(di);
      a.jz(disk_error, 'out of retries (AH = BIOS status)');
      a.mov(ah, DISK_RESET);
      a.mov(dl, byte(boot_drive));
      a.int(BIOS_DISK, 'recalibrate, then try again');
      a.jmp(L('.try'));
      a.label('.ok');
      a.pop(es);
      a.popa();
      r.ret();
    });

    a.section('disk_error: print the BIOS status (AH) and the LBA, then stop');
    a.label(disk_error);
    a.mov(si, a.cstr('[boot] disk error 0x'));
    a.call(puts);
    a.mov(al, ah);
    a.call(put_hex8);
    a.mov(si, a.cstr(' LBA 0x'));
    a.call(puts);
    a.mov(ax, word(current_lba), '0 if reading the geometry failed');
    a.call(put_hex16);
    a.call(newline);
    a.label('.halt');
    a.cli();
    a.hlt('nothing sensible to do without the rest of the image');
    a.jmp(L('.halt'));

    a.section('data');
    a.label(dap, 'disk address packet for AH=42h (EDD 3.0 §3.1)');
    a.dataC(1, [16], 'packet size');
    a.dataC(1, [0], 'reserved');
    a.dataC(2, [1], 'sectors to transfer');
    a.dataC(2, [0], 'buffer offset');
    a.label(dap_segment);
    a.dataC(2, [0], 'buffer segment');
    a.label(dap_lba);
    a.dataC(4, [0, 0], 'LBA (64-bit)');
    a.label(boot_drive); a.db(0);
    a.label(current_lba); a.dw(0);
    a.label(use_lba); a.dataC(1, [0], '1 when int 13h extensions are available');
    a.label(sectors_per_track); a.dw(0);
    a.label(heads); a.dw(0);
  },
});

/** The boot signature: pads the sector to 510 bytes and ends it with 0x55 0xAA. */
export const bootSignature = defineModule({
  name: 'signature',
  title: 'Boot signature',
  about: `
The BIOS only boots a sector whose last two bytes are 0x55 0xAA.  The image
builder checks that the code above fits in 510 bytes before adding this.`,
  emit(a) {
    a.times(constant('BOOT_SIGNATURE_OFFSET', 510, 'the signature occupies bytes 510 and 511 of the boot sector').sub(
      HERE.sub(START)), 1, 0, 'pad with zeros up to byte 510');
    a.dataC(2, [constant('BOOT_SIGNATURE', 0xaa55, 'boot signature: bytes 0x55, 0xAA (little-endian word 0xAA55)')], 'boot signature');
  },
});
