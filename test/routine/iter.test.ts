// forEachProc (kernel/proc/iter.ts), the "for each process" scan: the NASM it
// prints, real NASM assembling that text to our bytes, and the loop run under
// qemu-i386 (test/harness/routine.ts) over a fake process table, to show that
// it visits every entry in order, and that skipKernel, skipFree, `next`
// (continue) and `done` (break) do what they say.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Asm, defineModule } from '../../toolchain/x86/asm.ts';
import { assemble } from '../../toolchain/x86/assemble.ts';
import { emitComponent } from '../../toolchain/x86/nasm.ts';
import { L, dword, eax, ebx, ecx, edx, esp } from '../../toolchain/x86/operands.ts';
import { forEachProc, type ForEachProcOptions, type ProcLoop } from '../../kernel/proc/iter.ts';
import { MAX_PROCS, PROC, PS_FREE, PS_RUNNABLE, PS_SLEEPING } from '../../kernel/proc/table.ts';
import { runRoutines } from '../harness/routine.ts';

const ENTRIES = MAX_PROCS.c.value as number;
const SIZE = PROC.size;

/**
 * A stand-in for proc.asm's table: forEachProc names proc_table and
 * proc_table_end, so a test component that defines labels of those names
 * (strings, not the kernel's symbols) gets the same instructions.  Here the
 * table is data, so that each case can fill it in.
 */
function fakeTable(a: Asm): void {
  a.label('visit_count');
  a.dd(0);
  a.label('visited', 'the pids the body saw, in order');
  a.times(ENTRIES, 4, 0);
  a.align(64);
  a.label('proc_table');
  a.times(MAX_PROCS.mul(PROC.SIZE), 1, 0);
  a.equ('proc_table_end', L('proc_table').add(MAX_PROCS.mul(PROC.SIZE)), 'first byte after the fake table');
}

/** The body's "visit": append the entry's pid to `visited` (EAX, ECX clobbered; EBX is the entry). */
function record(a: Asm): void {
  a.mov(eax, dword(ebx, PROC.f.pid));
  a.mov(ecx, dword(L('visit_count')));
  a.mov(dword({ index: ecx, scale: 4, disp: L('visited') }), eax);
  a.inc(dword(L('visit_count')));
}

/** A routine that runs one scan and returns EAX = EBX after the loop (proc_table_end, or the entry it broke at). */
function routine(a: Asm, name: string, body: (loop: ProcLoop) => void, opts?: ForEachProcOptions): void {
  a.label(name);
  a.push(ebx);
  a.mov(dword(L('visit_count')), 0);
  forEachProc(a, ebx, body, opts);
  a.mov(eax, ebx);
  a.pop(ebx);
  a.ret();
}

const scans = defineModule({
  name: 'scans', title: 'scans', about: 'forEachProc in every form, over a fake process table',
  emit(a) {
    routine(a, 'visit_all', () => record(a));
    routine(a, 'visit_users', () => record(a), { skipKernel: true });
    routine(a, 'visit_live', () => record(a), { skipFree: true });
    routine(a, 'visit_even', ({ next }) => {
      a.test(dword(ebx, PROC.f.pid), 1);
      a.jnz(next, 'continue: odd pids are not recorded');
      record(a);
    });
    routine(a, 'visit_until', ({ done }) => {
      record(a);
      a.cmp(dword(ebx, PROC.f.pid), edx);
      a.je(done, 'break: EDX is the pid to stop at');
    }, { skipKernel: true, skipFree: true });
    fakeTable(a);
  },
});

const origin = 0x10000;
const asm = assemble({ name: 'scans', title: 'scans', about: 'test', bits: 32, origin, modules: [scans] });
const files = emitComponent(asm);
const text = files.map((f) => f.text).join('\n');
/** The generated lines of one routine, from its label to its ret, trailing spaces and comment columns squeezed. */
const routineText = (name: string) => {
  const from = text.indexOf(`\n${name}:`) + 1;
  return text.slice(from, text.indexOf('    ret', from)).split('\n').map((l) => l.replace(/ {2,};/, ' ;').trimEnd()).filter((l) => l);
};

describe('forEachProc: the generated NASM', () => {
  it('prints one comment saying it is the process-table scan, then the loop with named local labels', () => {
    expect(routineText('visit_even')).toEqual([
      'visit_even:',
      '    push ebx',
      '    mov dword [visit_count], 0',
      '; for each process-table entry (EBX = entry; from the kernel task (entry 0))',
      '    mov ebx, proc_table',
      '.each_proc_4:',
      '    test dword [ebx+proc.pid], 1',
      '    jnz .each_proc_4_next ; continue: odd pids are not recorded',
      '    mov eax, dword [ebx+proc.pid]',
      '    mov ecx, dword [visit_count]',
      '    mov dword [ecx*4+visited], eax',
      '    inc dword [visit_count]',
      '.each_proc_4_next:',
      '    add ebx, proc_size',
      '    cmp ebx, proc_table_end',
      '    jb .each_proc_4',
      '    mov eax, ebx',
      '    pop ebx',
    ]);
  });

  it('skipKernel starts at entry 1, skipFree tests the state first, and `done` is printed after the loop', () => {
    const lines = routineText('visit_until');
    expect(lines.slice(3, 8)).toEqual([
      '; for each process-table entry (EBX = entry; user processes only, free entries skipped)',
      '    mov ebx, proc_table + proc_size ; entry 0 is the kernel task',
      '.each_proc_5:',
      '    cmp dword [ebx+proc.state], PS_FREE',
      '    je .each_proc_5_next',
    ]);
    expect(lines.slice(-7)).toEqual([
      '.each_proc_5_next:',
      '    add ebx, proc_size',
      '    cmp ebx, proc_table_end',
      '    jb .each_proc_5',
      '.each_proc_5_done:',
      '    mov eax, ebx',
      '    pop ebx',
    ]);
  });

  it('labels nobody jumps to are not printed', () => {
    const lines = routineText('visit_all');
    expect(lines.filter((l) => l.startsWith('.'))).toEqual(['.each_proc_1:']);
  });

  it('each scan is marked once, and the jump back to the top is short (2 bytes, like the hand-written loops)', () => {
    expect(text.match(/^; for each process-table entry/gm)).toHaveLength(5);
    const jbs = asm.rows.filter((r) => r.item.k === 'ins' && r.item.mn === 'jb');
    expect(jbs).toHaveLength(5);
    for (const r of jbs) expect(Buffer.from(r.bytes).toString('hex')).toMatch(/^72[0-9a-f]{2}$/);
  });

  it('refuses ESP as the entry register, naming the caller\'s line', () => {
    const bad = defineModule({ name: 'bad', title: 'bad', about: 'bad', emit: (a) => { a.label('bad'); forEachProc(a, esp, () => {}); } });
    expect(() => assemble({ name: 'bad', title: 'bad', about: 'bad', bits: 32, origin: 0, modules: [bad] }))
      .toThrow(/forEachProc\(a, esp, \.\.\.\) at test\/routine\/iter\.test\.ts:\d+: the entry register must be a general register other than ESP/);
  });

  it('nasm -f bin reproduces our bytes from the printed text', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsk-iter-'));
    try {
      for (const f of files) {
        mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
        writeFileSync(path.join(dir, f.path), f.text);
      }
      execFileSync('nasm', ['-f', 'bin', 'scans.asm', '-o', 'out.bin'], { cwd: dir, stdio: 'pipe' });
      expect(readFileSync(path.join(dir, 'out.bin')).toString('hex')).toBe(Buffer.from(asm.bytes).toString('hex'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('forEachProc: run under qemu-i386 over a fake table', () => {
  /** A table image: entry i has pid 100 + i and the given state. */
  const table = (states: readonly number[]) => {
    const b = new Uint8Array(ENTRIES * SIZE);
    const v = new DataView(b.buffer);
    states.forEach((s, i) => {
      v.setUint32(i * SIZE + PROC.f.state.offset, s, true);
      v.setUint32(i * SIZE + PROC.f.pid.offset, 100 + i, true);
    });
    return b;
  };
  const ALL = Array.from({ length: ENTRIES }, () => PS_RUNNABLE.c.value as number);
  const MIXED = [PS_RUNNABLE, PS_FREE, PS_SLEEPING, PS_FREE, PS_FREE, PS_RUNNABLE, PS_FREE, PS_SLEEPING].map((c) => c.c.value as number);
  const visited = (r: { memory: readonly Uint8Array[] }) => {
    const count = new DataView(r.memory[0]!.buffer, r.memory[0]!.byteOffset).getUint32(0, true);
    const v = new DataView(r.memory[1]!.buffer, r.memory[1]!.byteOffset);
    return Array.from({ length: count }, (_, i) => v.getUint32(i * 4, true));
  };
  const read = [{ at: L('visit_count'), length: 4 }, { at: L('visited'), length: ENTRIES * 4 }];
  const pids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => 100 + from + i);

  it('visits every entry in table order; skipKernel leaves out entry 0; skipFree leaves out free entries', async () => {
    const [all, users, live, liveAll] = await runRoutines({
      modules: [scans],
      cases: [
        { routine: 'visit_all', name: 'all', memory: [{ at: L('proc_table'), bytes: table(MIXED) }], read },
        { routine: 'visit_users', name: 'users', read },
        { routine: 'visit_live', name: 'live', read },
        { routine: 'visit_live', name: 'live, none free', memory: [{ at: L('proc_table'), bytes: table(ALL) }], read },
      ],
    });
    expect(visited(all!)).toEqual(pids(0, ENTRIES));
    expect(visited(users!)).toEqual(pids(1, ENTRIES));
    expect(visited(live!)).toEqual([100, 102, 105, 107]);
    expect(visited(liveAll!)).toEqual(pids(0, ENTRIES));
    for (const r of [all!, users!, live!, liveAll!]) {
      expect(r.clobbered).toEqual([]);
    }
    const end = all!.regs.eax;
    expect([users!.regs.eax, live!.regs.eax, liveAll!.regs.eax]).toEqual([end, end, end]);
  });

  it('`next` skips the rest of the body for that entry and goes on with the next one', async () => {
    const [r] = await runRoutines({ modules: [scans], cases: [{ routine: 'visit_even', memory: [{ at: L('proc_table'), bytes: table(ALL) }], read }] });
    expect(visited(r!)).toEqual([100, 102, 104, 106]);
  });

  it('`done` leaves the loop with the register at the entry it broke at; without a break it ends at proc_table_end', async () => {
    const rs = await runRoutines({
      modules: [scans],
      cases: [
        { routine: 'visit_all', name: 'find the table end', memory: [{ at: L('proc_table'), bytes: table(MIXED) }], read },
        { routine: 'visit_until', name: 'stop at pid 105', args: { edx: 105 }, read },
        { routine: 'visit_until', name: 'stop at pid 107 (the last)', args: { edx: 107 }, read },
        { routine: 'visit_until', name: 'pid 101 is free: never seen', args: { edx: 101 }, read },
      ],
    });
    const end = rs[0]!.regs.eax;
    const base = end - ENTRIES * SIZE;
    expect(visited(rs[1]!)).toEqual([102, 105]);
    expect(rs[1]!.regs.eax).toBe(base + 5 * SIZE);
    expect(visited(rs[2]!)).toEqual([102, 105, 107]);
    expect(rs[2]!.regs.eax).toBe(base + 7 * SIZE);
    expect(visited(rs[3]!)).toEqual([102, 105, 107]);
    expect(rs[3]!.regs.eax).toBe(end);
  });
});
