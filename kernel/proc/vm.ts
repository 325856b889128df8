// User address spaces: one page directory per process, and the check that a
// user pointer really points into the caller's user memory.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { cr3, eax, ebx, ecx, edx, esi, edi, L, dword, mem, constant } from '../../toolchain/x86/operands.ts';
import { PAGE_MASK, PAGE_SIZE, PDE_SHIFT, PAGE_SHIFT, PT_ENTRIES, PTE_P, PTE_SIZE, PTE_U, PTE_W, kernel_pt0 } from '../cpu/paging.ts';
import { EFAULT } from './errno.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { USER_BASE, USER_END, USER_STACK_TOP } from './abi.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const vm_check_user = sym('vm_check_user');
export const vm_create = sym('vm_create');

export const PROC_MEM_BASE = constant('PROC_MEM_BASE', 0x100000, 'physical memory for processes starts at 1 MiB');
export const PROC_MEM_SIZE = constant('PROC_MEM_SIZE', 0x10000, 'each process slot owns 64 KiB of physical memory');
export const PM_PGDIR = constant('PM_PGDIR', 0x0000, 'slot +0: the page directory');
export const PM_PGTAB = constant('PM_PGTAB', 0x1000, 'slot +4 KiB: the page table for the user region (4-8 MiB)');
export const PM_KSTACK = constant('PM_KSTACK', 0x2000, 'slot +8 KiB: the kernel stack (8 KiB), used while this process is in the kernel');
export const PM_KSTACK_TOP = constant('PM_KSTACK_TOP', 0x4000, 'slot +16 KiB: top of the kernel stack = TSS ESP0 while the process runs');
export const PM_IMAGE = constant('PM_IMAGE', 0x4000, 'slot +16 KiB: the program image and its bss, mapped at USER_BASE');
export const PM_USTACK = constant('PM_USTACK', 0xf000, 'slot +60 KiB: the user stack page, mapped at USER_STACK_TOP - 4 KiB');
/** Largest program image + bss that fits between PM_IMAGE and PM_USTACK. */
export const USER_IMAGE_MAX = 0xb000;

export const vm = defineModule({
  name: 'vm',
  title: 'User address spaces: a page directory per process, and user-pointer checks',
  about: `
Each process gets its own page directory, so that one program cannot see
another's memory, and none can see the kernel's.  Its layout (linear):

  0x00000000-0x003FFFFF  the kernel (directory entry 0 -> kernel_pt0), U/S = 0
  0x00400000-...         the program image and bss (USER_BASE), U/S = 1
  ...                    unmapped: any access faults
  0x007FF000-0x007FFFFF  the user stack page (ESP starts at USER_STACK_TOP)
  0x00800000-0xFFFFFFFF  unmapped

The physical memory behind it is the process's 64 KiB slot (spawn.asm picks
the slot): page directory, user page table, kernel stack, image pages and
user stack page, all in the kernel's identity-mapped 0-4 MiB, so the kernel
can fill them before the process ever runs.

vm_create   EAX = slot base, EDX = image + bss size: builds the directory
            and the user page table (the slot must be zeroed).
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
  spec: ['Intel SDM Vol. 3A §4.3 "32-Bit Paging", §4.6 "Access Rights"', 'xv6: vm.c (setupkvm, copyout) and syscall.c (argptr) for the same idea'],
  emit(a) {
    a.routine({
      name: vm_create, does: 'build a process\'s page directory and user page table in its slot',
      in: { eax: 'slot base (zeroed)', edx: 'bytes of image + bss' },
      clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      a.mov(dword(ebx, PM_PGDIR), kernel_pt0.add(PTE_P).add(PTE_W), 'PDE 0: the shared kernel table, supervisor only');
      a.lea(eax, mem(ebx, PM_PGTAB.add(PTE_P).add(PTE_W).add(PTE_U)));
      a.mov(dword(ebx, PM_PGDIR.add(4)), eax, 'PDE 1 (4-8 MiB): this process\'s user table, user-accessible');
      a.add(edx, PAGE_SIZE.sub(1));
      a.shr(edx, PAGE_SHIFT, 'EDX = pages of image + bss');
      a.xor(ecx, ecx);
      a.lea(eax, mem(ebx, PM_IMAGE.add(PTE_P).add(PTE_W).add(PTE_U)), 'first image page, user read/write');
      a.while_(() => { a.cmp(ecx, edx); return 'b'; }, () => {
        a.mov(dword({ base: ebx, index: ecx, scale: 4, disp: PM_PGTAB }), eax, 'PTE: USER_BASE + ECX pages -> slot image page ECX');
        a.add(eax, PAGE_SIZE);
        a.inc(ecx);
      });
      a.lea(eax, mem(ebx, PM_USTACK.add(PTE_P).add(PTE_W).add(PTE_U)));
      a.mov(dword(ebx, PM_PGTAB.add(PT_ENTRIES.sub(1).mul(PTE_SIZE))), eax, 'PTE 1023: the stack page just below USER_STACK_TOP');
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
