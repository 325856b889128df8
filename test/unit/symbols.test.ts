// Typed symbols (toolchain/x86/symbol.ts): a label declared with sym() prints
// exactly as its name, is defined only by a module of the file that declared
// it, and the kernel's sources use symbols for every label they can - a
// string label is left only where the name is made at build time.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineModule } from '../../toolchain/x86/asm.ts';
import { assemble } from '../../toolchain/x86/assemble.ts';
import { itemText } from '../../toolchain/x86/nasm.ts';
import { eax, L } from '../../toolchain/x86/operands.ts';
import { Sym, sym } from '../../toolchain/x86/symbol.ts';
import { listFiles } from '../harness/files.ts';

const root = path.resolve(__dirname, '../..');
const here = 'test/unit/symbols.test.ts';

describe('sym()', () => {
  it('declares a symbol of this file that prints and assembles like its name', () => {
    const hello = sym('hello');
    expect(hello).toBeInstanceOf(Sym);
    expect(hello.file).toBe(here);
    const mod = defineModule({ name: 's1', title: 't', about: 'a', emit: (a) => {
      a.label(hello, 'a comment');
      a.mov(eax, hello);
      a.jmp(hello);
    } });
    const viaSym = assemble({ name: 's1', title: 't', about: 'a', bits: 32, origin: 0x1000, modules: [mod] });
    const mod2 = defineModule({ name: 's2', title: 't', about: 'a', emit: (a) => {
      a.label('hello', 'a comment');
      a.mov(eax, L('hello'));
      a.jmp(L('hello'));
    } });
    const viaString = assemble({ name: 's2', title: 't', about: 'a', bits: 32, origin: 0x1000, modules: [mod2] });
    expect(Buffer.from(viaSym.bytes)).toEqual(Buffer.from(viaString.bytes));
    expect(itemText({ k: 'ins', mn: 'mov', ops: [eax, hello], loc: '' }, 's1')).toContain('mov eax, hello');
  });

  it('refuses a name that is not a NASM identifier, naming it', () => {
    expect(() => sym('.local')).toThrow(/sym\('\.local'\): not a NASM identifier/);
    expect(() => sym('9lives')).toThrow(/9lives/);
  });

  it('refuses a definition by a module of another file, naming both files', () => {
    const foreign = new Sym('foreign', 'kernel/elsewhere.ts');
    const mod = defineModule({ name: 's3', title: 't', about: 'a', emit: (a) => { a.label(foreign); a.ret(); } });
    expect(() => assemble({ name: 's3', title: 't', about: 'a', bits: 32, origin: 0x1000, modules: [mod] }))
      .toThrow(/symbol 'foreign' is declared in kernel\/elsewhere\.ts but defined by a module of test\/unit\/symbols\.test\.ts/);
  });

  it('a symbol defined twice in one component is an error of the assembler', () => {
    const twice = sym('twice');
    const mod = defineModule({ name: 's4', title: 't', about: 'a', emit: (a) => { a.label(twice); a.label(twice); a.ret(); } });
    expect(() => assemble({ name: 's4', title: 't', about: 'a', bits: 32, origin: 0x1000, modules: [mod] })).toThrow(/twice/);
  });
});

describe('the sources use symbols wherever a name is fixed', async () => {
  const sources = [...(await listFiles(path.join(root, 'kernel'))).map((f) => `kernel/${f}`), ...(await listFiles(path.join(root, 'boot'))).map((f) => `boot/${f}`)]
    .filter((f) => f.endsWith('.ts'));
  const text = new Map(sources.map((f) => [f, readFileSync(path.join(root, f), 'utf8')]));
  const declared = new Set<string>();
  for (const t of text.values()) for (const m of t.matchAll(/\bsym\('([A-Za-z_]\w*)'/g)) declared.add(m[1]!);

  it('no global label is defined from a fixed string (declare it with sym() instead)', () => {
    const found = [...text].flatMap(([f, t]) => [...t.matchAll(/\b\w+\.(?:label|bss|equ)\('([A-Za-z_]\w*)'/g)].map((m) => `${f}: ${m[0]}`));
    expect(found).toEqual([]);
  });

  it("a fixed L('name') names only what has no symbol: labels made in a loop or values the image builder defines", () => {
    const found = [...text].flatMap(([f, t]) => [...t.matchAll(/\bL\('([A-Za-z_]\w*)'\)/g)].filter((m) => declared.has(m[1]!)).map((m) => `${f}: ${m[0]}`));
    expect(found).toEqual([]);
  });
});
