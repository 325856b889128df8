// The kernel component: its modules in link order, which is kmain's order of
// initialisation and the course's reading order (toolchain/course.ts; the build
// refuses the two out of step).  entry comes first: the boot path jumps to the
// first byte of the kernel (toolchain/image.ts checks kernel_entry is there).
// Helpers come just before their first user (qemu_exit's panic after the
// exception handlers that call it, string before the cmdline parser).
import type { Module } from '../toolchain/x86/asm.ts';
import { entry } from './entry.ts';
import { serial } from './dev/serial.ts';
import { idt } from './cpu/idt.ts';
import { isr } from './cpu/isr.ts';
import { trap } from './cpu/trap.ts';
import { exceptions } from './cpu/exceptions.ts';
import { fwcfg } from './dev/fw_cfg.ts';
import { cmdline } from './cmdline.ts';
import { pic } from './dev/pic.ts';
import { pit } from './dev/pit.ts';
import { uartRx } from './dev/uart_rx.ts';
import { paging } from './cpu/paging.ts';
import { kgdtModule } from './cpu/gdt.ts';
import { vm } from './proc/vm.ts';
import { proc } from './proc/proc.ts';
import { spawn } from './proc/spawn.ts';
import { exit } from './proc/exit.ts';
import { ps } from './proc/ps.ts';
import { sched } from './proc/sched.ts';
import { syscall } from './proc/syscall.ts';
import { strace } from './proc/strace.ts';
import { programs } from './proc/programs.ts';
import { scenarios } from './scenarios.ts';
import { readline } from './shell/readline.ts';
import { shell } from './shell/shell.ts';
import { shellArgs } from './shell/args.ts';
import { devCmds } from './dev/commands.ts';
import { cpuCmds } from './cpu/commands.ts';
import { procCmds } from './proc/commands.ts';
import { string } from './lib/string.ts';
import { qemuExit } from './dev/qemu_exit.ts';
import { e820k } from './mm/e820.ts';
import { pmm } from './mm/pmm.ts';
import { memCmds } from './mm/commands.ts';
import { pciConfig } from './pci/config.ts';
import { pci } from './pci/pci.ts';
import { pciCmds } from './pci/commands.ts';
import { diskModule } from './blk/disk.ts';
import { virtioTransport } from './virtio/transport.ts';
import { vqueue } from './virtio/queue.ts';
import { virtioBlk } from './blk/virtio_blk.ts';
import { ata } from './blk/ata.ts';
import { blkCmds } from './blk/commands.ts';
import { benchCmds } from './blk/bench.ts';
import { ustar, tarfs } from './fs/tar.ts';
import { fsCmds } from './fs/commands.ts';

export const kernelModules: readonly Module[] = [
  // kmain's steps, in its order (entry.ts), each module before the ones that need it:
  entry, serial, kgdtModule, idt, isr, trap, exceptions, qemuExit, paging, fwcfg, string, cmdline, e820k, pmm, pic, pit, uartRx,
  // the devices on PCI bus 0 (pci_init):
  pciConfig, pci,
  // virtio: the PCI transport and its virtqueues (virtio_init), shared by the virtio drivers:
  virtioTransport, vqueue,
  // the disks the drivers find, behind one block layer (virtio_blk_init):
  diskModule, virtioBlk,
  // the IDE disks (ata_init):
  ata,
  // the tar file system on the first virtio-blk disk that holds one (tar_mount):
  ustar, tarfs,
  // processes, system calls and ring 3 (proc_init, syscall_init):
  proc, vm, programs, spawn, sched, exit, ps, syscall, strace,
  // the kernel task: a test scenario or the shell (kmain's last step), then the
  // shell's parts: its line editor, its argument parser and the commands each
  // subsystem contributes:
  scenarios, shell, readline, shellArgs, devCmds, cpuCmds, procCmds, memCmds, pciCmds, blkCmds, benchCmds, fsCmds,
];
