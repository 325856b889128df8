// The NASM emitter: turns an assembled component back into annotated NASM
// source — the course text students read.  `cd build/asm && nasm -f bin
// <component>.asm` must reproduce the encoded bytes exactly (a test checks).
//
// Output of one component (default layout; the build uses the course's layout,
// toolchain/course.ts, which numbers the files in reading order):
//   <component>.asm            header, bits/org, constants, %include lines, bss
//   <component>/<module>.asm   one file per TypeScript source module
// A component with a single module is written as one file.  An EmitLayout
// says where each file goes; a module may be written inline in the main file,
// and a module shared by several components (ulib, serial16) is written once
// and %included by each.  %include paths are relative to build/asm (NASM looks
// for include files in the current directory only), so every component
// assembles with `cd build/asm && nasm -f bin <main file>`.
//
// Named constants (operands.ts constant()) are printed as `equ` lines in the
// module whose TypeScript file defines them (else in <component>.asm), only if
// the component uses them.  A structure (struct.ts) used at all is printed
// there whole, as a `struc … endstruc` block in field order; a structure
// embedded in another comes first (NASM needs its size for `resb`).
//
// A generated block (asm.ts `a.rep`: the 256 interrupt stubs) is printed once,
// as a `%assign`/`%rep` loop under a comment stating its rule; the listing
// shows its expansion, each copy at its address.

import type { DataValue, Item } from './asm.ts';
import { type Assembled, BSS_END, BSS_START, IMAGE_END, normaliseMem } from './assemble.ts';
import type { Const, Expr, FarPtr, Mem, Operand } from './operands.ts';
import { definitionOrder, isExpr, isFar, isMem, isReg } from './operands.ts';

export interface AsmFile {
  /** Path relative to build/asm/. */
  readonly path: string;
  readonly text: string;
}

const COMMENT_COL = 48;

export function hex(v: number, width = 0): string {
  if (v < 0) return `-${hex(-v, width)}`;
  return '0x' + v.toString(16).toUpperCase().padStart(width, '0');
}

/**
 * How numbers are written.  One rule, chosen where the number is made:
 *   - a bare number (a literal in an instruction or data item) prints in
 *     decimal below 10 and in hex from 10 on: masks, ports, addresses and
 *     bit patterns, which is what most literals in this kernel are;
 *   - dec(n) (operands.ts) prints n in decimal: a count, a base, a divisor,
 *     a time (`mov ebx, 10 ; base 10`, `add eax, 999`);
 *   - the count of a shift or rotate is a number of bits: decimal (`shl edx, 22`);
 *   - a named constant prints its value in hex unless it was declared a
 *     quantity with `constant(name, value, doc, { radix: 10 })`
 *     (`HZ_MAX equ 1000`, `MAX_PROCS equ 8`).
 * Values below 10 read the same either way.
 */
export function num(v: number, radix: 10 | 16 = 16): string {
  if (radix === 10) return String(v);
  return v >= 0 && v < 10 ? String(v) : v < 0 && v > -10 ? String(v) : hex(v);
}

export function exprText(e: Expr, top = true, radix: 10 | 16 = 16): string {
  if (typeof e === 'number') return num(e, radix);
  const t = e.tree;
  switch (t.t) {
    case 'sym': return t.name;
    case 'const': return t.c.name;
    case 'here': return '$';
    case 'start': return '$$';
    case 'not': return `~${exprText(t.a, false, radix)}`;
    case 'neg': return `-${exprText(t.a, false, radix)}`;
    case 'char': return t.ch === "'" ? `"'"` : `'${t.ch}'`;
    case 'num': return num(t.v, t.radix);
    case 'bin': {
      const s = `${exprText(t.a, false, radix)} ${t.op} ${exprText(t.b, false, radix)}`;
      return top ? s : `(${s})`;
    }
  }
}

function memText(m0: Mem, component: string): string {
  const m = normaliseMem(m0, component, '', '');
  const { base, index, scale, disp, seg } = m.addr;
  const parts: string[] = [];
  if (base) parts.push(base.name);
  if (index) parts.push(scale && scale !== 1 ? `${index.name}*${scale}` : index.name);
  let s = parts.join('+');
  if (disp !== undefined) {
    const d = exprText(disp);
    if (!s) s = d;
    else if (typeof disp === 'number' && disp < 0) s += `-${num(-disp)}`;
    else if (typeof disp === 'number' && disp === 0) { /* NASM drops +0 anyway */ }
    else if (typeof disp !== 'number' && disp.tree.t === 'neg') s += `-${exprText(disp.tree.a, false)}`;
    else s += `+${typeof disp === 'number' ? d : exprText(disp, false)}`;
  }
  if (seg) s = `${seg.name}:${s}`;
  const size = m.size === 8 ? 'byte ' : m.size === 16 ? 'word ' : m.size === 32 ? 'dword ' : '';
  return `${size}[${s}]`;
}

function farText(f: FarPtr): string {
  return `${f.wide ? 'dword ' : ''}${exprText(f.selector, false)}:${exprText(f.offset, false)}`;
}

export function operandText(o: Operand, component: string, mn: string): string {
  if (isReg(o)) return o.name;
  if (isMem(o)) return mn === 'lea' ? memText({ ...o, size: 'none' }, component) : memText(o, component);
  if (isFar(o)) return farText(o);
  if (isExpr(o)) return exprText(o);
  return '?';
}

/**
 * A db string as NASM text.  Printable ASCII goes in double quotes.  A string
 * with line ends or tabs is written as a NASM backquoted string, whose C-style
 * escapes read as the programmer wrote them: `[a20] enabled\r\n` rather than
 * "[a20] enabled", 0xD, 0xA (NASM manual §3.4.2, "Character Strings").  Any
 * other byte outside printable ASCII is a number between the quoted runs.
 */
function quote(s: string): string[] {
  if (/[\r\n\t]/.test(s) && [...s].every((ch) => ch === '\r' || ch === '\n' || ch === '\t' || (ch >= ' ' && ch <= '~'))) {
    const esc: Record<string, string> = { '\r': '\\r', '\n': '\\n', '\t': '\\t', '\\': '\\\\', '`': '\\`' };
    return ['`' + [...s].map((ch) => esc[ch] ?? ch).join('') + '`'];
  }
  const out: string[] = [];
  let run = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (c >= 0x20 && c <= 0x7e && ch !== '"') run += ch;
    else { if (run) out.push(`"${run}"`); run = ''; out.push(num(c)); }
  }
  if (run) out.push(`"${run}"`);
  return out;
}

/** A bigint (dq only) is printed like a number: decimal below 10, hex otherwise. */
function bigText(v: bigint): string {
  if (v < 0n) return `-${bigText(-v)}`;
  return v < 10n ? String(v) : '0x' + v.toString(16).toUpperCase();
}

function dataText(values: readonly DataValue[]): string {
  return values.flatMap((v) => (typeof v === 'string' ? quote(v) : typeof v === 'bigint' ? [bigText(v)] : [exprText(v)])).join(', ');
}

const D = { 1: 'db', 2: 'dw', 4: 'dd', 8: 'dq' } as const;

const SHIFTS = new Set(['shl', 'shr', 'sar', 'sal', 'rol', 'ror', 'rcl', 'rcr']);

function withComment(code: string, comment?: string): string {
  if (!comment) return code;
  const lines = comment.split('\n');
  const first = `${code.padEnd(COMMENT_COL - 1)} ; ${lines[0]}`;
  return [first, ...lines.slice(1).map((l) => `${' '.repeat(COMMENT_COL - 1)} ; ${l}`)].join('\n');
}

/** The NASM text of one item (without address columns). */
export function itemText(it: Item, component: string): string {
  switch (it.k) {
    case 'ins': {
      // A shift or rotate count is a number of bits: decimal (shl eax, 10), like dec().
      const ops = it.ops.map((o, i) => (i === 1 && SHIFTS.has(it.mn) && typeof o === 'number' ? String(o) : operandText(o, component, it.mn))).join(', ');
      return withComment(`    ${it.mn}${ops ? ' ' + ops : ''}`, it.comment);
    }
    case 'label': return withComment(`${it.name}:`, it.comment);
    case 'data': return withComment(`    ${D[it.width]} ${dataText(it.values)}`, it.comment);
    case 'times': return withComment(`    times ${exprText(it.count)} ${D[it.width]} ${typeof it.value === 'bigint' ? bigText(it.value) : exprText(it.value)}`, it.comment);
    case 'incbin': return withComment(`    incbin "../bin/${it.component}.bin"`, it.comment ?? `the bytes of ${it.component}.asm, assembled (path relative to build/asm)`);
    case 'align': return withComment(`    align ${it.n}, db 0`, it.comment);
    case 'equ': return withComment(`${it.name} equ ${exprText(it.value)}`, it.comment);
    case 'bss': return ''; // printed by the bss block of the component
    case 'rep': return [
      ...it.rule.split('\n').map((l) => `; ${l}`),
      `%assign ${it.var} 0`,
      `%rep ${it.count}`,
      ...it.nasm,
      `%assign ${it.var} ${it.var}+1`,
      '%endrep',
    ].join('\n');
    case 'comment': return it.text ? `; ${it.text}` : ';';
    case 'blank': return '';
  }
}

/**
 * The one edition of the Intel SDM whose section numbers every module cites
 * (chapter numbers move between editions: newer ones insert chapters, so
 * task management, for example, is chapter 7 here and chapter 8 later).
 */
export const SDM_EDITION = [
  '  (Intel SDM: Intel 64 and IA-32 Architectures Software Developer\'s Manual,',
  '  section numbers as in Vol. 3A Order Number 253668-060US, September 2016;',
  '  Vol. 1 and Vol. 2 are cited by chapter and instruction name.)',
];

function box(lines: string[]): string[] {
  const rule = '; ' + '='.repeat(76);
  return [rule, ...lines.map((l) => (l ? `; ${l}` : ';')), rule];
}

function constLines(consts: readonly Const[]): string[] {
  const out: string[] = [];
  const structs = new Set<string>();
  for (const c of consts) {
    if (c.struct) {
      // A structure: its whole struc block, once, where its first constant would go.
      if (!structs.has(c.struct.name)) {
        structs.add(c.struct.name);
        if (out.length && out[out.length - 1] !== '') out.push('');
        out.push(...c.struct.nasm(), '');
      }
      continue;
    }
    const doc = c.doc.split('\n');
    out.push(withComment(`${c.name} equ ${exprText(c.value, true, c.radix ?? 16)}`, doc[0]));
    for (const d of doc.slice(1)) out.push(`${' '.repeat(COMMENT_COL - 1)} ; ${d}`);
  }
  if (out[out.length - 1] === '') out.pop();
  return out;
}

/**
 * The main file's constants grouped by the TypeScript file that defines them
 * (a reader finds the process states together, in their source order, not
 * scattered in first-use order).  Groups come in first-use order,
 * except that a group follows the groups whose constants its values use
 * (NASM wants a structure's size before a `resb` that embeds it).  If two
 * files' constants used each other, the given order stays as one group.
 */
function groupByFile(consts: readonly Const[]): [string, Const[]][] {
  const groups = new Map<string, Const[]>();
  for (const c of consts) groups.set(c.file, [...(groups.get(c.file) ?? []), c]);
  // Inside a file, the order of its source (which defines what a value uses before the value).
  for (const list of groups.values()) list.sort((x, y) => definitionOrder(x) - definitionOrder(y));
  const fileOf = new Map(consts.map((c) => [c.name, c.file]));
  const uses = new Map<string, Set<string>>(); // file -> files its constants' values use
  const refs = (e: Expr, acc: string[]) => {
    if (typeof e === 'number') return;
    const t = e.tree;
    if (t.t === 'const') acc.push(t.c.name);
    else if (t.t === 'bin') { refs(t.a, acc); refs(t.b, acc); }
    else if (t.t === 'not' || t.t === 'neg') refs(t.a, acc);
  };
  for (const c of consts) {
    const names: string[] = [];
    refs(c.value, names);
    for (const n of c.struct?.nested() ?? []) names.push(`${n.name}_size`);
    for (const n of names) {
      const f = fileOf.get(n);
      if (f && f !== c.file) uses.set(c.file, new Set([...(uses.get(c.file) ?? []), f]));
    }
  }
  const out: [string, Const[]][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (f: string): boolean => {
    if (state.get(f) === 'done') return true;
    if (state.get(f) === 'visiting') return false; // a cycle between files
    state.set(f, 'visiting');
    for (const g of uses.get(f) ?? []) if (!visit(g)) return false;
    state.set(f, 'done');
    out.push([f, groups.get(f)!]);
    return true;
  };
  for (const f of groups.keys()) if (!visit(f)) return [['(several files)', [...consts]]];
  return out;
}

function constsTitle(consts: readonly Const[]): string {
  const s = consts.some((c) => c.struct);
  const k = consts.some((c) => !c.struct);
  return s && k ? 'Constants and structure layouts (named as in the specification)'
    : s ? 'Structure layouts (offsets in bytes; NASM struc defines name.field and name_size)'
    : 'Constants (named as in the specification)';
}

function moduleHeader(a: Assembled, mi: number, where: string | readonly string[]): string[] {
  const mod = a.def.modules[mi]!;
  const lines = typeof where === 'string'
    ? [
      `GENERATED FILE - do not edit. Generated by the tskernel toolchain from ${mod.file}`,
      `(${where}); regenerate with \`npm run build\`.`,
    ]
    : [
      `GENERATED FILE - do not edit. Generated by the tskernel toolchain from ${mod.file};`,
      'regenerate with `npm run build`.  Shared: %included, as it is, by',
      ...listOf(where.map((p, i) => (i === where.length - 1 ? `${p}.` : p))),
    ];
  lines.push(
    '',
    mod.title,
    '',
    ...mod.about.trim().split('\n').map((l) => l.trimEnd()),
  );
  if (mod.spec?.length) {
    lines.push('', 'Specification:', ...mod.spec.map((s) => `  - ${s}`));
    if (mod.spec.some((s) => s.includes('SDM'))) lines.push(...SDM_EDITION);
  }
  return box(lines);
}

/** Where the files of one component go (paths relative to build/asm/). */
export interface EmitLayout {
  /** The main file: header, bits/org, constants, %include lines, bss. */
  readonly main: string;
  /** Per module (link order): its own file, or null to write it inline in the main file. */
  readonly modules: readonly (string | null)[];
  /**
   * Per module: the main files of every component that includes this module's file,
   * when more than this one does (a shared module; printed in its header).
   */
  readonly sharedBy?: readonly (readonly string[] | undefined)[];
}

/** The layout of a component on its own: <name>.asm, and <name>/<module>.asm unless it has a single module. */
export function defaultLayout(a: Assembled): EmitLayout {
  const single = a.def.modules.length === 1;
  return { main: `${a.def.name}.asm`, modules: a.def.modules.map((m) => (single ? null : `${a.def.name}/${m.name}.asm`)) };
}

/** Constants per module (-1: the main file), as emitComponent places them. */
function placeConsts(a: Assembled, single: boolean): { byModule: Map<number, Const[]>; main: Const[] } {
  const def = a.def;
  // Constants go to the module whose TypeScript file defines them, else to the main file.
  const constsByModule = new Map<number, Const[]>();
  const mainConsts: Const[] = [];
  // A structure's block must come before the blocks of structures that embed it (NASM needs its size
  // for `resb`): one defined in a later module than a structure embedding it goes to the main file.
  const place = new Map<Const, number>();
  for (const c of a.consts) place.set(c, single ? -1 : def.modules.findIndex((m) => m.file === c.file));
  const structPlace = (name: string) => [...place].find(([c]) => c.struct?.name === name)?.[1] ?? -1;
  const toMain = (info: NonNullable<Const['struct']>) => {
    for (const c of info.consts()) place.set(c, -1);
    info.nested().forEach(toMain);
  };
  for (const c of [...a.consts].reverse()) {
    if (!c.struct) continue;
    for (const n of c.struct.nested()) if (structPlace(n.name) > place.get(c)!) toMain(n);
  }
  for (const c of a.consts) {
    const mi = place.get(c)!;
    if (mi >= 0) constsByModule.set(mi, [...(constsByModule.get(mi) ?? []), c]);
    else mainConsts.push(c);
  }
  return { byModule: constsByModule, main: mainConsts };
}

/**
 * The text of each module without its header: constants, instructions and data,
 * reserved memory.  It does not depend on the component's name or layout, so a
 * module linked into several components can be written once when its bodies agree.
 */
export function moduleBodies(a: Assembled, layout: EmitLayout = defaultLayout(a)): string[][] {
  const def = a.def;
  const { byModule } = placeConsts(a, isSingle(layout));
  return def.modules.map((_, mi) => {
    const out: string[] = [];
    const consts = byModule.get(mi);
    if (consts?.length) out.push('', `; ${constsTitle(consts)}:`, ...constLines(consts));
    out.push('');
    for (const row of a.rows) if (row.module === mi && !row.inRep && row.item.k !== 'bss') out.push(itemText(row.item, def.name));
    const bss = a.rows.filter((r) => r.module === mi && r.item.k === 'bss');
    if (bss.length) {
      out.push('', `; Reserved memory after the loaded image (${BSS_START} is defined at the end of the main file); zeroed at boot:`);
      for (const r of bss) {
        if (r.item.k !== 'bss') continue;
        const s = a.symbols.get(r.item.name)!;
        const size = typeof r.item.size === 'number' ? String(r.item.size) : `${exprText(r.item.size, true, 10)} = ${s.size}`;
        out.push(withComment(`${r.item.name} equ ${BSS_START} + ${hex(s.value - a.bssStart)}`, `${size} bytes${r.item.comment ? ': ' + r.item.comment : ''}`));
      }
    }
    return out;
  });
}

/** A layout that writes every module inline keeps constants in the main file, as a one-module component always did. */
const isSingle = (layout: EmitLayout) => layout.modules.length === 1 && layout.modules[0] === null;

/** "x, y and z", wrapped for a header box. */
function listOf(paths: readonly string[]): string[] {
  const words = paths.map((p, i) => (i === paths.length - 1 ? p : i === paths.length - 2 ? `${p} and` : `${p},`));
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > 74) { lines.push(line); line = ''; }
    line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

/** Emit the NASM files for an assembled component (its own files and those of the modules it shares). */
export function emitComponent(a: Assembled, generatedBy = 'toolchain/x86/nasm.ts', layout: EmitLayout = defaultLayout(a)): AsmFile[] {
  const def = a.def;
  if (layout.modules.length !== def.modules.length) throw new Error(`internal: the layout of ${def.name} has ${layout.modules.length} module paths for ${def.modules.length} modules`);
  const files: AsmFile[] = [];
  const single = isSingle(layout);
  const { main: mainConsts } = placeConsts(a, single);
  const bodies = moduleBodies(a, layout);

  const main: string[] = [];
  const sources = def.modules.map((m) => m.file);
  main.push(...box([
    `GENERATED FILE - do not edit. Generated by the tskernel toolchain from`,
    ...sources.map((s) => `  ${s}`),
    `regenerate with \`npm run build\`. Assemble by hand (the result is byte-identical`,
    `to build/bin/${def.name}.bin):   cd build/asm && nasm -f bin ${layout.main} -o /tmp/${def.name}.bin`,
    '',
    `${def.title}`,
    '',
    ...def.about.trim().split('\n').map((l) => l.trimEnd()),
  ]));
  main.push('', withComment(`bits ${def.bits}`, `${def.bits}-bit code: the CPU mode this component runs in`));
  main.push(withComment(`org ${hex(def.origin)}`, 'the address this component is loaded at'));
  if (def.externs?.length) {
    main.push('', '; Addresses in other components, fixed by the image layout (toolchain/image.ts):');
    for (const e of def.externs) main.push(withComment(`${e.name} equ ${e.radix === 10 ? String(e.value) : hex(e.value)}`, e.doc));
  }
  if (mainConsts.length) {
    main.push('', `; ${constsTitle(mainConsts)}:`);
    const groups = groupByFile(mainConsts);
    if (groups.length === 1) main.push(...constLines(groups[0]![1]));
    else for (const [file, list] of groups) main.push('', `; from ${file}:`, ...constLines(list));
  }
  if (single) {
    main.push('', ...moduleHeader(a, 0, 'the only module of this component'), ...bodies[0]!);
  } else {
    let listed = false;
    def.modules.forEach((m, mi) => {
      const path = layout.modules[mi];
      if (path === null || path === undefined) {
        main.push('', ...moduleHeader(a, mi, `written here, in ${layout.main}`), ...bodies[mi]!);
        listed = false;
        return;
      }
      const shared = layout.sharedBy?.[mi];
      if (!listed) main.push('', layout.modules.every((p) => p !== null) ? '; The modules of this component, in link order (paths relative to build/asm):' : '; Included here, in link order (path relative to build/asm):');
      listed = true;
      main.push(withComment(`%include "${path}"`, `${m.title}${shared ? ' (shared)' : ''}`));
      files.push({ path, text: [...moduleHeader(a, mi, shared ?? `part of ${layout.main}`), ...bodies[mi]!].join('\n') + '\n' });
    });
  }
  main.push('', withComment(`${IMAGE_END}:`, 'end of the bytes loaded from disk'));
  const al = a.bssAlign;
  main.push(withComment(`${BSS_START} equ ${IMAGE_END} + ((${al} - ((${IMAGE_END} - $$) % ${al})) % ${al})`, `reserved (bss) memory starts at the next ${al}-byte boundary`));
  main.push(withComment(`${BSS_END} equ ${BSS_START} + ${hex(a.bssEnd - a.bssStart)}`, 'end of reserved memory'));
  files.unshift({ path: layout.main, text: main.join('\n') + '\n' });
  return files;
}

/** A listing: address, bytes, source text and the TypeScript line that wrote it. */
export function listing(a: Assembled): string {
  const out: string[] = [`; Listing of ${a.def.name} (bits ${a.def.bits}, org ${hex(a.def.origin)}) - generated by the tskernel toolchain`, ''];
  for (const r of a.rows) {
    if (r.item.k === 'comment' || r.item.k === 'blank' || r.item.k === 'bss') continue;
    if (r.item.k === 'rep') { out.push(`${''.padEnd(36)}; %rep ${r.item.count}: ${r.item.rule.split('\n')[0]} (expanded below)`.padEnd(116) + ` ${r.item.loc}`); continue; }
    const text = itemText(r.item, a.def.name).split('\n')[0]!;
    const loc = 'loc' in r.item ? r.item.loc : '';
    const bytes = Array.from(r.bytes.slice(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ') + (r.bytes.length > 8 ? ' …' : '');
    out.push(`${r.addr.toString(16).padStart(8, '0')}  ${bytes.padEnd(26)}${text.padEnd(80)} ${loc}`);
  }
  return out.join('\n') + '\n';
}
