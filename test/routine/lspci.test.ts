// The shell's lspci (kernel/pci/commands.ts) runs without a boot, under
// qemu-i386 (test/harness/routine.ts), over a pci_table the test fills in:
// functions QEMU never shows - a reserved interrupt pin, a class lspci's
// table lacks - whose lines must still be well formed.  A stand-in console
// appends what it prints to con_out.
import { describe, expect, it } from 'vitest';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { L, al, byte, cl, dword, eax, ecx, edx } from '../../toolchain/x86/operands.ts';
import '../../kernel/shell/shell.ts'; // first: the shell's command lists import every subsystem (an import cycle otherwise)
import { string } from '../../kernel/lib/string.ts';
import { pciCmds } from '../../kernel/pci/commands.ts';
import { PCI_FN, PCI_MAX_FNS } from '../../kernel/pci/pci.ts';
import { type RoutineResult, cstr, runRoutine } from '../harness/routine.ts';

const OUT_SIZE = 4096;
const fakes = defineModule({
  name: 'fakes',
  title: 'A console and a PCI table for the routine test',
  about: 'serial_putc, serial_puts, serial_newline and serial_put_dec append to con_out; pci_table and pci_count are the test\'s.',
  emit(a) {
    a.bss('con_out', OUT_SIZE, 4);
    a.bss('con_len', 4, 4);
    a.bss('pci_table', (PCI_MAX_FNS.c.value as number) * PCI_FN.size, 4);
    a.bss('pci_count', 4, 4);
    a.label('serial_putc');
    a.mov(edx, dword(L('con_len')));
    a.mov(byte({ base: edx, disp: L('con_out') }), al);
    a.inc(dword(L('con_len')));
    a.ret();
    a.label('serial_puts');
    a.mov(edx, dword(L('con_len')));
    a.while_(() => { a.mov(cl, byte(eax)); a.test(cl, cl); return 'nz'; }, () => {
      a.mov(byte({ base: edx, disp: L('con_out') }), cl);
      a.inc(edx);
      a.inc(eax);
    });
    a.mov(dword(L('con_len')), edx);
    a.ret();
    a.label('serial_newline');
    a.mov(eax, a.cstr('\r\n'));
    a.jmp(L('serial_puts'));
    a.label('serial_put_dec', 'EAX in decimal: digits pushed in reverse above a 0 sentinel');
    a.push(0);
    a.mov(ecx, 10);
    a.doWhile(() => {
      a.xor(edx, edx);
      a.div(ecx);
      a.add(edx, 0x30);
      a.push(edx);
      a.test(eax, eax);
    }, () => 'nz');
    a.loop_((l) => {
      a.pop(eax);
      a.test(eax, eax);
      l.break_('z');
      a.call(L('serial_putc'));
    });
    a.ret();
  },
});

/** One pci_table entry: address, IDs, class, interrupt, no BARs. */
function fn(dev: number, cls: number, sub: number, line: number, pin: number): number[] {
  const e = new Array<number>(PCI_FN.size).fill(0);
  const put = (f: { offset: number }, bytes: number[]) => e.splice(f.offset, bytes.length, ...bytes);
  put(PCI_FN.f.addr, [dev << 3, 0]);
  put(PCI_FN.f.vendor, [0xf4, 0x1a]);
  put(PCI_FN.f.device, [0x00, 0x10]);
  put(PCI_FN.f.class, [cls]);
  put(PCI_FN.f.subclass, [sub]);
  put(PCI_FN.f.irq_line, [line]);
  put(PCI_FN.f.irq_pin, [pin]);
  return e;
}

describe('cmd_lspci (kernel/pci/commands.ts) over a table the test fills in', () => {
  it('prints INTA-INTD for pins 1-4, "INT? pin N" for a reserved pin, and names the RAM memory class', async () => {
    const table = [fn(3, 0x05, 0x00, 10, 1), fn(4, 0x01, 0x00, 11, 4), fn(5, 0x02, 0x00, 11, 5), fn(6, 0x0c, 0x03, 9, 0xff), fn(7, 0x12, 0x34, 5, 0)];
    const r: RoutineResult = await runRoutine({
      modules: [string, pciCmds, fakes], routine: 'cmd_lspci',
      args: { eax: cstr('') },
      memory: [{ at: L('pci_table'), bytes: table.flat() }, { at: L('pci_count'), bytes: [table.length, 0, 0, 0] }, { at: L('con_len'), bytes: [0, 0, 0, 0] }],
      read: [{ at: L('con_len'), length: 4 }, { at: L('con_out'), length: OUT_SIZE }],
    });
    const len = new DataView(r.memory[0]!.buffer, r.memory[0]!.byteOffset).getUint32(0, true);
    const out = Buffer.from(r.memory[1]!.subarray(0, len)).toString('latin1');
    expect(out.split('\r\n')).toEqual([
      '[lspci] 00:03.0 RAM memory: 1af4:1000 irq 10 (INTA)',
      '[lspci] 00:04.0 SCSI storage controller: 1af4:1000 irq 11 (INTD)',
      '[lspci] 00:05.0 Ethernet controller: 1af4:1000 irq 11 (INT? pin 5)',
      '[lspci] 00:06.0 USB controller: 1af4:1000 irq 9 (INT? pin 255)',
      '[lspci] 00:07.0 Class 1234: 1af4:1000',
      '',
    ]);
    expect(r.clobbered).toEqual([]);
  });
});
