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
import { type ShellCommand, commandStart } from '../shell/command.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); the handlers go into the shell's table.
export const cmd_idt = sym('cmd_idt');
export const cmd_int = sym('cmd_int');
const int_stubs = sym('int_stubs');
const shell_idtr = sym('shell_idtr');
const sh_msg_fired = sym('sh_msg_fired');
const sh_msg_handler = sym('sh_msg_handler');
const sh_msg_idt_rest = sym('sh_msg_idt_rest');
const sh_msg_idtr = sym('sh_msg_idtr');
const sh_msg_int_bad = sym('sh_msg_int_bad');
const sh_msg_int_exception = sym('sh_msg_int_exception');
const sh_msg_int_exception_end = sym('sh_msg_int_exception_end');
const sh_msg_int_irq = sym('sh_msg_int_irq');
const sh_msg_int_irq_end = sym('sh_msg_int_irq_end');
const sh_msg_limit = sym('sh_msg_limit');
const sh_msg_raising = sym('sh_msg_raising');
const sh_msg_returned = sym('sh_msg_returned');
const sh_msg_times = sym('sh_msg_times');
const sh_msg_vector = sym('sh_msg_vector');

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

    commandStart(a, IDT);
    a.push(ebx);
    a.sidt(mem(shell_idtr), 'store IDTR: 2-byte limit, 4-byte base');
    say(a, sh_msg_idtr); putHex32(a, dword(shell_idtr.add(2)));
    say(a, sh_msg_limit); a.movzx(eax, word(shell_idtr)); a.call(serial_put_hex32);
    a.call(serial_newline);
    a.xor(ebx, ebx, 'EBX = vector');
    a.label('.vector');
    a.cmp(dword({ index: ebx, scale: 4, disp: trap_handlers }), 0);
    a.je(L('.next'));
    say(a, sh_msg_vector); putDec(a, ebx);
    say(a, sh_msg_handler); putHex32(a, dword({ index: ebx, scale: 4, disp: trap_handlers }));
    say(a, sh_msg_fired); putDec(a, dword({ index: ebx, scale: 4, disp: trap_counts }));
    say(a, sh_msg_times);
    a.label('.next');
    a.inc(ebx);
    a.cmp(ebx, 256);
    a.jb(L('.vector'));
    say(a, sh_msg_idt_rest);
    a.pop(ebx);
    a.ret();

    commandStart(a, INT);
    a.push(ebx);
    a.mov(edx, 255, 'the largest vector');
    a.mov(ecx, sh_msg_int_bad);
    a.call(arg_uint, 'EAX = n, or EDX = -1 after saying what was wrong');
    a.test(edx, edx);
    a.jnz(L('.out'));
    a.cmp(eax, VEC_BP);
    a.je(L('.raise'), '#BP is the one exception that returns');
    a.cmp(eax, NUM_EXCEPTIONS);
    a.jb(L('.exception'));
    a.cmp(eax, PIC1_VECTOR.add(NUM_IRQS));
    a.jb(L('.irq'), 'vectors 32-47 belong to the 8259A lines');
    a.label('.raise');
    a.mov(ebx, eax);
    say(a, sh_msg_raising); putDec(a, ebx); a.call(serial_newline);
    a.lea(eax, mem({ index: ebx, scale: 4, disp: int_stubs }), 'int_stubs + n * INT_STUB_SIZE');
    a.call(eax, 'executes int n; ret');
    say(a, sh_msg_returned); putDec(a, ebx); a.call(serial_newline);
    a.pop(ebx);
    a.ret();
    a.label('.exception');
    a.mov(ebx, eax);
    say(a, sh_msg_int_exception); putDec(a, ebx);
    say(a, sh_msg_int_exception_end);
    a.pop(ebx);
    a.ret();
    a.label('.irq');
    a.mov(ebx, eax);
    say(a, sh_msg_int_exception); putDec(a, ebx);
    say(a, sh_msg_int_irq); a.lea(eax, mem(ebx, PIC1_VECTOR.neg())); a.call(serial_put_dec);
    say(a, sh_msg_int_irq_end);
    a.pop(ebx);
    a.ret();
    a.label('.out');
    a.pop(ebx);
    a.ret();

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

    a.section('strings');
    a.label(sh_msg_idtr); a.db('[idt] IDTR base=0x', 0);
    a.label(sh_msg_limit); a.db(' limit=0x', 0);
    a.label(sh_msg_vector); a.db('[idt] vector ', 0);
    a.label(sh_msg_handler); a.db(' handler=0x', 0);
    a.label(sh_msg_fired); a.db(' fired ', 0);
    a.label(sh_msg_times); a.db(' times\r\n', 0);
    a.label(sh_msg_idt_rest); a.db('[idt] other vectors: 0-31 dump and panic, 32-47 report an unexpected IRQ, the rest are reported and ignored\r\n', 0);
    a.label(sh_msg_raising); a.db('[shell] int: raising vector ', 0);
    a.label(sh_msg_returned); a.db('[shell] int: returned from vector ', 0);
    a.label(sh_msg_int_exception); a.db('[shell] int: refusing vector ', 0);
    a.label(sh_msg_int_exception_end); a.db(' (CPU exception; only 3 and 48-255 may be raised)\r\n', 0);
    a.label(sh_msg_int_irq); a.db(' (hardware interrupt IRQ', 0);
    a.label(sh_msg_int_irq_end); a.db(' of the 8259A: a software int would fake it, e.g. count a timer tick that never happened; only 3 and 48-255 may be raised)\r\n', 0);
    a.label(sh_msg_int_bad); a.db("[shell] int: expected a vector number 0-255, got '", 0);
  },
});
