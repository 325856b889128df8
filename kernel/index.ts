// The kernel component: its modules in link order (entry first: the boot path
// jumps to the first byte of the kernel).  One hardware concept per module.
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
  entry, serial, kgdt, idt, isr, trap, exceptions, fwcfg, cmdline, pic, pit, uartRx, paging, vm, proc, sched, syscall, strace,
  programs, scenarios, shell, string, qemuExit,
];
