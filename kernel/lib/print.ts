// Emit helpers for the kernel's most common sequence: load EAX, call a
// serial_* routine (serial.asm).  Plain TypeScript, not a module: each
// helper writes the same two instructions a reader sees in the source.
import type { Asm } from '../../toolchain/x86/asm.ts';
import { type CtrlReg, type Expr, type Mem32, type Reg32, eax, emitHelperFile } from '../../toolchain/x86/operands.ts';
import { serial_put_dec, serial_put_hex32, serial_puts } from '../dev/serial.ts';

// The listing names the line that called say()/putDec()/putHex32(), not this file.
emitHelperFile();

type Value = Reg32 | Mem32 | Expr;

function loadEax(a: Asm, v: Value | CtrlReg, why?: string): void {
  // One call site per operand kind keeps the typed mov() overloads happy.
  if (why === undefined) a.mov(eax, v as Expr);
  else a.mov(eax, v as Expr, why);
}

/** mov eax, <label>; call serial_puts */
export const say = (a: Asm, label: Expr): void => { a.mov(eax, label); a.call(serial_puts); };
/** mov eax, <value>; call serial_put_dec */
export const putDec = (a: Asm, v: Value, why?: string): void => { loadEax(a, v, why); a.call(serial_put_dec); };
/** mov eax, <value>; call serial_put_hex32 (a control register such as CR2 too) */
export const putHex32 = (a: Asm, v: Value | CtrlReg, why?: string): void => { loadEax(a, v, why); a.call(serial_put_hex32); };
