// The block layer's checks (kernel/blk/disk.ts) without a boot: blk_rw in
// front of a recording driver - a routine of this test that stores the five
// arguments it was called with and returns a value the case chooses - so
// each case shows both what blk_rw answered and whether the driver was
// reached at all.  disk_add and disk_find run on the real disk_table.
import { describe, expect, it } from 'vitest';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { L, eax, ecx, dword } from '../../toolchain/x86/operands.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { DISK, DISK_BOOT, DISK_RO, diskModule } from '../../kernel/blk/disk.ts';
import { string } from '../../kernel/lib/string.ts';
import { type RoutineCase, cstr, runRoutines } from '../harness/routine.ts';

const rec_rw = sym('rec_rw');
const rec_attach = sym('rec_attach');
const rec_args = sym('rec_args');
const rec_result = sym('rec_result');
/** The recording driver: copies its stack arguments to rec_args and returns [rec_result]. */
const recorder = defineModule({
  name: 'rec', title: 'a recording driver for the block-layer test',
  about: 'Stands where a disk driver would: blk_rw calls it only for requests that pass its checks.',
  emit(a) {
    a.bss(rec_args, 20, 4, 'disk, op, lba, count, buf as the driver saw them');
    a.bss(rec_result, 4, 4, 'what the driver returns');
    a.routine({
      name: rec_rw, does: 'records its arguments', args: { disk: 'd', op: 'o', lba: 'l', count: 'c', buf: 'b' },
      out: { eax: '[rec_result]' }, clobbers: [ecx],
    }, (r) => {
      for (const [i, n] of (['disk', 'op', 'lba', 'count', 'buf'] as const).entries()) {
        a.mov(ecx, r.arg(n));
        a.mov(dword(rec_args.add(i * 4)), ecx);
      }
      a.mov(eax, dword(rec_result));
      r.ret();
    });
    a.routine({ name: rec_attach, does: 'makes rec_rw the driver of a disk', in: { eax: 'the disk' } }, (r) => {
      a.mov(dword(eax, DISK.f.rw), rec_rw);
      r.ret();
    });
  },
});

const le32 = (...xs: number[]) => xs.flatMap((x) => [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff]);
const u32s = (b: Uint8Array) => Array.from({ length: b.length / 4 }, (_, i) => new DataView(b.buffer, b.byteOffset).getUint32(i * 4, true));
const neg = (n: number) => (-n) >>> 0;
const EPERM = 1, EIO = 5, ENXIO = 6, EINVAL = 22, EROFS = 30;
const SENTINEL = 0xdeadbeef;
const disk = (i: number) => L('disk_table').add(i * DISK.size);
const BUF = 0x12340;

describe('blk_rw, disk_add, disk_find (kernel/blk/disk.ts)', () => {
  it('refuses what no driver should see, passes the rest on unchanged, and finds disks by name', async () => {
    const cases: RoutineCase[] = [
      { name: 'add vda', routine: 'disk_add' },
      { name: 'add vdb', routine: 'disk_add' },
      {
        name: 'attach vda', routine: 'rec_attach', args: { eax: disk(0) },
        // vda: 0x4000 sectors, read-write; vdb: 2^32 + 16 sectors, read-only.
        memory: [
          { at: disk(0), bytes: [...Buffer.from('vda\0\0\0\0\0'), ...le32(0, 0, 0x4000, 0, 0)] },
          { at: disk(1), bytes: [...Buffer.from('vdb\0\0\0\0\0'), ...le32(0, 0, 16, 1, Number(DISK_RO.c.value))] },
        ],
      },
      { name: 'attach vdb', routine: 'rec_attach', args: { eax: disk(1) } },
    ];
    type Rw = { name: string; disk: number; op: number; lba: number; count: number; driver?: number; boot?: true; want: number };
    const rws: Rw[] = [
      { name: 'read 8 at 0', disk: 0, op: 0, lba: 0, count: 8, want: 0 },
      { name: 'write the last sector', disk: 0, op: 1, lba: 0x3fff, count: 1, want: 0 },
      { name: 'flush: lba and count not checked', disk: 0, op: 4, lba: 0xffffffff, count: 0, want: 0 },
      { name: 'a driver error comes back as it is', disk: 0, op: 0, lba: 5, count: 1, driver: neg(EIO), want: neg(EIO) },
      { name: 'read 256 (the most)', disk: 0, op: 0, lba: 0, count: 256, want: 0 },
      { name: 'op 2', disk: 0, op: 2, lba: 0, count: 1, want: neg(EINVAL) },
      { name: 'op 0xffffffff', disk: 0, op: 0xffffffff, lba: 0, count: 1, want: neg(EINVAL) },
      { name: 'count 0', disk: 0, op: 0, lba: 0, count: 0, want: neg(EINVAL) },
      { name: 'count 257', disk: 0, op: 1, lba: 0, count: 257, want: neg(EINVAL) },
      { name: 'one sector past the end', disk: 0, op: 0, lba: 0x3fff, count: 2, want: neg(ENXIO) },
      { name: 'lba = capacity', disk: 0, op: 1, lba: 0x4000, count: 1, want: neg(ENXIO) },
      { name: 'lba + count wraps 32 bits', disk: 0, op: 0, lba: 0xffffffff, count: 2, want: neg(ENXIO) },
      { name: 'write to the read-only disk', disk: 1, op: 1, lba: 0, count: 1, want: neg(EROFS) },
      { name: 'read the big disk across 2^32 sectors', disk: 1, op: 0, lba: 0xffffffff, count: 2, want: 0 },
      { name: 'read the big disk at its 32-bit top', disk: 1, op: 0, lba: 0xfffffff0, count: 16, want: 0 },
      { name: 'write to the boot disk', disk: 0, op: 1, lba: 100, count: 1, boot: true, want: neg(EPERM) },
      { name: 'read the boot disk', disk: 0, op: 0, lba: 100, count: 1, boot: true, want: 0 },
      { name: 'flush the boot disk', disk: 0, op: 4, lba: 0, count: 0, boot: true, want: 0 },
    ];
    for (const t of rws) {
      cases.push({
        name: t.name, routine: 'blk_rw', stack: [disk(t.disk), t.op, t.lba, t.count, BUF],
        memory: [
          { at: L('rec_args'), bytes: le32(SENTINEL, SENTINEL, SENTINEL, SENTINEL, SENTINEL) }, { at: L('rec_result'), bytes: le32(t.driver ?? 0) },
          ...(t.boot ? [{ at: disk(t.disk).add(DISK.f.flags.offset), bytes: le32(Number(DISK_BOOT.c.value)) }] : []),
        ],
        read: [{ at: L('rec_args'), length: 20 }],
      });
    }
    for (const n of ['vdb', 'vdc', 'vd', 'vda']) cases.push({ name: `find ${n}`, routine: 'disk_find', args: { eax: cstr(n) } });
    for (let i = 2; i < 8; i++) cases.push({ name: `add disk ${i}`, routine: 'disk_add', read: [{ at: L('disk_count'), length: 4 }] });

    const rs = await runRoutines({ modules: [diskModule, string, recorder], cases });
    const at = (name: string) => rs[cases.findIndex((c) => c.name === name)]!;

    // disk_add: consecutive zeroed entries; the 9th is refused and the count stays 8.
    expect(at('add vda').regs.eax).not.toBe(0);
    expect(at('add vdb').regs.eax - at('add vda').regs.eax).toBe(DISK.size);
    for (let i = 2; i < 8; i++) expect(at(`add disk ${i}`).regs.eax, `disk ${i}`).toBe(at('add vda').regs.eax + i * DISK.size);
    expect(u32s(at('add disk 7').memory[0]!)).toEqual([8]);

    for (const t of rws) {
      const r = at(t.name);
      expect(r.regs.eax, t.name).toBe(t.want >>> 0);
      const reached = t.want === 0 || t.driver !== undefined;
      const seen = u32s(r.memory[0]!);
      if (reached) expect(seen, t.name).toEqual([at(t.disk === 0 ? 'add vda' : 'add vdb').regs.eax, t.op, t.lba, t.count, BUF]);
      else expect(seen, `${t.name}: the driver must not be called`).toEqual([SENTINEL, SENTINEL, SENTINEL, SENTINEL, SENTINEL]);
      expect(r.changed.filter((x) => !['eax', 'ecx', 'edx'].includes(x)), t.name).toEqual([]);
    }

    expect(at('find vdb').regs.eax).toBe(at('add vdb').regs.eax);
    expect(at('find vda').regs.eax).toBe(at('add vda').regs.eax);
    expect(at('find vdc').regs.eax).toBe(0);
    expect(at('find vd').regs.eax).toBe(0);
  });

  it('a ninth disk_add reports the full table (its line goes to serial_puts) instead of handing out an entry', async () => {
    const adds: RoutineCase[] = Array.from({ length: 9 }, (_, i) => ({ name: `add ${i}`, routine: 'disk_add' }));
    await expect(runRoutines({ modules: [diskModule, string], cases: adds, keepFailed: false }))
      .rejects.toThrow(/case 8 \(add 8\) of disk_add: reached 'serial_puts'.*\(cases 0-7 completed\)/);
  });
});
