// The trap frame: what the stack holds when a handler runs.
//
// Built in two halves (see isr.ts): the CPU pushes EFLAGS, CS, EIP (and
// SS/ESP when the interrupt came from ring 3) and, for some exceptions, an
// error code; our stub pushes a zero error code where the CPU does not, then
// the vector number; isr_common pushes the general registers (pushad) and the
// data segment registers.  The offsets below are from the lowest address, which
// is where ESP points when isr_common calls trap_dispatch.
import { constant } from '../toolchain/x86/operands.ts';

const field = (name: string, offset: number, doc: string) => constant(`TF_${name}`, offset, `trap frame +${offset}: ${doc}`);

export const TF_GS = field('GS', 0, 'GS, pushed by isr_common');
export const TF_FS = field('FS', 4, 'FS');
export const TF_ES = field('ES', 8, 'ES');
export const TF_DS = field('DS', 12, 'DS');
export const TF_EDI = field('EDI', 16, 'EDI (pushad stores EDI lowest)');
export const TF_ESI = field('ESI', 20, 'ESI');
export const TF_EBP = field('EBP', 24, 'EBP');
export const TF_ESP = field('ESP', 28, 'ESP as it was before pushad (ignored by popad)');
export const TF_EBX = field('EBX', 32, 'EBX');
export const TF_EDX = field('EDX', 36, 'EDX');
export const TF_ECX = field('ECX', 40, 'ECX');
export const TF_EAX = field('EAX', 44, 'EAX (pushad stores EAX highest)');
export const TF_VECTOR = field('VECTOR', 48, 'vector number, pushed by the stub');
export const TF_ERROR = field('ERROR', 52, 'error code: from the CPU, or 0 pushed by the stub');
export const TF_EIP = field('EIP', 56, 'EIP pushed by the CPU: the faulting or next instruction');
export const TF_CS = field('CS', 60, 'CS pushed by the CPU (low 2 bits = privilege level interrupted)');
export const TF_EFLAGS = field('EFLAGS', 64, 'EFLAGS pushed by the CPU');
export const TF_USER_ESP = field('USER_ESP', 68, 'ESP of ring 3, pushed only on a privilege change');
export const TF_USER_SS = field('USER_SS', 72, 'SS of ring 3, pushed only on a privilege change');
export const TRAP_FRAME_SIZE = constant('TRAP_FRAME_SIZE', 68, 'bytes of a trap frame taken in ring 0 (no USER_ESP/USER_SS)');
export const TRAP_FRAME_USER_SIZE = constant('TRAP_FRAME_USER_SIZE', 76, 'bytes of a trap frame taken from ring 3 (with USER_ESP and USER_SS)');
