// Paging, minimal: identity-map the first 4 MiB with a guard page at 0.
import { defineModule } from '../toolchain/x86/asm.ts';
import { cr0, cr3, eax, ecx, L, dword, constant } from '../toolchain/x86/operands.ts';

export const PTE_P = constant('PTE_P', 0x001, 'page-table entry bit 0: present');
export const PTE_W = constant('PTE_W', 0x002, 'bit 1: writable');
export const PTE_U = constant('PTE_U', 0x004, 'bit 2: user - ring 3 may access the page');
export const PAGE_SIZE = constant('PAGE_SIZE', 4096, 'x86 pages are 4 KiB');
export const CR0_PG = constant('CR0_PG', 0x80000000, 'CR0 bit 31: paging enable (SDM 3A §2.5)');

export const paging = defineModule({
  name: 'paging',
  title: 'Paging (minimal): identity map of the first 4 MiB, page 0 left unmapped',
  about: `
With CR0.PG set every linear address goes through a two-level table
(SDM 3A §4.3, 32-bit paging): bits 31:22 index the page directory (CR3),
bits 21:12 a page table, bits 11:0 are the offset in the 4 KiB page.  An
entry without the P bit makes any access to that page raise #PF, with the
faulting address in CR2 and an error code saying why (bit 0 P: protection
vs not-present, bit 1 W/R: write, bit 2 U/S: from ring 3).

paging_enable_identity maps linear = physical for 0-4 MiB (which holds the
kernel, its bss and the low-memory devices) except page 0, so a null-pointer
access faults instead of silently reading the old real-mode IVT.  test=pf
uses it; a later lesson gives each user program its own directory.`,
  spec: ['Intel SDM Vol. 3A §4.3 "32-Bit Paging" (Figures 4-2, 4-4), §4.7 "Page-Fault Exceptions"'],
  emit(a) {
    a.bss('page_directory', 4096, 4096, 'one page directory: 1024 PDEs');
    a.bss('page_table0', 4096, 4096, 'page table for linear 0-4 MiB');

    a.label('paging_enable_identity');
    a.mov(ecx, 1, 'entry 0 stays 0: page 0 not present');
    a.label('.pte');
    a.mov(eax, ecx);
    a.shl(eax, 12, 'physical address of page ECX');
    a.or(eax, PTE_P.or(PTE_W));
    a.mov(dword({ index: ecx, scale: 4, disp: L('page_table0') }), eax);
    a.inc(ecx);
    a.cmp(ecx, 1024);
    a.jb(L('.pte'));
    a.mov(dword(L('page_directory')), L('page_table0').add(PTE_P).add(PTE_W), 'PDE 0 -> page_table0');
    a.mov(eax, L('page_directory'));
    a.mov(cr3, eax, 'CR3 = physical address of the page directory');
    a.mov(eax, cr0);
    a.or(eax, CR0_PG);
    a.mov(cr0, eax, 'paging on: from here linear addresses are translated');
    a.ret();
  },
});
