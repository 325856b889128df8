// How db strings are printed: line ends and tabs as NASM backquoted escapes
// (`text\r\n`), other bytes outside printable ASCII as numbers, and in every
// case real NASM assembles the text to the bytes our encoder produced.
import { describe, expect, it } from 'vitest';
import { code, mod, nasmRoundTrip } from './fixtures/edsl-text.ts';

describe('db strings in the generated source', () => {
  const cases: [string, string][] = [
    ['plain "quoted" text', 'db "plain ", 0x22, "quoted", 0x22, " text", 0'],
    ['a line\r\n', 'db `a line\\r\\n`, 0'],
    ['tab\there, back\\slash, `tick` and "quotes"\n', 'db `tab\\there, back\\\\slash, \\`tick\\` and "quotes"\\n`, 0'],
    ['bell\x07 and a line\r\n', 'db "bell", 7, " and a line", 0xD, 0xA, 0'],
  ];
  for (const [s, line] of cases) {
    it(`${JSON.stringify(s)} prints as ${line}`, () => {
      const m = mod((a) => { a.db(s, 0); });
      expect(code(m)).toEqual([line]);
      const { ours, nasm } = nasmRoundTrip([m]);
      expect(nasm).toBe(ours);
      expect(ours).toBe(Buffer.from(s + '\0', 'latin1').toString('hex'));
    });
  }
});
