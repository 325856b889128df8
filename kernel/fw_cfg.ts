// QEMU's firmware configuration device: how the boot cmdline reaches the kernel.
import { defineModule } from '../toolchain/x86/asm.ts';
import { ah, al, ax, dx, eax, ebx, ecx, edi, edx, esi, L, byte, word, dword, constant } from '../toolchain/x86/operands.ts';

export const FW_CFG_PORT_SEL = constant('FW_CFG_PORT_SEL', 0x510, 'fw_cfg selector register (16-bit write): which item to read');
export const FW_CFG_PORT_DATA = constant('FW_CFG_PORT_DATA', 0x511, 'fw_cfg data register (8-bit read): the next byte of the selected item');
export const FW_CFG_SIGNATURE = constant('FW_CFG_SIGNATURE', 0x0000, 'item 0: the four bytes "QEMU" when the device exists');
export const FW_CFG_FILE_DIR = constant('FW_CFG_FILE_DIR', 0x0019, 'item 0x19: the file directory (big-endian count, then 64-byte entries)');
export const FW_CFG_FILE_SIZE = constant('FW_CFG_FILE_SIZE', 64, 'directory entry: be32 size, be16 select, u16 reserved, char name[56]');
export const FW_CFG_FILE_NAME = constant('FW_CFG_FILE_NAME', 8, 'offset of the name within a directory entry');
export const CMDLINE_MAX = constant('CMDLINE_MAX', 255, 'longest cmdline the kernel keeps; longer ones are truncated (and reported)');

export const fwcfg = defineModule({
  name: 'fw_cfg',
  title: 'QEMU fw_cfg: reading the boot cmdline',
  about: `
QEMU exposes configuration "files" to the guest through two I/O ports: write
an item number to the selector (0x510), then read the item byte by byte from
the data port (0x511).  "-fw_cfg name=opt/tsk/cmdline,string=..." adds a
file; its item number is found in the file directory (item 0x19), whose
count, sizes and item numbers are big-endian.

fw_cfg_read_cmdline checks the "QEMU" signature, walks the directory for
opt/tsk/cmdline, and copies at most CMDLINE_MAX bytes of it to cmdline_buf,
NUL-terminated.  Returns EAX = length, or -1 when there is no cmdline (or no
fw_cfg device at all: the kernel then boots with defaults).`,
  spec: ["QEMU docs/specs/fw_cfg.txt: 'Selector Register', 'Data Register', 'FW_CFG_FILE_DIR'"],
  emit(a) {
    a.bss('cmdline_buf', 256, 4, 'the boot cmdline, NUL-terminated');
    a.bss('fw_cfg_entry', 64, 4, 'one directory entry being examined');

    a.label('fw_cfg_read_cmdline');
    a.push(ebx); a.push(esi); a.push(edi);
    a.mov(ax, FW_CFG_SIGNATURE);
    a.mov(dx, FW_CFG_PORT_SEL);
    a.out(dx, ax, 'select the signature item');
    a.mov(dx, FW_CFG_PORT_DATA);
    a.mov(ecx, 4);
    a.mov(edi, L('fw_cfg_entry'));
    a.rep_insb('read 4 bytes from port DX to [EDI]');
    a.cmp(dword(L('fw_cfg_entry')), L('FW_CFG_QEMU'), '"QEMU" as a little-endian dword');
    a.jne(L('.none'));
    a.mov(ax, FW_CFG_FILE_DIR);
    a.mov(dx, FW_CFG_PORT_SEL);
    a.out(dx, ax, 'select the file directory');
    a.mov(dx, FW_CFG_PORT_DATA);
    a.mov(ecx, 4);
    a.mov(edi, L('fw_cfg_entry'));
    a.rep_insb();
    a.mov(esi, dword(L('fw_cfg_entry')));
    a.bswap(esi, 'ESI = number of files (big-endian in fw_cfg)');
    a.label('.entry');
    a.test(esi, esi);
    a.jz(L('.none'), 'no opt/tsk/cmdline in the directory');
    a.dec(esi);
    a.mov(dx, FW_CFG_PORT_DATA, 'again: strcmp below clobbers EDX');
    a.mov(ecx, FW_CFG_FILE_SIZE);
    a.mov(edi, L('fw_cfg_entry'));
    a.rep_insb('the next 64-byte entry');
    a.mov(eax, L('fw_cfg_entry').add(FW_CFG_FILE_NAME));
    a.mov(edx, L('cmdline_file_name'));
    a.call(L('strcmp'));
    a.test(eax, eax);
    a.jnz(L('.entry'));
    a.comment('found it: select the file by its item number and copy it');
    a.mov(ax, word(L('fw_cfg_entry').add(4)), 'be16 item number ...');
    a.xchg(al, ah, '... to little-endian');
    a.mov(dx, FW_CFG_PORT_SEL);
    a.out(dx, ax, 'select opt/tsk/cmdline');
    a.mov(ebx, dword(L('fw_cfg_entry')));
    a.bswap(ebx, 'EBX = file size');
    a.mov(ecx, ebx);
    a.cmp(ecx, CMDLINE_MAX);
    a.jbe(L('.fits'));
    a.mov(ecx, CMDLINE_MAX, 'keep the first CMDLINE_MAX bytes');
    a.label('.fits');
    a.mov(esi, ecx, 'ESI = bytes we keep');
    a.mov(dx, FW_CFG_PORT_DATA);
    a.mov(edi, L('cmdline_buf'));
    a.rep_insb();
    a.mov(byte(edi), 0, 'NUL-terminate');
    a.cmp(ebx, esi);
    a.je(L('.done'));
    a.mov(eax, L('fwcfg_msg_truncated'));
    a.call(L('serial_puts'));
    a.mov(eax, ebx);
    a.call(L('serial_put_dec'));
    a.mov(eax, L('fwcfg_msg_truncated_end'));
    a.call(L('serial_puts'));
    a.label('.done');
    a.mov(eax, esi);
    a.jmp(L('.out'));
    a.label('.none');
    a.mov(byte(L('cmdline_buf')), 0);
    a.mov(eax, -1);
    a.label('.out');
    a.pop(edi); a.pop(esi); a.pop(ebx);
    a.ret();

    a.equ('FW_CFG_QEMU', 0x554d4551, '"QEMU" read as a little-endian dword');
    a.label('cmdline_file_name'); a.db('opt/tsk/cmdline', 0);
    a.label('fwcfg_msg_truncated'); a.db('[boot] cmdline truncated to 255 of ', 0);
    a.label('fwcfg_msg_truncated_end'); a.db(' bytes\r\n', 0);
  },
});
