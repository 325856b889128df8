// The shell's commands come from the subsystems that own what they show
// (kernel/shell/command.ts): the shell builds its name table and help from
// their lists, in a fixed order, and reads no other module's variables.
import { describe, expect, it } from 'vitest';
import { planImage } from '../../toolchain/image.ts';
import { kernelModules } from '../../kernel/index.ts';
import { COMMANDS, helpLine, orderCommands } from '../../kernel/shell/shell.ts';
import { devCommands } from '../../kernel/dev/commands.ts';
import { cpuCommands } from '../../kernel/cpu/commands.ts';
import { procCommands } from '../../kernel/proc/commands.ts';
import { fsCommands } from '../../kernel/fs/commands.ts';
import type { ShellCommand } from '../../kernel/shell/command.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

const kernel = planImage(kernelModules).components.find((c) => c.def.name === 'kernel')!;

/** Every symbol name inside a value (an operand, an expression tree). */
function symbolNames(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => symbolNames(x, out));
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o.t === 'sym' && typeof o.name === 'string') out.push(o.name);
    for (const x of Object.values(o)) symbolNames(x, out);
  }
  return out;
}

describe('shell commands', () => {
  it('help lists every command once, in the order it always has, with the same text', () => {
    // the usages padded to the longest, so that the descriptions form one column
    expect(COMMANDS.map((c) => `[shell] ${helpLine(c)}`)).toEqual([
      '[shell] help               list the commands',
      '[shell] ticks              timer ticks since boot, the rate and the PIT divisor',
      '[shell] idt                IDTR as the CPU holds it, and each vector with a handler',
      '[shell] pic                8259A masks (read back), IRR, ISR and spurious IRQ counts',
      '[shell] uart [overrun]     serial receive buffer: bytes waiting, flow control, dropped bytes; overrun: lose bytes on purpose',
      '[shell] int <n>            raise software interrupt n (3, or 48-255)',
      '[shell] echo <text>        print the text back',
      '[shell] run <prog>... [&]  start user programs (together) and wait for them; & returns at once',
      '[shell] ps                 the process table: pid, name, state, ticks, system calls',
      '[shell] kill <pid>         end a user process (ps shows the pids)',
      "[shell] mem [test]         the BIOS memory map and the page allocator's total/free pages; test: allocate, free, double free",
      '[shell] lspci [-v]         PCI functions on bus 0: slot, class, vendor:device, IRQ; -v: BARs, command register, capabilities',
      '[shell] blk [disk] [op]    disks; read <lba> [n] (hex dump), write <lba> <text>, flush, check <lba> <n> (FNV-1a)',
      '[shell] bench disk <MiB>   read MiB from the first IDE and virtio-blk disks (or two disks named after MiB): time, MiB/s, port I/O',
      '[shell] ls [path]          list a directory of the tar disk (or one file): name, type, size, mode in octal',
      '[shell] cat <file>         print a file of the tar disk, its bytes as they are',
      '[shell] stat <file>        type, size, mode and sector of a file or directory of the tar disk',
      '[shell] poweroff           power the machine off (QEMU exits with status 33)',
    ]);
  });

  it('each subsystem\'s handlers are defined by the module of its own commands.ts', () => {
    const lists: [readonly ShellCommand[], string][] = [
      [devCommands, 'kernel/dev/commands.ts'], [cpuCommands, 'kernel/cpu/commands.ts'], [procCommands, 'kernel/proc/commands.ts'],
      [fsCommands, 'kernel/fs/commands.ts'],
    ];
    for (const [list, file] of lists) {
      for (const c of list) {
        expect(c.handler.file, c.name).toBe(file);
        expect(kernel.symbols.get(c.handler.name)?.file, c.name).toBe(file);
      }
    }
  });

  it('the shell\'s own module reads and writes no other module\'s variables', () => {
    const shellIndex = kernel.def.modules.findIndex((m) => m.name === 'shell');
    const memNames = kernel.rows
      .filter((r) => r.module === shellIndex && r.item.k === 'ins')
      .flatMap((r) => (r.item.k === 'ins' ? r.item.ops : []))
      .filter((op) => typeof op === 'object' && op !== null && (op as { kind?: string }).kind === 'mem')
      .flatMap((op) => symbolNames(op));
    const foreign = memNames.filter((n) => kernel.symbols.get(n)?.file !== 'kernel/shell/shell.ts');
    expect(foreign).toEqual([]);
    // ...while a subsystem's command does read its own subsystem's data (the check above can see it)
    const devIndex = kernel.def.modules.findIndex((m) => m.name === 'dev_cmds');
    const devMem = kernel.rows.filter((r) => r.module === devIndex && r.item.k === 'ins')
      .flatMap((r) => (r.item.k === 'ins' ? r.item.ops : []))
      .filter((op) => typeof op === 'object' && op !== null && (op as { kind?: string }).kind === 'mem')
      .flatMap((op) => symbolNames(op));
    expect(devMem).toContain('ticks');
  });

  it('the order names every command exactly once, and says which one is wrong', () => {
    const cmd = (name: string): ShellCommand => ({ name, usage: name, doc: name, handler: sym(`cmd_${name}`) });
    const [a, b] = [cmd('alpha'), cmd('beta')];
    expect(orderCommands([a, b], ['beta', 'alpha']).map((c) => c.name)).toEqual(['beta', 'alpha']);
    expect(() => orderCommands([a, b, cmd('alpha')], ['alpha', 'beta'])).toThrow(/shell command 'alpha' is contributed twice \(test\/unit\/shell-commands\.test\.ts and test\/unit\/shell-commands\.test\.ts\)/);
    expect(() => orderCommands([a, b], ['alpha'])).toThrow(/shell command 'beta' \(test\/unit\/shell-commands\.test\.ts\) has no place in HELP_ORDER/);
    expect(() => orderCommands([a], ['alpha', 'gamma'])).toThrow(/HELP_ORDER \(kernel\/shell\/shell\.ts\) names 'gamma', but no subsystem contributes a command of that name/);
  });
});
