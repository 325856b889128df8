// Typed symbols: a label, a reserved (bss) block or a module-local equ that
// TypeScript knows by name.
//
//     export const schedule = sym('schedule');          // the scheduler's file declares it ...
//     a.label(schedule);                                // ... and its module defines it there
//     a.call(schedule, 'pick the next process');        // any module that imports it calls it
//
// A misspelt symbol is a compile error, an editor can rename it and go to its
// definition, and a module that does not export a symbol keeps it private to
// its own TypeScript file.  The generated NASM text is the same as with the
// string form `L('schedule')`, which remains for truly dynamic names (labels
// made in a loop) and for local labels ('.next').
//
// The build checks the two halves meet: a symbol is defined by a module of
// the TypeScript file that declared it (so go-to-definition leads to the code),
// and at most once per component (assemble.ts reports a duplicate label).

import { callerFile, ExprNode } from './operands.ts';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A global label, bss block or equ known to TypeScript. It is an expression (its address or value). */
export class Sym extends ExprNode {
  /** The TypeScript file that declared it, relative to the project root. */
  readonly file: string;
  constructor(readonly name: string, file: string, readonly doc?: string) {
    super({ t: 'sym', name });
    this.file = file;
  }
}

/**
 * Declare a symbol that a module of this TypeScript file defines (with
 * `a.label(s)`, `a.bss(s, size)` or `a.equ(s, value)`).  `doc` is optional:
 * the defining line's comment usually says it.
 */
export function sym(name: string, doc?: string): Sym {
  if (!NAME.test(name)) throw new Error(`sym('${name}'): not a NASM identifier (local labels start with '.' and stay strings)`);
  return new Sym(name, callerFile(), doc);
}

/**
 * The two labels the assembler defines around a component's reservations
 * (a.bss): the kernel entry clears bss_start .. bss_end before using them.
 */
export const bss_start = new Sym('bss_start', 'toolchain/x86/assemble.ts', 'first byte of the zero-filled reservations (defined by the assembler)');
export const bss_end = new Sym('bss_end', 'toolchain/x86/assemble.ts', 'the byte after the last reservation (defined by the assembler)');

/** The name of a label given as a symbol or a string. */
export function nameOf(s: Sym | string): string {
  return typeof s === 'string' ? s : s.name;
}
