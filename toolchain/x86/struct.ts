// Structure layouts: the eDSL's `struct`.
//
// A structure is a list of fields laid out one after the other, each at an
// offset the helper computes.  Define it once:
//
//   export const VIRTQ_DESC = defineStruct('virtq_desc', {
//     addr: u64('guest-physical address of the buffer'),
//     len: u32('length of the buffer in bytes'),
//     flags: u16('VIRTQ_DESC_F_*'),
//     next: u16('index of the next descriptor if flags & NEXT'),
//   }, { doc: 'virtqueue descriptor (virtio 1.1 §2.6.5)', align: 16, size: 16 });
//
// and use its fields as displacements:
//
//   a.mov(eax, VIRTQ_DESC.at(ebx).len)         mov eax, dword [ebx+virtq_desc.len]
//   a.mov(eax, dword(ebx, VIRTQ_DESC.f.len))   the same, spelled out
//   a.add(ebx, VIRTQ_DESC.SIZE)                add ebx, virtq_desc_size
//   VIRTQ_DESC.f.len.offset === 8, VIRTQ_DESC.size === 16 (plain numbers, for TypeScript)
//
// Field names are typed keys: `VIRTQ_DESC.f.lenght` does not compile, and
// `.at(base)` gives each field a memory operand of the field's own width
// (u8 → byte, u16/be16 → word, u32/be32 → dword; u64, arrays of structures
// and nested structures have no single width: use `dword(base, S.f.x)` or
// `mem(base, S.f.x)` for them).
//
// Field kinds: u8 u16 u32 u64 (little-endian, as the CPU stores them), be16
// be32 (big-endian: network byte order; the field records it, so code knows
// to convert with xchg al, ah / bswap), array(elem, n), nested(OtherStruct),
// and pad(n) for explicit padding (a pad field gets no name of its own).  A
// field inside a nested structure is `OUTER.f.hdr.add(ETH_HDR.f.type)`.
//
// Checks, each an error naming the structure and the field:
//   - natural alignment: a field sits at a multiple of its own alignment (its
//     size; the element's for arrays; the structure's for nested ones) —
//     unless the structure is `packed: true` (network headers: IPv4 follows a
//     14-byte Ethernet header, so nothing in it is aligned in memory anyway);
//   - the size is a multiple of the structure's alignment (add pad(n));
//   - a declared `size` and `align` hold.
// Duplicate field names do not compile (an object literal has each key once).
//
// NASM output: the first time a component uses a structure, its whole layout
// is printed as a `struc` block in the module that defines it (like constants:
// nasm.ts), in field order, with each field's offset, type and doc:
//
//   struc virtq_desc                           ; virtqueue descriptor ... (16 bytes, align 16)
//       .addr:      resq 1                     ; +0 u64: guest-physical address of the buffer
//       .len:       resd 1                     ; +8 u32: length of the buffer in bytes
//       ...
//   endstruc                                   ; virtq_desc_size = 16
//
// NASM's struc defines `virtq_desc.addr` … (offsets), `virtq_desc_size`, and
// `virtq_desc` itself (= 0), and the instructions refer to the fields by
// those names.  (NASM manual §5.9.1 STRUC and ENDSTRUC.)

import {
  type AddrLike, type Address, type Const, type ConstRef, type Expr, type Mem, type StructInfo,
  ExprNode, bin, byte, callerFile, dword, mem, registerConst, word,
} from './operands.ts';

// ------------------------------------------------------------------ fields

export type ByteOrder = 'le' | 'be';
type Width = 1 | 2 | 4 | 8;

/** An integer field: `bytes` wide, stored little-endian (the CPU's order) or big-endian (network order). */
export interface IntField<W extends Width = Width> {
  readonly kind: 'int';
  readonly bytes: W;
  readonly order: ByteOrder;
  readonly doc?: string;
}
/** A structure embedded as a field. */
export interface NestedField<S extends AnyStruct = AnyStruct> {
  readonly kind: 'struct';
  readonly struct: S;
  readonly doc?: string;
}
export type ElemField = IntField | NestedField;
/** `count` elements one after the other. */
export interface ArrayField<E extends ElemField = ElemField> {
  readonly kind: 'array';
  readonly of: E;
  readonly count: number;
  readonly doc?: string;
}
/** Explicit padding: bytes the structure reserves but does not name. */
export interface PadField {
  readonly kind: 'pad';
  readonly bytes: number;
  readonly doc?: string;
}
export type FieldSpec = IntField | NestedField | ArrayField | PadField;
export type FieldSpecs = Record<string, FieldSpec>;

const int = <W extends Width>(bytes: W, order: ByteOrder) => (doc?: string): IntField<W> => Object.freeze({ kind: 'int', bytes, order, doc });

/** 8-bit field. */
export const u8 = int(1, 'le');
/** 16-bit field, little-endian (as the CPU stores it). */
export const u16 = int(2, 'le');
/** 32-bit field, little-endian. */
export const u32 = int(4, 'le');
/** 64-bit field, little-endian (e.g. a 64-bit physical address; 32-bit code reads it as two dwords). */
export const u64 = int(8, 'le');
/** 16-bit field, big-endian (network byte order, RFC 1700): swap bytes (xchg al, ah) to use it. */
export const be16 = int(2, 'be');
/** 32-bit field, big-endian (network byte order): bswap (486+) to use it. */
export const be32 = int(4, 'be');

/** `count` elements of an integer type or structure: `array(u8(), 6, 'MAC address')`. */
export function array<E extends ElemField>(of: E, count: number, doc?: string): ArrayField<E> {
  if (!Number.isInteger(count) || count < 1) throw new Error(`array(): element count ${count} is not a positive integer (${callerFile()})`);
  return Object.freeze({ kind: 'array', of, count, doc });
}
/** A structure embedded as a field: `hdr: nested(ETH_HDR, 'the Ethernet header')`. */
export function nested<S extends AnyStruct>(struct: S, doc?: string): NestedField<S> {
  return Object.freeze({ kind: 'struct', struct, doc });
}
/** `n` bytes of explicit padding (no name of its own; the key is only for the TypeScript object). */
export function pad(n: number, doc?: string): PadField {
  if (!Number.isInteger(n) || n < 1) throw new Error(`pad(): ${n} is not a positive number of bytes (${callerFile()})`);
  return Object.freeze({ kind: 'pad', bytes: n, doc });
}

// -------------------------------------------------------------- structures

/** Field names (the keys that are not padding). */
export type FieldName<F extends FieldSpecs> = { [K in keyof F]: F[K] extends PadField ? never : K }[keyof F] & string;

/** The memory operand `.at(base)` gives a field: its own width where it has one. */
export type MemFor<T extends FieldSpec> =
  T extends IntField<1> ? Mem<8> : T extends IntField<2> ? Mem<16> : T extends IntField<4> ? Mem<32> :
  T extends ArrayField<IntField<1>> ? Mem<8> : T extends ArrayField<IntField<2>> ? Mem<16> : T extends ArrayField<IntField<4>> ? Mem<32> :
  Mem<'none'>;

/** Where one field landed. */
export interface FieldLayout {
  /** Undefined for padding. */
  readonly name?: string;
  readonly offset: number;
  readonly size: number;
  readonly align: number;
  /** 'u32', 'be16', 'u8[6]', 'eth_hdr', 'virtq_desc[8]', 'padding'. */
  readonly type: string;
  /** Byte order of an integer field or an integer array's elements. */
  readonly order?: ByteOrder;
  readonly doc?: string;
  readonly spec: FieldSpec;
}

/** A field's offset as an expression (printed `struct.field`), with its layout. */
export interface FieldRef extends ConstRef {
  readonly offset: number;
  readonly layout: FieldLayout;
}

export interface StructOptions {
  /** What the structure is and where it is specified. */
  readonly doc: string;
  /** Declared size in bytes: an error unless the fields add up to it. */
  readonly size?: number;
  /** Declared alignment (power of two): at least the fields' own unless packed; the size must be a multiple. */
  readonly align?: number;
  /** Fields may sit at any offset (network headers). */
  readonly packed?: boolean;
}

export interface Struct<F extends FieldSpecs = FieldSpecs> {
  readonly name: string;
  readonly doc: string;
  /** Size in bytes (a number, for TypeScript arithmetic). */
  readonly size: number;
  readonly align: number;
  readonly packed: boolean;
  /** The size as an expression, printed `name_size`. */
  readonly SIZE: ConstRef;
  /** Each field's offset as an expression, printed `name.field`. */
  readonly f: { readonly [K in FieldName<F>]: FieldRef };
  /** Every field in order, padding included. */
  readonly fields: readonly FieldLayout[];
  /** Memory operands for the fields of the structure at `base`: `PROC.at(ebx).pid` is `dword [ebx+proc.pid]`. */
  at(base: AddrLike): { readonly [K in FieldName<F>]: MemFor<F[K]> };
  /** The TypeScript file that defines it. */
  readonly file: string;
  readonly info: StructInfo;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStruct = Struct<any>;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const structs = new Map<string, { file: string }>();

function typeName(s: FieldSpec): string {
  switch (s.kind) {
    case 'int': return `${s.order === 'be' ? 'be' : 'u'}${s.bytes * 8}`;
    case 'struct': return s.struct.name;
    case 'array': return `${typeName(s.of)}[${s.count}]`;
    case 'pad': return 'padding';
  }
}
function sizeOf(s: FieldSpec): number {
  switch (s.kind) {
    case 'int': return s.bytes;
    case 'struct': return s.struct.size;
    case 'array': return sizeOf(s.of) * s.count;
    case 'pad': return s.bytes;
  }
}
function alignOf(s: FieldSpec): number {
  switch (s.kind) {
    case 'int': return s.bytes;
    case 'struct': return s.struct.align;
    case 'array': return alignOf(s.of);
    case 'pad': return 1;
  }
}

/** Define a structure layout; see the header of this file. Errors name the structure and the field. */
export function defineStruct<const F extends FieldSpecs>(name: string, fields: F, opts: StructOptions): Struct<F> {
  const file = callerFile();
  const err = (msg: string) => new Error(`struct '${name}' (${file}): ${msg}`);
  if (!IDENT.test(name)) throw err('the name is not a valid NASM identifier');
  const prev = structs.get(name);
  if (prev && prev.file !== file) throw err(`a struct of this name is already defined in ${prev.file}`);
  const entries = Object.entries(fields);
  if (entries.length === 0) throw err('no fields');
  const packed = opts.packed ?? false;
  const layout: FieldLayout[] = [];
  let offset = 0;
  let natural = 1;
  for (const [key, spec] of entries) {
    const size = sizeOf(spec);
    const align = alignOf(spec);
    if (spec.kind !== 'pad') {
      if (!IDENT.test(key)) throw err(`field name '${key}' is not a valid NASM identifier`);
      natural = Math.max(natural, align);
      if (!packed && offset % align !== 0) {
        const fix = align - (offset % align);
        throw err(`field '${key}' (${typeName(spec)}) is at offset ${offset}, not a multiple of its alignment ${align}: add pad(${fix}) before it, or declare the struct packed: true if the hardware or protocol puts it there`);
      }
    }
    layout.push({ name: spec.kind === 'pad' ? undefined : key, offset, size, align, type: typeName(spec), order: orderOf(spec), doc: spec.doc, spec });
    offset += size;
  }
  const size = offset;
  let align = packed ? 1 : natural;
  if (opts.align !== undefined) {
    if (!Number.isInteger(opts.align) || opts.align < 1 || (opts.align & (opts.align - 1)) !== 0) throw err(`declared align ${opts.align} is not a power of two`);
    if (!packed && opts.align < natural) {
      const f = layout.find((l) => l.name && l.align > opts.align!)!;
      throw err(`declared align ${opts.align} is less than field '${f.name}' (${f.type}) needs (${f.align})`);
    }
    align = opts.align;
  }
  if (opts.size !== undefined && opts.size !== size) {
    const last = layout[layout.length - 1]!;
    throw err(opts.size > size
      ? `declared size ${opts.size}, but the fields end at ${size} (after '${last.name ?? 'padding'}'): add pad(${opts.size - size}) at the end, or fix the declared size`
      : `declared size ${opts.size}, but the fields end at ${size}: field '${layout.find((l) => l.offset + l.size > opts.size!)!.name ?? 'padding'}' ends beyond it`);
  }
  if (size % align !== 0) {
    throw err(`size ${size} is not a multiple of its alignment ${align} (an array of it would misalign fields): add pad(${align - (size % align)}) at the end`);
  }
  structs.set(name, { file });

  // The named constants: offsets in field order, then the size.
  const refs: Record<string, FieldRef> = {};
  const consts: Const[] = [];
  const info: StructInfo = {
    name,
    consts: () => consts,
    nested: () => layout.flatMap((l) => {
      const s = l.spec.kind === 'struct' ? l.spec.struct : l.spec.kind === 'array' && l.spec.of.kind === 'struct' ? l.spec.of.struct : null;
      return s ? [s.info] : [];
    }),
    nasm: () => nasmBlock(name, opts.doc, layout, size, align, packed),
  };
  for (const l of layout) {
    if (!l.name) continue;
    const doc = `+${l.offset} ${l.type}${l.doc ? ': ' + l.doc : ''}`;
    const ref = registerConst(`${name}.${l.name}`, l.offset, doc, file, info) as FieldRef;
    Object.assign(ref, { offset: l.offset, layout: l });
    refs[l.name] = ref;
    consts.push(ref.c);
  }
  const SIZE = registerConst(`${name}_size`, size, `bytes in a ${name}`, file, info);
  consts.push(SIZE.c);

  const memFor = (l: FieldLayout) => {
    const w = l.spec.kind === 'int' ? l.spec.bytes : l.spec.kind === 'array' && l.spec.of.kind === 'int' ? l.spec.of.bytes : 0;
    return w === 1 ? byte : w === 2 ? word : w === 4 ? dword : mem;
  };
  const at = (base: AddrLike) => {
    const out: Record<string, Mem> = {};
    for (const l of layout) if (l.name) out[l.name] = memFor(l)(withDisp(base, refs[l.name]!));
    return Object.freeze(out);
  };
  return Object.freeze({
    name, doc: opts.doc, size, align, packed, SIZE, f: Object.freeze(refs), fields: Object.freeze(layout), file, info, at,
  }) as unknown as Struct<F>;
}

function orderOf(s: FieldSpec): ByteOrder | undefined {
  if (s.kind === 'int') return s.order;
  if (s.kind === 'array' && s.of.kind === 'int') return s.of.order;
  return undefined;
}

/** base + field offset, as an Address. */
function withDisp(base: AddrLike, d: Expr): Address {
  if (typeof base === 'number' || base instanceof ExprNode) return { disp: bin('+', base, d) };
  if ('kind' in base && base.kind === 'gpr') return { base, disp: d };
  const a = base as Address;
  return { ...a, disp: a.disp === undefined ? d : bin('+', a.disp, d) };
}

const RES: Record<number, string> = { 1: 'resb', 2: 'resw', 4: 'resd', 8: 'resq' };

/** The NASM `struc` block (NASM manual §5.9.1): one line per field, in order, with offset, type and doc. */
function nasmBlock(name: string, doc: string, layout: readonly FieldLayout[], size: number, align: number, packed: boolean): string[] {
  const COL = 48;
  const line = (code: string, comment?: string) => (comment ? `${code.padEnd(COL - 1)} ; ${comment}` : code);
  const docLines = doc.trim().split('\n');
  const out = [line(`struc ${name}`, `${docLines[0]} (${size} bytes, ${packed ? 'packed' : `align ${align}`})`)];
  for (const d of docLines.slice(1)) out.push(line('', d));
  const nameWidth = Math.max(...layout.map((l) => (l.name?.length ?? 0) + 2));
  for (const l of layout) {
    const s = l.spec;
    let res: string;
    if (s.kind === 'int') res = `${RES[s.bytes]} 1`;
    else if (s.kind === 'pad') res = `resb ${l.size}`;
    else if (s.kind === 'struct') res = `resb ${s.struct.name}_size`;
    else if (s.of.kind === 'int') res = `${RES[s.of.bytes]} ${s.count}`;
    else res = `resb ${s.of.struct.name}_size * ${s.count}`;
    const label = l.name ? `.${l.name}:` : '';
    const order = l.order === 'be' ? ' (big-endian: network order)' : '';
    out.push(line(`    ${label.padEnd(nameWidth)} ${res}`, `+${l.offset} ${l.type}${order}${l.doc ? ': ' + l.doc : ''}`));
  }
  out.push(line('endstruc', `${name}_size = ${size}`));
  return out;
}
