// Command arguments: the one parse that several shell commands share.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, eax, ebx, edx, ecx, esi, edi, L, byte, chr } from '../../toolchain/x86/operands.ts';
import { say } from '../lib/print.ts';
import { serial_puts } from '../dev/serial.ts';
import { parse_uint } from '../lib/string.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); commands call arg_uint.
export const arg_uint = sym('arg_uint');
export const arg_split = sym('arg_split');

export const shellArgs = defineModule({
  name: 'shell_args',
  title: 'Command arguments: the next word, and a number or a message saying what was wrong',
  about: `
A command that takes a number ("int 3", "kill 2") must refuse anything
else with a message that repeats what was typed - the user sees exactly
which word the shell did not understand.  arg_uint does both halves once,
for every command:

  arg_uint  EAX = argument string, EDX = largest value accepted,
            ECX = the message to print before the argument on error
            (it starts the line; arg_uint ends it with "'" and CR LF)
            -> EAX = the value and EDX = 0, or EDX = -1 after the message

The number is decimal (parse_uint, string.asm): empty, a non-digit, more
than 32 bits or more than EDX are all the same error.  ECX is destroyed;
EBX, ESI, EDI and EBP come back unchanged (the routine's header).

A command with several arguments ("blk vdb read 8 2") takes them one
word at a time with arg_split, which the shell's own dispatcher uses to
split off the command word:

  arg_split  EAX = string -> EAX = its first word, NUL-terminated in
             place (spaces before it skipped), EDX = the rest after the
             spaces that follow the word ("" at the end of the line)

It writes into the line it splits, as C's strtok does: the shell's line
buffer is the command's to take apart.`,
  emit(a) {
    a.routine({
      name: arg_split, does: 'splits the first word off a string, in place',
      in: { eax: 'the string (it is written to: the word\'s end becomes a NUL)' },
      out: { eax: 'the first word ("" when the string has only spaces)', edx: 'the rest, after the spaces that follow the word ("" when none)' },
    }, (r) => {
      a.while_(() => { a.cmp(byte(eax), chr(' ')); return 'e'; }, () => a.inc(eax), 'skip the spaces before the word');
      a.mov(edx, eax);
      a.loop_((scan) => {
        a.cmp(byte(edx), 0);
        r.retIf('e', 'the word ends the string: EDX points at its NUL, an empty rest');
        a.cmp(byte(edx), chr(' '));
        scan.break_('e', 'the end of the word');
        a.inc(edx);
      });
      a.mov(byte(edx), 0, 'end the word');
      a.doWhile(() => a.inc(edx), () => { a.cmp(byte(edx), chr(' ')); return 'e'; }, 'skip the spaces after it');
      r.ret();
    });

    a.routine({
      name: arg_uint, does: 'the argument as a number 0..EDX, or a message that repeats it',
      in: { eax: 'the argument string', edx: 'the largest value accepted', ecx: 'the message that starts the error line' },
      out: { eax: 'the value (when EDX = 0)', edx: '0, or -1 after the message' },
      clobbers: [ecx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(ebx, eax, 'EBX = the argument, to repeat it in the message');
      a.mov(esi, ecx, 'ESI = the message');
      a.mov(edi, edx, 'EDI = the largest value accepted');
      a.call(parse_uint);
      a.test(edx, edx);
      a.jnz(L('.bad'), 'not a decimal number');
      a.cmp(eax, edi);
      r.retIf('be', 'a number in range; EDX = 0 from parse_uint');
      a.label('.bad', 'not a number, or out of range');
      a.mov(eax, esi);
      a.call(serial_puts);
      a.mov(eax, ebx);
      a.call(serial_puts);
      say(a, a.cstr("'\r\n", 'quote_end'));
      a.mov(edx, -1);
      r.ret();
    });
  },
});
