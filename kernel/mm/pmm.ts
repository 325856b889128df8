// The physical page-frame allocator: a bitmap over the usable RAM the
// kernel's identity map covers, above the kernel's own fixed regions.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ebx, ecx, edx, esi, edi, L, dword, constant } from '../../toolchain/x86/operands.ts';
import { E820_COUNT, E820_ENTRY, E820_TABLE, E820_USABLE } from '../../boot/e820.ts';
import { PAGE_MASK, PAGE_SHIFT, PAGE_SIZE } from '../cpu/paging.ts';
import { EINVAL } from '../proc/errno.ts';
import { fw_cfg_ram_kib } from '../dev/fw_cfg.ts';
import { putDec, putHex32, say } from '../lib/print.ts';
import { e820_summary } from './e820.ts';
import { serial_newline, serial_puts } from '../dev/serial.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const pmm_init = sym('pmm_init');
export const pmm_alloc = sym('pmm_alloc');
export const pmm_alloc_pages = sym('pmm_alloc_pages');
export const pmm_take_pages = sym('pmm_take_pages');
export const pmm_free = sym('pmm_free');
export const pmm_mark = sym('pmm_mark');
export const pmm_take = sym('pmm_take');
export const pmm_release = sym('pmm_release');
export const pmm_usable = sym('pmm_usable');
export const pmm_free_map = sym('pmm_free_map');
export const pmm_total = sym('pmm_total');
export const pmm_free_pages = sym('pmm_free_pages');

const base = 0x100000;
const limit = 0x400000;
const frames = (limit - base) / 4096;
const mapDwords = Math.ceil(frames / 32);
/** The allocator's range as plain numbers, for tests and docs. */
export const PMM_RANGE = { base, limit, frames } as const;

export const PMM_BASE = constant('PMM_BASE', base, 'first address the allocator manages: 1 MiB, above the BIOS area; the kernel\'s fixed regions (image, bss, the E820 table) all lie below 640 KiB');
export const PMM_LIMIT = constant('PMM_LIMIT', limit, 'end of the allocator\'s range: the 4 MiB the kernel\'s identity map covers (paging.asm), so every page it hands out is addressable as is');
export const PMM_FRAMES = constant('PMM_FRAMES', frames, `4 KiB frames between PMM_BASE and PMM_LIMIT (${frames})`, { radix: 10 });
export const PMM_MAP_DWORDS = constant('PMM_MAP_DWORDS', mapDwords, 'dwords in each bitmap: one bit per frame, rounded up', { radix: 10 });

export const pmm = defineModule({
  name: 'pmm',
  title: 'The physical page allocator: a bitmap over usable RAM',
  about: `
The kernel's own memory is fixed and small: its image, its bss and the
memory map stage 2 left, all below 640 KiB.  Everything else is asked for
at run time, in whole 4 KiB pages, from this allocator: every page of a
process (its page directory and table, kernel stack, image and user stack:
vm.asm, spawn.asm), and what a driver needs - virtqueues, DMA buffers.

Which pages.  From PMM_BASE (1 MiB: above the BIOS area) up to
PMM_LIMIT = 4 MiB, the range the kernel's page table maps linear =
physical (paging.asm): a page handed out is usable at once, and its address
is the one a device must be given.  Within that range only pages that the
memory map (e820k.asm) calls usable, and no page any other entry touches -
the map may overlap, and "reserved" wins.  With -m 8 that is
${frames} pages; with -m 2 only those below 2 MiB.  Without a map
(a BIOS lacking E820h) the fw_cfg RAM size stands in for it, as one
usable range from 1 MiB.

How.  Two bitmaps, one bit per frame (bit n of dword n/32 is the frame at
PMM_BASE + n * 4 KiB): pmm_usable is set at boot, pmm_free_map says which
usable frames are free now.  pmm_alloc takes the lowest free frame (bsf on
the first nonzero dword), clears its bit and zeroes the page; pmm_free
checks the address before setting the bit again, so that a bug in a driver
is reported instead of silently handing the same page out twice:

  pmm_init     read the map, mark the usable frames, print the count
  pmm_mark     EAX = start, EDX = end, ECX = 1 usable / 0 not: the counts follow
  pmm_alloc    EAX = physical address of a zeroed 4 KiB page, or 0 (none left)
  pmm_take     the same without zeroing (pmm_alloc's first half)
  pmm_alloc_pages  EAX = n -> EAX = the lowest run of n free frames that
               are physically contiguous, zeroed, or 0: a virtqueue's rings
               span several pages and the device only knows their base
  pmm_take_pages   the same without zeroing (its first half)
  pmm_free     EAX = address -> EAX = 0, or -EINVAL after printing why:
               not page-aligned, outside PMM_BASE-PMM_LIMIT, a reserved page,
               or a page that is already free (a double free)
  pmm_release  pmm_free without the printing: EDX = the reason
  pmm_total, pmm_free_pages   the counts the shell's "mem" prints

No lock and no cli: a frame changes hands with one bts or btr, whose CF
says what the bit was - an interrupt on this single CPU comes before or
after that instruction, never inside it - so the routines need no cli, and
they run unchanged in ring 3 under the routine tests (test/routine/pmm.test.ts).
(Still, no interrupt handler allocates: a process that ends frees its pages
while an interrupt may be running on its kernel stack - exit.asm.)`,
  spec: ['ACPI Specification 6.4 §15 "System Address Map Interfaces"', 'Intel SDM Vol. 2A BSF, BT, BTS, BTR (bit offsets into a bit string in memory)'],
  emit(a) {
    a.bss(pmm_usable, PMM_MAP_DWORDS.mul(4), 4, 'bit n: frame n is usable RAM (fixed after pmm_init)');
    a.bss(pmm_free_map, PMM_MAP_DWORDS.mul(4), 4, 'bit n: frame n is free now');
    a.bss(pmm_total, 4, 4, 'usable frames the allocator manages');
    a.bss(pmm_free_pages, 4, 4, 'of those, free now');

    a.routine({
      name: pmm_mark, does: 'marks the frames of a physical range usable and free (only whole frames inside it), or not usable (every frame it touches); keeps the counts',
      in: { eax: 'start of the range', edx: 'end of the range (exclusive; 0 = 4 GiB)', ecx: '1: usable, 0: not usable' },
      clobbers: [eax, edx],
    }, (r) => {
      a.test(edx, edx);
      a.if_('z', () => { a.mov(edx, PMM_LIMIT); }, undefined, 'an end at 4 GiB is past PMM_LIMIT');
      a.cmp(edx, PMM_LIMIT);
      a.if_('a', () => { a.mov(edx, PMM_LIMIT); }, undefined, 'clip the end first: rounding it up then cannot overflow');
      a.test(ecx, ecx);
      a.if_('nz', () => {
        a.add(eax, PAGE_SIZE.sub(1), 'usable: round the start up ...');
        r.retIf('c', 'starts in the last page of 4 GiB: no whole frame');
      }, () => {
        a.add(edx, PAGE_SIZE.sub(1), 'not usable: round the end up, so a frame it touches at all is out');
      });
      a.and(eax, PAGE_MASK);
      a.and(edx, PAGE_MASK, '(usable: the end rounds down)');
      a.cmp(eax, PMM_BASE);
      a.if_('b', () => { a.mov(eax, PMM_BASE); });
      a.sub(eax, PMM_BASE);
      a.shr(eax, PAGE_SHIFT, 'EAX = first frame');
      a.sub(edx, PMM_BASE);
      r.retIf('be', 'the range ends below PMM_BASE');
      a.shr(edx, PAGE_SHIFT, 'EDX = frame past the last');
      a.while_(() => { a.cmp(eax, edx); return 'b'; }, () => {
        a.test(ecx, ecx);
        a.if_('nz', () => {
          a.bts(dword(pmm_usable), eax, 'CF = the bit before: count each frame once, however many entries cover it');
          a.if_('nc', () => {
            a.bts(dword(pmm_free_map), eax);
            a.inc(dword(pmm_total));
            a.inc(dword(pmm_free_pages));
          });
        }, () => {
          a.btr(dword(pmm_usable), eax);
          a.if_('c', () => { a.dec(dword(pmm_total)); });
          a.btr(dword(pmm_free_map), eax);
          a.if_('c', () => { a.dec(dword(pmm_free_pages)); });
        });
        a.inc(eax);
      });
      r.ret();
    });

    a.routine({
      name: pmm_init, does: 'reads the memory map, marks the usable frames between PMM_BASE and PMM_LIMIT, prints the count',
      clobbers: [eax, ecx, edx], saves: [esi, edi],
    }, (r) => {
      a.cmp(dword(E820_COUNT), 0);
      a.if_('e', () => {
        say(a, a.cstr('[mem] no e820 map: using the fw_cfg RAM size as one usable range from 1 MiB\r\n'));
        a.call(fw_cfg_ram_kib);
        a.shl(eax, 10, 'KiB -> bytes (below 4 GiB: the range is capped at PMM_LIMIT anyway)');
        a.mov(edx, eax);
        a.mov(eax, 0x100000);
        a.mov(ecx, 1);
        a.call(pmm_mark);
      }, () => {
        a.call(e820_summary);
        a.comment('Two passes: first every usable entry, then every other one takes its frames back ("reserved" wins an overlap).');
        for (const pass of [1, 0] as const) {
          a.mov(edi, dword(E820_COUNT));
          a.mov(esi, E820_TABLE);
          a.while_(() => { a.test(edi, edi); return 'nz'; }, () => {
            a.cmp(dword(esi, E820_ENTRY.f.type), E820_USABLE);
            a.if_(pass === 1 ? 'e' : 'ne', () => {
              a.cmp(dword(esi, E820_ENTRY.f.base.add(4)), 0);
              a.if_('e', () => {
                a.mov(eax, dword(esi, E820_ENTRY.f.base));
                a.mov(edx, dword(esi, E820_ENTRY.f.base.add(4)));
                a.add(eax, dword(esi, E820_ENTRY.f.length));
                a.adc(edx, dword(esi, E820_ENTRY.f.length.add(4)));
                a.test(edx, edx);
                a.mov(edx, eax, 'EDX = end (mov leaves the flags)');
                a.if_('nz', () => { a.xor(edx, edx); }, undefined, 'ends at or past 4 GiB: 0 stands for 4 GiB');
                a.mov(eax, dword(esi, E820_ENTRY.f.base));
                a.mov(ecx, pass);
                a.call(pmm_mark);
              }, undefined, 'starts above 4 GiB: beyond PMM_LIMIT');
            });
            a.add(esi, E820_ENTRY.SIZE);
            a.dec(edi);
          });
        }
      });
      say(a, a.cstr('[pmm] '));
      putDec(a, dword(pmm_total));
      say(a, a.cstr(' free 4 KiB pages in 0x'));
      putHex32(a, PMM_BASE);
      say(a, a.cstr('-0x'));
      putHex32(a, PMM_LIMIT.sub(1));
      say(a, a.cstr(' (usable RAM from 1 MiB, inside the identity map)\r\n'));
      r.ret();
    });

    a.routine({
      name: pmm_take, does: 'claims the lowest free frame (not zeroed: pmm_alloc zeroes it)',
      out: { eax: 'its physical address, or 0 when none is left' },
      clobbers: [ecx, edx],
    }, (r) => {
      a.xor(ecx, ecx);
      a.loop_((loop) => {
        a.cmp(ecx, PMM_MAP_DWORDS);
        a.if_('ae', () => {
          a.xor(eax, eax, 'every frame is taken');
          r.ret();
        });
        a.mov(eax, dword({ index: ecx, scale: 4, disp: pmm_free_map }));
        a.test(eax, eax);
        a.if_('nz', () => {
          a.bsf(edx, eax, 'EDX = its lowest set bit');
          a.shl(ecx, 5);
          a.add(ecx, edx, 'ECX = frame number');
          a.btr(dword(pmm_free_map), ecx, 'claim it: one instruction, so an interrupt comes before or after it');
          loop.break_('c', 'the bit was still set: the frame is ours');
          a.xor(ecx, ecx, 'an interrupt handler took it between the read and btr: look again');
          loop.continue_();
        });
        a.inc(ecx);
      });
      a.dec(dword(pmm_free_pages));
      a.shl(ecx, PAGE_SHIFT);
      a.lea(eax, dword(ecx, PMM_BASE), 'EAX = the frame');
      r.ret();
    });

    a.routine({
      name: pmm_alloc, does: 'takes the lowest free frame and zeroes it',
      out: { eax: 'its physical address (= linear: identity-mapped), or 0 when none is left' },
      clobbers: [ecx, edx], saves: [edi],
    }, (r) => {
      a.call(pmm_take);
      a.test(eax, eax);
      r.retIf('z', 'none left');
      a.mov(edi, eax);
      a.mov(edx, eax);
      a.xor(eax, eax);
      a.mov(ecx, PAGE_SIZE.div(4));
      a.rep_stosd('zero it: a page must not carry its last user\'s data');
      a.mov(eax, edx);
      r.ret();
    });

    a.routine({
      name: pmm_take_pages, does: 'claims the lowest run of n physically contiguous free frames (not zeroed: pmm_alloc_pages zeroes them)',
      in: { eax: 'n, the number of 4 KiB pages (1 or more)' },
      out: { eax: 'physical address of the first, or 0 when no run of n is free' },
      clobbers: [ecx, edx], saves: [ebx, esi],
    }, (r) => {
      a.mov(esi, eax, 'ESI = n');
      a.xor(ebx, ebx, 'EBX = first frame of the candidate run');
      a.test(esi, esi);
      a.jz(L('.none'), 'n = 0: nothing to give');
      a.label('.search');
      a.lea(eax, dword({ base: ebx, index: esi, scale: 1 }));
      a.cmp(eax, PMM_FRAMES);
      a.ja(L('.none'), 'the run would end past PMM_LIMIT');
      a.xor(ecx, ecx, 'ECX = frames of the run checked');
      a.label('.check');
      a.cmp(ecx, esi);
      a.jae(L('.claim'), 'all n free');
      a.lea(edx, dword({ base: ebx, index: ecx, scale: 1 }));
      a.bt(dword(pmm_free_map), edx);
      a.jnc(L('.skip'));
      a.inc(ecx);
      a.jmp(L('.check'));
      a.label('.skip');
      a.lea(ebx, dword({ base: edx, disp: 1 }), 'frame EDX is taken: no run containing it fits, start after it');
      a.jmp(L('.search'));
      a.comment('Claim frame by frame with btr (as pmm_take does: an interrupt comes before or after each');
      a.comment('instruction); a frame taken meanwhile undoes the frames already claimed and searches again.');
      a.label('.claim');
      a.xor(ecx, ecx);
      a.label('.take');
      a.cmp(ecx, esi);
      a.jae(L('.got'));
      a.lea(edx, dword({ base: ebx, index: ecx, scale: 1 }));
      a.btr(dword(pmm_free_map), edx);
      a.jnc(L('.lost'), 'someone took it between the check and here');
      a.inc(ecx);
      a.jmp(L('.take'));
      a.label('.lost');
      a.test(ecx, ecx);
      a.jz(L('.search'));
      a.dec(ecx);
      a.lea(edx, dword({ base: ebx, index: ecx, scale: 1 }));
      a.bts(dword(pmm_free_map), edx, 'give back what this attempt had claimed');
      a.jmp(L('.lost'));
      a.label('.got');
      a.sub(dword(pmm_free_pages), esi);
      a.mov(eax, ebx);
      a.shl(eax, PAGE_SHIFT);
      a.add(eax, PMM_BASE, 'EAX = the first frame');
      r.ret();
      a.label('.none');
      a.xor(eax, eax);
      r.ret();
    });

    a.routine({
      name: pmm_alloc_pages, does: 'takes the lowest run of n physically contiguous free frames and zeroes them',
      in: { eax: 'n, the number of 4 KiB pages (1 or more)' },
      out: { eax: 'physical address of the first (= linear: identity-mapped), or 0 when no run of n is free' },
      clobbers: [ecx, edx], saves: [esi, edi],
    }, (r) => {
      a.mov(esi, eax);
      a.call(pmm_take_pages);
      a.test(eax, eax);
      r.retIf('z', 'no run of n free frames');
      a.mov(edi, eax);
      a.mov(edx, eax);
      a.mov(ecx, esi);
      a.shl(ecx, PAGE_SHIFT.sub(2), 'dwords in n pages');
      a.xor(eax, eax);
      a.rep_stosd('zero them all: a device reads rings it was not told about as zero (virtio 1.1 §2.6)');
      a.mov(eax, edx);
      r.ret();
    });

    a.routine({
      name: pmm_release, does: 'gives a frame back after checking it, without printing (pmm_free prints)',
      in: { eax: 'the page\'s physical address' },
      out: { eax: '0, or -EINVAL', edx: 'when -EINVAL: why (a NUL-terminated reason)' },
      clobbers: [ecx],
    }, (r) => {
      a.mov(edx, a.cstr('not page-aligned'));
      a.test(eax, PAGE_SIZE.sub(1));
      a.jnz(L('.refuse'));
      a.mov(edx, a.cstr('outside the allocator\'s range'));
      a.mov(ecx, eax);
      a.sub(ecx, PMM_BASE);
      a.jb(L('.refuse'), 'below PMM_BASE: the kernel\'s own memory or the BIOS area');
      a.cmp(ecx, PMM_LIMIT.sub(PMM_BASE));
      a.jae(L('.refuse'));
      a.shr(ecx, PAGE_SHIFT, 'ECX = frame number');
      a.mov(edx, a.cstr('not usable RAM (the memory map reserves it)'));
      a.bt(dword(pmm_usable), ecx);
      a.jnc(L('.refuse'));
      a.mov(edx, a.cstr('double free: the page is already free'));
      a.bts(dword(pmm_free_map), ecx, 'free it; CF = the bit before (one instruction: atomic against interrupts)');
      a.jc(L('.refuse'), 'it was set already: nothing changed');
      a.inc(dword(pmm_free_pages));
      a.xor(eax, eax);
      r.ret();
      a.label('.refuse');
      a.mov(eax, EINVAL.neg());
      r.ret();
    });

    a.routine({
      name: pmm_free, does: 'gives a frame back; a bad address is refused with a line on serial',
      in: { eax: 'the page\'s physical address' },
      out: { eax: '0, or -EINVAL (the reason printed: unaligned, out of range, reserved, double free)' },
      clobbers: [ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      a.call(pmm_release);
      a.test(eax, eax);
      r.retIf('z');
      a.push(edx);
      say(a, a.cstr('[pmm] free 0x'));
      putHex32(a, ebx);
      say(a, a.cstr(' refused: '));
      a.pop(eax);
      a.call(serial_puts);
      a.call(serial_newline);
      a.mov(eax, EINVAL.neg());
      r.ret();
    });
  },
});
