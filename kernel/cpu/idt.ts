// The interrupt descriptor table.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { ax, dl, eax, ecx, word, dword, mem, byte, constant } from '../../toolchain/x86/operands.ts';
import { SEL_KERNEL_CODE } from '../../boot/gdt.ts';
import { defineStruct, u16, u8 } from '../../toolchain/x86/struct.ts';
import { isr_table } from './isr.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const idt_init = sym('idt_init');
export const idt_set_gate = sym('idt_set_gate');
const idt_table = sym('idt_table');
const idtr = sym('idtr');

export const IDT_ENTRIES = constant('IDT_ENTRIES', 256, 'the IDT has one gate per vector, 0-255 (SDM 3A §6.10)', { radix: 10 });
/** One IDT entry (the picture in the module text below). */
export const GATE = defineStruct('gate', {
  offset_lo: u16('handler offset 15:0'),
  selector: u16('code segment selector of the handler'),
  zero: u8('reserved, 0'),
  type: u8('P (bit 7), DPL (bits 6:5), 0, type (bits 3:0): GATE_*'),
  offset_hi: u16('handler offset 31:16'),
}, { doc: 'interrupt/trap gate descriptor (SDM 3A §6.11, Figure 6-2)', size: 8 });
export const GATE_P = constant('GATE_P', 0x80, 'gate type byte bit 7: present');
export const GATE_DPL3 = constant('GATE_DPL3', 0x60, 'gate bits 6:5 = 3: software may raise this vector with int from ring 3');
export const GATE_INT32 = constant('GATE_INT32', 0x0e, 'type 1110b: 32-bit interrupt gate - the CPU clears IF on entry');
export const GATE_TRAP32 = constant('GATE_TRAP32', 0x0f, 'type 1111b: 32-bit trap gate - IF is left unchanged');

export const idt = defineModule({
  name: 'idt',
  title: 'The interrupt descriptor table (IDT)',
  about: `
In protected mode the CPU finds handlers in the IDT instead of the real-mode
IVT.  IDTR holds its base and limit (lidt); entry n is an 8-byte gate:

   63          48 47 46 45 44   40 39  32 31          16 15           0
  +--------------+--+-----+--------+------+--------------+--------------+
  | offset 31:16 |P | DPL |0 type  | 0    | selector     | offset 15:0  |
  +--------------+--+-----+--------+------+--------------+--------------+

- offset + selector: where the handler is (our stubs, in the kernel code segment);
- type: interrupt gate (IF cleared on entry, so handlers are not interrupted
  by maskable interrupts) or trap gate (IF unchanged).  tskernel uses
  interrupt gates everywhere: a handler never has to worry about re-entry;
- DPL: for a software "int n" the CPU checks CPL <= DPL, so the DPL is the
  least privileged level (the highest ring number) allowed to use the gate:
  DPL 0 admits ring 0 only, DPL 3 admits every ring.  Hardware interrupts
  and exceptions ignore it.  idt_init makes every
  gate DPL 0, so "int n" from ring 3 raises #GP; syscall_init (syscall.asm)
  then opens gate 0x80 alone with DPL 3 for system calls;
- P: a gate with P = 0 raises #NP.

idt_init fills all 256 gates from isr_table and loads IDTR; idt_set_gate
changes one gate's type/DPL byte (EAX = vector, EDX = type byte).`,
  spec: ['Intel SDM Vol. 3A §6.10 "Interrupt Descriptor Table", §6.11 "IDT Descriptors" (Figure 6-2)', 'Intel SDM Vol. 3A §6.12.1.1 (gate DPL check for int n)'],
  emit(a) {
    a.bss(idt_table, IDT_ENTRIES.mul(GATE.SIZE), 8, 'the gates, one per vector');
    a.routine({
      name: idt_init, does: 'fill every gate from isr_table (present, DPL 0, interrupt gate) and load IDTR',
      clobbers: [eax, ecx],
    }, (r) => {
      a.xor(ecx, ecx, 'ECX = vector');
      a.doWhile(() => {
        a.mov(eax, dword({ index: ecx, scale: 4, disp: isr_table }), 'EAX = stub address for this vector');
        a.mov(word({ index: ecx, scale: 8, disp: idt_table.add(GATE.f.offset_lo) }), ax, 'offset 15:0');
        a.mov(word({ index: ecx, scale: 8, disp: idt_table.add(GATE.f.selector) }), SEL_KERNEL_CODE, 'selector: kernel code');
        a.mov(byte({ index: ecx, scale: 8, disp: idt_table.add(GATE.f.zero) }), 0, 'reserved');
        a.mov(byte({ index: ecx, scale: 8, disp: idt_table.add(GATE.f.type) }), GATE_P.or(GATE_INT32), 'present, DPL 0, 32-bit interrupt gate');
        a.shr(eax, 16);
        a.mov(word({ index: ecx, scale: 8, disp: idt_table.add(GATE.f.offset_hi) }), ax, 'offset 31:16');
        a.inc(ecx);
        a.cmp(ecx, IDT_ENTRIES);
      }, () => 'b');
      a.lidt(mem(idtr), 'IDTR = base and limit of the table');
      r.ret();
    });

    a.routine({
      name: idt_set_gate, does: 'change one gate\'s type/DPL byte',
      in: { eax: 'vector', dl: 'type byte (GATE_P | DPL | type)' },
    }, (r) => {
      a.mov(byte({ index: eax, scale: 8, disp: idt_table.add(GATE.f.type) }), dl);
      r.ret();
    });

    a.label(idtr, 'operand of lidt');
    a.dataC(2, [IDT_ENTRIES.mul(GATE.SIZE).sub(1)], 'limit: 256 * 8 - 1');
    a.dataC(4, [idt_table], 'linear base address');
  },
});
