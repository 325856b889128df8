// ELF32 executables (toolchain/x86/elf.ts) against a real loader: Linux's,
// as qemu-i386 (package qemu-user) emulates it - the loader the routine
// tests rely on.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { assemble } from '../../toolchain/x86/assemble.ts';
import { elf32Executable } from '../../toolchain/x86/elf.ts';
import { L, dword, eax, ebx } from '../../toolchain/x86/operands.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tsk-elf-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run an ELF under qemu-i386; its exit status. */
function runElf(elf: Uint8Array, name: string): { status: number | null; signal: string | null; stderr: string } {
  const file = path.join(dir, name);
  writeFileSync(file, elf, { mode: 0o755 }); // qemu-i386, like execve, runs only executable files
  const r = spawnSync('qemu-i386', [file], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw new Error(`qemu-i386 (package qemu-user) could not run: ${r.error.message}`);
  return { status: r.status, signal: r.signal, stderr: r.stderr };
}

// mov eax, 1 (Linux exit) ; mov ebx, 42 ; int 0x80
const EXIT42 = Uint8Array.from([0xb8, 1, 0, 0, 0, 0xbb, 42, 0, 0, 0, 0xcd, 0x80]);

describe('a real loader runs the files (Linux, emulated by qemu-i386)', () => {
  it('enters at e_entry, with the bytes at p_vaddr, page-aligned or not', () => {
    expect(runElf(elf32Executable({ bytes: EXIT42, origin: 0x08048000, entry: 0x08048000 }), 'aligned.elf').status).toBe(42);
    expect(runElf(elf32Executable({ bytes: EXIT42, origin: 0x08048054, entry: 0x08048054 }), 'unaligned.elf').status).toBe(42);
    // Two exits, status 7 then 42: e_entry picks which one runs.
    const two = Uint8Array.from([0xb8, 1, 0, 0, 0, 0xbb, 7, 0, 0, 0, 0xcd, 0x80, ...EXIT42]);
    expect(runElf(elf32Executable({ bytes: two, origin: 0x08048000, entry: 0x08048000 }), 'entry0.elf').status).toBe(7);
    expect(runElf(elf32Executable({ bytes: two, origin: 0x08048000, entry: 0x0804800c }), 'entry12.elf').status).toBe(42);
  });

  it('maps p_memsz - p_filesz zeroed bytes after the file bytes (the bss), across pages', () => {
    // exit(dword [bss_last] + 42): reads the last dword of an 8 KiB bss, two pages past the file bytes.
    const mod = defineModule({
      name: 'bss_probe', title: 'bss probe', about: 'reads the end of the bss',
      emit(a) {
        a.bss('zeros', 8192, 4);
        a.label('start');
        a.mov(ebx, dword(L('zeros').add(8192 - 4)));
        a.add(ebx, 42);
        a.mov(eax, 1);
        a.int(0x80);
      },
    });
    const asm = assemble({ name: 'bss_probe', title: 't', about: 't', bits: 32, origin: 0x08048000, modules: [mod] });
    const bssSize = asm.bssEnd - 0x08048000 - asm.bytes.length;
    expect(bssSize).toBeGreaterThanOrEqual(8192);
    expect(runElf(elf32Executable({ bytes: asm.bytes, origin: 0x08048000, entry: 0x08048000, bssSize }), 'bss.elf').status).toBe(42);
    // Without the bss in p_memsz the read is outside the process's memory.
    const none = runElf(elf32Executable({ bytes: asm.bytes, origin: 0x08048000, entry: 0x08048000 }), 'nobss.elf');
    expect(none.signal).toBe('SIGSEGV');
  });
});
