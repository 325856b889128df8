// syscalls: every system call, with valid and invalid arguments.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { type Expr, eax, ebx, ecx, edx, L, byte, dword, dec } from '../../toolchain/x86/operands.ts';
import { NSYSCALLS, SYS, USER_STACK_TOP, VEC_SYSCALL } from '../proc/abi.ts';
import { ASCII_LF } from '../lib/ascii.ts';
import { u_exit, u_newline, u_put_dec, u_put_int, u_puts, u_uptime, u_write } from './ulib.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const _start = sym('_start');
const sc_buf = sym('sc_buf');
const sc_msg1 = sym('sc_msg1');
const sc_msg2 = sym('sc_msg2');
const sc_result = sym('sc_result');
const sc_t0 = sym('sc_t0');

interface Case {
  /** How the call is shown: "[syscalls] <text> = <result>". */
  readonly text: string;
  readonly nr: Expr;
  readonly args: readonly Expr[];
}

const MSG1 = '[syscalls] hello from write(1)\n';
const MSG2 = '[syscalls] hello from write(2)\n';

/** The cases, in order. The expected results are documented in syscall.asm; the boot test checks them. */
export const CASES: readonly Case[] = [
  { text: `write(1, msg, ${MSG1.length})`, nr: SYS.write!, args: [1, sc_msg1, dec(MSG1.length)] },
  { text: `write(2, msg, ${MSG2.length})`, nr: SYS.write!, args: [2, sc_msg2, dec(MSG2.length)] },
  { text: 'write(1, msg, 0)', nr: SYS.write!, args: [1, sc_msg1, 0] },
  { text: 'write(1, 0x10000, 16)', nr: SYS.write!, args: [1, 0x10000, dec(16)] },
  { text: 'write(1, 0x500000, 16)', nr: SYS.write!, args: [1, 0x500000, dec(16)] },
  { text: 'write(1, 0x7FEFF8, 16)', nr: SYS.write!, args: [1, USER_STACK_TOP.sub(4096 + 8), dec(16)] },
  { text: 'write(1, 0xFFFFFFF0, 32)', nr: SYS.write!, args: [1, 0xfffffff0, dec(32)] },
  { text: 'write(1, msg, 4097)', nr: SYS.write!, args: [1, sc_msg1, dec(4097)] },
  { text: 'write(1, msg, -1)', nr: SYS.write!, args: [1, sc_msg1, 0xffffffff] },
  { text: 'write(0, msg, 1)', nr: SYS.write!, args: [0, sc_msg1, 1] },
  { text: 'write(7, msg, 1)', nr: SYS.write!, args: [7, sc_msg1, 1] },
  { text: 'read(1, buf, 16)', nr: SYS.read!, args: [1, sc_buf, dec(16)] },
  { text: 'read(0, 0x10000, 16)', nr: SYS.read!, args: [0, 0x10000, dec(16)] },
  { text: 'read(0, 0xB8000, 16)', nr: SYS.read!, args: [0, 0xb8000, dec(16)] },
  { text: 'read(0, 0x500000, 16)', nr: SYS.read!, args: [0, 0x500000, dec(16)] },
  { text: 'read(0, buf, 4097)', nr: SYS.read!, args: [0, sc_buf, dec(4097)] },
  { text: 'read(0, buf, 0)', nr: SYS.read!, args: [0, sc_buf, 0] },
  { text: 'getpid()', nr: SYS.getpid!, args: [] },
  { text: 'uptime()', nr: SYS.uptime!, args: [] },
  { text: 'sleep(60001)', nr: SYS.sleep!, args: [dec(60001)] },
  { text: 'sleep(-1)', nr: SYS.sleep!, args: [0xffffffff] },
  { text: 'sleep(0)', nr: SYS.sleep!, args: [0] },
  { text: 'yield()', nr: SYS.yield!, args: [] },
  { text: `syscall ${NSYSCALLS.c.value}()`, nr: NSYSCALLS, args: [] },
  { text: 'syscall 0x80000000()', nr: 0x80000000, args: [] },
  { text: 'syscall -1()', nr: 0xffffffff, args: [] },
];

const ARG_REGS = [ebx, ecx, edx] as const;

export const syscalls = defineModule({
  name: 'syscalls',
  title: 'syscalls: call every system call with valid and invalid arguments',
  about: `
Prints one line per call, "[syscalls] <call> = <result>", so that the
kernel's answers to bad arguments can be read (and checked by the boot
test): kernel addresses, unmapped addresses, a buffer that starts in the
hole below the stack, one that wraps around 4 GiB, over-long lengths, bad
file descriptors, unknown call numbers.  Then it sleeps 100 ms and shows
the ticks that passed, reads from the serial port with read(0) three times
(a line, 3 bytes of the next, the rest of it) and ends with exit(3).  In
the background ("run syscalls &") each read returns 0 at once: end of file,
the console belongs to the shell.

${CASES.map((c) => `  ${c.text}`).join('\n')}`,
  emit(a) {
    a.label(_start);
    CASES.forEach((c) => {
      a.section(c.text);
      c.args.forEach((v, j) => a.mov(ARG_REGS[j]!, v));
      a.mov(eax, c.nr);
      a.int(VEC_SYSCALL, c.text);
      a.push(eax, 'the result');
      a.mov(eax, a.cstr(`[syscalls] ${c.text} = `), 'then say what was called (after the call: write output comes first)');
      a.call(u_puts);
      a.pop(eax);
      a.call(u_put_int);
      a.call(u_newline);
    });

    a.section('sleep(100), timed with uptime()');
    a.call(u_uptime);
    a.mov(dword(sc_t0), eax);
    a.mov(ebx, dec(100), 'sleep(100): milliseconds');
    a.mov(eax, SYS.sleep!);
    a.int(VEC_SYSCALL);
    a.mov(dword(sc_result), eax);
    a.mov(eax, a.cstr('[syscalls] sleep(100) = '));
    a.call(u_puts);
    a.mov(eax, dword(sc_result));
    a.call(u_put_int);
    a.mov(eax, a.cstr(' after '));
    a.call(u_puts);
    a.call(u_uptime);
    a.sub(eax, dword(sc_t0));
    a.call(u_put_dec);
    a.mov(eax, a.cstr(' ticks\n'));
    a.call(u_puts);

    a.section('read(0, ...): lines typed on the serial console');
    a.mov(eax, a.cstr('[syscalls] read(0, buf, 64): type a line\n'));
    a.call(u_puts);
    for (const [i, [len, why]] of ([
      [64, 'a whole line: read returns at its newline'],
      [3, 'the next line is longer than 3: read returns 3 bytes ...'],
      [64, '... and the rest of that line is still there for the next read'],
    ] as const).entries()) {
      a.mov(ebx, 0);
      a.mov(ecx, sc_buf);
      a.mov(edx, dec(len), 'bytes to read');
      a.mov(eax, SYS.read!);
      a.int(VEC_SYSCALL, why);
      a.mov(dword(sc_result), eax);
      a.mov(eax, a.cstr(`[syscalls] read(0, buf, ${len}) = `));
      a.call(u_puts);
      a.mov(eax, dword(sc_result));
      a.call(u_put_int);
      a.mov(eax, a.cstr(': '));
      a.call(u_puts);
      a.mov(edx, dword(sc_result));
      a.mov(eax, sc_buf);
      a.call(u_write, 'echo what was read');
      const done = `.read_${len}_${i}_done`;
      a.mov(ecx, dword(sc_result));
      a.test(ecx, ecx);
      a.jle(L(`${done}_nl`), 'nothing read (end of file, or an error): end the line ourselves');
      a.cmp(byte({ base: ecx, disp: sc_buf.sub(1) }), ASCII_LF);
      a.je(L(done), 'the line read ended with its own newline');
      a.label(`${done}_nl`);
      a.call(u_newline, 'e.g. the 3 bytes of a longer line have no newline of their own');
      a.label(done);
    }

    a.mov(eax, a.cstr('[syscalls] done, exit(3)\n'));
    a.call(u_puts);
    a.mov(eax, 3);
    a.call(u_exit);

    a.section('data');
    a.label(sc_msg1); a.db(MSG1);
    a.label(sc_msg2); a.db(MSG2);
    a.label(sc_t0); a.dd(0);
    a.label(sc_result); a.dd(0);
    a.bss(sc_buf, 64, 4, 'read() buffer');
  },
});
