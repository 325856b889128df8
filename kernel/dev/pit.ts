// The 8253/8254 programmable interval timer, channel 0: the kernel's clock.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { ah, al, ch, cl, cx, eax, ebx, ecx, edx, L, byte, dword, constant, dec } from '../../toolchain/x86/operands.ts';
import { TRAPFRAME } from '../cpu/trapframe.ts';
import { PS_SLEEPING } from '../proc/table.ts';
import { irq_register, pic_read_irr, pic_unmask } from './pic.ts';
import { serial_put_dec, serial_puts } from './serial.ts';
import { sched_block, sched_idle, sched_tick } from '../proc/sched.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { say } from '../lib/print.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const ms_to_ticks = sym('ms_to_ticks');
export const pit_divisor = sym('pit_divisor');
export const pit_hz = sym('pit_hz');
export const pit_init = sym('pit_init');
export const pit_irq = sym('pit_irq');
const pit_vector_checked = sym('pit_vector_checked');
export const pit_wait_first_tick = sym('pit_wait_first_tick');
export const sleep = sym('sleep');
export const ticks = sym('ticks');
export const pit_clock = sym('pit_clock');

export const PIT_CH0 = constant('PIT_CH0', 0x40, '8254 counter 0 data port; its OUT pin drives IRQ0');
export const PIT_CMD = constant('PIT_CMD', 0x43, '8254 control word register');
export const PIT_INPUT_HZ = constant('PIT_INPUT_HZ', 1193182, 'the PIT input clock: 14.31818 MHz / 12', { radix: 10 });
export const PIT_CW_CH0 = constant('PIT_CW_CH0', 0x00, 'control word bits 7:6 = 00: select counter 0');
export const PIT_CW_LOHI = constant('PIT_CW_LOHI', 0x30, 'bits 5:4 = 11: read/write the count low byte, then high byte');
export const PIT_CW_MODE2 = constant('PIT_CW_MODE2', 0x04, 'bits 3:1 = 010: mode 2, rate generator (one pulse every N input clocks)');
export const PIT_CW_BINARY = constant('PIT_CW_BINARY', 0x00, 'bit 0 = 0: 16-bit binary count (not BCD)');
export const IRQ_PIT = constant('IRQ_PIT', 0, 'the PIT is wired to IRQ0');
export const VEC_PIT = constant('VEC_PIT', 32, 'IRQ0 arrives on vector 32 after the PIC remap', { radix: 10 });
export const PIT_CW_LATCH0 = constant('PIT_CW_LATCH0', 0x00, 'control word 00 00 xxxx: latch counter 0 - the next two reads of port 40h return its count as it was now');
export const HZ_DEFAULT = constant('HZ_DEFAULT', 100, 'timer frequency when the cmdline has no hz=', { radix: 10 });
export const HZ_MIN = constant('HZ_MIN', 19, 'lowest frequency whose divisor fits 16 bits: 1193182 / 19 = 62799', { radix: 10 });
export const HZ_MAX = constant('HZ_MAX', 1000, 'highest frequency we allow: faster ticks only burn CPU under emulation', { radix: 10 });

export const pit = defineModule({
  name: 'pit',
  title: 'The 8254 programmable interval timer: ticks and sleep',
  about: `
The PIT counts down an input clock of 1.193182 MHz.  In mode 2 (rate
generator) counter 0 reloads a divisor N and pulses its OUT pin - wired to
IRQ0 - every N input clocks, i.e. at 1193182 / N Hz.  pit_init programs it
at pit_hz (cmdline "hz=", default 100): a control word to port 43h, then the
16-bit divisor, low byte first, to port 40h.

Each IRQ0 arrives on vector 32 (pic.asm remapped it there) and pit_irq
increments ticks, then tells the scheduler (sched_tick: the tick is
charged to the running process - or to idle when the CPU was halted - and
its quantum may be over).  The first tick checks that it really arrived on
vector 32 and says so; kmain waits for it (pit_wait_first_tick), so that
line comes early in the boot log.  It is printed from interrupt context,
possibly while kmain is in the middle of "[kernel] interrupts enabled":
the console then holds it back until that line has ended (serial.asm,
the line rules).  ticks is 32 bits and wraps after 2^32 ticks; every
comparison of two tick values is a signed difference (sched.asm).  sleep
(EAX = milliseconds) turns the time into a wake-up tick and blocks the
current process until then (sched.asm): other processes run meanwhile, and
when none can, the scheduler halts the CPU until the next interrupt.

A tick is a coarse clock (10 ms at 100 Hz).  pit_clock reads a fine one
from the same counter: the count between two ticks says how far into the
current tick the PIT is.  It latches counter 0 (a control word with
bits 5:4 = 00 freezes the count for the next two reads, low byte first,
while the counter runs on) and returns, as 64 bits,

  ticks * divisor + (divisor - count)    in input clocks of 0.838 us.

One race needs care: the counter may have wrapped (and asked for IRQ0)
just before the latch, while interrupts are off, so that ticks does not
yet count that tick.  Then IRR bit 0 is set and the latched count is
near the divisor (it has just reloaded): one tick is added.  An IRR bit
set with a small count belongs to a wrap after the latch, which the count
already reflects.`,
  spec: ['Intel 8254 Programmable Interval Timer data sheet (order 231164): control word format, mode 2', 'IBM PC/AT Technical Reference: counter 0 at 40h, control at 43h, OUT0 -> IRQ0'],
  emit(a) {
    a.bss(ticks, 4, 4, 'timer interrupts since pit_init');
    a.bss(pit_divisor, 4, 4, 'the divisor programmed into counter 0');

    a.routine({
      name: pit_init, does: 'check pit_hz (19-1000, else 100), program counter 0 in mode 2 at that rate, route IRQ0 to pit_irq',
      clobbers: [eax, ecx, edx],
    }, (r) => {
      a.mov(eax, dword(pit_hz));
      a.cmp(eax, HZ_MIN);
      a.jb(L('.bad_hz'));
      a.cmp(eax, HZ_MAX);
      a.jbe(L('.hz_ok'));
      a.label('.bad_hz');
      say(a, a.cstr('[pit] hz='));
      a.mov(eax, dword(pit_hz));
      a.call(serial_put_dec);
      say(a, a.cstr(' is out of range (19-1000); using 100\r\n'));
      a.mov(dword(pit_hz), HZ_DEFAULT);
      a.label('.hz_ok');
      a.mov(ecx, dword(pit_hz));
      a.mov(eax, ecx);
      a.shr(eax, 1);
      a.add(eax, PIT_INPUT_HZ, 'round to nearest: (input clock + hz / 2) / hz');
      a.xor(edx, edx);
      a.div(ecx, 'EAX = the divisor');
      a.mov(dword(pit_divisor), eax);
      a.mov(ecx, eax);
      a.mov(al, PIT_CW_CH0.or(PIT_CW_LOHI).or(PIT_CW_MODE2).or(PIT_CW_BINARY));
      a.out(PIT_CMD, al, 'control word: counter 0, low then high byte, mode 2, binary');
      a.mov(eax, ecx);
      a.out(PIT_CH0, al, 'divisor low byte');
      a.mov(al, ah);
      a.out(PIT_CH0, al, 'divisor high byte: counting starts now');
      say(a, a.cstr('[pit] channel 0 mode 2 (rate generator), divisor '));
      a.mov(eax, dword(pit_divisor));
      a.call(serial_put_dec);
      say(a, a.cstr(' -> '));
      a.mov(eax, dword(pit_hz));
      a.call(serial_put_dec);
      say(a, a.cstr(' Hz\r\n'));
      a.mov(eax, IRQ_PIT);
      a.mov(edx, pit_irq);
      a.call(irq_register);
      a.mov(eax, IRQ_PIT);
      a.call(pic_unmask);
      r.ret();
    });

    a.section('pit_irq: IRQ0 handler (EAX = trap frame); pic_irq sends the EOI');
    a.label(pit_irq);
    a.inc(dword(ticks));
    a.push(eax);
    a.call(sched_tick, 'charge the tick, maybe end the running process\'s quantum');
    a.pop(eax);
    a.cmp(byte(pit_vector_checked), 0);
    a.jne(L('.done'));
    a.mov(byte(pit_vector_checked), 1);
    a.push(ebx);
    a.mov(ebx, dword(eax, TRAPFRAME.f.vector));
    say(a, a.cstr('[pit] first tick arrived on vector '));
    a.mov(eax, ebx);
    a.call(serial_put_dec);
    a.cmp(ebx, VEC_PIT);
    a.mov(eax, a.cstr(' (IRQ0 remapped to 32: ok)\r\n'));
    a.je(L('.say'));
    a.mov(eax, a.cstr(' (expected 32: PIC remap is wrong)\r\n'));
    a.label('.say');
    a.call(serial_puts);
    a.pop(ebx);
    a.label('.done');
    a.ret();

    a.routine({
      name: pit_clock, does: 'PIT input clocks since pit_init (1193182 a second): the tick count refined by counter 0',
      out: { eax: 'clocks, low half', edx: 'clocks, high half' }, clobbers: [ecx],
    }, (r) => {
      a.pushfd('keep IF as the caller had it');
      a.cli('ticks and the count must be read without a tick in between');
      a.mov(al, PIT_CW_LATCH0);
      a.out(PIT_CMD, al, 'latch counter 0');
      a.in(al, PIT_CH0, 'count, low byte');
      a.mov(cl, al);
      a.in(al, PIT_CH0, 'count, high byte');
      a.mov(ch, al);
      a.movzx(ecx, cx, 'ECX = the count: divisor down to 1');
      a.push(ecx);
      a.call(pic_read_irr, 'AL bit 0: IRQ0 waiting - a tick ticks does not count yet');
      a.pop(ecx);
      a.mov(edx, dword(ticks));
      a.test(al, 1);
      a.if_('nz', () => {
        a.mov(eax, dword(pit_divisor));
        a.shr(eax, 1);
        a.cmp(ecx, eax);
        a.if_('a', () => { a.inc(edx); }, undefined, 'the count has just reloaded: that tick is over');
      });
      a.mov(eax, edx);
      a.mul(dword(pit_divisor), 'EDX:EAX = ticks * divisor');
      a.neg(ecx);
      a.add(ecx, dword(pit_divisor), 'ECX = divisor - count: clocks into this tick');
      a.add(eax, ecx);
      a.adc(edx, 0);
      a.popfd();
      r.ret();
    });

    a.routine({
      name: pit_wait_first_tick, does: 'halt until the first IRQ0 has been counted (interrupts must be enabled)',
    }, (r) => {
      a.loop_((loop) => {
        a.cmp(dword(ticks), 0);
        loop.break_('ne');
        a.mov(dword(sched_idle), 1, 'halting is idle time (sched.asm)');
        a.hlt('wake on the next interrupt (at worst one tick late if it came just before)');
        a.mov(dword(sched_idle), 0);
      });
      r.ret();
    });

    a.routine({
      name: ms_to_ticks, does: 'convert milliseconds to timer ticks at pit_hz, rounded up, at least 1',
      in: { eax: 'milliseconds' }, out: { eax: 'ticks: max(1, ceil(ms * pit_hz / 1000)) (ms * pit_hz / 1000 must fit 32 bits)' },
      clobbers: [ecx, edx],
    }, (r) => {
      a.mul(dword(pit_hz), 'EDX:EAX = ms * hz');
      a.add(eax, dec(999), 'round up: + (1000 - 1) before dividing by 1000');
      a.adc(edx, 0);
      a.mov(ecx, dec(1000), 'milliseconds per second');
      a.div(ecx, 'EAX = ceil(ms * hz / 1000)');
      a.test(eax, eax);
      a.if_('z', () => a.inc(eax), undefined, '0 ms still waits for the next tick');
      r.ret();
    });

    a.routine({
      name: sleep, does: 'block the current process until enough ticks have passed (the scheduler runs others meanwhile)',
      in: { eax: 'milliseconds' }, clobbers: [eax, ecx, edx],
    }, () => {
      a.call(ms_to_ticks);
      a.add(eax, dword(ticks));
      a.mov(edx, eax, 'EDX = the tick to wake up at');
      a.mov(eax, PS_SLEEPING);
      a.jmp(sched_block, 'the scheduler runs others (or idles with hlt) meanwhile');
    });

    a.label(pit_hz); a.dataC(4, [HZ_DEFAULT], 'timer frequency; cmdline hz= overrides it before pit_init');
    a.label(pit_vector_checked); a.db(0);
  },
});
