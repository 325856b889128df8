// The fault programs: each does one thing ring 3 may not do.
import { type Asm, type Module, defineModule } from '../../toolchain/x86/asm.ts';
import { al, eax, ecx, edx, L, dword } from '../../toolchain/x86/operands.ts';
import { u_exit, u_puts } from './ulib.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const _start = sym('_start');

export interface FaultProgram {
  readonly name: string;
  readonly what: string;
  /** The exception the CPU raises, as the kernel names it. */
  readonly exception: string;
  readonly why: string;
  /** Instructions that prepare the fault (before the labelled one). */
  readonly setup?: (a: Asm) => void;
  /** The one instruction that faults. */
  readonly emit: (a: Asm) => void;
}

export const FAULTS: readonly FaultProgram[] = [
  { name: 'fault_cli', what: 'cli', exception: '#GP', why: 'cli needs CPL <= IOPL, and user EFLAGS has IOPL = 0', emit: (a) => a.cli() },
  { name: 'fault_hlt', what: 'hlt', exception: '#GP', why: 'hlt is privileged: CPL 0 only', emit: (a) => a.hlt() },
  { name: 'fault_in', what: 'in al, 0x60', exception: '#GP', why: 'CPL 3 > IOPL 0 and the TSS has no I/O bitmap: every port is denied', emit: (a) => a.in(al, 0x60) },
  { name: 'fault_out', what: 'out 0x80, al', exception: '#GP', why: 'same as in: port I/O is denied to ring 3', emit: (a) => a.out(0x80, al) },
  { name: 'fault_int', what: 'int 0x21', exception: '#GP', why: 'the gate of vector 0x21 has DPL 0 < CPL 3', emit: (a) => a.int(0x21) },
  { name: 'fault_kread', what: 'mov eax, [0x10000]', exception: '#PF', why: 'the kernel\'s pages have U/S = 0', emit: (a) => a.mov(eax, dword(0x10000)) },
  { name: 'fault_kwrite', what: 'mov [0x10000], eax', exception: '#PF', why: 'the kernel\'s pages have U/S = 0', emit: (a) => a.mov(dword(0x10000), eax) },
  { name: 'fault_unmapped', what: 'mov eax, [0x500000]', exception: '#PF', why: '0x500000 is in the unmapped hole of the user region', emit: (a) => a.mov(eax, dword(0x500000)) },
  { name: 'fault_div0', what: 'div ecx with ECX = 0', exception: '#DE', why: 'division by zero', setup: (a) => { a.xor(edx, edx); a.xor(ecx, ecx); }, emit: (a) => a.div(ecx) },
  { name: 'fault_ud', what: 'ud2', exception: '#UD', why: '0F 0B is defined to be an invalid opcode', emit: (a) => a.ud2() },
];

function faultModule(f: FaultProgram): Module {
  return defineModule({
    name: f.name,
    title: `${f.name}: ${f.what} in ring 3 -> ${f.exception}`,
    about: `
Executes "${f.what}" at CPL 3.  The CPU refuses: ${f.why}, so it raises
${f.exception}.  The exception arrives through the IDT like any other - but
the saved CS has RPL 3, so the kernel kills this program ("[proc] pid N
killed: ${f.exception} ... at <EIP>", EIP = ${f.name}_insn) and carries on.
If the line after it ever prints, the protection is broken.`,
    emit(a) {
      a.label(_start);
      a.mov(eax, a.cstr(`[${f.name}] executing ${f.what} in ring 3\n`));
      a.call(u_puts);
      f.setup?.(a);
      a.label(`${f.name}_insn`, 'the faulting instruction: the kernel reports this address');
      f.emit(a);
      a.mov(eax, a.cstr(`[${f.name}] still running: ${f.what} did not fault!\n`));
      a.call(u_puts);
      a.mov(eax, 1);
      a.call(u_exit);
    },
  });
}

export const faultPrograms: readonly { name: string; doc: string; module: Module }[] = FAULTS.map((f) => ({
  name: f.name, doc: `${f.what} in ring 3 (${f.exception}: killed)`, module: faultModule(f),
}));
