// The program table: the user programs embedded in the kernel image.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ebx, ecx, edx, esi, L, dword } from '../../toolchain/x86/operands.ts';
import { USER_PROGRAMS } from '../user/index.ts';
import { PROG } from './table.ts';
import { serial_puts } from '../dev/serial.ts';
import { strcmp } from '../lib/string.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const program_find = sym('program_find');
export const program_list = sym('program_list');
const program_table = sym('program_table');
const program_table_end = sym('program_table_end');

/** Name of the extern (set by the image builder) that holds a program's image + bss size. */
export const memszExtern = (name: string) => `MEMSZ_${name.toUpperCase()}`;

export const programs = defineModule({
  name: 'programs',
  title: 'The program table: user programs built into the kernel image',
  about: `
tskernel has no file system yet, so the user programs travel inside the
kernel: each is assembled on its own (its main file is in build/asm's user
part, e.g. hello.asm; origin USER_BASE) and its bytes are included here
with incbin.  program_table has
one entry per program (struc prog in kernel.asm): its name, where its image
is, its size, and how much memory it needs including its bss (MEMSZ_*
constants, computed by the image builder).  proc_spawn copies the image into the new
process's own pages - the copy here is never executed.

  program_find   EAX = name -> EAX = program entry, or 0
  program_list   prints the names

Programs:
${USER_PROGRAMS.map((p) => `  ${p.name.padEnd(15)} ${p.doc}`).join('\n')}`,
  emit(a) {
    a.routine({
      name: program_find, does: 'find a program of the table by its name',
      in: { eax: 'name' }, out: { eax: 'program entry (struc prog), or 0' },
      clobbers: [ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(esi, eax);
      a.mov(ebx, program_table);
      a.doWhile(() => {
        a.mov(eax, esi);
        a.mov(edx, dword(ebx, PROG.f.name));
        a.call(strcmp);
        a.test(eax, eax);
        a.if_('z', () => { a.mov(eax, ebx, 'found'); r.ret(); });
        a.add(ebx, PROG.SIZE);
      }, () => { a.cmp(ebx, program_table_end); return 'b'; });
      a.xor(eax, eax, 'not found');
      r.ret();
    });

    a.routine({
      name: program_list, does: 'print the program names, separated by spaces',
      clobbers: [eax, ecx, edx],
    }, () => {
      a.mov(eax, a.cstr(USER_PROGRAMS.map((p) => p.name).join(' ')));
      a.jmp(serial_puts, 'tail call');
    });

    a.section('the table');
    a.align(4);
    a.comment('One entry per program: prog.name, prog.start, prog.filesz, prog.memsz (struc prog).');
    a.label(program_table);
    for (const p of USER_PROGRAMS) {
      a.dataC(4, [L(`prog_name_${p.name}`), L(`prog_image_${p.name}`), L(`prog_image_${p.name}_end`).sub(L(`prog_image_${p.name}`)), L(memszExtern(p.name))], p.name);
    }
    a.label(program_table_end);
    for (const p of USER_PROGRAMS) { a.label(`prog_name_${p.name}`); a.db(p.name, 0); }

    a.section('the images');
    for (const p of USER_PROGRAMS) {
      a.align(4);
      a.label(`prog_image_${p.name}`);
      a.incbin(p.name, `build/bin/${p.name}.bin: ${p.doc}`);
      a.label(`prog_image_${p.name}_end`);
    }
  },
});
