// The page allocator's bitmap routines (kernel/mm/pmm.ts) run without a boot
// (test/harness/routine.ts): a fake map built with pmm_mark - overlapping
// usable ranges, a reserved range inside one, a range ending at 4 GiB - then
// frames taken and given back, every misuse pmm_release must refuse, and the
// allocator run dry.  All cases run in one process, in order, so the bitmaps
// carry over from case to case as they would in the kernel.
import { describe, expect, it } from 'vitest';
import { L } from '../../toolchain/x86/operands.ts';
import { pmm, PMM_RANGE } from '../../kernel/mm/pmm.ts';
import { type RoutineCase, type RoutineResult, runRoutines } from '../harness/routine.ts';

const BASE = PMM_RANGE.base;
const EINVAL = -22 >>> 0;
const counts = [{ at: L('pmm_total'), length: 4 }, { at: L('pmm_free_pages'), length: 4 }];
const u32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
const totals = (r: RoutineResult) => ({ total: u32(r.memory[0]!), free: u32(r.memory[1]!) });

const mark = (name: string, start: number, end: number, usable: 0 | 1): RoutineCase =>
  ({ name, routine: 'pmm_mark', args: { eax: start, edx: end, ecx: usable }, read: counts });
const take = (name: string): RoutineCase => ({ name, routine: 'pmm_take', read: counts });
const release = (name: string, addr: number): RoutineCase => ({ name, routine: 'pmm_release', args: { eax: addr }, read: counts });

describe('pmm_mark, pmm_take, pmm_release (kernel/mm/pmm.ts) over a fake memory map', () => {
  it('counts each usable frame once, lets reserved win, hands out the lowest frame, and refuses every bad free', async () => {
    const usableFrames = (0x200000 - BASE) / 4096;
    const cases: RoutineCase[] = [
      mark('usable 1 MiB-2 MiB', 0x100000, 0x200000, 1),
      mark('the same range again (an overlapping entry)', 0x180000, 0x200000, 1),
      mark('reserved 0x1A0800-0x1A08FF: the whole frame 0x1A0000 goes', 0x1a0800, 0x1a0900, 0),
      mark('usable from 0x3FE800 to 4 GiB: only the whole frame 0x3FF000 inside the range', 0x3fe800, 0, 1),
      mark('usable below PMM_BASE only: nothing', 0x100000, BASE, 1),
      release('unaligned', BASE + 8),
      release('below PMM_BASE', BASE - 0x1000),
      release('at PMM_LIMIT', PMM_RANGE.limit),
      release('reserved frame', 0x1a0000),
      release('never usable', 0x300000),
      release('double free: the frame is free already', BASE),
      take('first take'),
      take('second take'),
      release('give the first back', BASE),
      release('give it back again: double free', BASE),
      take('take again: the lowest free frame'),
    ];
    const dry = usableFrames - 1 + 1 - 2; // frames 0..143 minus the reserved one, plus 0x3FF000, minus the two held
    for (let i = 0; i < dry; i++) cases.push(take(`drain ${i}`));
    cases.push(take('nothing left'));
    cases.push(release('give back 0x3FF000', 0x3ff000));
    const rs = await runRoutines({ modules: [pmm], cases });
    const at = (name: string) => rs[cases.findIndex((c) => c.name === name)]!;

    expect(totals(at('usable 1 MiB-2 MiB'))).toEqual({ total: usableFrames, free: usableFrames });
    expect(totals(at('the same range again (an overlapping entry)'))).toEqual({ total: usableFrames, free: usableFrames });
    expect(totals(at('reserved 0x1A0800-0x1A08FF: the whole frame 0x1A0000 goes'))).toEqual({ total: usableFrames - 1, free: usableFrames - 1 });
    const all = usableFrames;
    expect(totals(at('usable from 0x3FE800 to 4 GiB: only the whole frame 0x3FF000 inside the range'))).toEqual({ total: all, free: all });
    expect(totals(at('usable below PMM_BASE only: nothing'))).toEqual({ total: all, free: all });
    for (const c of cases.filter((x) => x.routine === 'pmm_mark')) expect(at(c.name!).changed.filter((x) => !['eax', 'edx'].includes(x)), c.name).toEqual([]);

    const refused = ['unaligned', 'below PMM_BASE', 'at PMM_LIMIT', 'reserved frame', 'never usable', 'double free: the frame is free already', 'give it back again: double free'];
    for (const n of refused) {
      expect(at(n).regs.eax, n).toBe(EINVAL);
      expect(totals(at(n)), n).toEqual({ total: all, free: n.startsWith('give') ? all - 1 : all }); // nothing changed
    }
    // Each kind of mistake has its own reason (EDX points at it); the same kind, the same text.
    const reason = (n: string) => at(n).regs.edx;
    expect(new Set(refused.map(reason)).size).toBe(4);
    expect(reason('below PMM_BASE')).toBe(reason('at PMM_LIMIT'));
    expect(reason('reserved frame')).toBe(reason('never usable'));
    expect(reason('double free: the frame is free already')).toBe(reason('give it back again: double free'));

    expect(at('first take').regs.eax).toBe(BASE);
    expect(at('second take').regs.eax).toBe(BASE + 0x1000);
    expect(totals(at('second take'))).toEqual({ total: all, free: all - 2 });
    expect(at('give the first back').regs.eax).toBe(0);
    expect(totals(at('give the first back'))).toEqual({ total: all, free: all - 1 });
    expect(at('take again: the lowest free frame').regs.eax).toBe(BASE);

    const drained = rs.filter((_, i) => cases[i]!.name!.startsWith('drain')).map((r) => r.regs.eax);
    expect(new Set(drained).size).toBe(drained.length); // never the same frame twice
    expect(drained).not.toContain(0x1a0000); // never the reserved one
    expect(drained.every((x) => x % 4096 === 0 && x >= BASE + 0x2000 && x < PMM_RANGE.limit)).toBe(true);
    expect(drained.at(-1)).toBe(0x3ff000); // lowest first: the lone frame at the top comes last
    expect(at('nothing left').regs.eax).toBe(0);
    expect(totals(at('nothing left'))).toEqual({ total: all, free: 0 });
    expect(at('give back 0x3FF000').regs.eax).toBe(0);
    expect(totals(at('give back 0x3FF000'))).toEqual({ total: all, free: 1 });
    for (const r of rs) expect(r.clobbered).toEqual([]);
  });
});

describe('pmm_take_pages (kernel/mm/pmm.ts): runs of contiguous frames, for virtqueue rings', () => {
  it('takes the lowest run that is long enough, skips holes too short, and gives back nothing on failure', async () => {
    const frames = (0x200000 - BASE) / 4096;
    const page = (i: number) => BASE + i * 4096;
    const takePages = (name: string, n: number): RoutineCase => ({ name, routine: 'pmm_take_pages', args: { eax: n }, read: counts });
    const cases: RoutineCase[] = [
      mark('usable 1 MiB-2 MiB', 0x100000, 0x200000, 1),
      mark('reserved frame 3: frames 0-2 and 4- are the free runs', page(3), page(4), 0),
      takePages('3 pages: frames 0-2 fit exactly', 3),
      takePages('2 pages: frame 3 is reserved, so frames 4-5', 2),
      take('one frame: 6'),
      release('give frame 4 back: a hole of one', page(4)),
      takePages('2 pages: the hole at 4 is too short, so 7-8', 2),
      takePages('1 page: the hole at 4', 1),
      takePages('0 pages: nothing', 0),
      takePages('more pages than are free: nothing, nothing taken', frames),
      takePages('every frame left, in one run', frames - 9),
      takePages('none left', 1),
    ];
    const rs = await runRoutines({ modules: [pmm], cases });
    const at = (name: string) => rs[cases.findIndex((c) => c.name === name)]!;
    expect(at('3 pages: frames 0-2 fit exactly').regs.eax).toBe(page(0));
    expect(at('2 pages: frame 3 is reserved, so frames 4-5').regs.eax).toBe(page(4));
    expect(at('one frame: 6').regs.eax).toBe(page(6));
    expect(at('2 pages: the hole at 4 is too short, so 7-8').regs.eax).toBe(page(7));
    expect(at('1 page: the hole at 4').regs.eax).toBe(page(4));
    expect(at('0 pages: nothing').regs.eax).toBe(0);
    expect(at('more pages than are free: nothing, nothing taken').regs.eax).toBe(0);
    expect(totals(at('more pages than are free: nothing, nothing taken'))).toEqual({ total: frames - 1, free: frames - 9 });
    expect(at('every frame left, in one run').regs.eax).toBe(page(9));
    expect(totals(at('every frame left, in one run'))).toEqual({ total: frames - 1, free: 0 });
    expect(at('none left').regs.eax).toBe(0);
    for (const r of rs) expect(r.clobbered).toEqual([]);
  });
});
