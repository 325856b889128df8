// The same image boots on both QEMU machines tskernel supports: 'pc'
// (i440FX + PIIX, IDE disk) and 'q35' (ICH9, the disk behind AHCI, where
// SeaBIOS derives the disk geometry from the image size: the image must be
// whole cylinders, see toolchain/image.ts).  Boot, a kernel fault and
// preemptive scheduling, asserted on what the guest prints and how QEMU exits.
import { beforeAll, describe, expect, it } from 'vitest';
import { boot, ensureImage, expectLinesInOrder, expectStatus, report, symbolAddress } from '../harness/boot.ts';

let image = '';
beforeAll(async () => { image = await ensureImage(); });

const hex8 = (v: number) => v.toString(16).toUpperCase().padStart(8, '0');

for (const machine of ['pc', 'q35'] as const) {
  describe(`-machine ${machine}`, () => {
    it('boots through the boot sector, stage 2 and protected mode to ready, and powers off (33)', async () => {
      const r = await boot({ image, machine, cmdline: 'test=boot' });
      expectLinesInOrder(r, [
        /^\[boot\] tskernel boot sector$/,
        /^\[boot\] LBA reads$/,
        /^\[stage2\] running in real mode at 0x7E00$/,
        /^\[kernel\] protected mode/,
        /^\[boot\] cmdline: test=boot$/, // fw_cfg reaches the guest on this machine too
        /^\[tsk\] ready$/,
        /^\[tsk\] poweroff$/,
      ]);
      expectStatus(r, 33); // isa-debug-exit works here too
      expect(r.tripleFault).toBe(false);
    });

    it('test=div0: dumps the divide error and panics (35)', async () => {
      const eip = await symbolAddress('scenario_div0_fault');
      const r = await boot({ image, machine, cmdline: 'test=div0' });
      expectLinesInOrder(r, [
        new RegExp(`^\\[exception\\] #DE divide error \\(vector 0\\) error=0x00000000 EIP=0x${hex8(eip)}$`),
        /^\[exception\] CS=0x00000008 EFLAGS=0x[0-9A-F]{8}$/,
        /^\[exception\] EAX=0x[0-9A-F]{8} EBX=0x[0-9A-F]{8} ECX=0x[0-9A-F]{8} EDX=0x[0-9A-F]{8}$/,
        /^\[panic\] unhandled exception in the kernel$/,
      ]);
      expectStatus(r, 35);
    });

    it('test=preempt: two CPU-bound programs are interleaved by the timer and both finish', async () => {
      const r = await boot({ image, machine, cmdline: 'test=preempt' });
      const [before] = expectLinesInOrder(r, [/^\[preempt\] ticks before: (\d+)$/]);
      // Steps found anywhere in a line: this test is about the machine, not about
      // whole-line output (under load two programs' lines can still tear into one another).
      const steps = r.lines.flatMap((l) => [...l.matchAll(/\[spin\] pid (\d) step (\d)\/5/g)].map((m) => [Number(m[1]), Number(m[2])]));
      const switches = steps.slice(1).filter(([pid], i) => pid !== steps[i]![0]).length;
      expect(switches, `${steps.join(' ')}\n${report(r)}`).toBeGreaterThanOrEqual(4); // run to completion would switch once
      expectLinesInOrder(r, [/^\[proc\] pid 1 exited with code 0$/]);
      expectLinesInOrder(r, [/^\[proc\] pid 2 exited with code 0$/]);
      const [after] = expectLinesInOrder(r, [/^\[preempt\] ticks after: (\d+)$/]);
      expect(Number(/(\d+)$/.exec(after!)![1]) - Number(/(\d+)$/.exec(before!)![1])).toBeGreaterThanOrEqual(25); // each spin needs 5 steps x 5 ticks
      expectStatus(r, 33);
    });
  });
}
