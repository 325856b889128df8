// The kernel component: its modules in link order, which is kmain's order of
// initialisation and the course's reading order (toolchain/course.ts; the build
// refuses the two out of step).  entry comes first: the boot path jumps to the
// first byte of the kernel (toolchain/image.ts checks kernel_entry is there).
// Helpers come just before their first user (qemu_exit's panic after the
// exception handlers that call it, string before the cmdline parser).
import type { Module } from '../toolchain/x86/asm.ts';
import { entry } from './entry.ts';
import { serial } from './serial.ts';
import { idt } from './idt.ts';
import { isr } from './isr.ts';
import { trap } from './trap.ts';
import { exceptions } from './exceptions.ts';
import { fwcfg } from './fw_cfg.ts';
import { cmdline } from './cmdline.ts';
import { pic } from './pic.ts';
import { pit } from './pit.ts';
import { uartRx } from './uart_rx.ts';
import { paging } from './paging.ts';
import { kgdt } from './gdt.ts';
import { vm } from './vm.ts';
import { proc } from './proc.ts';
import { sched } from './sched.ts';
import { syscall } from './syscall.ts';
import { strace } from './strace.ts';
import { programs } from './programs.ts';
import { scenarios } from './scenarios.ts';
import { shell } from './shell.ts';
import { string } from './string.ts';
import { qemuExit } from './qemu_exit.ts';

export const kernelModules: readonly Module[] = [
  // kmain's steps, in its order (entry.ts), each module before the ones that need it:
  entry, serial, kgdt, idt, isr, trap, exceptions, qemuExit, paging, fwcfg, string, cmdline, pic, pit, uartRx,
  // processes, system calls and ring 3 (proc_init, syscall_init):
  proc, vm, programs, sched, syscall, strace,
  // the kernel task: a test scenario or the shell (kmain's last step):
  scenarios, shell,
];
