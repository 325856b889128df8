// The 8259A programmable interrupt controllers (master and slave).
import { defineModule } from '../../toolchain/x86/asm.ts';
import { type Expr, al, ah, cl, dx, eax, ebx, ecx, edx, esp, L, dword, byte, constant, chr } from '../../toolchain/x86/operands.ts';
import { TRAPFRAME } from '../cpu/trapframe.ts';
import { trap_register } from '../cpu/trap.ts';
import { console_irq_enter, console_irq_leave, serial_newline, serial_put_dec, serial_put_hex8, serial_putc } from './serial.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { say } from '../lib/print.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const pic_mask = sym('pic_mask');
export const pic_read_irr = sym('pic_read_irr');
export const pic_read_isr = sym('pic_read_isr');
export const pic_unmask = sym('pic_unmask');
const PIC1_INITIAL_MASK = sym('PIC1_INITIAL_MASK');
const irq_handlers = sym('irq_handlers');
export const irq_register = sym('irq_register');
export const pic_init = sym('pic_init');
const pic_irq = sym('pic_irq');
const pic_mask1 = sym('pic_mask1');
const pic_mask2 = sym('pic_mask2');
export const pic_print_masks = sym('pic_print_masks');
export const pic_spurious15 = sym('pic_spurious15');
export const pic_spurious7 = sym('pic_spurious7');
export const pic_elcr = sym('pic_elcr');
const pic_print_elcr = sym('pic_print_elcr');

export const PIC1_CMD = constant('PIC1_CMD', 0x20, 'master 8259A command port (A0 = 0): ICW1, OCW2, OCW3');
export const PIC1_DATA = constant('PIC1_DATA', 0x21, 'master 8259A data port (A0 = 1): ICW2-4, OCW1 (the mask)');
export const PIC2_CMD = constant('PIC2_CMD', 0xa0, 'slave 8259A command port');
export const PIC2_DATA = constant('PIC2_DATA', 0xa1, 'slave 8259A data port');
export const ICW1_INIT = constant('ICW1_INIT', 0x10, 'ICW1 bit 4: this is ICW1 - start the initialisation sequence');
export const ICW1_IC4 = constant('ICW1_IC4', 0x01, 'ICW1 bit 0: an ICW4 follows (bit 1 = 0: cascade; bit 3 = 0: edge-triggered)');
export const PIC1_VECTOR = constant('PIC1_VECTOR', 0x20, 'ICW2 of the master: IRQ0-7 arrive as vectors 32-39, above the CPU exceptions 0-31', { radix: 10 });
export const PIC2_VECTOR = constant('PIC2_VECTOR', 0x28, 'ICW2 of the slave: IRQ8-15 arrive as vectors 40-47', { radix: 10 });
export const ICW3_MASTER_SLAVE_ON_IRQ2 = constant('ICW3_MASTER_SLAVE_ON_IRQ2', 0x04, 'ICW3 of the master: bit 2 - a slave is cascaded on IR2');
export const ICW3_SLAVE_ID = constant('ICW3_SLAVE_ID', 0x02, 'ICW3 of the slave: its cascade identity is 2 (the master input it drives)');
export const ICW4_8086 = constant('ICW4_8086', 0x01, 'ICW4 bit 0: 8086/8088 mode (bit 1 = 0: normal EOI, not automatic)');
export const OCW2_EOI = constant('OCW2_EOI', 0x20, 'OCW2: non-specific end of interrupt - clears the highest ISR bit');
export const OCW3_READ_IRR = constant('OCW3_READ_IRR', 0x0a, 'OCW3: the next read of the command port returns the IRR');
export const OCW3_READ_ISR = constant('OCW3_READ_ISR', 0x0b, 'OCW3: the next read of the command port returns the ISR');
export const IRQ_CASCADE = constant('IRQ_CASCADE', 2, 'master input the slave is wired to');
export const PORT_DELAY = constant('PORT_DELAY', 0x80, 'POST diagnostic port: a write to it is a harmless ~1 us delay between PIC writes');
export const ELCR1 = constant('ELCR1', 0x4d0, 'PIIX3 edge/level control register for IRQ0-7 (bit n = 1: IRQ n level-triggered)');
export const ELCR2 = constant('ELCR2', 0x4d1, 'PIIX3 edge/level control register for IRQ8-15');
export const NUM_IRQS = constant('NUM_IRQS', 16, 'IRQ lines on the two cascaded 8259As', { radix: 10 });

export const pic = defineModule({
  name: 'pic',
  title: 'The 8259A programmable interrupt controller: remap, mask, acknowledge',
  about: `
Devices signal the CPU through the two cascaded 8259A PICs: the master takes
IRQ0-7, the slave IRQ8-15 and reports to the master on its IR2.  At power-on
the BIOS maps the master to vectors 8-15 - which protected mode uses for CPU
exceptions (8 = #DF!) - so the kernel must re-initialise both chips:

  ICW1 (command port)  start initialisation, ICW4 will follow, edge-triggered, cascade
  ICW2 (data port)     vector base: master 0x20 (IRQ0 -> 32), slave 0x28 (IRQ8 -> 40)
  ICW3 (data port)     wiring: master "slave on IR2" (bit mask 0x04), slave "I am 2"
  ICW4 (data port)     8086 mode, normal (not automatic) end of interrupt
After that the data port reads and writes OCW1, the interrupt mask register
(IMR): a 1 bit masks that line.  pic_init masks every line but the cascade;
drivers unmask their own with pic_unmask (EAX = IRQ).

Acknowledging: the PIC sets a line's In-Service Register (ISR) bit when the
CPU accepts it and blocks equal and lower priorities until an EOI (OCW2).
An IRQ from the slave needs an EOI to the slave and to the master.

Spurious interrupts: if a line drops before the CPU acknowledges, the PIC
still delivers its lowest-priority vector (IRQ7, or IRQ15 on the slave) with
the ISR bit clear.  pic_irq checks the ISR (OCW3) for IRQ7/IRQ15, counts a
spurious one and sends no EOI for it (for IRQ15 the master still gets one: it
did see the cascade line).

Edge and level.  ICW1 bit 3 would make a whole chip level-triggered; on
the PC it stays 0 and the PIIX3's ELCR registers (0x4D0, 0x4D1) choose per
line instead.  The firmware sets the PCI interrupt lines level-triggered
there - SeaBIOS: IRQ 10 and 11 - and re-initialising the chips with ICW1
leaves the ELCR alone, so pic_init only reads it back (pic_elcr) and says
which lines are level-triggered.  A level-triggered line is requested for
as long as a device holds it, and PCI INTx lines are shared by several
devices: so the handler must make *every* device on the line let go - for
virtio, read its ISR (virtio.asm) - before the EOI, or the PIC takes the
same interrupt again the moment the EOI is sent.  pic_irq calls the
handler first and sends the EOI after it, slave before master.

Handlers: irq_register (EAX = IRQ, EDX = handler) records a driver's handler;
pic_init routes vectors 32-47 to pic_irq, which calls it with EAX = trap
frame and sends the EOI afterwards.  A line with no handler is reported.`,
  spec: [
    'Intel 8259A Programmable Interrupt Controller data sheet (order 231468): ICW1-ICW4 (Figure 6), OCW1-OCW3 (Figure 8), EOI, spurious IR7',
    'Intel 82371SB (PIIX3) data sheet: ELCR1/ELCR2 edge/level control at 0x4D0/0x4D1; PCI Local Bus Spec 3.0 §2.2.6 (INTx# is level-sensitive and may be shared)',
    'IBM PC/AT Technical Reference: master at 20h/21h, slave at A0h/A1h cascaded on IRQ2',
  ],
  emit(a) {
    a.bss(irq_handlers, NUM_IRQS.mul(4), 4, 'driver handler per IRQ line, 0 = none');
    a.bss(pic_spurious7, 4, 4, 'spurious IRQ7 count');
    a.bss(pic_spurious15, 4, 4, 'spurious IRQ15 count');
    a.bss(pic_elcr, 4, 4, 'the ELCR as the firmware left it: bit n = IRQ n level-triggered');

    const out = (port: Expr, value: Expr, why: string) => {
      a.mov(al, value);
      a.out(port, al, why);
      a.out(PORT_DELAY, al, 'give the 8259A time to settle (needed on old hardware)');
    };
    a.routine({
      name: pic_init, does: 'remap both 8259As to vectors 32-47, mask every line but the cascade, route the vectors to pic_irq',
      clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.comment('ICW1 to both chips starts the sequence; each then expects ICW2, ICW3, ICW4 on its data port.');
      out(PIC1_CMD, ICW1_INIT.or(ICW1_IC4), 'ICW1: initialise the master, ICW4 follows');
      out(PIC2_CMD, ICW1_INIT.or(ICW1_IC4), 'ICW1: initialise the slave, ICW4 follows');
      out(PIC1_DATA, PIC1_VECTOR, 'ICW2: master vectors start at 32');
      out(PIC2_DATA, PIC2_VECTOR, 'ICW2: slave vectors start at 40');
      out(PIC1_DATA, ICW3_MASTER_SLAVE_ON_IRQ2, 'ICW3: the master has a slave on IR2');
      out(PIC2_DATA, ICW3_SLAVE_ID, 'ICW3: the slave answers to cascade identity 2');
      out(PIC1_DATA, ICW4_8086, 'ICW4: 8086 mode, normal EOI');
      out(PIC2_DATA, ICW4_8086, 'ICW4: 8086 mode, normal EOI');
      a.mov(al, PIC1_INITIAL_MASK);
      a.out(PIC1_DATA, al, 'OCW1: mask every master line except the cascade');
      a.mov(al, 0xff);
      a.out(PIC2_DATA, al, 'OCW1: mask every slave line until a driver asks');
      a.mov(byte(pic_mask1), PIC1_INITIAL_MASK);
      a.mov(byte(pic_mask2), 0xff);
      a.comment('route the 16 IRQ vectors through pic_irq');
      a.mov(ebx, PIC1_VECTOR);
      a.doWhile(() => {
        a.mov(eax, ebx);
        a.mov(edx, pic_irq);
        a.call(trap_register);
        a.inc(ebx);
        a.cmp(ebx, PIC1_VECTOR.add(NUM_IRQS));
      }, () => 'b');
      say(a, a.cstr('[pic] remapped master=0x20 slave=0x28\r\n'));
      a.call(pic_print_masks);
      a.mov(edx, ELCR2);
      a.in(al, dx, 'the firmware\'s edge/level choice for IRQ8-15 (ICW1 did not change it)');
      a.mov(ah, al);
      a.mov(edx, ELCR1);
      a.in(al, dx);
      a.and(eax, 0xffff);
      a.mov(dword(pic_elcr), eax);
      a.call(pic_print_elcr);
      r.ret();
    });

    a.routine({
      name: pic_print_elcr, does: 'prints "[pic] level-triggered (ELCR): IRQ 10 11" from pic_elcr',
      clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      say(a, a.cstr('[pic] level-triggered (ELCR):'));
      a.cmp(dword(pic_elcr), 0);
      a.if_('e', () => say(a, a.cstr(' none, every line edge-triggered')));
      a.xor(ebx, ebx);
      a.while_(() => { a.cmp(ebx, NUM_IRQS); return 'b'; }, () => {
        a.bt(dword(pic_elcr), ebx);
        a.if_('c', () => {
          say(a, a.cstr(' IRQ '));
          a.mov(eax, ebx);
          a.call(serial_put_dec);
        });
        a.inc(ebx);
      });
      a.call(serial_newline);
      r.ret();
    });
    a.equ(PIC1_INITIAL_MASK, not_(1 << 2), 'all lines masked but IRQ2, the cascade');

    a.routine({
      name: pic_print_masks, does: 'print "[pic] masks master=0x.. slave=0x.. (programmed master=0x.. slave=0x..)": read back, then as programmed',
      clobbers: [eax, ecx, edx],
    }, () => {
      say(a, a.cstr('[pic] masks master=0x'));
      a.in(al, PIC1_DATA, 'reading the data port returns OCW1, the mask register');
      a.call(serial_put_hex8);
      say(a, a.cstr(' slave=0x'));
      a.in(al, PIC2_DATA);
      a.call(serial_put_hex8);
      say(a, a.cstr(' (programmed master=0x'));
      a.mov(al, byte(pic_mask1));
      a.call(serial_put_hex8);
      say(a, a.cstr(' slave=0x'));
      a.mov(al, byte(pic_mask2));
      a.call(serial_put_hex8);
      a.mov(al, chr(')'));
      a.call(serial_putc);
      a.jmp(serial_newline, 'tail call');
    });

    for (const [name, on] of [[pic_unmask, true], [pic_mask, false]] as const) {
      a.routine({
        name, does: on ? 'let one IRQ line through (clear its OCW1 bit)' : 'block one IRQ line (set its OCW1 bit)',
        in: { eax: 'IRQ line 0-15' }, clobbers: [eax, ecx, edx],
      }, (r) => {
        a.mov(edx, eax, 'EDX = IRQ line');
        a.mov(ecx, eax);
        a.and(cl, 7, 'bit within the chip');
        a.mov(ah, 1);
        a.shl(ah, cl, 'AH = the line\'s bit in OCW1');
        if (on) a.not(ah, 'a 0 bit enables the line');
        a.cmp(edx, 8);
        a.if_('b', () => {
          a.mov(al, byte(pic_mask1));
          if (on) a.and(al, ah); else a.or(al, ah);
          a.mov(byte(pic_mask1), al);
          a.out(PIC1_DATA, al, 'OCW1 of the master');
        }, () => {
          a.mov(al, byte(pic_mask2));
          if (on) a.and(al, ah); else a.or(al, ah);
          a.mov(byte(pic_mask2), al);
          a.out(PIC2_DATA, al, 'OCW1 of the slave');
        });
        r.ret();
      });
    }

    a.routine({
      name: irq_register, does: 'record a driver\'s handler for one IRQ line (pic_irq calls it with EAX = trap frame)',
      in: { eax: 'IRQ line 0-15', edx: 'handler' },
    }, (r) => {
      a.mov(dword({ index: eax, scale: 4, disp: irq_handlers }), edx);
      r.ret();
    });

    for (const [name, ocw, what] of [[pic_read_irr, OCW3_READ_IRR, 'IRR (requests waiting)'], [pic_read_isr, OCW3_READ_ISR, 'ISR (in service)']] as const) {
      a.routine({
        name, does: `read both chips' ${what}`,
        out: { al: 'the master\'s', ah: 'the slave\'s' },
      }, (r) => {
        a.mov(al, ocw);
        a.out(PIC1_CMD, al, 'OCW3: select the register the next read returns');
        a.out(PIC2_CMD, al);
        a.in(al, PIC2_CMD);
        a.mov(ah, al);
        a.in(al, PIC1_CMD);
        r.ret();
      });
    }

    a.section('pic_irq: trap handler for vectors 32-47 (EAX = trap frame)');
    a.label(pic_irq);
    a.push(ebx);
    a.push(eax);
    a.call(console_irq_enter, 'interrupt context: what the handler prints must not tear a line (serial.asm, rule 2)');
    a.mov(eax, dword(esp), 'the trap frame again');
    a.mov(ebx, dword(eax, TRAPFRAME.f.vector));
    a.sub(ebx, PIC1_VECTOR, 'EBX = IRQ line');
    a.cmp(ebx, 7);
    a.je(L('.check_spurious'));
    a.cmp(ebx, 15);
    a.jne(L('.real'));
    a.label('.check_spurious');
    a.call(pic_read_isr);
    a.cmp(ebx, 7);
    a.jne(L('.check15'));
    a.test(al, 0x80, 'ISR bit 7 of the master');
    a.jnz(L('.real'));
    a.inc(dword(pic_spurious7), 'spurious IRQ7: count it, no EOI (nothing is in service)');
    a.jmp(L('.out'));
    a.label('.check15');
    a.test(ah, 0x80, 'ISR bit 7 of the slave');
    a.jnz(L('.real'));
    a.inc(dword(pic_spurious15), 'spurious IRQ15: count it; only the master saw a real (cascade) request');
    a.mov(al, OCW2_EOI);
    a.out(PIC1_CMD, al);
    a.jmp(L('.out'));
    a.label('.real');
    a.mov(edx, dword({ index: ebx, scale: 4, disp: irq_handlers }));
    a.test(edx, edx);
    a.jz(L('.unexpected'));
    a.mov(eax, dword(esp), 'the trap frame we saved on entry');
    a.call(edx, 'the driver\'s handler');
    a.label('.eoi');
    a.mov(al, OCW2_EOI);
    a.cmp(ebx, 8);
    a.jb(L('.eoi_master'));
    a.out(PIC2_CMD, al, 'OCW2 to the slave first ...');
    a.label('.eoi_master');
    a.out(PIC1_CMD, al, '... then the master (it saw IRQ2 for a slave line)');
    a.label('.out');
    a.call(console_irq_leave);
    a.pop(eax);
    a.pop(ebx);
    a.ret();
    a.label('.unexpected');
    say(a, a.cstr('[pic] unexpected IRQ '));
    a.mov(eax, ebx);
    a.call(serial_put_dec);
    a.call(serial_newline);
    a.jmp(L('.eoi'));

    a.label(pic_mask1); a.db(0xff);
    a.label(pic_mask2); a.db(0xff);
  },
});

function not_(v: number): number { return ~v & 0xff; }
