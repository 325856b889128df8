// Parsing the boot cmdline: "key=value" words separated by spaces.
import { defineModule } from '../toolchain/x86/asm.ts';
import { al, eax, ebx, ecx, edx, esi, edi, L, byte, dword, mem, chr } from '../toolchain/x86/operands.ts';
import { emitNameTable } from './lib/name_table.ts';
import { cmdline_buf } from './dev/fw_cfg.ts';
import { serial_put_escaped, serial_puts } from './dev/serial.ts';
import { name_lookup, parse_uint } from './lib/string.ts';
import { sym } from '../toolchain/x86/symbol.ts';
import { say } from './lib/print.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const cmdline_keys = sym('cmdline_keys');
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

    a.routine({
      name: cmdline_parse, does: 'splits cmdline_buf into key=value words in place and hands each to cmdline_word',
      clobbers: [eax, ecx, edx], saves: [esi, edi, ebx],
    }, (r) => {
      a.mov(esi, cmdline_buf);
      a.loop_((words) => {
        a.while_(() => { a.cmp(byte(esi), chr(' ')); return 'e'; }, () => a.inc(esi), 'skip spaces');
        a.cmp(byte(esi), 0);
        words.break_('e', 'end of the cmdline');
        a.mov(edi, esi, 'EDI = start of this word (the key)');
        a.xor(ebx, ebx, 'EBX = value, once we see "="');
        a.loop_((chars) => {
          a.mov(al, byte(esi));
          a.test(al, al);
          chars.break_('z', 'the last word');
          a.cmp(al, chr(' '));
          a.if_('e', () => {
            a.mov(byte(esi), 0, 'end the word');
            a.inc(esi);
            chars.break_();
          });
          a.cmp(al, chr('='));
          a.if_('e', () => {
            a.test(ebx, ebx);
            a.if_('z', () => {
              a.mov(byte(esi), 0, 'end the key here ...');
              a.lea(ebx, mem(esi, 1), '... and the value starts after it');
            });
          });
          a.inc(esi);
        });
        a.call(cmdline_word, 'EDI = key, EBX = value or 0');
      });
      r.ret();
    });

    a.routine({
      name: cmdline_word, does: 'calls the handler of one cmdline word\'s key, or reports the word',
      in: { edi: 'the key', ebx: 'the value (0 when the word had no "=")' },
      clobbers: [eax, ecx, edx],
    }, () => {
      a.test(ebx, ebx);
      a.jz(L('.not_key_value'));
      a.mov(eax, edi);
      a.mov(edx, cmdline_keys);
      a.call(name_lookup, 'EAX = the key\'s handler, or 0');
      a.test(eax, eax);
      a.jz(L('.unknown'));
      a.mov(ecx, eax);
      a.mov(eax, ebx);
      a.jmp(ecx, 'tail call: handler(EAX = value); the handlers clobber at most EAX, ECX, EDX');
      a.label('.unknown');
      say(a, a.cstr("[boot] unknown cmdline key '"));
      a.mov(eax, edi);
      a.call(serial_put_escaped, 'as typed, with control bytes shown as \\xHH');
      a.mov(eax, a.cstr(`' ignored (known: ${CMDLINE_KEYS.map((k) => k.key).join(', ')})\r\n`));
      a.jmp(serial_puts);
      a.label('.not_key_value');
      say(a, a.cstr("[boot] cmdline word '"));
      a.mov(eax, edi);
      a.call(serial_put_escaped);
      a.mov(eax, a.cstr("' ignored (not key=value)\r\n"));
      a.jmp(serial_puts);
    });

    a.section('handlers: EAX = the value of their key');
    a.routine({ name: cmdline_set_test, does: 'test=: remembers the scenario name', in: { eax: 'the value' } }, (r) => {
      a.mov(dword(test_name), eax);
      r.ret();
    });
    for (const [key, target, why] of [
      ['hz', 'pit_hz', 'pit_init checks the range'],
      ['seed', 'user_arg', 'passed to user programs in EAX'],
      ['strace', 'strace_on', 'non-zero: trace system calls'],
    ] as const) {
      a.routine({
        name: `cmdline_set_${key}`, does: `${key}=: stores the number in ${target}, or reports a value that is not one`,
        in: { eax: 'the value' }, clobbers: [eax, ecx, edx],
      }, (r) => {
        a.mov(edx, L(`cmdline_keys_name_${CMDLINE_KEYS.findIndex((k) => k.key === key)}`), 'EDX = the key, for the error message');
        a.call(cmdline_number);
        r.retIf('c', 'not a number: already reported');
        a.mov(dword(L(target)), eax, why);
        r.ret();
      });
    }

    a.routine({
      name: cmdline_number, does: 'parses a cmdline value as a decimal number; reports one that is not',
      in: { eax: 'the value', edx: 'its key (for the message)' },
      out: { eax: 'the number (when CF = 0)', flags: 'CF = 0 ok, CF = 1 not a number (reported on serial)' },
      clobbers: [ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(ebx, eax);
      a.mov(esi, edx);
      a.call(parse_uint, 'clobbers ECX (its contract)');
      a.test(edx, edx);
      a.if_('z', () => {
        a.clc();
        r.ret('CF = 0: EAX = the number (the pops keep the flags)');
      });
      say(a, a.cstr('[boot] '));
      a.mov(eax, esi);
      a.call(serial_puts);
      say(a, a.cstr("='"));
      a.mov(eax, ebx);
      a.call(serial_put_escaped);
      say(a, a.cstr("' is not a decimal number; ignored\r\n"));
      a.stc();
      r.ret('CF = 1');
    });

    a.label(user_arg); a.dataC(4, [1], 'seed=: the start argument user programs get in EAX (default 1)');
    emitNameTable(a, cmdline_keys, CMDLINE_KEYS.map((k) => ({ name: k.key, value: L(k.handler) })), 'key -> handler');
  },
});
