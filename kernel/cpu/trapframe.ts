// The trap frame: what the stack holds when a handler runs.
//
// Built in two halves (see isr.ts): the CPU pushes EFLAGS, CS, EIP (and
// SS/ESP when the interrupt came from ring 3) and, for some exceptions, an
// error code; our stub pushes a zero error code where the CPU does not, then
// the vector number; isr_common pushes the general registers (pushad) and the
// data segment registers.  The offsets are from the lowest address, which is
// where ESP points when isr_common calls trap_dispatch.  In the generated
// source the layout is the `struc trapframe` block in kernel.asm; fields are
// `trapframe.eax` ..., the whole frame `trapframe_size`.
import { defineStruct, u32 } from '../../toolchain/x86/struct.ts';

export const TRAPFRAME = defineStruct('trapframe', {
  gs: u32('GS, pushed by isr_common'),
  fs: u32('FS'),
  es: u32('ES'),
  ds: u32('DS'),
  edi: u32('EDI (pushad stores EDI lowest)'),
  esi: u32('ESI'),
  ebp: u32('EBP'),
  esp: u32('ESP as it was before pushad (ignored by popad)'),
  ebx: u32('EBX'),
  edx: u32('EDX'),
  ecx: u32('ECX'),
  eax: u32('EAX (pushad stores EAX highest)'),
  vector: u32('vector number, pushed by the stub'),
  error: u32('error code: from the CPU, or 0 pushed by the stub'),
  eip: u32('EIP pushed by the CPU: the faulting or next instruction'),
  cs: u32('CS pushed by the CPU (low 2 bits = privilege level interrupted)'),
  eflags: u32('EFLAGS pushed by the CPU'),
  user_esp: u32('ESP of ring 3, pushed only on a privilege change (a frame taken in ring 0 ends here)'),
  user_ss: u32('SS of ring 3, pushed only on a privilege change'),
}, {
  doc: 'trap frame, lowest address first (kernel/cpu/trapframe.ts; isr.asm builds it)',
  size: 76,
});

/**
 * What context_switch (sched.ts) leaves on a kernel stack that is not running:
 * the callee-saved registers it pushed, above them the return address of its
 * caller.  proc_spawn builds one by hand below a new process's first trap
 * frame, with trap_return as the return address.
 */
export const CONTEXT = defineStruct('context', {
  edi: u32('EDI, pushed last by context_switch: the saved ESP (proc.kesp) points here'),
  esi: u32('ESI'),
  ebx: u32('EBX'),
  ebp: u32('EBP, pushed first'),
  eip: u32('return address of the call to context_switch'),
}, { doc: 'context-switch frame, lowest address first (sched.asm context_switch)', size: 20 });
