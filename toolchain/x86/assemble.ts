// Layout and encoding of one image component (boot sector, stage 2, kernel …).
//
// A component is a list of modules assembled as one unit at one origin, in
// one mode (bits 16 or 32) — exactly what one `nasm -f bin` run sees.  Labels
// are resolved by iterating the layout: each pass places every item with the
// sizes chosen in the previous pass, until no address changes.  Label
// branches start short (rel8) and grow to near once they cannot reach, and
// never shrink back, so the iteration converges (NASM's optimiser does the same).

import { type Bits, type Item, type Module, collect } from './asm.ts';
import { type Const, type Expr, type Mem, type Operand, isExpr, isFar, isMem, isReg } from './operands.ts';
import { type Encoded, type ResolvedOp, EncodeError, encodeInstruction } from './isa.ts';
import { bss_end, bss_start } from './symbol.ts';

export interface ComponentDef {
  /** Component name: build/asm/<name>.asm, build/bin/<name>.bin. */
  readonly name: string;
  readonly title: string;
  /** Header text for the generated main file. */
  readonly about: string;
  readonly bits: Bits;
  /** Load address (NASM `org`). */
  readonly origin: number;
  readonly modules: readonly Module[];
  /** Addresses taken from other components, emitted as `equ` lines. */
  readonly externs?: readonly Extern[];
  /** Bytes of components assembled earlier, for `incbin` (by component name). */
  readonly binaries?: ReadonlyMap<string, Uint8Array>;
}

export interface Extern {
  readonly name: string;
  readonly value: number;
  readonly doc: string;
  /** 10 for a count (sectors, bytes); addresses print in hex. */
  readonly radix?: 10 | 16;
}

export type SymbolKind = 'label' | 'equ' | 'const' | 'extern' | 'bss';

export interface SymbolInfo {
  readonly name: string;
  readonly value: number;
  readonly kind: SymbolKind;
  /** TypeScript file that defines the symbol. */
  readonly file: string;
  /** For bss symbols: reserved size in bytes. */
  readonly size?: number;
}

/** One line of the listing: an item, where it landed, and its bytes. */
export interface ListingRow {
  readonly module: number;
  readonly item: Item;
  readonly addr: number;
  readonly bytes: Uint8Array;
  /** Local-label scope (the last global label) at this item, for printing expressions. */
  readonly scope: string;
  /** Part of a `rep` block's expansion: in the listing, but not printed in the NASM source (the block's loop is). */
  readonly inRep?: boolean;
}

export interface Assembled {
  readonly def: ComponentDef;
  readonly bytes: Uint8Array;
  readonly rows: readonly ListingRow[];
  readonly symbols: ReadonlyMap<string, SymbolInfo>;
  /** Named constants referenced by this component (transitively), in first-use order. */
  readonly consts: readonly Const[];
  /** First byte after the loaded image and the end of reserved (bss) memory. */
  readonly bssStart: number;
  readonly bssEnd: number;
  /** Alignment of bss_start: the largest alignment a reservation asked for (at least 16). */
  readonly bssAlign: number;
  readonly passes: number;
}

/** Synthesised symbols at the end of every component. */
export const IMAGE_END = 'image_end';
export const BSS_START = bss_start.name;
export const BSS_END = bss_end.name;
export const BSS_ALIGN = 16;

/** A mistake in kernel source, reported with the TS line that wrote it. */
export class AsmError extends Error {
  constructor(readonly component: string, readonly loc: string, readonly scope: string, msg: string) {
    super(`${loc}${scope ? ` (after label ${scope})` : ''} [${component}]: ${msg}`);
  }
}

interface Value { v: number; reloc: number }

interface Flat {
  readonly module: number;
  readonly item: Item;
  readonly scope: string;
  readonly inRep: boolean;
}

const MAX_PASSES = 40;

export function assemble(def: ComponentDef): Assembled {
  const flat: Flat[] = [];
  const fileOf = new Map<string, string>();
  const symbolFile = (name: string) => fileOf.get(name) ?? '';
  // 1. Collect items and compute the local-label scope of each.
  def.modules.forEach((mod, mi) => {
    let scope = '';
    const add = (item: Item, inRep: boolean) => {
      if (item.k === 'label' && !item.name.startsWith('.')) scope = item.name;
      if (item.k === 'label' && item.name.startsWith('.') && !scope) {
        throw new AsmError(def.name, item.loc, '', `local label '${item.name}' has no global label before it in module '${mod.name}'`);
      }
      flat.push({ module: mi, item, scope, inRep });
      if (item.k === 'rep') for (const sub of item.items) add(sub, true);
    };
    for (const item of collect(mod, def.bits)) add(item, false);
  });
  const fullName = (name: string, scope: string) => (name.startsWith('.') ? scope + name : name);

  // 2. Symbol definitions that do not depend on layout.
  const labels = new Map<string, number>();
  const equs = new Map<string, { value: Expr; scope: string; file: string }>();
  const define = (name: string, loc: string, scope: string, file: string) => {
    if (labels.has(name) || equs.has(name)) throw new AsmError(def.name, loc, scope, `symbol '${name}' is defined twice (also in ${symbolFile(name)})`);
    fileOf.set(name, file);
  };
  for (const f of flat) {
    const it = f.item;
    const file = def.modules[f.module]!.file;
    if (it.k === 'label') { const n = fullName(it.name, f.scope); define(n, it.loc, f.scope, file); labels.set(n, def.origin); }
    // An equ named .x is local, like a label: routine.ts defines stack arguments and locals so (udp_sendto.len).
    if (it.k === 'equ') { const n = fullName(it.name, f.scope); define(n, it.loc, f.scope, file); equs.set(n, { value: it.value, scope: f.scope, file }); }
  }
  for (const e of def.externs ?? []) {
    define(e.name, 'externs', '', 'image layout');
    equs.set(e.name, { value: e.value, scope: '', file: 'image layout' });
  }
  // bss: offsets after the image, in module order.
  let bssOffset = 0;
  const bssSyms: { name: string; offset: number; size: number; file: string }[] = [];
  for (const f of flat) {
    if (f.item.k !== 'bss') continue;
    const it = f.item;
    bssOffset = Math.ceil(bssOffset / it.align) * it.align;
    const file = def.modules[f.module]!.file;
    define(it.name, it.loc, f.scope, file);
    const size = constValue(it.size, (msg) => new AsmError(def.name, it.loc, f.scope, `bss '${it.name}': ${msg}`));
    if (!Number.isInteger(size) || size <= 0) throw new AsmError(def.name, it.loc, f.scope, `bss '${it.name}': size ${size} is not a positive integer`);
    bssSyms.push({ name: it.name, offset: bssOffset, size, file });
    bssOffset += size;
  }
  // The bss starts at the largest alignment any reservation asks for, so that
  // offsets aligned relative to it are aligned absolutely (page tables need 4 KiB).
  const bssAlign = Math.max(BSS_ALIGN, ...flat.map((f) => (f.item.k === 'bss' ? f.item.align : 1)));
  if (def.origin % bssAlign !== 0) throw new AsmError(def.name, def.name, '', `origin ${def.origin} is not aligned to ${bssAlign}, the largest bss alignment`);
  const bssSize = Math.ceil(bssOffset / BSS_ALIGN) * BSS_ALIGN;
  labels.set(IMAGE_END, def.origin);
  const usedConsts = new Map<string, Const>();

  // 3. Expression evaluation (NASM semantics for relocatable vs scalar values).
  const evaluate = (e: Expr, scope: string, here: number, loc: string, depth = 0): Value => {
    if (typeof e === 'number') return { v: e, reloc: 0 };
    if (depth > 64) throw new AsmError(def.name, loc, scope, 'expression nests too deeply (a circular equ?)');
    const t = e.tree;
    switch (t.t) {
      case 'here': return { v: here, reloc: 1 };
      case 'start': return { v: def.origin, reloc: 1 };
      case 'const': {
        const prev = usedConsts.get(t.c.name);
        if (prev && prev !== t.c) throw new AsmError(def.name, loc, scope, `two different constants are named '${t.c.name}'`);
        usedConsts.set(t.c.name, t.c);
        return evaluate(t.c.value, '', here, loc, depth + 1);
      }
      case 'sym': {
        const n = fullName(t.name, scope);
        if (labels.has(n)) {
          // First pass: a forward label has no position yet. Pretend it is right
          // here, so branches start short and only grow (NASM does the same).
          if (firstPass && !placed.has(n)) return { v: here, reloc: 1 };
          // Later passes: a label not yet placed in this pass is where the previous
          // pass put it, moved by as much as the code before here has grown since.
          // Without that shift, growth earlier in the image makes a short forward
          // branch look like a long backward one, and it stays near for good -
          // bytes NASM, which lays out the same text, would not emit.
          if (!placedNow.has(n)) return { v: labels.get(n)! + shiftNow, reloc: 1 };
          return { v: labels.get(n)!, reloc: 1 };
        }
        const eq = equs.get(n);
        if (eq) return evaluate(eq.value, eq.scope, here, loc, depth + 1);
        const b = bssSyms.find((s) => s.name === n);
        if (b) return { v: bssStartValue() + b.offset, reloc: 1 };
        if (n === BSS_START) return { v: bssStartValue(), reloc: 1 };
        if (n === BSS_END) return { v: bssStartValue() + bssSize, reloc: 1 };
        throw new AsmError(def.name, loc, scope, `undefined symbol '${n}'`);
      }
      case 'not': {
        const a = evaluate(t.a, scope, here, loc, depth + 1);
        if (a.reloc) throw new AsmError(def.name, loc, scope, "'~' applied to an address: NASM only allows it on scalars (subtract $$ first)");
        return { v: ~a.v, reloc: 0 };
      }
      case 'char': return { v: t.ch.charCodeAt(0), reloc: 0 };
      case 'num': return { v: t.v, reloc: 0 };
      case 'neg': {
        const a = evaluate(t.a, scope, here, loc, depth + 1);
        if (a.reloc) throw new AsmError(def.name, loc, scope, "'-' applied to an address: NASM only allows it on scalars");
        return { v: -a.v, reloc: 0 };
      }
      case 'bin': {
        const a = evaluate(t.a, scope, here, loc, depth + 1);
        const b = evaluate(t.b, scope, here, loc, depth + 1);
        if (t.op === '+') return { v: a.v + b.v, reloc: a.reloc + b.reloc };
        if (t.op === '-') return { v: a.v - b.v, reloc: a.reloc - b.reloc };
        if (a.reloc || b.reloc) {
          throw new AsmError(def.name, loc, scope, `'${t.op}' applied to an address: NASM only allows + and - on labels (use label - $$ to get a number)`);
        }
        return { v: binop(t.op, a.v, b.v, () => new AsmError(def.name, loc, scope, 'division by zero in expression')), reloc: 0 };
      }
    }
  };
  const bssStartValue = () => labels.get(IMAGE_END)! + ((bssAlign - ((labels.get(IMAGE_END)! - def.origin) % bssAlign)) % bssAlign);

  const resolveOp = (o: Operand, scope: string, here: number, loc: string): ResolvedOp => {
    if (isReg(o)) return { t: 'reg', r: o };
    if (isFar(o)) {
      const sel = evaluate(o.selector, scope, here, loc);
      const off = evaluate(o.offset, scope, here, loc);
      return { t: 'far', sel: sel.v, off: off.v, wide: o.wide };
    }
    if (isMem(o)) {
      const m = normaliseMem(o, def.name, loc, scope);
      const d = m.addr.disp === undefined ? { v: 0, reloc: 0 } : evaluate(m.addr.disp, scope, here, loc);
      return { t: 'mem', m, disp: d.v, reloc: d.reloc !== 0 };
    }
    if (isExpr(o)) {
      const x = evaluate(o, scope, here, loc);
      return { t: 'imm', v: x.v, reloc: x.reloc !== 0 };
    }
    throw new AsmError(def.name, loc, scope, `not an operand: ${JSON.stringify(o)}`);
  };

  // 4. Layout passes.
  const near = new Set<number>();
  let firstPass = true;
  const placed = new Set<string>();
  const placedNow = new Set<string>();
  let shiftNow = 0;
  const lastPc = new Array<number | undefined>(flat.length).fill(undefined);
  const sizes = new Array<number>(flat.length).fill(0);
  const encoded = new Array<{ key: string; enc: Encoded } | undefined>(flat.length);
  let passes = 0;
  const runPass = (final: boolean): { rows: ListingRow[]; out: number[]; changed: boolean } => {
    let pc = def.origin;
    let changed = false;
    placedNow.clear();
    const rows: ListingRow[] = [];
    const out: number[] = [];
    flat.forEach((f, i) => {
      const it = f.item;
      let bytes: Uint8Array = EMPTY;
      shiftNow = pc - (lastPc[i] ?? pc);
      lastPc[i] = pc;
      const setLabel = (name: string) => { placed.add(name); placedNow.add(name); if (labels.get(name) !== pc) { labels.set(name, pc); changed = true; } };
      try {
        switch (it.k) {
          case 'label': setLabel(fullName(it.name, f.scope)); break;
          case 'ins': {
            const ops = it.ops.map((o) => resolveOp(o, f.scope, pc, it.loc));
            // Most instructions resolve to the same operands, address and branch
            // size in every pass: reuse the last encoding then (the encoder is
            // pure).  Only an encoding made without the loop/jcxz stand-in for a
            // not-yet-placed target (see encodeInstruction's `final`) is kept.
            const key = `${pc}|${near.has(i) ? 1 : 0}|${JSON.stringify(ops)}`;
            const cached = encoded[i];
            let enc: Encoded;
            if (cached && cached.key === key) enc = cached.enc;
            else {
              try {
                enc = encodeInstruction(it.mn, ops, def.bits, pc, near.has(i), true);
                encoded[i] = { key, enc };
              } catch (e) {
                if (final) throw e;
                enc = encodeInstruction(it.mn, ops, def.bits, pc, near.has(i), false);
              }
            }
            if (enc.near) near.add(i);
            bytes = enc.bytes;
            break;
          }
          case 'data': bytes = encodeData(it.width, it.values.map((v) => (typeof v === 'string' || typeof v === 'bigint' ? v : evaluate(v, f.scope, pc, it.loc).v)), final); break;
          case 'times': {
            const n = evaluate(it.count, f.scope, pc, it.loc);
            if (n.reloc) throw new Error('times count is an address, not a number');
            if (n.v < 0 && final) throw new Error(`times count is negative (${n.v}): the code before it is ${-n.v} bytes too long`);
            const one = encodeData(it.width, [typeof it.value === 'bigint' ? it.value : evaluate(it.value, f.scope, pc, it.loc).v], final);
            bytes = repeat(one, Math.max(0, n.v));
            break;
          }
          case 'incbin': {
            const bin = def.binaries?.get(it.component);
            if (!bin) throw new Error(`incbin: component '${it.component}' was not assembled before '${def.name}' (ComponentDef.binaries has ${[...(def.binaries?.keys() ?? [])].join(', ') || 'nothing'})`);
            bytes = bin;
            break;
          }
          case 'align': bytes = new Uint8Array((it.n - ((pc - def.origin) % it.n)) % it.n); break;
          case 'equ': if (final) evaluate(it.value, f.scope, pc, it.loc); break;
          default: break;
        }
      } catch (e) {
        if (e instanceof AsmError) throw e;
        if (e instanceof EncodeError || e instanceof Error) {
          const text = it.k === 'ins' ? `${it.mn}: ${(e as Error).message}` : (e as Error).message;
          throw new AsmError(def.name, 'loc' in it ? it.loc : '?', f.scope, text);
        }
        throw e;
      }
      if (sizes[i] !== bytes.length) { sizes[i] = bytes.length; changed = true; }
      rows.push({ module: f.module, item: it, addr: pc, bytes, scope: f.scope, ...(f.inRep ? { inRep: true } : {}) });
      for (const b of bytes) out.push(b);
      pc += bytes.length;
    });
    if (labels.get(IMAGE_END) !== pc) { labels.set(IMAGE_END, pc); changed = true; }
    return { rows, out, changed };
  };
  for (;;) {
    passes++;
    const { changed } = runPass(false);
    firstPass = false;
    if (!changed && passes > 1) break;
    if (passes >= MAX_PASSES) throw new AsmError(def.name, def.name, '', `layout did not converge after ${MAX_PASSES} passes`);
  }
  const final = runPass(true);
  if (final.changed) throw new AsmError(def.name, def.name, '', 'internal: layout changed in the final pass');

  // 5. Symbol table.
  const symbols = new Map<string, SymbolInfo>();
  for (const [name, value] of labels) symbols.set(name, { name, value, kind: 'label', file: symbolFile(name) || 'image layout' });
  for (const [name, eq] of equs) {
    const isExtern = (def.externs ?? []).some((x) => x.name === name);
    symbols.set(name, { name, value: evaluate(eq.value, eq.scope, 0, name).v, kind: isExtern ? 'extern' : 'equ', file: eq.file });
  }
  const bssStart = bssStartValue();
  for (const b of bssSyms) symbols.set(b.name, { name: b.name, value: bssStart + b.offset, kind: 'bss', file: b.file, size: b.size });
  symbols.set(BSS_START, { name: BSS_START, value: bssStart, kind: 'equ', file: 'image layout' });
  symbols.set(BSS_END, { name: BSS_END, value: bssStart + bssSize, kind: 'equ', file: 'image layout' });
  // A structure used at all is emitted whole (its struc block defines every field), nested ones first.
  const consts = orderConsts(withStructs([...usedConsts.values()]));
  for (const c of consts) {
    const clash = symbols.get(c.name) ?? (c.struct && c.name.endsWith('_size') ? symbols.get(c.struct.name) : undefined);
    if (clash) throw new AsmError(def.name, clash.file, '', `'${clash.name}' is defined in ${clash.file} and also by ${c.struct ? `struct '${c.struct.name}'` : 'a constant'} (${c.file})`);
  }
  for (const c of consts) symbols.set(c.name, { name: c.name, value: evaluate(c.value, '', 0, c.name).v, kind: 'const', file: c.file });

  return {
    def, bytes: Uint8Array.from(final.out), rows: final.rows, symbols, consts,
    bssStart, bssEnd: bssStart + bssSize, bssAlign, passes,
  };
}

const EMPTY = new Uint8Array(0);

/**
 * The value of an expression that needs no layout: numbers, named constants
 * and arithmetic (a bss size).  A label or `$` in it is an error.
 */
export function constValue(e: Expr, err: (msg: string) => Error, depth = 0): number {
  if (typeof e === 'number') return e;
  if (depth > 64) throw err('expression nests too deeply');
  const t = e.tree;
  switch (t.t) {
    case 'num': return t.v;
    case 'char': return t.ch.charCodeAt(0);
    case 'const': return constValue(t.c.value, err, depth + 1);
    case 'not': return ~constValue(t.a, err, depth + 1);
    case 'neg': return -constValue(t.a, err, depth + 1);
    case 'bin': {
      const a = constValue(t.a, err, depth + 1);
      const b = constValue(t.b, err, depth + 1);
      if (t.op === '+') return a + b;
      if (t.op === '-') return a - b;
      return binop(t.op, a, b, () => err('division by zero'));
    }
    case 'sym': throw err(`'${t.name}' is a label: the size must be a number or named constants, known before layout`);
    case 'here': case 'start': throw err('$ and $$ are addresses, not sizes');
  }
}

function binop(op: string, a: number, b: number, divZero: () => Error): number {
  switch (op) {
    case '*': return a * b;
    case '/': if (b === 0) throw divZero(); return Math.trunc(a / b);
    case '%': if (b === 0) throw divZero(); return a % b;
    case '<<': return a * 2 ** b;
    case '>>': return Math.floor(a / 2 ** b);
    case '&': return Number(BigInt.asIntN(64, BigInt(a) & BigInt(b)));
    case '|': return Number(BigInt.asIntN(64, BigInt(a) | BigInt(b)));
    case '^': return Number(BigInt.asIntN(64, BigInt(a) ^ BigInt(b)));
    default: throw new Error(`unknown operator ${op}`);
  }
}

function repeat(one: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(one.length * n);
  for (let i = 0; i < n; i++) out.set(one, i * one.length);
  return out;
}

function encodeData(width: 1 | 2 | 4 | 8, values: readonly (number | string | bigint)[], final: boolean): Uint8Array {
  const out: number[] = [];
  const bits = BigInt(width * 8);
  // NASM accepts any value from the most negative signed to the largest unsigned one.
  const lo = -(1n << (bits - 1n));
  const hi = (1n << bits) - 1n;
  for (const v of values) {
    if (typeof v === 'string') {
      if (width !== 1) throw new Error('strings are only allowed in db');
      for (const ch of v) {
        const c = ch.codePointAt(0)!;
        if (c > 0x7f) throw new Error(`string contains a non-ASCII character U+${c.toString(16)}: write its bytes as numbers`);
        out.push(c);
      }
      continue;
    }
    if (typeof v === 'bigint' && width !== 8) throw new Error(`bigint value ${v} in a ${width * 8}-bit data item: bigints are for dq`);
    if (typeof v === 'number' && !Number.isSafeInteger(v)) {
      if (final) throw new Error(`value ${v} is not an exact integer: write 64-bit values beyond 2^53 as a bigint (${BigInt.asUintN(64, BigInt(Math.trunc(v))).toString(16)}n?)`);
    }
    const b = typeof v === 'bigint' ? v : BigInt(Number.isSafeInteger(v) ? v : 0);
    if (final && (b < lo || b > hi)) throw new Error(`value ${v} does not fit in ${width * 8} bits`);
    let u = BigInt.asUintN(width * 8, b);
    for (let i = 0; i < width; i++) { out.push(Number(u & 0xffn)); u >>= 8n; }
  }
  return Uint8Array.from(out);
}

/**
 * NASM rewrites some addresses before encoding them; do the same so that the
 * text we print and the bytes we encode agree (and never print forms NASM
 * would rewrite): [eax*1] → [eax], [eax*2] → [eax+eax], [x+esp] → [esp+x],
 * and 16-bit [si+bx] → [bx+si].
 */
export function normaliseMem(m: Mem, component: string, loc: string, scope: string): Mem {
  let { base, index, scale } = m.addr;
  const err = (msg: string) => new AsmError(component, loc, scope, msg);
  if (scale !== undefined && !index) throw err('memory operand has a scale but no index register');
  if (base && index && base.size !== index.size) throw err(`memory operand mixes ${base.size}-bit and ${index.size}-bit address registers`);
  if (index && (scale ?? 1) === 1 && !base) { base = index; index = undefined; scale = undefined; }
  if (index && scale === 2 && !base && index.size === 32) { base = index; scale = undefined; }
  if (index && index.name === 'esp') {
    if ((scale ?? 1) !== 1 || !base) throw err('esp cannot be an index register');
    [base, index] = [index, base];
  }
  if (base?.size === 16 || index?.size === 16) {
    if (scale !== undefined && scale !== 1) throw err('16-bit addressing has no scale factor');
    if (base && (base.name === 'si' || base.name === 'di') && index && (index.name === 'bx' || index.name === 'bp')) [base, index] = [index, base];
    const okBase = !base || base.name === 'bx' || base.name === 'bp' || (!index && (base.name === 'si' || base.name === 'di'));
    const okIndex = !index || index.name === 'si' || index.name === 'di';
    if (!okBase || !okIndex) throw err(`[${[base?.name, index?.name].filter(Boolean).join('+')}] is not a 16-bit addressing form (allowed: bx|bp + si|di, or one of them)`);
  }
  if (base === m.addr.base && index === m.addr.index && scale === m.addr.scale) return m;
  return { ...m, addr: { ...m.addr, base, index, scale } };
}

/** Add every constant of each structure in use, and of the structures nested in it. */
function withStructs(list: Const[]): Const[] {
  const out = new Map<string, Const>(list.map((c) => [c.name, c]));
  const seen = new Set<string>();
  const add = (info: NonNullable<Const['struct']>) => {
    if (seen.has(info.name)) return;
    seen.add(info.name);
    info.nested().forEach(add);
    for (const c of info.consts()) if (!out.has(c.name)) out.set(c.name, c);
  };
  for (const c of list) if (c.struct) add(c.struct);
  return [...out.values()];
}

/**
 * Constants whose value refers to other constants come after them (NASM equ
 * order); a structure's block comes after the structures it embeds (NASM
 * needs their sizes for `resb`).
 */
function orderConsts(list: Const[]): Const[] {
  const out: Const[] = [];
  const seen = new Set<string>();
  const deps = (e: Expr, acc: Const[]) => {
    if (typeof e === 'number') return;
    const t = e.tree;
    if (t.t === 'const') acc.push(t.c);
    else if (t.t === 'bin') { deps(t.a, acc); deps(t.b, acc); }
    else if (t.t === 'not' || t.t === 'neg') deps(t.a, acc);
  };
  const visit = (c: Const) => {
    if (seen.has(c.name)) return;
    seen.add(c.name);
    const d: Const[] = [];
    deps(c.value, d);
    for (const n of c.struct?.nested() ?? []) d.push(n.consts()[n.consts().length - 1]!);
    d.forEach(visit);
    out.push(c);
  };
  list.forEach(visit);
  return out;
}

