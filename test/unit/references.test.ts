// Every reference in the generated course text can be followed: each file in
// build/asm/, build/lst/ and build/tsk.map is scanned for
//   - `<name>.asm` and `<component>/<module>.asm`: a file of build/asm/, or a
//     module or component of that name (unambiguous where it is read);
//   - `<label> (<module>.asm)` and `<label> in <module>.asm`: the label is
//     defined there;
//   - a name with an underscore in a comment (`proc_spawn`, `line_esc`): a
//     label, constant, structure or field, module or component of the build -
//     or a name from another project's source, cited as such nearby (QEMU's
//     serial_update_irq, Linux's time_after: "QEMU", "Linux", "xv6" or a .c/.h
//     file on that line or the two before, or on a line of the same file that
//     names it with one);
//   - `docs/design.md §N`: docs/design.md has a `## N.` section;
//   - `kernel/….ts`, `boot/….ts`, `toolchain/….ts`, `test/….ts` (with an
//     optional `:line`): the file exists (and has that line);
//   - any other `<path>.md`, and the links of build/asm/README.md: they exist;
//   - no unnamed "a later lesson": name the module.
// The same checks (but the one for names in comments) run over the sources
// (boot/, kernel/, toolchain/), README.md and docs/design.md.
// A failure names the file, the line and the reference that leads nowhere.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildResult, buildImage } from '../../toolchain/image.ts';
import { listFiles } from '../harness/files.ts';
import type { Module } from '../../toolchain/x86/asm.ts';

/** The name of a design file the project does not have (spelled in two parts so that searches for stray citations of it do not find this test). */
const OLD_DESIGN = ['DESIGN', 'md'].join('.');

const ROOT = path.resolve(import.meta.dirname, '../..');
let dir = '';
let build: BuildResult;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsk-refs-'));
  build = await buildImage({ outDir: dir });
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });


const designSections = (): Set<string> =>
  new Set([...readFileSync(path.join(ROOT, 'docs/design.md'), 'utf8').matchAll(/^## (\d+)\./gm)].map((m) => m[1]!));

const lineCount = new Map<string, number>();
function tsFileLines(rel: string): number | undefined {
  if (!lineCount.has(rel)) {
    const p = path.join(ROOT, rel);
    lineCount.set(rel, existsSync(p) ? readFileSync(p, 'utf8').split('\n').length : -1);
  }
  const n = lineCount.get(rel)!;
  return n < 0 ? undefined : n;
}

/** The dangling references in one generated file, as "file:line: reference - why". */
function danglingIn(file: string, text: string, ctx: {
  asmFiles: Set<string>;
  /** Components whose code this file is part of. */
  owners: readonly string[];
  modulesOf: ReadonlyMap<string, readonly Module[]>;
  labelsOf: (component: string, module: Module | null) => Set<string>;
  sections: Set<string>;
  /** Every name the build defines (symbols, constants, structures and fields, modules, components). */
  names: Set<string>;
  /** The folder that relative links and .md names are resolved against (besides the project root and docs/). */
  base: string;
}): string[] {
  const out: string[] = [];
  const allModules = [...new Set([...ctx.modulesOf.values()].flat())];
  const lines = text.split('\n');
  /** A `.asm` reference: the module it names, or null for a main file; or why it cannot be followed. */
  const resolveAsm = (ref: string): { component: string; module: Module | null } | string => {
    const r = ref.replace(/^build\/asm\//, '');
    if (ctx.asmFiles.has(r)) {
      const main = [...build.course.mains].find(([, p]) => p === r);
      if (main) return { component: main[0], module: null };
      const ch = build.course.chapters.find((c) => c.path === r || [...build.course.layouts.values()].some((l) => l.modules.includes(r)));
      return ch ? { component: ch.components[0]!, module: ch.module } : 'internal';
    }
    const parts = r.replace(/\.asm$/, '').split('/');
    if (parts.length === 2) {
      const [c, m] = parts as [string, string];
      if (!ctx.modulesOf.has(c)) return `no component '${c}' (components: ${[...ctx.modulesOf.keys()].slice(0, 3).join(', ')}, ...)`;
      const mod = ctx.modulesOf.get(c)!.find((x) => x.name === m);
      return mod ? { component: c, module: mod } : `component '${c}' has no module '${m}'`;
    }
    if (parts.length !== 1) return 'no such file in build/asm';
    const name = parts[0]!;
    if (ctx.modulesOf.has(name)) return { component: name, module: null };
    const own = ctx.owners.flatMap((c) => ctx.modulesOf.get(c)!.filter((m) => m.name === name).map((m) => ({ component: c, module: m })));
    if (own.length) return own[0]!;
    const any = allModules.filter((m) => m.name === name);
    if (any.length === 1) return { component: [...ctx.modulesOf].find(([, ms]) => ms.includes(any[0]!))![0], module: any[0]! };
    if (any.length > 1) return `ambiguous: ${any.length} modules are named '${name}' (name the component: <component>/${name}.asm)`;
    return 'no file, module or component of that name';
  };
  const foreign = /\b(?:QEMU|Linux|xv6)\b|\.[ch]\b/;
  const citedNames = new Set(lines.filter((l) => foreign.test(l)).flatMap((l) => [...l.matchAll(/\w+/g)].map((m) => m[0])));
  lines.forEach((line, i) => {
    const at = `${file}:${i + 1}`;
    const semi = line.indexOf(';');
    if (file.endsWith('.asm') && semi >= 0) {
      const near = lines.slice(Math.max(0, i - 2), i + 1).join('\n');
      for (const m of line.slice(semi).matchAll(/(?<![\w./-])([a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?![\w/-]|\.\w)/g)) {
        if (!ctx.names.has(m[1]!) && !foreign.test(near) && !citedNames.has(m[1]!)) out.push(`${at}: ${m[1]} - no label, constant, structure, module or component of that name`);
      }
    }
    for (const m of line.matchAll(/(?<![\w./<>-])((?:[\w-]+\/)*[\w-]+\.asm)\b/g)) {
      const r = resolveAsm(m[1]!);
      if (typeof r === 'string') out.push(`${at}: ${m[1]} - ${r}`);
    }
    for (const m of line.matchAll(/\b([A-Za-z_]\w*_\w*) (?:\(|in )((?:[\w-]+\/)*[\w-]+\.asm)\b/g)) {
      const r = resolveAsm(m[2]!);
      if (typeof r === 'string') continue; // reported above
      if (!ctx.labelsOf(r.component, r.module).has(m[1]!)) out.push(`${at}: ${m[1]} (${m[2]}) - ${m[2]} defines no '${m[1]}'`);
    }
    // `struc <name> in <file>.asm`, `struc <name>, in <file>.asm`, `struc <name> (<file>.asm)`: the structure is printed there
    for (const m of line.matchAll(/\bstruc ([A-Za-z_]\w*),? (?:\(|in )((?:[\w-]+\/)*[\w-]+\.asm)\b/g)) {
      const r = resolveAsm(m[2]!);
      if (typeof r === 'string') continue; // reported above
      const fields = [...ctx.labelsOf(r.component, r.module)].filter((n) => n.startsWith(`${m[1]}.`)); // NASM's struc defines <name>.<field>
      if (!fields.length) out.push(`${at}: struc ${m[1]} (${m[2]}) - ${m[2]} does not print struc ${m[1]}`);
    }
    for (const m of line.matchAll(/\b(?:a|the|in) later (?:lesson|chapter|part)s?\b/gi)) out.push(`${at}: "${m[0]}" - name it (the module or chapter, e.g. proc.asm)`);
    for (const m of line.matchAll(/DESIGN\.md/g)) out.push(`${at}: ${m[0]} - no such file (the design document is docs/design.md)`);
    for (const m of line.matchAll(/docs\/design\.md((?:[\s,/]*(?:and |or )?§\d+(?:\.\d+)*)*)/g)) {
      for (const s of m[1]!.matchAll(/§(\d+)/g)) if (!ctx.sections.has(s[1]!)) out.push(`${at}: docs/design.md §${s[1]} - docs/design.md has no section ${s[1]}`);
    }
    for (const m of line.matchAll(/(?<![\w/.-])((?:boot|kernel|toolchain|test)\/[\w./-]*\.ts)(?::(\d+))?/g)) {
      const n = tsFileLines(m[1]!);
      if (n === undefined) out.push(`${at}: ${m[1]} - no such file in the project`);
      else if (m[2] && Number(m[2]) > n) out.push(`${at}: ${m[1]}:${m[2]} - ${m[1]} has ${n} lines`);
    }
    for (const m of line.matchAll(/(?<![\w/.-])((?:[\w-]+\/)*[\w-]+\.md)\b/g)) {
      if (![ROOT, path.join(ROOT, 'docs'), path.join(dir, 'asm'), ctx.base].some((b) => existsSync(path.join(b, m[1]!)))) out.push(`${at}: ${m[1]} - no such file`);
    }
    if (file.endsWith('.md')) {
      for (const m of line.matchAll(/\]\(([^)#]+)\)/g)) {
        if (!/^[a-z]+:/.test(m[1]!) && !existsSync(path.join(ctx.base, path.dirname(file), m[1]!))) out.push(`${at}: link ${m[1]} - no such file`);
      }
    }
  });
  return out;
}

function allNames(): Set<string> {
  const names = new Set<string>();
  for (const c of build.plan.components) {
    names.add(c.def.name);
    for (const m of c.def.modules) names.add(m.name);
    for (const s of c.symbols.values()) for (const n of [s.name, ...s.name.split('.')]) names.add(n);
    for (const k of c.consts) names.add(k.name);
  }
  return names;
}

describe('references in the generated text', () => {
  it('every file, section and label the course text names exists', async () => {
    const comps = build.plan.components;
    const modulesOf = new Map(comps.map((c) => [c.def.name, c.def.modules]));
    const labelsOf = (component: string, module: Module | null) => {
      const c = comps.find((x) => x.def.name === component)!;
      const names = [...c.symbols.values()].filter((s) => module === null || s.file === module.file).map((s) => s.name);
      // a structure is referred to by its name (struc proc): its fields are symbols name.field
      return new Set([...names, ...names.filter((n) => n.includes('.')).map((n) => n.split('.')[0]!)]);
    };
    const asmFiles = new Set(await listFiles(path.join(dir, 'asm')));
    const owners = new Map<string, string[]>();
    for (const [name, l] of build.course.layouts) {
      for (const p of [l.main, ...l.modules]) if (p) owners.set(`asm/${p}`, [...(owners.get(`asm/${p}`) ?? []), name]);
    }
    const sections = designSections();
    const names = allNames();
    const problems: string[] = [];
    const files = (await listFiles(dir)).filter((f) => /^(asm|lst)\//.test(f) || f === 'tsk.map');
    expect(files.filter((f) => f.startsWith('asm/')).length).toBeGreaterThan(40);
    for (const f of files) {
      const text = await readFile(path.join(dir, f), 'utf8');
      problems.push(...danglingIn(f, text, { asmFiles, owners: owners.get(f) ?? [], modulesOf, labelsOf, sections, names, base: dir }));
    }
    expect(problems).toEqual([]);
  });

  it('the sources and docs cite only files, sections and labels that exist', async () => {
    const comps = build.plan.components;
    const sources = [
      'README.md', 'docs/design.md',
      ...(await Promise.all(['boot', 'kernel', 'toolchain'].map(async (d) => (await listFiles(path.join(ROOT, d))).map((f) => `${d}/${f}`)))).flat().filter((f) => f.endsWith('.ts')),
    ];
    expect(sources.length).toBeGreaterThan(40);
    const ctx = {
      asmFiles: new Set(await listFiles(path.join(dir, 'asm'))),
      modulesOf: new Map(comps.map((c) => [c.def.name, c.def.modules])),
      labelsOf: (c: string, m: Module | null) => new Set([...comps.find((x) => x.def.name === c)!.symbols.values()].filter((s) => m === null || s.file === m.file).map((s) => s.name)),
      sections: designSections(), names: allNames(), base: ROOT,
    };
    // A module's source is read as part of the components that link it (its gdt.asm is its own component's).
    const ownersOf = (f: string) => comps.filter((c) => c.def.modules.some((m) => m.file === f)).map((c) => c.def.name);
    const problems = sources.flatMap((f) => danglingIn(f, readFileSync(path.join(ROOT, f), 'utf8'), { ...ctx, owners: ownersOf(f) }));
    expect(problems).toEqual([]);
  });

  it('every reserved (bss) block is used: a documented variable nothing reads or writes misleads the reader', async () => {
    const texts = await Promise.all((await listFiles(path.join(dir, 'asm'))).filter((f) => f.endsWith('.asm')).map((f) => readFile(path.join(dir, 'asm', f), 'utf8')));
    const code = texts.flatMap((t) => t.split('\n')).map((l) => l.split(';')[0]!);
    const reserved = code.flatMap((l) => [...l.matchAll(/^(\w+) equ bss_start\b/g)].map((m) => m[1]!));
    expect(reserved.length).toBeGreaterThan(20);
    const unused = reserved.filter((n) => !code.some((l) => !l.startsWith(`${n} equ `) && new RegExp(`\\b${n}\\b`).test(l)));
    expect(unused).toEqual([]);
  });

  it('the scanner finds each kind of dangling reference (so the test above can fail)', () => {
    const comps = build.plan.components;
    const ctx = {
      asmFiles: new Set(['3-kernel.asm']), owners: ['kernel'], modulesOf: new Map(comps.map((c) => [c.def.name, c.def.modules])),
      labelsOf: (c: string, m: Module | null) => new Set([...comps.find((x) => x.def.name === c)!.symbols.values()].filter((s) => m === null || s.file === m.file).map((s) => s.name)),
      sections: designSections(), names: allNames(), base: dir,
    };
    const text = [
      '; the trap frame (trapframe.asm)', '; its own GDT (boot/gdt.asm)', '; see docs/design.md §4 and §9', `; ${OLD_DESIGN} §6`,
      '; isr_common (trap.asm) calls it', '; from kernel/nothing.ts', '; kernel/entry.ts:99999', '; see notes.md', '; builds one in a later lesson.',
      '; then calls proc_spawnn', '; one entry per program (struc prog, in proc.asm)', '; fine: proc_spawn, proc.state, trapframe_size, fault_cli, uart_rx, KERNEL_LBA',
      '; fine: isr_common (isr.asm), stage2/gdt.asm, gdt.asm, pmode.asm, kernel/entry.ts:1, docs/design.md §4, struc prog in kernel.asm', '; fine: QEMU calls serial_update_irq',
    ].join('\n');
    expect(danglingIn('asm/x.asm', text, ctx)).toEqual([
      'asm/x.asm:1: trapframe.asm - no file, module or component of that name',
      'asm/x.asm:2: boot/gdt.asm - no component \'boot\' (components: bootsector, stage2, kernel, ...)',
      'asm/x.asm:3: docs/design.md §9 - docs/design.md has no section 9',
      `asm/x.asm:4: ${OLD_DESIGN} - no such file (the design document is docs/design.md)`,
      `asm/x.asm:4: ${OLD_DESIGN} - no such file`,
      'asm/x.asm:5: isr_common (trap.asm) - trap.asm defines no \'isr_common\'',
      'asm/x.asm:6: kernel/nothing.ts - no such file in the project',
      `asm/x.asm:7: kernel/entry.ts:99999 - kernel/entry.ts has ${tsFileLines('kernel/entry.ts')} lines`,
      'asm/x.asm:8: notes.md - no such file',
      'asm/x.asm:9: "a later lesson" - name it (the module or chapter, e.g. proc.asm)',
      'asm/x.asm:10: proc_spawnn - no label, constant, structure, module or component of that name',
      'asm/x.asm:11: struc prog (proc.asm) - proc.asm does not print struc prog',
    ]);
  });
});
