// The A20 gate.
import { defineModule } from '../toolchain/x86/asm.ts';
import { al, ax, di, ds, es, si, eax, esi, L, byte, constant } from '../toolchain/x86/operands.ts';
import { puts } from './serial16.ts';
import { sym } from '../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const a20_check = sym('a20_check');
export const a20_enable = sym('a20_enable');

export const BIOS_SYSTEM = constant('BIOS_SYSTEM', 0x15, 'BIOS interrupt 15h: system services');
export const A20_BIOS_ENABLE = constant('A20_BIOS_ENABLE', 0x2401, 'int 15h AX=2401h: enable the A20 gate');
export const SYSTEM_CONTROL_A = constant('SYSTEM_CONTROL_A', 0x92, 'System Control Port A ("fast A20"): bit 1 = A20 gate, bit 0 = fast reset');
export const PORT92_A20 = constant('PORT92_A20', 0x02, 'port 92h bit 1: A20 gate enable');
export const PORT92_RESET = constant('PORT92_RESET', 0x01, 'port 92h bit 0: writing 1 resets the CPU - never set it');

export const a20 = defineModule({
  name: 'a20',
  title: 'The A20 gate',
  about: `
The 8086 had 20 address lines: FFFF:0010 wrapped around to physical 0.  For
compatibility the PC/AT put a gate on address line 20 (A20); while it is
closed every odd megabyte aliases the even one below it, so a kernel that
uses memory above 1 MiB must open it first.

a20_check compares the byte at 0000:0500 with its alias FFFF:0510 (= 0x100500):
if writing one changes the other, addresses wrap and A20 is off.
a20_enable tries, in order: nothing (it may already be on), the BIOS
(int 15h AX=2401h), and the "fast A20" bit of System Control Port A (92h).
It prints which one worked, or stops with a message if none did.`,
  spec: [
    'IBM PS/2 Hardware Interface Technical Reference: System Control Port A (0092h)',
    'Intel SDM Vol. 3A §22.33.1 "Segment Wraparound" (the A20M# pin and 8086 address wraparound)',
  ],
  emit(a) {
    a.routine({
      name: a20_enable, does: 'opens the A20 gate and says how on serial, or halts with a message',
      clobbers: [eax, esi],
    }, (r) => {
      a.call(a20_check);
      a.mov(si, a.cstr('[a20] enabled (the BIOS had already opened the gate)\r\n'));
      a.jnz(L('.done'), 'already enabled (QEMU and most BIOSes do it)');
      a.mov(ax, A20_BIOS_ENABLE);
      a.int(BIOS_SYSTEM);
      a.call(a20_check);
      a.mov(si, a.cstr('[a20] enabled (BIOS int 15h AX=2401h)\r\n'));
      a.jnz(L('.done'));
      a.in(al, SYSTEM_CONTROL_A);
      a.or(al, PORT92_A20);
      a.and(al, PORT92_RESET.xor(0xff), 'keep bit 0 clear: it would reset the machine');
      a.out(SYSTEM_CONTROL_A, al);
      a.call(a20_check);
      a.mov(si, a.cstr('[a20] enabled (fast A20, port 0x92)\r\n'));
      a.jnz(L('.done'));
      a.mov(si, a.cstr('[a20] could not enable the A20 gate; halting\r\n'));
      a.call(puts);
      a.label('.halt');
      a.cli();
      a.hlt();
      a.jmp(L('.halt'));
      a.label('.done');
      a.call(puts);
      r.ret();
    });

    a.comment('a20_check saves its 16-bit registers by hand: a.routine saves 32-bit ones.');
    a.routine({ name: a20_check, does: 'tests whether the A20 gate is open', out: { flags: 'ZF = 0 (NZ) when A20 is enabled' } }, (r) => {
      a.push(ax); a.push(ds); a.push(es); a.push(si); a.push(di);
      a.xor(ax, ax);
      a.mov(ds, ax, 'DS:SI = 0000:0500');
      a.not(ax);
      a.mov(es, ax, 'ES:DI = FFFF:0510, the same byte if addresses wrap at 1 MiB');
      a.mov(si, 0x0500);
      a.mov(di, 0x0510);
      a.mov(al, byte(si)); a.push(ax, 'save both bytes');
      a.mov(al, byte({ base: di, seg: es })); a.push(ax);
      a.mov(byte(si), 0x00);
      a.mov(byte({ base: di, seg: es }), 0xff);
      a.cmp(byte(si), 0xff, 'did the write above 1 MiB land at 0x500? then ZF = 1: A20 is off');
      a.pop(ax); a.mov(byte({ base: di, seg: es }), al, 'restore (mov and pop leave the flags alone)');
      a.pop(ax); a.mov(byte(si), al);
      a.pop(di); a.pop(si); a.pop(es); a.pop(ds); a.pop(ax);
      r.ret();
    });

  },
});
