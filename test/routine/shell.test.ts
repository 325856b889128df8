// The shell's routines (kernel/shell/) run without a boot, under qemu-i386
// (test/harness/routine.ts), against a stand-in console: arg_uint, the
// line editor shell_readline and the dispatcher shell_execute, each checked
// for what it prints and returns and for its a.routine contract (every
// register outside `out` and `clobbers` comes back unchanged).
//
// The stand-in console (module fake_console below) defines the labels the
// shell calls for its input and output - uart_getc, serial_putc,
// serial_puts, serial_newline - so the routines run unchanged: output is
// appended to con_out, input comes from con_in.  The stand-ins destroy EAX,
// ECX and EDX on every call, as the kernel's convention allows
// (toolchain/x86/routine.ts), so a routine that kept a value there across a
// call would fail here.
import { describe, expect, it } from 'vitest';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { L, al, byte, cl, dword, eax, ecx, edx } from '../../toolchain/x86/operands.ts';
import { string } from '../../kernel/lib/string.ts';
import { shellArgs } from '../../kernel/shell/args.ts';
import { LINE_MAX, readline } from '../../kernel/shell/readline.ts';
import { COMMANDS, helpLine, shell } from '../../kernel/shell/shell.ts';
import { RX_LOST } from '../../kernel/dev/uart_rx.ts';
import { type RoutineResult, cstr, runRoutine, runRoutines } from '../harness/routine.ts';

const OUT_SIZE = 2048;
const IN_WORDS = 256;
const JUNK = 0x5eeeeee5;

const fakeConsole = defineModule({
  name: 'fake_console',
  title: 'A console for the routine tests: output to memory, input from memory',
  about: 'uart_getc reads dwords from con_in; serial_putc, serial_puts and serial_newline append to con_out.',
  emit(a) {
    a.bss('con_out', OUT_SIZE, 4, 'everything printed');
    a.bss('con_len', 4, 4, 'bytes in con_out');
    a.bss('con_in', IN_WORDS * 4, 4, 'what uart_getc returns, one dword per call');
    a.bss('con_in_count', 4, 4, 'dwords in con_in');
    a.bss('con_in_pos', 4, 4, 'dwords already returned');
    const junk = () => { a.mov(ecx, JUNK); a.mov(edx, JUNK); };
    a.routine({ name: 'serial_putc', does: 'append AL to con_out', in: { al: 'the byte' }, clobbers: [eax, ecx, edx] }, (r) => {
      a.mov(edx, dword(L('con_len')));
      a.mov(byte({ base: edx, disp: L('con_out') }), al);
      a.inc(edx);
      a.mov(dword(L('con_len')), edx);
      a.mov(eax, JUNK);
      junk();
      r.ret();
    });
    a.routine({ name: 'serial_puts', does: 'append the string at EAX to con_out', in: { eax: 'the string' }, clobbers: [eax, ecx, edx] }, (r) => {
      a.mov(edx, dword(L('con_len')));
      a.while_(() => { a.mov(cl, byte(eax)); a.test(cl, cl); return 'nz'; }, () => {
        a.mov(byte({ base: edx, disp: L('con_out') }), cl);
        a.inc(edx);
        a.inc(eax);
      });
      a.mov(dword(L('con_len')), edx);
      a.mov(eax, JUNK);
      junk();
      r.ret();
    });
    a.routine({ name: 'serial_newline', does: 'append CR LF to con_out', clobbers: [eax, ecx, edx] }, () => {
      a.mov(eax, a.cstr('\r\n'));
      a.jmp(L('serial_puts'));
    });
    a.routine({ name: 'uart_getc', does: 'the next dword of con_in (ud2 when there is none: the test gave too little input)', out: { eax: 'the dword' }, clobbers: [ecx, edx] }, (r) => {
      a.mov(ecx, dword(L('con_in_pos')));
      a.cmp(ecx, dword(L('con_in_count')));
      a.if_('ae', () => a.ud2('no input left'));
      a.mov(eax, dword({ index: ecx, scale: 4, disp: L('con_in') }));
      a.inc(ecx);
      a.mov(dword(L('con_in_pos')), ecx);
      junk();
      r.ret();
    });
  },
});

const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const latin1 = (bytes: Uint8Array, length = bytes.length) => String.fromCharCode(...bytes.subarray(0, length));
/** Presets for one case: nothing printed yet, and `input` (bytes, or RX_LOST) for uart_getc. */
function console(input: readonly number[] = []) {
  const memory = [{ at: L('con_len'), bytes: u32(0) }, { at: L('con_in_pos'), bytes: u32(0) }, { at: L('con_in_count'), bytes: u32(input.length) }];
  if (input.length) memory.push({ at: L('con_in'), bytes: input.flatMap(u32) });
  return memory;
}
const READ_OUT = [{ at: L('con_len'), length: 4 }, { at: L('con_out'), length: OUT_SIZE }];
/** What the routine printed (the first two reads of a case are READ_OUT). */
const printed = (r: RoutineResult) => latin1(r.memory[1]!, new DataView(r.memory[0]!.buffer, r.memory[0]!.byteOffset).getUint32(0, true));
/** The registers that changed besides the ones the contract gives away. */
const outside = (r: RoutineResult, allowed: readonly string[]) => r.changed.filter((x) => !allowed.includes(x));
const bytes = (s: string) => [...s].map((c) => c.charCodeAt(0));
const LOST = (RX_LOST.c.value as number) >>> 0;

describe('arg_uint (kernel/shell/args.ts): EAX = argument, EDX = largest value, ECX = message', () => {
  const MSG = "[shell] test: expected a number, got '";
  const cases: [string, number, number | 'bad'][] = [
    ['0', 255, 0], ['42', 255, 42], ['255', 255, 255], ['007', 7, 7], ['4294967295', 0xffffffff, 0xffffffff],
    ['256', 255, 'bad'], ['8', 7, 'bad'], ['', 255, 'bad'], ['12a', 255, 'bad'], ['-1', 255, 'bad'], ['4294967296', 0xffffffff, 'bad'], ['1 2', 255, 'bad'],
  ];
  it('returns the value with EDX = 0, or prints the message, the argument and "\x27" CR LF and returns EDX = -1', async () => {
    const rs = await runRoutines({
      modules: [string, shellArgs, fakeConsole], routine: 'arg_uint',
      cases: cases.map(([s, max]) => ({
        name: `${JSON.stringify(s)} (max ${max})`, args: { eax: cstr(s), edx: max, ecx: cstr(MSG) }, memory: console(), read: READ_OUT,
      })),
    });
    rs.forEach((r, i) => {
      const [s, , want] = cases[i]!;
      if (want === 'bad') expect({ s, edx: r.regs.edx, out: printed(r) }).toEqual({ s, edx: 0xffffffff, out: `${MSG}${s}'\r\n` });
      else expect({ s, eax: r.regs.eax, edx: r.regs.edx, out: printed(r) }).toEqual({ s, eax: want, edx: 0, out: '' });
      expect(outside(r, ['eax', 'ecx', 'edx']), s).toEqual([]);
    });
  });
});

describe('arg_split (kernel/shell/args.ts): EAX = string -> EAX = first word, EDX = the rest', () => {
  const cases: [string, string, string][] = [
    ['read 8 2', 'read', '8 2'], ['  vdb   read  0 ', 'vdb', 'read  0 '], ['word', 'word', ''], ['word   ', 'word', ''],
    ['', '', ''], ['    ', '', ''], ['a b', 'a', 'b'],
  ];
  it('ends the word with a NUL in place and skips the spaces on both sides of it', async () => {
    const rs = await runRoutines({
      modules: [string, shellArgs, fakeConsole], routine: 'arg_split',
      cases: cases.map(([s]) => ({ name: JSON.stringify(s), args: { eax: L('con_out') }, memory: [{ at: L('con_out'), bytes: [...bytes(s), 0] }], read: [{ at: L('con_out'), length: s.length + 1 }] })),
    });
    rs.forEach((r, i) => {
      const [s, word, rest] = cases[i]!;
      const buf = Buffer.from(r.memory[0]!);
      const base = r.input.eax;
      const cstrAt = (addr: number) => { const o = addr - base; return buf.subarray(o, buf.indexOf(0, o)).toString('latin1'); };
      expect({ s, word: cstrAt(r.regs.eax), rest: cstrAt(r.regs.edx) }).toEqual({ s, word, rest });
      expect(r.changed.filter((x) => !['eax', 'edx'].includes(x)), s).toEqual([]);
    });
  });
});

describe('shell_readline (kernel/shell/readline.ts): one edited line from uart_getc into line_buf', () => {
  const BS = '\x08', DEL = '\x7f', ESC = '\x1b';
  /** One call each, in one run: the editor's state (a CR just ended a line) carries over from case to case. */
  const cases: { name: string; input: (string | 'lost')[]; eax: number; line: string; echo: string }[] = [
    { name: 'a word', input: ['hello\r'], eax: 5, line: 'hello', echo: 'hello\r\n' },
    { name: 'the LF of CR LF ends nothing', input: ['\nrun\n'], eax: 3, line: 'run', echo: 'run\r\n' },
    { name: 'an LF after an LF ends an empty line', input: ['\n'], eax: 0, line: '', echo: '\r\n' },
    { name: 'backspace and DEL erase, on the screen too', input: [`ab${DEL}c${BS}${BS}xy\r`], eax: 2, line: 'xy', echo: `ab\b \bc\b \b\b \bxy\r\n` },
    { name: 'backspace on an empty line erases nothing', input: [`${BS}${DEL}z\r`], eax: 1, line: 'z', echo: 'z\r\n' },
    { name: 'control bytes and bytes above 7Eh are ignored', input: ['\x01a\x80\xffb\t~\r'], eax: 3, line: 'ab~', echo: 'ab~\r\n' },
    { name: 'arrow keys (CSI), Ctrl-arrows (CSI with parameters) and F1 (SS3) are skipped whole', input: [`${ESC}[A${ESC}[1;5C${ESC}OPok${ESC}[B\r`], eax: 2, line: 'ok', echo: 'ok\r\n' },
    { name: 'ESC and another byte: Alt-x types x', input: [`${ESC}x\r`], eax: 1, line: 'x', echo: 'x\r\n' },
    { name: 'Enter inside an escape sequence still ends the line', input: [`q${ESC}[1\r`], eax: 1, line: 'q', echo: 'q\r\n' },
    { name: `LINE_MAX (${LINE_MAX.c.value}) characters fit`, input: ['x'.repeat(127) + '\r'], eax: 127, line: 'x'.repeat(127), echo: 'x'.repeat(127) + '\r\n' },
    { name: 'one more is too long: -1, and the rest of the line is read but not kept', input: ['y'.repeat(130) + '\r'], eax: 0xffffffff, line: 'y'.repeat(127), echo: 'y'.repeat(127) + '\r\n' },
    { name: 'a line in which the UART lost bytes: RX_LOST', input: ['ab', 'lost', 'c\r'], eax: LOST, line: 'abc', echo: 'abc\r\n' },
    { name: 'lost input wins over too long', input: ['z'.repeat(128), 'lost', '\r'], eax: LOST, line: 'z'.repeat(127), echo: 'z'.repeat(127) + '\r\n' },
    { name: 'the next line starts fresh', input: ['ps\r'], eax: 2, line: 'ps', echo: 'ps\r\n' },
  ];
  it('keeps printable ASCII, edits, skips escape sequences, reports long and damaged lines', async () => {
    const rs = await runRoutines({
      modules: [readline, fakeConsole], routine: 'shell_readline',
      cases: cases.map((c) => ({
        name: c.name,
        memory: console(c.input.flatMap((x) => (x === 'lost' ? [LOST] : bytes(x)))),
        read: [...READ_OUT, { at: L('line_buf'), length: (LINE_MAX.c.value as number) + 1 }],
      })),
    });
    rs.forEach((r, i) => {
      const c = cases[i]!;
      const buf = r.memory[2]!;
      expect({ case: c.name, eax: r.regs.eax, line: latin1(buf, buf.indexOf(0)), echo: printed(r) })
        .toEqual({ case: c.name, eax: c.eax, line: c.line, echo: c.echo });
      expect(outside(r, ['eax', 'ecx', 'edx']), c.name).toEqual([]);
    });
  });
});

describe('shell_execute (kernel/shell/shell.ts): split line_buf into a word and its argument, run the command', () => {
  const line = (s: string) => [{ at: L('line_buf'), bytes: [...bytes(s), 0] }];
  const help = COMMANDS.map((c) => `[shell] ${helpLine(c)}\r\n`).join('');
  const cases: [string, string][] = [
    ['echo hello world', '[echo] hello world\r\n'],
    ['   echo    spaced  out  ', '[echo] spaced  out  \r\n'],
    ['echo', '[echo] \r\n'],
    ['echo ', '[echo] \r\n'],
    ['nosuch arg', "[shell] unknown command 'nosuch' (try help)\r\n"],
    ['Echo x', "[shell] unknown command 'Echo' (try help)\r\n"],
    ['   ', ''],
    ['help', help],
    ['help me', help],
  ];
  it('runs the shell\'s own commands with the argument string, and names an unknown word', async () => {
    const rs = await runRoutines({
      modules: [string, readline, shell, shellArgs, fakeConsole], routine: 'shell_execute',
      cases: cases.map(([s]) => ({ name: JSON.stringify(s), memory: [...console(), ...line(s)], read: READ_OUT })),
    });
    rs.forEach((r, i) => {
      expect({ line: cases[i]![0], out: printed(r) }).toEqual({ line: cases[i]![0], out: cases[i]![1] });
      expect(outside(r, ['eax', 'ecx', 'edx']), cases[i]![0]).toEqual([]);
    });
  });
  it('dispatches a subsystem\'s command to that subsystem\'s handler (not linked here: the run stops at its label)', async () => {
    for (const [s, handler] of [['ticks', 'cmd_ticks'], ['  kill 3', 'cmd_kill'], ['run hello &', 'cmd_run']] as const) {
      await expect(runRoutine({ modules: [string, readline, shell, shellArgs, fakeConsole], routine: 'shell_execute', memory: [...console(), ...line(s)], keepFailed: false }))
        .rejects.toThrow(new RegExp(`reached '${handler}'`));
    }
  });
});
