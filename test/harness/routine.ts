// The routine-test harness (docs/design.md §6): run one assembled kernel
// routine on a CPU emulator, without booting, and return the registers, the
// flags and any memory it left behind.  For the code a boot test can only
// reach indirectly: parsers, checksums, ring arithmetic.
//
// How.  The harness assembles one small 32-bit component at 0x08048000 (the
// traditional i386 Linux load address) from
//   1. `routine_harness`: a generated entry stub (eDSL, like the kernel) that,
//      for each case, copies preset memory into place, loads EAX, ECX, EDX,
//      EBX, ESI, EDI, EBP, pushes the stack arguments if any (cdecl, right
//      to left), calls the routine, stores EFLAGS, all eight
//      registers and the memory to read back into a result block, and hands
//      the block to the host with Linux's write(1, block, size); after the
//      last case it calls exit(0);
//   2. the modules under test, unchanged (the same Module objects the kernel
//      links);
//   3. `routine_stubs`: one stub per label the modules use but do not define
//      (u_puts, serial_putc ...), which ends the run with exit status
//      STUB_STATUS_BASE + k, so a routine that calls out is reported by name
//      instead of jumping into nothing;
//   4. `routine_data`: the inputs (strings, tables) the cases point at.
// toolchain/x86/elf.ts wraps the bytes in a static ELF32 executable, and
// Debian's `qemu-i386` (package qemu-user) runs it: QEMU's user-mode
// emulator translates the i386 code and implements Linux's int 0x80 system
// calls on the host, so the routine runs as ring-3 code in a Linux process.
//
// Why this way.  The host kernel here cannot execute 32-bit ELF natively,
// and booting tskernel to test a string parser costs a second and tests the
// whole boot on the way.  qemu-i386 is maintained, in Debian, starts in
// ~10 ms and runs the real bytes the kernel links (not a model of them);
// QEMU already is the project's machine.  A JavaScript x86 interpreter
// would avoid the package but be one more thing to trust.  All cases of one
// call run in one process (one start-up), and each case's block is written
// as soon as it is complete, so a crash names the case it happened in.
//
// What can be tested: 32-bit routines that compute on registers and memory
// (string.ts: strlen, strcmp, parse_uint, name_lookup; serial.ts's ring
// con_defer; the fuzz program's LFSR, fuzz_rand), in any module: the other
// routines of the module are linked too but never run.  Privileged instructions (in/out, cli/sti, hlt, lgdt,
// mov crN) fault in ring 3 and end the run with SIGSEGV; routines that
// call into the rest of the kernel reach a stub.  Memory is the ELF segment
// (code, data and bss, readable, writable and executable) and the stack.
//
// Calling convention (the kernel's): arguments in EAX, EDX, ECX; result in
// EAX; EBX, ESI, EDI, EBP preserved.  Registers a case does not set hold
// distinct canary values, and `clobbered` lists the callee-saved registers
// (and ESP) that came back changed; `changed` lists every register that did,
// for routines whose contract (toolchain/x86/routine.ts) is stricter.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Item, type Module, collect, defineModule, expandedItems } from '../../toolchain/x86/asm.ts';
import { type Assembled, BSS_END, BSS_START, IMAGE_END, assemble } from '../../toolchain/x86/assemble.ts';
import { elf32Executable } from '../../toolchain/x86/elf.ts';
import { listing } from '../../toolchain/x86/nasm.ts';
import {
  type Expr, type Operand, type Reg32, ExprNode, L, constant, dword, eax, ebp, ebx, ecx, edi, edx, esi, esp, isExpr, isFar, isMem,
} from '../../toolchain/x86/operands.ts';

/** Where the test component is linked: the usual i386 Linux executable address, far from anything qemu-i386 maps. */
export const ROUTINE_ORIGIN = 0x08048000;
/** Exit status of the k-th stub (an undefined label the routine reached): 64 + k. */
export const STUB_STATUS_BASE = 64;
const MAX_STUBS = 255 - STUB_STATUS_BASE;
const DEFAULT_TIMEOUT_MS = 20_000;

// Linux i386 system calls (arch/x86/entry/syscalls/syscall_32.tbl): number in
// EAX, arguments in EBX, ECX, EDX, `int 0x80`.  tskernel's own numbers differ.
const LINUX_NR_EXIT = constant('LINUX_NR_EXIT', 1, 'Linux i386 exit(status): ends the process (qemu-i386 exits with status)');
const LINUX_NR_WRITE = constant('LINUX_NR_WRITE', 4, 'Linux i386 write(fd, buf, count)');
const STDOUT = constant('LINUX_STDOUT', 1, 'file descriptor 1: the pipe the test harness reads');

export type InputReg = 'eax' | 'ecx' | 'edx' | 'ebx' | 'esi' | 'edi' | 'ebp';
export type RegName = InputReg | 'esp';
const INPUT_REGS: readonly InputReg[] = ['eax', 'ecx', 'edx', 'ebx', 'esi', 'edi', 'ebp'];
const REG: Record<RegName, Reg32> = { eax, ecx, edx, ebx, esi, edi, ebp, esp };
const CALLEE_SAVED = ['ebx', 'esi', 'edi', 'ebp'] as const;
/** What a register holds when a case does not set it: 0xC0DE00nn, a different value per register. */
export const CANARY: Readonly<Record<InputReg, number>> = Object.freeze({
  eax: 0xc0de00a0, ecx: 0xc0de00c0, edx: 0xc0de00d0, ebx: 0xc0de00b0, esi: 0xc0de0051, edi: 0xc0de00d1, ebp: 0xc0de00bb,
});

/** Bytes the harness places in its data area; used as a value, it is their address. */
export interface DataRef {
  readonly kind: 'routine-data';
  readonly bytes: Uint8Array;
}
/** A NUL-terminated ASCII (or Latin-1, one byte per character) string in the data area. */
export function cstr(s: string): DataRef {
  return data([...s].map((ch, i) => {
    const c = ch.codePointAt(0)!;
    if (c > 0xff) throw new Error(`cstr(${JSON.stringify(s)}): character ${i} (U+${c.toString(16)}) is not one byte; pass bytes to data()`);
    return c;
  }).concat(0));
}
/** Raw bytes in the data area. */
export function data(bytes: Uint8Array | readonly number[]): DataRef {
  return Object.freeze({ kind: 'routine-data', bytes: Uint8Array.from(bytes) });
}
const isData = (v: unknown): v is DataRef => typeof v === 'object' && v !== null && (v as DataRef).kind === 'routine-data';

/** A register or address value: a number (unsigned, or negative for two's complement), a label (L('tbl')), or data. */
export type Value = number | ExprNode | DataRef;

export interface RoutineCase {
  /** The label to call; defaults to RoutineRun.routine. */
  readonly routine?: string;
  /** For messages: what this case is ("parse_uint '12a'"). */
  readonly name?: string;
  /** Input registers; the others hold CANARY values. */
  readonly args?: Partial<Record<InputReg, Value>>;
  /**
   * Stack arguments (cdecl, routine.ts): pushed right to left before the
   * call, so stack[0] is the callee's [ebp+8], and removed after it.
   */
  readonly stack?: readonly Value[];
  /** Memory written just before the call (e.g. a variable in the modules' bss). */
  readonly memory?: readonly { readonly at: Value; readonly bytes: Uint8Array | readonly number[] }[];
  /** Memory read back just after the call, in RoutineResult.memory. */
  readonly read?: readonly { readonly at: Value; readonly length: number }[];
}

export interface RoutineRun {
  /** The modules linked with the harness (e.g. [string]). */
  readonly modules: readonly Module[];
  readonly routine?: string;
  readonly cases: readonly RoutineCase[];
  /** Default 20 s: a routine that never returns (e.g. strlen on memory with no NUL) is stopped then. */
  readonly timeoutMs?: number;
  /** When a case fails, keep the ELF and its listing in the temporary folder and name it in the error (default true). */
  readonly keepFailed?: boolean;
  /** The user-mode emulator to run, default 'qemu-i386' (from PATH). */
  readonly emulator?: string;
}

export interface RoutineResult {
  /** Registers after the routine returned, as unsigned 32-bit numbers. */
  readonly regs: Readonly<Record<RegName, number>>;
  /** The input registers as loaded (the canaries where the case set nothing). */
  readonly input: Readonly<Record<InputReg, number>>;
  /** EFLAGS after the return, and its arithmetic flags (Intel SDM Vol. 1 §3.4.3.1). */
  readonly eflags: number;
  readonly cf: boolean;
  readonly zf: boolean;
  readonly sf: boolean;
  readonly of: boolean;
  /** One entry per RoutineCase.read. */
  readonly memory: readonly Uint8Array[];
  /** Callee-saved registers (EBX, ESI, EDI, EBP) and ESP that did not come back as they went in. */
  readonly clobbered: readonly ('ebx' | 'esi' | 'edi' | 'ebp' | 'esp')[];
  /**
   * Every register that did not come back as it went in (ESP: as it was
   * after the stack arguments were pushed), for checking a routine's
   * contract (routine.ts: all but `out` and `clobbers` are preserved).
   */
  readonly changed: readonly RegName[];
}

export class RoutineHarnessError extends Error {}

/** Offsets in a case's result block, in bytes. */
const OUT: Record<RegName | 'eflags' | 'espBefore', number> = {
  eax: 0, ecx: 4, edx: 8, ebx: 12, esp: 16, ebp: 20, esi: 24, edi: 28, eflags: 32, espBefore: 36,
};
const REGS_BLOCK = 40;
const EFLAGS = { cf: 1 << 0, zf: 1 << 6, sf: 1 << 7, of: 1 << 11 };

/** One case; see runRoutines. */
export async function runRoutine(run: Omit<RoutineRun, 'cases'> & RoutineCase): Promise<RoutineResult> {
  const { modules, timeoutMs, keepFailed, emulator, ...c } = run;
  return (await runRoutines({ modules, timeoutMs, keepFailed, emulator, cases: [c] }))[0]!;
}

/**
 * Run every case in one qemu-i386 process, in order (memory a case changes
 * stays changed for the next), and return one result per case.
 */
export async function runRoutines(run: RoutineRun): Promise<RoutineResult[]> {
  if (run.cases.length === 0) throw new RoutineHarnessError('runRoutines: no cases given');
  const built = buildRoutineProgram(run);
  const dir = mkdtempSync(path.join(tmpdir(), 'tsk-routine-'));
  const file = path.join(dir, 'routine.elf');
  writeFileSync(file, built.elf, { mode: 0o755 });
  let keep = false;
  try {
    const out = await execQemu(run.emulator ?? 'qemu-i386', file, dir, run.timeoutMs ?? DEFAULT_TIMEOUT_MS, built.resultBytes);
    const results: RoutineResult[] = [];
    let at = 0;
    for (const [i, layout] of built.layouts.entries()) {
      if (out.stdout.length < at + layout.size) {
        keep = run.keepFailed ?? true;
        if (keep) writeFileSync(path.join(dir, 'routine.lst'), listing(built.assembled));
        throw new RoutineHarnessError(`${built.caseName(i)}: ${whyStopped(out, built.stubs)}` +
          `${i === 1 ? ' (case 0 completed)' : i > 1 ? ` (cases 0-${i - 1} completed)` : ''}.` +
          (keep ? `\nThe program and its listing are kept in ${dir} (run it again with: qemu-i386 ${file})` : ''));
      }
      results.push(parseBlock(out.stdout.subarray(at, at + layout.size), layout));
      at += layout.size;
    }
    if (out.status !== 0 || out.stdout.length !== at) {
      throw new RoutineHarnessError(`internal: the harness program ended with status ${out.status} and ${out.stdout.length} bytes of output (expected 0 and ${at})${out.stderr ? `: ${out.stderr.trim()}` : ''}`);
    }
    return results;
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

interface CaseLayout {
  readonly size: number;
  readonly reads: readonly { readonly offset: number; readonly length: number }[];
  readonly input: Readonly<Record<InputReg, number>>;
}

export interface RoutineProgram {
  readonly assembled: Assembled;
  readonly elf: Uint8Array;
  readonly layouts: readonly CaseLayout[];
  /** Bytes the program writes to stdout when every case completes. */
  readonly resultBytes: number;
  /** Labels the modules use but do not define, in stub order. */
  readonly stubs: readonly string[];
  caseName(i: number): string;
}

/** Assemble the harness component for `run` and wrap it as an ELF (exported for tests of the harness itself). */
export function buildRoutineProgram(run: RoutineRun): RoutineProgram {
  const defined = definedLabels(run.modules);
  const stubs = [...usedLabels(run.modules)].filter((n) => !defined.has(n)).sort();
  if (stubs.length > MAX_STUBS) throw new RoutineHarnessError(`the modules use ${stubs.length} labels they do not define; the harness can stub at most ${MAX_STUBS}`);
  const caseName = (i: number) => {
    const c = run.cases[i]!;
    return `case ${i}${c.name ? ` (${c.name})` : ''} of ${c.routine ?? run.routine}`;
  };

  const dataLabels = new Map<DataRef, string>();
  const dataLabel = (d: DataRef) => {
    let l = dataLabels.get(d);
    if (!l) dataLabels.set(d, (l = `harness_data_${dataLabels.size}`));
    return l;
  };
  const valueOf = (v: Value, what: string): Expr => {
    if (isData(v)) return L(dataLabel(v));
    if (v instanceof ExprNode) {
      const unknown = [...labelsIn(v)].filter((n) => !defined.has(n));
      if (unknown.length) throw new RoutineHarnessError(`${what} names ${unknown.map((n) => `'${n}'`).join(', ')}: not a label in the modules under test (${run.modules.map((m) => m.name).join(', ')})`);
      return v;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v > 0xffffffff) {
      throw new RoutineHarnessError(`${what} is ${String(v)}: not a 32-bit integer, a label (L('name')) or data (cstr(), data())`);
    }
    return v;
  };

  const layouts: CaseLayout[] = [];
  let resultBytes = 0;
  const plans = run.cases.map((c, i) => {
    const routine = c.routine ?? run.routine;
    if (!routine) throw new RoutineHarnessError(`${caseName(i)}: no routine named (give RoutineRun.routine or the case's routine)`);
    if (!defined.has(routine)) {
      throw new RoutineHarnessError(`${caseName(i)}: '${routine}' is not a label in the modules under test (${run.modules.map((m) => m.name).join(', ')})`);
    }
    for (const k of Object.keys(c.args ?? {})) {
      if (!(INPUT_REGS as readonly string[]).includes(k)) throw new RoutineHarnessError(`${caseName(i)}: args.${k} is not an input register (${INPUT_REGS.join(', ')})`);
    }
    const args = INPUT_REGS.map((r) => {
      const given = c.args?.[r];
      return [r, given === undefined ? CANARY[r] : valueOf(given, `${caseName(i)}: args.${r}`), given !== undefined] as const;
    });
    const stack = (c.stack ?? []).map((v, j) => valueOf(v, `${caseName(i)}: stack[${j}]`));
    const presets = (c.memory ?? []).map((m, j) => {
      if (m.bytes.length === 0) throw new RoutineHarnessError(`${caseName(i)}: memory[${j}].bytes is empty`);
      const src = data(m.bytes);
      return { at: valueOf(m.at, `${caseName(i)}: memory[${j}].at`), src: L(dataLabel(src)), length: src.bytes.length };
    });
    let size = REGS_BLOCK;
    const reads = (c.read ?? []).map((r, j) => {
      if (!Number.isInteger(r.length) || r.length <= 0) throw new RoutineHarnessError(`${caseName(i)}: read[${j}].length ${r.length} is not a positive integer`);
      const offset = size;
      size += Math.ceil(r.length / 4) * 4;
      return { at: valueOf(r.at, `${caseName(i)}: read[${j}].at`), offset, length: r.length };
    });
    // Input values as loaded, for `input` and the callee-saved check (labels are resolved after assembly).
    layouts.push({ size, reads: reads.map(({ offset, length }) => ({ offset, length })), input: {} as Record<InputReg, number> });
    resultBytes += size;
    return { routine, args, stack, presets, reads, size };
  });

  const harness = defineModule({
    name: 'routine_harness',
    title: 'Routine-test harness: call one routine per case, report registers and memory to the host',
    about: `
Generated by test/harness/routine.ts.  Each case: preset memory, load the
seven input registers, call the routine, then store EFLAGS, the eight
registers and the memory to read into the case's result block and write
the block to stdout (Linux write(2) via int 0x80, qemu-i386).`,
    emit(a) {
      a.label('harness_entry');
      plans.forEach((p, i) => {
        a.section(caseName(i));
        const res = a.bss(`harness_case_${i}`, p.size, 4, `${caseName(i)}: result block`);
        const field = (off: number) => (off ? res.add(off) : res);
        a.cld('rep movsb copies upwards');
        for (const m of p.presets) {
          a.mov(esi, m.src);
          a.mov(edi, m.at);
          a.mov(ecx, m.length);
          a.rep_movsb('preset memory');
        }
        for (const [r, v, given] of p.args) {
          if (given) a.mov(REG[r], v);
          else a.mov(REG[r], v, 'not set by the case: a canary');
        }
        for (let j = p.stack.length - 1; j >= 0; j--) a.push(p.stack[j]!, `stack argument ${j + 1} (cdecl: right to left)`);
        a.mov(dword(field(OUT.espBefore)), esp, 'ESP before the call, to compare with ESP after it');
        a.call(L(p.routine));
        a.pushfd('EFLAGS as the routine left them');
        a.pop(dword(field(OUT.eflags)));
        for (const r of ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const) a.mov(dword(field(OUT[r])), REG[r]);
        if (p.stack.length) a.add(esp, 4 * p.stack.length, 'remove the stack arguments');
        a.cld('the routine may have left DF set');
        for (const r of p.reads) {
          a.mov(esi, r.at);
          a.mov(edi, field(r.offset));
          a.mov(ecx, r.length);
          a.rep_movsb('read back memory');
        }
        a.mov(eax, LINUX_NR_WRITE);
        a.mov(ebx, STDOUT);
        a.mov(ecx, res);
        a.mov(edx, p.size);
        a.int(0x80, 'write(1, block, size): this case is done');
      });
      a.section('all cases done');
      a.mov(eax, LINUX_NR_EXIT);
      a.mov(ebx, 0);
      a.int(0x80, 'exit(0)');
    },
  });
  const stubModule = defineModule({
    name: 'routine_stubs',
    title: 'Stubs for the labels the modules under test use but do not define',
    about: `\nReaching one ends the run: exit(${STUB_STATUS_BASE} + the stub's index).`,
    emit(a) {
      stubs.forEach((s, k) => {
        a.label(s, `stub ${k}`);
        a.mov(ebx, STUB_STATUS_BASE + k);
        a.mov(eax, LINUX_NR_EXIT);
        a.int(0x80);
      });
    },
  });
  const dataModule = defineModule({
    name: 'routine_data',
    title: 'Inputs of the test cases',
    about: '\nStrings and tables the cases point at.',
    emit(a) {
      for (const [d, label] of dataLabels) {
        a.align(4);
        a.label(label);
        a.dataC(1, [...d.bytes], `${d.bytes.length} bytes`);
      }
    },
  });
  const modules = [harness, ...run.modules, ...(stubs.length ? [stubModule] : []), ...(dataLabels.size ? [dataModule] : [])];
  const assembled = assemble({
    name: 'routine_test', title: 'routine test', about: 'test/harness/routine.ts', bits: 32, origin: ROUTINE_ORIGIN, modules,
  });
  const sym = (e: Expr): number => {
    if (typeof e === 'number') return e >>> 0;
    const t = e.tree;
    if (t.t === 'sym') return assembled.symbols.get(t.name)!.value >>> 0;
    throw new RoutineHarnessError('internal: only labels and numbers are register inputs');
  };
  const finalLayouts = layouts.map((l, i) => ({
    ...l, input: Object.fromEntries(plans[i]!.args.map(([r, v]) => [r, exprValue(v, sym)])) as Record<InputReg, number>,
  }));
  const elf = elf32Executable({
    bytes: assembled.bytes, origin: ROUTINE_ORIGIN, entry: assembled.symbols.get('harness_entry')!.value,
    bssSize: assembled.bssEnd - ROUTINE_ORIGIN - assembled.bytes.length,
  });
  return { assembled, elf, layouts: finalLayouts, resultBytes, stubs, caseName };
}

/** The value a register input had: numbers as given, labels from the symbol table, expressions like L('x').add(4) too. */
function exprValue(v: Expr, sym: (e: Expr) => number): number {
  if (typeof v === 'number') return v >>> 0;
  const t = v.tree;
  if (t.t === 'sym') return sym(v);
  if (t.t === 'const') return exprValue(t.c.value, sym);
  if (t.t === 'bin' && (t.op === '+' || t.op === '-')) {
    const a = exprValue(t.a, sym), b = exprValue(t.b, sym);
    return (t.op === '+' ? a + b : a - b) >>> 0;
  }
  throw new RoutineHarnessError(`a register input is an expression the harness cannot evaluate (use a number, a label, or label ± number)`);
}

function parseBlock(b: Uint8Array, layout: CaseLayout): RoutineResult {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u = (off: number) => v.getUint32(off, true);
  const regs = Object.fromEntries((Object.keys(REG) as RegName[]).map((r) => [r, u(OUT[r])])) as Record<RegName, number>;
  const eflags = u(OUT.eflags);
  const clobbered: ('ebx' | 'esi' | 'edi' | 'ebp' | 'esp')[] = CALLEE_SAVED.filter((r) => regs[r] !== layout.input[r]);
  if (regs.esp !== u(OUT.espBefore)) clobbered.push('esp');
  const changed: RegName[] = INPUT_REGS.filter((r) => regs[r] !== layout.input[r]);
  if (regs.esp !== u(OUT.espBefore)) changed.push('esp');
  return {
    regs, input: layout.input, eflags,
    cf: (eflags & EFLAGS.cf) !== 0, zf: (eflags & EFLAGS.zf) !== 0, sf: (eflags & EFLAGS.sf) !== 0, of: (eflags & EFLAGS.of) !== 0,
    memory: layout.reads.map((r) => b.slice(r.offset, r.offset + r.length)),
    clobbered, changed,
  };
}

// ------------------------------------------------------------ running qemu-i386

interface QemuOut { stdout: Buffer; stderr: string; status: number | null; signal: NodeJS.Signals | null; timedOut: boolean; timeoutMs: number }

function execQemu(emulator: string, file: string, cwd: string, timeoutMs: number, expectBytes: number): Promise<QemuOut> {
  return new Promise((resolve, reject) => {
    // cwd: the temporary folder, so that a core file qemu-i386 may write on a crash is removed with it.
    execFile(emulator, [file], { cwd, encoding: 'buffer', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: expectBytes + 65536 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number; killed?: boolean; signal?: NodeJS.Signals }) | null;
      if (e && e.code === 'ENOENT') {
        reject(new RoutineHarnessError(`${emulator} not found: the routine tests run kernel routines under QEMU's user-mode emulator qemu-i386. Install Debian's 'qemu-user' package (apt-get install --no-install-recommends qemu-user, or npm run setup)`));
        return;
      }
      resolve({
        stdout, stderr: stderr.toString('utf8'), status: e ? (typeof e.code === 'number' ? e.code : null) : 0,
        signal: e?.signal ?? null, timedOut: !!e?.killed && e.signal === 'SIGKILL', timeoutMs,
      });
    });
  });
}

function whyStopped(out: QemuOut, stubs: readonly string[]): string {
  if (out.timedOut) return `did not return within ${out.timeoutMs / 1000} s (an endless loop, e.g. a scan for a byte that is not there?); qemu-i386 was killed`;
  if (out.signal) {
    const hint = out.signal === 'SIGSEGV' ? ' (an access outside the program\'s memory, or a privileged instruction: in/out, cli/sti, hlt, lgdt, mov crN fault in ring 3)' : '';
    return `crashed with ${out.signal}${hint}${out.stderr ? `: ${out.stderr.trim()}` : ''}`;
  }
  if (out.status !== null && out.status >= STUB_STATUS_BASE && out.status - STUB_STATUS_BASE < stubs.length) {
    return `reached '${stubs[out.status - STUB_STATUS_BASE]}', which the modules under test do not define (the harness put a stub there that ends the run): test a routine that does not call out, or link the module that defines it`;
  }
  return `the program ended early with status ${out.status}${out.stderr ? `: ${out.stderr.trim()}` : ''}`;
}

// ------------------------------------------------------- labels used and defined

function definedLabels(modules: readonly Module[]): Set<string> {
  const out = new Set<string>([IMAGE_END, BSS_START, BSS_END]);
  for (const m of modules) {
    let scope = '';
    for (const it of expandedItems(collect(m, 32))) {
      if (it.k === 'label' && !it.name.startsWith('.')) scope = it.name;
      // A local label is also reachable from elsewhere by its full name: L('serial_put_hex8.nibble').
      if (it.k === 'label') out.add(it.name.startsWith('.') ? scope + it.name : it.name);
      if (it.k === 'equ' || it.k === 'bss') out.add(it.name);
    }
  }
  return out;
}

/** The global labels an expression refers to (through named constants too). */
function labelsIn(e: Expr, out = new Set<string>(), seen = new Set<object>()): Set<string> {
  const expr = (x: Expr): void => {
    if (typeof x === 'number') return;
    const t = x.tree;
    switch (t.t) {
      case 'sym': if (!t.name.startsWith('.')) out.add(t.name); break;
      case 'const': if (!seen.has(t.c)) { seen.add(t.c); expr(t.c.value); } break;
      case 'bin': expr(t.a); expr(t.b); break;
      case 'not': case 'neg': expr(t.a); break;
      default: break;
    }
  };
  expr(e);
  return out;
}

function usedLabels(modules: readonly Module[]): Set<string> {
  const out = new Set<string>();
  const seen = new Set<object>();
  const expr = (e: Expr): void => { labelsIn(e, out, seen); };
  const operand = (o: Operand) => {
    if (isMem(o)) { if (o.addr.disp !== undefined) expr(o.addr.disp); } else if (isFar(o)) { expr(o.selector); expr(o.offset); } else if (isExpr(o)) expr(o);
  };
  const item = (it: Item) => {
    if (it.k === 'ins') it.ops.forEach(operand);
    else if (it.k === 'data') it.values.forEach((v) => { if (typeof v !== 'string' && typeof v !== 'bigint') expr(v); }); // strings and dq bigints name no label
    else if (it.k === 'times') { expr(it.count); if (typeof it.value !== 'bigint') expr(it.value); } else if (it.k === 'equ') expr(it.value);
  };
  for (const m of modules) expandedItems(collect(m, 32)).forEach(item);
  return out;
}
