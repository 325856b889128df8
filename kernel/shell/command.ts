// A shell command as a subsystem contributes it: plain data the shell's
// module turns into its name table (shell_commands, for name_lookup) and the
// text of "help".  The handler is a routine of the contributing module, which
// owns the data the command shows (kernel/dev/commands.ts reads the PIT, PIC
// and UART variables; the shell itself reads none of them).
import type { Asm } from '../../toolchain/x86/asm.ts';
import { eax, ecx, edx, emitHelperFile } from '../../toolchain/x86/operands.ts';
import type { RoutineBody, RoutineSpec } from '../../toolchain/x86/routine.ts';
import type { Sym } from '../../toolchain/x86/symbol.ts';

// The listing names the line that called commandRoutine(), not this file.
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

/** What a handler adds to the contract all handlers share: the callee-saved registers it uses. */
export type HandlerContract = Pick<RoutineSpec, 'saves'>;

/**
 * A command's handler as a routine (toolchain/x86/routine.ts) with the
 * contract every handler has - in EAX the argument string; EAX, ECX, EDX
 * destroyed, as the shell's dispatcher (shell_execute) allows - and a header
 * that is its line of help.  `extra.saves` lists the callee-saved registers
 * the body uses (pushed and popped by the routine).
 */
export function commandRoutine(a: Asm, c: ShellCommand, extra: HandlerContract, body: (r: RoutineBody) => void): void {
  a.routine({
    name: c.handler,
    does: `${c.usage}: ${c.doc}`,
    in: { eax: 'the argument string (the rest of the line after the word and its spaces; "" when none)' },
    clobbers: [eax, ecx, edx],
    ...extra,
  }, body);
}
