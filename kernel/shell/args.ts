// Command arguments: the one parse that several shell commands share.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ebx, edx, ecx, esi, edi, L } from '../../toolchain/x86/operands.ts';
import { say } from '../lib/print.ts';
import { serial_puts } from '../dev/serial.ts';
import { parse_uint } from '../lib/string.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); commands call arg_uint.
export const arg_uint = sym('arg_uint');
const sh_msg_quote_end = sym('sh_msg_quote_end');

export const shellArgs = defineModule({
  name: 'shell_args',
  title: 'Command arguments: a number, or a message saying what was wrong',
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
than 32 bits or more than EDX are all the same error.  Kernel convention:
EBX, ESI, EDI, EBP preserved.`,
  emit(a) {
    a.label(arg_uint);
    a.push(ebx);
    a.push(esi);
    a.push(edi);
    a.mov(ebx, eax, 'EBX = the argument, to repeat it in the message');
    a.mov(esi, ecx, 'ESI = the message');
    a.mov(edi, edx, 'EDI = the largest value accepted');
    a.call(parse_uint);
    a.test(edx, edx);
    a.jnz(L('.bad'), 'not a decimal number');
    a.cmp(eax, edi);
    a.ja(L('.bad'), 'a number, but out of range');
    a.jmp(L('.out'), 'EDX = 0 from parse_uint');
    a.label('.bad');
    a.mov(eax, esi);
    a.call(serial_puts);
    a.mov(eax, ebx);
    a.call(serial_puts);
    say(a, sh_msg_quote_end);
    a.mov(edx, -1);
    a.label('.out');
    a.pop(edi);
    a.pop(esi);
    a.pop(ebx);
    a.ret();

    a.section('strings');
    a.label(sh_msg_quote_end); a.db("'\r\n", 0);
  },
});
