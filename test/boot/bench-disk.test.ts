// The shell's "bench disk" (kernel/blk/bench.ts): what it says to input it
// cannot use.  (Its measurement of two real disks is in the storage tests.)
import { beforeAll, describe, expect, it } from 'vitest';
import { type Session, ensureImage, startSession } from '../harness/boot.ts';

let image = '';
beforeAll(async () => { image = await ensureImage(); });

/** Type a command and a marker after it, return the lines in between. */
async function run(s: Session, line: string): Promise<string[]> {
  const from = s.lines.length;
  const marker = `done-${Math.random().toString(36).slice(2, 8)}`;
  s.send(`${line}\recho ${marker}\r`);
  const end = (await s.waitFor(new RegExp(`^\\[echo\\] ${marker}$`), { from })).index;
  return s.lines.slice(from, end).filter((l) => /^\[(bench|shell)\] /.test(l));
}

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
