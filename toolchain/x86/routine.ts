// Routines with a contract: one declaration says what a routine takes,
// returns, destroys and keeps; the helper prints it as the routine's header
// comment, writes the prologue, and the matching epilogue at every return.
//
//     a.routine({
//       name: udp_sendto, does: 'send one UDP datagram',
//       in: { eax: 'socket' }, out: { eax: 'bytes sent, or -errno' },
//       clobbers: [ecx, edx], saves: [ebx, esi],
//       args: { dst_ip: 'destination IPv4 address', dst_port: 'destination port', buf: 'payload', len: 'payload bytes' },
//       locals: { hdr: [8, 'the UDP header being built'] },
//     }, (r) => {
//       a.mov(ecx, r.arg('len'));                      mov ecx, dword [ebp+.len]
//       a.cmp(ecx, 1472); r.retIf('a');                ja .return
//       a.lea(esi, r.local('hdr', 'none'));            lea esi, [ebp+.hdr]
//       ...
//       r.ret();                                       pop esi / pop ebx / leave / ret
//     });
//
//     a.invoke(udp_sendto, [L('dst'), 53, ebx, ecx]);  push ecx / push ebx / push 0x35 / push dst /
//                                                      call udp_sendto / add esp, 16
//
// The kernel's register convention (each routine's header prints its own
// share of it): arguments in EAX, EDX, ECX, then on the stack; the result in
// EAX (and EDX); EAX, ECX, EDX and the flags are the scratch registers a
// routine may destroy *if its contract says so* (`clobbers`, `out`); EBX,
// ESI, EDI and EBP are preserved (pushed in `saves` when the routine uses
// them).  The contract is exact: every register not in `out` or `clobbers`
// comes back unchanged (test/routine/routine-contract.test.ts checks it
// under an emulator).  Stack arguments follow cdecl, as in the System V
// i386 ABI: the caller pushes them right to left, so the first is at
// [ebp+8] (above the saved EBP and the return address), and removes them
// after the call (`a.invoke`).
//
// The frame (`push ebp; mov ebp, esp; sub esp, N`) is built only when the
// routine has stack arguments or locals; args and locals are then NASM local
// equs (`.len equ 20`) so instructions read `[ebp+.len]`.  Locals are laid
// out downwards in declaration order, each rounded up to 4 bytes.  Saved
// registers are pushed after the frame and popped in reverse before it goes.
//
// Checked when the routine is emitted (errors name the routine and TS line):
// a saved register also listed in clobbers/out, ESP or EBP (with a frame) in
// saves, an unknown arg or local name, a bare `ret` in the body (it would
// skip the epilogue: use r.ret()), and a body that falls off its end (the
// last instruction is not ret/jmp/iret).  The body is a flow block (flow.ts):
// a global label inside it is an error too.

import type { Asm, Cond } from './asm.ts';
import { checkCond, endsInJump, inBlock } from './flow.ts';
import {
  type Expr, type Gpr8Name, type Gpr16Name, type Gpr32Name, type Mem, type Mem8, type Mem16, type Mem32, type Reg32,
  L, callerLocation, dec, ebp, esp, mem, byte, word, dword,
} from './operands.ts';
import { type Sym, nameOf } from './symbol.ts';

/** A register a contract can name: any general-purpose register, or the flags. */
export type ContractReg = Gpr32Name | Gpr16Name | Gpr8Name | 'flags';

export interface RoutineSpec {
  /** The routine's label: a symbol (exported routines) or a string. */
  readonly name: Sym | string;
  /** What it does, in one line. */
  readonly does: string;
  /** Input registers and what they hold. */
  readonly in?: Partial<Record<ContractReg, string>>;
  /** Output registers (and flags) and what they hold on return. */
  readonly out?: Partial<Record<ContractReg, string>>;
  /** Registers it destroys besides the outputs (the flags count as destroyed unless `out` names them). */
  readonly clobbers?: readonly Reg32[];
  /** Registers it uses but preserves: pushed in the prologue, popped in reverse at every return. */
  readonly saves?: readonly Reg32[];
  /** Stack arguments, first first (cdecl: at [ebp+8], [ebp+12] ...), with what each holds. */
  readonly args?: Readonly<Record<string, string>>;
  /** Locals on the stack: size in bytes, or [size, what it holds]. */
  readonly locals?: Readonly<Record<string, number | readonly [number, string]>>;
}

/** What the body of a routine gets. */
export interface RoutineBody {
  /** The epilogue (pop saved registers, free the frame) and `ret`. */
  ret(comment?: string): void;
  /** `j<cond> .return`: return when the condition holds (one shared epilogue at the end of the routine). */
  retIf(cond: Cond, comment?: string): void;
  /** A stack argument: `dword [ebp+.name]`. */
  arg(name: string): Mem32;
  /** A local: `dword [ebp+.name]` by default, or byte/word, or 'none' (no size: for lea). */
  local(name: string): Mem32;
  local(name: string, size: 32): Mem32;
  local(name: string, size: 16): Mem16;
  local(name: string, size: 8): Mem8;
  local(name: string, size: 'none'): Mem<'none'>;
}

const REG32_OF: Record<string, Gpr32Name> = {
  al: 'eax', ah: 'eax', ax: 'eax', eax: 'eax', cl: 'ecx', ch: 'ecx', cx: 'ecx', ecx: 'ecx',
  dl: 'edx', dh: 'edx', dx: 'edx', edx: 'edx', bl: 'ebx', bh: 'ebx', bx: 'ebx', ebx: 'ebx',
  sp: 'esp', esp: 'esp', bp: 'ebp', ebp: 'ebp', si: 'esi', esi: 'esi', di: 'edi', edi: 'edi',
};
const ORDER: readonly Gpr32Name[] = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp'];
const NAME = /^[a-z_][a-z0-9_]*$/;

/** The 32-bit registers a contract's out/clobbers allow the routine to change. */
export function changedRegisters(spec: RoutineSpec): Set<Gpr32Name> {
  const s = new Set<Gpr32Name>();
  for (const r of Object.keys(spec.out ?? {})) if (r !== 'flags') s.add(REG32_OF[r]!);
  for (const r of spec.clobbers ?? []) s.add(r.name);
  return s;
}

const up = (r: string) => r.toUpperCase();
const list = (rs: readonly string[]) => rs.map(up).join(', ');

/** a.routine: see the file header. */
export function emitRoutine(a: Asm, spec: RoutineSpec, body: (r: RoutineBody) => void): void {
  const loc = callerLocation();
  const name = nameOf(spec.name);
  const fail = (msg: string, at = loc): never => { throw new Error(`routine '${name}' (${at}): ${msg}`); };
  if (!spec.does || spec.does.includes('\n')) fail('`does` must be one line saying what the routine does');
  for (const r of Object.keys({ ...spec.in, ...spec.out })) if (!(r in REG32_OF) && r !== 'flags') fail(`'${r}' is not a register`);
  const changed = changedRegisters(spec);
  const saves = spec.saves ?? [];
  const args = Object.entries(spec.args ?? {});
  const locals = Object.entries(spec.locals ?? {}).map(([n, v]) => ({ n, size: typeof v === 'number' ? v : v[0], doc: typeof v === 'number' ? '' : v[1] }));
  const frame = args.length > 0 || locals.length > 0;
  if (frame && a.bits !== 32) fail('stack arguments and locals need 32-bit code (the frame is addressed through EBP)');
  for (const r of saves) {
    if (changed.has(r.name)) fail(`${up(r.name)} is in saves and also in ${Object.keys(spec.out ?? {}).some((o) => REG32_OF[o] === r.name) ? 'out' : 'clobbers'}: a saved register comes back unchanged`);
    if (r.name === 'esp') fail('ESP cannot be saved: the stack pointer is restored by balancing pushes and pops');
    if (r.name === 'ebp' && frame) fail('EBP is saved by the frame (push ebp; mov ebp, esp): do not list it in saves');
  }
  if (new Set(saves.map((r) => r.name)).size !== saves.length) fail('a register is listed twice in saves');
  for (const r of spec.clobbers ?? []) if (r.name === 'esp') fail('ESP cannot be clobbered: the caller\'s stack must survive');
  const seen = new Set<string>();
  for (const n of [...args.map(([n]) => n), ...locals.map((l) => l.n)]) {
    if (!NAME.test(n)) fail(`'${n}' is not a valid argument or local name (lowercase letters, digits, _)`);
    if (seen.has(n)) fail(`'${n}' is both an argument and a local, or listed twice`);
    seen.add(n);
  }
  for (const l of locals) if (!Number.isInteger(l.size) || l.size < 1) fail(`local '${l.n}': size ${l.size} is not a positive integer`);

  // Offsets from EBP: args above the saved EBP and the return address, locals below.
  const argOff = new Map(args.map(([n], i) => [n, 8 + 4 * i]));
  const localOff = new Map<string, { off: number; size: number }>();
  let frameSize = 0;
  for (const l of locals) {
    frameSize += Math.ceil(l.size / 4) * 4;
    localOff.set(l.n, { off: -frameSize, size: l.size });
  }

  // The header: the contract as the reader of the .asm sees it.
  const pad = (s: string, n: number) => s.padEnd(n);
  const lines: string[] = ['-'.repeat(74), `${name}: ${spec.does}`];
  const regLines = (title: string, regs: Partial<Record<ContractReg, string>> | undefined) => {
    const e = Object.entries(regs ?? {});
    e.forEach(([r, doc], i) => lines.push(`  ${pad(i ? '' : title, 11)}${pad(up(r), 6)}${doc}`));
  };
  regLines('in:', spec.in);
  if (args.length) {
    lines.push('  stack args (cdecl: pushed by the caller right to left, removed by the caller):');
    for (const [n, doc] of args) lines.push(`    ${pad('.' + n, 14)}${pad(`[ebp+${argOff.get(n)}]`, 11)}${doc}`);
  }
  regLines('out:', spec.out);
  // The flags are scratch in the kernel's convention: destroyed unless the contract returns something in them.
  const destroyed = [...ORDER.filter((r) => changed.has(r) && !Object.keys(spec.out ?? {}).some((o) => REG32_OF[o] === r)).map(up), ...('flags' in (spec.out ?? {}) ? [] : ['flags'])];
  lines.push(`  ${pad('clobbers:', 11)}${destroyed.length ? destroyed.join(', ') : 'nothing'}`);
  const kept = ORDER.filter((r) => !changed.has(r));
  const savedNote = saves.length || frame ? ` (${[...(frame ? ['EBP in the frame'] : []), ...(saves.length ? [`${list(saves.map((r) => r.name))} pushed here`] : [])].join('; ')})` : '';
  lines.push(`  ${pad('preserves:', 11)}${kept.length ? list(kept) : 'nothing'}${savedNote}`);
  if (locals.length) {
    lines.push(`  locals (${frameSize} bytes below EBP):`);
    for (const l of locals) lines.push(`    ${pad('.' + l.n, 14)}${pad(`[ebp${localOff.get(l.n)!.off}]`, 11)}${l.size} byte${l.size === 1 ? '' : 's'}${l.doc ? ': ' + l.doc : ''}`);
  }
  lines.push('-'.repeat(74));
  a.blank();
  for (const l of lines) a.comment(l);

  a.label(spec.name);
  for (const [n] of args) a.equ(`.${n}`, dec(argOff.get(n)!));
  for (const l of locals) a.equ(`.${l.n}`, dec(localOff.get(l.n)!.off));
  if (frame) {
    a.push(ebp, 'the caller\'s frame pointer');
    a.mov(ebp, esp, 'EBP: this frame; args above, locals below');
    if (frameSize) a.sub(esp, dec(frameSize), 'room for the locals');
  }
  for (const r of saves) a.push(r);

  const first = a.items.length;
  const rets = new Set<number>();
  let sharedReturn = false;
  const epilogue = (comment?: string) => {
    for (const r of [...saves].reverse()) a.pop(r);
    if (frameSize) a.leave('mov esp, ebp; pop ebp: free the locals');
    else if (frame) a.pop(ebp);
    rets.add(a.items.length);
    a.ret(...(comment ? [comment] : []) as []);
  };
  const known = (n: string, m: Map<string, unknown>, what: string) => {
    if (!m.has(n)) fail(`no ${what} named '${n}' (${what}s: ${[...m.keys()].join(', ') || 'none'})`, callerLocation());
  };
  const local = (n: string, size: 8 | 16 | 32 | 'none' = 32): Mem => {
    known(n, localOff, 'local');
    const l = localOff.get(n)!;
    if (size !== 'none' && size / 8 > l.size) fail(`local '${n}' is ${l.size} byte${l.size === 1 ? '' : 's'}: a ${size}-bit access reads past it`, callerLocation());
    const at = L(`.${n}`);
    return size === 8 ? byte(ebp, at) : size === 16 ? word(ebp, at) : size === 32 ? dword(ebp, at) : mem(ebp, at);
  };
  const r: RoutineBody = {
    ret: (comment) => epilogue(comment),
    retIf: (cond, comment) => {
      const c = checkCond(cond, `routine '${name}': retIf`, callerLocation());
      sharedReturn = true;
      a.ins(`j${c}`, L('.return'), ...(comment ? [comment] : []));
    },
    arg: (n) => { known(n, argOff, 'stack argument'); return dword(ebp, L(`.${n}`)); },
    local: local as RoutineBody['local'],
  };
  inBlock(a, `routine ${name}`, loc, () => body(r));

  for (let i = first; i < a.items.length; i++) {
    const it = a.items[i]!;
    if (it.k === 'ins' && it.mn === 'ret' && !rets.has(i) && (frame || saves.length)) fail('a bare ret would skip the epilogue: return with r.ret()', it.loc);
  }
  if (!endsInJump(a)) {
    const last = [...a.items].reverse().find((it) => 'loc' in it);
    fail(`the body falls off its end (its last instruction is not ret, jmp or iret): end it with r.ret()`, last && 'loc' in last ? last.loc : loc);
  }
  if (sharedReturn) {
    a.label('.return', 'the early returns above (j<cc> .return) jump here: one copy of the epilogue');
    epilogue();
  }
}

/**
 * a.invoke: call a routine that takes stack arguments (cdecl).  Pushes
 * `args` right to left, so args[0] ends up at [esp] (the callee's [ebp+8]),
 * calls, and removes them with `add esp, 4n`.
 */
export function emitInvoke(a: Asm, target: Expr | Reg32 | Mem32, args: readonly (Expr | Reg32 | Mem32)[], comment?: string): void {
  if (a.bits !== 32) throw new Error(`invoke at ${callerLocation()}: stack arguments are 32-bit (cdecl) only`);
  for (let i = args.length - 1; i >= 0; i--) a.ins('push', args[i]!, `stack arg ${i + 1} of ${args.length}`);
  a.ins('call', target, ...(comment ? [comment] : []));
  if (args.length) a.ins('add', esp, dec(4 * args.length), `remove the ${args.length} stack argument${args.length === 1 ? '' : 's'} (cdecl)`);
}
