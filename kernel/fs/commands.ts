// The shell's file commands: ls, cat and stat on the mounted tar archive.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, eax, ebx, ecx, edx, esi, edi, byte, dword, chr } from '../../toolchain/x86/operands.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { say } from '../lib/print.ts';
import { serial_newline, serial_put_dec, serial_put_int, serial_putc, serial_puts } from '../dev/serial.ts';
import { type ShellCommand, commandRoutine } from '../shell/command.ts';
import { CONTTYPE, DIRTYPE, LNKTYPE, REGTYPE, SYMTYPE, CHRTYPE, BLKTYPE, FIFOTYPE, TAR_ENT, tar_count, tar_disk, tar_ents, tar_lookup, tar_norm, tar_path, tar_read } from './tar.ts';
import { ASCII_LF } from '../lib/ascii.ts';

// The labels this module defines (toolchain/x86/symbol.ts); the handlers go into the shell's table.
export const cmd_ls = sym('cmd_ls');
export const cmd_cat = sym('cmd_cat');
export const cmd_stat = sym('cmd_stat');
const fs_put_entry = sym('fs_put_entry');
const fs_put_type = sym('fs_put_type');
const fs_put_mode = sym('fs_put_mode');
const fs_open = sym('fs_open');
const fs_ls_dir = sym('fs_ls_dir');
const fs_put_bytes = sym('fs_put_bytes');
const cat_buf = sym('cat_buf');

const LS: ShellCommand = { name: 'ls', usage: 'ls [path]', doc: 'list a directory of the tar disk (or one file): name, type, size, mode in octal', handler: cmd_ls };
const CAT: ShellCommand = { name: 'cat', usage: 'cat <file>', doc: 'print a file of the tar disk, its bytes as they are', handler: cmd_cat };
const STAT: ShellCommand = { name: 'stat', usage: 'stat <file>', doc: 'type, size, mode and sector of a file or directory of the tar disk', handler: cmd_stat };
export const fsCommands: readonly ShellCommand[] = [LS, CAT, STAT];

const CAT_CHUNK = 4096;
const NO_FS = 'no file system (no virtio-blk disk holds a ustar archive)';

export const fsCmds = defineModule({
  name: 'fs_cmds',
  title: 'Shell commands for files: ls, cat, stat',
  about: `
The tar file system (tar.asm) from the shell.  Paths are relative to the
archive's root; a leading or trailing "/" makes no difference.

  ls [path]     [ls] docs/tar.txt file 187 0644
                one line per entry directly in the directory (the root
                without a path; a directory the archive only implies, by
                its files' paths, lists too), or the entry itself for a
                path that is not a directory: path, type (file, dir,
                symlink, hardlink, chardev, blockdev, fifo, other), size in
                bytes and the permission bits in octal
  cat <file>    the file's bytes exactly as they are on the disk, with
                CR LF after them when the file does not end in a line feed
                (so that the prompt starts a new line)
  stat <file>   [stat] docs/tar.txt: file, 187 bytes, mode 0644, header at sector 3

Errors are one line each: no file system, no such file or directory, a
directory given to cat, a type cat does not open (a symlink: listed, not
followed), a read error with its -errno.`,
  emit(a) {
    const E = TAR_ENT.f; // here, not at the top: tar.ts and the shell import each other through the block layer
    a.bss(cat_buf, CAT_CHUNK, 4, 'cat reads the file through here, a piece at a time');

    a.routine({
      name: fs_put_type, does: 'prints an entry\'s type as a word',
      in: { eax: 'the typeflag' }, clobbers: [eax, ecx, edx],
    }, (r) => {
      const names: [typeof REGTYPE, string][] = [[REGTYPE, 'file'], [CONTTYPE, 'file'], [DIRTYPE, 'dir'], [SYMTYPE, 'symlink'], [LNKTYPE, 'hardlink'],
        [CHRTYPE, 'chardev'], [BLKTYPE, 'blockdev'], [FIFOTYPE, 'fifo']];
      for (const [t, n] of names) {
        a.cmp(eax, t);
        a.if_('e', () => { say(a, a.cstr(n)); r.ret(); });
      }
      say(a, a.cstr('other'));
      r.ret();
    });

    a.routine({
      name: fs_put_mode, does: 'prints permission bits as four octal digits',
      in: { eax: 'the mode (0 to 07777)' }, clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      for (const shift of [9, 6, 3, 0]) {
        a.mov(eax, ebx);
        if (shift) a.shr(eax, shift);
        a.and(eax, 7);
        a.add(al, chr('0'));
        a.call(serial_putc);
      }
      r.ret();
    });

    a.routine({
      name: fs_put_entry, does: 'prints one ls line: "[ls] path type size mode"',
      in: { eax: 'the tar_ent' }, clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      say(a, a.cstr('[ls] '));
      a.mov(eax, ebx);
      a.call(serial_puts);
      a.mov(al, chr(' ')); a.call(serial_putc);
      a.mov(eax, dword(ebx, E.type));
      a.call(fs_put_type);
      a.mov(al, chr(' ')); a.call(serial_putc);
      a.mov(eax, dword(ebx, E.size));
      a.call(serial_put_dec);
      a.mov(al, chr(' ')); a.call(serial_putc);
      a.mov(eax, dword(ebx, E.mode));
      a.call(fs_put_mode);
      a.call(serial_newline);
      r.ret();
    });

    a.routine({
      name: fs_ls_dir, does: 'prints an ls line for each entry directly inside a directory',
      in: { eax: 'the directory\'s normalized path ("" for the root)' }, out: { eax: 'entries printed' },
      clobbers: [ecx, edx], saves: [ebx, esi, edi],
      locals: { plen: [4, 'the path\'s length'], left: [4, 'entries not yet looked at'], found: [4, 'entries printed'] },
    }, (r) => {
      a.mov(esi, eax, 'ESI = the directory\'s path');
      a.mov(edx, esi);
      a.while_(() => { a.cmp(byte(edx), 0); return 'ne'; }, () => a.inc(edx));
      a.sub(edx, esi);
      a.mov(r.local('plen'), edx);
      a.xor(eax, eax);
      a.mov(r.local('found'), eax);
      a.mov(eax, dword(tar_count));
      a.mov(r.local('left'), eax);
      a.mov(ebx, tar_ents.sub(TAR_ENT.SIZE), 'EBX = the entry before the first: the loop steps first');
      a.while_(() => { a.cmp(r.local('left'), 0); return 'ne'; }, (outer) => {
        a.dec(r.local('left'));
        a.add(ebx, TAR_ENT.SIZE);
        a.mov(edi, ebx, 'EDI = the entry\'s path');
        a.mov(ecx, r.local('plen'));
        a.test(ecx, ecx);
        a.if_('nz', () => {
          a.push(esi);
          a.repe_cmpsb('the directory\'s path first ...');
          a.pop(esi);
          outer.continue_('ne', 'not inside this directory');
          a.cmp(byte(edi), chr('/'));
          outer.continue_('ne', '... then a "/" (docs2 is not inside docs)');
          a.inc(edi);
        }, undefined, 'the root: every path is inside it');
        a.cmp(byte(edi), 0);
        outer.continue_('e');
        a.mov(edx, edi);
        a.loop_((scan) => {
          a.mov(al, byte(edx));
          a.test(al, al);
          scan.break_('z');
          a.cmp(al, chr('/'));
          outer.continue_('e', 'deeper down: not directly inside');
          a.inc(edx);
        });
        a.mov(eax, ebx);
        a.call(fs_put_entry);
        a.inc(r.local('found'));
      }, 'every entry');
      a.mov(eax, r.local('found'));
      r.ret();
    });

    a.routine({
      name: fs_open, does: 'finds the entry a command\'s argument names, or prints why not',
      in: { eax: 'the argument', edx: 'the command\'s line prefix ("[cat] ")', ecx: 'its usage line' },
      out: { eax: 'the tar_ent, or 0 after an error line' }, clobbers: [ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(esi, eax);
      a.mov(ebx, edx);
      a.mov(edi, ecx);
      a.cmp(dword(tar_disk), 0);
      a.if_('e', () => {
        a.mov(eax, ebx); a.call(serial_puts);
        say(a, a.cstr(`${NO_FS}\r\n`));
        a.xor(eax, eax);
        r.ret();
      });
      a.cmp(byte(esi), 0);
      a.if_('e', () => {
        a.mov(eax, ebx); a.call(serial_puts);
        say(a, a.cstr('no file named (usage: '));
        a.mov(eax, edi); a.call(serial_puts);
        say(a, a.cstr(')\r\n'));
        a.xor(eax, eax);
        r.ret();
      });
      a.mov(eax, esi);
      a.call(tar_norm);
      a.test(eax, eax);
      a.if_('nz', () => a.call(tar_lookup), undefined, 'a path too long is in no archive');
      a.test(eax, eax);
      a.if_('z', () => {
        a.mov(eax, ebx); a.call(serial_puts);
        say(a, a.cstr("no such file or directory: '"));
        a.mov(eax, esi); a.call(serial_puts);
        say(a, a.cstr("'\r\n"));
        a.xor(eax, eax);
      });
      r.ret();
    });

    a.routine({
      name: fs_put_bytes, does: 'prints bytes as they are',
      in: { eax: 'the bytes', edx: 'how many' }, clobbers: [eax, ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(ebx, eax);
      a.mov(esi, edx);
      a.forCount(esi, esi, () => {
        a.mov(al, byte(ebx));
        a.call(serial_putc);
        a.inc(ebx);
      });
      r.ret();
    });

    commandRoutine(a, LS, { saves: [ebx, esi] }, (r) => {
      a.cmp(dword(tar_disk), 0);
      a.if_('e', () => { say(a, a.cstr(`[ls] ${NO_FS}\r\n`)); r.ret(); });
      a.mov(esi, eax, 'ESI = the path as typed');
      a.call(tar_norm);
      a.test(eax, eax);
      a.if_('z', () => {
        say(a, a.cstr("[ls] no such file or directory: '"));
        a.mov(eax, esi); a.call(serial_puts);
        say(a, a.cstr("' (longer than any path in a ustar archive)\r\n"));
        r.ret();
      });
      a.xor(ebx, ebx, 'EBX = the entry, 0 for the root or an implied directory');
      a.cmp(byte(eax), 0);
      a.if_('ne', () => {
        a.call(tar_lookup);
        a.mov(ebx, eax);
        a.test(ebx, ebx);
        a.if_('nz', () => {
          a.cmp(dword(ebx, E.type), DIRTYPE);
          a.if_('ne', () => { a.mov(eax, ebx); a.call(fs_put_entry); r.ret(); }, undefined, 'not a directory: its own line');
        });
      });
      a.mov(eax, tar_path);
      a.call(fs_ls_dir);
      a.test(eax, eax);
      r.retIf('nz');
      a.test(ebx, ebx);
      r.retIf('nz', 'an empty directory');
      a.cmp(byte(tar_path), 0);
      r.retIf('e', 'an empty archive');
      say(a, a.cstr("[ls] no such file or directory: '"));
      a.mov(eax, esi); a.call(serial_puts);
      say(a, a.cstr("'\r\n"));
      r.ret();
    });

    commandRoutine(a, CAT, { saves: [ebx, esi, edi] }, (r) => {
      a.mov(edx, a.cstr('[cat] '));
      a.mov(ecx, a.cstr(CAT.usage));
      a.mov(esi, eax, 'ESI = the argument');
      a.call(fs_open);
      a.test(eax, eax);
      r.retIf('z');
      a.mov(ebx, eax, 'EBX = the entry');
      a.mov(eax, dword(ebx, E.type));
      a.cmp(eax, DIRTYPE);
      a.if_('e', () => {
        say(a, a.cstr("[cat] '"));
        a.mov(eax, esi); a.call(serial_puts);
        say(a, a.cstr("' is a directory (ls lists it)\r\n"));
        r.ret();
      });
      a.cmp(eax, REGTYPE);
      a.if_('ne', () => {
        a.cmp(eax, CONTTYPE);
        a.if_('ne', () => {
          say(a, a.cstr("[cat] '"));
          a.mov(eax, esi); a.call(serial_puts);
          say(a, a.cstr("' is a "));
          a.mov(eax, dword(ebx, E.type)); a.call(fs_put_type);
          say(a, a.cstr(', not a regular file: not opened\r\n'));
          r.ret();
        });
      });
      a.xor(esi, esi, 'ESI = the offset');
      a.mov(edi, ASCII_LF, 'EDI = the last byte printed (an empty file needs no line end)');
      a.loop_((chunks) => {
        a.invoke(tar_read, [ebx, esi, CAT_CHUNK, cat_buf]);
        a.test(eax, eax);
        chunks.break_('z', 'the end of the file');
        a.if_('s', () => {
          a.push(eax);
          say(a, a.cstr('[cat] read error '));
          a.pop(eax); a.call(serial_put_int);
          say(a, a.cstr(' at byte '));
          a.mov(eax, esi); a.call(serial_put_dec);
          a.call(serial_newline);
          r.ret();
        });
        a.add(esi, eax);
        a.movzx(edi, byte({ base: eax, disp: cat_buf.sub(1) }));
        a.mov(edx, eax);
        a.mov(eax, cat_buf);
        a.call(fs_put_bytes);
      }, 'a buffer full at a time');
      a.cmp(edi, ASCII_LF);
      a.if_('ne', () => a.call(serial_newline), undefined, 'the prompt starts a line of its own');
      r.ret();
    });

    commandRoutine(a, STAT, { saves: [ebx] }, (r) => {
      a.mov(edx, a.cstr('[stat] '));
      a.mov(ecx, a.cstr(STAT.usage));
      a.call(fs_open);
      a.test(eax, eax);
      r.retIf('z');
      a.mov(ebx, eax);
      say(a, a.cstr('[stat] '));
      a.mov(eax, ebx); a.call(serial_puts);
      say(a, a.cstr(': '));
      a.mov(eax, dword(ebx, E.type)); a.call(fs_put_type);
      say(a, a.cstr(', '));
      a.mov(eax, dword(ebx, E.size)); a.call(serial_put_dec);
      say(a, a.cstr(' bytes, mode '));
      a.mov(eax, dword(ebx, E.mode)); a.call(fs_put_mode);
      say(a, a.cstr(', header at sector '));
      a.mov(eax, dword(ebx, E.lba));
      a.dec(eax);
      a.call(serial_put_dec);
      a.call(serial_newline);
      r.ret();
    });
  },
});
