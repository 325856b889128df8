// Interrupts: exceptions through the IDT, the 8259A PIC, the PIT, and the
// serial shell - asserted on the guest's serial output and exit status.
import { beforeAll, describe, expect, it } from 'vitest';
import { boot, ensureImage, expectLinesInOrder, expectStatus, report, startSession, symbolAddress } from '../harness/boot.ts';

let image = '';
beforeAll(async () => { image = await ensureImage(); });

const hex8 = (v: number) => v.toString(16).toUpperCase().padStart(8, '0');

describe('exceptions in the kernel dump and panic (status 35)', () => {
  const cases = [
    { test: 'div0', name: '#DE divide error', vector: 0, error: 0, label: 'scenario_div0_fault' },
    { test: 'ud', name: '#UD invalid opcode', vector: 6, error: 0, label: 'scenario_ud_fault' },
    { test: 'gp', name: '#GP general protection', vector: 13, error: 0x38, label: 'scenario_gp_fault' },
    { test: 'pf', name: '#PF page fault', vector: 14, error: 0, label: 'scenario_pf_fault' },
  ];
  for (const c of cases) {
    it(`test=${c.test}: ${c.name}, error code ${c.error}, EIP = ${c.label}`, async () => {
      const eip = await symbolAddress(c.label);
      const r = await boot({ image, cmdline: `test=${c.test}` });
      const escaped = c.name.replace(/[#()]/g, '\\$&');
      expectLinesInOrder(r, [
        new RegExp(`^\\[exception\\] ${escaped} \\(vector ${c.vector}\\) error=0x${hex8(c.error)} EIP=0x${hex8(eip)}$`),
        /^\[exception\] CS=0x00000008 EFLAGS=0x[0-9A-F]{8}$/,
        /^\[exception\] EAX=0x[0-9A-F]{8} EBX=0x[0-9A-F]{8} ECX=0x[0-9A-F]{8} EDX=0x[0-9A-F]{8}$/,
        /^\[exception\] ESI=0x[0-9A-F]{8} EDI=0x[0-9A-F]{8} EBP=0x[0-9A-F]{8} ESP=0x[0-9A-F]{8}$/,
        ...(c.vector === 14 ? [/^\[exception\] CR2=0x00000000 error=0x00 \(page not present, read, supervisor mode\)$/] : []),
        /^\[panic\] unhandled exception in the kernel$/,
      ]);
      expectStatus(r, 35);
    });
  }

  it('test=bp: #BP reports the address after int3 and execution resumes (status 33)', async () => {
    const int3 = await symbolAddress('scenario_bp_int3');
    const r = await boot({ image, cmdline: 'test=bp' });
    expectLinesInOrder(r, [
      new RegExp(`^\\[exception\\] #BP breakpoint at EIP=0x${hex8(int3 + 1)}, resuming$`),
      /^\[scenario\] bp: execution resumed after int3$/,
    ]);
    expectStatus(r, 33);
  });
});

describe('8259A PIC and 8254 PIT', () => {
  it('remaps to 0x20/0x28, the masks read back as programmed, and IRQ0 arrives on vector 32', async () => {
    const r = await boot({ image, cmdline: 'test=ticks' });
    const [, masks] = expectLinesInOrder(r, [
      /^\[pic\] remapped master=0x20 slave=0x28$/,
      /^\[pic\] masks master=0x([0-9A-F]{2}) slave=0x([0-9A-F]{2}) \(programmed master=0x([0-9A-F]{2}) slave=0x([0-9A-F]{2})\)$/,
      /^\[pit\] channel 0 mode 2 \(rate generator\), divisor 11932 -> 100 Hz$/,
      /^\[pit\] first tick arrived on vector 32 \(IRQ0 remapped to 32: ok\)$/,
    ]);
    const m = /master=0x(..) slave=0x(..) \(programmed master=0x(..) slave=0x(..)\)/.exec(masks!)!;
    expect([m[1], m[2]]).toEqual([m[3], m[4]]);
    expect(m[1]).toBe('FB'); // only the cascade line open before any driver
    expectStatus(r, 33);
  });

  for (const hz of [100, 250]) {
    it(`ticks advance at hz=${hz}: a 1000 ms sleep counts ${hz} ticks and takes about a second of host time`, async () => {
      const r = await boot({ image, cmdline: `test=ticks hz=${hz}` });
      const [start, done] = expectLinesInOrder(r, [/^\[ticks\] sleeping 1000 ms$/, /^\[ticks\] elapsed (\d+) ticks at (\d+) Hz$/]);
      const m = /elapsed (\d+) ticks at (\d+) Hz/.exec(done!)!;
      expect(Number(m[2])).toBe(hz);
      expect(Number(m[1])).toBeGreaterThanOrEqual(hz);
      expect(Number(m[1])).toBeLessThanOrEqual(hz + 2);
      const t0 = r.times[r.lines.indexOf(start!)]!;
      const t1 = r.times[r.lines.indexOf(done!)]!;
      // QEMU's PIT runs on the virtual clock, which follows host time under TCG: allow a wide margin.
      expect(t1 - t0, report(r)).toBeGreaterThan(600);
      expect(t1 - t0, report(r)).toBeLessThan(3000);
      expectStatus(r, 33);
    });
  }

  it('rejects an out-of-range hz and falls back to 100', async () => {
    const r = await boot({ image, cmdline: 'test=boot hz=5' });
    expectLinesInOrder(r, [/^\[pit\] hz=5 is out of range \(19-1000\); using 100$/, /divisor 11932 -> 100 Hz$/, /^\[tsk\] ready$/]);
    expectStatus(r, 33);
  });

  it('a spurious IRQ7 (vector 39 with the ISR bit clear) is counted, not acknowledged', async () => {
    const r = await boot({ image, cmdline: 'test=spurious' });
    expectLinesInOrder(r, [/^\[scenario\] spurious: raising vector 39/, /^\[pic\] spurious IRQ7 count: 1$/]);
    expectStatus(r, 33);
  });
});

describe('the serial shell', () => {
  it('answers every command, survives random bytes and a 10 KiB line, and powers off', async () => {
    const s = await startSession({ image });
    try {
      await s.waitFor(/^tsk> $/, { partial: true });
      const run = async (cmd: string, expect: RegExp) => {
        const from = s.lines.length;
        s.send(cmd + '\n');
        return (await s.waitFor(expect, { from })).line;
      };
      await run('help', /^\[shell\] poweroff\s+power the machine off/);
      const t1 = Number(/^\[ticks\] (\d+)/.exec(await run('ticks', /^\[ticks\] \d+ ticks at 100 Hz, PIT divisor 11932$/))![1]);
      await new Promise((r) => setTimeout(r, 300));
      const t2 = Number(/^\[ticks\] (\d+)/.exec(await run('ticks', /^\[ticks\] \d+ ticks at 100 Hz/))![1]);
      expect(t2).toBeGreaterThan(t1);
      await run('idt', /^\[idt\] IDTR base=0x[0-9A-F]{8} limit=0x000007FF$/);
      await s.waitFor(/^\[idt\] vector 32 handler=0x[0-9A-F]{8} fired [1-9]\d* times$/);
      await s.waitFor(/^\[idt\] vector 36 handler=/);
      const masks = await run('pic', /^\[pic\] masks master=0x/);
      expect(masks).toBe('[pic] masks master=0xEA slave=0xFF (programmed master=0xEA slave=0xFF)'); // IRQ0, 2, 4 open
      await s.waitFor(/^\[pic\] IRR master=0x[0-9A-F]{2} slave=0x[0-9A-F]{2} ISR master=0x00 slave=0x00$/);
      await s.waitFor(/^\[pic\] spurious IRQ7=0 IRQ15=0$/);
      await run('int 3', /^\[exception\] #BP breakpoint at EIP=0x[0-9A-F]{8}, resuming$/);
      await s.waitFor(/^\[shell\] int: returned from vector 3$/);
      await run('int 200', /^\[trap\] vector 200 has no handler \(ignored\)$/);
      await run('int 13', /^\[shell\] int: refusing vector 13 \(CPU exception/);
      await run('int 300', /^\[shell\] int: expected a vector number 0-255, got '300'$/);
      await run('int', /^\[shell\] int: expected a vector number 0-255, got ''$/);
      await run('frobnicate now', /^\[shell\] unknown command 'frobnicate' \(try help\)$/);
      await run('echo hello, world', /^\[echo\] hello, world$/);
      await run('ecx\x08ho edited', /^\[echo\] edited$/);
      // Random bytes (a fixed seed, so a failure can be replayed), then a 10 KiB line.
      let seed = 0x2545f491;
      const noise = Buffer.alloc(4096, 0).map(() => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed & 0xff; });
      s.send(Buffer.from(noise));
      s.send('\n');
      await new Promise((r) => setTimeout(r, 300));
      await run('x'.repeat(10 * 1024), /^\[shell\] line too long \(more than 127 characters\); ignored$/);
      await run('echo still alive', /^\[echo\] still alive$/);
      await run('uart', /^\[uart\] rx buffer 256 bytes, waiting: \d+, input held \(buffer full\): \d+ times, dropped bytes: 0$/);
      s.send('poweroff\r\n');
      const r = await s.exited;
      expectStatus(r, 33);
    } finally {
      await s.close();
    }
  });
});
