// fuzz: thousands of system calls with pseudo-random numbers and arguments.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { type Expr, al, eax, ebx, ecx, edx, esi, edi, esp, L, dword, constant, dec } from '../../toolchain/x86/operands.ts';
import { SYS, USER_STACK_TOP, VEC_SYSCALL } from '../proc/abi.ts';
import { EBADF, EFAULT, EINVAL, ENODEV, ENOSYS } from '../proc/errno.ts';
import { u_exit, u_put_dec, u_put_hex, u_puts } from './ulib.ts';
import type { RoutineSpec } from '../../toolchain/x86/routine.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const _start = sym('_start');
const fuzz_call = sym('fuzz_call');
const fuzz_dots = sym('fuzz_dots');
const fuzz_left = sym('fuzz_left');
const fuzz_lfsr = sym('fuzz_lfsr');
const fuzz_pool = sym('fuzz_pool');
const fuzz_rand = sym('fuzz_rand');
const fuzz_skipped = sym('fuzz_skipped');

export const FUZZ_CALLS = constant('FUZZ_CALLS', 10000, 'system calls the fuzzer makes', { radix: 10 });
export const LFSR_TAPS = constant('LFSR_TAPS', 0x80200003, 'Galois LFSR feedback mask for x^32 + x^22 + x^2 + x + 1 (maximal length)');
export const FUZZ_RAW_FLOOR = constant('FUZZ_RAW_FLOOR', 0x00100000, 'OR-ed into raw random arguments: never a small length, fd or duration');

/** The argument pool: boundary values a kernel must reject or survive. */
const POOL: readonly { value: Expr; why: string }[] = [
  { value: 0, why: '0: fd 0, NULL, length 0, sleep 0' },
  { value: 1, why: '1: fd 1, a 1-byte length, 1 ms' },
  { value: 2, why: '2: fd 2' },
  { value: 0xffffffff, why: '-1' },
  { value: 0x7fffffff, why: 'INT_MAX' },
  { value: 0x80000000, why: 'INT_MIN' },
  { value: 0x10000, why: 'the kernel image; also a length > 4096 and a sleep > 60 s' },
  { value: 0xb8000, why: 'VGA memory: mapped, but supervisor-only' },
  { value: USER_STACK_TOP.sub(4096 + 1), why: 'the last byte of the hole below the stack page' },
  { value: fuzz_dots, why: 'a valid buffer (4 KiB of dots)' },
  { value: 0x500000, why: 'the unmapped hole in the user region' },
  { value: USER_STACK_TOP.sub(2), why: 'the last two bytes of the user region (dots)' },
  { value: 0xfffff000, why: 'the last page of the 4 GiB space: wraps with any length > 4 KiB' },
  { value: 0x3fffff, why: 'the last byte below USER_BASE (kernel)' },
];
const RESULTS = [
  { key: 'ok', label: 'fuzz_ok' }, { key: 'ENOSYS', label: 'fuzz_enosys', errno: ENOSYS }, { key: 'EFAULT', label: 'fuzz_efault', errno: EFAULT },
  { key: 'EINVAL', label: 'fuzz_einval', errno: EINVAL }, { key: 'EBADF', label: 'fuzz_ebadf', errno: EBADF },
  { key: 'ENODEV', label: 'fuzz_enodev', errno: ENODEV }, { key: 'other', label: 'fuzz_other' },
] as const;

/** fuzz_rand's contract (toolchain/x86/routine.ts); test/routine/routines.test.ts checks it. */
export const FUZZ_RAND: RoutineSpec = {
  name: fuzz_rand, does: 'advances the LFSR (fuzz_lfsr) 16 steps, so consecutive values share few bits',
  out: { eax: 'the new state' }, clobbers: [ecx],
};

export const fuzz = defineModule({
  name: 'fuzz',
  title: 'fuzz: 10,000 random system calls; the kernel must answer every one',
  about: `
The start argument (EAX at entry; the kernel passes the cmdline's seed=)
seeds a 32-bit Galois LFSR (taps x^32 + x^22 + x^2 + x + 1; 0 becomes 1,
the one state an LFSR never leaves).  Each call draws:

  number     7 times in 8 a number 0-15 (0-9 exist, 10-15 do not), else
             a raw 32-bit value;
  arguments  each one from a pool of boundary values (14 times in 16) or
             a raw random value with bit 20 set (2 times in 16); arguments
             1 and 3 of read and write (fd and length) are 0, 1 or 2
             half the time, so that more calls get past the fd and length
             checks to the buffer check.  The pool:
${POOL.map((p, i) => `    ${String(i).padStart(2)}  ${p.why}`).join('\n')}

No value in the pool is a small length or duration other than 0, 1 and 2,
so a call that passes validation returns at once: a valid write prints one
or two dots (the only valid buffers are full of dots), a valid sleep lasts
at most 2 ms.  Two kinds of draw are skipped and drawn again, because they
would end or stall the run rather than test the kernel: exit, and a read
from fd 0 with a length of 1-4096 (it would wait for someone to type).
So are blkread and blkwrite: with the pool's small numbers they would
read a disk into the dots or write the dots onto a disk - the boot disk,
disk 0, among them.  blkflush is drawn: it changes no data.

Every result is counted: >= 0, -ENOSYS, -EFAULT, -EINVAL, -EBADF,
-ENODEV (blkflush of a disk number that has no disk), other.
"other" should stay 0.  The summary line is the test's evidence, together
with the kernel still being alive afterwards.`,
  emit(a) {
    a.bss(fuzz_dots, 4096, 4, 'the valid buffer: filled with dots');
    a.bss(fuzz_lfsr, 4, 4, 'LFSR state');
    a.bss(fuzz_left, 4, 4, 'calls still to make');
    a.bss(fuzz_skipped, 4, 4, 'draws skipped (exit, blocking read, blkread, blkwrite)');
    a.bss(fuzz_call, 24, 4, 'the drawn call: number, then five arguments');
    for (const r of RESULTS) a.bss(r.label, 4, 4, `results counted as ${r.key}`);

    a.label(_start);
    a.test(eax, eax);
    a.jnz(L('.seeded'));
    a.mov(eax, 1, 'seed 0 would stay 0 forever');
    a.label('.seeded');
    a.mov(dword(fuzz_lfsr), eax);
    a.sub(esp, 4, 'the top 4 bytes of the stack are never used again ...');
    a.mov(dword(esp), 0x2e2e2e2e, '... so fill them with dots: pool value USER_STACK_TOP - 2 points here');
    a.mov(edi, fuzz_dots);
    a.mov(ecx, dec(1024), 'dwords: the 4096 bytes of fuzz_dots');
    a.mov(eax, 0x2e2e2e2e, '"...."');
    a.rep_stosd();
    a.mov(eax, a.cstr('[fuzz] seed='));
    a.call(u_puts);
    a.mov(eax, dword(fuzz_lfsr));
    a.call(u_put_hex);
    a.mov(eax, a.cstr(': 10000 random system calls\n'));
    a.call(u_puts);
    a.mov(dword(fuzz_left), FUZZ_CALLS);

    a.label('.draw');
    a.call(fuzz_rand);
    a.test(al, 7);
    a.jnz(L('.small_nr'));
    a.call(fuzz_rand, '1 in 8: a raw 32-bit number');
    a.jmp(L('.nr'));
    a.label('.small_nr');
    a.call(fuzz_rand);
    a.and(eax, 15, '0-15: the ten calls and six numbers that do not exist');
    a.label('.nr');
    a.mov(dword(fuzz_call), eax);
    a.mov(esi, 1);
    a.label('.arg');
    a.call(fuzz_rand);
    a.mov(ecx, dword(fuzz_call));
    a.cmp(ecx, SYS.write!);
    a.je(L('.rw'));
    a.cmp(ecx, SYS.read!);
    a.jne(L('.pool'), 'only for write and read');
    a.label('.rw');
    a.cmp(esi, 1);
    a.je(L('.maybe_small'), 'argument 1: the fd');
    a.cmp(esi, 3);
    a.jne(L('.pool'), 'argument 3: the length');
    a.label('.maybe_small');
    a.test(al, 0x10, 'bit 4 (bits 3:0 pick the pool entry below)');
    a.jz(L('.pool'));
    a.and(eax, 3);
    a.cmp(eax, 3);
    a.jne(L('.store'), 'half the time: 0, 1 or 2 ...');
    a.mov(eax, 2, '... (3 folds onto 2)');
    a.jmp(L('.store'));
    a.label('.pool');
    a.and(eax, 15);
    a.cmp(eax, POOL.length);
    a.jae(L('.raw'), `${16 - POOL.length} in 16: a raw value`);
    a.mov(eax, dword({ index: eax, scale: 4, disp: fuzz_pool }));
    a.jmp(L('.store'));
    a.label('.raw');
    a.call(fuzz_rand);
    a.or(eax, FUZZ_RAW_FLOOR);
    a.label('.store');
    a.mov(dword({ index: esi, scale: 4, disp: fuzz_call }), eax);
    a.inc(esi);
    a.cmp(esi, 6);
    a.jb(L('.arg'));

    a.comment('skip draws that would end the run, wait for input or touch a disk\'s data');
    a.mov(eax, dword(fuzz_call));
    a.cmp(eax, SYS.exit!);
    a.je(L('.skip'));
    a.cmp(eax, SYS.blkread!);
    a.je(L('.skip'), 'it would overwrite the dots with sectors');
    a.cmp(eax, SYS.blkwrite!);
    a.je(L('.skip'), 'it would write the dots onto a disk');
    a.cmp(eax, SYS.read!);
    a.jne(L('.call'));
    a.cmp(dword(fuzz_call.add(4)), 0);
    a.jne(L('.call'), 'not fd 0');
    a.mov(eax, dword(fuzz_call.add(12)));
    a.dec(eax);
    a.cmp(eax, 4095);
    a.ja(L('.call'), 'length 0 or > 4096: returns at once');
    a.label('.skip');
    a.inc(dword(fuzz_skipped));
    a.jmp(L('.draw'));

    a.label('.call');
    a.mov(eax, dword(fuzz_call));
    a.mov(ebx, dword(fuzz_call.add(4)));
    a.mov(ecx, dword(fuzz_call.add(8)));
    a.mov(edx, dword(fuzz_call.add(12)));
    a.mov(esi, dword(fuzz_call.add(16)));
    a.mov(edi, dword(fuzz_call.add(20)));
    a.int(VEC_SYSCALL, 'the system call');
    a.mov(ecx, L('fuzz_ok'));
    a.test(eax, eax);
    a.jns(L('.count'));
    for (const r of RESULTS) {
      if (!('errno' in r)) continue;
      a.mov(ecx, L(r.label));
      a.cmp(eax, r.errno.neg());
      a.je(L('.count'));
    }
    a.mov(ecx, L('fuzz_other'));
    a.label('.count');
    a.inc(dword(ecx));
    a.dec(dword(fuzz_left));
    a.jnz(L('.draw'));

    a.section('summary');
    a.mov(eax, a.cstr('\n[fuzz] done: '));
    a.call(u_puts);
    a.mov(eax, FUZZ_CALLS);
    a.call(u_put_dec);
    a.mov(eax, a.cstr(' syscalls,'));
    a.call(u_puts);
    for (const r of RESULTS) {
      a.mov(eax, L(`${r.label}_name`));
      a.call(u_puts);
      a.mov(eax, dword(L(r.label)));
      a.call(u_put_dec);
    }
    a.mov(eax, a.cstr(' (skipped draws: '));
    a.call(u_puts);
    a.mov(eax, dword(fuzz_skipped));
    a.call(u_put_dec);
    a.mov(eax, a.cstr(')\n'));
    a.call(u_puts);
    a.mov(eax, 0);
    a.call(u_exit);

    a.routine(FUZZ_RAND, (r) => {
      a.mov(eax, dword(fuzz_lfsr));
      a.forCount(ecx, 16, () => {
        a.shr(eax, 1, 'the bit shifted out decides the feedback');
        a.if_('c', () => a.xor(eax, LFSR_TAPS));
      }, 'steps');
      a.mov(dword(fuzz_lfsr), eax);
      r.ret();
    });

    a.section('data');
    a.label(fuzz_pool, 'argument pool');
    POOL.forEach((p, i) => a.dataC(4, [p.value], `${i}: ${p.why}`));
    for (const r of RESULTS) { a.label(`${r.label}_name`); a.db(` ${r.key}=`, 0); }
  },
});
