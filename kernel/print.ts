// Emit helpers for the kernel's most common sequence: load EAX, call a
// serial_* routine (serial.asm).  Plain TypeScript, not a module: each
// helper writes the same two instructions a reader sees in the source.
import type { Asm } from '../toolchain/x86/asm.ts';
import { type Expr, type Mem32, type Reg32, eax, L } from '../toolchain/x86/operands.ts';

/** mov eax, <label>; call serial_puts */
export const say = (a: Asm, label: string): void => { a.mov(eax, L(label)); a.call(L('serial_puts')); };
/** mov eax, <value>; call serial_put_dec */
export const putDec = (a: Asm, v: Reg32 | Mem32 | Expr): void => { a.mov(eax, v as Expr); a.call(L('serial_put_dec')); };
/** mov eax, <value>; call serial_put_hex32 */
export const putHex32 = (a: Asm, v: Reg32 | Mem32 | Expr): void => { a.mov(eax, v as Expr); a.call(L('serial_put_hex32')); };
