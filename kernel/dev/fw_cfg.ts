// QEMU's firmware configuration device: how the boot cmdline reaches the kernel.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { ah, al, ax, dx, eax, ebx, ecx, edi, edx, esi, L, byte, word, dword, mem, constant, chr } from '../../toolchain/x86/operands.ts';
import { serial_newline, serial_put_dec, serial_put_escaped } from './serial.ts';
import { strcmp } from '../lib/string.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { say } from '../lib/print.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const FW_CFG_QEMU = sym('FW_CFG_QEMU');
export const cmdline_buf = sym('cmdline_buf');
const fw_cfg_entry = sym('fw_cfg_entry');
const fw_cfg_present = sym('fw_cfg_present');
export const fw_cfg_ram_kib = sym('fw_cfg_ram_kib');
const fw_cfg_read = sym('fw_cfg_read');
export const fw_cfg_read_cmdline = sym('fw_cfg_read_cmdline');
const fw_cfg_select = sym('fw_cfg_select');

export const FW_CFG_PORT_SEL = constant('FW_CFG_PORT_SEL', 0x510, 'fw_cfg selector register (16-bit write): which item to read');
export const FW_CFG_PORT_DATA = constant('FW_CFG_PORT_DATA', 0x511, 'fw_cfg data register (8-bit read): the next byte of the selected item');
export const FW_CFG_SIGNATURE = constant('FW_CFG_SIGNATURE', 0x0000, 'item 0: the four bytes "QEMU" when the device exists');
export const FW_CFG_FILE_DIR = constant('FW_CFG_FILE_DIR', 0x0019, 'item 0x19: the file directory (big-endian count, then 64-byte entries)');
export const FW_CFG_FILE_SIZE = constant('FW_CFG_FILE_SIZE', 64, 'directory entry: be32 size, be16 select, u16 reserved, char name[56]', { radix: 10 });
export const FW_CFG_FILE_NAME = constant('FW_CFG_FILE_NAME', 8, 'offset of the name within a directory entry', { radix: 10 });
export const FW_CFG_RAM_SIZE = constant('FW_CFG_RAM_SIZE', 0x0003, 'item 3: the guest RAM size in bytes, 64-bit little-endian (what -m set)');
export const CMDLINE_MAX = constant('CMDLINE_MAX', 4096, 'longest cmdline the kernel reads; from a longer one the rest is ignored and a word cut at the limit is dropped', { radix: 10 });

export const fwcfg = defineModule({
  name: 'fw_cfg',
  title: 'QEMU fw_cfg: reading the boot cmdline',
  about: `
QEMU exposes configuration "files" to the guest through two I/O ports: write
an item number to the selector (0x510), then read the item byte by byte from
the data port (0x511).  "-fw_cfg name=opt/tsk/cmdline,string=..." adds a
file; its item number is found in the file directory (item 0x19), whose
count, sizes and item numbers are big-endian.  Every access is those two
steps, so they are two routines: fw_cfg_select (EAX = item) and fw_cfg_read
(EDX = destination, ECX = bytes; reading on continues where the last read
stopped, which is how the directory is walked entry by entry).

fw_cfg_read_cmdline checks the "QEMU" signature, walks the directory for
opt/tsk/cmdline, and copies the file - its size is in its directory entry -
to cmdline_buf, NUL-terminated, up to CMDLINE_MAX (4096) bytes.  Returns
EAX = length, or -1 when there is no cmdline (or no fw_cfg device at all:
the kernel then boots with defaults).

A longer file is reported, and only its first CMDLINE_MAX bytes are used.
If the limit falls inside a word ("... seed=123456" kept as "seed=12"), that
word is dropped and named in the report: a cut word is never applied, since
its value would be wrong in a way nobody asked for (the next byte, read
from the device, tells whether the cut fell between two words).

fw_cfg_ram_kib returns EAX = the guest RAM in KiB from item FW_CFG_RAM_SIZE
(0 without fw_cfg); proc.asm checks it against what the kernel needs.`,
  spec: ["QEMU docs/specs/fw_cfg.txt: 'Selector Register', 'Data Register', 'FW_CFG_FILE_DIR'"],
  emit(a) {
    a.bss(cmdline_buf, CMDLINE_MAX.add(4), 4, 'the boot cmdline, NUL-terminated (CMDLINE_MAX bytes, the NUL, padding to a dword)');
    a.bss(fw_cfg_entry, FW_CFG_FILE_SIZE, 4, 'one directory entry being examined');

    a.section('fw_cfg_select, fw_cfg_read: the two steps of every fw_cfg access');
    a.routine({
      name: fw_cfg_select, does: 'select an item: the data port now reads it from its first byte',
      in: { ax: 'item number' }, clobbers: [edx],
    }, (r) => {
      a.mov(dx, FW_CFG_PORT_SEL);
      a.out(dx, ax, 'a 16-bit write: item numbers are 16 bits');
      r.ret();
    });
    a.routine({
      name: fw_cfg_read, does: 'copy the next bytes of the selected item to memory',
      in: { edx: 'destination', ecx: 'bytes' }, out: { eax: 'end of what was written (destination + bytes)' },
      clobbers: [ecx, edx], saves: [edi],
    }, (r) => {
      a.mov(edi, edx);
      a.mov(dx, FW_CFG_PORT_DATA);
      a.rep_insb('ECX bytes from port DX to [EDI]: each read returns the next byte of the item');
      a.mov(eax, edi);
      r.ret();
    });

    a.routine({
      name: fw_cfg_present, does: 'check for the fw_cfg device\'s "QEMU" signature (read into fw_cfg_entry)',
      out: { flags: 'ZF = 1 when the device answered "QEMU"' }, clobbers: [eax, ecx, edx],
    }, (r) => {
      a.mov(eax, FW_CFG_SIGNATURE);
      a.call(fw_cfg_select);
      a.mov(edx, fw_cfg_entry);
      a.mov(ecx, 4);
      a.call(fw_cfg_read);
      a.cmp(dword(fw_cfg_entry), FW_CFG_QEMU, '"QEMU" as a little-endian dword');
      r.ret();
    });

    a.routine({
      name: fw_cfg_ram_kib, does: 'the guest RAM size from item FW_CFG_RAM_SIZE',
      out: { eax: 'RAM in KiB, or 0 without fw_cfg' }, clobbers: [ecx, edx],
    }, (r) => {
      a.call(fw_cfg_present);
      a.if_('ne', () => { a.xor(eax, eax, 'no fw_cfg device'); r.ret(); });
      a.mov(eax, FW_CFG_RAM_SIZE);
      a.call(fw_cfg_select);
      a.mov(edx, fw_cfg_entry);
      a.mov(ecx, 8);
      a.call(fw_cfg_read, '8 bytes, little-endian');
      a.mov(eax, dword(fw_cfg_entry));
      a.shr(eax, 10, 'bytes -> KiB (low dword)');
      a.mov(edx, dword(fw_cfg_entry.add(4)));
      a.shl(edx, 22, 'the high dword\'s bits, in KiB (at most 3 GiB here, so nothing is lost)');
      a.or(eax, edx);
      r.ret();
    });

    a.routine({
      name: fw_cfg_read_cmdline, does: 'copy the file opt/tsk/cmdline to cmdline_buf, NUL-terminated (at most CMDLINE_MAX bytes; a word cut at the limit is dropped)',
      out: { eax: 'cmdline length, or -1 when there is none (cmdline_buf is then empty)' },
      clobbers: [ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.call(fw_cfg_present);
      a.jne(L('.none'));
      a.mov(eax, FW_CFG_FILE_DIR);
      a.call(fw_cfg_select, 'the file directory');
      a.mov(edx, fw_cfg_entry);
      a.mov(ecx, 4);
      a.call(fw_cfg_read);
      a.mov(esi, dword(fw_cfg_entry));
      a.bswap(esi, 'ESI = number of files (big-endian in fw_cfg)');
      a.label('.entry');
      a.test(esi, esi);
      a.jz(L('.none'), 'no opt/tsk/cmdline in the directory');
      a.dec(esi);
      a.mov(edx, fw_cfg_entry);
      a.mov(ecx, FW_CFG_FILE_SIZE);
      a.call(fw_cfg_read, 'the next 64-byte entry');
      a.mov(eax, fw_cfg_entry.add(FW_CFG_FILE_NAME));
      a.mov(edx, a.cstr('opt/tsk/cmdline'));
      a.call(strcmp);
      a.test(eax, eax);
      a.jnz(L('.entry'));
      a.comment('found it: select the file by its item number and copy it');
      a.movzx(eax, word(fw_cfg_entry.add(4)), 'be16 item number ...');
      a.xchg(al, ah, '... to little-endian');
      a.call(fw_cfg_select, 'select opt/tsk/cmdline');
      a.mov(ebx, dword(fw_cfg_entry));
      a.bswap(ebx, 'EBX = file size');
      a.mov(ecx, ebx);
      a.cmp(ecx, CMDLINE_MAX);
      a.jbe(L('.fits'));
      a.mov(ecx, CMDLINE_MAX, 'keep the first CMDLINE_MAX bytes');
      a.label('.fits');
      a.mov(esi, ecx, 'ESI = bytes we keep');
      a.mov(edx, cmdline_buf);
      a.call(fw_cfg_read);
      a.mov(byte(eax), 0, 'NUL-terminate');
      a.cmp(ebx, esi);
      a.je(L('.done'), 'the whole file fitted');
      a.mov(dx, FW_CFG_PORT_DATA);
      a.in(al, dx, 'longer than CMDLINE_MAX: the byte after the last one kept');
      a.mov(edi, esi, 'EDI = where the cut word starts (the limit, if the cut is between words)');
      a.cmp(al, chr(' '));
      a.je(L('.report'), 'the next word starts after a space: nothing was cut');
      a.label('.back');
      a.test(edi, edi);
      a.jz(L('.report'));
      a.cmp(byte({ base: edi, disp: cmdline_buf.sub(1) }), chr(' '));
      a.je(L('.report'), 'found the space before the cut word');
      a.dec(edi);
      a.jmp(L('.back'));
      a.label('.report');
      say(a, a.cstr('[boot] cmdline is '));
      a.mov(eax, ebx);
      a.call(serial_put_dec);
      say(a, a.cstr(' bytes; only the first 4096 are read, the rest is ignored'));
      a.cmp(edi, esi);
      a.je(L('.reported'));
      say(a, a.cstr("; the word cut at byte 4096 is dropped: '"));
      a.lea(eax, mem(edi, cmdline_buf));
      a.call(serial_put_escaped);
      say(a, a.cstr("'"));
      a.mov(byte({ base: edi, disp: cmdline_buf }), 0, 'drop it: a cut word is never applied');
      a.mov(esi, edi);
      a.label('.reported');
      a.call(serial_newline);
      a.label('.done');
      a.mov(eax, esi);
      a.jmp(L('.out'));
      a.label('.none');
      a.mov(byte(cmdline_buf), 0);
      a.mov(eax, -1);
      a.label('.out');
      r.ret();
    });

    a.equ(FW_CFG_QEMU, 0x554d4551, '"QEMU" read as a little-endian dword');
  },
});
