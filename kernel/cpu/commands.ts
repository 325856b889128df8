// Shell commands for the CPU's interrupt machinery: the IDT as the CPU holds
// it, and raising a vector by hand.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ebx, ecx, edx, L, dword, word, mem, constant } from '../../toolchain/x86/operands.ts';
import { NUM_EXCEPTIONS, VEC_BP } from './exceptions.ts';
import { trap_counts, trap_handlers } from './trap.ts';
import { NUM_IRQS, PIC1_VECTOR } from '../dev/pic.ts';
import { putDec, putHex32, say } from '../lib/print.ts';
import { serial_newline, serial_put_dec, serial_put_hex32 } from '../dev/serial.ts';
import { arg_uint } from '../shell/args.ts';
import { type ShellCommand, commandRoutine } from '../shell/command.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); the handlers go into the shell's table.
export const cmd_idt = sym('cmd_idt');
export const cmd_int = sym('cmd_int');
const int_stubs = sym('int_stubs');
const shell_idtr = sym('shell_idtr');

export const INT_STUB_SIZE = constant('INT_STUB_SIZE', 4, 'each entry of int_stubs: int n (2 bytes), ret, padding');

const IDT: ShellCommand = { name: 'idt', usage: 'idt', doc: 'IDTR as the CPU holds it, and each vector with a handler', handler: cmd_idt };
const INT: ShellCommand = { name: 'int', usage: 'int <n>', doc: 'raise software interrupt n (3, or 48-255)', handler: cmd_int };
/** The commands this module adds to the shell (shell.asm lists them in help). */
export const cpuCommands: readonly ShellCommand[] = [IDT, INT];

export const cpuCmds = defineModule({
  name: 'cpu_cmds',
  title: 'Shell commands for interrupts: idt, int',
  about: `
  idt    IDTR as the CPU holds it (sidt: the base and limit lidt loaded in
         idt.asm), then every vector that has a handler in trap_handlers
         (trap.asm), with the handler's address and how often the vector
         fired.  Watching the counts move (the timer's vector grows every
         tick, int 0x80 with every system call) shows the dispatch at work.
  int n  raises vector n from ring 0 with the int instruction, then says it
         returned: the whole path of isr.asm and trap.asm on demand.

"int n" calls int_stubs + 4n, a generated table of "int n; ret" - int takes
its vector as an immediate, so each vector needs its own instruction.  It
refuses CPU exception vectors other than #BP: those without a handler would
panic, and those with an error code would leave the stack one word short.
It refuses the IRQ vectors 32-47 too: their handlers believe the 8259A
sent them - "int 32" would count a timer tick that never happened (and
charge it to a process), and every IRQ handler ends with an EOI to the PIC
for an interrupt that is not in service.  The vector is parsed by arg_uint
(shell_args.asm), which also reports a word that is not a number 0-255.`,
  spec: ['Intel SDM Vol. 3A §6.10 Interrupt Descriptor Table (IDT): IDTR, sidt', 'Intel SDM Vol. 2B: INT n - the vector is an immediate byte'],
  emit(a) {
    a.bss(shell_idtr, 8, 4, 'sidt stores IDTR here');

    commandRoutine(a, IDT, { saves: [ebx] }, (r) => {
      a.sidt(mem(shell_idtr), 'store IDTR: 2-byte limit, 4-byte base');
      say(a, a.cstr('[idt] IDTR base=0x')); putHex32(a, dword(shell_idtr.add(2)));
      say(a, a.cstr(' limit=0x')); a.movzx(eax, word(shell_idtr)); a.call(serial_put_hex32);
      a.call(serial_newline);
      a.xor(ebx, ebx, 'EBX = vector');
      a.doWhile(() => {
        a.cmp(dword({ index: ebx, scale: 4, disp: trap_handlers }), 0);
        a.if_('ne', () => {
          say(a, a.cstr('[idt] vector ')); putDec(a, ebx);
          say(a, a.cstr(' handler=0x')); putHex32(a, dword({ index: ebx, scale: 4, disp: trap_handlers }));
          say(a, a.cstr(' fired ')); putDec(a, dword({ index: ebx, scale: 4, disp: trap_counts }));
          say(a, a.cstr(' times\r\n'));
        }, undefined, 'no handler: nothing to show');
        a.inc(ebx);
      }, () => { a.cmp(ebx, 256); return 'b'; }, 'every vector 0-255');
      say(a, a.cstr('[idt] other vectors: 0-31 dump and panic, 32-47 report an unexpected IRQ, the rest are reported and ignored\r\n'));
      r.ret();
    });

    commandRoutine(a, INT, { saves: [ebx] }, (r) => {
      a.mov(edx, 255, 'the largest vector');
      a.mov(ecx, a.cstr("[shell] int: expected a vector number 0-255, got '"));
      a.call(arg_uint, 'EAX = n, or EDX = -1 after saying what was wrong');
      a.test(edx, edx);
      r.retIf('nz');
      a.cmp(eax, VEC_BP);
      a.je(L('.raise'), '#BP is the one exception that returns');
      a.cmp(eax, PIC1_VECTOR.add(NUM_IRQS));
      a.if_('b', () => {
        a.mov(ebx, eax);
        say(a, a.cstr('[shell] int: refusing vector ')); putDec(a, ebx);
        a.cmp(ebx, NUM_EXCEPTIONS);
        a.if_('b', () => {
          say(a, a.cstr(' (CPU exception; only 3 and 48-255 may be raised)\r\n'));
        }, () => {
          say(a, a.cstr(' (hardware interrupt IRQ')); a.lea(eax, mem(ebx, PIC1_VECTOR.neg())); a.call(serial_put_dec);
          say(a, a.cstr(' of the 8259A: a software int would fake it, e.g. count a timer tick that never happened; only 3 and 48-255 may be raised)\r\n'));
        }, 'vectors 32-47: the 8259A\'s lines');
        r.ret();
      }, undefined, 'vectors 48-255 may be raised');
      a.label('.raise');
      a.mov(ebx, eax);
      say(a, a.cstr('[shell] int: raising vector ')); putDec(a, ebx); a.call(serial_newline);
      a.lea(eax, mem({ index: ebx, scale: 4, disp: int_stubs }), 'int_stubs + n * INT_STUB_SIZE');
      a.call(eax, 'executes int n; ret');
      say(a, a.cstr('[shell] int: returned from vector ')); putDec(a, ebx); a.call(serial_newline);
      r.ret();
    });

    a.section('int_stubs: "int n; ret" for every vector n (shell command int)');
    a.label(int_stubs);
    a.rep({
      count: 256, var: 'n',
      rule: 'int_stubs + n * INT_STUB_SIZE: "int n; ret; nop" for every vector n = 0 .. 255 (int takes its vector as an immediate only)',
      nasm: ['    int n', '    ret', '    nop                                         ; pad to INT_STUB_SIZE bytes'],
    }, (r, v) => {
      r.int(v);
      r.ret();
      r.nop('pad to INT_STUB_SIZE bytes');
    });
  },
});
