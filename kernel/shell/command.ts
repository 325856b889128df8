// A shell command as a subsystem contributes it: plain data the shell's
// module turns into its name table (shell_commands, for name_lookup) and the
// text of "help".  The handler is a routine of the contributing module, which
// owns the data the command shows (kernel/dev/commands.ts reads the PIT, PIC
// and UART variables; the shell itself reads none of them).
import type { Asm } from '../../toolchain/x86/asm.ts';
import { emitHelperFile } from '../../toolchain/x86/operands.ts';
import type { Sym } from '../../toolchain/x86/symbol.ts';

// The listing names the line that called commandStart(), not this file.
emitHelperFile();

export interface ShellCommand {
  /** The word typed at the prompt. */
  readonly name: string;
  /** How help shows it: the name and its arguments. */
  readonly usage: string;
  /** What it does, in one line of help. */
  readonly doc: string;
  /**
   * The routine that runs it, entered with EAX = the argument string (the
   * rest of the line after the word and its spaces; never NULL, "" when there
   * is none).  Kernel convention: EAX, ECX, EDX are the routine's to change;
   * EBX, ESI, EDI, EBP come back as they were.
   */
  readonly handler: Sym;
}

/** Start a command's handler in the generated text: a section banner with its help line, then its label. */
export function commandStart(a: Asm, c: ShellCommand): void {
  a.section(`${c.usage}: ${c.doc}`);
  a.label(c.handler);
}
