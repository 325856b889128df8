// Parsing the boot cmdline: "key=value" words separated by spaces.
import { defineModule } from '../toolchain/x86/asm.ts';
import { al, eax, ebx, ecx, edx, esi, edi, L, byte, dword, mem, chr } from '../toolchain/x86/operands.ts';
import { emitNameTable } from './lib/name_table.ts';
import { cmdline_buf } from './dev/fw_cfg.ts';
import { serial_put_escaped, serial_puts } from './dev/serial.ts';
import { name_lookup, parse_uint } from './lib/string.ts';
import { sym } from '../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const cmdline_keys = sym('cmdline_keys');
const cmdline_msg_bad_number = sym('cmdline_msg_bad_number');
const cmdline_msg_equals_quote = sym('cmdline_msg_equals_quote');
const cmdline_msg_ignored = sym('cmdline_msg_ignored');
const cmdline_msg_known_keys = sym('cmdline_msg_known_keys');
const cmdline_msg_not_key_value = sym('cmdline_msg_not_key_value');
const cmdline_msg_not_number = sym('cmdline_msg_not_number');
const cmdline_msg_unknown_key = sym('cmdline_msg_unknown_key');
const cmdline_number = sym('cmdline_number');
export const cmdline_parse = sym('cmdline_parse');
const cmdline_set_test = sym('cmdline_set_test');
const cmdline_word = sym('cmdline_word');
export const test_name = sym('test_name');
export const user_arg = sym('user_arg');

/** A cmdline key: its handler is called with EAX = the value (NUL-terminated). */
export interface CmdlineKey {
  readonly key: string;
  readonly doc: string;
  readonly handler: string;
}

/** The keys the kernel understands. Add an entry (and its handler routine) to extend. */
export const CMDLINE_KEYS: readonly CmdlineKey[] = [
  { key: 'test', doc: 'run one built-in scenario and power off (or panic): test=boot, test=div0 ...', handler: 'cmdline_set_test' },
  { key: 'hz', doc: 'timer interrupt frequency in Hz, 19-1000 (default 100)', handler: 'cmdline_set_hz' },
  { key: 'seed', doc: 'start argument for user programs: the fuzz program\'s LFSR seed (decimal, default 1)', handler: 'cmdline_set_seed' },
  { key: 'strace', doc: 'strace=1 traces every system call on serial', handler: 'cmdline_set_strace' },
];

export const cmdline = defineModule({
  name: 'cmdline',
  title: 'The boot cmdline: key=value words',
  about: `
The cmdline (read by fw_cfg.asm into cmdline_buf) configures a boot, for
example "test=div0 hz=250".  cmdline_parse splits it in place: each space
becomes a NUL, and the "=" of each word too, so key and value are separate
strings.  Each key is looked up with name_lookup in cmdline_keys (generated
from the table in kernel/cmdline.ts) and its handler called with EAX = the
value.

Nothing is silently ignored: an unknown key, or a word without "=", is
reported on serial with the list of known keys, and parsing goes on.  The
cmdline comes from outside, so what is echoed from it goes through
serial_put_escaped: a control byte such as ESC (1Bh) is printed as \\x1b
and cannot drive the terminal (a backslash is printed as \\\\).  A word
that the 4096-byte limit cut is dropped before parsing (fw_cfg.asm).

Known keys:
${CMDLINE_KEYS.map((k) => `  ${k.key.padEnd(6)} ${k.doc}`).join('\n')}`,
  emit(a) {
    a.bss(test_name, 4, 4, 'value of test=, or 0 when the cmdline has none');

    a.label(cmdline_parse);
    a.push(esi); a.push(edi); a.push(ebx);
    a.mov(esi, cmdline_buf);
    a.label('.skip_spaces');
    a.cmp(byte(esi), chr(' '));
    a.jne(L('.word'));
    a.inc(esi);
    a.jmp(L('.skip_spaces'));
    a.label('.word');
    a.cmp(byte(esi), 0);
    a.je(L('.done'), 'end of the cmdline');
    a.mov(edi, esi, 'EDI = start of this word (the key)');
    a.xor(ebx, ebx, 'EBX = value, once we see "="');
    a.label('.scan');
    a.mov(al, byte(esi));
    a.test(al, al);
    a.jz(L('.end_word'));
    a.cmp(al, chr(' '));
    a.je(L('.end_space'));
    a.cmp(al, chr('='));
    a.jne(L('.next_char'));
    a.test(ebx, ebx);
    a.jnz(L('.next_char'), 'only the first "=" splits: values may contain "="');
    a.mov(byte(esi), 0, 'end the key here ...');
    a.lea(ebx, mem(esi, 1), '... and the value starts after it');
    a.label('.next_char');
    a.inc(esi);
    a.jmp(L('.scan'));
    a.label('.end_space');
    a.mov(byte(esi), 0, 'end the word');
    a.inc(esi);
    a.label('.end_word');
    a.call(cmdline_word, 'EDI = key, EBX = value or 0');
    a.jmp(L('.skip_spaces'));
    a.label('.done');
    a.pop(ebx); a.pop(edi); a.pop(esi);
    a.ret();

    a.section('cmdline_word: EDI = key, EBX = value (0 when the word had no "=")');
    a.label(cmdline_word);
    a.test(ebx, ebx);
    a.jz(L('.not_key_value'));
    a.mov(eax, edi);
    a.mov(edx, cmdline_keys);
    a.call(name_lookup, 'EAX = the key\'s handler, or 0');
    a.test(eax, eax);
    a.jz(L('.unknown'));
    a.mov(ecx, eax);
    a.mov(eax, ebx);
    a.jmp(ecx, 'tail call: handler(EAX = value)');
    a.label('.unknown');
    a.mov(eax, cmdline_msg_unknown_key);
    a.call(serial_puts);
    a.mov(eax, edi);
    a.call(serial_put_escaped, 'as typed, with control bytes shown as \\xHH');
    a.mov(eax, cmdline_msg_known_keys);
    a.jmp(serial_puts);
    a.label('.not_key_value');
    a.mov(eax, cmdline_msg_not_key_value);
    a.call(serial_puts);
    a.mov(eax, edi);
    a.call(serial_put_escaped);
    a.mov(eax, cmdline_msg_ignored);
    a.jmp(serial_puts);

    a.section('handlers (EAX = value)');
    a.label(cmdline_set_test);
    a.mov(dword(test_name), eax);
    a.ret();
    for (const [key, target, why] of [
      ['hz', 'pit_hz', 'pit_init checks the range'],
      ['seed', 'user_arg', 'passed to user programs in EAX'],
      ['strace', 'strace_on', 'non-zero: trace system calls'],
    ] as const) {
      a.label(`cmdline_set_${key}`);
      a.mov(edx, L(`cmdline_keys_name_${CMDLINE_KEYS.findIndex((k) => k.key === key)}`), 'EDX = the key, for the error message');
      a.call(cmdline_number);
      a.jc(L('.bad'));
      a.mov(dword(L(target)), eax, why);
      a.label('.bad');
      a.ret();
    }

    a.section('cmdline_number: EAX = value, EDX = key -> EAX = number, CF clear; or reports and sets CF');
    a.label(cmdline_number);
    a.push(ebx);
    a.push(esi);
    a.mov(ebx, eax);
    a.mov(esi, edx);
    a.call(parse_uint);
    a.test(edx, edx);
    a.jnz(L('.bad'));
    a.pop(esi);
    a.pop(ebx);
    a.clc();
    a.ret();
    a.label('.bad');
    a.mov(eax, cmdline_msg_bad_number);
    a.call(serial_puts);
    a.mov(eax, esi);
    a.call(serial_puts);
    a.mov(eax, cmdline_msg_equals_quote);
    a.call(serial_puts);
    a.mov(eax, ebx);
    a.call(serial_put_escaped);
    a.mov(eax, cmdline_msg_not_number);
    a.call(serial_puts);
    a.pop(esi);
    a.pop(ebx);
    a.stc();
    a.ret();

    a.label(user_arg); a.dataC(4, [1], 'seed=: the start argument user programs get in EAX (default 1)');
    emitNameTable(a, cmdline_keys, CMDLINE_KEYS.map((k) => ({ name: k.key, value: L(k.handler) })), 'key -> handler');
    a.label(cmdline_msg_unknown_key); a.db("[boot] unknown cmdline key '", 0);
    a.label(cmdline_msg_known_keys); a.db(`' ignored (known: ${CMDLINE_KEYS.map((k) => k.key).join(', ')})\r\n`, 0);
    a.label(cmdline_msg_not_key_value); a.db("[boot] cmdline word '", 0);
    a.label(cmdline_msg_ignored); a.db("' ignored (not key=value)\r\n", 0);
    a.label(cmdline_msg_bad_number); a.db('[boot] ', 0);
    a.label(cmdline_msg_equals_quote); a.db("='", 0);
    a.label(cmdline_msg_not_number); a.db("' is not a decimal number; ignored\r\n", 0);
  },
});
