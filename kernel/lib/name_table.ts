// Emitting a name table for name_lookup (string.asm): the data behind every
// "which word was typed?" question - cmdline keys, scenarios, shell commands.
import type { Asm } from '../../toolchain/x86/asm.ts';
import { type Expr, L } from '../../toolchain/x86/operands.ts';
import { type Sym, nameOf } from '../../toolchain/x86/symbol.ts';

export interface NameEntry {
  readonly name: string;
  /** What name_lookup returns for it: usually a routine's address. Never 0. */
  readonly value: Expr;
}

/** `label:` then one "dd name, value" pair per entry and a closing dd 0; the names follow. */
export function emitNameTable(a: Asm, table: Sym | string, entries: readonly NameEntry[], comment: string): void {
  const label = nameOf(table);
  a.align(4);
  a.label(table, `${comment} (for name_lookup)`);
  entries.forEach((e, i) => a.dataC(4, [L(`${label}_name_${i}`), e.value], `"${e.name}"`));
  a.dataC(4, [0], 'end of the table');
  entries.forEach((e, i) => { a.label(`${label}_name_${i}`); a.db(e.name, 0); });
}
