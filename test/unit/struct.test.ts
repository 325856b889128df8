// The struct helper (toolchain/x86/struct.ts): offsets and sizes of layouts
// the drivers will need, the layouts it must refuse, and the NASM text: the
// `struc` block and instructions that name fields, assembled by real NASM to
// the same bytes and the same offsets.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Asm, defineModule } from '../../toolchain/x86/asm.ts';
import { assemble } from '../../toolchain/x86/assemble.ts';
import { emitComponent, itemText } from '../../toolchain/x86/nasm.ts';
import { dword, eax, ebx, ecx, L, mem, word, ax, al } from '../../toolchain/x86/operands.ts';
import { array, be16, be32, defineStruct, nested, pad, u16, u32, u64, u8 } from '../../toolchain/x86/struct.ts';

const VIRTQ_DESC = defineStruct('t_virtq_desc', {
  addr: u64('guest-physical address of the buffer'),
  len: u32('length of the buffer in bytes'),
  flags: u16('VIRTQ_DESC_F_*'),
  next: u16('next descriptor if flags & NEXT'),
}, { doc: 'virtqueue descriptor (virtio 1.1 §2.6.5)', align: 16, size: 16 });

const ETH = defineStruct('t_eth_hdr', {
  dst: array(u8(), 6, 'destination MAC address'),
  src: array(u8(), 6, 'source MAC address'),
  type: be16('EtherType: 0x0800 IPv4, 0x0806 ARP'),
}, { doc: 'Ethernet II header (IEEE 802.3 §3.1.1)', packed: true, size: 14 });

const IPV4 = defineStruct('t_ipv4_hdr', {
  ver_ihl: u8('version (4) << 4 | header length in dwords'),
  tos: u8('type of service'),
  total_len: be16('bytes of header and data'),
  id: be16('identification'),
  frag: be16('flags and fragment offset'),
  ttl: u8('time to live'),
  proto: u8('1 ICMP, 17 UDP'),
  checksum: be16('header checksum'),
  src: be32('source address'),
  dst: be32('destination address'),
}, { doc: 'IPv4 header without options (RFC 791 §3.1)', size: 20 });

const FRAME = defineStruct('t_frame', {
  eth: nested(ETH, 'link layer'),
  ip: nested(IPV4, 'network layer: at 14, so not aligned'),
}, { doc: 'an IPv4 packet in an Ethernet frame', packed: true, size: 34 });

const RING = defineStruct('t_ring', {
  count: u32('descriptors in use'),
  _reserved: pad(12, 'keeps desc 16-byte aligned'),
  desc: array(nested(VIRTQ_DESC), 4, 'the descriptors'),
  ids: array(u16(), 4, 'buffer ids'),
  _tail: pad(8),
}, { doc: 'a test ring', align: 16, size: 96 });

const offsets = (s: { fields: readonly { name?: string; offset: number; size: number }[] }) =>
  s.fields.map((f) => [f.name ?? 'pad', f.offset, f.size]);

describe('layouts: offsets, sizes, byte order', () => {
  it('virtq_desc: 16 bytes, u64 address first', () => {
    expect(offsets(VIRTQ_DESC)).toEqual([['addr', 0, 8], ['len', 8, 4], ['flags', 12, 2], ['next', 14, 2]]);
    expect([VIRTQ_DESC.size, VIRTQ_DESC.align, VIRTQ_DESC.f.len.offset]).toEqual([16, 16, 8]);
  });
  it('Ethernet header: 14 bytes, packed, big-endian EtherType', () => {
    expect(offsets(ETH)).toEqual([['dst', 0, 6], ['src', 6, 6], ['type', 12, 2]]);
    expect([ETH.size, ETH.align, ETH.f.type.layout.order, ETH.f.type.layout.type, ETH.f.dst.layout.type]).toEqual([14, 1, 'be', 'be16', 'u8[6]']);
  });
  it('IPv4 header: 20 bytes, naturally aligned', () => {
    expect(IPV4.fields.map((f) => f.offset)).toEqual([0, 1, 2, 4, 6, 8, 9, 10, 12, 16]);
    expect([IPV4.size, IPV4.align, IPV4.f.src.layout.order, IPV4.f.ttl.layout.order]).toEqual([20, 4, 'be', 'le']);
  });
  it('nested structures: IPv4 after Ethernet at 14 (packed)', () => {
    expect(offsets(FRAME)).toEqual([['eth', 0, 14], ['ip', 14, 20]]);
    expect(FRAME.size).toBe(34);
  });
  it('arrays of integers and of structures, explicit padding', () => {
    expect(offsets(RING)).toEqual([['count', 0, 4], ['pad', 4, 12], ['desc', 16, 64], ['ids', 80, 8], ['pad', 88, 8]]);
    expect(RING.fields[2]!.type).toBe('t_virtq_desc[4]');
  });
});

describe('layouts refused, with the struct and the field named', () => {
  const rejects: [string, () => unknown, RegExp][] = [
    ['a u32 at offset 2 of a struct that is not packed',
      () => defineStruct('t_bad1', { a: u16(), b: u32() }, { doc: 'x' }),
      /struct 't_bad1' \(test\/unit\/struct\.test\.ts\): field 'b' \(u32\) is at offset 2, not a multiple of its alignment 4: add pad\(2\) before it, or declare the struct packed: true/],
    ['a nested IPv4 header at 14 without packed',
      () => defineStruct('t_bad2', { eth: nested(ETH), ip: nested(IPV4) }, { doc: 'x' }),
      /struct 't_bad2' .*field 'ip' \(t_ipv4_hdr\) is at offset 14, not a multiple of its alignment 4/],
    ['declared size larger than the fields',
      () => defineStruct('t_bad3', { a: u32(), b: u32() }, { doc: 'x', size: 16 }),
      /struct 't_bad3' .*declared size 16, but the fields end at 8 \(after 'b'\): add pad\(8\) at the end/],
    ['declared size smaller than the fields',
      () => defineStruct('t_bad4', { a: u32(), b: u32() }, { doc: 'x', size: 6 }),
      /struct 't_bad4' .*declared size 6, but the fields end at 8: field 'b' ends beyond it/],
    ['declared align below a field\'s',
      () => defineStruct('t_bad5', { a: u32() }, { doc: 'x', align: 2 }),
      /struct 't_bad5' .*declared align 2 is less than field 'a' \(u32\) needs \(4\)/],
    ['size not a multiple of the alignment',
      () => defineStruct('t_bad6', { a: u32(), b: u16() }, { doc: 'x' }),
      /struct 't_bad6' .*size 6 is not a multiple of its alignment 4 .*add pad\(2\) at the end/],
    ['align not a power of two',
      () => defineStruct('t_bad7', { a: u8() }, { doc: 'x', align: 3 }),
      /struct 't_bad7' .*declared align 3 is not a power of two/],
    ['no fields', () => defineStruct('t_bad8', {}, { doc: 'x' }), /struct 't_bad8' .*no fields/],
    ['a field name NASM cannot take', () => defineStruct('t_bad9', { 'a-b': u8() }, { doc: 'x' }), /struct 't_bad9' .*field name 'a-b' is not a valid NASM identifier/],
    ['a struct name NASM cannot take', () => defineStruct('9x', { a: u8() }, { doc: 'x' }), /struct '9x' .*not a valid NASM identifier/],
    ['an empty array', () => array(u8(), 0), /element count 0 is not a positive integer/],
    ['zero padding', () => pad(0), /pad\(\): 0 is not a positive number of bytes/],
  ];
  for (const [name, f, msg] of rejects) it(name, () => expect(f).toThrow(msg));

  it('field names are typed keys; duplicates and mis-sized uses do not compile', () => {
    // Each line below must be a compile error; the typecheck test fails if one compiles.
    const check = (a: Asm) => {
      // @ts-expect-error no such field (typo)
      a.mov(eax, dword(ebx, VIRTQ_DESC.f.lenght));
      // @ts-expect-error flags is a u16: a word operand, not a dword
      a.mov(eax, VIRTQ_DESC.at(ebx).flags);
      // @ts-expect-error addr is a u64: no single register holds it
      a.mov(eax, VIRTQ_DESC.at(ebx).addr);
      // @ts-expect-error padding has no name
      void RING.f._reserved;
      // @ts-expect-error a field name given twice
      defineStruct('t_dup', { a: u32(), a: u32() }, { doc: 'x' });
    };
    expect(typeof check).toBe('function');
  });
});

/** Listing rows: the NASM line beside its bytes (our encoder), then NASM on our text. */
const ROWS: [string, (a: Asm) => void, string][] = [
  ['mov eax, dword [ebx+t_virtq_desc.len]', (a) => a.mov(eax, VIRTQ_DESC.at(ebx).len), '8b4308'],
  ['mov ax, word [ebx+t_virtq_desc.flags]', (a) => a.mov(ax, VIRTQ_DESC.at(ebx).flags), '668b430c'],
  ['mov dword [ebx+t_virtq_desc.addr], ecx', (a) => a.mov(dword(ebx, VIRTQ_DESC.f.addr), ecx), '890b'],
  ['mov dword [ebx+(t_virtq_desc.addr + 4)], 0', (a) => a.mov(dword(ebx, VIRTQ_DESC.f.addr.add(4)), 0), 'c7430400000000'],
  ['add ebx, t_virtq_desc_size', (a) => a.add(ebx, VIRTQ_DESC.SIZE), '83c310'],
  ['mov al, byte [ecx+t_eth_hdr.src]', (a) => a.mov(al, ETH.at(ecx).src), '8a4106'],
  ['mov ax, word [ecx+(t_frame.ip + t_ipv4_hdr.total_len)]', (a) => a.mov(ax, word(ecx, FRAME.f.ip.add(IPV4.f.total_len))), '668b4110'],
  ['mov eax, dword [(frame_buf + t_frame.ip) + t_ipv4_hdr.dst]', (a) => a.mov(eax, dword(L('frame_buf').add(FRAME.f.ip).add(IPV4.f.dst))), 'a11e000100'],
  ['lea ecx, [ebx+t_ring.desc]', (a) => a.lea(ecx, mem(ebx, RING.f.desc)), '8d4b10'],
  ['mov eax, dword [ebx+t_ring.count]', (a) => a.mov(eax, RING.at(ebx).count), '8b03'],
  ['lea eax, [ebx-t_virtq_desc_size]', (a) => a.lea(eax, mem(ebx, VIRTQ_DESC.SIZE.neg())), '8d43f0'],
  ['dd t_virtq_desc.len, t_virtq_desc_size, t_eth_hdr.type, t_eth_hdr_size', (a) => a.dd(VIRTQ_DESC.f.len, VIRTQ_DESC.SIZE, ETH.f.type, ETH.SIZE), '08000000' + '10000000' + '0c000000' + '0e000000'],
  ['dd t_ipv4_hdr.dst, t_ipv4_hdr_size, t_frame.ip, t_frame_size', (a) => a.dd(IPV4.f.dst, IPV4.SIZE, FRAME.f.ip, FRAME.SIZE), '10000000' + '14000000' + '0e000000' + '22000000'],
  ['dd t_ring.desc, t_ring.ids, t_ring_size', (a) => a.dd(RING.f.desc, RING.f.ids, RING.SIZE), '10000000' + '50000000' + '60000000'],
];

describe('NASM: struc blocks and field names assemble to the same bytes', () => {
  const origin = 0x10000;
  const mod = defineModule({ name: 'structs', title: 'structs', about: 'test', emit: (a) => { a.label('frame_buf'); ROWS.forEach(([, e]) => e(a)); } });
  const asm = assemble({ name: 'structs', title: 'structs', about: 'test', bits: 32, origin, modules: [mod] });
  const files = emitComponent(asm);
  const text = files[0]!.text;

  it('listing: each line beside its bytes', () => {
    const code = asm.rows.filter((r) => r.item.k !== 'label');
    expect(code.map((r) => [itemText(r.item, 'structs').trim(), Buffer.from(r.bytes).toString('hex')])).toEqual(ROWS.map(([t, , h]) => [t, h]));
  });

  it('the layout is printed as a struc block in field order, with offsets, types and docs', () => {
    const block = text.slice(text.indexOf('struc t_virtq_desc'), text.indexOf('t_virtq_desc_size = 16') + 22);
    expect(block).toBe([
      'struc t_virtq_desc                              ; virtqueue descriptor (virtio 1.1 §2.6.5) (16 bytes, align 16)',
      '    .addr:  resq 1                              ; +0 u64: guest-physical address of the buffer',
      '    .len:   resd 1                              ; +8 u32: length of the buffer in bytes',
      '    .flags: resw 1                              ; +12 u16: VIRTQ_DESC_F_*',
      '    .next:  resw 1                              ; +14 u16: next descriptor if flags & NEXT',
      'endstruc                                        ; t_virtq_desc_size = 16',
    ].join('\n'));
    expect(text).toContain('    .type: resw 1                               ; +12 be16 (big-endian: network order): EtherType: 0x0800 IPv4, 0x0806 ARP');
    expect(text).toMatch(/^ {12}resb 12 +; \+4 padding: keeps desc 16-byte aligned$/m);
    expect(text).toContain('    .desc:  resb t_virtq_desc_size * 4');
    // each structure once, nested ones before the structures that embed them
    for (const s of ['t_virtq_desc', 't_eth_hdr', 't_ipv4_hdr', 't_frame', 't_ring']) expect(text.split(`struc ${s} `).length).toBe(2);
    expect(text.indexOf('struc t_eth_hdr')).toBeLessThan(text.indexOf('struc t_frame'));
    expect(text.indexOf('struc t_ipv4_hdr')).toBeLessThan(text.indexOf('struc t_frame'));
    expect(text.indexOf('struc t_virtq_desc')).toBeLessThan(text.indexOf('struc t_ring'));
  });

  it('nasm -f bin reproduces the bytes, so NASM computes the same offsets and sizes', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsk-struct-'));
    try {
      for (const f of files) writeFileSync(path.join(dir, f.path), f.text);
      execFileSync('nasm', ['-f', 'bin', 'structs.asm', '-o', 'out.bin'], { cwd: dir, stdio: 'pipe' });
      expect(readFileSync(path.join(dir, 'out.bin')).toString('hex')).toBe(Buffer.from(asm.bytes).toString('hex'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the symbol map has every field of a structure in use', () => {
    expect(asm.symbols.get('t_virtq_desc.next')?.value).toBe(14);
    expect(asm.symbols.get('t_ipv4_hdr.checksum')?.value).toBe(10);
    expect(asm.symbols.get('t_ring_size')?.value).toBe(96);
  });

  it('a structure embedded by one in an earlier module is printed first (in the main file): NASM needs its size', async () => {
    const { outerModule, OUTER } = await import('./fixtures/struct-outer.ts');
    const { innerModule } = await import('./fixtures/struct-inner.ts');
    const two = assemble({ name: 'two', title: 'two', about: 'test', bits: 32, origin: 0, modules: [outerModule, innerModule] });
    const out = emitComponent(two);
    const main = out.find((f) => f.path === 'two.asm')!.text;
    const outer = out.find((f) => f.path === 'two/outer.asm')!.text;
    expect(main).toContain('struc fx_inner');
    expect(outer).toContain('struc fx_outer');
    expect(outer).toContain('    .more:  resb fx_inner_size * 2');
    expect(out.find((f) => f.path === 'two/inner.asm')!.text).not.toContain('struc fx_inner');
    expect(OUTER.f.more.offset).toBe(12);
    const dir = mkdtempSync(path.join(tmpdir(), 'tsk-struct-'));
    try {
      for (const f of out) { mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true }); writeFileSync(path.join(dir, f.path), f.text); }
      execFileSync('nasm', ['-f', 'bin', 'two.asm', '-o', 'out.bin'], { cwd: dir, stdio: 'pipe' });
      expect(readFileSync(path.join(dir, 'out.bin')).toString('hex')).toBe(Buffer.from(two.bytes).toString('hex'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a label that clashes with a field name is refused', () => {
    const bad = defineModule({ name: 'clash', title: 'c', about: 'c', emit: (a) => { a.label('t_virtq_desc'); a.label('.len'); a.mov(eax, dword(ebx, VIRTQ_DESC.f.next)); } });
    expect(() => assemble({ name: 'clash', title: 'c', about: 'c', bits: 32, origin: 0, modules: [bad] }))
      .toThrow(/'t_virtq_desc\.len' is defined in test\/unit\/struct\.test\.ts and also by struct 't_virtq_desc'/);
  });
});
