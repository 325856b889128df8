// Segment descriptors (SDM Vol. 3A §3.4.5): the pure encoder against the
// well-known flat descriptors, and the emitted data against the pure encoder.
import { describe, expect, it } from 'vitest';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { assemble } from '../../toolchain/x86/assemble.ts';
import { FLAT, type SegmentDescriptor, descriptorBytes, emitDescriptor } from '../../boot/descriptor.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('segment descriptors', () => {
  const cases: [string, SegmentDescriptor, string][] = [
    ['flat ring-0 code: access 9A, flags C', { ...FLAT, kind: 'code', dpl: 0 }, 'ffff0000009acf00'],
    ['flat ring-0 data: access 92', { ...FLAT, kind: 'data', dpl: 0 }, 'ffff00000092cf00'],
    ['flat ring-3 code: access FA', { ...FLAT, kind: 'code', dpl: 3 }, 'ffff000000facf00'],
    ['flat ring-3 data: access F2', { ...FLAT, kind: 'data', dpl: 3 }, 'ffff000000f2cf00'],
    ['byte-granular 16-bit data at 0x12345678', { base: 0x12345678, limit: 0xffff, kind: 'data', dpl: 0, pages: false, big: false }, 'ffff785634920012'],
  ];
  for (const [name, d, want] of cases) {
    it(name, () => {
      expect(hex(descriptorBytes(d))).toBe(want);
      const mod = defineModule({ name: 'd', title: 'd', about: 'd', emit: (a) => emitDescriptor(a, d, 'test') });
      const r = assemble({ name: 'd', title: 'd', about: 'd', bits: 16, origin: 0, modules: [mod] });
      expect(hex(r.bytes)).toBe(want);
    });
  }
  it('rejects a limit wider than 20 bits and a base beyond 32 bits', () => {
    expect(() => descriptorBytes({ ...FLAT, limit: 0x100000, kind: 'data', dpl: 0 })).toThrow(/limit .* 20 bits/);
    expect(() => descriptorBytes({ ...FLAT, base: 2 ** 32, kind: 'data', dpl: 0 })).toThrow(/not a 32-bit address/);
  });
});
