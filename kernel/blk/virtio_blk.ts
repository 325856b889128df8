// The virtio-blk driver: disks whose sectors travel through a virtqueue.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, eax, ebx, ecx, edx, esi, edi, dx, L, byte, word, dword, constant, chr } from '../../toolchain/x86/operands.ts';
import { defineStruct, pad, u8, u32, u64 } from '../../toolchain/x86/struct.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import type { Scenario } from '../scenarios.ts';
import { putDec, putHex32, say } from '../lib/print.ts';
import { serial_newline, serial_put_hex32, serial_put_dec, serial_put_escaped, serial_put_int, serial_puts } from '../dev/serial.ts';
import { poweroff } from '../dev/qemu_exit.ts';
import { ticks } from '../dev/pit.ts';
import { pmm_alloc_pages, pmm_free } from '../mm/pmm.ts';
import { proc_current } from '../proc/proc.ts';
import { idle_ticks, sched_block } from '../proc/sched.ts';
import { proc_run } from '../proc/spawn.ts';
import { proc_wait } from '../proc/exit.ts';
import { PROC, PS_FREE, PS_RUNNABLE, PS_SLEEPING } from '../proc/table.ts';
import { EAGAIN, EIO, EOPNOTSUPP } from '../proc/errno.ts';
import { BLK_FLUSH, BLK_READ, BLK_WRITE, DISK, DISK_FLUSH, DISK_RO, blk_rw, disk_add, disk_count, disk_put_size, disk_table } from './disk.ts';
import {
  VIRTIO_DEV, VIRTIO_PCI_CONFIG, VIRTIO_PCI_ISR, VIRTIO_TYPE_BLK, virtio_attach_irq, virtio_begin, virtio_fail, virtio_find,
  virtio_irq_none, virtio_notify, virtio_put_fn, virtio_queue, virtio_ready,
} from '../virtio/transport.ts';
import { VIRTQ_AVAIL, VIRTQ_DESC_F_WRITE, VIRTQ_USED, VQ, vq_add, vq_get_used } from '../virtio/queue.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const virtio_blk_init = sym('virtio_blk_init');
export const vblk_table = sym('vblk_table');
export const vblk_count = sym('vblk_count');
export const vblk_rw = sym('vblk_rw');
export const vblk_submit = sym('vblk_submit');
export const vblk_wait = sym('vblk_wait');
export const vblk_service = sym('vblk_service');
export const vblk_fnv = sym('vblk_fnv');
export const vblk_blocks = sym('vblk_blocks');
const vblk_probe = sym('vblk_probe');
const vblk_poll = sym('vblk_poll');
const vblk_scen_buf = sym('vblk_scen_buf');

export const VIRTIO_BLK_T_IN = constant('VIRTIO_BLK_T_IN', 0, 'request type: read sectors (virtio 1.1 §5.2.6)');
export const VIRTIO_BLK_T_OUT = constant('VIRTIO_BLK_T_OUT', 1, 'request type: write sectors');
export const VIRTIO_BLK_T_FLUSH = constant('VIRTIO_BLK_T_FLUSH', 4, 'request type: flush the device\'s write cache');
export const VIRTIO_BLK_T_GET_ID = constant('VIRTIO_BLK_T_GET_ID', 8, 'request type: the device\'s serial number, 20 bytes (NUL-padded, not terminated when 20 long)');
export const VIRTIO_BLK_S_OK = constant('VIRTIO_BLK_S_OK', 0, 'status byte: success');
export const VIRTIO_BLK_S_IOERR = constant('VIRTIO_BLK_S_IOERR', 1, 'status byte: the device failed (or refused: a write to a read-only disk, a sector past the end)');
export const VIRTIO_BLK_S_UNSUPP = constant('VIRTIO_BLK_S_UNSUPP', 2, 'status byte: the device does not know this request type');
export const VIRTIO_BLK_F_RO = constant('VIRTIO_BLK_F_RO', 1 << 5, 'feature bit 5: the disk is read-only');
export const VIRTIO_BLK_F_BLK_SIZE = constant('VIRTIO_BLK_F_BLK_SIZE', 1 << 6, 'feature bit 6: config.blk_size is valid');
export const VIRTIO_BLK_F_FLUSH = constant('VIRTIO_BLK_F_FLUSH', 1 << 9, 'feature bit 9: the device has a write cache and takes FLUSH requests (legacy name WCE)');
export const VBLK_FEATURES = constant('VBLK_FEATURES', VIRTIO_BLK_F_RO.or(VIRTIO_BLK_F_BLK_SIZE).or(VIRTIO_BLK_F_FLUSH), 'the feature bits this driver implements: RO, BLK_SIZE, FLUSH');
export const VBLK_CFG_CAPACITY = constant('VBLK_CFG_CAPACITY', 0, 'config +0 u64: capacity in 512-byte sectors (§5.2.4)');
export const VBLK_CFG_BLK_SIZE = constant('VBLK_CFG_BLK_SIZE', 20, 'config +20 u32: the device\'s preferred block size (with VIRTIO_BLK_F_BLK_SIZE)', { radix: 10 });
export const VBLK_MAX = constant('VBLK_MAX', 8, 'virtio-blk disks this driver keeps state for (as many as disk_table holds)', { radix: 10 });
export const VBLK_SLOTS = constant('VBLK_SLOTS', 64, 'requests in flight per disk at most (each takes 3 descriptors; fewer when the queue is small)', { radix: 10 });
export const VBLK_SERIAL_LEN = constant('VBLK_SERIAL_LEN', 20, 'bytes of a GET_ID answer', { radix: 10 });
export const VBLK_NO_DEADLINE = constant('VBLK_NO_DEADLINE', 0x7fffffff, 'a waiter sleeps this many ticks at most: in effect until its completion interrupt makes it runnable');
export const REQ_FREE = constant('REQ_FREE', 0, 'request slot state: unused');
export const REQ_BUSY = constant('REQ_BUSY', 1, 'request slot state: given to the device');
export const REQ_DONE = constant('REQ_DONE', 2, 'request slot state: the device is done; the waiter reads the status');

/** One request: the header the device reads, the status byte it writes, and the driver's bookkeeping. */
export const VBLK_REQ = defineStruct('vblk_req', {
  type: u32('virtio_blk_req.type: VIRTIO_BLK_T_*'),
  reserved: u32('virtio_blk_req.reserved (legacy: ioprio): 0'),
  sector: u64('virtio_blk_req.sector: first 512-byte sector'),
  status: u8('the status byte the device writes last (VIRTIO_BLK_S_*); 0xFF until then'),
  state: u8('REQ_FREE, REQ_BUSY, REQ_DONE'),
  _pad: pad(2),
  waiter: u32('the process waiting for it (0 while nothing runs: boot-time polling)'),
  len: u32('bytes the device says it wrote (data + the status byte)'),
  vb: u32('the disk (struc vblk) it belongs to'),
  pid: u32('the waiter\'s pid: a process ended meanwhile (kill, Ctrl-C) no longer matches its entry'),
  buf: u32('the data buffer (0: none, FLUSH): a process\'s is the page its sector call lent, freed here if the process ends first'),
  _pad2: pad(8),
}, { doc: 'a virtio-blk request slot: the first 16 bytes are the device-readable header (virtio 1.1 §5.2.6)', size: 48 });

/** What the driver keeps per disk. */
export const VBLK = defineStruct('vblk', {
  dev: u32('the virtio device (struc virtio_dev)'),
  vq: u32('its request queue, queue 0 (struc vq)'),
  disk: u32('its disk_table entry (struc disk)'),
  reqs: u32('VBLK_REQ slots (one zeroed page)'),
  nslots: u32('slots usable: VBLK_SLOTS, or N/3 for a small queue'),
  blk_size: u32('the device\'s block size in bytes (512 unless it says otherwise)'),
  completions: u32('requests the device has finished (vblk_service)'),
  polls: u32('used-ring polls while nothing could block (boot time)'),
}, { doc: 'a virtio-blk disk (virtio_blk.asm)', size: 32 });

const each = (a: Parameters<Scenario['emit']>[0], body: () => void) => {
  a.mov(ebx, disk_table);
  a.mov(esi, dword(disk_count));
  a.forCount(esi, esi, () => {
    a.cmp(dword(ebx, DISK.f.rw), vblk_rw);
    a.if_('e', body, undefined, 'a virtio-blk disk');
    a.add(ebx, DISK.SIZE);
  }, 'every disk');
};
const printName = (a: Parameters<Scenario['emit']>[0]) => { say(a, a.cstr('[vblk] ')); a.lea(eax, dword(ebx, DISK.f.name)); a.call(serial_puts); };
/** One blk_rw through the block layer on disk EBX, printing the result or the data's FNV-1a; EDI = buffer. */
const readOne = (a: Parameters<Scenario['emit']>[0], lba: () => void, count: number) => {
  lba(); a.push(eax);
  a.invoke(blk_rw, [ebx, BLK_READ, eax, count, edi]);
  a.pop(ecx);
  a.push(eax);
  a.push(ecx);
  printName(a);
  say(a, a.cstr(' read '));
  a.pop(eax); a.call(serial_put_dec);
  say(a, a.cstr(` x ${count}: `));
  a.pop(eax);
  a.test(eax, eax);
  a.if_('nz', () => { say(a, a.cstr('error ')); a.call(serial_put_int); }, () => {
    say(a, a.cstr('fnv 0x'));
    a.mov(eax, 0x811c9dc5);
    a.mov(edx, edi);
    a.mov(ecx, count * 512);
    a.call(vblk_fnv);
    a.call(serial_put_hex32);
  });
  a.call(serial_newline);
};
const scenBuf = (a: Parameters<Scenario['emit']>[0]) => {
  a.mov(eax, 32);
  a.call(pmm_alloc_pages, '128 KiB: one blk_rw of BLK_MAX_COUNT sectors');
  a.mov(edi, eax);
  a.mov(dword(vblk_scen_buf), eax);
};

/**
 * test=virtio_blk: on every virtio-blk disk, reads of scattered sectors
 * (FNV-1a of each), one read's interrupt count, an unsupported request, a
 * read past the end through the driver itself, and a write (refused on a
 * read-only disk by the block layer, and by the device when asked directly).
 */
export const VIRTIO_BLK_SCENARIO: Scenario = {
  name: 'virtio_blk', doc: 'every virtio-blk disk: scattered reads (FNV-1a), interrupts per request, unsupported and out-of-range requests, writes refused on a read-only disk',
  emit(a) {
    scenBuf(a);
    each(a, () => {
      readOne(a, () => a.xor(eax, eax), 1);
      readOne(a, () => a.mov(eax, 1), 8);
      readOne(a, () => a.mov(eax, 63), 2);
      readOne(a, () => { a.mov(eax, dword(ebx, DISK.f.sectors)); a.xor(edx, edx); a.mov(ecx, 3); a.div(ecx); }, 16);
      readOne(a, () => { a.mov(eax, dword(ebx, DISK.f.sectors)); a.shr(eax, 1); a.inc(eax); }, 256);
      readOne(a, () => { a.mov(eax, dword(ebx, DISK.f.sectors)); a.dec(eax); }, 1);
      a.comment('One request, one interrupt: the counts before and after a one-sector read.');
      a.mov(ecx, dword(ebx, DISK.f.priv));
      a.mov(edx, dword(ecx, VBLK.f.dev));
      a.push(dword(edx, VIRTIO_DEV.f.irqs));
      a.push(dword(ecx, VBLK.f.polls));
      a.push(dword(ecx, VBLK.f.completions));
      a.invoke(blk_rw, [ebx, BLK_READ, 5, 1, edi]);
      printName(a);
      say(a, a.cstr(' one read: '));
      a.mov(ecx, dword(ebx, DISK.f.priv));
      a.mov(eax, dword(ecx, VBLK.f.completions));
      a.pop(edx); a.sub(eax, edx);
      a.call(serial_put_dec);
      say(a, a.cstr(' completion(s), '));
      a.mov(ecx, dword(ebx, DISK.f.priv));
      a.mov(eax, dword(ecx, VBLK.f.polls));
      a.pop(edx); a.sub(eax, edx);
      a.call(serial_put_dec);
      say(a, a.cstr(' poll(s), '));
      a.mov(ecx, dword(ebx, DISK.f.priv));
      a.mov(ecx, dword(ecx, VBLK.f.dev));
      a.mov(eax, dword(ecx, VIRTIO_DEV.f.irqs));
      a.pop(edx); a.sub(eax, edx);
      a.call(serial_put_dec);
      say(a, a.cstr(' interrupt(s)\r\n'));
      a.comment('A request type the device does not know (0x77): UNSUPP.');
      a.invoke(vblk_submit, [dword(ebx, DISK.f.priv), 0x77, 0, 0, 0]);
      a.invoke(vblk_wait, [dword(ebx, DISK.f.priv), eax]);
      a.push(eax);
      printName(a);
      say(a, a.cstr(' type 0x77: '));
      a.pop(eax); a.call(serial_put_int); a.call(serial_newline);
      a.comment('The driver itself asked for the sector at the capacity (blk_rw would refuse it first): IOERR.');
      a.invoke(vblk_rw, [ebx, BLK_READ, dword(ebx, DISK.f.sectors), 1, edi]);
      a.push(eax);
      printName(a);
      say(a, a.cstr(' driver read at capacity: '));
      a.pop(eax); a.call(serial_put_int); a.call(serial_newline);
      a.test(dword(ebx, DISK.f.flags), DISK_RO);
      a.if_('nz', () => {
        a.invoke(blk_rw, [ebx, BLK_WRITE, 0, 1, edi]);
        a.push(eax);
        printName(a);
        say(a, a.cstr(' write: '));
        a.pop(eax); a.call(serial_put_int); a.call(serial_newline);
        a.invoke(vblk_rw, [ebx, BLK_WRITE, 0, 1, edi]);
        a.push(eax);
        printName(a);
        say(a, a.cstr(' driver write: '));
        a.pop(eax); a.call(serial_put_int); a.call(serial_newline);
      });
      printName(a);
      say(a, a.cstr(' totals: reqs '));
      putDec(a, dword(ebx, DISK.f.reqs));
      say(a, a.cstr(', errors '));
      putDec(a, dword(ebx, DISK.f.errors));
      say(a, a.cstr(', pio '));
      putDec(a, dword(ebx, DISK.f.pio));
      say(a, a.cstr(', interrupts '));
      a.mov(ecx, dword(ebx, DISK.f.priv));
      a.mov(ecx, dword(ecx, VBLK.f.dev));
      putDec(a, dword(ecx, VIRTIO_DEV.f.irqs));
      a.call(serial_newline);
    });
    say(a, a.cstr('[vblk] interrupts no device claimed: '));
    putDec(a, dword(virtio_irq_none));
    a.call(serial_newline);
    a.call(poweroff);
  },
};

/** The guest's write pattern: dword k of sector s is (s << 7 | k) ^ VBLK_WRITE_XOR (test=vblkwrite). */
export const VBLK_WRITE_XOR = 0x5a5a5a5a;
export const VBLK_WRITE_LBA = 1024;
export const VBLK_WRITE_SECTORS = 4096;

/** test=vblkwrite: 2 MiB written to the first disk, then a flush. */
export const VIRTIO_BLK_WRITE_SCENARIO: Scenario = {
  name: 'vblkwrite', doc: `write ${VBLK_WRITE_SECTORS} sectors (2 MiB) from sector ${VBLK_WRITE_LBA} of the first disk, 256 at a time, each dword (s << 7 | k) ^ 0x${VBLK_WRITE_XOR.toString(16)}; flush`,
  emit(a) {
    scenBuf(a);
    a.mov(ebx, disk_table);
    a.mov(esi, VBLK_WRITE_LBA, 'ESI = sector');
    a.forCount(ecx, VBLK_WRITE_SECTORS / 256, () => {
      a.push(ecx);
      a.mov(edx, edi);
      a.xor(ecx, ecx, 'ECX = dword in the 128 KiB buffer');
      a.label('.fill');
      a.mov(eax, ecx);
      a.shr(eax, 7, 'sector within the buffer');
      a.add(eax, esi);
      a.shl(eax, 7);
      a.push(ecx);
      a.and(ecx, 127);
      a.or(eax, ecx);
      a.pop(ecx);
      a.xor(eax, VBLK_WRITE_XOR);
      a.mov(dword({ base: edx, index: ecx, scale: 4 }), eax);
      a.inc(ecx);
      a.cmp(ecx, 256 * 128);
      a.jb(L('.fill'));
      a.invoke(blk_rw, [ebx, BLK_WRITE, esi, 256, edi]);
      a.test(eax, eax);
      a.if_('nz', () => {
        a.push(eax);
        say(a, a.cstr('[vblk] write failed: '));
        a.pop(eax); a.call(serial_put_int); a.call(serial_newline);
      });
      a.add(esi, 256);
      a.pop(ecx);
    }, 'sixteen writes of 256 sectors');
    a.invoke(blk_rw, [ebx, BLK_FLUSH, 0, 0, 0]);
    a.push(eax);
    say(a, a.cstr(`[vblk] wrote ${VBLK_WRITE_SECTORS} sectors at ${VBLK_WRITE_LBA}, flush: `));
    a.pop(eax); a.call(serial_put_int); a.call(serial_newline);
    a.call(poweroff);
  },
};

export const VBLK_BLOCK_READS = 10;
const vblk_block_t0 = sym('vblk_block_t0');
const vblk_block_own = sym('vblk_block_own');
const vblk_block_idle = sym('vblk_block_idle');

/** test=vblkblock: the kernel task reads while a CPU-bound program runs: its waits go to the program. */
export const VIRTIO_BLK_BLOCK_SCENARIO: Scenario = {
  name: 'vblkblock', doc: `start spin, then ${VBLK_BLOCK_READS} one-sector reads of the first disk: each wait blocks the kernel task and spin runs meanwhile; report whose ticks they were`,
  emit(a) {
    scenBuf(a);
    a.mov(eax, a.cstr('spin'));
    a.mov(edx, 0);
    a.call(proc_run);
    a.push(eax, 'its pid, for proc_wait');
    a.mov(esi, dword(proc_current));
    a.mov(eax, dword(ticks));
    a.mov(dword(vblk_block_t0), eax);
    a.mov(eax, dword(esi, PROC.f.ticks));
    a.mov(dword(vblk_block_own), eax);
    a.mov(eax, dword(idle_ticks));
    a.mov(dword(vblk_block_idle), eax);
    a.push(dword(vblk_blocks));
    a.mov(ebx, disk_table);
    a.forCount(ecx, VBLK_BLOCK_READS, () => {
      a.push(ecx);
      a.invoke(blk_rw, [ebx, BLK_READ, ecx, 1, edi]);
      a.pop(ecx);
    }, 'each read blocks until its completion interrupt; spin is runnable meanwhile');
    say(a, a.cstr(`[vblk] ${VBLK_BLOCK_READS} reads while spin ran: `));
    a.mov(eax, dword(ticks));
    a.sub(eax, dword(vblk_block_t0));
    a.call(serial_put_dec);
    say(a, a.cstr(' ticks, the kernel task\'s own '));
    a.mov(eax, dword(esi, PROC.f.ticks));
    a.sub(eax, dword(vblk_block_own));
    a.call(serial_put_dec);
    say(a, a.cstr(', idle '));
    a.mov(eax, dword(idle_ticks));
    a.sub(eax, dword(vblk_block_idle));
    a.call(serial_put_dec);
    say(a, a.cstr(', blocked '));
    a.mov(eax, dword(vblk_blocks));
    a.pop(edx);
    a.sub(eax, edx);
    a.call(serial_put_dec);
    say(a, a.cstr(' times\r\n'));
    a.pop(eax);
    a.call(proc_wait);
    a.call(poweroff);
  },
};

export const VBLK_WRAP_BATCH = 16;
const vblk_wrap_next = sym('vblk_wrap_next');
const vblk_wrap_total = sym('vblk_wrap_total');
const vblk_wrap_hash = sym('vblk_wrap_hash');
const vblk_wrap_slots = sym('vblk_wrap_slots');
const vblk_wrap_n = sym('vblk_wrap_n');

/** test=vblkwrap: 10 x N + 7 one-sector reads, VBLK_WRAP_BATCH in flight, checked in order. */
export const VIRTIO_BLK_WRAP_SCENARIO: Scenario = {
  name: 'vblkwrap', doc: `10 x queue size + 7 one-sector reads of sectors 0, 1, 2, ... on the first disk, ${VBLK_WRAP_BATCH} in flight at a time; FNV-1a over the data in request order`,
  emit(a) {
    scenBuf(a);
    a.mov(ebx, dword(disk_table.add(DISK.f.priv)), 'EBX = the first disk\'s struc vblk');
    a.mov(ecx, dword(ebx, VBLK.f.vq));
    a.mov(eax, dword(ecx, VQ.f.num));
    a.imul(eax, eax, 10);
    a.add(eax, 7);
    a.mov(dword(vblk_wrap_total), eax);
    a.mov(dword(vblk_wrap_next), 0);
    a.mov(dword(vblk_wrap_hash), 0x811c9dc5);
    a.label('.batch');
    a.xor(esi, esi, 'ESI = requests in flight in this batch');
    a.label('.submit');
    a.mov(eax, dword(vblk_wrap_next));
    a.cmp(eax, dword(vblk_wrap_total));
    a.jae(L('.wait'));
    a.cmp(esi, VBLK_WRAP_BATCH);
    a.jae(L('.wait'));
    a.mov(edx, esi);
    a.shl(edx, 9);
    a.add(edx, edi, 'EDX = this request\'s 512 bytes of the buffer');
    a.invoke(vblk_submit, [ebx, VIRTIO_BLK_T_IN, eax, edx, 512]);
    a.test(eax, eax);
    a.js(L('.fail'));
    a.mov(dword({ index: esi, scale: 4, disp: vblk_wrap_slots }), eax);
    a.inc(dword(vblk_wrap_next));
    a.inc(esi);
    a.jmp(L('.submit'));
    a.label('.wait');
    a.mov(dword(vblk_wrap_n), esi);
    a.xor(esi, esi);
    a.label('.wait_one');
    a.cmp(esi, dword(vblk_wrap_n));
    a.jae(L('.batch_done'));
    a.invoke(vblk_wait, [ebx, dword({ index: esi, scale: 4, disp: vblk_wrap_slots })], 'in submission order');
    a.test(eax, eax);
    a.jnz(L('.fail'));
    a.mov(eax, dword(vblk_wrap_hash));
    a.mov(edx, esi);
    a.shl(edx, 9);
    a.add(edx, edi);
    a.mov(ecx, 512);
    a.call(vblk_fnv, 'the data of request k, in the order the requests were made');
    a.mov(dword(vblk_wrap_hash), eax);
    a.inc(esi);
    a.jmp(L('.wait_one'));
    a.label('.batch_done');
    a.mov(eax, dword(vblk_wrap_next));
    a.cmp(eax, dword(vblk_wrap_total));
    a.jb(L('.batch'));
    say(a, a.cstr('[vblk] wrap: '));
    putDec(a, dword(vblk_wrap_total));
    say(a, a.cstr(' requests, queue size '));
    a.mov(ecx, dword(ebx, VBLK.f.vq));
    putDec(a, dword(ecx, VQ.f.num));
    say(a, a.cstr(`, ${VBLK_WRAP_BATCH} in flight, fnv 0x`));
    putHex32(a, dword(vblk_wrap_hash));
    say(a, a.cstr(', avail.idx '));
    a.mov(ecx, dword(ebx, VBLK.f.vq));
    a.mov(ecx, dword(ecx, VQ.f.avail));
    a.movzx(eax, word(ecx, VIRTQ_AVAIL.f.idx));
    a.call(serial_put_dec);
    say(a, a.cstr(', used.idx '));
    a.mov(ecx, dword(ebx, VBLK.f.vq));
    a.mov(ecx, dword(ecx, VQ.f.used));
    a.movzx(eax, word(ecx, VIRTQ_USED.f.idx));
    a.call(serial_put_dec);
    a.call(serial_newline);
    a.call(poweroff);
    a.label('.fail');
    a.push(eax);
    say(a, a.cstr('[vblk] wrap: request failed: '));
    a.pop(eax);
    a.call(serial_put_int);
    a.call(serial_newline);
    a.call(poweroff);
  },
};

export const virtioBlk = defineModule({
  name: 'virtio_blk',
  title: 'The virtio-blk driver: requests as descriptor chains, completion by interrupt',
  about: `
A virtio block device (virtio 1.1 §5.2) is a disk whose requests are
descriptor chains in its one queue (queue 0).  Each request is three
buffers (§5.2.6):

  header   16 bytes, device reads:  u32 type, u32 reserved, u64 sector
  data     device writes it (IN, GET_ID) or reads it (OUT); none for FLUSH
  status   1 byte, device writes:   0 OK, 1 IOERR, 2 UNSUPP

The sector is always in 512-byte units, whatever blk_size says.  The header
and status byte live in a request slot (struc vblk_req, one page of them
per disk); the data buffer is the caller's own memory - below 4 MiB, where
linear = physical, so the device can be given its address as it is (DMA,
no copy).  Slots are handed out one per request, so several requests are
in flight at once (VBLK_SLOTS, or N/3 on a small queue: three descriptors
each never exceed the queue).

Setup (virtio_blk_init, for each block device virtio_init found, in PCI
order): features RO, BLK_SIZE and FLUSH if offered (the only ones this
driver implements); queue 0; the configuration at BAR0+0x14 - capacity
(u64 sectors, +0) and blk_size (+20); DRIVER_OK; then GET_ID, the serial
number (20 bytes, NUL-padded).  Each disk goes into the block layer's
table (disk.asm) as vda, vdb, ... with vblk_rw as its rw routine.

Waiting.  vblk_submit puts a request in the queue and notifies; vblk_wait
waits for it.  While the kernel boots nothing else could run, so it polls
the used ring (vblk_poll).  Afterwards the waiting process blocks - it
sleeps with no deadline (VBLK_NO_DEADLINE) and the scheduler runs others -
and the completion interrupt (virtio_irq -> vblk_service) takes the
finished chains from the used ring, marks their slots done and makes their
waiters runnable.  A waiter that has ended meanwhile (kill, Ctrl-C free a
blocked process at once: exit.asm) is recognised by its pid no longer
matching the entry, and its slot is freed on the spot - with the page its
sector call lent the request (a process reaches a disk only through
blkread/blkwrite, whose buffer is a page from pmm_alloc): the call will never
resume to free it, and until the device answers the page is still its DMA target.  Interrupts stay off from the submission to the block,
so a completion cannot slip in between and be missed.

Errors.  A status byte IOERR is -EIO, UNSUPP is -EOPNOTSUPP, each with a
line naming the disk and the sector ("[blk] vda: I/O error at sector 9").
Out-of-range and read-only requests never get here: blk_rw refuses them
first; the device would answer IOERR.

Booting from virtio-blk.  When the image is attached with if=virtio,
SeaBIOS reads the boot sector, stage 2 and the kernel through its own
virtio-blk driver (and leaves the device running: hence the reset); the
kernel then finds its boot disk among the vd disks, as among the IDE ones,
by content (disk.asm, disk_find_boot).`,
  spec: [
    'virtio 1.1 §5.2 "Block Device": §5.2.3 (feature bits), §5.2.4 (configuration layout), §5.2.6 (device operation: request header, types, status)',
    'virtio 1.1 §2.6 "Split Virtqueues" (vqueue.asm), §4.1.4.8 (legacy registers, virtio.asm)',
  ],
  emit(a) {
    a.bss(vblk_table, VBLK_MAX.mul(VBLK.SIZE), 4, 'one struc vblk per virtio-blk disk');
    a.bss(vblk_count, 4, 4, 'entries used in vblk_table');
    a.bss(vblk_blocks, 4, 4, 'times a process blocked in vblk_wait (its request was not done yet)');
    a.bss(vblk_scen_buf, 4, 4, 'the test scenarios\' 128 KiB buffer');
    a.bss(vblk_block_t0, 4, 4, 'test=vblkblock: ticks at the start');
    a.bss(vblk_block_own, 4, 4, 'test=vblkblock: the kernel task\'s ticks at the start');
    a.bss(vblk_block_idle, 4, 4, 'test=vblkblock: idle ticks at the start');
    a.bss(vblk_wrap_next, 4, 4, 'test=vblkwrap: next sector to read');
    a.bss(vblk_wrap_total, 4, 4, 'test=vblkwrap: requests to make');
    a.bss(vblk_wrap_hash, 4, 4, 'test=vblkwrap: FNV-1a so far');
    a.bss(vblk_wrap_n, 4, 4, 'test=vblkwrap: requests in this batch');
    a.bss(vblk_wrap_slots, VBLK_WRAP_BATCH * 4, 4, 'test=vblkwrap: the batch\'s request slots');

    a.routine({
      name: virtio_blk_init, does: 'sets up every virtio block device virtio_init found, in PCI order, as vda, vdb, ...',
      clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.xor(ebx, ebx);
      a.loop_((loop) => {
        a.mov(eax, VIRTIO_TYPE_BLK);
        a.mov(edx, ebx);
        a.call(virtio_find);
        a.test(eax, eax);
        loop.break_('z', 'no more block devices');
        a.mov(ebx, eax);
        a.call(vblk_probe);
      });
      a.cmp(dword(vblk_count), 0);
      a.if_('e', () => say(a, a.cstr('[virtio_blk] no virtio-blk disks\r\n')));
      r.ret();
    });

    a.routine({
      name: vblk_probe, does: 'sets one virtio block device up and adds it to the block layer',
      in: { eax: 'the device (struc virtio_dev)' }, clobbers: [eax, ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(esi, eax, 'ESI = device');
      a.mov(ecx, dword(vblk_count));
      a.cmp(ecx, VBLK_MAX);
      a.if_('ae', () => {
        a.mov(eax, dword(esi, VIRTIO_DEV.f.pci));
        a.call(virtio_put_fn);
        say(a, a.cstr('not used: vblk_table is full\r\n'));
        a.mov(eax, esi);
        a.call(virtio_fail);
        r.ret();
      });
      a.imul(ebx, ecx, VBLK.SIZE);
      a.add(ebx, vblk_table, 'EBX = its struc vblk (bss: zero)');
      a.mov(dword(ebx, VBLK.f.dev), esi);
      a.mov(eax, esi);
      a.mov(edx, VBLK_FEATURES);
      a.call(virtio_begin);
      a.mov(eax, esi);
      a.xor(edx, edx);
      a.call(virtio_queue, 'queue 0: the request queue');
      a.test(eax, eax);
      a.jz(L('.fail'));
      a.mov(dword(ebx, VBLK.f.vq), eax);
      a.mov(eax, dword(eax, VQ.f.num));
      a.xor(edx, edx);
      a.mov(ecx, 3);
      a.div(ecx, 'N/3: three descriptors per request');
      a.cmp(eax, VBLK_SLOTS);
      a.if_('a', () => a.mov(eax, VBLK_SLOTS));
      a.test(eax, eax);
      a.jz(L('.fail'), 'a queue of 2: not even one request fits');
      a.mov(dword(ebx, VBLK.f.nslots), eax);
      a.mov(eax, 1);
      a.call(pmm_alloc_pages, 'the request slots');
      a.test(eax, eax);
      a.jz(L('.fail'));
      a.mov(dword(ebx, VBLK.f.reqs), eax);
      a.mov(dword(esi, VIRTIO_DEV.f.priv), ebx);
      a.mov(dword(esi, VIRTIO_DEV.f.service), vblk_service);
      a.comment('The configuration (§5.2.4), little-endian at BAR0+0x14.');
      a.mov(dword(ebx, VBLK.f.blk_size), 512);
      a.test(dword(esi, VIRTIO_DEV.f.features), VIRTIO_BLK_F_BLK_SIZE);
      a.if_('nz', () => {
        a.mov(edx, dword(esi, VIRTIO_DEV.f.iobase));
        a.add(edx, VIRTIO_PCI_CONFIG.add(VBLK_CFG_BLK_SIZE));
        a.in(eax, dx);
        a.mov(dword(ebx, VBLK.f.blk_size), eax);
        a.inc(dword(esi, VIRTIO_DEV.f.pio));
      });
      a.mov(eax, esi);
      a.call(virtio_ready, 'DRIVER_OK: requests may go in from now on');
      a.call(disk_add);
      a.test(eax, eax);
      a.jz(L('.fail'), 'the block layer\'s table is full (it said so)');
      a.mov(edi, eax, 'EDI = the disk');
      a.mov(dword(ebx, VBLK.f.disk), edi);
      a.inc(dword(vblk_count));
      a.mov(dword(edi, DISK.f.name), chr('v').or(chr('d').shl(8)));
      a.mov(eax, dword(vblk_count));
      a.add(al, chr('a').sub(1));
      a.mov(byte(edi, DISK.f.name.add(2)), al, 'vda, vdb, ... in PCI order');
      a.mov(dword(edi, DISK.f.rw), vblk_rw);
      a.mov(dword(edi, DISK.f.priv), ebx);
      a.mov(dword(edi, DISK.f.kind), a.cstr('virtio-blk'));
      a.mov(edx, dword(esi, VIRTIO_DEV.f.iobase));
      a.add(edx, VIRTIO_PCI_CONFIG.add(VBLK_CFG_CAPACITY));
      a.in(eax, dx, 'capacity, low half');
      a.mov(dword(edi, DISK.f.sectors), eax);
      a.add(edx, 4);
      a.in(eax, dx, 'capacity, high half');
      a.mov(dword(edi, DISK.f.sectors_hi), eax);
      a.add(dword(esi, VIRTIO_DEV.f.pio), 2);
      a.xor(ecx, ecx);
      a.test(dword(esi, VIRTIO_DEV.f.features), VIRTIO_BLK_F_RO);
      a.if_('nz', () => a.or(ecx, DISK_RO));
      a.test(dword(esi, VIRTIO_DEV.f.features), VIRTIO_BLK_F_FLUSH);
      a.if_('nz', () => a.or(ecx, DISK_FLUSH));
      a.mov(dword(edi, DISK.f.flags), ecx);
      a.lea(eax, dword(edi, DISK.f.serial));
      a.invoke(vblk_submit, [ebx, VIRTIO_BLK_T_GET_ID, 0, eax, VBLK_SERIAL_LEN], 'the serial number (the entry is zeroed: byte 20 stays its NUL)');
      a.test(eax, eax);
      a.if_('ns', () => { a.invoke(vblk_wait, [ebx, eax]); });
      a.mov(dword(edi, DISK.f.reqs), 0, 'GET_ID is not a disk request: count from 0');
      a.mov(dword(edi, DISK.f.errors), 0);
      a.comment('[virtio_blk] vda: 16384 sectors (8 MiB), serial "TESTDISK", read-write, irq 10');
      say(a, a.cstr('[virtio_blk] '));
      a.lea(eax, dword(edi, DISK.f.name));
      a.call(serial_puts);
      say(a, a.cstr(': '));
      a.mov(eax, edi);
      a.call(disk_put_size);
      say(a, a.cstr(', serial "'));
      a.lea(eax, dword(edi, DISK.f.serial));
      a.call(serial_put_escaped, 'the device\'s bytes: a control byte is shown as \\xHH');
      a.test(dword(edi, DISK.f.flags), DISK_RO);
      a.if_('nz', () => say(a, a.cstr('", read-only, irq ')), () => say(a, a.cstr('", read-write, irq ')));
      putDec(a, dword(esi, VIRTIO_DEV.f.irq));
      a.cmp(dword(ebx, VBLK.f.blk_size), 512);
      a.if_('ne', () => { say(a, a.cstr(', block size ')); putDec(a, dword(ebx, VBLK.f.blk_size)); });
      a.call(serial_newline);
      a.mov(eax, esi);
      a.call(virtio_attach_irq, 'completions interrupt from now on');
      r.ret();
      a.label('.fail');
      a.mov(eax, dword(esi, VIRTIO_DEV.f.pci));
      a.call(virtio_put_fn);
      say(a, a.cstr('block device setup failed: status FAILED\r\n'));
      a.mov(eax, esi);
      a.call(virtio_fail);
      a.mov(dword(esi, VIRTIO_DEV.f.service), 0);
      r.ret();
    });

    a.routine({
      name: vblk_submit, does: 'puts one request in the disk\'s queue and notifies the device (does not wait)',
      args: { vb: 'the disk (struc vblk)', type: 'VIRTIO_BLK_T_*', lba: 'first sector', buf: 'data buffer below 4 MiB', bytes: 'its length (0: no data buffer, as for FLUSH)' },
      out: { eax: 'the request slot (for vblk_wait), or -EAGAIN when every slot is in flight' },
      clobbers: [ecx, edx], saves: [ebx, esi, edi],
      locals: { sg: [36, 'the chain for vq_add: header, data, status'] },
    }, (r) => {
      a.pushfd();
      a.cli('the slot table and the queue are shared with the interrupt handler');
      a.mov(ebx, r.arg('vb'));
      a.mov(esi, dword(ebx, VBLK.f.reqs));
      a.mov(ecx, dword(ebx, VBLK.f.nslots));
      a.label('.find');
      a.cmp(byte(esi, VBLK_REQ.f.state), REQ_FREE);
      a.je(L('.got'));
      a.add(esi, VBLK_REQ.SIZE);
      a.dec(ecx);
      a.jnz(L('.find'));
      a.popfd();
      a.mov(eax, EAGAIN.neg());
      r.ret();
      a.label('.got');
      a.mov(eax, r.arg('type'));
      a.mov(dword(esi, VBLK_REQ.f.type), eax);
      a.mov(dword(esi, VBLK_REQ.f.reserved), 0);
      a.mov(edx, r.arg('lba'));
      a.mov(dword(esi, VBLK_REQ.f.sector), edx);
      a.mov(dword(esi, VBLK_REQ.f.sector.add(4)), 0);
      a.mov(byte(esi, VBLK_REQ.f.status), 0xff, 'not a status: shows a request the device never finished');
      a.mov(byte(esi, VBLK_REQ.f.state), REQ_BUSY);
      a.mov(dword(esi, VBLK_REQ.f.vb), ebx);
      a.mov(edx, dword(proc_current));
      a.mov(dword(esi, VBLK_REQ.f.waiter), edx);
      a.test(edx, edx);
      a.if_('nz', () => a.mov(edx, dword(edx, PROC.f.pid)));
      a.mov(dword(esi, VBLK_REQ.f.pid), edx);
      a.mov(dword(esi, VBLK_REQ.f.buf), 0);
      a.lea(edi, r.local('sg', 'none'));
      a.mov(dword(edi), esi, 'buffer 1: the header, device-readable');
      a.mov(dword(edi, 4), 16);
      a.mov(dword(edi, 8), 0);
      a.mov(ecx, 1, 'ECX = buffers');
      a.mov(edx, r.arg('bytes'));
      a.test(edx, edx);
      a.if_('nz', () => {
        a.mov(dword(edi, 16), edx);
        a.mov(edx, r.arg('buf'));
        a.mov(dword(esi, VBLK_REQ.f.buf), edx);
        a.mov(dword(edi, 12), edx, 'buffer 2: the data');
        a.xor(edx, edx);
        a.cmp(eax, VIRTIO_BLK_T_OUT);
        a.if_('ne', () => a.mov(edx, VIRTQ_DESC_F_WRITE), undefined, 'IN and GET_ID: the device writes the data');
        a.mov(dword(edi, 20), edx);
        a.inc(ecx);
      });
      a.imul(edx, ecx, 12);
      a.lea(eax, dword(esi, VBLK_REQ.f.status));
      a.mov(dword({ base: edi, index: edx, scale: 1 }), eax, 'the last buffer: the status byte, device-writable');
      a.mov(dword({ base: edi, index: edx, scale: 1, disp: 4 }), 1);
      a.mov(dword({ base: edi, index: edx, scale: 1, disp: 8 }), VIRTQ_DESC_F_WRITE);
      a.inc(ecx);
      a.invoke(vq_add, [dword(ebx, VBLK.f.vq), edi, ecx, esi]);
      a.test(eax, eax);
      a.if_('s', () => {
        a.mov(byte(esi, VBLK_REQ.f.state), REQ_FREE, 'cannot happen (slots x 3 <= N), but never leak a slot');
        a.popfd();
        r.ret();
      });
      a.mov(eax, dword(ebx, VBLK.f.vq));
      a.call(virtio_notify);
      a.popfd();
      a.mov(eax, esi);
      r.ret();
    });

    a.routine({
      name: vblk_wait, does: 'waits for one request (blocking, or polling at boot), frees its slot, turns its status into a result',
      args: { vb: 'the disk (struc vblk)', req: 'the slot vblk_submit returned' },
      out: { eax: '0, -EIO (IOERR), or -EOPNOTSUPP (UNSUPP); a line names the sector' },
      clobbers: [ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(ebx, r.arg('vb'));
      a.mov(esi, r.arg('req'));
      a.pushfd();
      a.cli('from the check to the block: a completion cannot come in between');
      a.loop_((loop) => {
        a.cmp(byte(esi, VBLK_REQ.f.state), REQ_DONE);
        loop.break_('e');
        a.cmp(dword(proc_current), 0);
        a.if_('e', () => {
          a.mov(eax, ebx);
          a.call(vblk_poll, 'boot: no scheduler, no interrupts yet');
        }, () => {
          a.inc(dword(vblk_blocks));
          a.mov(edx, dword(ticks));
          a.add(edx, VBLK_NO_DEADLINE);
          a.mov(eax, PS_SLEEPING);
          a.call(sched_block, 'others run; vblk_service makes us runnable (IF comes back off)');
        });
      });
      a.popfd();
      a.mov(ecx, dword(ebx, VBLK.f.disk));
      a.test(ecx, ecx);
      a.if_('nz', () => {
        a.inc(dword(ecx, DISK.f.reqs));
        a.mov(edx, dword(ebx, VBLK.f.dev));
        a.mov(edx, dword(edx, VIRTIO_DEV.f.pio));
        a.mov(dword(ecx, DISK.f.pio), edx);
      });
      a.movzx(eax, byte(esi, VBLK_REQ.f.status));
      a.mov(byte(esi, VBLK_REQ.f.state), REQ_FREE);
      a.test(eax, eax);
      r.retIf('z', 'VIRTIO_BLK_S_OK');
      a.test(ecx, ecx);
      a.if_('nz', () => a.inc(dword(ecx, DISK.f.errors)));
      a.push(eax);
      say(a, a.cstr('[blk] '));
      a.mov(eax, dword(ebx, VBLK.f.disk));
      a.test(eax, eax);
      a.if_('nz', () => { a.lea(eax, dword(eax, DISK.f.name)); a.call(serial_puts); });
      a.pop(eax);
      a.cmp(eax, VIRTIO_BLK_S_UNSUPP);
      a.if_('e', () => {
        say(a, a.cstr(': request type 0x'));
        putHex32(a, dword(esi, VBLK_REQ.f.type));
        say(a, a.cstr(' not supported by the device, sector '));
        putDec(a, dword(esi, VBLK_REQ.f.sector));
        a.call(serial_newline);
        a.mov(eax, EOPNOTSUPP.neg());
        r.ret();
      });
      say(a, a.cstr(': I/O error at sector '));
      putDec(a, dword(esi, VBLK_REQ.f.sector));
      a.call(serial_newline);
      a.mov(eax, EIO.neg());
      r.ret();
    });

    a.routine({
      name: vblk_rw, does: 'the block layer\'s rw routine for a virtio-blk disk: one request, waited for',
      args: { disk: 'the disk (struc disk)', op: 'BLK_READ, BLK_WRITE, BLK_FLUSH (= the virtio-blk request types)', lba: 'first sector', count: 'sectors', buf: 'buffer below 4 MiB' },
      out: { eax: '0, -EIO, -EOPNOTSUPP, or -EAGAIN (every slot in flight)' },
      clobbers: [ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, r.arg('disk'));
      a.mov(ebx, dword(ebx, DISK.f.priv), 'EBX = struc vblk');
      a.mov(ecx, r.arg('count'));
      a.shl(ecx, 9, 'bytes');
      a.mov(edx, r.arg('lba'));
      a.cmp(r.arg('op'), BLK_FLUSH);
      a.if_('e', () => { a.xor(ecx, ecx, 'FLUSH: header and status only'); a.xor(edx, edx, 'and sector 0 (§5.2.6.1)'); });
      a.invoke(vblk_submit, [ebx, r.arg('op'), edx, r.arg('buf'), ecx]);
      a.test(eax, eax);
      r.retIf('s');
      a.invoke(vblk_wait, [ebx, eax]);
      r.ret();
    });

    a.routine({
      name: vblk_service, does: 'takes every finished request off the used ring, marks it done and wakes its waiter (interrupt context)',
      in: { eax: 'the device (struc virtio_dev)' }, clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, dword(eax, VIRTIO_DEV.f.priv));
      a.loop_((loop) => {
        a.mov(eax, dword(ebx, VBLK.f.vq));
        a.call(vq_get_used);
        a.test(eax, eax);
        loop.break_('z', 'no more');
        a.mov(dword(eax, VBLK_REQ.f.len), edx);
        a.mov(byte(eax, VBLK_REQ.f.state), REQ_DONE);
        a.inc(dword(ebx, VBLK.f.completions));
        a.mov(ecx, dword(eax, VBLK_REQ.f.waiter));
        a.test(ecx, ecx);
        loop.continue_('z', 'boot-time request: the poller sees the state');
        a.mov(edx, dword(eax, VBLK_REQ.f.pid));
        a.cmp(dword(ecx, PROC.f.state), PS_FREE);
        a.je(L('.orphan'));
        a.cmp(dword(ecx, PROC.f.pid), edx);
        a.je(L('.waiter'));
        a.label('.orphan');
        a.mov(byte(eax, VBLK_REQ.f.state), REQ_FREE, 'its process ended while the request was in flight (kill, Ctrl-C): nobody will wait for it');
        a.comment('Nor will its sector call resume to free the page it lent (syscall.asm, blkTransfer): the device');
        a.comment('has just finished with that page, so it goes back now - not at the kill, while the DMA could still land.');
        a.cmp(dword(eax, VBLK_REQ.f.pid), 0);
        loop.continue_('e', 'the kernel task never ends (and lends no page): not reached');
        a.mov(eax, dword(eax, VBLK_REQ.f.buf));
        a.test(eax, eax);
        loop.continue_('z', 'FLUSH: no data buffer');
        a.call(pmm_free, 'the bounce page of a process\'s blkread/blkwrite');
        loop.continue_();
        a.label('.waiter');
        a.cmp(dword(ecx, PROC.f.state), PS_SLEEPING);
        loop.continue_('ne', 'not blocked (yet, or still running): it sees the state when it looks');
        a.mov(dword(ecx, PROC.f.state), PS_RUNNABLE, 'its request is done: the scheduler may pick it again');
      });
      r.ret();
    });

    a.routine({
      name: vblk_poll, does: 'acknowledges the device\'s interrupt status and services its used ring, without an interrupt',
      in: { eax: 'the disk (struc vblk)' }, clobbers: [eax, ecx, edx],
    }, (r) => {
      a.push(ebx);
      a.mov(ebx, eax);
      a.inc(dword(ebx, VBLK.f.polls));
      a.pause('a spin-wait hint: the device works while we wait');
      a.mov(eax, dword(ebx, VBLK.f.dev));
      a.inc(dword(eax, VIRTIO_DEV.f.pio));
      a.mov(edx, dword(eax, VIRTIO_DEV.f.iobase));
      a.add(edx, VIRTIO_PCI_ISR);
      a.in(al, dx, 'read-to-clear: no interrupt stays pending for a request we poll');
      a.mov(eax, dword(ebx, VBLK.f.dev));
      a.call(vblk_service);
      a.pop(ebx);
      r.ret();
    });

    a.routine({
      name: vblk_fnv, does: 'continues a 32-bit FNV-1a checksum over a buffer (the test disks\' checksum)',
      in: { eax: 'the hash so far (0x811C9DC5 to start)', edx: 'buffer', ecx: 'bytes' },
      out: { eax: 'the hash' }, clobbers: [ecx, edx], saves: [ebx],
    }, (r) => {
      a.test(ecx, ecx);
      r.retIf('z');
      a.label('.byte');
      a.movzx(ebx, byte(edx));
      a.xor(eax, ebx);
      a.imul(eax, eax, 16777619, 'FNV prime');
      a.inc(edx);
      a.dec(ecx);
      a.jnz(L('.byte'));
      r.ret();
    });

  },
});
