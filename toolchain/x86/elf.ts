// ELF32: the executable file format of System V Unix, Linux and (later) of
// tskernel's own programs.  This module writes and reads the smallest useful
// kind of ELF file: a static i386 executable (ET_EXEC) with one loadable
// segment and no sections.
//
// Why ELF, and why this little of it.  A flat binary (what `nasm -f bin`
// makes, and what the boot path loads) says nothing about itself: the loader
// must know where it goes, where it starts and how much zeroed memory follows
// it.  ELF puts exactly those facts in a header, so one loader can start any
// program: the routine-test harness (test/harness/routine.ts) hands these
// files to Linux's loader as emulated by qemu-i386, and issue 11's spawn will
// read the same headers inside the kernel.  An executable needs only the ELF
// header and a program header table ("the execution view"); section headers
// serve linkers and debuggers (the "linking view") and are optional for a
// program that is only run, so none are written.
//
// References (the field names below are the specification's):
//   [gABI]  System V Application Binary Interface (generic ABI), Edition 4.1,
//           ch. 4 "Object Files": "ELF Header" (Elf32_Ehdr) and "ELF
//           Identification" (e_ident[]); ch. 5 "Program Loading and Dynamic
//           Linking": "Program Header" (Elf32_Phdr, segment types,
//           segment permissions) and "Program Loading".
//   [i386]  System V ABI, Intel386 Architecture Processor Supplement, ch. 4
//           "Object Files": e_machine EM_386, ELFCLASS32, ELFDATA2LSB, and the
//           4 KiB page size that segment alignment refers to.
// All multi-byte fields are little-endian (ELFDATA2LSB: the i386 byte order).

/** ELF header size for ELFCLASS32 (sizeof(Elf32_Ehdr), [gABI] ch. 4 "ELF Header"). */
export const ELF32_EHDR_SIZE = 52;
/** Program header size for ELFCLASS32 (sizeof(Elf32_Phdr), [gABI] ch. 5 "Program Header"). */
export const ELF32_PHDR_SIZE = 32;
/** The i386 page size: loadable segments are aligned to it ([i386] ch. 5 "Program Loading"). */
export const ELF_PAGE_SIZE = 0x1000;

// e_ident[] indexes and values ([gABI] ch. 4 "ELF Identification").
const ELFMAG = [0x7f, 0x45, 0x4c, 0x46]; // "\x7fELF": EI_MAG0..EI_MAG3
const EI_CLASS = 4, EI_DATA = 5, EI_VERSION = 6, EI_OSABI = 7, EI_NIDENT = 16;
const ELFCLASS32 = 1; // 32-bit objects
const ELFDATA2LSB = 1; // two's complement, little-endian
const EV_CURRENT = 1; // the only ELF version there is
const ELFOSABI_NONE = 0; // no OS extensions (System V)
/** e_type: an executable file, loaded at the addresses it names. */
export const ET_EXEC = 2;
/** e_machine: Intel 80386 ([i386] ch. 4). */
export const EM_386 = 3;
/** p_type: a loadable segment ([gABI] ch. 5 "Segment Types"). */
export const PT_LOAD = 1;
// p_flags ([gABI] ch. 5 "Segment Permissions").
export const PF_X = 1, PF_W = 2, PF_R = 4;

export interface ElfImage {
  /** The bytes to load: they appear at `origin` in the program's address space. */
  readonly bytes: Uint8Array;
  /** Virtual address of bytes[0] (the component's `org`). */
  readonly origin: number;
  /** Virtual address of the first instruction (e_entry). */
  readonly entry: number;
  /** Zeroed memory reserved right after the bytes (a .bss): p_memsz - p_filesz. Default 0. */
  readonly bssSize?: number;
  /** Segment permissions, PF_R | PF_W | PF_X by default: code, data and bss share the segment. */
  readonly flags?: number;
}

export class ElfError extends Error {}

const u32 = (v: number, what: string) => {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new ElfError(`${what} ${v} is not a 32-bit unsigned integer`);
  return v;
};

/**
 * A static ELF32 i386 executable holding `bytes` at `origin`: the ELF header,
 * one program header (PT_LOAD, memory size = bytes + bss), then the bytes.
 *
 * Loaders map segments page by page, so [gABI] ch. 5 requires a loadable
 * segment's file offset and virtual address to be congruent modulo its
 * alignment (p_offset % p_align == p_vaddr % p_align).  The bytes therefore
 * start at the first file offset after the headers that has the same offset
 * within a page as `origin`: for a page-aligned origin that is offset 4096,
 * and the gap is zeros.
 */
export function elf32Executable(img: ElfImage): Uint8Array {
  const origin = u32(img.origin, 'ELF origin');
  const entry = u32(img.entry, 'ELF entry point');
  const bss = u32(img.bssSize ?? 0, 'ELF bss size');
  const flags = img.flags ?? (PF_R | PF_W | PF_X);
  if ((flags & ~(PF_R | PF_W | PF_X)) !== 0 || flags === 0) throw new ElfError(`ELF segment flags ${flags} are not a combination of PF_R, PF_W and PF_X`);
  const fileSize = img.bytes.length;
  const memSize = fileSize + bss;
  if (origin + memSize > 2 ** 32) throw new ElfError(`ELF segment at 0x${origin.toString(16)} of ${memSize} bytes runs past the 4 GiB address space`);
  if (entry < origin || entry >= origin + Math.max(fileSize, 1) || fileSize === 0) {
    throw new ElfError(`ELF entry point 0x${entry.toString(16)} is not inside the ${fileSize} loaded bytes at 0x${origin.toString(16)}`);
  }
  const headers = ELF32_EHDR_SIZE + ELF32_PHDR_SIZE;
  const offset = headers + ((origin - headers) % ELF_PAGE_SIZE + ELF_PAGE_SIZE) % ELF_PAGE_SIZE;

  const out = new Uint8Array(offset + fileSize);
  const v = new DataView(out.buffer);
  // Elf32_Ehdr ([gABI] ch. 4 "ELF Header"), at file offset 0.
  out.set(ELFMAG, 0);
  out[EI_CLASS] = ELFCLASS32;
  out[EI_DATA] = ELFDATA2LSB;
  out[EI_VERSION] = EV_CURRENT;
  out[EI_OSABI] = ELFOSABI_NONE; // EI_ABIVERSION and the padding up to EI_NIDENT stay 0
  v.setUint16(16, ET_EXEC, true); //  e_type
  v.setUint16(18, EM_386, true); //   e_machine
  v.setUint32(20, EV_CURRENT, true); // e_version
  v.setUint32(24, entry, true); //    e_entry: where the loader jumps
  v.setUint32(28, ELF32_EHDR_SIZE, true); // e_phoff: the program header table follows this header
  v.setUint32(32, 0, true); //        e_shoff: no section header table
  v.setUint32(36, 0, true); //        e_flags: EM_386 defines none
  v.setUint16(40, ELF32_EHDR_SIZE, true); // e_ehsize
  v.setUint16(42, ELF32_PHDR_SIZE, true); // e_phentsize
  v.setUint16(44, 1, true); //        e_phnum
  v.setUint16(46, 0, true); //        e_shentsize: no sections
  v.setUint16(48, 0, true); //        e_shnum
  v.setUint16(50, 0, true); //        e_shstrndx: SHN_UNDEF
  // Elf32_Phdr ([gABI] ch. 5 "Program Header"): one PT_LOAD segment.
  const ph = ELF32_EHDR_SIZE;
  v.setUint32(ph + 0, PT_LOAD, true); //  p_type
  v.setUint32(ph + 4, offset, true); //   p_offset: where the bytes are in the file
  v.setUint32(ph + 8, origin, true); //   p_vaddr: where they go in memory
  v.setUint32(ph + 12, origin, true); //  p_paddr: unused by System V; the same as p_vaddr by convention
  v.setUint32(ph + 16, fileSize, true); // p_filesz
  v.setUint32(ph + 20, memSize, true); // p_memsz: the loader zero-fills p_memsz - p_filesz (the bss)
  v.setUint32(ph + 24, flags, true); //   p_flags
  v.setUint32(ph + 28, ELF_PAGE_SIZE, true); // p_align
  out.set(img.bytes, offset);
  return out;
}

/** The fields of an ELF32 file that a loader needs. */
export interface Elf32Info {
  readonly type: number;
  readonly machine: number;
  readonly entry: number;
  readonly segments: readonly Elf32Segment[];
}

export interface Elf32Segment {
  readonly type: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly paddr: number;
  readonly fileSize: number;
  readonly memSize: number;
  readonly flags: number;
  readonly align: number;
  /** The segment's bytes in the file (fileSize of them). */
  readonly bytes: Uint8Array;
}

/**
 * Read and check the ELF header and program headers of a little-endian
 * ELF32 file, the way a loader must before it trusts them: every error names
 * the field that is wrong.  `name` is used in the messages.
 */
export function readElf32(file: Uint8Array, name = 'ELF file'): Elf32Info {
  const fail = (msg: string): never => { throw new ElfError(`${name}: ${msg}`); };
  if (file.length < ELF32_EHDR_SIZE) fail(`${file.length} bytes is shorter than an ELF32 header (${ELF32_EHDR_SIZE})`);
  if (!ELFMAG.every((b, i) => file[i] === b)) fail('no ELF magic number (\\x7fELF) at offset 0');
  if (file[EI_CLASS] !== ELFCLASS32) fail(`EI_CLASS is ${file[EI_CLASS]}, not ELFCLASS32 (1)`);
  if (file[EI_DATA] !== ELFDATA2LSB) fail(`EI_DATA is ${file[EI_DATA]}, not ELFDATA2LSB (1)`);
  if (file[EI_VERSION] !== EV_CURRENT) fail(`EI_VERSION is ${file[EI_VERSION]}, not EV_CURRENT (1)`);
  for (let i = EI_OSABI + 2; i < EI_NIDENT; i++) if (file[i] !== 0) fail(`e_ident padding byte ${i} is ${file[i]}, not 0`);
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const phoff = v.getUint32(28, true);
  const phentsize = v.getUint16(42, true);
  const phnum = v.getUint16(44, true);
  if (v.getUint32(20, true) !== EV_CURRENT) fail(`e_version is ${v.getUint32(20, true)}, not EV_CURRENT (1)`);
  if (v.getUint16(40, true) !== ELF32_EHDR_SIZE) fail(`e_ehsize is ${v.getUint16(40, true)}, not ${ELF32_EHDR_SIZE}`);
  if (phnum > 0 && phentsize !== ELF32_PHDR_SIZE) fail(`e_phentsize is ${phentsize}, not ${ELF32_PHDR_SIZE}`);
  if (phoff + phnum * ELF32_PHDR_SIZE > file.length) fail(`the program header table (e_phoff ${phoff}, ${phnum} entries) runs past the end of the file (${file.length} bytes)`);
  const segments: Elf32Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * ELF32_PHDR_SIZE;
    const s = {
      type: v.getUint32(p, true), offset: v.getUint32(p + 4, true), vaddr: v.getUint32(p + 8, true), paddr: v.getUint32(p + 12, true),
      fileSize: v.getUint32(p + 16, true), memSize: v.getUint32(p + 20, true), flags: v.getUint32(p + 24, true), align: v.getUint32(p + 28, true),
    };
    if (s.type === PT_LOAD) {
      if (s.offset + s.fileSize > file.length) fail(`segment ${i}: p_offset ${s.offset} + p_filesz ${s.fileSize} runs past the end of the file (${file.length} bytes)`);
      if (s.memSize < s.fileSize) fail(`segment ${i}: p_memsz ${s.memSize} is smaller than p_filesz ${s.fileSize}`);
      if (s.align > 1 && ((s.align & (s.align - 1)) !== 0 || s.offset % s.align !== s.vaddr % s.align)) {
        fail(`segment ${i}: p_offset 0x${s.offset.toString(16)} and p_vaddr 0x${s.vaddr.toString(16)} are not congruent modulo p_align 0x${s.align.toString(16)}`);
      }
      if (s.vaddr + s.memSize > 2 ** 32) fail(`segment ${i}: p_vaddr 0x${s.vaddr.toString(16)} + p_memsz ${s.memSize} runs past 4 GiB`);
    }
    segments.push({ ...s, bytes: file.subarray(s.offset, s.offset + Math.min(s.fileSize, Math.max(0, file.length - s.offset))) });
  }
  return { type: v.getUint16(16, true), machine: v.getUint16(18, true), entry: v.getUint32(24, true), segments };
}
