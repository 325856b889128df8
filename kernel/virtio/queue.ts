// Split virtqueues: the rings a virtio driver and its device share in RAM.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { ax, cx, dx, eax, ebx, ecx, edx, esi, edi, L, word, dword, constant } from '../../toolchain/x86/operands.ts';
import { defineStruct, u16, u32, u64 } from '../../toolchain/x86/struct.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { EAGAIN, EINVAL } from '../proc/errno.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const vq_layout = sym('vq_layout');
export const vq_add = sym('vq_add');
export const vq_get_used = sym('vq_get_used');

export const VIRTQ_DESC_F_NEXT = constant('VIRTQ_DESC_F_NEXT', 1, 'descriptor flag: the chain continues at .next');
export const VIRTQ_DESC_F_WRITE = constant('VIRTQ_DESC_F_WRITE', 2, 'descriptor flag: the device writes this buffer (otherwise it only reads it)');
export const VIRTQ_AVAIL_F_NO_INTERRUPT = constant('VIRTQ_AVAIL_F_NO_INTERRUPT', 1, 'avail.flags bit 0: the driver asks for no interrupt (unused here: completion is by interrupt)');
export const VIRTQ_USED_F_NO_NOTIFY = constant('VIRTQ_USED_F_NO_NOTIFY', 1, 'used.flags bit 0: the device does not need a notify for new buffers now');
export const VQ_ALIGN = constant('VQ_ALIGN', 4096, 'legacy interface: the used ring starts on the next 4096-byte boundary after the available ring', { radix: 10 });
export const VQ_MAX_SIZE = constant('VQ_MAX_SIZE', 32768, 'largest queue size the split ring allows (virtio 1.1 §2.6: Queue Size is at most 32768)', { radix: 10 });

/** One descriptor of the descriptor table (N of them at the ring's base). */
export const VIRTQ_DESC = defineStruct('virtq_desc', {
  addr: u64('guest-physical address of the buffer'),
  len: u32('length of the buffer in bytes'),
  flags: u16('VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE'),
  next: u16('index of the next descriptor of the chain, if flags has NEXT'),
}, { doc: 'virtqueue descriptor (virtio 1.1 §2.6.5)', size: 16 });

/** The available ring's header; ring[N] (u16 each) and used_event follow it. */
export const VIRTQ_AVAIL = defineStruct('virtq_avail', {
  flags: u16('VIRTQ_AVAIL_F_NO_INTERRUPT'),
  idx: u16('where the driver puts the next entry (free-running: slot = idx mod N)'),
}, { doc: 'available ring header, written by the driver only (virtio 1.1 §2.6.6); u16 ring[N] and one more u16 (the used-event index, unused here) follow', size: 4 });

/** The used ring's header; ring[N] (virtq_used_elem each) and avail_event follow it. */
export const VIRTQ_USED = defineStruct('virtq_used', {
  flags: u16('VIRTQ_USED_F_NO_NOTIFY'),
  idx: u16('where the device puts the next entry (free-running)'),
}, { doc: 'used ring header, written by the device only (virtio 1.1 §2.6.8); struct virtq_used_elem ring[N] and one more u16 (the avail-event index, unused here) follow', size: 4 });

export const VIRTQ_USED_ELEM = defineStruct('virtq_used_elem', {
  id: u32('head descriptor of the chain the device has finished with'),
  len: u32('bytes the device wrote into the chain\'s WRITE buffers'),
}, { doc: 'used ring entry (virtio 1.1 §2.6.8)', size: 8 });

/** The driver's own bookkeeping for one queue; cookie[N] (u32 each) follows it. */
export const VQ = defineStruct('vq', {
  dev: u32('the virtio device (struc virtio_dev) this queue belongs to'),
  index: u32('queue number on that device (the value written to Queue Notify)'),
  num: u32('N, the queue size: a power of 2'),
  desc: u32('address of the descriptor table'),
  avail: u32('address of the available ring'),
  used: u32('address of the used ring'),
  free_head: u32('first descriptor of the free list (chained through .next)'),
  num_free: u32('descriptors on the free list'),
  avail_idx: u32('the driver\'s copy of avail.idx (low 16 bits count)'),
  last_used: u32('used entries consumed so far (low 16 bits count): entries up to used.idx are new'),
  added: u32('chains made available'),
  completed: u32('chains taken back from the used ring'),
  notifies: u32('notifies written to the device'),
  spare: u32('unused'),
  spare2: u32('unused'),
  spare3: u32('unused'),
}, { doc: 'a virtqueue as the driver keeps it (vqueue.asm); u32 cookie[N] follows: what each head descriptor\'s request is', size: 64 });

/** Bytes of the rings for a queue of n entries, laid out as a legacy device expects them (virtio 1.1 §2.6.2). */
export function vringBytes(n: number): { avail: number; used: number; total: number } {
  const up = (x: number) => Math.ceil(x / 4096) * 4096;
  const avail = 16 * n;
  const used = up(avail + 6 + 2 * n);
  return { avail, used, total: used + up(6 + 8 * n) };
}
/** Pages a queue of n entries needs in all: its rings, then struc vq and the cookies. */
export function vqPages(n: number): number {
  return vringBytes(n).total / 4096 + Math.ceil((VQ.size + 4 * n) / 4096);
}

export const vqueue = defineModule({
  name: 'vqueue',
  title: 'Split virtqueues: descriptors, the available ring and the used ring',
  about: `
A virtqueue is how a virtio driver hands buffers to its device and gets them
back.  It is three areas of guest RAM that both sides read (virtio 1.1 §2.6
"Split Virtqueues"), for a queue of N entries (N a power of 2, chosen by
the device on the legacy interface):

  descriptor table  N x struc virtq_desc: {addr, len, flags, next}.  A
                    request is a chain of descriptors linked by .next while
                    flags has NEXT; WRITE marks a buffer the device fills.
  available ring    driver -> device: flags, idx, ring[N] of head indexes.
  used ring         device -> driver: flags, idx, ring[N] of {id, len}.

The legacy layout (§4.1.4.8 "Legacy Interfaces: A Note on PCI Device
Layout" and §2.6.2) is fixed by N alone: the descriptor table at the base,
the available ring right after it (at 16N), the used ring at the next
4096-byte boundary.  The driver tells the device only the base.  For
N = 256 that is 0x1000 bytes of descriptors, the available ring at
+0x1000, the used ring at +0x2000: 12 KiB in three contiguous pages.

Both idx fields are free-running 16-bit counters: they are never reduced
mod N, and the slot is idx & (N - 1).  idx - last_used (mod 2^16) is the
number of new entries even after the counter wraps from 0xFFFF to 0.

Ordering (§2.6.13 "Supplying Buffers to The Device").  The device may read
the rings at any moment, so the driver writes in this order: the
descriptors, then the ring entry, then - after a write barrier - the new
idx; and it notifies only after idx is written (a full barrier: the
notify is an I/O write, and idx must be visible first).  On x86 stores are
not reordered with other stores (Intel SDM Vol. 3A §8.2.2), so program
order is already enough; the barrier instruction (lock add [esp], 0) is
still written where the specification puts one: it costs a few cycles
per request, and it keeps the order visible to the reader and correct on
a CPU that does reorder.  Reading the used ring: used.idx first, then the
entries below it (loads are not reordered with other loads either).

The driver's bookkeeping (struc vq, after the rings) keeps a free list of
descriptors chained through .next, and a cookie per head descriptor: the
driver's own pointer for that request, returned when the device is done.

  vq_layout    EAX = zeroed memory, EDX = N  ->  EAX = struc vq (or 0: N bad)
  vq_add       (vq, sg, count, cookie) -> EAX = head, or -EAGAIN (too few free
               descriptors); sg is count x {addr, len, flags} dwords
  vq_get_used  EAX = vq  ->  EAX = cookie of the next finished chain, or 0;
               EDX = bytes the device wrote; the chain's descriptors go back
               on the free list

None of these touch an I/O port, so they run unchanged in ring 3 under the
routine tests (test/routine/vqueue.test.ts), which play the device.  The
transport (virtio.asm) adds the notify, and callers keep interrupts off
around vq_add and vq_get_used: an interrupt handler consumes the used ring.`,
  spec: [
    'virtio 1.1 §2.6 "Split Virtqueues": §2.6.2 (legacy layout), §2.6.5 (descriptor table), §2.6.6 (available ring), §2.6.8 (used ring), §2.6.13 (supplying buffers)',
    'virtio 1.1 §4.1.4.8 "Legacy Interfaces: A Note on PCI Device Layout"',
    'Intel SDM Vol. 3A §8.2.2 (memory ordering in P6 and later: stores are not reordered with other stores)',
  ],
  emit(a) {
    a.routine({
      name: vq_layout, does: 'lays a queue of N entries out in zeroed memory: rings, free list, struc vq after the rings',
      in: { eax: 'base of zeroed, physically contiguous memory (vqPages(N) pages; 4096-aligned for a device)', edx: 'N, the queue size' },
      out: { eax: 'the struc vq, or 0 when N is 0, not a power of 2 or above VQ_MAX_SIZE' },
      clobbers: [ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(esi, eax, 'ESI = base');
      a.lea(ecx, dword(edx, -1));
      a.test(ecx, edx, 'N & (N - 1) = 0 for a power of 2 (and for 0)');
      a.jnz(L('.bad'));
      a.test(edx, edx);
      a.jz(L('.bad'));
      a.cmp(edx, VQ_MAX_SIZE);
      a.ja(L('.bad'));
      a.mov(ebx, edx, 'EBX = N');
      a.mov(eax, edx);
      a.imul(eax, eax, 18, '16N (descriptors) + 2N (avail.ring)');
      a.add(eax, VQ_ALIGN.add(6 - 1), '+ flags, idx and the used-event word, rounded up ...');
      a.and(eax, VQ_ALIGN.neg(), '... to the 4096-byte boundary where the used ring starts');
      a.lea(edi, dword({ base: esi, index: eax, scale: 1 }), 'EDI = used ring');
      a.mov(ecx, ebx);
      a.shl(ecx, 3, '8N (used.ring) ...');
      a.add(ecx, VQ_ALIGN.add(6 - 1), '+ flags, idx and the avail-event word, rounded up');
      a.and(ecx, VQ_ALIGN.neg());
      a.add(eax, ecx, 'EAX = bytes of the rings');
      a.add(eax, esi, 'EAX = struc vq, just after them');
      a.mov(dword(eax, VQ.f.desc), esi);
      a.mov(dword(eax, VQ.f.used), edi);
      a.mov(edx, ebx);
      a.shl(edx, 4);
      a.add(edx, esi);
      a.mov(dword(eax, VQ.f.avail), edx, 'the available ring follows the N descriptors');
      a.mov(dword(eax, VQ.f.num), ebx);
      a.mov(dword(eax, VQ.f.num_free), ebx);
      a.mov(dword(eax, VQ.f.free_head), 0);
      a.comment('The free list: descriptor i -> i + 1 (the last one\'s .next is never followed: num_free says when to stop).');
      a.xor(ecx, ecx);
      a.label('.link');
      a.lea(edx, dword(ecx, 1));
      a.mov(edi, ecx);
      a.shl(edi, 4);
      a.mov(word({ base: esi, index: edi, scale: 1, disp: VIRTQ_DESC.f.next }), dx, 'desc[i].next = i + 1');
      a.inc(ecx);
      a.cmp(ecx, ebx);
      a.jb(L('.link'));
      r.ret();
      a.label('.bad');
      a.xor(eax, eax);
      r.ret();
    });

    a.routine({
      name: vq_add, does: 'makes a chain of buffers available to the device (no notify: see virtio_notify)',
      args: {
        vq: 'the queue (struc vq)', sg: 'count entries of three dwords: buffer address, length, VIRTQ_DESC_F_WRITE or 0',
        count: 'buffers in the chain, 1 or more', cookie: 'the caller\'s nonzero pointer for this request, returned by vq_get_used',
      },
      out: { eax: 'the head descriptor\'s index, or -EAGAIN (fewer than count descriptors free), -EINVAL (count 0)' },
      clobbers: [ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(ebx, r.arg('vq'));
      a.mov(ecx, r.arg('count'));
      a.mov(eax, EINVAL.neg());
      a.test(ecx, ecx);
      r.retIf('z');
      a.mov(eax, EAGAIN.neg());
      a.cmp(ecx, dword(ebx, VQ.f.num_free));
      r.retIf('a', 'not enough free descriptors: the caller waits for a completion');
      a.sub(dword(ebx, VQ.f.num_free), ecx);
      a.mov(esi, r.arg('sg'));
      a.mov(eax, dword(ebx, VQ.f.free_head));
      a.push(eax, 'the head: returned, and put in the available ring');
      a.comment('Fill the descriptors of the free list in order; each but the last gets NEXT.');
      a.label('.fill');
      a.mov(edi, eax);
      a.shl(edi, 4);
      a.add(edi, dword(ebx, VQ.f.desc), 'EDI = desc[EAX]');
      a.mov(edx, dword(esi));
      a.mov(dword(edi, VIRTQ_DESC.f.addr), edx, 'addr: physical = linear below 4 MiB');
      a.mov(dword(edi, VIRTQ_DESC.f.addr.add(4)), 0, 'upper half of the 64-bit address');
      a.mov(edx, dword(esi, 4));
      a.mov(dword(edi, VIRTQ_DESC.f.len), edx);
      a.mov(edx, dword(esi, 8));
      a.and(edx, VIRTQ_DESC_F_WRITE);
      a.movzx(eax, word(edi, VIRTQ_DESC.f.next), 'EAX = the next free descriptor');
      a.dec(ecx);
      a.if_('nz', () => a.or(edx, VIRTQ_DESC_F_NEXT), undefined, 'more buffers follow: the chain goes on at .next (already the next free one)');
      a.mov(word(edi, VIRTQ_DESC.f.flags), dx);
      a.add(esi, 12);
      a.test(ecx, ecx);
      a.jnz(L('.fill'));
      a.mov(dword(ebx, VQ.f.free_head), eax, 'the free list now starts after the chain');
      a.pop(eax, 'EAX = head');
      a.mov(edx, r.arg('cookie'));
      a.mov(dword({ base: ebx, index: eax, scale: 4, disp: VQ.SIZE }), edx, 'cookie[head]');
      a.mov(ecx, dword(ebx, VQ.f.avail_idx));
      a.mov(edx, dword(ebx, VQ.f.num));
      a.dec(edx);
      a.and(edx, ecx, 'EDX = slot = avail_idx & (N - 1)');
      a.mov(edi, dword(ebx, VQ.f.avail));
      a.mov(word({ base: edi, index: edx, scale: 2, disp: VIRTQ_AVAIL.SIZE }), ax, 'avail.ring[slot] = head');
      a.barrier('§2.6.13.3: the ring entry (and the descriptors) before the new idx');
      a.inc(ecx);
      a.mov(dword(ebx, VQ.f.avail_idx), ecx);
      a.mov(word(edi, VIRTQ_AVAIL.f.idx), cx, 'publish: the device may take the chain from now on (a 16-bit store: the counter wraps by itself)');
      a.inc(dword(ebx, VQ.f.added));
      r.ret();
    });

    a.routine({
      name: vq_get_used, does: 'takes the next chain the device has finished with, and frees its descriptors',
      in: { eax: 'the queue (struc vq)' },
      out: { eax: 'the chain\'s cookie (from vq_add), or 0 when the used ring has nothing new', edx: 'bytes the device wrote into the chain' },
      clobbers: [ecx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(ebx, eax);
      a.mov(esi, dword(ebx, VQ.f.used));
      a.movzx(ecx, word(esi, VIRTQ_USED.f.idx), 'used.idx first (§2.6.8): entries below it are complete');
      a.mov(eax, dword(ebx, VQ.f.last_used));
      a.cmp(ax, cx, '16-bit compare: equal after a wrap too');
      a.if_('e', () => { a.xor(eax, eax, 'nothing new'); r.ret(); });
      a.barrier('§2.6.8: read the entry only after seeing idx move past it');
      a.mov(ecx, dword(ebx, VQ.f.num));
      a.dec(ecx);
      a.and(ecx, eax, 'ECX = slot = last_used & (N - 1)');
      a.inc(eax);
      a.mov(dword(ebx, VQ.f.last_used), eax);
      a.lea(esi, dword({ base: esi, index: ecx, scale: 8, disp: VIRTQ_USED.SIZE }), 'ESI = used.ring[slot]');
      a.mov(ecx, dword(esi, VIRTQ_USED_ELEM.f.id), 'ECX = head');
      a.cmp(ecx, dword(ebx, VQ.f.num));
      a.if_('ae', () => { a.xor(eax, eax, 'not a descriptor index: a broken device; the entry is skipped, nothing freed'); r.ret(); });
      a.push(dword(esi, VIRTQ_USED_ELEM.f.len), 'returned in EDX');
      a.push(dword({ base: ebx, index: ecx, scale: 4, disp: VQ.SIZE }), 'cookie[head], returned in EAX');
      a.comment('Walk the chain to its last descriptor, counting, then put the whole chain on the free list.');
      a.mov(eax, ecx, 'EAX = descriptor');
      a.mov(edx, 1, 'EDX = descriptors in the chain');
      a.label('.walk');
      a.mov(edi, eax);
      a.shl(edi, 4);
      a.add(edi, dword(ebx, VQ.f.desc));
      a.test(word(edi, VIRTQ_DESC.f.flags), VIRTQ_DESC_F_NEXT);
      a.jz(L('.last'));
      a.movzx(eax, word(edi, VIRTQ_DESC.f.next));
      a.inc(edx);
      a.cmp(edx, dword(ebx, VQ.f.num));
      a.jbe(L('.walk'), 'a chain is never longer than N (a looping one would be a driver bug)');
      a.label('.last');
      a.mov(eax, dword(ebx, VQ.f.free_head));
      a.mov(word(edi, VIRTQ_DESC.f.next), ax, 'the chain\'s last descriptor -> the old free list');
      a.mov(dword(ebx, VQ.f.free_head), ecx, 'the free list starts at the chain\'s head');
      a.add(dword(ebx, VQ.f.num_free), edx);
      a.inc(dword(ebx, VQ.f.completed));
      a.pop(eax);
      a.pop(edx);
      r.ret();
    });
  },
});
