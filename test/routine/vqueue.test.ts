// The split-virtqueue routines (kernel/virtio/queue.ts) without a device: a
// routine of this test plays the device - it takes the next entry of the
// available ring, as a device does, and puts its head in the used ring with
// "bytes written" = the address of the chain's first buffer - so each
// completion says which chain the device really saw.  The free-running
// 16-bit indexes start a few entries before 0xFFFF, and more than 10 x N
// requests go round the ring with several in flight.
import { describe, expect, it } from 'vitest';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { L, ax, eax, ecx, edx, ebx, word, dword } from '../../toolchain/x86/operands.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { VIRTQ_DESC, VQ, vqPages, vqueue, vringBytes } from '../../kernel/virtio/queue.ts';
import { type RoutineCase, type RoutineResult, data, runRoutines } from '../harness/routine.ts';

const N = 8;
const MEM = L('vqt_mem');
const VQ_AT = MEM.add(vringBytes(N).total);
const dev_complete = sym('vqt_dev_complete');
const dev_last_avail = sym('vqt_dev_last_avail');
/** The memory the queue lives in, and the pretend device. */
const device = defineModule({
  name: 'vqt', title: 'a pretend virtio device for the virtqueue test',
  about: 'Consumes one available entry per call and completes it at once.',
  emit(a) {
    a.bss('vqt_mem', vqPages(N) * 4096, 4096, 'the rings and struc vq');
    a.bss(dev_last_avail, 4, 4, 'available entries the device has taken (free-running)');
    a.routine({
      name: dev_complete, does: 'takes the next available chain and completes it (len = its first buffer\'s address)',
      in: { eax: 'the struc vq' }, clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      a.mov(ecx, dword(dev_last_avail));
      a.and(ecx, N - 1);
      a.mov(edx, dword(ebx, VQ.f.avail));
      a.movzx(eax, word({ base: edx, index: ecx, scale: 2, disp: 4 }), 'EAX = head');
      a.inc(dword(dev_last_avail));
      a.mov(ecx, eax);
      a.shl(ecx, 4);
      a.add(ecx, dword(ebx, VQ.f.desc));
      a.mov(ecx, dword(ecx, VIRTQ_DESC.f.addr), 'ECX = its first buffer');
      a.mov(edx, dword(ebx, VQ.f.used));
      a.push(eax);
      a.movzx(eax, word(edx, 2), 'used.idx');
      a.and(eax, N - 1);
      a.lea(eax, dword({ base: edx, index: eax, scale: 8, disp: 4 }));
      a.pop(dword(eax), 'used.ring[slot].id = head');
      a.mov(dword(eax, 4), ecx, 'used.ring[slot].len');
      a.mov(ax, word(edx, 2));
      a.inc(ax, 'a 16-bit counter: wraps to 0');
      a.mov(word(edx, 2), ax);
      r.ret();
    });
  },
});

const le32 = (...xs: number[]) => xs.flatMap((x) => [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff]);
const le16 = (x: number) => [x & 0xff, (x >>> 8) & 0xff];
const u32 = (b: Uint8Array, off = 0) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);
const u16 = (b: Uint8Array, off = 0) => new DataView(b.buffer, b.byteOffset).getUint16(off, true);
const neg = (n: number) => (-n) >>> 0;
const EAGAIN = 11, EINVAL = 22;
const START = 0xfffa; // six entries before the 16-bit indexes wrap
const AVAIL = vringBytes(N).avail, USED = vringBytes(N).used;
const vqState = { at: VQ_AT, length: VQ.size };
const rings = { at: MEM, length: vringBytes(N).total };

/** Request k: a 2-buffer chain (header 16 bytes, data 512 written by the device), first buffer at a unique address. */
const addr = (k: number) => 0x100000 + k * 0x100;
const add = (k: number): RoutineCase => ({
  name: `add ${k}`, routine: 'vq_add',
  stack: [VQ_AT, data(le32(addr(k), 16, 0, 0x200000 + k * 0x200, 512, 2)), 2, 0x5000 + k],
});
const complete = (k: number): RoutineCase => ({ name: `device completes ${k}`, routine: 'vqt_dev_complete', args: { eax: VQ_AT } });
const getUsed = (k: number): RoutineCase => ({ name: `get ${k}`, routine: 'vq_get_used', args: { eax: VQ_AT }, read: [vqState] });

describe('vq_layout, vq_add, vq_get_used (kernel/virtio/queue.ts) against a pretend device', () => {
  it('lays the rings out as a legacy device expects and refuses sizes that are not a power of 2', async () => {
    const rs = await runRoutines({
      modules: [vqueue, device],
      cases: [
        { name: 'N = 6', routine: 'vq_layout', args: { eax: MEM, edx: 6 } },
        { name: 'N = 0', routine: 'vq_layout', args: { eax: MEM, edx: 0 } },
        { name: 'N = 65536', routine: 'vq_layout', args: { eax: MEM, edx: 65536 } },
        { name: 'N = 8', routine: 'vq_layout', args: { eax: MEM, edx: N }, read: [vqState, rings] },
        { name: 'a chain of 3', routine: 'vq_add', stack: [VQ_AT, data(le32(0x1000, 16, 0, 0x2000, 512, 2, 0x3000, 1, 2)), 3, 0x1111], read: [vqState, rings] },
        { name: 'a chain of 6: only 5 free', routine: 'vq_add', stack: [VQ_AT, data(le32(...Array(18).fill(0))), 6, 0x2222], read: [vqState] },
        { name: 'a chain of 0', routine: 'vq_add', stack: [VQ_AT, data([]), 0, 0x2222] },
        { name: 'nothing used yet', routine: 'vq_get_used', args: { eax: VQ_AT } },
        { name: 'device completes', routine: 'vqt_dev_complete', args: { eax: VQ_AT } },
        { name: 'get it', routine: 'vq_get_used', args: { eax: VQ_AT }, read: [vqState, rings] },
        { name: 'nothing more', routine: 'vq_get_used', args: { eax: VQ_AT } },
        {
          name: 'a used entry naming descriptor 99 (of 8)', routine: 'vq_get_used', args: { eax: VQ_AT }, read: [vqState],
          memory: [{ at: MEM.add(USED + 4 + 8), bytes: le32(99, 5) }, { at: MEM.add(USED + 2), bytes: le16(2) }],
        },
      ],
    });
    const [n6, n0, big, ok, chain, full, zero, none, , got, none2, bogus] = rs as RoutineResult[];
    expect(bogus!.regs.eax).toBe(0); // skipped: no cookie, nothing freed twice
    expect(u32(bogus!.memory[0]!, VQ.f.num_free.offset)).toBe(N);
    expect(u32(bogus!.memory[0]!, VQ.f.last_used.offset)).toBe(2);
    for (const r of [n6!, n0!, big!]) expect(r.regs.eax).toBe(0);
    const base = ok!.input.eax;
    expect(ok!.regs.eax).toBe(base + vringBytes(N).total);
    // N = 256 is QEMU's blk queue: avail at +0x1000, used at +0x2000, 12 KiB of rings.
    expect(vringBytes(256)).toEqual({ avail: 0x1000, used: 0x2000, total: 0x3000 });
    const st = ok!.memory[0]!;
    expect([u32(st, VQ.f.desc.offset), u32(st, VQ.f.avail.offset), u32(st, VQ.f.used.offset)]).toEqual([base, base + AVAIL, base + USED]);
    expect([u32(st, VQ.f.num.offset), u32(st, VQ.f.num_free.offset), u32(st, VQ.f.free_head.offset)]).toEqual([N, N, 0]);
    const ring0 = ok!.memory[1]!;
    for (let i = 0; i < N - 1; i++) expect(u16(ring0, i * 16 + 14), `desc[${i}].next`).toBe(i + 1);

    expect(chain!.regs.eax).toBe(0);
    const r1 = chain!.memory[1]!;
    const desc = (i: number) => ({ addr: u32(r1, i * 16), hi: u32(r1, i * 16 + 4), len: u32(r1, i * 16 + 8), flags: u16(r1, i * 16 + 12), next: u16(r1, i * 16 + 14) });
    expect(desc(0)).toEqual({ addr: 0x1000, hi: 0, len: 16, flags: 1, next: 1 }); // NEXT, device-readable
    expect(desc(1)).toEqual({ addr: 0x2000, hi: 0, len: 512, flags: 3, next: 2 }); // NEXT | WRITE
    expect({ ...desc(2), next: 0 }).toEqual({ addr: 0x3000, hi: 0, len: 1, flags: 2, next: 0 }); // WRITE, the end
    expect(u16(r1, AVAIL + 4)).toBe(0); // avail.ring[0] = head 0
    expect(u16(r1, AVAIL + 2)).toBe(1); // avail.idx
    expect(u32(chain!.memory[0]!, VQ.f.num_free.offset)).toBe(N - 3);
    expect(full!.regs.eax).toBe(neg(EAGAIN));
    expect(u32(full!.memory[0]!, VQ.f.num_free.offset)).toBe(N - 3);
    expect(u16(full!.memory[0]!, VQ.f.avail_idx.offset)).toBe(1); // nothing made available
    expect(zero!.regs.eax).toBe(neg(EINVAL));
    expect(none!.regs.eax).toBe(0);
    expect(got!.regs.eax).toBe(0x1111);
    expect(got!.regs.edx).toBe(0x1000);
    expect(u32(got!.memory[0]!, VQ.f.num_free.offset)).toBe(N);
    expect(u32(got!.memory[0]!, VQ.f.free_head.offset)).toBe(0);
    expect(none2!.regs.eax).toBe(0);
    for (const r of rs) expect(r.clobbered).toEqual([]);
  });

  it(`takes ${10 * N + 3} requests round the ring, 3 in flight, across the 16-bit index wrap, each back with its own cookie`, async () => {
    const total = 10 * N + 3;
    const start: RoutineCase = {
      name: 'layout, indexes just before the wrap', routine: 'vq_layout', args: { eax: MEM, edx: N },
    };
    const setIdx: RoutineCase = {
      ...add(0),
      memory: [
        { at: VQ_AT.add(VQ.f.avail_idx.offset), bytes: le32(START) },
        { at: VQ_AT.add(VQ.f.last_used.offset), bytes: le32(START) },
        { at: MEM.add(AVAIL + 2), bytes: le16(START) },
        { at: MEM.add(USED + 2), bytes: le16(START) },
        { at: L('vqt_dev_last_avail'), bytes: le32(START) },
      ],
    };
    const cases: RoutineCase[] = [start, setIdx, add(1), add(2)];
    for (let k = 0; k < total; k++) {
      cases.push(complete(k), getUsed(k));
      if (k + 3 < total) cases.push(add(k + 3));
    }
    cases.push({ name: 'nothing left', routine: 'vq_get_used', args: { eax: VQ_AT }, read: [vqState, rings] });
    const rs = await runRoutines({ modules: [vqueue, device], cases });
    const at = (name: string) => rs[cases.findIndex((c) => c.name === name)]!;
    for (let k = 0; k < total; k++) {
      const g = at(`get ${k}`);
      expect(g.regs.eax, `request ${k}: its cookie`).toBe(0x5000 + k);
      expect(g.regs.edx, `request ${k}: the chain the device saw`).toBe(addr(k));
      if (k + 3 < total) expect(at(`add ${k + 3}`).regs.eax, `add ${k + 3}: a head`).toBeLessThan(N);
    }
    const end = at('nothing left');
    expect(end.regs.eax).toBe(0);
    const st = end.memory[0]!;
    expect(u32(st, VQ.f.num_free.offset)).toBe(N);
    expect(u32(st, VQ.f.avail_idx.offset) & 0xffff).toBe((START + total) & 0xffff);
    expect(u32(st, VQ.f.last_used.offset) & 0xffff).toBe((START + total) & 0xffff);
    expect(u16(end.memory[1]!, AVAIL + 2)).toBe((START + total) & 0xffff); // avail.idx went past 0xFFFF to a small number
    expect((START + total) & 0xffff).toBeLessThan(START);
    // The free list holds every descriptor exactly once.
    const r = end.memory[1]!;
    const seen = new Set<number>();
    let d = u32(st, VQ.f.free_head.offset);
    for (let i = 0; i < N; i++) { seen.add(d); d = u16(r, d * 16 + 14); }
    expect(seen.size).toBe(N);
    for (const x of rs) expect(x.clobbered).toEqual([]);
  });
});
