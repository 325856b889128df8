// Segment descriptors (Intel SDM Vol. 3A §3.4.5, Figure 3-8), built from
// named fields.  `descriptorBytes` is the pure encoding (unit-tested);
// `emitDescriptor` writes the same eight bytes into the generated source as
// an expression over the named flags, with a legend, so a student sees
// `DESC_P | DESC_S | DESC_CODE_READ` rather than 10011010b.
//
//   31          24 23 22 21 20 19   16 15 14 13 12 11    8 7           0
//  +--------------+--+--+--+--+-------+--+-----+--+-------+-------------+
//  | base 31:24   |G |DB|L |AV|lim19:16|P | DPL |S | type  | base 23:16  |  bytes 4-7
//  +--------------+--+--+--+--+-------+--+-----+--+-------+-------------+
//  | base 15:0                        | limit 15:0                      |  bytes 0-3
//  +----------------------------------+---------------------------------+

import type { Asm } from '../toolchain/x86/asm.ts';
import { type Expr, constant } from '../toolchain/x86/operands.ts';
import { defineStruct, u16, u8 } from '../toolchain/x86/struct.ts';

/** The eight bytes of a segment descriptor, as fields (the picture above). */
export const SEG_DESC = defineStruct('seg_desc', {
  limit_lo: u16('limit 15:0'),
  base_lo: u16('base 15:0'),
  base_mid: u8('base 23:16'),
  access: u8('P, DPL, S, type'),
  flags_limit_hi: u8('G, D/B, L, AVL (bits 7:4) | limit 19:16 (bits 3:0)'),
  base_hi: u8('base 31:24'),
}, { doc: 'segment descriptor (SDM 3A §3.4.5, Figure 3-8)', size: 8 });

export const DESC_P = constant('DESC_P', 0x80, 'access byte bit 7: segment present (SDM 3A §3.4.5)');
export const DESC_DPL3 = constant('DESC_DPL3', 0x60, 'access byte bits 6:5 = 3: descriptor privilege level 3 (user)');
export const DESC_S = constant('DESC_S', 0x10, 'access byte bit 4: code/data segment (0 = system segment such as a TSS)');
export const DESC_CODE_READ = constant('DESC_CODE_READ', 0x0a, 'type 1010b: code segment, execute/read (SDM 3A Table 3-1)');
export const DESC_DATA_WRITE = constant('DESC_DATA_WRITE', 0x02, 'type 0010b: data segment, read/write, expand-up (SDM 3A Table 3-1)');
export const DESC_G = constant('DESC_G', 0x80, 'flags bit 7: granularity - the limit counts 4 KiB pages, not bytes');
export const DESC_DB = constant('DESC_DB', 0x40, 'flags bit 6: D/B - 32-bit default operand size (code), 32-bit stack (data)');

export interface SegmentDescriptor {
  readonly base: number;
  /** 20-bit limit (in pages when `pages` is set). */
  readonly limit: number;
  readonly kind: 'code' | 'data';
  readonly dpl: 0 | 3;
  /** G flag: limit counts 4 KiB pages. */
  readonly pages: boolean;
  /** D/B flag: 32-bit segment. */
  readonly big: boolean;
}

/** The flat 4 GiB segments every tskernel GDT uses. */
export const FLAT = { base: 0, limit: 0xfffff, pages: true, big: true } as const;

function check(d: SegmentDescriptor): void {
  if (!Number.isInteger(d.base) || d.base < 0 || d.base > 0xffffffff) throw new Error(`descriptor base ${d.base} is not a 32-bit address`);
  if (!Number.isInteger(d.limit) || d.limit < 0 || d.limit > 0xfffff) throw new Error(`descriptor limit ${d.limit} does not fit in 20 bits`);
}

export function accessByte(d: SegmentDescriptor): number {
  return 0x80 | (d.dpl << 5) | 0x10 | (d.kind === 'code' ? 0x0a : 0x02);
}

export function flagsNibble(d: SegmentDescriptor): number {
  return (d.pages ? 0x8 : 0) | (d.big ? 0x4 : 0);
}

/** The eight bytes of a code or data segment descriptor. */
export function descriptorBytes(d: SegmentDescriptor): Uint8Array {
  check(d);
  const b = new Uint8Array(8);
  b[0] = d.limit & 0xff;
  b[1] = (d.limit >> 8) & 0xff;
  b[2] = d.base & 0xff;
  b[3] = (d.base >>> 8) & 0xff;
  b[4] = (d.base >>> 16) & 0xff;
  b[5] = accessByte(d);
  b[6] = (flagsNibble(d) << 4) | ((d.limit >> 16) & 0xf);
  b[7] = (d.base >>> 24) & 0xff;
  return b;
}

/** Emit a descriptor as data, one field per line, flags by name. */
export function emitDescriptor(a: Asm, d: SegmentDescriptor, title: string): void {
  check(d);
  a.comment(`${title}: base ${hex(d.base)}, limit ${hex(d.limit)}${d.pages ? ' pages (4 GiB)' : ' bytes'}, ${d.kind}, DPL ${d.dpl}`);
  const access: Expr = [DESC_P, ...(d.dpl === 3 ? [DESC_DPL3] : []), DESC_S, d.kind === 'code' ? DESC_CODE_READ : DESC_DATA_WRITE]
    .reduce<Expr>((x, y) => (typeof x === 'number' ? y : x.or(y)), 0);
  const flags: Expr[] = [...(d.pages ? [DESC_G] : []), ...(d.big ? [DESC_DB] : [])];
  const flagsExpr = flags.reduce<Expr>((x, y) => (typeof x === 'number' && x === 0 ? y : (x as Exclude<Expr, number>).or(y)), 0);
  const hiLimit = (d.limit >> 16) & 0xf;
  a.dataC(2, [d.limit & 0xffff], 'limit 15:0');
  a.dataC(2, [d.base & 0xffff], 'base 15:0');
  a.dataC(1, [(d.base >>> 16) & 0xff], 'base 23:16');
  a.dataC(1, [access], 'access: present, privilege level, code/data, type');
  a.dataC(1, [typeof flagsExpr === 'number' ? hiLimit : hiLimit ? flagsExpr.or(hiLimit) : flagsExpr], 'flags G, D/B (high nibble) | limit 19:16 (low nibble)');
  a.dataC(1, [(d.base >>> 24) & 0xff], 'base 31:24');
}

const hex = (v: number) => '0x' + v.toString(16).toUpperCase();
