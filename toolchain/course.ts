// The course's reading order, defined once: the order in which build/asm/ is
// numbered, its generated index (build/asm/README.md) lists the chapters, and
// the README points a reader to start.  Boot sector -> stage 2 -> the kernel
// in the order kmain initialises it -> processes, system calls and ring 3 ->
// the user library -> the user programs.
//
// COURSE is plain data: parts (one numbered folder each in build/asm/) of
// chapters (one module each, or one whole user program).  Titles come from
// the modules themselves (defineModule's `title`); a chapter adds one line on
// what it teaches.  planCourse checks the list against what the build
// assembled - every module of every component appears exactly once, nothing
// is listed that the build does not have, and a component's chapters follow
// its link order (so the numbered files are %included in numeric order) - and
// says where each file goes:
//
//   build/asm/README.md                 the index: parts and chapters in order
//   build/asm/1-bootsector.asm          main file of a component (bits, org, constants, %include lines)
//   build/asm/1-bootsector/2-serial16.asm   one chapter: one module (shared ones too: stage 2 includes it)
//   build/asm/4-user/01-ulib.asm        the user library, included by every user program
//   build/asm/4-user/02-hello.asm       a user program: main file with its module inline
//
// A module linked into several components is written once, where its chapter
// is, when its text is the same in each (today: ulib and serial16).  If the
// texts differ (a module whose constants or reserved memory depend on the
// component), the text most components share keeps that path and each other
// text gets its own file next to it (`<nn>-<module>.<component>.asm`).

import type { Module } from './x86/asm.ts';
import type { Assembled } from './x86/assemble.ts';
import { type AsmFile, type EmitLayout, emitComponent, hex, moduleBodies } from './x86/nasm.ts';

interface ChapterText {
  /** What the reader learns from it, in one line. */
  readonly teaches: string;
  /** Starts a section of the part (a heading in the index). */
  readonly section?: string;
}

/**
 * A chapter is one module of the part's component (or a module shared by the
 * part's programs): one file; or one whole user program (a component): one
 * file, its own module inline and its shared modules %included.
 */
export type Chapter =
  | (ChapterText & { readonly module: string; readonly program?: undefined })
  | (ChapterText & { readonly program: string; readonly module?: undefined });

export interface Part {
  /** Folder (and, with a component, main file) name in build/asm/, after its number. */
  readonly folder: string;
  /** The component this part reads module by module; absent for the user programs. */
  readonly component?: string;
  readonly title: string;
  /** A paragraph for the index: where this part runs and what it hands to the next. */
  /** May name another chapter's file as {chapter:<module>}: the index prints its numbered path, which moves as chapters are added. */
  readonly intro: string;
  readonly chapters: readonly Chapter[];
}

export const COURSE: readonly Part[] = [
  {
    folder: 'bootsector', component: 'bootsector', title: 'The boot sector',
    intro: 'The BIOS loads the first 512 bytes of the disk to 0x7C00 and jumps to them in 16-bit real mode. They must load everything else.',
    chapters: [
      { module: 'bootsector', teaches: 'what the BIOS guarantees, real-mode segments, int 13h disk reads (LBA and CHS), loading stage 2 and the kernel' },
      { module: 'serial16', teaches: 'programming a 16550 UART by polling: the first output, before any interrupt exists (stage 2 includes it too)' },
      { module: 'signature', teaches: 'the 0x55 0xAA signature the BIOS checks' },
    ],
  },
  {
    folder: 'stage2', component: 'stage2', title: 'Stage 2: from real mode to protected mode',
    intro: 'Loaded at 0x7E00 with room to spare: the interrupt vector table, the A20 gate, the BIOS memory map, the GDT and the switch to 32-bit protected mode.',
    chapters: [
      { module: 'stage2', teaches: 'the order of the steps from real mode to protected mode' },
      { module: 'ivt', teaches: 'the real-mode interrupt vector table: install a handler and raise it with int' },
      { module: 'a20', teaches: 'why address line 20 is gated and three ways to open it' },
      { module: 'e820', teaches: 'asking the BIOS for the memory map (int 15h E820h) while real mode still allows it' },
      { module: 'gdt', teaches: 'segment descriptors and selectors: flat code and data segments for ring 0 and ring 3' },
      { module: 'pmode', teaches: 'setting CR0.PE and the far jump that enters 32-bit code' },
    ],
  },
  {
    folder: 'kernel', component: 'kernel', title: 'The kernel',
    intro: 'Loaded at 0x10000, entered in 32-bit protected mode at kernel_entry. Its modules are linked, and read, in the order kmain initialises them.',
    chapters: [
      { section: 'In the order kmain initialises it', module: 'entry', teaches: 'segment registers, the stack and the bss; kmain as the table of contents of the boot' },
      { module: 'serial', teaches: 'the kernel console: whole lines from interrupt handlers, the kernel task and user programs' },
      { module: 'gdt', teaches: 'the kernel\'s own GDT and the task-state segment that gives ring 3 a kernel stack' },
      { module: 'idt', teaches: 'interrupt gates: type, DPL and the handler address' },
      { module: 'isr', teaches: 'one entry stub per vector and the common path that builds the trap frame' },
      { module: 'trap', teaches: 'dispatching every interrupt and exception through one table of handlers' },
      { module: 'exceptions', teaches: 'faults and traps, the register dump, and the fault policy' },
      { module: 'qemu_exit', teaches: 'how the kernel stops the machine (poweroff, panic) so that a test can see it' },
      { module: 'paging', teaches: 'two-level 32-bit paging: the kernel identity map, page 0 left unmapped' },
      { module: 'fw_cfg', teaches: 'reading the boot cmdline and the RAM size from QEMU\'s fw_cfg device' },
      { module: 'string', teaches: 'the string helpers the cmdline parser and the shell use' },
      { module: 'cmdline', teaches: 'parsing key=value words, reporting what is unknown instead of ignoring it' },
      { module: 'e820k', teaches: 'reading the BIOS memory map stage 2 left in low memory' },
      { module: 'pmm', teaches: 'a physical page allocator: a bitmap over usable RAM, and catching double and bad frees' },
      { module: 'pic', teaches: 'remapping the two 8259A interrupt controllers, masking and acknowledging IRQs, spurious IRQs' },
      { module: 'pit', teaches: 'the 8254 timer: IRQ0 ticks and sleeping' },
      { module: 'uart_rx', teaches: 'interrupt-driven serial input: a ring buffer and flow control that loses no byte' },
      { section: 'Devices on the PCI bus', module: 'pci_config', teaches: 'configuration space through ports 0xCF8/0xCFC, and why a word write must not be a dword read-modify-write' },
      { module: 'pci', teaches: 'enumerating bus 0: multi-function devices, sizing BARs with decoding off, interrupt line and pin, a capped capability walk' },
      { section: 'Virtio: paravirtual devices', module: 'virtio', teaches: 'the legacy virtio PCI transport: reset, status handshake, feature negotiation, queue setup, notify, and a shared level-triggered INTx line' },
      { module: 'vqueue', teaches: 'split virtqueues: descriptor chains, the available and used rings, free-running 16-bit indexes and the barriers between them' },
      { section: 'Disks', module: 'disk', teaches: 'the block layer: one table of disks, one checked entry point, whichever driver answers' },
      { module: 'virtio_blk', teaches: 'a paravirtual disk: requests as three-descriptor chains, several in flight, completion by interrupt, the waiting process blocked meanwhile' },
      { module: 'ata', teaches: 'the fully emulated IDE disk: polled ATA PIO, IDENTIFY DEVICE, and one port access (one exit) per word' },
      { section: 'Files', module: 'ustar', teaches: 'the ustar header block: octal ASCII fields and a checksum anyone can recompute' },
      { module: 'tar', teaches: 'a tar archive as a file system: mounting it from virtio-blk, a bounded header walk that refuses damage, lookup by path and reads at any offset' },
      { section: 'Processes, system calls and ring 3', module: 'proc', teaches: 'the process table, the kernel task as entry 0, and checking that every process fits in RAM' },
      { module: 'vm', teaches: 'a page directory per process and checking user pointers against it' },
      { module: 'programs', teaches: 'the program table: user programs built into the kernel image' },
      { module: 'spawn', teaches: 'starting a process: its memory slot, a hand-built first trap frame, and iretd down to ring 3' },
      { module: 'sched', teaches: 'context switches, round robin, preemption on the timer tick and the idle loop' },
      { module: 'exit', teaches: 'how a process ends (exit, a fault, Ctrl-C, kill) and how the kernel waits for it' },
      { module: 'ps', teaches: 'printing the process table, and the idle time charged to nobody' },
      { module: 'syscall', teaches: 'the int 0x80 gate, the system-call table and argument checks' },
      { module: 'strace', teaches: 'tracing every system call and its result' },
      { section: 'The kernel task: test scenarios and the shell', module: 'scenarios', teaches: 'the built-in boot-test scenarios (cmdline test=)' },
      { module: 'shell', teaches: 'a serial shell: the prompt loop, dispatch, and a command table the subsystems fill' },
      { module: 'readline', teaches: 'line editing on a serial terminal: backspace, CR LF, skipping escape sequences, overlong and damaged lines' },
      { module: 'shell_args', teaches: 'parsing a number argument once for every command, with an error that repeats what was typed' },
      { module: 'dev_cmds', teaches: 'watching the devices work: timer ticks, the 8259A\'s registers, the receive ring' },
      { module: 'cpu_cmds', teaches: 'the IDT as the CPU holds it, and raising an interrupt vector by hand' },
      { module: 'proc_cmds', teaches: 'starting programs together or in the background, listing and killing processes' },
      { module: 'mem_cmds', teaches: 'the memory map and the allocator on a running machine, and a self-test of it' },
      { module: 'pci_cmds', teaches: 'lspci: the PCI functions found, their class, IDs and IRQ, and with -v their BARs and capabilities' },
      { module: 'blk_cmds', teaches: 'blk: listing disks, hex dumps of sectors, writing, flushing and checksumming them through the block layer' },
      { module: 'bench_cmds', teaches: 'bench disk: the same reads from an emulated IDE disk and a virtio-blk disk, timed, with the port I/O (guest exits) each needed' },
      { module: 'fs_cmds', teaches: 'ls, cat and stat: the tar disk from the shell, with an error line for every path that does not work' },
    ],
  },
  {
    folder: 'user', title: 'Ring 3: the user library and the user programs',
    intro: 'Each program is a component of its own, linked at USER_BASE and embedded in the kernel by its program table ({chapter:programs}); it talks to the kernel only through int 0x80.',
    chapters: [
      { section: 'The user library', module: 'ulib', teaches: 'system-call wrappers and number printing; every program includes it' },
      { section: 'The user programs', program: 'hello', teaches: 'the first ring-3 program: write a line, exit' },
      { program: 'syscalls', teaches: 'every system call with valid and invalid arguments, and the errors it gets back' },
      { program: 'fuzz', teaches: 'random system calls from an LFSR: the kernel must survive all of them' },
      { program: 'spin', teaches: 'a program that never yields: preemption by the timer' },
      { program: 'loop', teaches: 'a program that never ends: stopping it with Ctrl-C' },
      { section: 'Programs that must be killed', program: 'fault_cli', teaches: 'cli is refused in ring 3 (#GP)' },
      { program: 'fault_hlt', teaches: 'hlt is privileged (#GP)' },
      { program: 'fault_in', teaches: 'port input is denied to ring 3 (#GP)' },
      { program: 'fault_out', teaches: 'port output is denied to ring 3 (#GP)' },
      { program: 'fault_int', teaches: 'int with a gate of DPL 0 is refused (#GP)' },
      { program: 'fault_kread', teaches: 'reading kernel memory from ring 3 (#PF)' },
      { program: 'fault_kwrite', teaches: 'writing kernel memory from ring 3 (#PF)' },
      { program: 'fault_unmapped', teaches: 'touching an unmapped address (#PF)' },
      { program: 'fault_div0', teaches: 'a divide error in ring 3 kills only the program (#DE)' },
      { program: 'fault_ud', teaches: 'an invalid opcode in ring 3 (#UD)' },
      { section: 'A program and a disk', program: 'sectors', teaches: 'reading, writing and flushing disk sectors through blkread, blkwrite and blkflush, and the errors bad arguments get' },
    ],
  },
];

export class CourseError extends Error {}

/** One chapter as built: where its file is and what it holds. */
export interface PlacedChapter {
  readonly part: number;
  readonly chapter: Chapter;
  /** Path in build/asm/ of the chapter's file. */
  readonly path: string;
  readonly module: Module;
  /** The components whose code includes this chapter's module. */
  readonly components: readonly string[];
}

export interface CoursePlan {
  readonly parts: readonly Part[];
  /** Where each component's files go. */
  readonly layouts: ReadonlyMap<string, EmitLayout>;
  readonly chapters: readonly PlacedChapter[];
  /** The main file of each component (path in build/asm/). */
  readonly mains: ReadonlyMap<string, string>;
}

const num = (i: number, count: number) => String(i + 1).padStart(String(count).length, '0');
/**
 * Reading order of chapter paths: by the part's number, then the chapter's
 * number, whatever subfolder mirrors its source folder (3-kernel/cpu/03-gdt.asm
 * comes after 3-kernel/dev/02-serial.asm).  Numbers are zero-padded, so
 * comparing the text of the names without their subfolders is enough.
 */
const readingKey = (p: string) => p.replace(/^([^/]+\/)(?:[^/]+\/)*/, '$1');
const byPath = (x: string, y: string) => { const a = readingKey(x), b = readingKey(y); return a < b ? -1 : a > b ? 1 : 0; };

/**
 * The source subfolder of a module below its component's source root (the
 * folder of the component's first module: kernel/ for kernel/entry.ts), with
 * a trailing '/', or '' when the module sits in the root or outside it.
 */
function subfolder(c: Assembled, m: Module): string {
  const first = c.def.modules[0];
  if (!first) return '';
  const root = first.file.replace(/[^/]*$/, '');
  if (!m.file.startsWith(root)) return '';
  const rest = m.file.slice(root.length);
  const cut = rest.lastIndexOf('/');
  return cut < 0 ? '' : rest.slice(0, cut + 1);
}

/** Check the course against the assembled components and lay out build/asm/. Throws CourseError naming what is wrong. */
export function planCourse(components: readonly Assembled[], parts: readonly Part[] = COURSE): CoursePlan {
  const byName = new Map(components.map((c) => [c.def.name, c]));
  const users = new Map<Module, string[]>(); // module -> components that link it
  for (const c of components) for (const m of c.def.modules) users.set(m, [...(users.get(m) ?? []), c.def.name]);
  const mains = new Map<string, string>();
  const modulePath = new Map<Module, string>();
  const placed: PlacedChapter[] = [];
  const inline = new Map<string, Module>(); // program component -> its module written inline
  const where = (pi: number) => `toolchain/course.ts, part ${pi + 1} ('${parts[pi]!.folder}')`;

  const claimComponent = (name: string, pi: number, main: string) => {
    if (!byName.has(name)) throw new CourseError(`${where(pi)} names component '${name}', which the build does not have (components: ${[...byName.keys()].join(', ')})`);
    if (mains.has(name)) throw new CourseError(`${where(pi)}: component '${name}' appears twice in the reading order`);
    mains.set(name, main);
  };

  parts.forEach((part, pi) => {
    const dir = `${num(pi, parts.length)}-${part.folder}`;
    if (part.component) claimComponent(part.component, pi, `${dir}.asm`);
    // The components whose modules this part's module chapters may name.
    const scope = part.component ? [part.component] : part.chapters.flatMap((ch) => (ch.program ? [ch.program] : []));
    const seen = new Set<string>();
    part.chapters.forEach((ch, ci) => {
      const name = ch.module ?? ch.program;
      if (!name || (ch.module && ch.program)) throw new CourseError(`${where(pi)}, chapter ${ci + 1}: give exactly one of module or program`);
      if (seen.has(name)) throw new CourseError(`${where(pi)}: '${name}' appears twice`);
      seen.add(name);
      const file = `${num(ci, part.chapters.length)}-${name}.asm`;
      const path = `${dir}/${file}`;
      if (ch.program) {
        if (part.component) throw new CourseError(`${where(pi)}: program chapter '${name}' in a part that reads component '${part.component}'`);
        claimComponent(name, pi, path);
        return; // its module is placed below, once every shared module is known
      }
      const candidates = [...new Set(scope.flatMap((c) => byName.get(c)?.def.modules.filter((m) => m.name === name) ?? []))];
      if (candidates.length === 0) {
        throw new CourseError(`${where(pi)} names module '${name}', which ${scope.length === 1 ? `component '${scope[0]}' does not have` : 'none of its programs has'} (modules: ${[...new Set(scope.flatMap((c) => byName.get(c)?.def.modules.map((m) => m.name) ?? []))].join(', ')})`);
      }
      if (candidates.length > 1) throw new CourseError(`${where(pi)}: module name '${name}' is ambiguous (several different modules of that name)`);
      const m = candidates[0]!;
      if (modulePath.has(m)) throw new CourseError(`${where(pi)}: module '${name}' (${m.file}) appears twice in the reading order`);
      // The part's folder mirrors the component's source folders (kernel/cpu/gdt.ts -> 3-kernel/cpu/03-gdt.asm).
      const sub = part.component ? subfolder(byName.get(part.component)!, m) : '';
      const mpath = `${dir}/${sub}${file}`;
      modulePath.set(m, mpath);
      placed.push({ part: pi, chapter: ch, path: mpath, module: m, components: users.get(m) ?? [] });
    });
    // Program chapters: the program's own module (the one not placed by a module chapter) is written inline.
    part.chapters.forEach((ch) => {
      if (!ch.program) return;
      const c = byName.get(ch.program)!;
      const own = c.def.modules.filter((m) => !modulePath.has(m));
      if (own.length !== 1) {
        throw new CourseError(`toolchain/course.ts: program '${ch.program}' must have exactly one module of its own besides shared ones placed by module chapters (has: ${own.map((m) => m.name).join(', ') || 'none'})`);
      }
      inline.set(ch.program, own[0]!);
      placed.push({ part: pi, chapter: ch, path: mains.get(ch.program)!, module: own[0]!, components: [ch.program] });
    });
  });

  // Everything the build has is in the reading order.
  for (const c of components) {
    if (!mains.has(c.def.name)) throw new CourseError(`component '${c.def.name}' is not in the reading order (toolchain/course.ts): add a part or a program chapter for it`);
    for (const m of c.def.modules) {
      if (!modulePath.has(m) && inline.get(c.def.name) !== m) {
        throw new CourseError(`module '${m.name}' (${m.file}) of component '${c.def.name}' is not in the reading order (toolchain/course.ts): add a chapter for it`);
      }
    }
  }
  // A component's modules are read in its link order, so its numbered files are included in numeric order.
  for (const c of components) {
    const own = c.def.modules.filter((m) => modulePath.get(m)?.startsWith(mains.get(c.def.name)!.replace(/\.asm$/, '/')));
    const sorted = [...own].sort((x, y) => byPath(modulePath.get(x)!, modulePath.get(y)!));
    if (own.some((m, i) => m !== sorted[i])) {
      throw new CourseError(
        `toolchain/course.ts reads component '${c.def.name}' in the order ${sorted.map((m) => m.name).join(', ')}, but it is linked in the order ` +
        `${own.map((m) => m.name).join(', ')} (${c.def.name === 'kernel' ? 'kernel/index.ts' : 'its module list'}): keep the two in step`,
      );
    }
  }

  // Shared modules: one file when every component's text of it is the same, else one file per distinct text.
  const layouts = new Map<string, EmitLayout>();
  const bodies = new Map(components.map((c) => [c.def.name, moduleBodies(c, { main: '', modules: c.def.modules.map(() => '') })]));
  const variantPath = new Map<string, string>(); // `${component}\0${module path}` -> path of its variant
  const sharers = new Map<string, string[]>(); // variant path -> main files that include it
  for (const [m, path] of modulePath) {
    const groups = new Map<string, string[]>(); // body text -> components with that text
    for (const cname of users.get(m) ?? []) {
      const c = byName.get(cname)!;
      const text = bodies.get(cname)![c.def.modules.indexOf(m)]!.join('\n');
      groups.set(text, [...(groups.get(text) ?? []), cname]);
    }
    // The text most components share keeps the chapter's path; each other text is named after its first component.
    const ranked = [...groups.values()].sort((x, y) => y.length - x.length);
    ranked.forEach((names, gi) => {
      const p = gi === 0 ? path : path.replace(/\.asm$/, `.${names[0]}.asm`);
      for (const cname of names) variantPath.set(`${cname}\0${path}`, p);
      sharers.set(p, names.map((n) => mains.get(n)!));
    });
  }
  for (const c of components) {
    const name = c.def.name;
    const modules = c.def.modules.map((m) => {
      const p = modulePath.get(m);
      return p === undefined ? null : variantPath.get(`${name}\0${p}`)!;
    });
    const sharedBy = modules.map((p) => (p && sharers.get(p)!.length > 1 ? sharers.get(p)! : undefined));
    layouts.set(name, { main: mains.get(name)!, modules, sharedBy });
  }
  return { parts, layouts, chapters: placed, mains };
}

/** Every file of build/asm/: each component's files (a shared module once) and the index. */
export function emitCourse(components: readonly Assembled[], plan: CoursePlan, generatedBy: string): AsmFile[] {
  const files = new Map<string, string>();
  for (const c of components) {
    for (const f of emitComponent(c, generatedBy, plan.layouts.get(c.def.name)!)) {
      const prev = files.get(f.path);
      if (prev !== undefined && prev !== f.text) throw new CourseError(`internal: two different texts for build/asm/${f.path}`);
      files.set(f.path, f.text);
    }
  }
  files.set('README.md', courseIndex(components, plan));
  return [...files].map(([path, text]) => ({ path, text }));
}

/** build/asm/README.md: the parts and chapters in reading order, each linked to its file. */
export function courseIndex(components: readonly Assembled[], plan: CoursePlan): string {
  const byName = new Map(components.map((c) => [c.def.name, c]));
  const out = [
    '<!-- GENERATED FILE - do not edit. Generated by the tskernel toolchain from toolchain/course.ts (the reading order)',
    '     and the modules\' titles (toolchain/image.ts); regenerate with `npm run build`. -->',
    '# tskernel: the annotated source, in reading order',
    '',
    'Every byte of tskernel is written in TypeScript (`boot/`, `kernel/`) and printed here as annotated',
    'NASM source. Read the chapters in this order: each builds on the ones before it. Files are numbered',
    'in the same order. A component (the boot sector, stage 2, the kernel, each user program) is one',
    'main file - `bits`, `org`, its constants and structure layouts, and `%include` lines in link order -',
    'and NASM reassembles it to exactly the bytes in the image:',
    '',
    '```sh',
    `cd build/asm && nasm -f bin ${plan.mains.get('kernel') ?? '<main file>'} -o /tmp/kernel.bin && cmp /tmp/kernel.bin ../bin/kernel.bin`,
    '```',
    '',
    'Include paths are relative to this folder, so run NASM from here.',
  ];
  plan.parts.forEach((part, pi) => {
    const dir = `${num(pi, plan.parts.length)}-${part.folder}`;
    const intro = part.intro.replace(/\{chapter:([a-z0-9_-]+)\}/g, (_m, name: string) => {
      const ch = plan.chapters.find((c) => c.module.name === name && !c.chapter.program);
      if (!ch) throw new CourseError(`toolchain/course.ts, part ${pi + 1} ('${part.folder}'): its intro names {chapter:${name}}, which is not a chapter`);
      return ch.path;
    });
    out.push('', `## ${pi + 1}. ${part.title}`, '', intro);
    if (part.component) {
      const c = byName.get(part.component)!;
      out.push('', `Main file: [${plan.mains.get(part.component)}](${plan.mains.get(part.component)}) (${c.def.bits}-bit, org ${hex(c.def.origin)}; chapters in \`${dir}/\`).`);
    }
    let first = true;
    for (const pc of plan.chapters.filter((x) => x.part === pi).sort((x, y) => byPath(x.path, y.path))) {
      const ch = pc.chapter;
      if (ch.section) { out.push('', `### ${ch.section}`); first = true; }
      if (first) out.push('');
      first = false;
      const no = pc.path.replace(/^.*\//, '').replace(/-.*$/, '');
      const n = pc.components.length;
      const shared = n > 1 ? ` Shared: included by ${n <= 3 ? pc.components.map((x) => `\`${x}\``).join(' and ') : `all ${n} ${pc.part === plan.parts.length - 1 ? 'user programs' : 'components'}`}.` : '';
      out.push(`- **${pi + 1}.${no}** [${pc.module.title}](${pc.path}) - ${ch.teaches}.${shared}`);
    }
  });
  return out.join('\n') + '\n';
}
