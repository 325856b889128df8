// Shell commands that show the devices' state: the timer, the interrupt
// controllers and the serial receive buffer.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ebx, ecx, edx, esi, byte, dword } from '../../toolchain/x86/operands.ts';
import { putDec, say } from '../lib/print.ts';
import { strcmp } from '../lib/string.ts';
import { pic_print_masks, pic_read_irr, pic_read_isr, pic_spurious15, pic_spurious7 } from './pic.ts';
import { pit_divisor, pit_hz, ticks } from './pit.ts';
import { RX_BUF_SIZE, rx_head, rx_held, rx_overflow, rx_tail, uart_overrun_demo } from './uart_rx.ts';
import { serial_newline, serial_put_dec, serial_put_hex8, serial_puts } from './serial.ts';
import { type ShellCommand, commandRoutine } from '../shell/command.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); the handlers go into the shell's table.
export const cmd_ticks = sym('cmd_ticks');
export const cmd_pic = sym('cmd_pic');
export const cmd_uart = sym('cmd_uart');

/** The commands this module adds to the shell (shell.asm lists them in help). */
const TICKS: ShellCommand = { name: 'ticks', usage: 'ticks', doc: 'timer ticks since boot, the rate and the PIT divisor', handler: cmd_ticks };
const PIC: ShellCommand = { name: 'pic', usage: 'pic', doc: '8259A masks (read back), IRR, ISR and spurious IRQ counts', handler: cmd_pic };
const UART: ShellCommand = { name: 'uart', usage: 'uart [overrun]', doc: 'serial receive buffer: bytes waiting, flow control, dropped bytes; overrun: lose bytes on purpose', handler: cmd_uart };
export const devCommands: readonly ShellCommand[] = [TICKS, PIC, UART];

export const devCmds = defineModule({
  name: 'dev_cmds',
  title: 'Shell commands for the devices: ticks, pic, uart',
  about: `
Each device module keeps its state in its own variables; these commands
print them, so that what the earlier chapters describe can be watched on a
running machine.  The shell only dispatches to them (shell.asm).

  ticks  the PIT's count of IRQ0s since pit_init (pit.asm), the rate in Hz
         and the divisor programmed into channel 0: ticks grows by the rate
         every second, and stops growing if IRQ0 is masked or never
         acknowledged - the first thing to look at when sleeping hangs.
  pic    the 8259A's own registers, read back from the chips rather than
         from what the kernel believes it wrote (pic.asm): the interrupt
         masks, the Interrupt Request Register (lines raised, not yet
         taken) and the In-Service Register (taken, not yet acknowledged
         with an EOI), and how many spurious IRQ7/IRQ15 the kernel saw.  A
         bit stuck in ISR is an EOI that was never sent.
  uart   the receive ring (uart_rx.asm): bytes waiting for a reader, how
         often input was held back because the ring was full (flow
         control), and bytes the UART dropped.  "uart overrun" makes the
         UART lose bytes on purpose (uart_overrun_demo), to show that the
         shell then discards the damaged line instead of running it.`,
  emit(a) {
    commandRoutine(a, TICKS, {}, () => {
      say(a, a.cstr('[ticks] ')); putDec(a, dword(ticks));
      say(a, a.cstr(' ticks at ')); putDec(a, dword(pit_hz));
      say(a, a.cstr(' Hz, PIT divisor ')); putDec(a, dword(pit_divisor));
      a.jmp(serial_newline);
    });

    commandRoutine(a, PIC, { saves: [ebx, esi] }, (r) => {
      a.call(pic_print_masks);
      a.call(pic_read_irr);
      a.mov(ebx, eax, 'EBX = IRR (BL master, BH slave)');
      a.call(pic_read_isr);
      a.mov(esi, eax, 'ESI = ISR');
      const slave = a.cstr(' slave=0x');
      say(a, a.cstr('[pic] IRR master=0x')); a.mov(eax, ebx); a.call(serial_put_hex8);
      say(a, slave); a.mov(eax, ebx); a.shr(eax, 8); a.call(serial_put_hex8);
      say(a, a.cstr(' ISR master=0x')); a.mov(eax, esi); a.call(serial_put_hex8);
      say(a, slave); a.mov(eax, esi); a.shr(eax, 8); a.call(serial_put_hex8);
      a.call(serial_newline);
      say(a, a.cstr('[pic] spurious IRQ7=')); putDec(a, dword(pic_spurious7));
      say(a, a.cstr(' IRQ15=')); putDec(a, dword(pic_spurious15));
      a.call(serial_newline);
      r.ret();
    });

    commandRoutine(a, UART, {}, (r) => {
      a.cmp(byte(eax), 0);
      a.if_('ne', () => {
        a.push(eax, 'the argument, for an error message');
        a.mov(edx, a.cstr('overrun'));
        a.call(strcmp);
        a.test(eax, eax);
        a.pop(ecx);
        a.if_('nz', () => {
          a.push(ecx);
          say(a, a.cstr("[shell] uart: unknown argument '"));
          a.pop(eax);
          a.call(serial_puts);
          say(a, a.cstr("' (usage: uart [overrun])\r\n"));
          r.ret();
        });
        a.call(uart_overrun_demo);
        a.test(eax, eax);
        a.if_('nz', () => {
          say(a, a.cstr('[uart] loopback: 20 bytes sent into the 16-byte RX FIFO, the UART reported an overrun; the next line is discarded\r\n'));
        }, () => {
          say(a, a.cstr('[uart] loopback: 20 bytes sent, but the UART reported no overrun\r\n'));
        });
      }, undefined, 'no argument: only the statistics');
      a.comment('The statistics, after "uart" and after "uart overrun".');
      say(a, a.cstr('[uart] rx buffer 256 bytes, waiting: '));
      a.mov(eax, dword(rx_head));
      a.sub(eax, dword(rx_tail));
      a.and(eax, RX_BUF_SIZE.sub(1), 'bytes waiting in the ring (a snapshot: the interrupt may add more)');
      a.call(serial_put_dec);
      say(a, a.cstr(', input held (buffer full): ')); putDec(a, dword(rx_held));
      say(a, a.cstr(' times, dropped bytes: ')); putDec(a, dword(rx_overflow));
      a.jmp(serial_newline);
    });
  },
});
