// CPU exceptions: vectors 0-31, their names, and what the kernel does with them.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { cr2, eax, ebx, ecx, edx, L, dword, constant } from '../../toolchain/x86/operands.ts';
import { TRAPFRAME } from './trapframe.ts';
import { trap_register } from './trap.ts';
import { panic } from '../dev/qemu_exit.ts';
import { console_panic, serial_newline, serial_put_dec, serial_put_hex32, serial_put_hex8, serial_puts } from '../dev/serial.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { say } from '../lib/print.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const bp_handler = sym('bp_handler');
export const exception_names = sym('exception_names');
export const exception_unhandled = sym('exception_unhandled');
export const exceptions_init = sym('exceptions_init');
export const pf_print_error = sym('pf_print_error');

/** Intel SDM Vol. 3A §6.15 / Table 6-1: protected-mode exceptions and interrupts. */
export interface ExceptionInfo {
  readonly vector: number;
  readonly mnemonic: string;
  readonly name: string;
  /** Whether the CPU pushes an error code (SDM 3A Table 6-1, "Error Code" column). */
  readonly errorCode: boolean;
}

export const EXCEPTIONS: readonly ExceptionInfo[] = [
  { vector: 0, mnemonic: '#DE', name: 'divide error', errorCode: false },
  { vector: 1, mnemonic: '#DB', name: 'debug', errorCode: false },
  { vector: 2, mnemonic: 'NMI', name: 'non-maskable interrupt', errorCode: false },
  { vector: 3, mnemonic: '#BP', name: 'breakpoint', errorCode: false },
  { vector: 4, mnemonic: '#OF', name: 'overflow', errorCode: false },
  { vector: 5, mnemonic: '#BR', name: 'BOUND range exceeded', errorCode: false },
  { vector: 6, mnemonic: '#UD', name: 'invalid opcode', errorCode: false },
  { vector: 7, mnemonic: '#NM', name: 'device not available', errorCode: false },
  { vector: 8, mnemonic: '#DF', name: 'double fault', errorCode: true },
  { vector: 9, mnemonic: '#CSO', name: 'coprocessor segment overrun', errorCode: false },
  { vector: 10, mnemonic: '#TS', name: 'invalid TSS', errorCode: true },
  { vector: 11, mnemonic: '#NP', name: 'segment not present', errorCode: true },
  { vector: 12, mnemonic: '#SS', name: 'stack-segment fault', errorCode: true },
  { vector: 13, mnemonic: '#GP', name: 'general protection', errorCode: true },
  { vector: 14, mnemonic: '#PF', name: 'page fault', errorCode: true },
  { vector: 15, mnemonic: '#15', name: 'reserved', errorCode: false },
  { vector: 16, mnemonic: '#MF', name: 'x87 floating-point error', errorCode: false },
  { vector: 17, mnemonic: '#AC', name: 'alignment check', errorCode: true },
  { vector: 18, mnemonic: '#MC', name: 'machine check', errorCode: false },
  { vector: 19, mnemonic: '#XM', name: 'SIMD floating-point', errorCode: false },
  { vector: 20, mnemonic: '#VE', name: 'virtualization', errorCode: false },
  { vector: 21, mnemonic: '#CP', name: 'control protection', errorCode: true },
  ...[22, 23, 24, 25, 26, 27].map((v) => ({ vector: v, mnemonic: `#${v}`, name: 'reserved', errorCode: false })),
  { vector: 28, mnemonic: '#HV', name: 'hypervisor injection', errorCode: false },
  { vector: 29, mnemonic: '#VC', name: 'VMM communication', errorCode: true },
  { vector: 30, mnemonic: '#SX', name: 'security exception', errorCode: true },
  { vector: 31, mnemonic: '#31', name: 'reserved', errorCode: false },
];

export const VEC_BP = constant('VEC_BP', 3, '#BP breakpoint (int3): a trap - the saved EIP is the next instruction (SDM 3A §6.15)', { radix: 10 });
export const VEC_PF = constant('VEC_PF', 14, '#PF page fault: CR2 holds the linear address that faulted (SDM 3A §6.15)', { radix: 10 });
export const NUM_EXCEPTIONS = constant('NUM_EXCEPTIONS', 32, 'vectors 0-31 are reserved for CPU exceptions (SDM 3A §6.2)', { radix: 10 });

/** #PF error-code bits (SDM 3A §4.7, Figure 4-12) and what each value means. */
export const PF_BITS = [
  { bit: 0, name: 'P', clear: 'page not present', set: 'protection violation' },
  { bit: 1, name: 'W/R', clear: 'read', set: 'write' },
  { bit: 2, name: 'U/S', clear: 'supervisor mode', set: 'user mode' },
] as const;

/** The text pf_print_error prints for bit i of the error code: " (x", ", y", ", z)". */
const pfText = (i: number, what: string) => `${i ? ', ' : ' ('}${what}${i === PF_BITS.length - 1 ? ')' : ''}`;

export const exceptions = defineModule({
  name: 'exceptions',
  title: 'CPU exceptions: names, the register dump, and the fault policy',
  about: `
Vectors 0-31 belong to the CPU (SDM 3A §6.2).  A fault (#DE, #UD, #GP, #PF ...)
saves the EIP of the faulting instruction, so returning would run it again; a
trap (#BP from int3, #OF) saves the EIP of the next instruction, so the
handler can simply return.

The fault policy, as in xv6: an exception raised by the kernel itself is a
kernel bug - print one dump (vector and name, error code, EIP, CS, EFLAGS, the
general registers, and CR2 for a page fault) and panic.  (Ring 3 comes with
processes, exit.asm: there a user fault kills only the program.)  For a page
fault the dump adds CR2 and decodes the error code: P (0 = the page is not
present, 1 = present but the access broke its protection), W/R (the access
was a read or a write) and U/S (it came from ring 0 or ring 3).  #BP is the exception
that returns: exceptions_init registers bp_handler, which prints a line and
resumes - the course uses it to show that an exception is just an interrupt.

Contract: exception_unhandled and bp_handler are trap handlers: EAX = trap frame.`,
  spec: ['Intel SDM Vol. 3A §6.4 "Sources of Exceptions", §6.15 "Exception and Interrupt Reference", Table 6-1', 'Intel SDM Vol. 3A §6.13 "Error Code"'],
  emit(a) {
    a.routine({
      name: exceptions_init, does: 'register the handlers the kernel has for CPU exceptions',
      clobbers: [eax, edx],
    }, (r) => {
      a.mov(eax, VEC_BP);
      a.mov(edx, bp_handler);
      a.call(trap_register);
      r.ret();
    });

    a.section('bp_handler: #BP - report and resume');
    a.label(bp_handler);
    a.push(ebx);
    a.mov(ebx, eax);
    say(a, a.cstr('[exception] #BP breakpoint at EIP=0x'));
    a.mov(eax, dword(ebx, TRAPFRAME.f.eip), 'the instruction after int3');
    a.call(serial_put_hex32);
    say(a, a.cstr(', resuming\r\n'));
    a.pop(ebx);
    a.ret('returning lets isr_common iret to the saved EIP');

    a.section('exception_unhandled: dump the frame and panic (EAX = trap frame)');
    a.label(exception_unhandled);
    a.mov(ebx, eax, 'EBX = frame for the rest of the dump (we never return)');
    a.call(console_panic, 'the dump starts on a fresh line, even if the fault came inside an interrupt handler');
    say(a, a.cstr('[exception] '));
    a.mov(ecx, dword(ebx, TRAPFRAME.f.vector));
    a.mov(eax, dword({ index: ecx, scale: 4, disp: exception_names }), 'name string for this vector');
    a.call(serial_puts);
    say(a, a.cstr(' (vector '));
    a.mov(eax, dword(ebx, TRAPFRAME.f.vector));
    a.call(serial_put_dec);
    say(a, a.cstr(') error=0x'));
    a.mov(eax, dword(ebx, TRAPFRAME.f.error));
    a.call(serial_put_hex32);
    say(a, a.cstr(' EIP=0x'));
    a.mov(eax, dword(ebx, TRAPFRAME.f.eip));
    a.call(serial_put_hex32);
    a.call(serial_newline);
    const regs: [string, typeof TRAPFRAME.f.eax][][] = [
      [['CS', TRAPFRAME.f.cs], ['EFLAGS', TRAPFRAME.f.eflags]],
      [['EAX', TRAPFRAME.f.eax], ['EBX', TRAPFRAME.f.ebx], ['ECX', TRAPFRAME.f.ecx], ['EDX', TRAPFRAME.f.edx]],
      [['ESI', TRAPFRAME.f.esi], ['EDI', TRAPFRAME.f.edi], ['EBP', TRAPFRAME.f.ebp], ['ESP', TRAPFRAME.f.esp]],
    ];
    regs.forEach((line, i) => {
      say(a, a.cstr('[exception] '));
      line.forEach(([name, off], j) => {
        say(a, a.cstr(`${j ? ' ' : ''}${name}=0x`));
        a.mov(eax, dword(ebx, off));
        a.call(serial_put_hex32);
      });
      a.call(serial_newline);
    });
    a.cmp(dword(ebx, TRAPFRAME.f.vector), VEC_PF);
    a.jne(L('.no_cr2'));
    say(a, a.cstr('[exception] CR2=0x'));
    a.mov(eax, cr2, 'CR2 = the linear address whose access faulted');
    a.call(serial_put_hex32);
    a.mov(eax, dword(ebx, TRAPFRAME.f.error));
    a.call(pf_print_error);
    a.call(serial_newline);
    a.label('.no_cr2');
    a.mov(eax, a.cstr('unhandled exception in the kernel'));
    a.call(panic, 'kernel-mode exception: a kernel bug, stop here');

    a.routine({
      name: pf_print_error, does: 'print a #PF error code: " error=0x.. (<P>, <W/R>, <U/S>)"',
      in: { eax: '#PF error code (SDM 3A §4.7, Figure 4-12)' }, clobbers: [eax, ecx, edx], saves: [ebx],
    }, (r) => {
      a.mov(ebx, eax);
      say(a, a.cstr(' error=0x'));
      a.mov(eax, ebx);
      a.call(serial_put_hex8);
      PF_BITS.forEach((b, i) => {
        a.mov(eax, a.cstr(pfText(i, b.clear)), `bit ${b.bit} clear: ${b.clear}`);
        a.test(ebx, 1 << b.bit);
        a.jz(L(`.say_${i}`));
        a.mov(eax, a.cstr(pfText(i, b.set)), `bit ${b.bit} set: ${b.set}`);
        a.label(`.say_${i}`);
        a.call(serial_puts);
      });
      r.ret();
    });

    a.section('strings');
    a.label(exception_names, 'pointer table: vector -> "#XX name"');
    for (const e of EXCEPTIONS) a.dataC(4, [L(`exc_name_${e.vector}`)], `vector ${e.vector}`);
    for (const e of EXCEPTIONS) { a.label(`exc_name_${e.vector}`); a.db(`${e.mnemonic} ${e.name}`, 0); }
  },
});
