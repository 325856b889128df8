// Operands of the x86 eDSL: registers, expressions (numbers, labels, named
// constants), memory references and far pointers.
//
// Part of the toolchain pipeline:  eDSL (this file, asm.ts) → isa.ts (form
// selection from iced-x86 metadata) → assemble.ts (layout, encoding) → nasm.ts
// (annotated NASM text).  Everything here is plain immutable data; the types
// are arranged so that size mismatches (mov eax, bl) and memory-to-memory
// operations fail to compile.

// ---------------------------------------------------------------- registers

export type Size = 8 | 16 | 32;

export type Gpr8Name = 'al' | 'cl' | 'dl' | 'bl' | 'ah' | 'ch' | 'dh' | 'bh';
export type Gpr16Name = 'ax' | 'cx' | 'dx' | 'bx' | 'sp' | 'bp' | 'si' | 'di';
export type Gpr32Name = 'eax' | 'ecx' | 'edx' | 'ebx' | 'esp' | 'ebp' | 'esi' | 'edi';
export type SegName = 'es' | 'cs' | 'ss' | 'ds' | 'fs' | 'gs';
export type CrName = 'cr0' | 'cr2' | 'cr3' | 'cr4';

/** A general-purpose register of a given width. */
export interface Gpr<S extends Size, N extends string = string> {
  readonly kind: 'gpr';
  readonly name: N;
  readonly size: S;
}
export type Reg8 = Gpr<8, Gpr8Name>;
export type Reg16 = Gpr<16, Gpr16Name>;
export type Reg32 = Gpr<32, Gpr32Name>;
export type AnyGpr = Reg8 | Reg16 | Reg32;

/** A segment register (Intel SDM Vol. 1 §3.4.2). */
export interface SegReg {
  readonly kind: 'seg';
  readonly name: SegName;
  readonly size: 16;
}
/** A control register (Intel SDM Vol. 3A §2.5). */
export interface CtrlReg {
  readonly kind: 'cr';
  readonly name: CrName;
  readonly size: 32;
}
export type Register = AnyGpr | SegReg | CtrlReg;

const gpr = <S extends Size, N extends string>(name: N, size: S): Gpr<S, N> =>
  Object.freeze({ kind: 'gpr', name, size });

export const al = gpr('al', 8), cl = gpr('cl', 8), dl = gpr('dl', 8), bl = gpr('bl', 8);
export const ah = gpr('ah', 8), ch = gpr('ch', 8), dh = gpr('dh', 8), bh = gpr('bh', 8);
export const ax = gpr('ax', 16), cx = gpr('cx', 16), dx = gpr('dx', 16), bx = gpr('bx', 16);
export const sp = gpr('sp', 16), bp = gpr('bp', 16), si = gpr('si', 16), di = gpr('di', 16);
export const eax = gpr('eax', 32), ecx = gpr('ecx', 32), edx = gpr('edx', 32), ebx = gpr('ebx', 32);
export const esp = gpr('esp', 32), ebp = gpr('ebp', 32), esi = gpr('esi', 32), edi = gpr('edi', 32);

const seg = (name: SegName): SegReg => Object.freeze({ kind: 'seg', name, size: 16 });
export const es = seg('es'), cs = seg('cs'), ss = seg('ss'), ds = seg('ds'), fs = seg('fs'), gs = seg('gs');

const cr = (name: CrName): CtrlReg => Object.freeze({ kind: 'cr', name, size: 32 });
export const cr0 = cr('cr0'), cr2 = cr('cr2'), cr3 = cr('cr3'), cr4 = cr('cr4');

// -------------------------------------------------------------- expressions

/**
 * A compile-time value: a number, or a tree over labels, named constants and
 * the NASM location counters `$` (this item) and `$$` (start of the section).
 * It is printed in the NASM text exactly as built, so `GDT_END - GDT` appears
 * by name, not as a magic number.
 */
export type Expr = number | ExprNode;

export type BinOp = '+' | '-' | '*' | '/' | '%' | '<<' | '>>' | '&' | '|' | '^';

export type ExprTree =
  | { readonly t: 'sym'; readonly name: string }
  | { readonly t: 'const'; readonly c: Const }
  | { readonly t: 'here' }
  | { readonly t: 'start' }
  | { readonly t: 'bin'; readonly op: BinOp; readonly a: Expr; readonly b: Expr }
  | { readonly t: 'not'; readonly a: Expr }
  | { readonly t: 'neg'; readonly a: Expr }
  | { readonly t: 'char'; readonly ch: string }
  | { readonly t: 'num'; readonly v: number; readonly radix: Radix };

/** How a number is written in the generated NASM text (nasm.ts header states the rule). */
export type Radix = 10 | 16;

/** Expression node with a small fluent API: `L('gdt_end').sub(L('gdt')).sub(1)`. */
export class ExprNode {
  constructor(readonly tree: ExprTree) {}
  add(b: Expr): ExprNode { return bin('+', this, b); }
  sub(b: Expr): ExprNode { return bin('-', this, b); }
  mul(b: Expr): ExprNode { return bin('*', this, b); }
  div(b: Expr): ExprNode { return bin('/', this, b); }
  mod(b: Expr): ExprNode { return bin('%', this, b); }
  shl(b: Expr): ExprNode { return bin('<<', this, b); }
  shr(b: Expr): ExprNode { return bin('>>', this, b); }
  and(b: Expr): ExprNode { return bin('&', this, b); }
  or(b: Expr): ExprNode { return bin('|', this, b); }
  xor(b: Expr): ExprNode { return bin('^', this, b); }
  /** Arithmetic negation: `-EFAULT`. */
  neg(): ExprNode { return new ExprNode({ t: 'neg', a: this }); }
}

export const bin = (op: BinOp, a: Expr, b: Expr): ExprNode => new ExprNode({ t: 'bin', op, a, b });
export const not = (a: Expr): ExprNode => new ExprNode({ t: 'not', a });

/**
 * A character constant: its code as a number, written as NASM's 'c' in the
 * generated source (`cmp al, ' '` reads better than `cmp al, 0x20`).
 */
export const chr = (ch: string): ExprNode => {
  if (ch.length !== 1 || ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) > 0x7e) throw new Error(`chr(${JSON.stringify(ch)}): one printable ASCII character expected`);
  return new ExprNode({ t: 'char', ch });
};

/**
 * A number written in decimal in the generated source, whatever its size:
 * `a.add(eax, dec(999))` prints `add eax, 999`, where a bare 999 would print
 * as 0x3E7.  For quantities a reader counts in decimal: a base, a divisor,
 * milliseconds, a count of bytes.
 */
export const dec = (v: number): ExprNode => {
  if (!Number.isInteger(v)) throw new Error(`dec(${v}): an integer expected`);
  return new ExprNode({ t: 'num', v, radix: 10 });
};

/** A reference to a label (or an `equ`) by name. Local labels start with '.'. */
export const L = (name: string): ExprNode => new ExprNode({ t: 'sym', name });
/** NASM `$`: the address of the current instruction or data item. */
export const HERE = new ExprNode({ t: 'here' });
/** NASM `$$`: the address where the current section starts (its origin). */
export const START = new ExprNode({ t: 'start' });

/**
 * A named constant, defined once in TypeScript and emitted as a NASM `equ`
 * (with its doc comment) in every component that uses it.
 */
export interface Const {
  readonly name: string;
  readonly value: Expr;
  readonly doc: string;
  /** The TypeScript file that defines it (for the generated listing). */
  readonly file: string;
  /**
   * Set for the offsets and size of a structure (struct.ts): they are not
   * printed as `equ` lines but as the structure's whole `struc … endstruc`
   * block, once, where the structure is defined.
   */
  readonly struct?: StructInfo;
  /** How the numbers in its value are written: 10 for counts and quantities, else hex (nasm.ts num()). */
  readonly radix?: Radix;
}

/** What the assembler and the NASM emitter need to know about a structure (struct.ts builds it). */
export interface StructInfo {
  readonly name: string;
  /** All its named constants: the field offsets in field order, then the size (`name_size`). */
  readonly consts: () => readonly Const[];
  /** The structures it embeds (fields or array elements): their blocks must come first. */
  readonly nested: () => readonly StructInfo[];
  /** The NASM `struc` block, with comments. */
  readonly nasm: () => string[];
}

export interface ConstRef extends ExprNode {
  readonly c: Const;
}

const constNames = new Map<string, Const>();
const definedAt = new Map<Const, number>();

/** The order in which constants were defined: within one TypeScript file, their order in the source. */
export function definitionOrder(c: Const): number {
  return definedAt.get(c) ?? Number.MAX_SAFE_INTEGER;
}

/**
 * Define a named constant: `const ICW1_INIT = constant('ICW1_INIT', 0x10, '8259A ICW1 bit 4: ...')`.
 * Names are global to the project and must be unique.
 */
export function constant(name: string, value: Expr, doc: string, opts: { radix?: Radix } = {}): ConstRef {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`constant name '${name}' is not a valid NASM identifier`);
  if (opts.radix !== undefined && opts.radix !== 10 && opts.radix !== 16) throw new Error(`constant '${name}': radix ${opts.radix} is not 10 or 16`);
  return registerConst(name, value, doc, callerFile(), undefined, opts.radix);
}

/** The registry behind constant() (and struct.ts, whose names contain a dot: `virtq_desc.len`). */
export function registerConst(name: string, value: Expr, doc: string, file: string, struct?: StructInfo, radix?: Radix): ConstRef {
  const prev = constNames.get(name);
  if (prev && (prev.file !== file || !sameExpr(prev.value, value))) {
    throw new Error(`constant '${name}' is defined twice: in ${prev.file} and in ${file}`);
  }
  const c: Const = Object.freeze({ name, value, doc, file, ...(struct ? { struct } : {}), ...(radix ? { radix } : {}) });
  constNames.set(name, c);
  definedAt.set(c, definedAt.size);
  const node = new ExprNode({ t: 'const', c }) as ConstRef;
  (node as { c: Const }).c = c;
  return node;
}

function sameExpr(a: Expr, b: Expr): boolean {
  return JSON.stringify(a, (_k, v) => (v instanceof ExprNode ? v.tree : v)) ===
    JSON.stringify(b, (_k, v) => (v instanceof ExprNode ? v.tree : v));
}

// ------------------------------------------------------------------- memory

export type MemSize = Size | 'none';

/** The address part of a memory operand: [seg: base + index*scale + disp]. */
export interface Address {
  readonly base?: Reg16 | Reg32;
  readonly index?: Reg16 | Reg32;
  readonly scale?: 1 | 2 | 4 | 8;
  readonly disp?: Expr;
  readonly seg?: SegReg;
}

/** A memory operand. `size` is the width of the data accessed ('none' for lea, lgdt …). */
export interface Mem<S extends MemSize = MemSize> {
  readonly kind: 'mem';
  readonly size: S;
  readonly addr: Address;
}
export type Mem8 = Mem<8>;
export type Mem16 = Mem<16>;
export type Mem32 = Mem<32>;

/** What the size helpers accept: a register (`[ebx]`), an expression (`[label]`), or a full Address. */
export type AddrLike = Reg16 | Reg32 | Expr | Address;

function toAddress(a: AddrLike, disp?: Expr): Address {
  let addr: Address;
  if (typeof a === 'number' || a instanceof ExprNode) addr = { disp: a };
  else if ('kind' in a && a.kind === 'gpr') addr = { base: a };
  else addr = a as Address;
  if (disp !== undefined) {
    if (addr.disp !== undefined) throw new Error('memory operand given two displacements');
    addr = { ...addr, disp };
  }
  return Object.freeze(addr);
}

const memOf = <S extends MemSize>(size: S) => (a: AddrLike, disp?: Expr): Mem<S> =>
  Object.freeze({ kind: 'mem', size, addr: toAddress(a, disp) });

/** `byte [a + disp]` */
export const byte = memOf(8);
/** `word [a + disp]` */
export const word = memOf(16);
/** `dword [a + disp]` */
export const dword = memOf(32);
/** `[a + disp]` with no data size (lea, lgdt, lidt, invlpg). */
export const mem = memOf('none');

// -------------------------------------------------------------- far pointer

/** An immediate far pointer `selector:offset` (jmp/call far). `wide` = ptr16:32 from 16-bit code. */
export interface FarPtr {
  readonly kind: 'far';
  readonly selector: Expr;
  readonly offset: Expr;
  readonly wide: boolean;
}
export const far = (selector: Expr, offset: Expr, opts: { wide?: boolean } = {}): FarPtr =>
  Object.freeze({ kind: 'far', selector, offset, wide: opts.wide ?? false });

export type Operand = Register | Mem | Expr | FarPtr;

export const isReg = (o: Operand): o is Register =>
  typeof o === 'object' && !(o instanceof ExprNode) && (o.kind === 'gpr' || o.kind === 'seg' || o.kind === 'cr');
export const isMem = (o: Operand): o is Mem =>
  typeof o === 'object' && !(o instanceof ExprNode) && o.kind === 'mem';
export const isFar = (o: Operand): o is FarPtr =>
  typeof o === 'object' && !(o instanceof ExprNode) && o.kind === 'far';
export const isExpr = (o: Operand): o is Expr => typeof o === 'number' || o instanceof ExprNode;

// ---------------------------------------------------------- source location

const helperFiles = new Set<string>();

/**
 * Declare the calling file an emit helper (like kernel/lib/print.ts, whose say()
 * writes `mov eax, msg; call serial_puts`): the listing then attributes the
 * instructions a helper emits to the line that called the helper, not to the
 * helper's own line.  Call it once at the top level of the helper file.
 */
export function emitHelperFile(): void {
  const f = frames()[0];
  if (!f) throw new Error('emitHelperFile(): cannot tell which file called it');
  helperFiles.add(f.file);
}

/** The stack frames outside toolchain/x86, node internals and node_modules, nearest first. */
function frames(limit = 12): { file: string; line: string }[] {
  // Only the nearest frames matter; formatting a full stack (with source maps) is slow.
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = limit;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = saved;
  const out: { file: string; line: string }[] = [];
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!m) continue;
    const file = m[1]!.replace(/^file:\/\//, '');
    if (file.includes('/toolchain/x86/') || file.startsWith('node:') || file.includes('node_modules')) continue;
    out.push({ file, line: m[2]! });
  }
  return out;
}

/**
 * The TS line that wrote the instruction: the first stack frame outside
 * toolchain/x86 and outside files declared with emitHelperFile().
 */
export function callerLocation(): string {
  const f = frames().find((fr) => !helperFiles.has(fr.file));
  return f ? `${relPath(f.file)}:${f.line}` : '<unknown>';
}

/** The TS file whose top level (or function) called into the toolchain: where a constant or module is defined. */
export function callerFile(): string {
  const f = frames(8)[0];
  return f ? relPath(f.file) : '<unknown>';
}

function relPath(file: string): string {
  const cwd = process.cwd() + '/';
  return file.startsWith(cwd) ? file.slice(cwd.length) : file;
}
