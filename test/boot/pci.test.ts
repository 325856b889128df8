// PCI bus 0 as the kernel enumerates it (kernel/pci/), asserted two ways:
// against what QEMU documents for its machines (the i440FX/PIIX3 functions
// of `pc`, the ICH9 ones of `q35`, virtio's vendor 0x1af4 and device IDs
// 0x1000 net / 0x1001 block for transitional devices, the PIIX3 routing of
// INTA# in slot s to PIRQ[(s - 1) mod 4] and SeaBIOS's PIRQ A-D = IRQ 10, 10,
// 11, 11), and against QEMU's own monitor view of the same run (`info pci`),
// BARs and sizes included.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BootOptions, type Session, boot, ensureImage, expectStatus, startSession } from '../harness/boot.ts';

let image = '';
let dir = '';
beforeAll(async () => {
  image = await ensureImage();
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsk-pci-'));
  for (const n of ['a', 'b']) writeFileSync(path.join(dir, `${n}.img`), Buffer.alloc(1024 * 1024));
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** What lspci printed for one function, and what lspci -v added. */
interface Fn { slot: string; cls: string; id: string; irq?: string; bars: string[]; extra: string }

/** Type a command and a marker after it (typeahead is buffered), return the lines in between. */
async function run(s: Session, line: string): Promise<string[]> {
  const from = s.lines.length;
  const marker = `done-${Math.random().toString(36).slice(2, 8)}`;
  s.send(`${line}\recho ${marker}\r`);
  const end = (await s.waitFor(new RegExp(`^\\[echo\\] ${marker}$`), { from })).index;
  return s.lines.slice(from, end).filter((l) => /^\[(lspci|shell)\] /.test(l));
}

/** Parse `lspci -v`: a function line, then its indented BAR lines and its command/capabilities line. */
function parse(lines: readonly string[]): Fn[] {
  const fns: Fn[] = [];
  for (const l of lines) {
    const f = /^\[lspci\] (\S\S:\S\S\.\S) (.+): ([0-9a-f]{4}:[0-9a-f]{4})(?: irq (\d+) \(INT([A-D])\))?$/.exec(l);
    if (f) { fns.push({ slot: f[1]!, cls: f[2]!, id: f[3]!, irq: f[4] ? `${f[4]} ${f[5]}` : undefined, bars: [], extra: '' }); continue; }
    const b = /^\[lspci\]   (BAR\d .*)$/.exec(l);
    if (b) { fns.at(-1)!.bars.push(b[1]!); continue; }
    const c = /^\[lspci\]   (command .*)$/.exec(l);
    if (c) { fns.at(-1)!.extra = c[1]!; continue; }
    throw new Error(`unexpected lspci line: ${l}`);
  }
  return fns;
}

/** QEMU's `info pci`, in lspci -v's terms: slot, id, irq, and each BAR as "BARn <kind> 0x<addr> size <bytes>". */
function parseInfoPci(text: string): { slot: string; id: string; irq?: string; bars: string[] }[] {
  const out: { slot: string; id: string; irq?: string; bars: string[] }[] = [];
  const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
  for (const raw of text.split(/\r?\n/)) {
    const l = raw.trim();
    let m = /^Bus\s+(\d+), device\s+(\d+), function (\d+):$/.exec(l);
    if (m) { out.push({ slot: `${hex(+m[1]!, 2)}:${hex(+m[2]!, 2)}.${m[3]}`, id: '', bars: [] }); continue; }
    const cur = out.at(-1);
    if (!cur) continue;
    if ((m = /: PCI device ([0-9a-f]{4}:[0-9a-f]{4})$/.exec(l))) cur.id = m[1]!;
    else if ((m = /^IRQ (\d+), pin ([A-D])$/.exec(l))) cur.irq = `${m[1]} ${m[2]}`;
    else if ((m = /^BAR(\d): (I\/O|32 bit memory|64 bit memory|32 bit prefetchable memory|64 bit prefetchable memory) at 0x([0-9a-f]+) \[0x([0-9a-f]+)\]\.$/.exec(l))) {
      const [, n, kind, start, end] = m;
      const bytes = parseInt(end!, 16) - parseInt(start!, 16) + 1;
      const size = bytes >= 2 ** 32 ? `${bytes / 2 ** 30} GiB` : `${bytes}`; // lspci -v's unit from 4 GiB on
      const k = kind === 'I/O' ? `I/O 0x${hex(parseInt(start!, 16), 4)}`
        : `${kind!.startsWith('64') ? `mem64 0x${hex(parseInt(start!, 16), 16)}` : `mem32 0x${hex(parseInt(start!, 16), 8)}`}${kind!.includes('prefetchable') ? ' prefetchable' : ''}`;
      cur.bars.push(`BAR${n} ${k} size ${size}`);
    }
  }
  return out;
}

/** Boot to the prompt, run lspci and lspci -v, read QEMU's info pci, power off. */
async function survey(o: BootOptions): Promise<{ short: Fn[]; verbose: Fn[]; info: ReturnType<typeof parseInfoPci>; boot: readonly string[] }> {
  const s = await startSession({ image, ...o });
  try {
    await s.waitFor(/^tsk> $/, { partial: true });
    const short = parse(await run(s, 'lspci'));
    const verbose = parse(await run(s, 'lspci -v'));
    const info = parseInfoPci(await s.monitor('info pci'));
    const boot = [...s.lines];
    s.send('poweroff\r');
    expectStatus(await s.exited, 33);
    return { short, verbose, info, boot };
  } finally {
    await s.close();
  }
}

/** The guest's view equals QEMU's: the same functions, IDs, interrupts, and BARs (addresses and sizes). */
function expectSameAsQemu(r: Awaited<ReturnType<typeof survey>>): void {
  expect(r.verbose.map((f) => ({ slot: f.slot, id: f.id, irq: f.irq, bars: f.bars })))
    .toEqual(r.info.map((f) => ({ slot: f.slot, id: f.id, irq: f.irq, bars: f.bars })));
  expect(r.short.map((f) => [f.slot, f.cls, f.id, f.irq])).toEqual(r.verbose.map((f) => [f.slot, f.cls, f.id, f.irq]));
}

const PC_BASE = [
  ['00:00.0', 'Host bridge', '8086:1237', undefined], // i440FX
  ['00:01.0', 'ISA bridge', '8086:7000', undefined], // PIIX3, multi-function
  ['00:01.1', 'IDE interface', '8086:7010', undefined], // legacy IDE: IRQ 14/15, no pin
  ['00:01.3', 'Bridge', '8086:7113', '9 A'], // PIIX4 ACPI power management, SCI on IRQ 9
];

describe('lspci', () => {
  it('pc: the i440FX host bridge and the PIIX3 functions, as QEMU sees them; "[pci] N functions" at boot', async () => {
    const r = await survey({});
    expect(r.boot.indexOf('[pci] 4 functions on bus 0')).toBeGreaterThan(-1);
    expect(r.boot.indexOf('[pci] 4 functions on bus 0')).toBeLessThan(r.boot.indexOf('[tsk] ready'));
    expect(r.short.map((f) => [f.slot, f.cls, f.id, f.irq])).toEqual(PC_BASE);
    expectSameAsQemu(r);
    // The IDE function's one I/O BAR: the 16 bytes of bus-master DMA registers.
    expect(r.verbose[2]!.bars).toEqual([expect.stringMatching(/^BAR4 I\/O 0x[0-9a-f]{4} size 16$/)]);
  });

  it('pc: virtio devices at chosen slots (5, 31) and a multi-function device (6.0, 6.1), with IDs, IRQs, BARs and capabilities', async () => {
    const r = await survey({
      extraArgs: [
        '-drive', `if=none,id=d0,file=${path.join(dir, 'a.img')},format=raw,snapshot=on`,
        '-device', 'virtio-blk-pci,drive=d0,addr=0x5',
        '-nic', 'none',
        '-netdev', 'socket,id=n0,udp=127.0.0.1:9,localaddr=127.0.0.1:0', // no traffic: the kernel has no network driver
        '-device', 'virtio-net-pci,netdev=n0,addr=0x1f,romfile=',
        '-device', 'virtio-net-pci,addr=0x6.0,multifunction=on,romfile=',
        '-drive', `if=none,id=d1,file=${path.join(dir, 'b.img')},format=raw,readonly=on`,
        '-device', 'virtio-blk-pci,drive=d1,addr=0x6.1',
      ],
    });
    expect(r.boot).toContain('[pci] 8 functions on bus 0');
    // INTA# of slot s goes to PIRQ[(s + 1 - 2) mod 4]; SeaBIOS routes PIRQA-D to IRQ 10, 10, 11, 11.
    expect(r.short.map((f) => [f.slot, f.cls, f.id, f.irq])).toEqual([
      ...PC_BASE,
      ['00:05.0', 'SCSI storage controller', '1af4:1001', '10 A'],
      ['00:06.0', 'Ethernet controller', '1af4:1000', '10 A'],
      ['00:06.1', 'SCSI storage controller', '1af4:1001', '10 A'],
      ['00:1f.0', 'Ethernet controller', '1af4:1000', '11 A'],
    ]);
    expectSameAsQemu(r);
    const blk = r.verbose[4]!, net = r.verbose[7]!;
    // Transitional virtio: legacy registers in I/O BAR0 (0x80 bytes for block, 0x20 for net),
    // the MSI-X table in BAR1, the virtio 1.0 structures in a 64-bit prefetchable BAR4.
    expect(blk.bars).toEqual([
      expect.stringMatching(/^BAR0 I\/O 0x[0-9a-f]{4} size 128$/),
      expect.stringMatching(/^BAR1 mem32 0x[0-9a-f]{8} size 4096$/),
      expect.stringMatching(/^BAR4 mem64 0x[0-9a-f]{16} prefetchable size 16384$/),
    ]);
    expect(net.bars[0]).toMatch(/^BAR0 I\/O 0x[0-9a-f]{4} size 32$/);
    // MSI-X first, then the five vendor-specific virtio capabilities.
    for (const f of [blk, net]) expect(f.extra).toMatch(/, capabilities: 0x11 0x09 0x09 0x09 0x09 0x09$/);
    // Sizing restored the command register the firmware left (SeaBIOS enabled I/O and memory decoding).
    expect(parseInt(/^command 0x([0-9a-f]{4})/.exec(blk.extra)![1]!, 16) & 3).toBe(3);
  });

  it('pc: a 64-bit BAR of 4 GiB (ivshmem, placed above 4 GiB) is listed with its size, not skipped as unimplemented', async () => {
    // Its low size dword is 0 (no writable address bit below 4 GiB): only both halves together say "implemented".
    const r = await survey({
      extraArgs: [
        '-object', `memory-backend-file,id=hm,size=4G,share=on,mem-path=${path.join(dir, 'shm')}`, // sparse: nothing touches it
        '-device', 'ivshmem-plain,memdev=hm,addr=0x7',
      ],
    });
    expectSameAsQemu(r);
    expect(r.short.at(-1)!.cls).toBe('RAM memory'); // ivshmem's class 0x0500, named like the real tool does
    expect(r.verbose.at(-1)!.bars).toEqual([
      expect.stringMatching(/^BAR0 mem32 0x[0-9a-f]{8} size 256$/),
      expect.stringMatching(/^BAR2 mem64 0x[0-9a-f]{16} prefetchable size 4 GiB$/),
    ]);
  });

  it('BAR sizing never switches a bridge\'s decoding off; other functions are sized with it off, then restored (QEMU\'s pci_cfg_write trace)', async () => {
    // The trace logs every configuration write, the firmware's too; SeaBIOS only ever writes a
    // command value with I/O and memory decoding on, so a value with both off is the kernel's sizing.
    const log = path.join(dir, 'pci-trace.log');
    const r = await boot({ image, cmdline: 'test=boot', extraArgs: ['-trace', `pci_cfg_write,file=${log}`] });
    expectStatus(r, 33);
    const trace = readFileSync(log, 'utf8');
    expect(trace).toMatch(/^pci_cfg_write i440FX 00:00\.0 @0x4 <- /m); // the firmware's writes: the trace works
    const off = new Map<string, number>();
    for (const m of trace.matchAll(/^pci_cfg_write \S+ (\S\S:\S\S\.\S) @0x4 <- 0x([0-9a-f]+)$/gm)) {
      if ((parseInt(m[2]!, 16) & 3) === 0) off.set(m[1]!, (off.get(m[1]!) ?? 0) + 1);
    }
    // The host bridge (00:00.0), the ISA bridge (00:01.0) and the ACPI function (class 0x0680, a bridge): never.
    // The IDE function (00:01.1): once, while its BARs are sized.
    expect(Object.fromEntries(off), trace.slice(-3000)).toEqual({ '00:01.1': 1 });
  });

  it('q35: the ICH9 host bridge 8086:29c0 and its LPC, SATA and SMBus functions, as QEMU sees them', async () => {
    const r = await survey({ machine: 'q35' });
    expect(r.short.map((f) => [f.slot, f.cls, f.id])).toEqual([
      ['00:00.0', 'Host bridge', '8086:29c0'],
      ['00:1f.0', 'ISA bridge', '8086:2918'],
      ['00:1f.2', 'SATA controller', '8086:2922'],
      ['00:1f.3', 'SMBus', '8086:2930'],
    ]);
    expectSameAsQemu(r);
  });

  it('test=pci_enable: pci_enable sets exactly the I/O, memory and bus-master bits asked for, and keeps the others', async () => {
    const r = await boot({
      image, cmdline: 'test=pci_enable',
      extraArgs: [
        '-drive', `if=none,id=d0,file=${path.join(dir, 'a.img')},format=raw,snapshot=on`,
        '-device', 'virtio-blk-pci,drive=d0,addr=0x5',
        '-device', 'virtio-net-pci,addr=0x1f,romfile=',
      ],
    });
    expectStatus(r, 33);
    const calls = r.lines.map((l) => /^\[pci\] pci_enable\(0x([0-9A-F]+), (\d), (\d), (\d)\) -> command 0x([0-9A-F]+)$/.exec(l)).filter((m) => m !== null);
    // Device 5 and device 31, function 0: addresses 5 << 3 and 31 << 3; three calls each.
    expect(calls.map((m) => [parseInt(m[1]!, 16), `${m[2]}${m[3]}${m[4]}`])).toEqual([
      [0x28, '000'], [0x28, '101'], [0x28, '111'], [0xf8, '000'], [0xf8, '101'], [0xf8, '111'],
    ]);
    for (const m of calls) {
      const cmd = parseInt(m[5]!, 16);
      expect(cmd & 7).toBe(Number(m[2]) | Number(m[3]) << 1 | Number(m[4]) << 2);
      expect(cmd & ~7).toBe(parseInt(calls[0]![5]!, 16) & ~7); // the other bits (SERR# enable ...) as the firmware left them
    }
  });

  it('an unknown argument is refused with the usage', async () => {
    const s = await startSession({ image });
    try {
      await s.waitFor(/^tsk> $/, { partial: true });
      expect(await run(s, 'lspci -x')).toEqual(["[shell] lspci: unknown argument '-x' (usage: lspci [-v])"]);
      s.send('poweroff\r');
      expectStatus(await s.exited, 33);
    } finally {
      await s.close();
    }
  });
});
