// Where each piece of the image lives on disk and in memory during boot.
//
// Fixed addresses are design choices made here, once; sector counts are
// computed by the image builder from the encoded sizes and handed to the
// boot sector as `equ` constants (STAGE2_SECTORS, KERNEL_SECTORS, KERNEL_LBA).
//
// Real-mode memory map used while booting (first 1 MiB, see the OSDev/IBM PC map):
//   0x00000-0x003FF  real-mode interrupt vector table (256 vectors x 4 bytes)
//   0x00400-0x004FF  BIOS data area
//   0x00500-0x00FFF  free
//   0x01000-0x012FF  the BIOS memory map stage 2 stores for the kernel (boot/e820.ts)
//   0x01300-0x07BFF  free: the boot stack grows down from 0x7C00
//   0x07C00-0x07DFF  boot sector (the BIOS loads it here)
//   0x07E00-0x0FFFF  stage 2 (its load window)
//   0x10000-0x7FFFF  kernel image, then its reserved (bss) memory
//   0x80000-0x9FFFF  free conventional memory (the EBDA may start near 0x9FC00)
//   0xA0000-0xFFFFF  video memory, option ROMs, BIOS ROM

import { constant } from '../toolchain/x86/operands.ts';

/** Bytes in one disk sector: the unit of BIOS int 13h transfers. */
export const SECTOR_SIZE = 512;

export const BOOT_ORIGIN = 0x7c00;
export const BOOT_SECTOR_CODE_MAX = 510; // the last two bytes are the 0x55 0xAA signature

export const STAGE2_LOAD = constant('STAGE2_LOAD', 0x7e00, 'physical address stage 2 is loaded at (right after the boot sector)');
export const STAGE2_ORIGIN = 0x7e00;
export const STAGE2_WINDOW_END = 0x10000;
export const STAGE2_LBA = constant('STAGE2_LBA', 1, 'stage 2 starts at the second sector of the disk (LBA 1)');

export const KERNEL_ORIGIN = 0x10000;
export const KERNEL_WINDOW_END = 0x80000;
export const KERNEL_LOAD_SEGMENT = constant('KERNEL_LOAD_SEGMENT', KERNEL_ORIGIN >> 4, 'real-mode segment of the kernel load address 0x10000 (segment * 16 = physical)');
export const STAGE2_LOAD_SEGMENT = constant('STAGE2_LOAD_SEGMENT', STAGE2_ORIGIN >> 4, 'real-mode segment of the stage 2 load address 0x7E00');

export const BOOT_STACK_TOP = constant('BOOT_STACK_TOP', 0x7c00, 'real-mode stack grows down from just below the boot sector');
