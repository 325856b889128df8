// The reading order (toolchain/course.ts): it covers every module of every
// component exactly once and names nothing the build lacks; the kernel is
// linked in kmain's order; a shared module is written once; build/asm/README.md
// lists the chapters in order.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COURSE, CourseError, type Part, emitCourse, planCourse } from '../../toolchain/course.ts';
import { planImage } from '../../toolchain/image.ts';
import { kernelModules } from '../../kernel/index.ts';
import { type Module, defineModule } from '../../toolchain/x86/asm.ts';
import { assemble } from '../../toolchain/x86/assemble.ts';
import { eax, L } from '../../toolchain/x86/operands.ts';

const plan = planImage(kernelModules);
const components = plan.components;
const course = planCourse(components);

describe('the reading order', () => {
  it('has every module of every component exactly once, and only modules the build has', () => {
    const built = new Set<Module>(components.flatMap((c) => c.def.modules));
    const read = course.chapters.map((c) => c.module);
    expect(new Set(read).size, 'no module read twice').toBe(read.length);
    expect(new Set(read)).toEqual(built);
    expect([...course.mains.keys()].sort()).toEqual(components.map((c) => c.def.name).sort());
  });

  it('runs boot sector -> stage 2 -> kernel -> user library -> user programs', () => {
    const order = course.chapters.map((c) => `${c.components.length > 1 ? '*' : c.components[0]}/${c.module.name}`);
    expect(order.slice(0, 3)).toEqual(['bootsector/bootsector', '*/serial16', 'bootsector/signature']);
    expect(order.indexOf('stage2/pmode')).toBeLessThan(order.indexOf('kernel/entry'));
    expect(order.indexOf('kernel/shell')).toBeLessThan(order.indexOf('*/ulib'));
    expect(order.indexOf('*/ulib')).toBeLessThan(order.indexOf('hello/hello'));
  });

  it('the kernel is linked (and read) in the order kmain calls the *_init routines', () => {
    const k = components.find((c) => c.def.name === 'kernel')!;
    expect(k.def.modules[0]!.name).toBe('entry'); // the boot path jumps to the kernel's first byte
    const rows = k.rows.filter((r) => r.module === 0);
    const start = rows.findIndex((r) => r.item.k === 'label' && r.item.name === 'kmain');
    const body = rows.slice(start + 1);
    const end = body.findIndex((r) => r.item.k === 'label' && !r.item.name.startsWith('.'));
    const callees = body.slice(0, end).flatMap((r) => (r.item.k === 'ins' && (r.item.mn === 'call' || r.item.mn === 'jmp') ? [String((r.item.ops[0] as { tree?: { name?: string } }).tree?.name)] : []));
    const steps = callees.filter((n) => n.endsWith('_init'));
    expect(steps.length).toBeGreaterThanOrEqual(8);
    const fileIndex = (label: string) => k.def.modules.findIndex((m) => m.file === k.symbols.get(label)!.file);
    const linked = steps.map(fileIndex);
    expect(steps.map((s, i) => `${s}: module ${linked[i]}`)).toEqual(steps.map((s, i) => `${s}: module ${[...linked].sort((x, y) => x - y)[i]}`));
    // ...and the last step, the scenario or the shell, comes after all of them
    expect(fileIndex(callees[callees.length - 1]!)).toBeGreaterThan(Math.max(...linked));
  });

  it('build/asm is numbered in reading order, user programs in a folder of their own', () => {
    expect(course.mains.get('bootsector')).toBe('1-bootsector.asm');
    expect(course.mains.get('stage2')).toBe('2-stage2.asm');
    expect(course.mains.get('kernel')).toBe('3-kernel.asm');
    expect(course.mains.get('hello')).toMatch(/^4-user\/\d\d-hello\.asm$/);
    // Numbered in reading order: sorted by number, the subfolders (which mirror kernel/'s) set aside.
    const paths = course.chapters.map((c) => c.path);
    const numbered = paths.map((p) => p.replace(/^([^/]+\/)(?:[^/]+\/)*/, '$1'));
    expect([...numbered].sort()).toEqual(numbered);
    expect(course.chapters.find((c) => c.module.name === 'entry')!.path).toBe('3-kernel/01-entry.asm');
    // ...and each kernel module's file sits in the subfolder of its TypeScript file.
    for (const c of course.chapters.filter((x) => x.path.startsWith('3-kernel/'))) {
      const sub = c.module.file.replace(/^kernel\//, '').replace(/[^/]*$/, '');
      expect(c.path).toMatch(new RegExp(`^3-kernel/${sub}\\d\\d-${c.module.name}\\.asm$`));
    }
    expect(course.chapters.find((c) => c.module.name === 'sched')!.path).toMatch(/^3-kernel\/proc\/\d\d-sched\.asm$/);
  });

  it('a shared module is written once: ulib and serial16 each have one file, included by every user', () => {
    const files = emitCourse(components, course, 'test');
    const from = (ts: string) => files.filter((f) => f.text.slice(0, 200).includes(`from ${ts}`));
    expect(from('kernel/user/ulib.ts').map((f) => f.path)).toEqual(['4-user/01-ulib.asm']);
    expect(from('boot/serial16.ts').map((f) => f.path)).toEqual(['1-bootsector/2-serial16.asm']);
    for (const c of components) {
      const main = files.find((f) => f.path === course.mains.get(c.def.name))!.text;
      const includes = c.def.modules.map((m) => m.name).includes('ulib');
      expect(main.includes('%include "4-user/01-ulib.asm"'), c.def.name).toBe(includes);
    }
    expect(files.find((f) => f.path === '2-stage2.asm')!.text).toContain('%include "1-bootsector/2-serial16.asm"');
  });

  it('build/asm/README.md lists every chapter in order with its title and a link to its file', () => {
    const index = emitCourse(components, course, 'test').find((f) => f.path === 'README.md')!.text;
    expect(index.slice(0, 200)).toMatch(/GENERATED FILE - do not edit\. Generated by the tskernel toolchain from toolchain\/course\.ts/);
    let at = 0;
    for (const ch of course.chapters) {
      const link = `[${ch.module.title}](${ch.path})`;
      const i = index.indexOf(link, at);
      expect(i, link).toBeGreaterThan(at);
      expect(index.slice(i, index.indexOf('\n', i))).toContain(ch.chapter.teaches);
      at = i;
    }
  });

  it('build/asm/README.md names only files of build/asm/: the index is the reader\'s map, a module name is not a path', () => {
    const files = emitCourse(components, course, 'test');
    const paths = new Set(files.map((f) => f.path));
    const index = files.find((f) => f.path === 'README.md')!.text;
    const named = [...index.matchAll(/(?<![\w./<>-])((?:[\w-]+\/)*[\w-]+\.asm)\b/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(40);
    expect(named.filter((p) => !paths.has(p))).toEqual([]);
    // a part's intro names a chapter's file through {chapter:<module>}, resolved to its numbered path
    expect(index).toContain(`program table (${course.chapters.find((c) => c.module.name === 'programs')!.path})`);
    const broken = COURSE.map((p, i) => (i === COURSE.length - 1 ? { ...p, intro: 'see {chapter:nosuch}' } : p));
    expect(() => emitCourse(components, planCourse(components, broken), 'test')).toThrow(/names \{chapter:nosuch\}, which is not a chapter/);
  });
});

describe('the reading order refuses a list that does not match the build', () => {
  const without = (name: string): Part[] => COURSE.map((p) => ({ ...p, chapters: p.chapters.filter((c) => c.module !== name) }));
  it('a module missing from it', () => {
    expect(() => planCourse(components, without('pit'))).toThrow(CourseError);
    expect(() => planCourse(components, without('pit'))).toThrow(/module 'pit' \(kernel\/dev\/pit\.ts\) of component 'kernel' is not in the reading order/);
  });
  it('a module the build does not have', () => {
    const extra = COURSE.map((p) => (p.component === 'kernel' ? { ...p, chapters: [...p.chapters, { module: 'no_such_module', teaches: 'x' }] } : p));
    expect(() => planCourse(components, extra)).toThrow(/names module 'no_such_module', which component 'kernel' does not have/);
  });
  it('a module twice', () => {
    const twice = COURSE.map((p) => (p.component === 'kernel' ? { ...p, chapters: [...p.chapters, p.chapters[1]!] } : p));
    expect(() => planCourse(components, twice)).toThrow(/'serial' appears twice/);
  });
  it('a component missing from it', () => {
    const noHello = COURSE.map((p) => ({ ...p, chapters: p.chapters.filter((c) => c.program !== 'hello') }));
    expect(() => planCourse(components, noHello)).toThrow(/component 'hello' is not in the reading order/);
  });
  it('a kernel reading order other than its link order', () => {
    const swapped = COURSE.map((p) => {
      if (p.component !== 'kernel') return p;
      const ch = [...p.chapters];
      const i = ch.findIndex((c) => c.module === 'pic');
      [ch[i], ch[i + 1]] = [ch[i + 1]!, ch[i]!];
      return { ...p, chapters: ch };
    });
    expect(() => planCourse(components, swapped)).toThrow(/reads component 'kernel' in the order .*pit, pic.* but it is linked in the order .*pic, pit.*kernel\/index\.ts/);
  });
});

describe('a shared module whose text differs between components', () => {
  // `lib` reserves memory; in `a` the module before it reserves some too, so
  // lib's reservation sits at a different offset and its text differs.
  const lib = defineModule({ name: 'lib', title: 'lib', about: 'shared', emit: (a) => { a.label('lib_fn'); a.mov(eax, L('lib_buf')); a.ret(); a.bss('lib_buf', 4); } });
  const progA = defineModule({ name: 'a', title: 'a', about: 'a', emit: (a) => { a.label('_start'); a.call(L('lib_fn')); a.ret(); a.bss('a_buf', 32); } });
  const progB = defineModule({ name: 'b', title: 'b', about: 'b', emit: (a) => { a.label('_start'); a.call(L('lib_fn')); a.ret(); } });
  const progC = defineModule({ name: 'c', title: 'c', about: 'c', emit: (a) => { a.label('_start'); a.call(L('lib_fn')); a.nop(); a.ret(); } });
  const comps = [progA, progB, progC].map((m) => assemble({ name: m.name, title: m.name, about: m.name, bits: 32, origin: 0x400000, modules: [m, lib] }));
  const parts: Part[] = [{ folder: 'progs', title: 'programs', intro: 'test', chapters: [
    { module: 'lib', teaches: 'a library' }, { program: 'a', teaches: 'a' }, { program: 'b', teaches: 'b' }, { program: 'c', teaches: 'c' },
  ] }];
  const p = planCourse(comps, parts);
  const files = emitCourse(comps, p, 'test');

  it('gets one file per distinct text, and every component still assembles byte for byte', () => {
    expect(p.layouts.get('b')!.modules[1]).toBe('1-progs/1-lib.asm');
    expect(p.layouts.get('c')!.modules[1]).toBe('1-progs/1-lib.asm');
    expect(p.layouts.get('a')!.modules[1]).toBe('1-progs/1-lib.a.asm');
    expect(files.map((f) => f.path).filter((f) => f.includes('lib')).sort()).toEqual(['1-progs/1-lib.a.asm', '1-progs/1-lib.asm']);
    expect(files.find((f) => f.path === '1-progs/1-lib.asm')!.text).toMatch(/Shared: %included, as it is, by\n; 1-progs\/3-b\.asm and 1-progs\/4-c\.asm\./);
    const dir = mkdtempSync(path.join(tmpdir(), 'tsk-course-'));
    try {
      for (const f of files) { mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true }); writeFileSync(path.join(dir, f.path), f.text); }
      for (const c of comps) {
        execFileSync('nasm', ['-f', 'bin', p.mains.get(c.def.name)!, '-o', 'out.bin'], { cwd: dir, stdio: 'pipe' });
        expect(readFileSync(path.join(dir, 'out.bin')).toString('hex'), c.def.name).toBe(Buffer.from(c.bytes).toString('hex'));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
