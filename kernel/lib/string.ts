// Small string helpers for the kernel (NUL-terminated byte strings).
import { defineModule } from '../../toolchain/x86/asm.ts';
import type { RoutineSpec } from '../../toolchain/x86/routine.ts';
import { al, cl, eax, ebx, ecx, edx, esi, L, byte, dword, chr, dec } from '../../toolchain/x86/operands.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const name_lookup = sym('name_lookup');
export const parse_uint = sym('parse_uint');
export const strcmp = sym('strcmp');
const strlen = sym('strlen');

// The contracts (toolchain/x86/routine.ts), exported so the emulator tests
// (test/routine/routines.test.ts) check each routine against the same text.
export const STRCMP: RoutineSpec = {
  name: strcmp, does: 'compares two NUL-terminated strings for equality',
  in: { eax: 'a', edx: 'b' }, out: { eax: '0 when equal, else 1' }, clobbers: [ecx, edx], saves: [esi],
};
export const NAME_LOOKUP: RoutineSpec = {
  name: name_lookup, does: 'finds a name in a table of "dd name, value" pairs ending in dd 0',
  in: { eax: 'the name', edx: 'the table' }, out: { eax: 'the value stored with the name, or 0 when no entry has it' },
  clobbers: [ecx, edx], saves: [ebx, esi],
};
export const STRLEN: RoutineSpec = {
  name: strlen, does: 'the length of a NUL-terminated string',
  in: { eax: 's' }, out: { eax: 'bytes before the NUL' }, clobbers: [edx],
};
export const PARSE_UINT: RoutineSpec = {
  name: parse_uint, does: 'parses an unsigned decimal number',
  in: { eax: 's: decimal digits, NUL-terminated' },
  out: { eax: 'the value (meaningless when EDX = -1)', edx: '0 ok, or -1 when s is empty, has a non-digit, or overflows 32 bits' },
  clobbers: [ecx], saves: [ebx, esi],
};

export const string = defineModule({
  name: 'string',
  title: 'String helpers: strcmp, name_lookup, strlen, parse_uint',
  about: `
The few string routines the kernel needs to parse its cmdline and shell
input, in the kernel calling convention; each routine's header states its
exact contract.  name_lookup reads the tables emitNameTable writes ("dd name,
value" pairs ending in dd 0: the cmdline keys, scenarios, shell commands).`,
  emit(a) {
    a.routine(STRCMP, (r) => {
      a.mov(esi, eax);
      a.loop_((loop) => {
        a.mov(al, byte(esi));
        a.mov(cl, byte(edx));
        a.cmp(al, cl);
        loop.break_('ne', 'they differ');
        a.test(al, al);
        a.if_('z', () => { a.xor(eax, eax); r.ret('both strings ended together'); });
        a.inc(esi);
        a.inc(edx);
      });
      a.mov(eax, 1);
      r.ret();
    });

    a.routine(NAME_LOOKUP, (r) => {
      a.mov(esi, eax, 'ESI = the name to look for');
      a.mov(ebx, edx, 'EBX = current entry');
      a.loop_((loop) => {
        a.mov(edx, dword(ebx), 'EDX = the entry\'s name');
        a.test(edx, edx);
        loop.break_('z', 'dd 0: end of the table');
        a.mov(eax, esi);
        a.call(strcmp, 'clobbers ECX, EDX (its contract)');
        a.test(eax, eax);
        a.if_('z', () => { a.mov(eax, dword(ebx, 4), 'its value'); r.ret(); });
        a.add(ebx, 8, 'next name/value pair');
      });
      a.xor(eax, eax, 'not found');
      r.ret();
    });

    a.routine(STRLEN, (r) => {
      a.mov(edx, eax);
      a.while_(() => { a.cmp(byte(edx), 0); return 'ne'; }, () => a.inc(edx));
      a.sub(edx, eax);
      a.mov(eax, edx);
      r.ret();
    });

    a.routine(PARSE_UINT, (r) => {
      a.mov(esi, eax);
      a.xor(eax, eax, 'EAX = value so far');
      a.cmp(byte(esi), 0);
      a.je(L('.bad'), 'an empty string is not a number');
      a.loop_((loop) => {
        a.movzx(ebx, byte(esi));
        a.test(ebx, ebx);
        loop.break_('z', 'the NUL: every byte was a digit');
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
      });
      a.xor(edx, edx, 'EDX = 0: ok');
      r.ret();
      a.label('.bad');
      a.mov(edx, -1);
      r.ret();
    });
  },
});
