// ELF32 executables (toolchain/x86/elf.ts): the writer against its own
// reader and the System V ABI field values, and against binutils' readelf
// when it is installed.  test/routine/elf-loader.test.ts runs the files.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EM_386, ET_EXEC, ElfError, PF_R, PF_W, PF_X, PT_LOAD, elf32Executable, readElf32 } from '../../toolchain/x86/elf.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tsk-elf-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// mov eax, 1 (Linux exit) ; mov ebx, 42 ; int 0x80
const EXIT42 = Uint8Array.from([0xb8, 1, 0, 0, 0, 0xbb, 42, 0, 0, 0, 0xcd, 0x80]);

describe('elf32Executable', () => {
  it('writes the ELF header and one PT_LOAD program header with the System V ABI values', () => {
    const elf = elf32Executable({ bytes: EXIT42, origin: 0x08048000, entry: 0x08048000, bssSize: 100 });
    expect([...elf.subarray(0, 16)]).toEqual([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const info = readElf32(elf);
    expect(info).toMatchObject({ type: ET_EXEC, machine: EM_386, entry: 0x08048000 });
    expect(info.segments).toHaveLength(1);
    const s = info.segments[0]!;
    expect(s).toMatchObject({ type: PT_LOAD, offset: 0x1000, vaddr: 0x08048000, paddr: 0x08048000, fileSize: 12, memSize: 112, flags: PF_R | PF_W | PF_X, align: 0x1000 });
    expect([...s.bytes]).toEqual([...EXIT42]);
    expect(elf.length).toBe(0x1000 + 12);
  });

  it('puts the bytes at the first file offset congruent to the origin modulo the page size', () => {
    for (const origin of [0x08048000, 0x08048054, 0x08048100, 0x00400ff0]) {
      const elf = elf32Executable({ bytes: EXIT42, origin, entry: origin });
      const s = readElf32(elf).segments[0]!;
      expect(s.offset % 0x1000, `origin ${origin.toString(16)}`).toBe(origin % 0x1000);
      expect(s.offset).toBeGreaterThanOrEqual(52 + 32);
      expect(s.offset).toBeLessThan(52 + 32 + 0x1000);
      expect([...s.bytes]).toEqual([...EXIT42]);
    }
    // An origin just past the headers needs no padding at all.
    expect(elf32Executable({ bytes: EXIT42, origin: 0x08048054, entry: 0x08048054 }).length).toBe(84 + 12);
  });

  it('rejects an entry point outside the bytes, no bytes, bad flags, and a segment past 4 GiB', () => {
    expect(() => elf32Executable({ bytes: EXIT42, origin: 0x1000, entry: 0x1000 + 12 })).toThrow(/entry point 0x100c is not inside the 12 loaded bytes at 0x1000/);
    expect(() => elf32Executable({ bytes: new Uint8Array(0), origin: 0x1000, entry: 0x1000 })).toThrow(ElfError);
    expect(() => elf32Executable({ bytes: EXIT42, origin: 0x1000, entry: 0x1000, flags: 8 })).toThrow(/flags 8/);
    expect(() => elf32Executable({ bytes: EXIT42, origin: 0xfffff000, entry: 0xfffff000, bssSize: 0x1000 })).toThrow(/past the 4 GiB/);
    expect(() => elf32Executable({ bytes: EXIT42, origin: -1, entry: 0 })).toThrow(/origin -1 is not a 32-bit unsigned integer/);
  });

  it('readElf32 names the field that is wrong', () => {
    const good = elf32Executable({ bytes: EXIT42, origin: 0x08048000, entry: 0x08048000 });
    const bad = (patch: (b: Uint8Array, v: DataView) => void) => {
      const b = good.slice();
      patch(b, new DataView(b.buffer));
      return () => readElf32(b, 'x.elf');
    };
    expect(() => readElf32(good.subarray(0, 20), 'x.elf')).toThrow(/x\.elf: 20 bytes is shorter than an ELF32 header/);
    expect(bad((b) => { b[1] = 0; })).toThrow(/no ELF magic/);
    expect(bad((b) => { b[4] = 2; })).toThrow(/EI_CLASS is 2, not ELFCLASS32/);
    expect(bad((b) => { b[5] = 2; })).toThrow(/EI_DATA is 2/);
    expect(bad((_b, v) => { v.setUint16(42, 56, true); })).toThrow(/e_phentsize is 56/);
    expect(bad((_b, v) => { v.setUint32(52 + 8, 0x08048004, true); })).toThrow(/segment 0: p_offset 0x1000 and p_vaddr 0x8048004 are not congruent modulo p_align 0x1000/);
    expect(bad((_b, v) => { v.setUint32(52 + 16, 0x2000, true); })).toThrow(/segment 0: p_offset 4096 \+ p_filesz 8192 runs past the end of the file/);
    expect(bad((_b, v) => { v.setUint32(52 + 20, 4, true); })).toThrow(/p_memsz 4 is smaller than p_filesz 12/);
  });

  it("binutils' readelf (when installed) reads the same header", () => {
    const elf = elf32Executable({ bytes: EXIT42, origin: 0x08048000, entry: 0x08048000, bssSize: 100 });
    const file = path.join(dir, 'readelf.elf');
    writeFileSync(file, elf);
    const which = spawnSync('sh', ['-c', 'command -v readelf'], { encoding: 'utf8' });
    // binutils is not a dependency of the project: without it, this test checks our own reader only.
    const info = readElf32(elf);
    expect(info.entry).toBe(0x08048000);
    if (which.status !== 0) return;
    const text = execFileSync('readelf', ['-h', '-l', '-W', file], { encoding: 'utf8' });
    expect(text).toMatch(/Class:\s+ELF32/);
    expect(text).toMatch(/Data:\s+2's complement, little endian/);
    expect(text).toMatch(/Type:\s+EXEC \(Executable file\)/);
    expect(text).toMatch(/Machine:\s+Intel 80386/);
    expect(text).toMatch(/Entry point address:\s+0x8048000/);
    expect(text).toMatch(/LOAD\s+0x001000 0x08048000 0x08048000 0x0000c 0x00070 RWE 0x1000/);
    expect(text).not.toMatch(/[Ww]arning|[Ee]rror/);
  });
});
