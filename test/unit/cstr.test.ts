// String literals (asm.ts a.cstr): one NUL-terminated copy per text in a
// "strings" block at the end of the module (or where a.strings() puts it),
// with readable global labels; real NASM assembling the text to the same
// bytes in 16- and 32-bit code and in a module linked into two components;
// and the texts and names it refuses.
import { describe, expect, it } from 'vitest';
import { Asm, collect, defineModule } from '../../toolchain/x86/asm.ts';
import { HERE, START, eax, dword, si, L } from '../../toolchain/x86/operands.ts';
import { code, mod, nasmRoundTrip, text } from './fixtures/edsl-text.ts';

describe('the strings block', () => {
  it('one label per text, after the module\'s code, under a banner', () => {
    const m = mod((a) => {
      a.label('greet');
      a.mov(eax, a.cstr('Hello, world!\r\n'));
      a.mov(eax, a.cstr('usage: run <name>', 'usage'));
      a.mov(eax, a.cstr('Hello, world!\r\n'), 'the same text: the same label');
      a.ret();
    }, 'shell');
    expect(text(m)).toEqual([
      'greet:',
      '    mov eax, shell_str_hello_world',
      '    mov eax, shell_usage',
      expect.stringMatching(/^ {4}mov eax, shell_str_hello_world +; the same text: the same label$/),
      '    ret',
      '; ---- strings -----------------------------------------------------------',
      'shell_str_hello_world:',
      '    db `Hello, world!\\r\\n`, 0',
      'shell_usage:',
      '    db "usage: run <name>", 0',
    ]);
  });
  it('labels: the first words, a number on a collision, the module\'s name made an identifier', () => {
    const labels: string[] = [];
    const m = mod((a) => {
      a.label('f');
      for (const s of ['[proc] pid %d killed', '[proc]  PID  %d  Killed!', 'a very long message that goes on and on', '\r\n', '', '42 is the answer', 'tab\there "quoted"'])
        labels.push((a.cstr(s).tree as { name: string }).name);
      a.ret();
    }, 'net-udp');
    collect(m, 32);
    expect(labels).toEqual([
      'net_udp_str_proc_pid_d_killed', 'net_udp_str_proc_pid_d_killed_2', 'net_udp_str_a_very_long_message_that',
      'net_udp_str', 'net_udp_str_2', 'net_udp_str_42_is_the_answer', 'net_udp_str_tab_here_quoted',
    ]);
    expect(code(m).slice(-4)).toEqual(['net_udp_str_42_is_the_answer:', 'db "42 is the answer", 0', 'net_udp_str_tab_here_quoted:', 'db `tab\\there "quoted"`, 0']);
    expect(code(m)).toContain('db 0');
  });
  it('a literal made inside a rep block goes to the module\'s block', () => {
    const m = mod((a) => {
      a.label('f');
      a.rep({ count: 2, var: 'i', rule: 'two loads', nasm: ['    mov eax, m_rep_str_x'] }, (b) => b.mov(eax, b.cstr('x')));
      a.ret();
    }, 'm_rep');
    expect(code(m).slice(-2)).toEqual(['m_rep_str_x:', 'db "x", 0']);
    const { ours, nasm } = nasmRoundTrip([m]);
    expect(nasm).toBe(ours);
  });
});

describe('NASM assembles it to the same bytes', () => {
  it('32-bit, two modules with strings', () => {
    const one = mod((a) => { a.label('one'); a.mov(eax, a.cstr('one\n')); a.mov(eax, a.cstr('two')); a.ret(); }, 'first');
    const two = mod((a) => { a.label('two'); a.mov(eax, a.cstr('one\n')); a.push(a.cstr('"quoted" \'single\'')); a.ret(); }, 'second');
    const { ours, nasm, asm } = nasmRoundTrip([one, two]);
    expect(nasm).toBe(ours);
    expect([...asm.symbols.keys()].filter((k) => k.includes('_str_'))).toEqual(['first_str_one', 'first_str_two', 'second_str_one', 'second_str_quoted_single']);
  });
  it('16-bit, with the block placed before a boot sector\'s padding and signature', () => {
    const boot = mod((a) => {
      a.label('start');
      a.mov(si, a.cstr('Booting...\r\n'));
      a.jmp(L('start'));
      a.strings();
      a.label('pad');
      a.times(START.add(510).sub(HERE), 1, 0, 'pad to 510 bytes');
      a.dw(0xaa55);
    }, 'bootsect');
    const { ours, nasm } = nasmRoundTrip([boot], 16, 0x7c00);
    expect(nasm).toBe(ours);
    expect(ours.length / 2).toBe(512);
    expect(Buffer.from(ours, 'hex').toString('latin1')).toContain('Booting...\r\n\0');
  });
  it('a module linked into two components (like ulib into each program) assembles in both', () => {
    const lib = mod((a) => { a.label('lib_msg'); a.mov(eax, a.cstr('from the library')); a.ret(); }, 'lib');
    const progA = mod((a) => { a.label('main_a'); a.mov(eax, dword(L('lib_str_from_the_library'))); a.ret(); }, 'prog_a');
    const progB = mod((a) => { a.label('main_b'); a.call(L('lib_msg')); a.ret(); }, 'prog_b');
    for (const [mods, origin] of [[[progA, lib], 0x400000], [[progB, lib], 0x800000]] as const) {
      const { ours, nasm } = nasmRoundTrip([...mods], 32, origin);
      expect(nasm).toBe(ours);
    }
  });
});

describe('texts and names it refuses', () => {
  const fails = (emit: (a: Asm) => void) => () => collect(mod((a) => { a.label('f'); emit(a); a.ret(); }), 32);
  it('a NUL inside the text, a character beyond one byte', () => {
    expect(fails((a) => a.cstr('a\0b'))).toThrow(/a\.cstr\("a\\u0000b"\) at test\/unit\/cstr\.test\.ts:\d+: character 1 is NUL/);
    expect(fails((a) => a.cstr('π'))).toThrow(/character 0 \(U\+3C0\) is not one byte/);
  });
  it('a name that is not an identifier, or names two texts, or a text named twice', () => {
    expect(fails((a) => a.cstr('x', 'my-name'))).toThrow(/name 'my-name' is not a NASM identifier/);
    expect(fails((a) => { a.cstr('x', 'msg'); a.cstr('y', 'msg'); })).toThrow(/'t\d+_msg' already names another text/);
    expect(fails((a) => { a.cstr('x'); a.cstr('x', 'msg'); })).toThrow(/this text already has the label 't\d+_str_x'/);
    expect(() => fails((a) => { a.cstr('x', 'msg'); a.cstr('x', 'msg'); a.cstr('x'); })()).not.toThrow();
  });
  it('a.strings() twice, or followed by a local label', () => {
    expect(fails((a) => { a.strings(); a.strings(); })).toThrow(/a\.strings\(\) at .*: the strings block is already placed/);
    expect(() => collect(mod((a) => { a.label('f'); a.mov(eax, a.cstr('x')); a.strings(); a.label('.next'); a.ret(); }), 32))
      .toThrow(/the local label '\.next' \(test\/unit\/cstr\.test\.ts:\d+\) follows the strings block/);
  });
  it('an Asm made without a module name', () => {
    expect(() => new Asm(32, 'x.ts').cstr('x')).toThrow(/a\.cstr at .*: this Asm has no module name/);
  });
  it('modules defined in this file work as well (defineModule directly)', () => {
    const m = defineModule({ name: 'direct', title: 't', about: 'a', emit: (a) => { a.label('d'); a.mov(eax, a.cstr('d')); a.ret(); } });
    expect(code(m).slice(-2)).toEqual(['direct_str_d:', 'db "d", 0']);
  });
});
