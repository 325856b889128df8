// Processes: the process table itself - its entries, the kernel task in entry
// 0, finding a process by pid - and the boot-time check that every process's
// memory fits in the machine's RAM.
import { KERNEL_STACK_SIZE, kernel_stack } from '../entry.ts';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, eax, ebx, ecx, edx, L, dword, constant, chr } from '../../toolchain/x86/operands.ts';
import { MAX_PROCS, PROC, PS_RUNNABLE } from './table.ts';
import { PROC_PAGES_MAX } from './vm.ts';
import { E820_COUNT } from '../../boot/e820.ts';
import { e820_high_kib } from '../mm/e820.ts';
import { putDec, say } from '../lib/print.ts';
import { kernel_pgdir } from '../cpu/paging.ts';
import { fw_cfg_ram_kib } from '../dev/fw_cfg.ts';
import { panic } from '../dev/qemu_exit.ts';
import { serial_putc } from '../dev/serial.ts';
import { forEachProc } from './iter.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const mem_check = sym('mem_check');
export const next_pid = sym('next_pid');
export const proc_current = sym('proc_current');
export const proc_find = sym('proc_find');
export const proc_init = sym('proc_init');
export const proc_say_pid = sym('proc_say_pid');
export const proc_table = sym('proc_table');
export const proc_table_end = sym('proc_table_end');

/** RAM the kernel needs from 1 MiB up: the pages of one process of the largest size (vm.ts). */
const neededKiB = (PROC_PAGES_MAX.c.value as number) * 4;
export const MEM_NEEDED_KIB = constant('MEM_NEEDED_KIB', neededKiB, 'usable RAM from 1 MiB up the kernel needs, in KiB: the pages of one process (PROC_PAGES_MAX x 4 KiB)', { radix: 10 });
/** The least -m that gives it (QEMU's firmware keeps up to 256 KiB at the top of RAM for itself). */
const MEM_NEEDED_MIB = 2;

export const proc = defineModule({
  name: 'proc',
  title: 'Processes: the process table, the kernel task, finding a pid, the RAM check',
  about: `
A process is a program running in ring 3 in its own address space (vm.asm),
plus what the kernel keeps about it: one entry of proc_table (struc proc in
kernel.asm).  The table is a fixed array of MAX_PROCS entries in the bss,
not a list: a free entry has state PS_FREE, and "for each process" is a walk
over the array from proc_table to proc_table_end (each such scan is marked
"for each process-table entry" in the source).  A fixed table needs no
allocator for the entries themselves; a process's memory comes page by page
from the page allocator (pmm.asm) when it is spawned (spawn.asm).

Entry 0 is the kernel's own task - the one that booted, runs the shell or a
test scenario, and waits for programs; it never leaves ring 0 and is never
freed.  proc_init fills it in: state RUNNABLE (it is running now), the
kernel's page directory, the boot stack as its kernel stack.  proc_current
points at the entry of whoever runs; the scheduler (sched.asm) changes it.

The life of the other entries is told in the next chapters: spawn.asm fills
one in and enters ring 3, sched.asm switches between them, exit.asm ends a
process and frees its entry, ps.asm prints the table.

  proc_init     the table, with the kernel task as pid 0
  mem_check     at boot: enough RAM from 1 MiB for a process? (else panic)
  proc_find     EAX = pid -> EAX = its entry among the user processes, or 0
  proc_say_pid  print "[proc] pid N " for the current process

Memory.  The kernel itself lives below 640 KiB (the image builder checks
its load window); everything a process needs comes from the page allocator,
which manages the usable RAM from 1 MiB up to 4 MiB (pmm.asm).  A machine
with no RAM there could boot but never run a program, so mem_check looks at
boot: it adds up the usable RAM from 1 MiB in the BIOS's E820 map that
stage 2 saved (e820_high_kib, e820k.asm) and panics, with both numbers,
when that is less than the pages of one process of the largest size
(PROC_PAGES_MAX pages: ${neededKiB} KiB).  Only without a map (a BIOS that
lacks E820h) does it fall back on QEMU's word (fw_cfg item FW_CFG_RAM_SIZE:
what -m said, minus the first MiB) - the map is the better witness, since
it leaves out what the firmware keeps for itself at the top of RAM.  QEMU's
"-m 1" really gives 1 MiB and no RAM above it; "-m ${MEM_NEEDED_MIB}" is the least that
works.  Running out later - many programs at once - is not a panic: spawn
fails with -ENOMEM (spawn.asm).`,
  spec: ['xv6: proc.c (the proc table, allocproc, userinit)', 'ACPI Specification 6.4 §15 "System Address Map Interfaces"', 'QEMU docs/specs/fw_cfg.txt: FW_CFG_RAM_SIZE'],
  emit(a) {
    a.bss(proc_table, MAX_PROCS.mul(PROC.SIZE), 64, 'the process table');
    a.bss(proc_current, 4, 4, 'the entry of the running process');
    a.bss(next_pid, 4, 4, 'pid for the next spawn');
    a.equ(proc_table_end, proc_table.add(MAX_PROCS.mul(PROC.SIZE)), 'first byte after the table');

    a.routine({
      name: proc_init, does: 'the process table: entry 0 is the kernel task (pid 0), running now',
      clobbers: [eax, ecx, edx],
    }, (r) => {
      a.mov(dword(proc_table.add(PROC.f.state)), PS_RUNNABLE, 'entry 0: the kernel task, running now');
      a.mov(dword(proc_table.add(PROC.f.cr3)), kernel_pgdir);
      a.mov(dword(proc_table.add(PROC.f.kstack_top)), kernel_stack.add(KERNEL_STACK_SIZE));
      a.mov(dword(proc_table.add(PROC.f.name)), a.cstr('kernel'));
      a.mov(dword(proc_current), proc_table);
      a.mov(dword(next_pid), 1);
      say(a, a.cstr('[proc] process table: 8 entries (pid 0 = the kernel task); process memory comes from the page allocator\r\n'));
      r.ret();
    });

    a.routine({
      name: mem_check, does: 'report the usable RAM from 1 MiB (E820 map, else fw_cfg) and panic if one process does not fit',
      clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.cmp(dword(E820_COUNT), 0);
      a.if_('ne', () => {
        a.call(e820_high_kib);
        a.mov(ebx, eax, 'EBX = usable KiB from 1 MiB, as the BIOS map says');
        say(a, a.cstr('[mem] RAM from 1 MiB: '));
        putDec(a, ebx);
        say(a, a.cstr(' KiB usable (e820 map)'));
      }, () => {
        a.call(fw_cfg_ram_kib);
        a.mov(ebx, eax, 'EBX = RAM in KiB, 0 = unknown');
        a.test(ebx, ebx);
        a.if_('z', () => {
          say(a, a.cstr(`[mem] RAM size unknown (no e820 map, no fw_cfg device); assuming at least the ${neededKiB} KiB from 1 MiB tskernel needs\r\n`));
          r.ret();
        });
        a.sub(ebx, 1024, 'the RAM from 1 MiB up ...');
        a.if_('b', () => a.xor(ebx, ebx), undefined, '... none if it has less than 1 MiB');
        say(a, a.cstr('[mem] RAM from 1 MiB: '));
        putDec(a, ebx);
        say(a, a.cstr(' KiB (fw_cfg RAM size: no e820 map)'));
      });
      say(a, a.cstr('; tskernel needs '));
      putDec(a, MEM_NEEDED_KIB);
      say(a, a.cstr(' KiB there (the pages of one process)\r\n'));
      a.cmp(ebx, MEM_NEEDED_KIB);
      a.if_('b', () => {
        a.mov(eax, a.cstr(`not enough memory: tskernel needs ${neededKiB} KiB of usable RAM from 1 MiB; give the machine at least ${MEM_NEEDED_MIB} MiB (QEMU -m ${MEM_NEEDED_MIB})`));
        a.call(panic, 'now, with a reason - not a shell that can start no program (does not return)');
      });
      r.ret();
    });

    a.routine({
      name: proc_find, does: 'find a user process (not the kernel task) by its pid',
      in: { eax: 'pid' }, out: { eax: 'its process-table entry, or 0 when no live user process has it' },
      clobbers: [ecx],
    }, (r) => {
      forEachProc(a, ecx, () => {
        a.cmp(dword(ecx, PROC.f.pid), eax);
        a.je(L('.found'));
      }, { skipKernel: true, skipFree: true });
      a.xor(ecx, ecx, 'no such process');
      a.label('.found');
      a.mov(eax, ecx);
      r.ret();
    });

    a.routine({
      name: proc_say_pid, does: 'print "[proc] pid N " for the current process',
      clobbers: [eax, ecx, edx],
    }, () => {
      say(a, a.cstr('[proc] pid '));
      a.mov(eax, dword(proc_current));
      putDec(a, dword(eax, PROC.f.pid));
      a.mov(al, chr(' '));
      a.jmp(serial_putc, 'tail call');
    });
  },
});
