// User address spaces: one page directory per process, and the check that a
// user pointer really points into the caller's user memory.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { cr3, eax, ebx, ecx, edx, esi, edi, ebp, esp, L, dword, mem, constant } from '../../toolchain/x86/operands.ts';
import { PAGE_MASK, PAGE_SIZE, PDE_SHIFT, PAGE_SHIFT, PT_ENTRIES, PTE_P, PTE_SIZE, PTE_U, PTE_W, kernel_pt0 } from '../cpu/paging.ts';
import { EFAULT } from './errno.ts';
import { pmm_alloc, pmm_free } from '../mm/pmm.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const vm_check_user = sym('vm_check_user');
export const vm_create = sym('vm_create');
export const vm_destroy = sym('vm_destroy');

/**
 * Largest program image + bss (11 pages).  Nothing in the memory design needs
 * the limit any more - every page comes from the allocator - but it keeps a
 * process's worst case small and known: PROC_PAGES_MAX pages.
 */
export const USER_IMAGE_MAX = 0xb000;
export const PROC_PAGES_MAX = constant('PROC_PAGES_MAX', 4 + USER_IMAGE_MAX / 4096, 'pages one process needs at most: directory, page table, kernel stack, user stack, and USER_IMAGE_MAX / 4 KiB image pages', { radix: 10 });

export const vm = defineModule({
  name: 'vm',
  title: 'User address spaces: a page directory per process, built from allocated pages; user-pointer checks',
  about: `
Each process gets its own page directory, so that one program cannot see
another's memory, and none can see the kernel's.  Its layout (linear):

  0x00000000-0x003FFFFF  the kernel (directory entry 0 -> kernel_pt0), U/S = 0
  0x00400000-...         the program image and bss (USER_BASE), U/S = 1
  ...                    unmapped: any access faults
  0x007FF000-0x007FFFFF  the user stack page (ESP starts at USER_STACK_TOP)
  0x00800000-0xFFFFFFFF  unmapped

Every physical page behind it comes from the page allocator (pmm.asm):
the directory, the user page table, one page per 4 KiB of image and bss,
and the user stack page.  pmm_alloc hands out the lowest free page, so
consecutive linear pages need not be consecutive physical ones - that is
what the page table is for, and it is also the only record the kernel
keeps of them: vm_destroy gives back every page the table maps, then the
table and the directory.  All of them lie in the kernel's identity-mapped
0-4 MiB, so the kernel fills them before the process ever runs, whichever
CR3 is loaded.  (A student who types "mem" while programs run sees the
free count drop by their pages, and come back when they end.)

vm_create   EAX = image, ECX = its bytes, EDX = image + bss bytes: a new
            directory with the image copied into its pages -> EAX = the
            directory (the process's CR3), EDX = pages taken; or EAX = 0
            when memory ran out (every page it had taken given back).
vm_destroy  EAX = a directory vm_create made: all its pages back to the
            allocator (never the one in CR3: the caller switches first)
            -> EAX = how many (proc_free checks it against proc.pages).
vm_check_user  EAX = user address, EDX = length, ECX = the PTE bits every
            page must have (PTE_P | PTE_U, plus PTE_W to write into it):
            EAX = 0, or -EFAULT.

A system call must never trust a pointer from ring 3: the kernel runs with
every page accessible, so "write(1, 0x10000, 16)" would otherwise print the
kernel's own code, and "read(0, 0x10000, 16)" overwrite it.  vm_check_user
asks the question the MMU would ask a ring-3 access - it walks the page
directory in CR3 and the page table for every page the range touches and
requires P, U/S (and R/W) in both levels - and it rejects a range that
wraps around 4 GiB.  Only then does the kernel touch the memory; and since
this kernel runs one CPU and a process's mappings never change while it
runs, the answer stays true while the kernel copies.`,
  spec: ['Intel SDM Vol. 3A §4.3 "32-Bit Paging", §4.6 "Access Rights"', 'xv6: vm.c (setupkvm, allocuvm, freevm, copyout) and syscall.c (argptr) for the same idea'],
  emit(a) {
    const USER_RW = PTE_P.add(PTE_W).add(PTE_U);
    a.routine({
      name: vm_create, does: 'a new address space: directory, user page table, image pages (the image copied in), user stack page - all from pmm_alloc',
      in: { eax: 'the program image (kernel address)', ecx: 'bytes of the image (copied)', edx: 'bytes of image + bss (mapped, the rest zero)' },
      out: { eax: 'physical address of the page directory, or 0 when memory ran out (nothing kept)', edx: 'pages taken (0 on failure)' },
      clobbers: [ecx], saves: [ebx, esi, edi, ebp],
    }, (r) => {
      a.mov(esi, eax, 'ESI = next image byte to copy');
      a.mov(ebp, ecx, 'EBP = image bytes still to copy');
      a.add(edx, PAGE_SIZE.sub(1));
      a.shr(edx, PAGE_SHIFT);
      a.push(edx, '[esp + 4] = image pages to map');
      a.push(0, '[esp] = image pages mapped so far');
      a.call(pmm_alloc, 'the directory (zeroed: every entry not present)');
      a.test(eax, eax);
      a.jz(L('.none'), 'nothing taken yet');
      a.mov(ebx, eax, 'EBX = the directory');
      a.mov(dword(ebx), kernel_pt0.add(PTE_P).add(PTE_W), 'PDE 0: the shared kernel table, supervisor only');
      a.call(pmm_alloc, 'the user page table');
      a.test(eax, eax);
      a.jz(L('.undo'));
      a.mov(edi, eax, 'EDI = the user page table');
      a.lea(eax, mem(edi, USER_RW));
      a.mov(dword(ebx, PTE_SIZE), eax, 'PDE 1 (4-8 MiB): this process\'s user table, user-accessible');
      a.call(pmm_alloc, 'the user stack page');
      a.test(eax, eax);
      a.jz(L('.undo'));
      a.or(eax, USER_RW);
      a.mov(dword(edi, PT_ENTRIES.sub(1).mul(PTE_SIZE)), eax, 'PTE 1023: the stack page just below USER_STACK_TOP');
      a.while_(() => { a.mov(eax, dword(esp)); a.cmp(eax, dword(esp, 4)); return 'b'; }, () => {
        a.call(pmm_alloc, 'the next image page (zeroed: the bss needs no clearing)');
        a.test(eax, eax);
        a.jz(L('.undo'), 'out of memory: the pages mapped so far are in the table, vm_destroy finds them');
        a.mov(edx, dword(esp));
        a.lea(ecx, mem(eax, USER_RW));
        a.mov(dword({ base: edi, index: edx, scale: 4 }), ecx, 'PTE: USER_BASE + EDX pages -> this page');
        a.inc(dword(esp));
        a.mov(ecx, ebp);
        a.cmp(ecx, PAGE_SIZE);
        a.if_('a', () => a.mov(ecx, PAGE_SIZE), undefined, 'ECX = min(bytes left, one page)');
        a.sub(ebp, ecx);
        a.push(edi);
        a.mov(edi, eax);
        a.rep_movsb('copy this page\'s part of the image (ESI moves on)');
        a.pop(edi);
      });
      a.mov(eax, ebx, 'EAX = the directory');
      a.pop(edx);
      a.add(edx, 3, 'EDX = image pages + directory, table and stack');
      a.add(esp, 4);
      r.ret();
      a.label('.undo');
      a.mov(eax, ebx);
      a.call(vm_destroy, 'give back whatever this call took');
      a.label('.none');
      a.add(esp, 8);
      a.xor(eax, eax);
      a.xor(edx, edx);
      r.ret();
    });

    a.routine({
      name: vm_destroy, does: 'gives every page of an address space back to the allocator: mapped user pages, the user page table, the directory',
      in: { eax: 'the page directory (not the one in CR3)' },
      out: { eax: 'pages given back (pmm_free refusing one would print why and leave it out)' },
      clobbers: [ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      const freed = (why: string) => {
        a.call(pmm_free, why);
        a.test(eax, eax);
        a.if_('z', () => a.inc(dword(esp)), undefined, 'count it');
      };
      a.mov(ebx, eax, 'EBX = the directory');
      a.push(0, '[esp] = pages given back');
      a.mov(esi, dword(ebx, PTE_SIZE), 'ESI = PDE 1: the user page table (0 if vm_create ran out first)');
      a.test(esi, PTE_P);
      a.if_('nz', () => {
        a.and(esi, PAGE_MASK);
        a.xor(edi, edi);
        a.while_(() => { a.cmp(edi, PT_ENTRIES); return 'b'; }, () => {
          a.mov(eax, dword({ base: esi, index: edi, scale: 4 }));
          a.test(eax, PTE_P);
          a.if_('nz', () => {
            a.and(eax, PAGE_MASK);
            freed('an image, bss or stack page');
          });
          a.inc(edi);
        });
        a.mov(eax, esi);
        freed('the page table');
      });
      a.mov(eax, ebx);
      freed('the directory');
      a.pop(eax, 'EAX = pages given back');
      r.ret();
    });

    a.routine({
      name: vm_check_user, does: 'is a range the caller\'s user memory, with the given access? (walks the tables in CR3)',
      in: { eax: 'address', edx: 'length (0: always fine)', ecx: 'PTE bits every page needs: PTE_P | PTE_U, plus PTE_W to write' },
      out: { eax: '0, or -EFAULT' },
      clobbers: [edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.test(edx, edx);
      a.jz(L('.ok'), 'an empty range touches no memory');
      a.mov(esi, eax);
      a.mov(edi, eax);
      a.add(edi, edx);
      a.jc(L('.fault'), 'address + length wraps past 4 GiB');
      a.dec(edi, 'EDI = last byte of the range');
      a.and(esi, PAGE_MASK, 'ESI = first page');
      a.and(edi, PAGE_MASK, 'EDI = last page');
      a.mov(ebx, cr3, 'EBX = this process\'s page directory (identity-mapped, so usable as is)');
      a.loop_((loop) => {
        a.mov(eax, esi);
        a.shr(eax, PDE_SHIFT);
        a.mov(eax, dword({ base: ebx, index: eax, scale: 4 }), 'the directory entry');
        a.mov(edx, eax);
        a.and(edx, ecx);
        a.cmp(edx, ecx);
        a.jne(L('.fault'), 'directory entry lacks P, U/S or R/W');
        a.and(eax, PAGE_MASK, 'physical address of the page table');
        a.mov(edx, esi);
        a.shr(edx, PAGE_SHIFT);
        a.and(edx, PT_ENTRIES.sub(1), 'index in the page table');
        a.mov(eax, dword({ base: eax, index: edx, scale: 4 }), 'the page-table entry');
        a.and(eax, ecx);
        a.cmp(eax, ecx);
        a.jne(L('.fault'), 'page not present, not user, or not writable');
        a.cmp(esi, edi);
        loop.break_('e', 'that was the last page');
        a.add(esi, PAGE_SIZE);
      });
      a.label('.ok');
      a.xor(eax, eax);
      r.ret();
      a.label('.fault');
      a.mov(eax, EFAULT.neg());
      r.ret();
    });
  },
});
