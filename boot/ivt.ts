// The real-mode interrupt vector table (IVT): the 8086 model of interrupts.
import { defineModule } from '../toolchain/x86/asm.ts';
import { ax, cs, eax, esi, word, constant, chr } from '../toolchain/x86/operands.ts';
import { si } from '../toolchain/x86/operands.ts';
import { newline, put_hex16, putc, puts } from './serial16.ts';
import { sym } from '../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const ivt_demo = sym('ivt_demo');
const ivt_demo_handler = sym('ivt_demo_handler');

export const IVT_DEMO_VECTOR = constant('IVT_DEMO_VECTOR', 0x60, 'vector 60h: one of 60h-67h, which the PC BIOS leaves to user programs');
export const IVT_ENTRY_SIZE = constant('IVT_ENTRY_SIZE', 4, 'each IVT entry is a far pointer: 16-bit offset, then 16-bit segment', { radix: 10 });

export const ivt = defineModule({
  name: 'ivt',
  title: 'The real-mode interrupt vector table (IVT)',
  about: `
In real mode the CPU finds interrupt handlers in the IVT: 256 entries of 4
bytes at physical address 0 (IDTR.base = 0, limit = 0x3FF after reset).  Entry
n holds a far pointer - offset at 4n, segment at 4n+2.  On "int n" (or an
external interrupt routed to vector n) the CPU pushes FLAGS, CS and IP, clears
IF and TF, loads CS:IP from entry n, and the handler returns with "iret",
which pops them again.

ivt_demo installs our own handler for vector IVT_DEMO_VECTOR, raises it with
"int", and prints the vector entry it wrote.  Protected mode replaces the IVT
with the IDT (8-byte gates with a selector and privilege checks); the kernel
builds one in kernel/idt.asm.`,
  spec: [
    'Intel SDM Vol. 3A §20.1.4 "Interrupt and Exception Handling" (real-address mode)',
    'Intel SDM Vol. 2A, INT n: real-address-mode operation',
  ],
  emit(a) {
    const entry = IVT_DEMO_VECTOR.mul(IVT_ENTRY_SIZE);
    a.routine({
      name: ivt_demo, does: 'installs a handler for vector IVT_DEMO_VECTOR, prints its entry and raises it',
      clobbers: [eax, esi],
    }, (r) => {
      a.cli('an interrupt must not use the entry while it is half-written');
      a.mov(word(entry), ivt_demo_handler, 'entry offset  (IVT address 4n)');
      a.mov(word(entry.add(2)), cs, 'entry segment (IVT address 4n+2): ours, 0');
      a.sti();
      a.mov(si, a.cstr('[ivt] int 0x60 handler installed: vector 0x60 -> '));
      a.call(puts);
      a.mov(ax, word(entry.add(2)), 'read the entry back from memory: segment ...');
      a.call(put_hex16);
      a.mov(ax, chr(':'));
      a.call(putc);
      a.mov(ax, word(entry), '... and offset');
      a.call(put_hex16);
      a.call(newline);
      a.int(IVT_DEMO_VECTOR, 'the CPU pushes FLAGS, CS, IP and jumps through the entry');
      a.mov(si, a.cstr('[ivt] iret returned to stage 2\r\n'));
      a.call(puts);
      r.ret();
    });

    a.label(ivt_demo_handler, 'runs with IF = 0, FLAGS/CS/IP on the stack');
    a.push(si);
    a.mov(si, a.cstr('[ivt] int 0x60 handler running (real mode, via the IVT)\r\n'));
    a.call(puts);
    a.pop(si);
    a.iret('pop IP, CS, FLAGS: back after the int instruction');

  },
});
