// The generated course text tells the truth: the facts it states, the manual
// sections it cites, and the source lines its listings name.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../toolchain/image.ts';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { assemble } from '../../toolchain/x86/assemble.ts';
import { listing } from '../../toolchain/x86/nasm.ts';
import { L } from '../../toolchain/x86/operands.ts';
import { say } from '../../kernel/lib/print.ts';

let dir = '';
const texts = new Map<string, string>();
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsk-text-'));
  await buildImage({ outDir: dir });
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (p.endsWith('.asm')) texts.set(path.relative(path.join(dir, 'asm'), p), await readFile(p, 'utf8'));
    }
  };
  await walk(path.join(dir, 'asm'));
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

/** The generated text of a module or component by name, wherever the reading order put it (3-kernel/05-isr.asm). */
function asm(name: string): string | undefined {
  const keys = [...texts.keys()].filter((k) => new RegExp(`(^|/)(\\d+-)?${name}\\.asm$`).test(k));
  const main = keys.filter((k) => !k.includes('/')); // a component's main file (1-bootsector.asm) over its module of the same name
  const pick = keys.length === 1 ? keys : main;
  return pick.length === 1 ? texts.get(pick[0]!) : undefined;
}

/**
 * Intel SDM Vol. 3A, Order Number 253668-060US (September 2016): the section
 * numbers and titles the generated text may cite.  (Newer editions insert
 * chapters, so e.g. "Switching to Protected Mode" moves from §9.9.1 to §10.9.1.)
 */
const SDM_3A_2016: Record<string, string> = {
  '2.5': 'Control Registers',
  '3.4.2': 'Segment Selectors',
  '3.4.5': 'Segment Descriptors',
  '3.5.1': 'Segment Descriptor Tables',
  '4.3': '32-Bit Paging',
  '4.6': 'Access Rights',
  '4.7': 'Page-Fault Exceptions',
  '6.2': 'Exception and Interrupt Vectors',
  '6.3': 'Sources of Interrupts',
  '6.4': 'Sources of Exceptions',
  '6.10': 'Interrupt Descriptor Table',
  '6.11': 'IDT Descriptors',
  '6.12': 'Exception and Interrupt Handling',
  '6.12.1': 'Exception- or Interrupt-Handler Procedures',
  '6.12.1.1': 'Protection of Exception- and Interrupt-Handler Procedures',
  '6.13': 'Error Code',
  '6.15': 'Exception and Interrupt Reference',
  '7.2.1': 'Task-State Segment (TSS)',
  '7.2.2': 'TSS Descriptor',
  '8.1.2.2': 'Software Controlled Bus Locking',
  '8.2.2': 'Memory Ordering in P6 and More Recent Processor Families',
  '9.9.1': 'Switching to Protected Mode',
  '20.1.4': 'Interrupt and Exception Handling',
  '22.33.1': 'Segment Wraparound',
};

describe('generated text: facts', () => {
  it('every Intel SDM section it cites exists in the edition it names, under the title it gives', () => {
    const bad: string[] = [];
    let cited = 0;
    for (const [file, text] of texts) {
      for (const line of text.split('\n')) {
        if (!line.includes('SDM')) continue;
        for (const m of line.matchAll(/§(\d+(?:\.\d+)*)(?:\s+"([^"]+)")?/g)) {
          cited++;
          const title = SDM_3A_2016[m[1]!];
          if (!title) bad.push(`${file}: §${m[1]} is not a section this test knows in 253668-060US`);
          else if (m[2] !== undefined && m[2] !== title) bad.push(`${file}: §${m[1]} is "${title}", not "${m[2]}"`);
        }
      }
    }
    expect(cited).toBeGreaterThan(20);
    expect([...new Set(bad)]).toEqual([]);
  });

  it('a module that cites the SDM names the edition whose numbers it uses', () => {
    for (const [file, text] of texts) {
      if (/Intel SDM Vol\. 3A §/.test(text)) expect(text, file).toContain('Order Number 253668-060US, September 2016');
    }
  });

  it('idt states the gate DPL check the right way round (CPL <= DPL: DPL is the least privileged ring allowed)', () => {
    const idt = asm('idt')!;
    expect(idt).not.toMatch(/most privileged level a software "int n" must be at/);
    expect(idt).toMatch(/CPL <= DPL, so the DPL is the\s*\n;\s+least privileged level/);
  });

  it('syscall says when interrupts are on: off in system calls and handlers, on in the kernel task', () => {
    const sys = asm('syscall')!;
    expect(sys).not.toMatch(/whole kernel runs with interrupts off/);
    expect(sys).toMatch(/system call runs with IF = 0/);
    expect(sys).toMatch(/runs with IF = 1/);
  });
});

describe('listings name the line that asked for an instruction', () => {
  it('an instruction emitted through say() is attributed to the caller, not to kernel/lib/print.ts', () => {
    const line = Number(new Error().stack!.split('\n')[1]!.match(/:(\d+):\d+\)?$/)![1]) + 2;
    const mod = defineModule({ name: 'h', title: 'h', about: 'h', emit: (a) => {
      say(a, L('msg')); // the line the listing must name
      a.label('serial_puts'); a.ret();
      a.label('msg'); a.db('hi', 0);
    } });
    const lst = listing(assemble({ name: 'h', title: 'h', about: 'h', bits: 32, origin: 0x1000, modules: [mod] }));
    const rows = lst.split('\n').filter((l) => /mov eax, msg|call serial_puts/.test(l));
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r).not.toContain('kernel/lib/print.ts');
      expect(r.trimEnd().endsWith(`test/unit/course-text.test.ts:${line}`), r).toBe(true);
    }
  });

  it('no row of the kernel listing points into kernel/lib/print.ts', async () => {
    const lst = await readFile(path.join(dir, 'lst', 'kernel.lst'), 'utf8');
    expect(lst).toContain('call serial_puts');
    expect(lst).not.toContain('kernel/lib/print.ts');
  });
});

describe('numbers read as the reader thinks of them', () => {
  it('quantities print in decimal, masks and addresses in hex', () => {
    const pit = asm('pit')!;
    expect(pit).toMatch(/^HZ_MAX equ 1000 /m);
    expect(pit).toMatch(/^    add eax, 999 /m);
    expect(pit).toMatch(/^PIT_CMD equ 0x43 /m);
    expect(asm('serial')!).toMatch(/^    mov ebx, 10 +; base 10$/m);
    expect(asm('idt')!).toMatch(/^IDT_ENTRIES equ 256 /m);
    expect(asm('errno') ?? [...texts.values()].join('\n')).toMatch(/^EINVAL equ 22 /m);
    expect(asm('bootsector')!).toMatch(/^KERNEL_SECTORS equ \d+ /m);
  });

  it('dec() and constant({ radix: 10 }) choose decimal; bare numbers of 10 and more print in hex', async () => {
    const { constant, dec, eax } = await import('../../toolchain/x86/operands.ts');
    const { emitComponent } = await import('../../toolchain/x86/nasm.ts');
    const QTY = constant('TEST_RADIX_QTY', 1000, 'a quantity', { radix: 10 });
    const MASK = constant('TEST_RADIX_MASK', 1000, 'a mask');
    const mod = defineModule({ name: 'r', title: 'r', about: 'r', emit: (a) => {
      a.label('r'); a.add(eax, dec(999)); a.add(eax, 999); a.mov(eax, QTY); a.mov(eax, MASK);
    } });
    const r = assemble({ name: 'r', title: 'r', about: 'r', bits: 32, origin: 0, modules: [mod] });
    const text = emitComponent(r).map((f) => f.text).join('\n');
    expect(text).toMatch(/^    add eax, 999$/m);
    expect(text).toMatch(/^    add eax, 0x3E7$/m);
    expect(text).toMatch(/^TEST_RADIX_QTY equ 1000 /m);
    expect(text).toMatch(/^TEST_RADIX_MASK equ 0x3E8 /m);
    expect(Buffer.from(r.bytes).toString('hex')).toBe('05e703000005e7030000b8e8030000b8e8030000');
  });

  it('no bare magic numbers where the kernel has a name for them', () => {
    const all = [...texts].filter(([f]) => f.startsWith('3-kernel')).map(([, t]) => t).join('\n');
    expect(all).not.toMatch(/kernel_stack \+ (16384|0x4000)/);
    expect(all.match(/kernel_stack \+ KERNEL_STACK_SIZE/g)).toHaveLength(3);
    expect(all.match(/^KERNEL_STACK_SIZE equ 16384 /gm)).toHaveLength(1);
    expect(asm('spawn')!).toMatch(/^    add ecx, KSTACK_SIZE /m);
    expect(asm('proc')!).toMatch(/^proc_table equ bss_start \+ 0x[0-9A-F]+ +; MAX_PROCS \* proc_size = 512 bytes/m);
    expect(asm('vm')!).toMatch(/^    and esi, PAGE_MASK /m);
    expect(asm('vm')!).toMatch(/^    and edx, PT_ENTRIES - 1 /m);
    expect(asm('paging')!).toMatch(/^    cmp ecx, PT_ENTRIES /m);
    const sys = asm('syscall')!;
    const read = sys.slice(sys.indexOf('sys_read:'), sys.indexOf('.done:', sys.indexOf('sys_read:')));
    expect(read).toMatch(/cmp al, ASCII_CR/);
    expect(read).not.toMatch(/cmp al, 0x[AD]\b/);
    const ulib = [...texts].find(([f]) => f.endsWith('ulib.asm'))![1];
    expect(ulib).toMatch(/^    int VEC_SYSCALL/m);
    expect(ulib).not.toMatch(/^    int 0x80/m);
  });

  it('a bss size may be a constant expression; a label in it is an error naming the reservation', async () => {
    const { constant } = await import('../../toolchain/x86/operands.ts');
    const N = constant('TEST_BSS_N', 3, 'entries');
    const ok = defineModule({ name: 'b', title: 'b', about: 'b', emit: (a) => { a.label('b'); a.ret(); a.bss('tbl', N.mul(8), 4); a.bss('after', 4); } });
    const r = assemble({ name: 'b', title: 'b', about: 'b', bits: 32, origin: 0x1000, modules: [ok] });
    expect(r.symbols.get('tbl')!.size).toBe(24);
    expect(r.symbols.get('after')!.value - r.symbols.get('tbl')!.value).toBe(24);
    const { L } = await import('../../toolchain/x86/operands.ts');
    const bad = defineModule({ name: 'c', title: 'c', about: 'c', emit: (a) => { a.label('c'); a.ret(); a.bss('tbl', L('c').add(4), 4); } });
    expect(() => assemble({ name: 'c', title: 'c', about: 'c', bits: 32, origin: 0x1000, modules: [bad] })).toThrow(/bss 'tbl': 'c' is a label/);
  });

  it('every scan over the process table is forEachProc\'s (kernel/proc/iter.ts), marked as such; only the scheduler\'s wrapping round robin is written out', () => {
    const kernel = [...texts].filter(([f]) => f.startsWith('3-kernel')).map(([, t]) => t).join('\n');
    const marks = kernel.match(/^; for each process-table entry \(E[A-Z]{2} = entry;.*\)$/gm) ?? [];
    const loops = kernel.match(/^    cmp e[a-z]{2}, proc_table_end\b/gm) ?? [];
    expect(marks).toHaveLength(6); // proc_find, proc_spawn, proc_free, proc_interrupt, proc_ps, uart_wake_reader
    expect(loops).toHaveLength(marks.length + 1);
    expect(asm('sched')!).toMatch(/round-robin scan, written out rather than with forEachProc/);
  });
});

describe('generated bulk: mechanical stubs are printed once, as their rule', () => {
  it('the 256 ISR stubs, the ISR table and the 256 shell int stubs are %rep loops; the kernel text shrinks by over 1,700 lines', () => {
    const isr = asm('isr')!;
    const shell = asm('cpu_cmds')!; // the int command's stubs live with the command (kernel/cpu/commands.ts)
    expect(isr.match(/^%rep 256$/gm)).toHaveLength(2);
    expect(isr).toMatch(/^isr_%\[n\]:$/m);
    expect(isr).toMatch(/^%if !\(n == 8 \|\| \(n >= 10 && n <= 14\) \|\| n == 17 \|\| n == 21 \|\| \(n >= 29 && n <= 30\)\)$/m);
    expect(isr).not.toMatch(/^isr_\d+:/m);
    expect(shell.match(/^%rep 256$/gm)).toHaveLength(1);
    expect(shell).not.toMatch(/^    int 0x/m);
    const kernelLines = [...texts].filter(([f]) => f === 'kernel.asm' || f.startsWith('kernel/'))
      .reduce((n, [, t]) => n + t.split('\n').length, 0);
    expect(kernelLines).toBeLessThan(7404 - 1700); // 7404 lines before the stubs became loops
  });

  it('the listing still shows every stub at its address', async () => {
    const lst = await readFile(path.join(dir, 'lst', 'kernel.lst'), 'utf8');
    for (const v of [0, 8, 14, 128, 255]) expect(lst).toMatch(new RegExp(`^[0-9a-f]{8} +isr_${v}:`, 'm'));
    const stubs = lst.slice(lst.search(/^[0-9a-f]{8} +int_stubs:/m));
    for (let v = 0; v < 256; v += 51) expect(stubs).toMatch(new RegExp(`^[0-9a-f]{8}  cd ${v.toString(16).padStart(2, '0')} +int ${v < 10 ? v : `0x${v.toString(16).toUpperCase()}`}\\b`, 'm'));
  });

  it('a.rep: the encoder expands the body, NASM prints the loop, and both give the same bytes', async () => {
    const { execFileSync } = await import('node:child_process');
    const { writeFile } = await import('node:fs/promises');
    const { emitComponent } = await import('../../toolchain/x86/nasm.ts');
    const { L } = await import('../../toolchain/x86/operands.ts');
    const mod = defineModule({ name: 'rp', title: 'rp', about: 'rp', emit: (a) => {
      a.label('stub_common'); a.ret();
      a.rep({ count: 200, var: 'n', rule: 'stub_n: push n (imm8 below 128, imm32 from 128), jump back', nasm: ['stub_%[n]:', '    push n', '    jmp stub_common'] },
        (r, i) => { r.label(`stub_${i}`); r.push(i); r.jmp(L('stub_common')); });
      a.label('table');
      a.rep({ count: 200, var: 'n', rule: 'table[n] = stub_n', nasm: ['    dd stub_%[n]'] }, (r, i) => r.dd(L(`stub_${i}`)));
    } });
    const r = assemble({ name: 'rp', title: 'rp', about: 'rp', bits: 32, origin: 0x1000, modules: [mod] });
    const files = emitComponent(r);
    expect(files).toHaveLength(1);
    expect(files[0]!.text.match(/^%rep 200$/gm)).toHaveLength(2);
    await writeFile(path.join(dir, 'rp.asm'), files[0]!.text);
    execFileSync('nasm', ['-f', 'bin', 'rp.asm', '-o', 'rp.bin'], { cwd: dir, stdio: 'pipe' });
    expect((await readFile(path.join(dir, 'rp.bin'))).equals(Buffer.from(r.bytes))).toBe(true);
    expect(r.symbols.get('stub_199')!.value).toBeGreaterThan(r.symbols.get('stub_0')!.value);
    const lst = listing(r);
    expect(lst.match(/^[0-9a-f]{8} +stub_\d+:/gm)).toHaveLength(200);
  });

  it('a.rep rejects a bad loop variable, an empty template and a count below 1', () => {
    const run = (emit: Parameters<typeof defineModule>[0]['emit']) => assemble({ name: 'x', title: 'x', about: 'x', bits: 32, origin: 0, modules: [defineModule({ name: 'x', title: 'x', about: 'x', emit })] });
    expect(() => run((a) => a.rep({ count: 2, var: '1n', rule: 'r', nasm: ['nop'] }, (r) => r.nop()))).toThrow(/rep: '1n' is not a NASM identifier/);
    expect(() => run((a) => a.rep({ count: 2, var: 'n', rule: 'r', nasm: [] }, (r) => r.nop()))).toThrow(/rep: the NASM template is empty/);
    expect(() => run((a) => a.rep({ count: 0, var: 'n', rule: 'r', nasm: ['nop'] }, (r) => r.nop()))).toThrow(/rep: count 0 is not a positive integer/);
  });
});

describe('numbers: shift counts and user-program quantities', () => {
  it('a shift count prints in decimal; system-call lengths and durations in the syscalls program too', () => {
    const all = [...texts].filter(([f]) => f.startsWith('3-kernel')).map(([, t]) => t).join('\n');
    expect(all).toMatch(/^    shl edx, 22 /m);
    expect(all).toMatch(/^    shr eax, 10 /m);
    expect(all).not.toMatch(/^    (shl|shr|sar|rol|ror) \w+, 0x/m);
    const sc = asm('syscalls')!;
    expect(sc).toMatch(/^    mov ebx, 60001$/m);
    expect(sc).toMatch(/^    mov edx, 4097$/m);
    expect(sc).toMatch(/^    mov ecx, 0x500000$/m);
    const fuzz = asm('fuzz')!;
    expect(fuzz).toMatch(/^    cmp eax, -EINVAL$/m);
    expect(fuzz).not.toMatch(/cmp eax, -0x/);
  });
});

describe('the main file\'s constants', () => {
  it('are grouped by the file that defines them, each group in its source order', () => {
    const kernel = asm('kernel')!;
    const block = kernel.slice(kernel.indexOf('; from kernel/proc/table.ts:'));
    const lines = block.split('\n').slice(1, block.split('\n').findIndex((l, i) => i > 0 && l.startsWith('; from ')));
    const names = lines.map((l) => /^(\w+) equ|^struc (\w+)/.exec(l)).filter((m) => m).map((m) => m![1] ?? m![2]);
    expect(names).toEqual(['proc', 'MAX_PROCS', 'PS_FREE', 'PS_RUNNABLE', 'PS_SLEEPING', 'PS_WAIT_INPUT', 'PS_WAIT_EXIT', 'prog']);
    // every group is headed by a file of the project, and a file heads one group only
    const heads = [...kernel.matchAll(/^; from (\S+):$/gm)].map((m) => m[1]!);
    expect(new Set(heads).size).toBe(heads.length);
    for (const h of heads) expect(h).toMatch(/^(boot|kernel)\/[\w/]+\.ts$/);
  });
});
