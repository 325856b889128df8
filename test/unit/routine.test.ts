// Routines with a contract (toolchain/x86/routine.ts): the header comment,
// prologue and epilogues a.routine writes, a.invoke's cdecl call, real NASM
// assembling both to the same bytes, and the contracts it refuses.  (That
// the contracts hold when the code runs: test/routine/routine-contract.test.ts.)
import { describe, expect, it } from 'vitest';
import { type Asm, collect, defineModule } from '../../toolchain/x86/asm.ts';
import { changedRegisters } from '../../toolchain/x86/routine.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { L, al, ax, dword, eax, ebp, ebx, ecx, edx, esi, esp } from '../../toolchain/x86/operands.ts';
import { code, mod, nasmRoundTrip, text } from './fixtures/edsl-text.ts';

const sendto = sym('t_sendto');

const five = defineModule({ name: 'five', title: 'test', about: 'routines', emit: (a) => {
  a.routine({
    name: sendto, does: 'send one datagram (five stack arguments)',
    in: { eax: 'the socket' }, out: { eax: 'bytes sent, or -errno' }, clobbers: [ecx, edx], saves: [ebx, esi],
    args: { ip: 'destination address', port: 'destination port', buf: 'payload', len: 'payload bytes', flags: 'options' },
    locals: { hdr: [8, 'the header being built'], n: 4, tag: 1 },
  }, (r) => {
    a.mov(ecx, r.arg('len'));
    a.cmp(ecx, 1472);
    r.retIf('a', 'too long');
    a.lea(esi, r.local('hdr', 'none'));
    a.mov(r.local('n'), ecx);
    a.mov(r.local('tag', 8), al);
    a.mov(r.local('hdr', 16), ax);
    a.mov(eax, r.arg('ip'));
    r.ret('sent');
  });
  a.routine({ name: 'leaf', does: 'a leaf routine: no frame, no saves', in: { eax: 'x' }, out: { eax: 'x + 1' } }, (r) => {
    a.inc(eax);
    r.ret();
  });
  a.routine({ name: 'caller', does: 'calls t_sendto', out: { eax: 'what t_sendto returned' }, clobbers: [ecx, edx] }, (r) => {
    a.invoke(sendto, [L('leaf'), 53, ebx, dword(L('leaf')), 0], 'five arguments');
    a.invoke(L('leaf'), []);
    r.ret();
  });
} });

describe('the text a.routine writes', () => {
  it('a header that states the contract, then label, frame, saves; the epilogue at every return', () => {
    expect(text(five).slice(0, 38)).toEqual([
      '; --------------------------------------------------------------------------',
      '; t_sendto: send one datagram (five stack arguments)',
      ';   in:        EAX   the socket',
      ';   stack args (cdecl: pushed by the caller right to left, removed by the caller):',
      ';     .ip           [ebp+8]    destination address',
      ';     .port         [ebp+12]   destination port',
      ';     .buf          [ebp+16]   payload',
      ';     .len          [ebp+20]   payload bytes',
      ';     .flags        [ebp+24]   options',
      ';   out:       EAX   bytes sent, or -errno',
      ';   clobbers:  ECX, EDX, flags',
      ';   preserves: EBX, ESI, EDI, EBP (EBP in the frame; EBX, ESI pushed here)',
      ';   locals (16 bytes below EBP):',
      ';     .hdr          [ebp-8]    8 bytes: the header being built',
      ';     .n            [ebp-12]   4 bytes',
      ';     .tag          [ebp-16]   1 byte',
      '; --------------------------------------------------------------------------',
      't_sendto:',
      '.ip equ 8', '.port equ 12', '.buf equ 16', '.len equ 20', '.flags equ 24', '.hdr equ -8', '.n equ -12', '.tag equ -16',
      expect.stringMatching(/^ {4}push ebp +; the caller's frame pointer$/),
      expect.stringMatching(/^ {4}mov ebp, esp +; EBP: this frame; args above, locals below$/),
      expect.stringMatching(/^ {4}sub esp, 16 +; room for the locals$/),
      '    push ebx',
      '    push esi',
      '    mov ecx, dword [ebp+.len]',
      '    cmp ecx, 0x5C0',
      expect.stringMatching(/^ {4}ja \.return +; too long$/),
      '    lea esi, [ebp+.hdr]',
      '    mov dword [ebp+.n], ecx',
      '    mov byte [ebp+.tag], al',
      '    mov word [ebp+.hdr], ax',
    ]);
    const c = code(five);
    expect(c.slice(c.indexOf('mov eax, dword [ebp+.ip]'))).toEqual([
      'mov eax, dword [ebp+.ip]', 'pop esi', 'pop ebx', 'leave', 'ret',
      '.return:', 'pop esi', 'pop ebx', 'leave', 'ret',
      'leaf:', 'inc eax', 'ret',
      'caller:',
      'push 0', 'push dword [leaf]', 'push ebx', 'push 0x35', 'push leaf', 'call t_sendto', 'add esp, 20',
      'call leaf',
      'ret',
    ]);
  });
  it('the shared .return says what it is in the reader\'s terms, not the helper\'s name', () => {
    const t = text(five).join('\n');
    expect(t).toMatch(/^\.return: +; the early returns above \(j<cc> \.return\) jump here: one copy of the epilogue$/m);
    expect(t).not.toMatch(/retIf/);
  });
  it('a leaf routine: a short header, no frame', () => {
    const t = text(five);
    const i = t.indexOf('; leaf: a leaf routine: no frame, no saves');
    expect(t.slice(i, i + 7)).toEqual([
      '; leaf: a leaf routine: no frame, no saves',
      ';   in:        EAX   x',
      ';   out:       EAX   x + 1',
      ';   clobbers:  flags',
      ';   preserves: EBX, ECX, EDX, ESI, EDI, EBP',
      '; --------------------------------------------------------------------------',
      'leaf:',
    ]);
  });
  it('stack arguments only: push ebp / mov ebp, esp without sub, and pop ebp to return', () => {
    const m = mod((a) => a.routine({ name: 'f', does: 'one arg', args: { x: 'x' }, out: { eax: 'x' } }, (r) => { a.mov(eax, r.arg('x')); r.ret(); }));
    expect(code(m).filter((l) => l && !l.startsWith(';'))).toEqual(['f:', '.x equ 8', 'push ebp', 'mov ebp, esp', 'mov eax, dword [ebp+.x]', 'pop ebp', 'ret']);
  });
  it('the registers a contract lets change: out (sub-registers count as their 32-bit register) and clobbers', () => {
    expect([...changedRegisters({ name: 'f', does: 'x', out: { al: 'a', dx: 'b', flags: 'c' }, clobbers: [esi] })].sort()).toEqual(['eax', 'edx', 'esi']);
  });
  it('NASM assembles it to the same bytes (args and locals as local equs)', () => {
    const { ours, nasm, asm } = nasmRoundTrip([five]);
    expect(nasm).toBe(ours);
    expect(asm.symbols.get('t_sendto.len')?.value).toBe(20);
    expect(asm.symbols.get('t_sendto.tag')?.value).toBe(-16);
  });
});

describe('contracts it refuses, naming the routine and the TS line', () => {
  const bad = (emit: (a: Asm) => void) => () => collect(mod(emit), 32);
  const LINE = 'test/unit/routine\\.test\\.ts:\\d+';
  it('a saved register that is also an output or clobbered', () => {
    expect(bad((a) => a.routine({ name: 'f', does: 'x', out: { eax: 'r' }, saves: [eax] }, (r) => r.ret()))).toThrow(new RegExp(`routine 'f' \\(${LINE}\\): EAX is in saves and also in out`));
    expect(bad((a) => a.routine({ name: 'f', does: 'x', clobbers: [ebx], saves: [ebx] }, (r) => r.ret()))).toThrow(/EBX is in saves and also in clobbers/);
    expect(bad((a) => a.routine({ name: 'f', does: 'x', out: { bl: 'r' }, saves: [ebx] }, (r) => r.ret()))).toThrow(/EBX is in saves and also in out/);
  });
  it('ESP anywhere, EBP saved beside a frame, a register twice', () => {
    expect(bad((a) => a.routine({ name: 'f', does: 'x', saves: [esp] }, (r) => r.ret()))).toThrow(/ESP cannot be saved/);
    expect(bad((a) => a.routine({ name: 'f', does: 'x', clobbers: [esp] }, (r) => r.ret()))).toThrow(/ESP cannot be clobbered/);
    expect(bad((a) => a.routine({ name: 'f', does: 'x', args: { y: 'y' }, saves: [ebp] }, (r) => r.ret()))).toThrow(/EBP is saved by the frame/);
    expect(bad((a) => a.routine({ name: 'f', does: 'x', saves: [esi, esi] }, (r) => r.ret()))).toThrow(/listed twice in saves/);
  });
  it('unknown argument and local names, and a local read wider than it is', () => {
    expect(bad((a) => a.routine({ name: 'f', does: 'x', args: { len: 'n' } }, (r) => { a.mov(eax, r.arg('length')); r.ret(); })))
      .toThrow(new RegExp(`routine 'f' \\(${LINE}\\): no stack argument named 'length' \\(stack arguments: len\\)`));
    expect(bad((a) => a.routine({ name: 'f', does: 'x', locals: { n: 4 } }, (r) => { a.mov(eax, r.local('m')); r.ret(); }))).toThrow(/no local named 'm' \(locals: n\)/);
    expect(bad((a) => a.routine({ name: 'f', does: 'x', locals: { c: 1 } }, (r) => { a.mov(eax, r.local('c')); r.ret(); }))).toThrow(/local 'c' is 1 byte: a 32-bit access reads past it/);
    expect(bad((a) => a.routine({ name: 'f', does: 'x', args: { n: 'a' }, locals: { n: 4 } }, (r) => r.ret()))).toThrow(/'n' is both an argument and a local/);
  });
  it('a body that falls off its end, naming the line of its last instruction', () => {
    expect(bad((a) => a.routine({ name: 'f', does: 'x' }, () => { a.mov(eax, 1); }))).toThrow(new RegExp(`routine 'f' \\(${LINE}\\): the body falls off its end`));
    expect(bad((a) => a.routine({ name: 'f', does: 'x' }, (r) => { a.cmp(eax, 1); a.if_('e', () => r.ret()); }))).toThrow(/falls off its end/);
  });
  it('a bare ret that would skip the epilogue', () => {
    expect(bad((a) => a.routine({ name: 'f', does: 'x', saves: [ebx] }, () => { a.ret(); }))).toThrow(/a bare ret would skip the epilogue: return with r\.ret\(\)/);
  });
  it('a global label inside the body, a bad condition, a two-line does', () => {
    expect(bad((a) => a.routine({ name: 'f', does: 'x' }, (r) => { a.label('g'); r.ret(); }))).toThrow(/global label 'g' .* is inside routine f/);
    expect(bad((a) => a.routine({ name: 'f', does: 'x' }, (r) => { r.retIf('never' as 'e'); r.ret(); }))).toThrow(/retIf at .*: "never" is not a condition code/);
    expect(bad((a) => a.routine({ name: 'f', does: 'x\ny' }, (r) => r.ret()))).toThrow(/`does` must be one line/);
  });
  it('a frame in 16-bit code', () => {
    expect(() => collect(mod((a) => a.routine({ name: 'f', does: 'x', locals: { n: 4 } }, (r) => r.ret())), 16)).toThrow(/need 32-bit code/);
  });
});
