// Instruction-form selection from iced-x86's own opcode metadata.
//
// There is no hand-written opcode table here: at first use we walk every
// iced `Code`, keep the legacy-encoded instructions valid in 16- or 32-bit
// mode, and index them by mnemonic.  To encode one instruction we keep the
// forms whose operand kinds fit the operands, trial-encode each, and pick the
// one NASM would pick (the preference rules below; each came from a real
// mismatch against `nasm -f bin`).

import iced from 'iced-x86';
import type { Bits } from './asm.ts';
import type { Mem, Register } from './operands.ts';
import { LOCKABLE_MNEMONICS } from './asm.ts';

const { Code, CodeExt, EncodingKind, Instruction, Mnemonic, MemoryOperand, MemorySize, MemorySizeExt, Encoder, Register: IReg } = iced;
type IcedInstruction = InstanceType<typeof Instruction>;

/** iced's OpCodeOperandKind values we handle (see iced_x86.d.ts). */
const K = {
  farbr2_2: 1, farbr4_2: 2, mem_offs: 3, mem: 4,
  r8_or_mem: 13, r16_or_mem: 14, r32_or_mem: 15,
  r8_reg: 25, r8_opcode: 26, r16_reg: 27, r16_reg_mem: 28, r16_rm: 29, r16_opcode: 30,
  r32_reg: 31, r32_reg_mem: 32, r32_rm: 33, r32_opcode: 34,
  seg_reg: 41, cr_reg: 63,
  es: 67, cs: 68, ss: 69, ds: 70, fs: 71, gs: 72, al: 73, cl: 74, ax: 75, dx: 76, eax: 77,
  imm8: 82, imm8_const_1: 83, imm8sex16: 84, imm8sex32: 85, imm16: 87, imm32: 88,
  br16_1: 95, br32_1: 96, br16_2: 98, br32_4: 99,
} as const;

const FIXED_REG: Record<number, string> = {
  [K.es]: 'es', [K.cs]: 'cs', [K.ss]: 'ss', [K.ds]: 'ds', [K.fs]: 'fs', [K.gs]: 'gs',
  [K.al]: 'al', [K.cl]: 'cl', [K.ax]: 'ax', [K.dx]: 'dx', [K.eax]: 'eax',
};
const REL8 = new Set<number>([K.br16_1, K.br32_1]);
const RELNEAR = new Set<number>([K.br16_2, K.br32_4]);

export interface Form {
  readonly code: number;
  readonly name: string;
  readonly ops: readonly number[];
  readonly opSize: number;
  readonly addrSize: number;
  /** Bytes of memory the memory operand accesses (0 = not applicable / unknown). */
  readonly memBytes: number;
  readonly farMem: boolean;
  readonly mode16: boolean;
  readonly mode32: boolean;
}

let table: Map<string, Form[]> | null = null;

/** The metadata index, built once per process (~20 ms). */
export function formsByMnemonic(): Map<string, Form[]> {
  if (table) return table;
  table = new Map();
  for (const v of Object.values(Code)) {
    if (typeof v !== 'number') continue;
    const info = CodeExt.opCode(v);
    try {
      if (!info.isInstruction || info.encoding !== EncodingKind.Legacy || !(info.mode16 || info.mode32)) continue;
      // Cmpxchg486_*: 0F A6/A7, the opcode of early 486 steppings, later reassigned; NASM emits 0F B0/B1.
      if (String(Code[v]).startsWith('Cmpxchg486')) continue;
      const ins = Instruction.create(v);
      const mn = String(Mnemonic[ins.mnemonic]).toLowerCase();
      ins.free();
      const ops: number[] = [];
      for (let i = 0; i < info.opCount; i++) ops.push(info.opKind(i));
      const msName = String(MemorySize[info.memorySize]);
      const form: Form = {
        code: v, name: String(Code[v]), ops, opSize: info.operandSize, addrSize: info.addressSize,
        memBytes: MemorySizeExt.size(info.memorySize), farMem: msName.startsWith('SegPtr'),
        mode16: info.mode16, mode32: info.mode32,
      };
      const list = table.get(mn) ?? [];
      list.push(form);
      table.set(mn, list);
    } finally {
      info.free();
    }
  }
  return table;
}

// ------------------------------------------------------------ resolved operands

/** An operand after expression evaluation: what the encoder needs. */
export type ResolvedOp =
  | { readonly t: 'reg'; readonly r: Register }
  | { readonly t: 'mem'; readonly m: Mem; readonly disp: number; readonly reloc: boolean }
  | { readonly t: 'imm'; readonly v: number; readonly reloc: boolean }
  | { readonly t: 'far'; readonly sel: number; readonly off: number; readonly wide: boolean };

export interface Encoded {
  readonly bytes: Uint8Array;
  readonly form: string;
  /** For label branches: whether the near (not rel8) form was used. */
  readonly near: boolean;
}

/** NASM's spellings that iced names differently. */
const ALIASES: Record<string, string> = {
  jz: 'je', jnz: 'jne', jc: 'jb', jnae: 'jb', jnc: 'jae', jnb: 'jae', jna: 'jbe', jnbe: 'ja',
  jnge: 'jl', jnl: 'jge', jng: 'jle', jnle: 'jg', jpe: 'jp', jpo: 'jnp',
  setz: 'sete', setnz: 'setne', setc: 'setb', setnae: 'setb', setnc: 'setae', setnb: 'setae',
  setna: 'setbe', setnbe: 'seta', setnge: 'setl', setnl: 'setge', setng: 'setle', setnle: 'setg',
  setpe: 'setp', setpo: 'setnp', loopz: 'loope', loopnz: 'loopne',
};
/** In 32-bit code NASM's `iret`, `pusha` … are the 32-bit forms. */
const SIZED_32: Record<string, string> = { iret: 'iretd', pusha: 'pushad', popa: 'popad', pushf: 'pushfd', popf: 'popfd' };

export function icedMnemonic(mn: string, bits: Bits): string {
  let m = ALIASES[mn] ?? mn;
  if (mn === 'sal') m = 'shl'; // iced's Sal_* codes are the /6 alias; NASM encodes sal as /4
  if (bits === 32 && SIZED_32[m]) m = SIZED_32[m]!;
  return m;
}

const sizeOfReg = (r: Register): number => r.size;
const signed = (v: number, bits: number): number => {
  const m = bits === 32 ? v >>> 0 : v & ((1 << bits) - 1);
  return m >= 2 ** (bits - 1) ? m - 2 ** bits : m;
};

function regKindFits(kind: number, r: Register, opIndex: number, opCount: number, form: Form): boolean {
  if (FIXED_REG[kind]) return r.name === FIXED_REG[kind];
  if (r.kind === 'seg') return kind === K.seg_reg;
  if (r.kind === 'cr') return kind === K.cr_reg;
  switch (kind) {
    case K.r8_or_mem: case K.r8_reg: case K.r8_opcode: return r.size === 8;
    case K.r16_or_mem: case K.r16_reg: case K.r16_reg_mem: case K.r16_rm: case K.r16_opcode: return r.size === 16;
    case K.r32_or_mem:
      // `mov ds, ax` / `ltr ax` in 32-bit code: NASM uses the r32/m16 form without a 66 prefix.
      if (r.size === 16 && form.memBytes === 2 && (opIndex > 0 || opCount === 1)) return true;
      return r.size === 32;
    case K.r32_reg: case K.r32_reg_mem: case K.r32_rm: case K.r32_opcode: return r.size === 32;
    default: return false;
  }
}

function memKindFits(kind: number, op: Extract<ResolvedOp, { t: 'mem' }>, form: Form): boolean {
  const size = op.m.size;
  switch (kind) {
    case K.mem: return !form.farMem;
    case K.mem_offs: return !op.m.addr.base && !op.m.addr.index && size !== 'none' && size === form.memBytes * 8;
    case K.r8_or_mem: case K.r16_or_mem: case K.r32_or_mem:
      return size !== 'none' && (form.memBytes === 0 || size === form.memBytes * 8);
    default: return false;
  }
}

function immKindFits(kind: number, op: Extract<ResolvedOp, { t: 'imm' }>): boolean {
  const v = op.v;
  switch (kind) {
    case K.imm8: return !op.reloc && v >= -128 && v <= 255;
    case K.imm8_const_1: return !op.reloc && v === 1;
    case K.imm8sex16: { const s = signed(v, 16); return !op.reloc && v >= -65536 && v <= 0xffff && s >= -128 && s <= 127; }
    case K.imm8sex32: { const s = signed(v, 32); return !op.reloc && s >= -128 && s <= 127; }
    case K.imm16: return v >= -32768 && v <= 0xffff;
    case K.imm32: return v >= -(2 ** 31) && v <= 0xffffffff;
    default: return false;
  }
}

function fits(form: Form, ops: readonly ResolvedOp[], bits: Bits, branch: boolean): boolean {
  if (form.ops.length !== ops.length) return false;
  if (!(bits === 16 ? form.mode16 : form.mode32)) return false;
  for (let i = 0; i < ops.length; i++) {
    const kind = form.ops[i]!;
    const op = ops[i]!;
    switch (op.t) {
      case 'reg': if (!regKindFits(kind, op.r, i, ops.length, form)) return false; break;
      case 'mem': if (!memKindFits(kind, op, form)) return false; break;
      case 'imm':
        if (branch) { if (!REL8.has(kind) && !RELNEAR.has(kind)) return false; }
        else if (!immKindFits(kind, op)) return false;
        break;
      case 'far':
        if (kind !== (op.wide || bits === 32 ? K.farbr4_2 : K.farbr2_2)) return false;
        break;
    }
  }
  return true;
}

const icedReg = (r: Register, widen = false): number => {
  const name = widen && r.kind === 'gpr' && r.size === 16 ? 'e' + r.name : r.name;
  const v = (IReg as unknown as Record<string, number>)[name.toUpperCase()];
  if (v === undefined) throw new Error(`internal: no iced register for ${name}`);
  return v;
};

function memOperand(op: Extract<ResolvedOp, { t: 'mem' }>, bits: Bits): InstanceType<typeof MemoryOperand> {
  const { base, index, scale, seg } = op.m.addr;
  const regBits = base?.size ?? index?.size ?? bits;
  let displSize: number;
  let disp = op.disp;
  if (!base && !index) { displSize = regBits === 16 ? 2 : 4; disp = regBits === 16 ? disp & 0xffff : disp >>> 0; }
  else if (op.reloc) displSize = regBits === 16 ? 2 : 4;
  else displSize = disp === 0 ? 0 : 1;
  if (displSize === 1 && regBits === 16) disp = signed(disp, 16);
  return new MemoryOperand(
    base ? icedReg(base) : IReg.None, index ? icedReg(index) : IReg.None, scale ?? 1,
    BigInt(disp), displSize, false, seg ? icedReg(seg) : IReg.None,
  );
}

const U32 = (v: number): boolean => v > 0x7fffffff;

function create(form: Form, ops: readonly ResolvedOp[], bits: Bits): IcedInstruction {
  const c = form.code;
  const shape = ops.map((o) => o.t).join(',');
  const r = (i: number) => {
    const o = ops[i] as Extract<ResolvedOp, { t: 'reg' }>;
    // 16-bit register in an r32/m16 slot (mov ds, ax in 32-bit code): iced wants the 32-bit name.
    return icedReg(o.r, form.ops[i] === K.r32_or_mem && o.r.size === 16);
  };
  const m = (i: number) => memOperand(ops[i] as Extract<ResolvedOp, { t: 'mem' }>, bits);
  const v = (i: number) => (ops[i] as Extract<ResolvedOp, { t: 'imm' }>).v;
  const isSex = (i: number) => form.ops[i] === K.imm8sex16 || form.ops[i] === K.imm8sex32;
  const imm = (i: number): number => {
    const x = v(i);
    if (isSex(i)) return signed(x, form.ops[i] === K.imm8sex16 ? 16 : 32);
    return x;
  };
  switch (shape) {
    case '': return Instruction.create(c);
    case 'reg': return Instruction.createReg(c, r(0));
    case 'mem': return Instruction.createMem(c, m(0));
    case 'imm': {
      if (REL8.has(form.ops[0]!) || RELNEAR.has(form.ops[0]!)) return Instruction.createBranch(c, BigInt(v(0) >>> 0));
      return U32(v(0)) ? Instruction.createU32(c, v(0)) : Instruction.createI32(c, imm(0));
    }
    case 'far': {
      const f = ops[0] as Extract<ResolvedOp, { t: 'far' }>;
      return Instruction.createFarBranch(c, f.sel, f.off >>> 0);
    }
    case 'reg,reg': return Instruction.createRegReg(c, r(0), r(1));
    case 'reg,mem': return Instruction.createRegMem(c, r(0), m(1));
    case 'mem,reg': return Instruction.createMemReg(c, m(0), r(1));
    case 'reg,imm': return U32(v(1)) && !isSex(1) ? Instruction.createRegU32(c, r(0), v(1)) : Instruction.createRegI32(c, r(0), imm(1));
    case 'mem,imm': return U32(v(1)) && !isSex(1) ? Instruction.createMemU32(c, m(0), v(1)) : Instruction.createMemI32(c, m(0), imm(1));
    case 'imm,reg': return Instruction.createI32Reg(c, imm(0), r(1));
    case 'imm,imm': return Instruction.createI32I32(c, imm(0), imm(1));
    case 'reg,reg,imm': return Instruction.createRegRegI32(c, r(0), r(1), imm(2));
    case 'reg,mem,imm': return Instruction.createRegMemI32(c, r(0), m(1), imm(2));
    case 'reg,reg,reg': return Instruction.createRegRegReg(c, r(0), r(1), r(2));
    case 'mem,reg,reg': return Instruction.createMemRegReg(c, m(0), r(1), r(2));
    case 'mem,reg,imm': return Instruction.createMemRegI32(c, m(0), r(1), imm(2));
    default: throw new Error(`operand shape (${shape}) is not supported`);
  }
}

const encoders = new Map<Bits, InstanceType<typeof Encoder>>();
function encodeAt(ins: IcedInstruction, bits: Bits, ip: number): Uint8Array {
  let enc = encoders.get(bits);
  if (!enc) { enc = new Encoder(bits); encoders.set(bits, enc); }
  try {
    enc.encode(ins, BigInt(ip >>> 0));
  } catch (e) {
    enc.takeBuffer(); // a failed encode may leave partial bytes behind
    throw e;
  }
  return enc.takeBuffer();
}

// ---------------------------------------------------------------- strings

const STRING_OPS = /^(?:(rep|repe|repne) )?(lods|stos|movs|ins|outs|cmps|scas)([bwd])$/;

function encodeString(mn: string, bits: Bits, ip: number): Encoded | null {
  const m = STRING_OPS.exec(mn);
  if (!m) return null;
  const [, rep, op, w] = m;
  const fname = `create${op![0]!.toUpperCase()}${op!.slice(1)}${w}`;
  const fn = (Instruction as unknown as Record<string, (...a: number[]) => IcedInstruction>)[fname];
  if (!fn) throw new Error(`internal: iced has no ${fname}`);
  const repKind = rep === undefined ? 0 : rep === 'repne' ? 2 : 1;
  const ins = fn.length === 3 ? fn(bits, IReg.None, repKind) : fn(bits, repKind);
  try {
    const bytes = encodeAt(ins, bits, ip);
    // NASM writes the REP prefix before the operand-size prefix (F3 66 AB); iced the other way round.
    const r = bytes.findIndex((b) => b === 0xf3 || b === 0xf2);
    if (r > 0) bytes.set([bytes[r]!, ...bytes.subarray(0, r)], 0);
    return { bytes, form: fname, near: false };
  } finally {
    ins.free();
  }
}

// ----------------------------------------------------------------- select

export class EncodeError extends Error {}

const swappedXchg = new WeakSet<readonly ResolvedOp[]>();
const reg16Of = (r: Register): Register => ({ kind: 'gpr', name: r.name.slice(1), size: 16 }) as Register;

/**
 * Encode one instruction at address `ip`, choosing the form NASM would choose:
 *  1. shortest encoding wins;
 *  2. on a tie, a sign-extended imm8 form beats the accumulator form;
 *  3. on a remaining tie, the lowest iced Code (NASM's r/m,reg direction, 80 over 82 …);
 *  4. operand size defaults to the mode unless an operand demands otherwise;
 *  label branches use rel8 unless `near` is set (or rel8 cannot reach).
 */
export function encodeInstruction(mn: string, ops: readonly ResolvedOp[], bits: Bits, ip: number, near: boolean, final = true): Encoded {
  if (mn.startsWith('lock ')) return encodeLocked(mn.slice(5), ops, bits, ip);
  const str = ops.length === 0 ? encodeString(mn, bits, ip) : null;
  if (str) return str;
  const name = icedMnemonic(mn, bits);
  if ((name === 'mov' || name === 'pop') && ops[0]?.t === 'reg' && ops[0].r.name === 'cs') {
    throw new EncodeError(`no form of '${mn}' can load CS (it raises #UD, SDM Vol. 2B MOV/POP): change CS with a far jmp, call or ret`);
  }
  if (name === 'mov' && ops.length === 2 && ops[0]!.t === 'reg' && ops[0]!.r.kind === 'seg' && ops[1]!.t === 'reg' && ops[1]!.r.size === 32) {
    // `mov sreg, r32`: NASM ignores the register width (only 16 bits move) and emits no 66 prefix.
    return encodeInstruction(mn, [ops[0]!, { t: 'reg', r: reg16Of(ops[1]!.r) }], bits, ip, near, final);
  }
  if (name === 'xchg' && ops.length === 2 && ops[0]!.t === 'reg' && ops[1]!.t === 'reg' && !swappedXchg.has(ops)) {
    // Rule 9: NASM puts the first operand in ModRM.reg, i.e. iced's r/m slot gets the second;
    // with an accumulator it uses the one-byte 90+r form, which wants the accumulator second.
    const [x, y] = ops as [Extract<ResolvedOp, { t: 'reg' }>, Extract<ResolvedOp, { t: 'reg' }>];
    const acc = (r: Register) => r.name === 'ax' || r.name === 'eax';
    const order = acc(x.r) ? [y, x] : acc(y.r) ? [x, y] : [y, x];
    swappedXchg.add(order);
    return encodeInstruction(mn, order, bits, ip, near, final);
  }
  const all = formsByMnemonic().get(name);
  if (!all) throw new EncodeError(`unknown mnemonic '${mn}'`);
  const isBranch = ops.length === 1 && ops[0]!.t === 'imm' && all.some((f) => f.ops.length === 1 && (REL8.has(f.ops[0]!) || RELNEAR.has(f.ops[0]!)));
  let cands = all.filter((f) => fits(f, ops, bits, isBranch));
  if (cands.length === 0 && (name === 'test' || name === 'xchg') && ops.length === 2 && ops[0]!.t === 'reg' && ops[1]!.t === 'mem') {
    // NASM accepts `test r, r/m` and `xchg r, m`; the only encodings are r/m, r.
    return encodeInstruction(mn, [ops[1]!, ops[0]!], bits, ip, near, final);
  }
  if (cands.length === 0) throw new EncodeError(`no form of '${mn}' takes operands (${describeOps(ops)}) in ${bits}-bit code`);
  // Rule 4: prefer the mode's operand and address size when such a form exists.
  const pref = cands.filter((f) => (f.opSize === 0 || f.opSize === bits) && (f.addrSize === 0 || f.addrSize === bits || name === 'jcxz' || name === 'jecxz'));
  if (pref.length > 0) cands = pref;
  if (isBranch) {
    const short = cands.filter((f) => REL8.has(f.ops[0]!));
    const long = cands.filter((f) => RELNEAR.has(f.ops[0]!));
    if (!near && short.length > 0) {
      try { return { ...encodeBest(short, ops, bits, ip), near: false }; } catch (e) {
        if (long.length === 0) {
          // loop/jcxz have no near form. Before the layout settles, forward labels
          // hold stale addresses: size the instruction with an in-range target.
          if (!final) return { ...encodeBest(short, [{ t: 'imm', v: ip, reloc: true }], bits, ip), near: false };
          throw rangeError(mn, e);
        }
      }
    }
    if (long.length === 0) throw new EncodeError(`'${mn}' target out of rel8 range`);
    return { ...encodeBest(long, ops, bits, ip), near: true };
  }
  return { ...encodeBest(cands, ops, bits, ip), near: false };
}

/**
 * `lock <mn>`: the instruction with a LOCK prefix.  Only the read-modify-write
 * instructions the SDM lists may take it, and only with a memory destination;
 * anything else raises #UD at run time, so it is an error here.  NASM writes
 * F0 before any operand-size prefix (F0 66 ...); iced the other way round.
 */
function encodeLocked(mn: string, ops: readonly ResolvedOp[], bits: Bits, ip: number): Encoded {
  if (!LOCKABLE_MNEMONICS.includes(mn)) {
    throw new EncodeError(`'lock ${mn}': LOCK may only prefix ${LOCKABLE_MNEMONICS.join(', ')} (and xchg, which locks itself) with a memory destination; on '${mn}' it raises #UD (SDM Vol. 2A, LOCK)`);
  }
  if (ops[0]?.t !== 'mem') {
    throw new EncodeError(`'lock ${mn}' needs a memory destination: with a register destination LOCK raises #UD (SDM Vol. 2A, LOCK), and a register is never shared anyway`);
  }
  const enc = encodeInstruction(mn, ops, bits, ip, false);
  const bytes = new Uint8Array(enc.bytes.length + 1);
  bytes[0] = 0xf0;
  bytes.set(enc.bytes, 1);
  return { ...enc, bytes, form: `lock ${enc.form}` };
}

function rangeError(mn: string, e: unknown): EncodeError {
  return new EncodeError(`'${mn}' cannot reach its target with a rel8 displacement (${(e as Error).message ?? e})`);
}

function encodeBest(cands: readonly Form[], ops: readonly ResolvedOp[], bits: Bits, ip: number): Omit<Encoded, 'near'> {
  let best: { bytes: Uint8Array; form: Form } | null = null;
  let lastErr: unknown = null;
  for (const form of cands) {
    let ins: IcedInstruction | null = null;
    try {
      ins = create(form, ops, bits);
      const bytes = encodeAt(ins, bits, ip);
      if (!best || better(bytes, form, best.bytes, best.form)) best = { bytes, form };
    } catch (e) {
      lastErr = e;
    } finally {
      ins?.free();
    }
  }
  if (!best) throw new EncodeError(String((lastErr as Error)?.message ?? lastErr));
  return { bytes: best.bytes, form: best.form.name };
}

const hasSex = (f: Form) => f.ops.some((k) => k === K.imm8sex16 || k === K.imm8sex32);

function better(b: Uint8Array, f: Form, bb: Uint8Array, bf: Form): boolean {
  if (b.length !== bb.length) return b.length < bb.length;
  if (hasSex(f) !== hasSex(bf)) return hasSex(f);
  return f.code < bf.code;
}

function describeOps(ops: readonly ResolvedOp[]): string {
  return ops.map((o) => {
    switch (o.t) {
      case 'reg': return `${o.r.kind === 'gpr' ? `r${sizeOfReg(o.r)}` : o.r.kind} ${o.r.name}`;
      case 'mem': return o.m.size === 'none' ? 'mem (no size)' : `m${o.m.size}`;
      case 'imm': return `imm ${o.v}${o.reloc ? ' (label)' : ''}`;
      case 'far': return 'far pointer';
    }
  }).join(', ');
}
