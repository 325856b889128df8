// Paging: the kernel's identity map, set up once at boot.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { cr0, cr3, eax, ecx, edx, dword, constant, not } from '../../toolchain/x86/operands.ts';
import { serial_puts } from '../dev/serial.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const kernel_pgdir = sym('kernel_pgdir');
export const kernel_pt0 = sym('kernel_pt0');
export const paging_init = sym('paging_init');

export const PTE_P = constant('PTE_P', 0x001, 'page-table entry bit 0: present');
export const PTE_W = constant('PTE_W', 0x002, 'bit 1: writable (R/W)');
export const PTE_U = constant('PTE_U', 0x004, 'bit 2: user (U/S) - ring 3 may access the page');
export const PAGE_SIZE = constant('PAGE_SIZE', 4096, 'x86 pages are 4 KiB');
export const PAGE_SHIFT = constant('PAGE_SHIFT', 12, 'log2(PAGE_SIZE): linear address bits 11:0 are the offset in the page', { radix: 10 });
export const PDE_SHIFT = constant('PDE_SHIFT', 22, 'linear address bits 31:22 index the page directory', { radix: 10 });
export const PAGE_MASK = constant('PAGE_MASK', not(PAGE_SIZE.sub(1)), 'AND with it to round an address down to its page (0xFFFFF000: clears the offset bits 11:0)');
export const PT_ENTRIES = constant('PT_ENTRIES', 1024, 'entries in a page table (and in a page directory): 4-byte entries filling one 4 KiB page', { radix: 10 });
export const PTE_SIZE = constant('PTE_SIZE', 4, 'bytes per page-table (or page-directory) entry');
export const CR0_PG = constant('CR0_PG', 0x80000000, 'CR0 bit 31: paging enable (SDM 3A §2.5)');

export const paging = defineModule({
  name: 'paging',
  title: 'Paging: the kernel identity map (0-4 MiB, supervisor only, page 0 unmapped)',
  about: `
With CR0.PG set every linear address goes through a two-level table
(SDM 3A §4.3, 32-bit paging): bits 31:22 index the page directory (CR3),
bits 21:12 a page table, bits 11:0 are the offset in the 4 KiB page.  Each
entry carries permission bits, and the CPU combines those of the directory
entry and the table entry (SDM 3A §4.6):

  P    present: clear -> any access faults (#PF, "not present");
  R/W  writable: clear -> writes fault (from ring 3 always; from ring 0
       only if CR0.WP is set, which tskernel leaves clear);
  U/S  user: clear -> any access from ring 3 (CPL 3) faults.

paging_init maps linear = physical for 0-4 MiB with U/S = 0: the kernel
image, its bss, the per-process memory (vm.asm) and the low-memory devices
are reachable from ring 0 only.  Page 0 stays unmapped so that a null-
pointer access faults instead of silently reading the old real-mode IVT.

Every address space shares this page table: each process's page directory
(vm.asm) points its entry 0 at kernel_pt0, so the kernel's code and data
are at the same addresses whichever CR3 is loaded - and invisible to ring 3
because the directory entry has U/S = 0.`,
  spec: ['Intel SDM Vol. 3A §4.3 "32-Bit Paging" (Figures 4-2, 4-4), §4.6 "Access Rights", §4.7 "Page-Fault Exceptions"'],
  emit(a) {
    a.bss(kernel_pgdir, PAGE_SIZE, 4096, 'the kernel page directory: PT_ENTRIES PDEs (only entry 0 used)');
    a.bss(kernel_pt0, PAGE_SIZE, 4096, 'page table for linear 0-4 MiB, shared by every address space');

    a.routine({
      name: paging_init, does: 'build the identity map of 0-4 MiB (page 0 unmapped), load CR3, turn paging on',
      clobbers: [eax, ecx, edx],
    }, () => {
      a.mov(ecx, 1, 'entry 0 stays 0: page 0 not present');
      a.doWhile(() => {
        a.mov(eax, ecx);
        a.shl(eax, PAGE_SHIFT, 'physical address of page ECX (identity map)');
        a.or(eax, PTE_P.or(PTE_W), 'present, writable, supervisor only (U/S = 0)');
        a.mov(dword({ index: ecx, scale: 4, disp: kernel_pt0 }), eax);
        a.inc(ecx);
        a.cmp(ecx, PT_ENTRIES, 'every entry of the table');
      }, () => 'b');
      a.mov(dword(kernel_pgdir), kernel_pt0.add(PTE_P).add(PTE_W), 'PDE 0 -> kernel_pt0 (U/S = 0)');
      a.mov(eax, kernel_pgdir);
      a.mov(cr3, eax, 'CR3 = physical address of the page directory');
      a.mov(eax, cr0);
      a.or(eax, CR0_PG);
      a.mov(cr0, eax, 'paging on: from here linear addresses are translated');
      a.mov(eax, a.cstr('[paging] on: 0-4 MiB identity-mapped, supervisor only; page 0 unmapped\r\n'));
      a.jmp(serial_puts, 'tail call');
    });
  },
});
