// Structured control flow: if/else and loops that emit ordinary NASM local
// labels, so the generated text reads like hand-written assembly.
//
//     a.cmp(eax, 0);
//     a.if_('e', () => { ... }, () => { ... });   jne .if1_else / ... / jmp .if1_end / .if1_else: / ... / .if1_end:
//
//     a.while_(() => { a.cmp(byte(esi), 0); return 'ne'; }, (loop) => {
//       a.inc(esi);                             .while2:  cmp byte [esi], 0
//     });                                                 je .while2_end / inc esi / jmp .while2 / .while2_end:
//
//     a.doWhile((loop) => { ... }, () => { a.dec(ecx); return 'nz'; });   .do3: ... / jnz .do3
//     a.loop_((loop) => { ...; loop.break_('e'); ... });                 .loop4: ... / jmp .loop4 / .loop4_end:
//     a.forCount(ecx, 8, (loop) => { ... });                            mov ecx, 8 / .for5: ... / dec ecx / jnz .for5
//
// A condition is a Jcc suffix ('e', 'ne', 'b', 'ae', 'l', 'ge', 'z', 's' ...)
// that the flags set just before it satisfy; if_ and while_ jump *around*
// the body on the inverse condition (INVERSE below: Jcc opcodes come in
// pairs 7x/7x^1 whose conditions are each other's negation, Intel SDM Vol. 1
// Appendix B "EFLAGS Condition Codes").  `loop.break_(cond?)` and
// `loop.continue_(cond?)` jump to the loop's end or to its next test,
// conditionally when a condition is given.
//
// Labels: `.<kind><n>` and `.<kind><n>_<part>`, n counted per kind in the
// module (.if1, .if2, .while1 ...).  They are NASM local labels, which belong
// to the last global label before them: a block therefore must not contain a
// global label (the labels after it would belong to another scope), and
// Asm.label() refuses one while a block is open, naming the TS line.
// Labels a block does not need are not emitted (.do3_next only when the body
// used continue_, .loop4_end only when it used break_), an if's
// `jmp .ifN_end` is left out when the then-branch already ends in jmp/ret,
// and .ifN_end when both branches do (nothing reaches it).

import type { Asm, Cond } from './asm.ts';
import { type Reg16, type Reg32, type Mem16, type Mem32, type Expr, L, callerLocation } from './operands.ts';

/**
 * The negation of each condition (SDM Vol. 1 Appendix B): the condition
 * under which the Jcc with the other opcode of the pair jumps.  Aliases map
 * to the plain spelling of the inverse (nae → ae, nbe → be, pe → po).
 */
export const INVERSE: Readonly<Record<Cond, Cond>> = Object.freeze({
  o: 'no', no: 'o',
  b: 'ae', nae: 'ae', c: 'nc', ae: 'b', nb: 'b', nc: 'c',
  e: 'ne', z: 'nz', ne: 'e', nz: 'z',
  be: 'a', na: 'a', a: 'be', nbe: 'be',
  s: 'ns', ns: 's',
  p: 'np', pe: 'po', np: 'p', po: 'pe',
  l: 'ge', nge: 'ge', ge: 'l', nl: 'l',
  le: 'g', ng: 'g', g: 'le', nle: 'le',
});

/** The condition that holds exactly when `c` does not. */
export function inverse(c: Cond): Cond {
  const inv = INVERSE[c];
  if (!inv) throw new Error(`'${String(c)}' is not a condition code (${Object.keys(INVERSE).join(', ')})`);
  return inv;
}

/** What a loop body can do besides straight-line code. */
export interface Loop {
  /** Leave the loop: `jmp <end>`, or `j<cond> <end>` when a condition is given. */
  break_(cond?: Cond, comment?: string): void;
  /** Go on with the next iteration (its test): `jmp <next>`, or `j<cond> <next>`. */
  continue_(cond?: Cond, comment?: string): void;
}

/** A flow block under construction; Asm.label() consults the open ones. */
export interface OpenBlock {
  readonly what: string;
  readonly loc: string;
}

/** The mnemonics after which execution does not go on with the next item. */
const NO_FALL_THROUGH = new Set(['jmp', 'ret', 'retf', 'iret', 'iretd']);

/** True when the last instruction-or-label item of `a` is an unconditional jump or return. */
export function endsInJump(a: Asm): boolean {
  for (let i = a.items.length - 1; i >= 0; i--) {
    const it = a.items[i]!;
    if (it.k === 'comment' || it.k === 'blank' || it.k === 'equ' || it.k === 'bss') continue;
    return it.k === 'ins' && NO_FALL_THROUGH.has(it.mn);
  }
  return false;
}

const counters = new WeakMap<Asm, Map<string, number>>();
/** `.<kind><n>`: n counts the blocks of this kind in the module. */
function blockLabel(a: Asm, kind: string): string {
  let m = counters.get(a);
  if (!m) counters.set(a, (m = new Map()));
  const n = (m.get(kind) ?? 0) + 1;
  m.set(kind, n);
  return `.${kind}${n}`;
}

/** Run `body` as an open block of `a` (a global label inside it is an error, see Asm.label). */
export function inBlock<T>(a: Asm, what: string, loc: string, body: () => T): T {
  a.openBlocks.push({ what, loc });
  try {
    return body();
  } finally {
    a.openBlocks.pop();
  }
}

/** `c` as a condition code, or an error naming `what` and the TS line. */
export function checkCond(c: unknown, what: string, loc: string): Cond {
  if (typeof c !== 'string' || !(c in INVERSE)) {
    throw new Error(`${what} at ${loc}: ${JSON.stringify(c)} is not a condition code (${Object.keys(INVERSE).join(', ')})`);
  }
  return c as Cond;
}

function jcc(a: Asm, c: Cond, target: string, comment?: string): void {
  a.ins(`j${c}`, L(target), ...(comment ? [comment] : []));
}

function makeLoop(a: Asm, what: string, next: () => string, end: () => string): Loop & { done(): void } {
  let open = true;
  const jump = (op: string, target: () => string, cond?: Cond, comment?: string) => {
    const loc = callerLocation();
    if (!open) throw new Error(`${what}: ${op} at ${loc} after the loop has ended (a Loop is only valid inside its body)`);
    if (cond === undefined) a.ins('jmp', L(target()), ...(comment ? [comment] : []));
    else jcc(a, checkCond(cond, `${what}: ${op}`, loc), target(), comment);
  };
  return {
    break_: (cond, comment) => jump('break_', end, cond, comment),
    continue_: (cond, comment) => jump('continue_', next, cond, comment),
    done: () => { open = false; },
  };
}

/** a.if_: see the file header. */
export function emitIf(a: Asm, cond: Cond, then: () => void, else_?: () => void, comment?: string): void {
  const loc = callerLocation();
  const c = checkCond(cond, 'if_', loc);
  const base = blockLabel(a, 'if');
  const end = `${base}_end`;
  inBlock(a, `if_ (${base})`, loc, () => {
    jcc(a, inverse(c), else_ ? `${base}_else` : end, comment);
    then();
    let reachable = true; // can execution reach .ifN_end?
    if (else_) {
      const thenJumps = endsInJump(a);
      if (!thenJumps) a.ins('jmp', L(end));
      a.label(`${base}_else`);
      else_();
      // Both branches jump or return: nothing reaches the end label, and a routine may end here.
      reachable = !(thenJumps && endsInJump(a));
    }
    if (reachable) a.label(end);
  });
}

/** a.while_: the test at the top, `jmp` back to it at the bottom. */
export function emitWhile(a: Asm, test: () => Cond, body: (loop: Loop) => void, comment?: string): void {
  const loc = callerLocation();
  const top = blockLabel(a, 'while');
  const end = `${top}_end`;
  inBlock(a, `while_ (${top})`, loc, () => {
    a.label(top, comment);
    const c = checkCond(test(), 'while_: the test', loc);
    jcc(a, inverse(c), end);
    const loop = makeLoop(a, `while_ (${top})`, () => top, () => end);
    body(loop);
    loop.done();
    if (!endsInJump(a)) a.ins('jmp', L(top));
    a.label(end);
  });
}

/** a.doWhile: the body once, then again while the test's condition holds. */
export function emitDoWhile(a: Asm, body: (loop: Loop) => void, test: () => Cond, comment?: string): void {
  const loc = callerLocation();
  const top = blockLabel(a, 'do');
  let usedNext = false, usedEnd = false;
  inBlock(a, `doWhile (${top})`, loc, () => {
    a.label(top, comment);
    const loop = makeLoop(a, `doWhile (${top})`, () => ((usedNext = true), `${top}_next`), () => ((usedEnd = true), `${top}_end`));
    body(loop);
    loop.done();
    if (usedNext) a.label(`${top}_next`);
    jcc(a, checkCond(test(), 'doWhile: the test', loc), top);
    if (usedEnd) a.label(`${top}_end`);
  });
}

/** a.loop_: forever; leave with loop.break_(). */
export function emitLoop(a: Asm, body: (loop: Loop) => void, comment?: string): void {
  const loc = callerLocation();
  const top = blockLabel(a, 'loop');
  let usedEnd = false;
  inBlock(a, `loop_ (${top})`, loc, () => {
    a.label(top, comment);
    const loop = makeLoop(a, `loop_ (${top})`, () => top, () => ((usedEnd = true), `${top}_end`));
    body(loop);
    loop.done();
    if (!endsInJump(a)) a.ins('jmp', L(top));
    if (usedEnd) a.label(`${top}_end`);
  });
}

/**
 * a.forCount: `mov reg, count`, then the body `count` times, counting reg
 * down to 0 with `dec reg; jnz` (reg is count, count-1, ..., 1 in the body;
 * the body must not change it).  A count known only at run time may be 0:
 * then `test reg, reg; jz` skips the loop (dec would wrap 0 to 2^n - 1).
 */
export function emitForCount(a: Asm, reg: Reg32 | Reg16, count: Expr | Reg32 | Reg16 | Mem32 | Mem16, body: (loop: Loop) => void, comment?: string): void {
  const loc = callerLocation();
  if (typeof count === 'number' && (!Number.isInteger(count) || count < 1)) {
    throw new Error(`forCount at ${loc}: count ${count} is not a positive integer (the body would run 2^${reg.size} times)`);
  }
  if (typeof count === 'object' && 'kind' in count && count.size !== reg.size) {
    const what = count.kind === 'mem' ? `a ${count.size}-bit memory operand` : count.name;
    throw new Error(`forCount at ${loc}: the count ${what} and the counter ${reg.name} differ in size`);
  }
  const top = blockLabel(a, 'for');
  const end = `${top}_end`;
  const mayBeZero = typeof count !== 'number';
  let usedNext = false, usedEnd = mayBeZero;
  inBlock(a, `forCount (${top})`, loc, () => {
    if (!(typeof count === 'object' && 'kind' in count && count.kind === 'gpr' && count.name === reg.name)) {
      a.ins('mov', reg, count, ...(comment ? [comment] : []));
    }
    if (mayBeZero) {
      a.ins('test', reg, reg);
      a.ins('jz', L(end), 'zero times: skip the loop');
    }
    a.label(top);
    const loop = makeLoop(a, `forCount (${top})`, () => ((usedNext = true), `${top}_next`), () => ((usedEnd = true), end));
    body(loop);
    loop.done();
    if (usedNext) a.label(`${top}_next`);
    a.ins('dec', reg);
    a.ins('jnz', L(top));
    if (usedEnd) a.label(end);
  });
}
