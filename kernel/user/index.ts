// The user programs built into the image.  Each is its own component,
// assembled at USER_BASE from its module followed by ulib, and embedded in
// the kernel (programs.asm) - the kernel has no file system yet.
import type { Module } from '../../toolchain/x86/asm.ts';
import { hello } from './hello.ts';
import { syscalls } from './syscalls.ts';
import { fuzz } from './fuzz.ts';
import { spin } from './spin.ts';
import { loop } from './loop.ts';
import { sectors } from './sectors.ts';
import { faultPrograms } from './faults.ts';
import { ulib } from './ulib.ts';

export interface UserProgram {
  /** Program (and component) name: what "run <name>" takes. */
  readonly name: string;
  readonly doc: string;
  /** Its modules, in link order: the first byte of the first is the entry point. */
  readonly modules: readonly Module[];
}

export const USER_PROGRAMS: readonly UserProgram[] = [
  { name: 'hello', doc: 'write a line from ring 3, exit(0)', modules: [hello, ulib] },
  { name: 'syscalls', doc: 'every system call with valid and invalid arguments, then exit(3)', modules: [syscalls, ulib] },
  { name: 'fuzz', doc: '10,000 random system calls (seed = start argument) and a summary', modules: [fuzz, ulib] },
  { name: 'spin', doc: 'CPU-bound: 5 progress lines, never yields', modules: [spin, ulib] },
  { name: 'loop', doc: 'never ends (Ctrl-C on the console stops it)', modules: [loop, ulib] },
  ...faultPrograms.map((f) => ({ name: f.name, doc: f.doc, modules: [f.module, ulib] })),
  { name: 'sectors', doc: 'read, write and flush sectors of the last disk without a boot sector with blkread/blkwrite/blkflush, then bad arguments', modules: [sectors, ulib] },
];
