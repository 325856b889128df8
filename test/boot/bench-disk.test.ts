// The shell's "bench disk" (kernel/blk/bench.ts): a real IDE disk against a
// real virtio-blk disk, both pattern images on the host - the port I/O each
// driver counted must be what each device model needs (the IDE data alone
// is 256 word reads a sector; virtio-blk needs a notify and an ISR read per
// request), and the printed rates and ratio must agree with the printed
// times.  No assertion on how fast anything is.  Then what it says to input
// it cannot use.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Session, ensureImage, startSession } from '../harness/boot.ts';
import { writePatternImage } from '../../toolchain/disk/pattern.ts';

let image = '';
let dir = '';
beforeAll(async () => {
  image = await ensureImage();
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsk-bench-'));
  for (const n of ['ide', 'vd']) writePatternImage(path.join(dir, `${n}.img`), 4096);
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** Type a command and a marker after it, return the lines in between. */
async function run(s: Session, line: string): Promise<string[]> {
  const from = s.lines.length;
  const marker = `done-${Math.random().toString(36).slice(2, 8)}`;
  s.send(`${line}\recho ${marker}\r`);
  const end = (await s.waitFor(new RegExp(`^\\[echo\\] ${marker}$`), { from })).index;
  return s.lines.slice(from, end).filter((l) => /^\[(bench|shell)\] /.test(l));
}

describe('bench disk: IDE against virtio-blk', () => {
  it('reads the same MiB from both and reports time, rate and port I/O that fit each device model', async () => {
    const s = await startSession({
      image,
      extraArgs: [
        '-drive', `file=${path.join(dir, 'ide.img')},format=raw,if=ide,index=1`,
        '-drive', `if=none,id=v0,file=${path.join(dir, 'vd.img')},format=raw`, '-device', 'virtio-blk-pci,drive=v0,addr=0x5',
      ],
    });
    try {
      await s.waitFor(/^tsk> $/, { partial: true });
      const mib = 3; // more than the 2 MiB disks: both reads wrap round to LBA 0
      const out = await run(s, `bench disk ${mib} hdb vda`);
      expect(out).toHaveLength(3);
      const re = /^\[bench\] (\w+) \(([\w-]+)\): (\d+) MiB in (\d+\.\d) ms, (\d+\.\d) MiB\/s, (\d+) port I\/O \((\d+) per MiB\)$/;
      const [ide, vd] = out.slice(0, 2).map((l) => {
        const m = re.exec(l);
        expect(m, l).not.toBeNull();
        return { name: m![1], kind: m![2], mib: +m![3]!, ms: +m![4]!, rate: +m![5]!, pio: +m![6]!, perMiB: +m![7]! };
      });
      expect([ide!.name, ide!.kind, vd!.name, vd!.kind]).toEqual(['hdb', 'ide', 'vda', 'virtio-blk']);
      const sectors = mib * 2048;
      const requests = Math.ceil(sectors / 256) + 1; // 256 sectors a request, one more where the 2 MiB disk wraps
      // IDE: every data word is one in; the command and status registers come on top.
      expect(ide!.pio).toBeGreaterThanOrEqual(256 * sectors);
      // virtio-blk: one notify and at most one ISR read per request, nothing per word.
      expect(vd!.pio).toBeGreaterThanOrEqual(requests);
      expect(vd!.pio).toBeLessThanOrEqual(2 * requests);
      for (const d of [ide!, vd!]) {
        expect(d.mib).toBe(mib);
        expect(d.ms).toBeGreaterThan(0);
        expect(d.perMiB).toBe(Math.floor(d.pio / mib));
        expect(Math.abs(d.rate - mib / (d.ms / 1000)), `${d.name}: rate from the printed time`).toBeLessThan(0.1 + 0.01 * d.rate);
      }
      const cmp = /^\[bench\] vda against hdb: (\d+\.\d)x the speed, (\d+\.\d)x fewer port I\/O \(exits to the hypervisor\)$/.exec(out[2]!);
      expect(cmp, out[2]).not.toBeNull();
      expect(Math.abs(+cmp![1]! - ide!.ms / vd!.ms)).toBeLessThan(0.1 + 0.01 * (ide!.ms / vd!.ms));
      expect(+cmp![2]!).toBe(Math.floor((ide!.pio * 10) / vd!.pio) / 10);
      // The same disk twice: the ratios are about 1 and the port I/O 1.0x - not "1x fewer" of a rounded ratio.
      const same = await run(s, 'bench disk 1 vda vda');
      expect(same[2]).toMatch(/^\[bench\] vda against vda: \d+\.\dx the speed, (1\.0x fewer|1\.\dx more|0\.\dx fewer) port I\/O/);
      // The default pair is the first IDE disk (hda, the boot disk) and the first virtio-blk disk.
      const dflt = await run(s, 'bench disk 1');
      expect(dflt.map((l) => /^\[bench\] (\w+) \(/.exec(l)?.[1] ?? l)).toEqual(['hda', 'vda', expect.stringMatching(/^\[bench\] vda against hda: /)]);
    } finally {
      await s.close();
    }
  });
});

describe('bench disk: bad input', () => {
  it('names what it cannot use and measures nothing', async () => {
    const s = await startSession({ image });
    try {
      await s.waitFor(/^tsk> $/, { partial: true });
      expect(await run(s, 'bench')).toEqual(['[shell] usage: bench disk <MiB> [<disk> <disk>]']);
      expect(await run(s, 'bench net 4')).toEqual(['[shell] usage: bench disk <MiB> [<disk> <disk>]']);
      expect(await run(s, 'bench disk')).toEqual(["[shell] bench disk: expected MiB from 1 to 4096, got ''"]);
      expect(await run(s, 'bench disk 4097')).toEqual(["[shell] bench disk: expected MiB from 1 to 4096, got '4097'"]);
      expect(await run(s, 'bench disk 2x')).toEqual(["[shell] bench disk: expected MiB from 1 to 4096, got '2x'"]);
      expect(await run(s, 'bench disk 0')).toEqual(['[shell] bench disk: read at least 1 MiB']);
      expect(await run(s, 'bench disk 1 nosuch hda')).toEqual(["[shell] bench disk: no disk 'nosuch' (blk lists them)"]);
      expect(await run(s, 'bench disk 1 hda')).toEqual(['[shell] usage: bench disk <MiB> [<disk> <disk>]']);
      expect(await run(s, 'bench disk 1 hda hda x')).toEqual(['[shell] usage: bench disk <MiB> [<disk> <disk>]']);
      expect(await run(s, 'bench disk 1 hda vdq')).toEqual(["[shell] bench disk: no disk 'vdq' (blk lists them)"]);
      expect(await run(s, 'bench disk 1')).toEqual(['[shell] bench disk: no virtio-blk disk to compare (name two disks to compare others)']);
      expect(await run(s, 'bench disk 1 a b c')).toEqual(["[shell] bench disk: no disk 'a' (blk lists them)"]);
    } finally {
      await s.close();
    }
  });
});
