// The emulated IDE disk: polled ATA PIO on the two legacy channels of the
// PIIX3 IDE function (QEMU pc, 00:01.1), behind the block layer (disk.ts).
import { defineModule } from '../../toolchain/x86/asm.ts';
import { ah, al, ax, cl, ch, dx, eax, ebx, ecx, edx, esi, edi, L, byte, word, dword, constant, dec } from '../../toolchain/x86/operands.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { say } from '../lib/print.ts';
import { serial_newline, serial_put_dec, serial_put_hex8, serial_puts } from '../dev/serial.ts';
import { EIO, EOPNOTSUPP } from '../proc/errno.ts';
import { BLK_FLUSH, BLK_WRITE, DISK, DISK_FLUSH, disk_add, disk_put_size } from './disk.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const ata_init = sym('ata_init');
export const ata_rw = sym('ata_rw');
const ata_probe_drive = sym('ata_probe_drive');
const ata_identify = sym('ata_identify');
const ata_wait = sym('ata_wait');
const ata_select = sym('ata_select');
const ata_io_error = sym('ata_io_error');
const ata_id_string = sym('ata_id_string');
const ata_ident = sym('ata_ident');
const ata_probe = sym('ata_probe');
const ata_model = sym('ata_model');

// The legacy ("compatibility mode") channels: fixed I/O ports, whatever the BARs say.
export const ATA_PRIMARY_IO = constant('ATA_PRIMARY_IO', 0x1f0, 'primary channel command block (0x1F0-0x1F7)');
export const ATA_SECONDARY_IO = constant('ATA_SECONDARY_IO', 0x170, 'secondary channel command block (0x170-0x177)');
export const ATA_CTRL_OFFSET = constant('ATA_CTRL_OFFSET', 0x206, 'control block = command block + 0x206: 0x3F6 (primary), 0x376 (secondary)');

// Command block registers, as offsets from the channel's base (ATA/ATAPI-6 clause 7, register descriptions).
export const ATA_REG_DATA = constant('ATA_REG_DATA', 0, 'Data: 16 bits, one word of the sector per access');
export const ATA_REG_ERROR = constant('ATA_REG_ERROR', 1, 'Error (read) / Features (write)');
export const ATA_REG_COUNT = constant('ATA_REG_COUNT', 2, 'Sector Count (0 means 256; with 48-bit commands written twice: high byte first)');
export const ATA_REG_LBA_LO = constant('ATA_REG_LBA_LO', 3, 'LBA Low: LBA bits 7:0 (48-bit: 31:24 written first)');
export const ATA_REG_LBA_MID = constant('ATA_REG_LBA_MID', 4, 'LBA Mid: LBA bits 15:8 (48-bit: 39:32 first); signature byte after a reset or an aborted IDENTIFY');
export const ATA_REG_LBA_HI = constant('ATA_REG_LBA_HI', 5, 'LBA High: LBA bits 23:16 (48-bit: 47:40 first); signature byte');
export const ATA_REG_DEVICE = constant('ATA_REG_DEVICE', 6, 'Device: bit 6 LBA, bit 4 DEV (0 master, 1 slave), bits 3:0 LBA 27:24 (28-bit commands)');
export const ATA_REG_STATUS = constant('ATA_REG_STATUS', 7, 'Status (read) / Command (write)');

export const ATA_SR_BSY = constant('ATA_SR_BSY', 0x80, 'status BSY: the device owns the registers; every other bit is meaningless');
export const ATA_SR_DF = constant('ATA_SR_DF', 0x20, 'status DF: device fault');
export const ATA_SR_DRQ = constant('ATA_SR_DRQ', 0x08, 'status DRQ: the device wants to transfer a block through the Data register');
export const ATA_SR_ERR = constant('ATA_SR_ERR', 0x01, 'status ERR: the command failed; the Error register says why');
export const ATA_CTL_NIEN = constant('ATA_CTL_NIEN', 0x02, 'Device Control nIEN: the device does not assert INTRQ (IRQ 14/15): we poll');
export const ATA_DEV_OBS = constant('ATA_DEV_OBS', 0xa0, 'Device register bits 7 and 5: obsolete, set to 1 as older devices expect');
export const ATA_DEV_LBA = constant('ATA_DEV_LBA', 0x40, 'Device register bit 6: the address is an LBA, not cylinder/head/sector');
export const ATA_DEV_SLAVE = constant('ATA_DEV_SLAVE', 0x10, 'Device register bit 4 (DEV): select device 1, the slave');

export const ATA_CMD_READ = constant('ATA_CMD_READ', 0x20, 'READ SECTOR(S): PIO data-in, 28-bit LBA');
export const ATA_CMD_READ_EXT = constant('ATA_CMD_READ_EXT', 0x24, 'READ SECTOR(S) EXT: PIO data-in, 48-bit LBA');
export const ATA_CMD_WRITE = constant('ATA_CMD_WRITE', 0x30, 'WRITE SECTOR(S): PIO data-out, 28-bit LBA');
export const ATA_CMD_WRITE_EXT = constant('ATA_CMD_WRITE_EXT', 0x34, 'WRITE SECTOR(S) EXT: PIO data-out, 48-bit LBA');
export const ATA_CMD_FLUSH = constant('ATA_CMD_FLUSH', 0xe7, 'FLUSH CACHE: non-data; write the device\'s volatile cache to the medium');
export const ATA_CMD_IDENTIFY = constant('ATA_CMD_IDENTIFY', 0xec, 'IDENTIFY DEVICE: PIO data-in of one 512-byte block describing the device');

// What ata_probe_drive and ata_rw keep in disk.priv: the channel and the device on it.
export const ATAPI_SIGNATURE = constant('ATAPI_SIGNATURE', 0xeb14, 'LBA High << 8 | LBA Mid after a packet device aborts IDENTIFY DEVICE (0xEB, 0x14)');
export const ATA_PRIV_SLAVE = constant('ATA_PRIV_SLAVE', 1 << 16, 'disk.priv bit 16: the slave (device 1); bits 15:0 hold the channel\'s command block port');
export const ATA_PRIV_LBA48 = constant('ATA_PRIV_LBA48', 1 << 17, 'disk.priv bit 17: the device implements the 48-bit Address feature set');
export const ATA_LBA28_END = constant('ATA_LBA28_END', 0x10000000, 'first sector a 28-bit command cannot reach (2^28: 128 GiB)');
export const ATA_POLL_MAX = constant('ATA_POLL_MAX', 0x1000000, 'status reads before a busy device is given up (16M: seconds, even on a busy host)');

// IDENTIFY DEVICE words (ATA/ATAPI-6, IDENTIFY DEVICE, Table "IDENTIFY DEVICE information").
const ID_SERIAL = 10; // words 10-19: serial number, 20 ASCII characters
const ID_MODEL = 27; // words 27-46: model number, 40 ASCII characters
const ID_CAPS = 49; // bit 9: LBA supported
const ID_LBA28 = 60; // words 60-61: total user-addressable sectors for 28-bit commands
const ID_CMDSET2 = 83; // bit 10: 48-bit Address feature set; bit 12: FLUSH CACHE; bits 15:14 = 01b when the word is valid
const ID_LBA48 = 100; // words 100-103: maximum user LBA + 1 for 48-bit commands

const DRIVES = [
  { name: 'hda', io: ATA_PRIMARY_IO, slave: false, what: 'primary master' },
  { name: 'hdb', io: ATA_PRIMARY_IO, slave: true, what: 'primary slave' },
  { name: 'hdc', io: ATA_SECONDARY_IO, slave: false, what: 'secondary master' },
  { name: 'hdd', io: ATA_SECONDARY_IO, slave: true, what: 'secondary slave' },
] as const;

export const ata = defineModule({
  name: 'ata',
  title: 'The IDE disk: polled ATA PIO on the legacy channels (the fully emulated device)',
  about: `
The disk a PC has had since the AT: a controller register file in I/O space,
and the data moved by the CPU itself, one 16-bit word per "in" or "out".
QEMU's pc machine has it in the PIIX3's IDE function (00:01.1), wired to
the two legacy channels whatever its BARs say:

  channel     command block   control block   drives
  primary     0x1F0-0x1F7     0x3F6           hda (master), hdb (slave)
  secondary   0x170-0x177     0x376           hdc (master), hdd (slave)

Under virtualization every one of those port accesses is an exit to the
hypervisor, which emulates the register (a VM exit with KVM, a helper call
with TCG): reading one sector costs 256 exits for the data alone, plus the
register writes and the status polls around them.  That is what this
lesson measures against virtio-blk, which moves a whole request with one
notification.  So every in/out here adds to the disk's pio counter (disk.asm),
and a "rep insw" of a sector adds 256: the string instruction is one
instruction, but the device sees - and the hypervisor handles - 256 reads.

The protocol (ATA/ATAPI-6, T13/1410D: clause 7 for the registers, clause 8
for the commands, clause 9 for the PIO data-in, data-out and non-data
protocols):

  1. wait until Status.BSY = 0 (the registers belong to the host again);
  2. write Device (LBA mode, DEV = master/slave) and wait 400 ns - four
     reads of the Alternate Status register - before trusting Status;
  3. write Sector Count and LBA Low/Mid/High (for a 48-bit "EXT" command
     twice each: the high bytes first, the registers are two-deep FIFOs),
     then the Command register;
  4. for each sector: wait until BSY = 0, check ERR and DF, check DRQ,
     and move 256 words through the Data register (rep insw / rep outsw);
  5. after the last sector of a write, wait for BSY = 0 once more: the
     device reports the write's success only then.

The driver polls: Device Control.nIEN is set on both channels, so the
drives never raise IRQ 14/15.  A busy wait is the honest model of PIO: the
CPU moves the data, so it has nothing better to do meanwhile.  Every wait
is bounded (ATA_POLL_MAX status reads), so a missing or wedged drive costs
an error line, never a hang.

Finding the drives: select each device and send IDENTIFY DEVICE.
  - Status reads 0xFF: nothing drives the bus (no controller decodes the
    ports, as on the q35 machine) - no drive;
  - Status reads 0 after the command: no device answers there (QEMU reads
    an empty position as 0) - no drive;
  - LBA Mid/High become 0x14/0xEB and ERR is set: a packet (ATAPI) device,
    such as a CD-ROM, which answers only IDENTIFY PACKET DEVICE - skipped;
    another signature in Mid/High (0x3C/0xC3, a SATA bridge) - skipped too;
  - ERR with no signature: the command was aborted for an empty position
    (QEMU answers so for a missing master when the slave exists) - no drive;
  - otherwise DRQ comes up and the 256 words of IDENTIFY data follow.
From them: word 49 bit 9 (LBA supported - required here), words 60-61 (the
28-bit capacity), word 83 bit 10 (48-bit addressing; then words 100-103
hold the capacity) and bit 12 (FLUSH CACHE), the serial number (words
10-19) and the model (27-46).  Those strings are ASCII with the two bytes
of each word swapped - the first character is in the high byte - and
padded with spaces.

Each drive found is added to disk_table as hda-hdd (kind "ide"), with
ata_rw as its routine.  28-bit READ/WRITE SECTOR(S) reach 2^28 sectors
(128 GiB); a request ending beyond that uses the EXT commands when the
drive has them.

No locking: ata_rw runs in the kernel task (the shell) or in a system call.
System calls run with interrupts off, and the kernel task is never
preempted (syscall.asm), so two requests never share the registers.`,
  spec: [
    'ATA/ATAPI-6 (T13/1410D rev. 3b): clause 7 (Status, Device, Device Control registers), clause 8 (IDENTIFY DEVICE, READ SECTOR(S), READ SECTOR(S) EXT, WRITE SECTOR(S), WRITE SECTOR(S) EXT, FLUSH CACHE), clause 9 (PIO data-in, PIO data-out, non-data protocols; signatures)',
    'Intel 82371SB (PIIX3) data sheet: IDE interface, compatibility-mode ports',
  ],
  emit(a) {
    a.bss(ata_ident, 512, 4, 'the 256 words of IDENTIFY DEVICE data of the drive being probed');
    a.bss(ata_probe, DISK.SIZE, 4, 'the drive being probed, as a disk entry: copied into disk_table once it is an ATA disk');
    a.bss(ata_model, 44, 4, 'the model string of the drive being probed (40 characters and a NUL)');

    /** EDX = the drive's command block port + reg (EBX = its disk entry). */
    const port = (reg: number | ReturnType<typeof constant>) => {
      a.movzx(edx, word(ebx, DISK.f.priv), 'the channel\'s command block port');
      if (typeof reg !== 'number' || reg !== 0) a.add(edx, reg);
    };
    /** One port access more for this disk (each in/out is an exit under virtualization). */
    const count = (n = 1) => (n === 1 ? a.inc(dword(ebx, DISK.f.pio), 'one port access') : a.add(dword(ebx, DISK.f.pio), dec(n), `${n} port accesses`));
    /** out to a command block register: AL = the value. */
    const outReg = (reg: ReturnType<typeof constant>, why?: string) => {
      port(reg);
      if (why) a.out(dx, al, why); else a.out(dx, al);
      count();
    };

    a.routine({
      name: ata_init, does: 'find the ATA disks on the legacy IDE channels and add them to disk_table',
      clobbers: [eax, ecx, edx],
    }, (r) => {
      for (const d of DRIVES) {
        a.mov(eax, d.slave ? d.io.or(ATA_PRIV_SLAVE) : d.io, `${d.name}: the ${d.what}`);
        a.mov(edx, a.cstr(d.name));
        a.call(ata_probe_drive);
      }
      r.ret();
    });

    a.routine({
      name: ata_probe_drive, does: 'probe one drive position with IDENTIFY DEVICE; an ATA disk goes into disk_table with a line describing it',
      in: { eax: 'disk.priv for the position: command block port | ATA_PRIV_SLAVE', edx: 'its name ("hda" ...)' },
      clobbers: [eax, ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(esi, edx, 'ESI = the name');
      a.mov(ebx, ata_probe, 'EBX = the drive as a disk entry (not in the table yet)');
      a.mov(edi, ebx);
      a.mov(edx, eax);
      a.xor(eax, eax);
      a.mov(ecx, DISK.SIZE.div(4));
      a.rep_stosd('a clean entry');
      a.mov(dword(ebx, DISK.f.priv), edx);
      a.mov(ecx, dword(esi), 'the name: 3 characters and a NUL');
      a.mov(dword(ebx, DISK.f.name), ecx);
      port(ATA_CTRL_OFFSET);
      a.mov(al, ATA_CTL_NIEN);
      a.out(dx, al, 'Device Control: nIEN (no interrupts: this driver polls), SRST and HOB clear');
      count();
      a.call(ata_identify);
      a.cmp(eax, 1);
      r.retIf('e', 'no drive there: nothing to say');
      const skip = (why: string) => {
        say(a, a.cstr('[ide] '));
        a.mov(eax, esi);
        a.call(serial_puts);
        say(a, a.cstr(why));
        r.ret();
      };
      a.cmp(eax, 2);
      a.if_('e', () => skip(': a packet (ATAPI) device, such as a CD-ROM, not a disk: skipped\r\n'));
      a.cmp(eax, 3);
      a.if_('e', () => skip(': still busy after IDENTIFY DEVICE (ATA_POLL_MAX status reads): skipped\r\n'));
      a.cmp(eax, 4);
      a.if_('e', () => skip(': answers IDENTIFY DEVICE, but not as an ATA disk: skipped\r\n'));
      a.test(word(ata_ident.add(ID_CAPS * 2)), 1 << 9);
      a.if_('z', () => skip(': no LBA addressing (cylinder/head/sector only): skipped\r\n'), undefined, 'word 49 bit 9: LBA supported');
      a.mov(eax, dword(ata_ident.add(ID_LBA28 * 2)), 'words 60-61: sectors reachable by 28-bit commands');
      a.mov(dword(ebx, DISK.f.sectors), eax);
      a.movzx(eax, word(ata_ident.add(ID_CMDSET2 * 2)));
      a.and(eax, 0xc000);
      a.cmp(eax, 0x4000);
      a.if_('e', () => {
        a.test(word(ata_ident.add(ID_CMDSET2 * 2)), 1 << 10);
        a.if_('nz', () => {
          a.or(dword(ebx, DISK.f.priv), ATA_PRIV_LBA48);
          a.mov(eax, dword(ata_ident.add(ID_LBA48 * 2)), 'words 100-103: the 48-bit capacity');
          a.mov(edx, dword(ata_ident.add(ID_LBA48 * 2 + 4)));
          a.mov(ecx, eax);
          a.or(ecx, edx);
          a.if_('nz', () => {
            a.mov(dword(ebx, DISK.f.sectors), eax);
            a.mov(dword(ebx, DISK.f.sectors_hi), edx);
          });
        }, undefined, 'bit 10: the 48-bit Address feature set');
        a.test(word(ata_ident.add(ID_CMDSET2 * 2)), 1 << 12);
        a.if_('nz', () => a.or(dword(ebx, DISK.f.flags), DISK_FLUSH), undefined, 'bit 12: FLUSH CACHE');
      }, undefined, 'word 83 is valid when bits 15:14 are 01b');
      a.mov(dword(ebx, DISK.f.kind), a.cstr('ide'));
      a.mov(dword(ebx, DISK.f.rw), ata_rw);
      a.lea(eax, dword(ebx, DISK.f.serial));
      a.mov(edx, ID_SERIAL * 2);
      a.mov(ecx, 10);
      a.call(ata_id_string, 'words 10-19: the serial number');
      a.mov(eax, ata_model);
      a.mov(edx, ID_MODEL * 2);
      a.mov(ecx, 20);
      a.call(ata_id_string, 'words 27-46: the model');

      a.call(disk_add);
      a.test(eax, eax);
      r.retIf('z', 'the table is full (disk_add said so)');
      a.mov(edi, eax);
      a.mov(esi, ebx);
      a.mov(ecx, DISK.SIZE.div(4));
      a.rep_movsd('the probed entry into the table');
      a.mov(ebx, eax, 'EBX = the disk in disk_table');
      say(a, a.cstr('[ide] '));
      a.lea(eax, dword(ebx, DISK.f.name));
      a.call(serial_puts);
      say(a, a.cstr(': '));
      a.mov(eax, ebx);
      a.call(disk_put_size);
      say(a, a.cstr(', model "'));
      a.mov(eax, ata_model);
      a.call(serial_puts);
      say(a, a.cstr('", serial "'));
      a.lea(eax, dword(ebx, DISK.f.serial));
      a.call(serial_puts);
      say(a, a.cstr('"'));
      a.test(dword(ebx, DISK.f.priv), ATA_PRIV_LBA48);
      a.if_('nz', () => say(a, a.cstr(', 48-bit LBA')));
      a.call(serial_newline);
      r.ret();
    });

    a.routine({
      name: ata_id_string, does: 'copy an IDENTIFY string: swap the bytes of each word, drop the trailing spaces, end it with a NUL',
      in: { eax: 'destination (words * 2 + 1 bytes)', edx: 'byte offset of the string in ata_ident', ecx: 'its length in words' },
      clobbers: [eax, ecx, edx], saves: [esi, edi],
    }, (r) => {
      a.mov(edi, eax);
      a.lea(esi, dword(edx, ata_ident));
      a.mov(edx, eax, 'EDX = the start, for the trimming');
      a.forCount(ecx, ecx, () => {
        a.lodsw();
        a.xchg(al, ah, 'the first character is in the high byte of the word');
        a.stosw();
      });
      a.mov(byte(edi), 0);
      a.while_(() => { a.cmp(edi, edx); return 'a'; }, (loop) => {
        a.cmp(byte(edi, -1), 0x20);
        loop.break_('ne', 'the last character is not a space');
        a.dec(edi);
        a.mov(byte(edi), 0, 'drop the padding');
      });
      r.ret();
    });

    a.routine({
      name: ata_select, does: 'select a drive on its channel and wait the 400 ns before its Status is valid',
      in: { ebx: 'the disk', eax: 'Device register bits to set besides DEV: ATA_DEV_LBA, LBA bits 27:24' },
      clobbers: [eax, ecx, edx],
    }, (r) => {
      a.or(al, ATA_DEV_OBS);
      a.test(dword(ebx, DISK.f.priv), ATA_PRIV_SLAVE);
      a.if_('nz', () => a.or(al, ATA_DEV_SLAVE));
      outReg(ATA_REG_DEVICE, 'select the device (master or slave)');
      port(ATA_CTRL_OFFSET);
      a.forCount(ecx, 4, () => {
        a.in(al, dx, 'Alternate Status: reading it changes nothing');
        count();
      }, '400 ns: four reads of at least 100 ns each, the delay the standard asks after selecting');
      r.ret();
    });

    a.routine({
      name: ata_wait, does: 'poll Status until BSY clears, at most ATA_POLL_MAX times',
      in: { ebx: 'the disk' }, out: { eax: 'the status (0-255) with BSY clear, or -1 when it stayed busy' },
      clobbers: [ecx, edx],
    }, (r) => {
      port(ATA_REG_STATUS);
      a.forCount(ecx, ATA_POLL_MAX, () => {
        a.in(al, dx, 'Status');
        count();
        a.test(al, ATA_SR_BSY);
        a.if_('z', () => {
          a.movzx(eax, al);
          r.ret();
        }, undefined, 'not busy: the other bits are valid now');
      });
      a.mov(eax, -1, 'still busy: give up rather than hang');
      r.ret();
    });

    a.routine({
      name: ata_identify, does: 'send IDENTIFY DEVICE to a drive position and read its answer into ata_ident',
      in: { ebx: 'the disk entry being probed (priv set)' },
      out: { eax: '0 an ATA device (ata_ident filled), 1 no device, 2 a packet (ATAPI) device, 3 no answer (still busy), 4 some other device' },
      clobbers: [ecx, edx], saves: [edi],
    }, (r) => {
      a.xor(eax, eax);
      a.call(ata_select);
      port(ATA_REG_STATUS);
      a.in(al, dx, 'Status');
      count();
      a.movzx(eax, al);
      a.cmp(eax, 0xff);
      a.if_('e', () => { a.mov(eax, 1); r.ret(); }, undefined, 'a floating bus: no controller decodes these ports');
      a.xor(eax, eax);
      outReg(ATA_REG_COUNT, 'Sector Count, LBA Low/Mid/High = 0: the signature of a packet device will show in Mid/High');
      outReg(ATA_REG_LBA_LO);
      outReg(ATA_REG_LBA_MID);
      outReg(ATA_REG_LBA_HI);
      a.mov(al, ATA_CMD_IDENTIFY);
      outReg(ATA_REG_STATUS, 'Command: IDENTIFY DEVICE');
      port(ATA_REG_STATUS);
      a.in(al, dx);
      count();
      a.test(al, al);
      a.if_('z', () => { a.mov(eax, 1); r.ret(); }, undefined, 'Status 0: no device at this position');
      a.call(ata_wait);
      a.cmp(eax, -1);
      a.if_('e', () => { a.mov(eax, 3); r.ret(); });
      a.mov(ecx, eax, 'CL = the status');
      port(ATA_REG_LBA_MID);
      a.in(al, dx);
      count();
      a.mov(ch, al, 'CH = LBA Mid');
      port(ATA_REG_LBA_HI);
      a.in(al, dx);
      count();
      a.mov(ah, al, 'AX = LBA High << 8 | LBA Mid');
      a.mov(al, ch);
      a.cmp(ax, ATAPI_SIGNATURE);
      a.if_('e', () => { a.mov(eax, 2); r.ret(); }, undefined, 'LBA Mid/High = 0x14/0xEB: a packet device\'s signature');
      a.test(ax, ax);
      a.if_('nz', () => { a.mov(eax, 4); r.ret(); }, undefined, 'another signature (0x3C/0xC3: a SATA device behind a bridge)');
      a.test(cl, ATA_SR_ERR.or(ATA_SR_DF));
      a.if_('nz', () => { a.mov(eax, 1); r.ret(); }, undefined, 'aborted without a signature: nothing usable there (QEMU answers so for an empty master position when the slave exists)');
      a.test(cl, ATA_SR_DRQ);
      a.if_('z', () => { a.mov(eax, 4); r.ret(); }, undefined, 'no error, yet no data to give');
      port(ATA_REG_DATA);
      a.mov(edi, ata_ident);
      a.mov(ecx, 256);
      a.rep_insw('the 256 words of IDENTIFY data');
      count(256);
      a.xor(eax, eax);
      r.ret();
    });

    a.routine({
      name: ata_io_error, does: 'report a failed request ("[blk] hda: I/O error at sector N (...)") and count it',
      in: { ebx: 'the disk', eax: 'the status, or -1 when the drive stayed busy', edx: 'the sector, or -1 for a cache flush' },
      out: { eax: '-EIO' }, clobbers: [ecx, edx], saves: [esi, edi],
    }, (r) => {
      a.mov(esi, eax);
      a.mov(edi, edx);
      a.inc(dword(ebx, DISK.f.errors));
      say(a, a.cstr('[blk] '));
      a.lea(eax, dword(ebx, DISK.f.name));
      a.call(serial_puts);
      a.cmp(edi, -1);
      a.if_('e', () => say(a, a.cstr(': I/O error in FLUSH CACHE')), () => {
        say(a, a.cstr(': I/O error at sector '));
        a.mov(eax, edi);
        a.call(serial_put_dec);
      });
      a.cmp(esi, -1);
      a.if_('e', () => say(a, a.cstr(' (still busy after ATA_POLL_MAX status reads)')), () => {
        say(a, a.cstr(' (status 0x'));
        a.mov(eax, esi);
        a.call(serial_put_hex8);
        say(a, a.cstr(', error 0x'));
        port(ATA_REG_ERROR);
        a.in(al, dx, 'Error: why the command failed (bit 2 ABRT: aborted, bit 6 UNC: unreadable data)');
        count();
        a.movzx(eax, al);
        a.call(serial_put_hex8);
        say(a, a.cstr(')'));
      });
      a.call(serial_newline);
      a.mov(eax, EIO.neg());
      r.ret();
    });

    a.routine({
      name: ata_rw, does: 'the IDE driver\'s disk.rw: read, write or flush by polled PIO',
      args: {
        disk: 'the disk (blk_rw checked the request)', op: 'BLK_READ, BLK_WRITE or BLK_FLUSH', lba: 'first sector',
        count: 'sectors, 1 to BLK_MAX_COUNT', buf: 'kernel buffer, count * 512 bytes',
      },
      locals: { done: [4, 'sectors moved so far'], bufp: [4, 'where the next sector goes or comes from'] },
      out: { eax: '0, -EIO (after a line naming the sector) or -EOPNOTSUPP (flush on a drive without FLUSH CACHE)' },
      clobbers: [ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(ebx, r.arg('disk'));
      a.cmp(r.arg('op'), BLK_FLUSH);
      a.if_('e', () => {
        a.mov(eax, EOPNOTSUPP.neg());
        a.test(dword(ebx, DISK.f.flags), DISK_FLUSH);
        r.retIf('z', 'IDENTIFY did not offer FLUSH CACHE');
        a.call(ata_wait);
        a.cmp(eax, -1);
        a.je(L('.flush_failed'));
        a.mov(eax, ATA_DEV_LBA);
        a.call(ata_select);
        a.mov(al, ATA_CMD_FLUSH);
        outReg(ATA_REG_STATUS, 'Command: FLUSH CACHE (non-data: nothing to transfer, just wait)');
        a.call(ata_wait);
        a.cmp(eax, -1);
        a.je(L('.flush_failed'));
        a.test(al, ATA_SR_ERR.or(ATA_SR_DF));
        a.jnz(L('.flush_failed'));
        a.inc(dword(ebx, DISK.f.reqs));
        a.xor(eax, eax);
        r.ret();
        a.label('.flush_failed');
        a.mov(edx, -1);
        a.call(ata_io_error);
        r.ret();
      });

      a.mov(r.local('done'), 0);
      a.mov(eax, r.arg('buf'));
      a.mov(r.local('bufp'), eax);
      a.call(ata_wait, 'the registers are ours only when BSY is clear');
      a.cmp(eax, -1);
      a.je(L('.failed'));
      a.mov(eax, r.arg('lba'));
      a.add(eax, r.arg('count'));
      a.jc(L('.ext'), 'the last sector is past 2^32');
      a.cmp(eax, ATA_LBA28_END);
      a.ja(L('.ext'), 'the last sector is past 2^28 - 1: only a 48-bit command reaches it (blk_rw\'s range check means the drive has them)');

      a.comment('28-bit: LBA 27:24 go into the Device register');
      a.mov(eax, r.arg('lba'));
      a.shr(eax, 24);
      a.and(eax, 0x0f);
      a.or(eax, ATA_DEV_LBA);
      a.call(ata_select);
      a.mov(eax, r.arg('count'));
      outReg(ATA_REG_COUNT, 'Sector Count: 256 is written as 0');
      a.mov(eax, r.arg('lba'));
      outReg(ATA_REG_LBA_LO, 'LBA 7:0');
      a.shr(eax, 8);
      outReg(ATA_REG_LBA_MID, 'LBA 15:8');
      a.shr(eax, 8);
      outReg(ATA_REG_LBA_HI, 'LBA 23:16');
      a.mov(ecx, ATA_CMD_READ);
      a.cmp(r.arg('op'), BLK_WRITE);
      a.if_('e', () => a.mov(ecx, ATA_CMD_WRITE));
      a.jmp(L('.command'));

      a.label('.ext', '48-bit: each register takes two bytes, the high one first');
      a.mov(eax, ATA_DEV_LBA);
      a.call(ata_select);
      a.mov(eax, r.arg('count'));
      a.shr(eax, 8);
      outReg(ATA_REG_COUNT, 'Sector Count 15:8 (1 for 256 sectors)');
      a.mov(eax, r.arg('lba'));
      a.shr(eax, 24);
      outReg(ATA_REG_LBA_LO, 'LBA 31:24');
      a.xor(eax, eax);
      outReg(ATA_REG_LBA_MID, 'LBA 39:32: blk_rw\'s lba has 32 bits');
      outReg(ATA_REG_LBA_HI, 'LBA 47:40');
      a.mov(eax, r.arg('count'));
      outReg(ATA_REG_COUNT, 'Sector Count 7:0');
      a.mov(eax, r.arg('lba'));
      outReg(ATA_REG_LBA_LO, 'LBA 7:0');
      a.shr(eax, 8);
      outReg(ATA_REG_LBA_MID, 'LBA 15:8');
      a.shr(eax, 8);
      outReg(ATA_REG_LBA_HI, 'LBA 23:16');
      a.mov(ecx, ATA_CMD_READ_EXT);
      a.cmp(r.arg('op'), BLK_WRITE);
      a.if_('e', () => a.mov(ecx, ATA_CMD_WRITE_EXT));

      a.label('.command');
      a.mov(eax, ecx);
      outReg(ATA_REG_STATUS, 'Command: the device sets BSY and starts');
      a.label('.sector', 'one DRQ block (a sector) at a time');
      a.call(ata_wait);
      a.cmp(eax, -1);
      a.je(L('.failed'));
      a.test(al, ATA_SR_ERR.or(ATA_SR_DF));
      a.jnz(L('.failed'), 'the device reports an error for this sector');
      a.test(al, ATA_SR_DRQ);
      a.jz(L('.failed'), 'no data request: the command ended early');
      port(ATA_REG_DATA);
      a.mov(ecx, 256, 'words in a sector');
      a.cmp(r.arg('op'), BLK_WRITE);
      a.if_('e', () => {
        a.mov(esi, r.local('bufp'));
        a.rep_outsw('256 writes of the Data register');
        a.mov(r.local('bufp'), esi);
      }, () => {
        a.mov(edi, r.local('bufp'));
        a.rep_insw('256 reads of the Data register');
        a.mov(r.local('bufp'), edi);
      });
      count(256);
      a.inc(r.local('done'));
      a.mov(eax, r.local('done'));
      a.cmp(eax, r.arg('count'));
      a.jb(L('.sector'));

      a.cmp(r.arg('op'), BLK_WRITE);
      a.if_('e', () => {
        a.call(ata_wait, 'the device writes the last block, then reports (PIO data-out)');
        a.cmp(eax, -1);
        a.je(L('.failed'));
        a.test(al, ATA_SR_ERR.or(ATA_SR_DF));
        a.jnz(L('.failed'));
      });
      a.inc(dword(ebx, DISK.f.reqs));
      a.xor(eax, eax);
      r.ret();

      a.label('.failed', 'EAX = the status, or -1 (still busy)');
      a.mov(edx, r.arg('lba'));
      a.add(edx, r.local('done'), 'reading: the sector whose data was awaited');
      a.cmp(r.arg('op'), BLK_WRITE);
      a.if_('e', () => {
        a.cmp(r.local('done'), 0);
        a.if_('ne', () => a.dec(edx), undefined, 'writing: the status after a block reports on that block (PIO data-out), the one before');
      });
      a.call(ata_io_error);
      r.ret();
    });
  },
});
