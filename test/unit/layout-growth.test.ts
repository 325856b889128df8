// Branch sizing across layout passes (toolchain/x86/assemble.ts): when code
// early in a component grows between passes (forward jumps that start short
// and turn near), a later short forward jump must still see its target where
// it will land, shifted by that growth - not where the previous pass put it.
// Otherwise the jump looks like a long backward one, is made near, never
// shrinks again, and the bytes differ from NASM's for the same text.
import { describe, expect, it } from 'vitest';
import { L } from '../../toolchain/x86/operands.ts';
import { mod, nasmRoundTrip } from './fixtures/edsl-text.ts';

describe('layout passes: a short forward jump after code that grew', () => {
  it('stays short, as NASM assembles the same text', () => {
    const m = mod((a) => {
      // 100 forward jumps to a label over 1000 bytes ahead: short (2 bytes) in
      // the first pass, all near (5 bytes) in the second: 300 bytes of growth.
      for (let i = 0; i < 100; i++) a.jmp(L('far_end'));
      a.jmp(L('near_target'), 'the jump under test: its target is 100 bytes ahead');
      a.times(100, 1, 0x90);
      a.label('near_target');
      a.ret();
      a.times(1000, 1, 0x90);
      a.label('far_end');
      a.ret();
    }, 'growth');
    const { ours, nasm, asm } = nasmRoundTrip([m], 32);
    expect(nasm).toBe(ours);
    // The jump under test is EB (short) with displacement 100 (before the fix: E9 64 00 00 00).
    const at = asm.symbols.get('near_target')!.value - 100 - 2 - 0x1000;
    expect(Buffer.from(asm.bytes).subarray(at, at + 2).toString('hex')).toBe('eb64');
  });
});
