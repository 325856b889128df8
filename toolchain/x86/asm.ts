// The eDSL proper: an `Asm` collects the items of one source module —
// instructions, labels, data, named constants, comments — as plain data.
// Nothing is encoded here; assemble.ts lays the items out and encodes them,
// nasm.ts prints them as annotated NASM.
//
// Instruction methods are typed per mnemonic family (see the `*Ops` tuples
// below), so `a.mov(eax, bl)` or `a.add(dword(ebx), dword(ecx))` do not
// compile.  Every method takes an optional trailing string: the end-of-line
// comment that says *why* the instruction is there.
//
// Atomics and barriers (for rings shared with devices, and SMP later):
//   a.lock.add(dword(ebx), 1)         lock add dword [ebx], 1
//   a.lock.cmpxchg(dword(ebx), ecx)   lock cmpxchg dword [ebx], ecx
//   a.lock.xadd(dword(ebx), eax)      lock xadd dword [ebx], eax
//   a.xchg(dword(ebx), eax)           xchg is locked by the CPU whenever it touches memory
//   a.barrier()                       lock add dword [esp], 0: a full fence on any 486+
// `a.lock.*` only takes a memory destination (LOCK with a register destination
// raises #UD, SDM Vol. 2A "LOCK"): `a.lock.add(eax, 1)` does not compile, and
// the untyped `a.ins('lock add', eax, 1)` is an error naming the TS line.
// mfence/lfence/sfence exist too, but need SSE2/SSE (not on a 486: see them).
//
// Data: a.db/dw/dd/dq(...) and a.times(count, width, value) with width 1, 2, 4
// or 8; dq takes numbers, expressions or bigints (a 64-bit physical address).
// Structure layouts (offsets, sizes, NASM struc blocks) are in struct.ts.
//
// Control flow, routines and string literals write what one would write by
// hand, as ordinary NASM:
//   a.if_('e', then, else_?)          jne .if1_else ... .if1_end:   (flags set just before)
//   a.while_(test, body)              .while1: test, j<not cond> .while1_end, body, jmp .while1
//   a.doWhile(body, test), a.loop_(body), a.forCount(ecx, n, body); in a body
//   loop.break_(cond?) / loop.continue_(cond?)   (flow.ts: labels, the inverse table)
//   a.routine({ name, does, in, out, clobbers, saves, args, locals }, (r) => { ...; r.ret(); })
//                                     header comment from the contract, prologue, the
//                                     epilogue at every r.ret(); r.arg('len') is
//                                     dword [ebp+.len], r.local('buf') dword [ebp+.buf]
//   a.invoke(target, [a1, a2, ...])   push right to left, call, add esp, 4n (routine.ts:
//                                     contracts, the kernel's register convention)
//   a.cstr('text', name?)             the label of a NUL-terminated copy of the text, in the
//                                     module's strings block (at its end, or at a.strings())
// (a.cstr, not a.str: `str` is the Store Task Register instruction.)

import {
  type AnyGpr, type Const, type CtrlReg, type Expr, type FarPtr, type Gpr, type Mem, type Mem8, type Mem16,
  type Mem32, type Operand, type Reg8, type Reg16, type Reg32, type SegReg,
  L, callerFile, callerLocation, ExprNode, dword as memOf32, esp,
} from './operands.ts';
import { type Sym, nameOf } from './symbol.ts';
import { type Loop, type OpenBlock, emitDoWhile, emitForCount, emitIf, emitLoop, emitWhile } from './flow.ts';
import { type RoutineBody, type RoutineSpec, emitInvoke, emitRoutine } from './routine.ts';

export type Bits = 16 | 32;

/** Optional end-of-line comment after the operands. */
type C<T extends unknown[]> = T | [...T, string];

type I = Expr;
type RM8 = Reg8 | Mem8;
type RM16 = Reg16 | Mem16;
type RM32 = Reg32 | Mem32;
type RMAny = RM8 | RM16 | RM32;

export type AluOps =
  | [Reg8, Reg8 | Mem8 | I] | [Mem8, Reg8 | I]
  | [Reg16, Reg16 | Mem16 | I] | [Mem16, Reg16 | I]
  | [Reg32, Reg32 | Mem32 | I] | [Mem32, Reg32 | I];
export type MovOps = AluOps
  | [SegReg, Reg16 | Reg32 | Mem16] | [Reg16 | Reg32 | Mem16, SegReg]
  | [CtrlReg, Reg32] | [Reg32, CtrlReg];
export type XchgOps =
  | [Reg8, RM8] | [Mem8, Reg8] | [Reg16, RM16] | [Mem16, Reg16] | [Reg32, RM32] | [Mem32, Reg32];
export type ShiftOps = [RMAny, I | Gpr<8, 'cl'>];
export type UnaryOps = [RMAny];
export type ImulOps = [RMAny] | [Reg16, RM16] | [Reg32, RM32] | [Reg16, RM16, I] | [Reg32, RM32, I];
export type PushOps = [Reg16 | Reg32 | Mem16 | Mem32 | SegReg | I];
export type PopOps = [Reg16 | Reg32 | Mem16 | Mem32 | SegReg];
export type MovxOps = [Reg16 | Reg32, RM8] | [Reg32, RM16];
export type LeaOps = [Reg16 | Reg32, Mem];
export type Acc = Gpr<8, 'al'> | Gpr<16, 'ax'> | Gpr<32, 'eax'>;
export type InOps = [Acc, I | Gpr<16, 'dx'>];
export type OutOps = [I | Gpr<16, 'dx'>, Acc];
export type BranchOps = [Expr];
export type JmpOps = [Expr] | [Reg16 | Reg32 | Mem16 | Mem32] | [FarPtr];
export type ImmOps = [I];
export type MemOps = [Mem];
export type Rm16Ops = [RM16];
export type BtOps = [RM16, Reg16 | I] | [RM32, Reg32 | I];
export type BsfOps = [Reg16, RM16] | [Reg32, RM32];
export type Rm8Ops = [RM8];
/** cmpxchg/xadd: r/m destination, register source of the same size (486+). */
export type XaddOps = [RM8, Reg8] | [RM16, Reg16] | [RM32, Reg32];
/** The memory-destination forms LOCK may prefix (SDM Vol. 2A "LOCK"). */
export type LockAluOps = [Mem8, Reg8 | I] | [Mem16, Reg16 | I] | [Mem32, Reg32 | I];
export type LockUnaryOps = [Mem8 | Mem16 | Mem32];
export type LockBtOps = [Mem16, Reg16 | I] | [Mem32, Reg32 | I];
export type LockXaddOps = [Mem8, Reg8] | [Mem16, Reg16] | [Mem32, Reg32];
export type RetOps = [] | [I];
export type NoOps = [];

const CONDITIONS = [
  'o', 'no', 'b', 'nae', 'c', 'ae', 'nb', 'nc', 'e', 'z', 'ne', 'nz', 'be', 'na', 'a', 'nbe',
  's', 'ns', 'p', 'pe', 'np', 'po', 'l', 'nge', 'ge', 'nl', 'le', 'ng', 'g', 'nle',
] as const;
/** A condition code: the suffix of Jcc/SETcc ('e', 'ne', 'b', 'ae', 'l', 'ge', 'z', 's' ...). */
export type Cond = (typeof CONDITIONS)[number];

/** Mnemonic families: which operand tuples each mnemonic accepts. */
export const FAMILIES = {
  alu: ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp', 'test'],
  mov: ['mov'],
  /** xchg with a memory operand is atomic without a LOCK prefix: the CPU asserts LOCK itself (SDM Vol. 2B XCHG). */
  xchg: ['xchg'],
  shift: ['shl', 'shr', 'sar', 'sal', 'rol', 'ror', 'rcl', 'rcr'],
  unary: ['inc', 'dec', 'neg', 'not', 'mul', 'div', 'idiv'],
  imul: ['imul'],
  push: ['push'],
  pop: ['pop'],
  movx: ['movzx', 'movsx'],
  lea: ['lea'],
  in: ['in'],
  out: ['out'],
  branch: [...CONDITIONS.map((c) => `j${c}` as const), 'jcxz', 'jecxz', 'loop', 'loope', 'loopne'],
  jmp: ['jmp', 'call'],
  imm: ['int'],
  mem: ['lgdt', 'lidt', 'sgdt', 'sidt', 'invlpg'],
  rm16: ['ltr', 'lldt', 'str', 'sldt', 'lmsw', 'smsw'],
  bt: ['bt', 'bts', 'btr', 'btc'],
  bsf: ['bsf', 'bsr'],
  rm8: CONDITIONS.map((c) => `set${c}` as const),
  reg32: ['bswap'],
  /** Compare-and-exchange and exchange-and-add (486+); see also `a.lock`. */
  xadd: ['cmpxchg', 'xadd'],
  /** cmpxchg8b [m64]: EDX:EAX vs the quadword, ECX:EBX stored if equal (Pentium+, not on a 486). */
  m64: ['cmpxchg8b'],
  /**
   * Memory fences: lfence/mfence are SSE2, sfence is SSE (Pentium 4 / Pentium III). They raise #UD
   * on a 486 or Pentium (tests boot `--cpu 486`), so the kernel must not use them unconditionally
   * (check CPUID first); `a.barrier()` is a full barrier on every 486+.
   */
  fence: ['lfence', 'mfence', 'sfence'],
  ret: ['ret', 'retf'],
  none: [
    'cli', 'sti', 'hlt', 'nop', 'iret', 'iretd', 'pusha', 'pushad', 'popa', 'popad', 'pushf', 'pushfd',
    'popf', 'popfd', 'cld', 'std', 'clc', 'stc', 'cmc', 'cbw', 'cwde', 'cwd', 'cdq', 'leave', 'int3',
    'into', 'lahf', 'sahf', 'wbinvd', 'invd', 'clts', 'pause', 'ud2', 'cpuid', 'rdtsc',
  ],
  string: [
    'lodsb', 'lodsw', 'lodsd', 'stosb', 'stosw', 'stosd', 'movsb', 'movsw', 'movsd', 'insb', 'insw', 'insd',
    'outsb', 'outsw', 'outsd', 'cmpsb', 'cmpsw', 'cmpsd', 'scasb', 'scasw', 'scasd',
    'rep_lodsb', 'rep_stosb', 'rep_stosw', 'rep_stosd', 'rep_movsb', 'rep_movsw', 'rep_movsd',
    'rep_insb', 'rep_insw', 'rep_insd', 'rep_outsb', 'rep_outsw', 'rep_outsd',
    'repe_cmpsb', 'repne_scasb',
  ],
} as const;

type M<K extends keyof typeof FAMILIES> = (typeof FAMILIES)[K][number];
type Methods<K extends keyof typeof FAMILIES, T extends unknown[]> = { [m in M<K>]: (...args: C<T>) => void };

/** The typed instruction methods an `Asm` has. */
export type InstructionMethods =
  & Methods<'alu', AluOps> & Methods<'mov', MovOps> & Methods<'xchg', XchgOps> & Methods<'shift', ShiftOps>
  & Methods<'unary', UnaryOps> & Methods<'imul', ImulOps> & Methods<'push', PushOps> & Methods<'pop', PopOps>
  & Methods<'movx', MovxOps> & Methods<'lea', LeaOps> & Methods<'in', InOps> & Methods<'out', OutOps>
  & Methods<'branch', BranchOps> & Methods<'jmp', JmpOps> & Methods<'imm', ImmOps> & Methods<'mem', MemOps>
  & Methods<'rm16', Rm16Ops> & Methods<'bt', BtOps> & Methods<'bsf', BsfOps> & Methods<'rm8', Rm8Ops>
  & Methods<'reg32', [Reg32]> & Methods<'ret', RetOps> & Methods<'none', NoOps> & Methods<'string', NoOps>
  & Methods<'xadd', XaddOps> & Methods<'m64', MemOps> & Methods<'fence', NoOps>;

/**
 * The instructions LOCK may prefix, each with a memory destination only
 * (SDM Vol. 2A "LOCK": with a register destination, or on any other
 * instruction, LOCK raises #UD).  xchg is not here: with a memory operand the
 * CPU locks it anyway, so `a.xchg(dword(ebx), eax)` is already atomic.
 */
export const LOCKABLE = {
  alu: ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor'],
  unary: ['inc', 'dec', 'neg', 'not'],
  bt: ['bts', 'btr', 'btc'],
  xadd: ['cmpxchg', 'xadd'],
  m64: ['cmpxchg8b'],
} as const;
type LM<K extends keyof typeof LOCKABLE> = (typeof LOCKABLE)[K][number];
type LockMethodsOf<K extends keyof typeof LOCKABLE, T extends unknown[]> = { [m in LM<K>]: (...args: C<T>) => void };
/** `a.lock.<mnemonic>(...)`: the same instruction with a LOCK prefix (F0), memory destination only. */
export type LockMethods =
  & LockMethodsOf<'alu', LockAluOps> & LockMethodsOf<'unary', LockUnaryOps> & LockMethodsOf<'bt', LockBtOps>
  & LockMethodsOf<'xadd', LockXaddOps> & LockMethodsOf<'m64', MemOps>;
export const LOCKABLE_MNEMONICS: readonly string[] = Object.values(LOCKABLE).flat();

export type Mnemonic = { [K in keyof typeof FAMILIES]: M<K> }[keyof typeof FAMILIES];
export const isCondition = (s: string): s is Cond => (CONDITIONS as readonly string[]).includes(s);

// -------------------------------------------------------------------- items

export type DataWidth = 1 | 2 | 4 | 8;
/** A data value: an expression, a string (db only), or a bigint (for 64-bit values beyond 2^53). */
export type DataValue = Expr | string | bigint;

export type Item =
  | { readonly k: 'ins'; readonly mn: string; readonly ops: readonly Operand[]; readonly comment?: string; readonly loc: string }
  | { readonly k: 'label'; readonly name: string; readonly comment?: string; readonly loc: string }
  | { readonly k: 'data'; readonly width: DataWidth; readonly values: readonly DataValue[]; readonly comment?: string; readonly loc: string }
  | { readonly k: 'times'; readonly count: Expr; readonly width: DataWidth; readonly value: Expr | bigint; readonly comment?: string; readonly loc: string }
  | { readonly k: 'align'; readonly n: number; readonly comment?: string; readonly loc: string }
  | { readonly k: 'incbin'; readonly component: string; readonly comment?: string; readonly loc: string }
  | { readonly k: 'equ'; readonly name: string; readonly value: Expr; readonly comment?: string; readonly loc: string }
  | { readonly k: 'bss'; readonly name: string; readonly size: Expr; readonly align: number; readonly comment?: string; readonly loc: string }
  | { readonly k: 'rep'; readonly count: number; readonly var: string; readonly rule: string; readonly nasm: readonly string[]; readonly items: readonly Item[]; readonly loc: string }
  | { readonly k: 'comment'; readonly text: string }
  | { readonly k: 'blank' };

/** The items of a list with the expansion of every `rep` block after it (what the assembler lays out). */
export function expandedItems(items: readonly Item[]): Item[] {
  return items.flatMap((it) => (it.k === 'rep' ? [it, ...expandedItems(it.items)] : [it]));
}

function splitComment(args: unknown[]): { ops: Operand[]; comment?: string } {
  const last = args[args.length - 1];
  if (typeof last === 'string') return { ops: args.slice(0, -1) as Operand[], comment: last };
  return { ops: args as Operand[] };
}

/** The string literals of one module (a.cstr), placed as one block when the module is collected. */
interface StringPool {
  readonly byText: Map<string, string>;
  readonly labels: Set<string>;
  readonly entries: { label: string; text: string; loc: string }[];
  /** Where a.strings() asked for the block (an index in items), else the end of the module. */
  at?: number;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Collects the items of one module. Create through `defineModule`, not directly. */
export class Asm {
  readonly items: Item[] = [];
  private uniqCounter = 0;
  /** The flow blocks and routine bodies being emitted (flow.ts): no global label may appear inside one. */
  readonly openBlocks: OpenBlock[] = [];
  private readonly pool: StringPool;
  /** A rep block's body: its strings go to the enclosing module's pool. */
  private readonly inner: boolean;

  /** `module`: the module's name (defineModule), which a.cstr() puts in its label names. */
  constructor(readonly bits: Bits, readonly file: string, readonly module?: string, pool?: StringPool) {
    this.pool = pool ?? { byText: new Map(), labels: new Set(), entries: [] };
    this.inner = pool !== undefined;
  }

  /** Any instruction by mnemonic (untyped escape hatch; prefer the typed methods). */
  ins(mn: string, ...args: (Operand | string)[]): void {
    const { ops, comment } = splitComment(args);
    this.items.push({ k: 'ins', mn, ops, comment, loc: callerLocation() });
  }

  /**
   * Define a label here and return a reference to it.  A global label is a
   * symbol declared with sym() in this module's file (symbol.ts); a string
   * names a local label ('.next', local to the previous global label) or a
   * label made by a loop (`isr_${v}`).
   */
  label(name: Sym | string, comment?: string): ExprNode {
    this.checkOwner(name);
    const open = this.openBlocks[this.openBlocks.length - 1];
    if (open && !nameOf(name).startsWith('.')) {
      throw new Error(`global label '${nameOf(name)}' at ${callerLocation()} is inside ${open.what}, opened at ${open.loc}: the block's local labels belong to the global label before them, so a global label here would cut the block in two`);
    }
    this.items.push({ k: 'label', name: nameOf(name), comment, loc: callerLocation() });
    return typeof name === 'string' ? L(name) : name;
  }

  /** A symbol is defined by a module of the file that declared it: go-to-definition leads to the code. */
  private checkOwner(s: Sym | string): void {
    if (typeof s === 'string' || s.file === this.file) return;
    throw new Error(`symbol '${s.name}' is declared in ${s.file} but defined by a module of ${this.file} (${callerLocation()}): declare it where it is defined`);
  }

  /** A fresh local label name, unique in this module: `.retry_3`. */
  uniq(prefix: string): string {
    return `.${prefix}_${++this.uniqCounter}`;
  }

  db(...args: DataValue[]): void { this.data(1, args); }
  dw(...args: DataValue[]): void { this.data(2, args); }
  dd(...args: DataValue[]): void { this.data(4, args); }
  /** 64-bit data (e.g. a virtqueue descriptor's guest-physical address); bigints for values beyond 2^53. */
  dq(...args: DataValue[]): void { this.data(8, args); }
  /** Data with a comment: `a.dataC(2, [0xFFFF], 'limit 15:0')`. */
  dataC(width: DataWidth, values: DataValue[], comment: string): void {
    this.items.push({ k: 'data', width, values, comment, loc: callerLocation() });
  }
  private data(width: DataWidth, values: DataValue[]): void {
    if (values.length === 0) throw new Error(`empty data directive at ${callerLocation()}`);
    this.items.push({ k: 'data', width, values, loc: callerLocation() });
  }

  /** `times count d{b,w,d,q} value` */
  times(count: Expr, width: DataWidth, value: Expr | bigint, comment?: string): void {
    if (typeof value === 'bigint' && width !== 8) throw new Error(`times: a bigint value needs width 8 (dq), not ${width} (${callerLocation()})`);
    this.items.push({ k: 'times', count, width, value, comment, loc: callerLocation() });
  }

  /**
   * The encoded bytes of another component, included verbatim (NASM `incbin`
   * of build/bin/<component>.bin).  The component must be assembled first and
   * handed to this one in ComponentDef.binaries.
   */
  incbin(component: string, comment?: string): void {
    if (!/^[a-z0-9_\-]+$/.test(component)) throw new Error(`incbin '${component}': not a component name (${callerLocation()})`);
    this.items.push({ k: 'incbin', component, comment, loc: callerLocation() });
  }

  /** Pad with zero bytes to a multiple of n (`align n, db 0`). */
  align(n: number, comment?: string): void {
    if (!Number.isInteger(n) || n < 1 || (n & (n - 1)) !== 0) throw new Error(`align ${n}: not a power of two (${callerLocation()})`);
    this.items.push({ k: 'align', n, comment, loc: callerLocation() });
  }

  /** A module-local `name equ value` (for named constants shared across modules use `constant()`). */
  equ(name: Sym | string, value: Expr, comment?: string): ExprNode {
    this.checkOwner(name);
    this.items.push({ k: 'equ', name: nameOf(name), value, comment, loc: callerLocation() });
    return typeof name === 'string' ? L(name) : name;
  }

  /**
   * Reserve `size` zeroed bytes after the end of the component's loaded image
   * (like a C .bss): costs no space on disk. The kernel entry clears the region.
   * The size may be an expression over numbers and named constants
   * (`MAX_PROCS.mul(PROC.SIZE)`); the generated source shows it as written.
   */
  bss(sym: Sym | string, size: Expr, align = 4, comment?: string): ExprNode {
    this.checkOwner(sym);
    const name = nameOf(sym);
    if (typeof size === 'number' && (!Number.isInteger(size) || size <= 0)) throw new Error(`bss '${name}': size ${size} is not a positive integer (${callerLocation()})`);
    if (!Number.isInteger(align) || align < 1 || (align & (align - 1)) !== 0) throw new Error(`bss '${name}': alignment ${align} is not a power of two (${callerLocation()})`);
    this.items.push({ k: 'bss', name, size, align, comment, loc: callerLocation() });
    return typeof sym === 'string' ? L(name) : sym;
  }

  /**
   * A generated block the reader should see as its rule, not as its output
   * (xv6 prints the script that generates vectors.S, not the file).  The
   * encoder and the listing get `count` copies from `body(a, i)`, i = 0 ..
   * count - 1; the NASM source gets the loop once:
   *
   *     ; <rule>
   *     %assign <var> 0
   *     %rep <count>
   *     <nasm lines, which use <var> for i, and <name>_%[<var>] for labels>
   *     %assign <var> <var>+1
   *     %endrep
   *
   * The two must agree: `nasm -f bin` of the generated source reproduces the
   * encoded bytes (test/unit/build.test.ts), so a template that does not
   * match the body fails the build tests.
   */
  rep(opts: { count: number; var: string; rule: string; nasm: readonly string[] }, body: (a: Asm, i: number) => void): void {
    const loc = callerLocation();
    const { count, rule, nasm } = opts;
    if (!Number.isInteger(count) || count < 1) throw new Error(`rep: count ${count} is not a positive integer (${loc})`);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.var)) throw new Error(`rep: '${opts.var}' is not a NASM identifier (${loc})`);
    if (nasm.length === 0) throw new Error(`rep: the NASM template is empty (${loc})`);
    const inner = new Asm(this.bits, this.file, this.module, this.pool);
    for (let i = 0; i < count; i++) body(inner, i);
    if (inner.items.some((it) => it.k === 'bss' || it.k === 'equ')) throw new Error(`rep: a bss or equ inside a rep block cannot be printed once (${loc})`);
    this.items.push({ k: 'rep', count, var: opts.var, rule, nasm: [...nasm], items: inner.items, loc });
  }

  // ------------------------------------------------ structured control flow (flow.ts)

  /**
   * If the condition holds (the flags were just set by cmp/test), the then
   * branch, else the else branch: `j<not cond> .ifN_else`, then, `jmp .ifN_end`,
   * `.ifN_else:`, else, `.ifN_end:`.  `comment` goes on the conditional jump.
   */
  if_(cond: Cond, then: () => void, else_?: () => void, comment?: string): void { emitIf(this, cond, then, else_, comment); }
  /** While the test's condition holds: `.whileN:` test, `j<not cond> .whileN_end`, body, `jmp .whileN`. */
  while_(test: () => Cond, body: (loop: Loop) => void, comment?: string): void { emitWhile(this, test, body, comment); }
  /** The body, then again while the test's condition holds: `.doN:` body, test, `j<cond> .doN`. */
  doWhile(body: (loop: Loop) => void, test: () => Cond, comment?: string): void { emitDoWhile(this, body, test, comment); }
  /** Forever (leave with loop.break_()): `.loopN:` body, `jmp .loopN`. */
  loop_(body: (loop: Loop) => void, comment?: string): void { emitLoop(this, body, comment); }
  /** The body `count` times: `mov reg, count`, `.forN:` body, `dec reg`, `jnz .forN` (a run-time count of 0 skips it). */
  forCount(reg: Reg32 | Reg16, count: Expr | Reg32 | Reg16 | Mem32 | Mem16, body: (loop: Loop) => void, comment?: string): void {
    emitForCount(this, reg, count, body, comment);
  }

  // ------------------------------------------------------------ routines (routine.ts)

  /** A routine with a declared contract: header comment, label, prologue, and r.ret() for the epilogue. */
  routine(spec: RoutineSpec, body: (r: RoutineBody) => void): void { emitRoutine(this, spec, body); }
  /** Call a routine with stack arguments (cdecl): push args right to left, call, `add esp, 4n`. */
  invoke(target: Expr | Reg32 | Mem32, args: readonly (Expr | Reg32 | Mem32)[], comment?: string): void { emitInvoke(this, target, args, comment); }

  // ------------------------------------------------------------------ string literals

  /**
   * A NUL-terminated string, emitted once per module in its strings block
   * (at the end of the module, or where a.strings() says), and a reference
   * to its label: `a.mov(eax, a.cstr('hello\r\n'))`.  Identical texts share
   * one label.  The label is global, readable and unique in the component:
   * `<module>_str_<first words>` (with _2, _3 ... on a collision), or
   * `<module>_<name>` when a name is given.
   */
  cstr(text: string, name?: string): ExprNode {
    const loc = callerLocation();
    if (!this.module) throw new Error(`a.cstr at ${loc}: this Asm has no module name (create it through defineModule and collect)`);
    for (const [i, ch] of [...text].entries()) {
      const c = ch.codePointAt(0)!;
      if (c === 0) throw new Error(`a.cstr(${JSON.stringify(text)}) at ${loc}: character ${i} is NUL, which would end the string early`);
      if (c > 0xff) throw new Error(`a.cstr(${JSON.stringify(text)}) at ${loc}: character ${i} (U+${c.toString(16).toUpperCase()}) is not one byte`);
    }
    const prefix = (/^[0-9]/.test(this.module) ? 'm_' : '') + this.module.replace(/-/g, '_');
    const known = this.pool.byText.get(text);
    if (name !== undefined) {
      if (!IDENT.test(name)) throw new Error(`a.cstr at ${loc}: name '${name}' is not a NASM identifier`);
      const label = `${prefix}_${name}`;
      if (known === label) return L(label);
      if (known) throw new Error(`a.cstr at ${loc}: this text already has the label '${known}'; name it '${name}' at its first use, or not at all`);
      if (this.pool.labels.has(label)) throw new Error(`a.cstr at ${loc}: '${label}' already names another text`);
      return this.addString(label, text, loc);
    }
    if (known) return L(known);
    const words = text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim().split(' ').filter(Boolean);
    let slug = '';
    for (const w of words) {
      if (slug && slug.length + 1 + w.length > 24) break;
      slug = slug ? `${slug}_${w}` : w.slice(0, 24);
    }
    const base = slug ? `${prefix}_str_${slug}` : `${prefix}_str`;
    let label = base;
    for (let n = 2; this.pool.labels.has(label); n++) label = `${base}_${n}`;
    return this.addString(label, text, loc);
  }

  private addString(label: string, text: string, loc: string): ExprNode {
    this.pool.byText.set(text, label);
    this.pool.labels.add(label);
    this.pool.entries.push({ label, text, loc });
    return L(label);
  }

  /**
   * Put the module's strings block here instead of at the module's end (e.g.
   * before a boot sector's padding and signature).  The strings are global
   * labels: what follows must start with a global label, not a local one.
   */
  strings(): void {
    const loc = callerLocation();
    if (this.pool.at !== undefined) throw new Error(`a.strings() at ${loc}: the strings block is already placed`);
    if (this.openBlocks.length) throw new Error(`a.strings() at ${loc}: inside ${this.openBlocks[this.openBlocks.length - 1]!.what}`);
    if (this.inner) throw new Error(`a.strings() at ${loc}: inside a rep block`);
    this.pool.at = this.items.length;
  }

  /** Insert the strings block (collect() calls this once, after the module's emitter). */
  finishStrings(): void {
    const p = this.pool;
    if (!p.entries.length) return;
    const at = p.at ?? this.items.length;
    const next = this.items.slice(at).find((it) => it.k === 'label');
    if (next && next.k === 'label' && next.name.startsWith('.')) {
      throw new Error(`a.strings(): the local label '${next.name}' (${next.loc}) follows the strings block, whose labels are global: it would belong to the last string`);
    }
    const block: Item[] = [
      { k: 'blank' },
      { k: 'comment', text: '---- strings ' + '-'.repeat(66 - 'strings'.length) },
    ];
    for (const e of p.entries) {
      block.push({ k: 'label', name: e.label, loc: e.loc });
      block.push({ k: 'data', width: 1, values: e.text ? [e.text, 0] : [0], loc: e.loc });
    }
    this.items.splice(at, 0, ...block);
    p.entries.length = 0;
  }

  /** A full-line comment in the generated source. */
  comment(text: string): void {
    for (const line of text.split('\n')) this.items.push({ k: 'comment', text: line });
  }

  /** A blank line and a section banner, for readability of the generated source. */
  section(title: string): void {
    this.items.push({ k: 'blank' });
    this.items.push({ k: 'comment', text: `---- ${title} ` + '-'.repeat(Math.max(0, 66 - title.length)) });
  }

  blank(): void { this.items.push({ k: 'blank' }); }

  private lockMethods?: LockMethods;
  /**
   * The LOCK prefix (F0): `a.lock.cmpxchg(dword(ebx), ecx)` emits
   * `lock cmpxchg dword [ebx], ecx`.  The read-modify-write of the memory
   * destination is atomic with respect to other processors and bus masters
   * (SDM Vol. 3A §8.1.2.2).  Memory destinations only (a register destination
   * does not compile).
   */
  get lock(): LockMethods {
    if (!this.lockMethods) {
      const m: Record<string, (...args: (Operand | string)[]) => void> = {};
      for (const mn of LOCKABLE_MNEMONICS) {
        m[mn] = (...args) => {
          const { ops, comment } = splitComment(args);
          this.items.push({ k: 'ins', mn: `lock ${mn}`, ops, comment, loc: callerLocation() });
        };
      }
      this.lockMethods = m as unknown as LockMethods;
    }
    return this.lockMethods;
  }

  /**
   * A full memory barrier on any 486 or later: `lock add dword [esp], 0`.
   * A locked instruction waits for all earlier loads and stores and keeps
   * later ones behind it (SDM Vol. 3A §8.2.2, "Locked instructions have a
   * total order"); adding 0 to the top of the stack changes nothing but the
   * flags (it clobbers EFLAGS).  mfence does the same but needs SSE2.
   */
  barrier(comment = 'full memory barrier: a locked instruction orders all loads and stores around it'): void {
    this.items.push({ k: 'ins', mn: 'lock add', ops: [memOf32(esp), 0], comment, loc: callerLocation() });
  }
}

// Install one method per mnemonic; the static types come from InstructionMethods.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Asm extends InstructionMethods {}
for (const list of Object.values(FAMILIES)) {
  for (const mn of list) {
    Object.defineProperty(Asm.prototype, mn, {
      value: function (this: Asm, ...args: (Operand | string)[]) {
        const { ops, comment } = splitComment(args);
        this.items.push({ k: 'ins', mn: mn.replace('_', ' '), ops, comment, loc: callerLocation() });
      },
    });
  }
}

// ------------------------------------------------------------------ modules

/** One source module: one hardware concept, one generated .asm file. */
export interface ModuleDef {
  /**
   * The module's name: its generated file is build/asm/<n>-<part>/<nn>-<name>.asm, numbered in
   * reading order (toolchain/course.ts, which names it), and the course text cites it as <name>.asm.
   */
  readonly name: string;
  /** One-line title: what the concept is (also its entry in build/asm/README.md). */
  readonly title: string;
  /** The header block: what it is, why the kernel needs it, contract with the previous stage. */
  readonly about: string;
  /** Spec sections that define it (Intel SDM, datasheets, PCI, virtio). */
  readonly spec?: readonly string[];
  readonly emit: (a: Asm) => void;
}

export interface Module extends ModuleDef {
  /** The TypeScript file that defines the module (relative to the project root). */
  readonly file: string;
}

export function defineModule(def: ModuleDef): Module {
  if (!/^[a-z0-9_\-]+$/.test(def.name)) throw new Error(`module name '${def.name}' must be lowercase letters, digits, _ or -`);
  return Object.freeze({ ...def, file: callerFile() });
}

const collected = new WeakMap<Module, Map<Bits, readonly Item[]>>();

/**
 * Run a module's emitter for a given mode and return its items.  Emitters are
 * pure, so the items are cached: a module linked into several components
 * (ulib into every user program) is collected once per mode.
 */
export function collect(mod: Module, bits: Bits): readonly Item[] {
  let byBits = collected.get(mod);
  if (!byBits) collected.set(mod, (byBits = new Map()));
  let items = byBits.get(bits);
  if (!items) {
    const a = new Asm(bits, mod.file, mod.name);
    mod.emit(a);
    a.finishStrings();
    items = Object.freeze([...a.items]);
    byBits.set(bits, items);
  }
  return items;
}

export type { Const, AnyGpr };
