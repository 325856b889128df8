// Small string helpers for the kernel (NUL-terminated byte strings).
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, cl, eax, ebx, ecx, edx, esi, L, byte, dword, chr, dec } from '../../toolchain/x86/operands.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const name_lookup = sym('name_lookup');
export const parse_uint = sym('parse_uint');
export const strcmp = sym('strcmp');
const strlen = sym('strlen');

export const string = defineModule({
  name: 'string',
  title: 'String helpers: strcmp, name_lookup, strlen, parse_uint',
  about: `
The few string routines the kernel needs to parse its cmdline and shell
input.  Kernel calling convention (EAX, EDX, ECX in; EAX out; EBX, ESI, EDI,
EBP preserved):
  strcmp      EAX = a, EDX = b          EAX = 0 when equal, else nonzero
  strlen      EAX = s                   EAX = length
  name_lookup EAX = name, EDX = table   EAX = the value stored with that name,
                                        or 0 when no entry has it (tables of
                                        "dd name, value" pairs ending in dd 0:
                                        the cmdline keys, scenarios, shell commands)
  parse_uint  EAX = s (decimal digits)  EAX = value, EDX = 0 ok / -1 when s is
                                        empty, has a non-digit, or overflows 32 bits`,
  emit(a) {
    a.label(strcmp);
    a.push(esi);
    a.mov(esi, eax);
    a.label('.next');
    a.mov(al, byte(esi));
    a.mov(cl, byte(edx));
    a.cmp(al, cl);
    a.jne(L('.differ'));
    a.test(al, al);
    a.jz(L('.equal'), 'both strings ended together');
    a.inc(esi);
    a.inc(edx);
    a.jmp(L('.next'));
    a.label('.equal');
    a.xor(eax, eax);
    a.pop(esi);
    a.ret();
    a.label('.differ');
    a.mov(eax, 1);
    a.pop(esi);
    a.ret();

    a.label(name_lookup);
    a.push(ebx);
    a.push(esi);
    a.mov(esi, eax, 'ESI = the name to look for');
    a.mov(ebx, edx, 'EBX = current entry');
    a.label('.entry');
    a.mov(edx, dword(ebx), 'EDX = the entry\'s name');
    a.test(edx, edx);
    a.jz(L('.missing'), 'dd 0: end of the table');
    a.mov(eax, esi);
    a.call(strcmp);
    a.test(eax, eax);
    a.jz(L('.found'));
    a.add(ebx, 8, 'next name/value pair');
    a.jmp(L('.entry'));
    a.label('.found');
    a.mov(eax, dword(ebx, 4), 'its value');
    a.jmp(L('.out'));
    a.label('.missing');
    a.xor(eax, eax);
    a.label('.out');
    a.pop(esi);
    a.pop(ebx);
    a.ret();

    a.label(strlen);
    a.mov(edx, eax);
    a.label('.next');
    a.cmp(byte(edx), 0);
    a.je(L('.done'));
    a.inc(edx);
    a.jmp(L('.next'));
    a.label('.done');
    a.sub(edx, eax);
    a.mov(eax, edx);
    a.ret();

    a.label(parse_uint);
    a.push(ebx);
    a.push(esi);
    a.mov(esi, eax);
    a.xor(eax, eax, 'EAX = value so far');
    a.cmp(byte(esi), 0);
    a.je(L('.bad'), 'an empty string is not a number');
    a.label('.digit');
    a.movzx(ebx, byte(esi));
    a.test(ebx, ebx);
    a.jz(L('.ok'));
    a.sub(ebx, chr('0'));
    a.cmp(ebx, 9);
    a.ja(L('.bad'), 'not a decimal digit');
    a.mov(ecx, dec(10), 'base 10');
    a.mul(ecx, 'EDX:EAX = value * 10');
    a.test(edx, edx);
    a.jnz(L('.bad'), 'overflow');
    a.add(eax, ebx);
    a.jc(L('.bad'), 'overflow');
    a.inc(esi);
    a.jmp(L('.digit'));
    a.label('.ok');
    a.xor(edx, edx);
    a.jmp(L('.out'));
    a.label('.bad');
    a.mov(edx, -1);
    a.label('.out');
    a.pop(esi);
    a.pop(ebx);
    a.ret();
  },
});
