// The kernel's own GDT, with a task-state segment (TSS) for ring transitions.
import { KERNEL_STACK_SIZE, kernel_stack } from '../entry.ts';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { al, ah, ax, eax, ecx, edx, ds, es, fs, gs, ss, L, byte, dword, word, mem, far, constant } from '../../toolchain/x86/operands.ts';
import { SEL_KERNEL_CODE, SEL_KERNEL_DATA, SEL_TSS } from '../../boot/gdt.ts';
import { FLAT, SEG_DESC, emitDescriptor } from '../../boot/descriptor.ts';
import { defineStruct, pad, u16, u32 } from '../../toolchain/x86/struct.ts';
import { serial_puts } from '../dev/serial.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
export const gdt_init = sym('gdt_init');
const kgdt = sym('kgdt');
const kgdt_end = sym('kgdt_end');
const kgdt_tss = sym('kgdt_tss');
const kgdtr = sym('kgdtr');
const tss = sym('tss');
export const tss_set_esp0 = sym('tss_set_esp0');

const sel = u16;
/** The 32-bit task-state segment (SDM 3A §7.2.1, Figure 7-2). tskernel uses only ss0, esp0 and iomap. */
export const TSS = defineStruct('tss32', {
  link: sel('previous task link (hardware task switching; unused)'),
  _r0: pad(2, 'reserved'),
  esp0: u32('ESP0: the stack pointer loaded on an interrupt from ring 3'),
  ss0: sel('SS0: the stack segment loaded with it'),
  _r1: pad(2, 'reserved'),
  esp1: u32('ESP1 (ring 1; unused)'),
  ss1: sel('SS1'),
  _r2: pad(2, 'reserved'),
  esp2: u32('ESP2 (ring 2; unused)'),
  ss2: sel('SS2'),
  _r3: pad(2, 'reserved'),
  cr3: u32('CR3 of the task (the rest is state saved by a hardware task switch; unused)'),
  eip: u32('EIP'),
  eflags: u32('EFLAGS'),
  eax: u32('EAX'),
  ecx: u32('ECX'),
  edx: u32('EDX'),
  ebx: u32('EBX'),
  esp: u32('ESP'),
  ebp: u32('EBP'),
  esi: u32('ESI'),
  edi: u32('EDI'),
  es: sel('ES'),
  _r4: pad(2, 'reserved'),
  cs: sel('CS'),
  _r5: pad(2, 'reserved'),
  ss: sel('SS'),
  _r6: pad(2, 'reserved'),
  ds: sel('DS'),
  _r7: pad(2, 'reserved'),
  fs: sel('FS'),
  _r8: pad(2, 'reserved'),
  gs: sel('GS'),
  _r9: pad(2, 'reserved'),
  ldt: sel('LDT selector'),
  _r10: pad(2, 'reserved'),
  trap: u16('bit 0 T: debug trap on a task switch to this task'),
  iomap: u16('offset of the I/O permission bitmap from the TSS base'),
}, { doc: '32-bit task-state segment (SDM 3A §7.2.1, Figure 7-2)', size: 104 });
export const DESC_TSS32 = constant('DESC_TSS32', 0x89, 'access byte of a TSS descriptor: present, DPL 0, S = 0 (system), type 1001b = 32-bit available TSS');

export const kgdtModule = defineModule({
  name: 'gdt',
  title: 'The kernel GDT and the task-state segment: where ESP0 comes from',
  about: `
Stage 2 entered protected mode with a GDT of its own (stage2/gdt.asm) whose
TSS slot was empty.  Ring 3 needs a TSS: when an interrupt, exception or
"int 0x80" arrives while the CPU runs at CPL 3, the handler must not run on
the user's stack (the user controls ESP - it could point anywhere).  So the
CPU switches stacks *before* it pushes anything (SDM 3A §6.12.1):

  1. it reads SS0:ESP0 from the current TSS (the one TR points to);
  2. loads them into SS:ESP - now on the kernel stack of this process;
  3. pushes the user's SS and ESP, then EFLAGS, CS and EIP (and an error
     code for some exceptions) - the top of the trap frame (struc trapframe,
     printed in kernel.asm; isr.asm pushes the rest);
  4. loads CS:EIP from the gate; CPL becomes 0.

iretd undoes it: it pops EIP, CS and EFLAGS and, because the popped CS has
RPL 3 (a return to an outer privilege level), also ESP and SS.

tskernel uses the TSS for nothing else (no hardware task switching, as in
xv6): one TSS, ESP0 rewritten by the scheduler at every switch so that it
is always the top of the running process's kernel stack.  The I/O bitmap
offset points past the TSS limit, i.e. there is no bitmap: with IOPL = 0 in
EFLAGS, every in/out from ring 3 raises #GP (SDM Vol. 1 "I/O
Permission Bit Map"), and so do cli, sti and hlt (IOPL / CPL 0 checks).

gdt_init copies nothing from stage 2: it builds its table here (the same
flat selectors 0x08/0x10/0x1B/0x23 plus the TSS at 0x28), patches the TSS
base address into the TSS descriptor at run time (the base is split into
three fields), loads GDTR, reloads every segment register (a segment
register caches its descriptor: reloading is what makes the CPU read the
new table - CS needs a far jump), and loads TR with ltr.`,
  spec: [
    'Intel SDM Vol. 3A §7.2.1 "Task-State Segment (TSS)" (Figure 7-2), §7.2.2 "TSS Descriptor" (Figure 7-3)',
    'Intel SDM Vol. 3A §6.12.1 "Exception- or Interrupt-Handler Procedures" (stack switch, Figure 6-4)',
    'Intel SDM Vol. 1, chapter "Input/Output", "Protected-Mode I/O" (IOPL, I/O permission bitmap)',
  ],
  emit(a) {
    a.bss(tss, TSS.size, 16, 'the task-state segment (only SS0, ESP0 and the I/O map offset are used)');

    a.routine({
      name: gdt_init, does: 'load the kernel GDT, reload every segment register, load TR with the TSS',
      clobbers: [eax, ecx, edx],
    }, () => {
      a.mov(dword(tss.add(TSS.f.ss0)), SEL_KERNEL_DATA, 'SS0: the kernel stack segment (a dword store: also zeroes the reserved half)');
      a.mov(dword(tss.add(TSS.f.esp0)), kernel_stack.add(KERNEL_STACK_SIZE), 'ESP0: the boot stack until the scheduler switches');
      a.mov(word(tss.add(TSS.f.iomap)), TSS.SIZE, 'I/O map offset = TSS size: no bitmap, so in/out from ring 3 fault');
      a.mov(eax, tss, 'EAX = TSS base: patch it into the descriptor');
      a.mov(word(kgdt_tss.add(SEG_DESC.f.base_lo)), ax, 'base 15:0');
      a.shr(eax, 16);
      a.mov(byte(kgdt_tss.add(SEG_DESC.f.base_mid)), al, 'base 23:16');
      a.mov(byte(kgdt_tss.add(SEG_DESC.f.base_hi)), ah, 'base 31:24');
      a.lgdt(mem(kgdtr), 'GDTR = this table');
      a.jmp(far(SEL_KERNEL_CODE, L('.reload_cs'), { wide: true }), 'far jump: reload CS from the new table');
      a.label('.reload_cs');
      a.mov(ax, SEL_KERNEL_DATA);
      a.mov(ds, ax, 'reload the data segment registers from the new table');
      a.mov(es, ax);
      a.mov(fs, ax);
      a.mov(gs, ax);
      a.mov(ss, ax);
      a.mov(ax, SEL_TSS);
      a.ltr(ax, 'TR = the TSS: ring 3 -> ring 0 transitions now read SS0:ESP0 from it');
      a.mov(eax, a.cstr('[gdt] kernel GDT loaded: user code 0x1B, user data 0x23, TSS 0x28 (SS0:ESP0 for ring 3 -> ring 0)\r\n'));
      a.jmp(serial_puts, 'tail call');
    });

    a.routine({
      name: tss_set_esp0, does: 'set the stack the CPU loads on the next entry from ring 3 (TSS.ESP0)',
      in: { eax: 'top of the kernel stack' },
    }, (r) => {
      a.mov(dword(tss.add(TSS.f.esp0)), eax);
      r.ret();
    });

    a.section('the table');
    a.align(8);
    a.label(kgdt);
    a.dataC(4, [0, 0], 'entry 0: null descriptor');
    emitDescriptor(a, { ...FLAT, kind: 'code', dpl: 0 }, 'entry 1 (0x08): kernel code');
    emitDescriptor(a, { ...FLAT, kind: 'data', dpl: 0 }, 'entry 2 (0x10): kernel data');
    emitDescriptor(a, { ...FLAT, kind: 'code', dpl: 3 }, 'entry 3 (0x18, selector 0x1B): user code');
    emitDescriptor(a, { ...FLAT, kind: 'data', dpl: 3 }, 'entry 4 (0x20, selector 0x23): user data');
    a.comment('entry 5 (0x28): the TSS descriptor; gdt_init fills in the base');
    a.label(kgdt_tss);
    a.dataC(2, [TSS.SIZE.sub(1)], 'limit 15:0: 103 (byte granularity)');
    a.dataC(2, [0], 'base 15:0 (patched)');
    a.dataC(1, [0], 'base 23:16 (patched)');
    a.dataC(1, [DESC_TSS32], 'access: present, DPL 0, 32-bit available TSS (ltr marks it busy)');
    a.dataC(1, [0], 'flags: G = 0 (limit in bytes) | limit 19:16 = 0');
    a.dataC(1, [0], 'base 31:24 (patched)');
    a.label(kgdt_end);
    a.label(kgdtr, 'operand of lgdt');
    a.dataC(2, [kgdt_end.sub(kgdt).sub(1)], 'limit: size of the table - 1');
    a.dataC(4, [kgdt], 'linear base address');
  },
});

