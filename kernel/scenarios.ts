// Built-in test scenarios, chosen with test=<name> on the cmdline.
import { type Asm, defineModule } from '../toolchain/x86/asm.ts';
import { ax, ds, eax, ebx, ecx, edx, L, dword, constant } from '../toolchain/x86/operands.ts';
import { FAULTS } from './user/faults.ts';
import { putDec, putHex32, say } from './lib/print.ts';
import { emitNameTable } from './lib/name_table.ts';
import { test_name, user_arg } from './cmdline.ts';
import { irq_register, pic_spurious7 } from './dev/pic.ts';
import { pit_hz, pit_irq, sleep, ticks } from './dev/pit.ts';
import { panic, poweroff } from './dev/qemu_exit.ts';
import { serial_newline, serial_put_dec, serial_put_escaped, serial_put_hex32 } from './dev/serial.ts';
import { name_lookup } from './lib/string.ts';
import { proc_run } from './proc/spawn.ts';
import { proc_wait } from './proc/exit.ts';
import { proc_ps } from './proc/ps.ts';
import { shell_main } from './shell/shell.ts';
import { PCI_ENABLE_SCENARIO } from './pci/pci.ts';
import { VIRTIO_BLK_BLOCK_SCENARIO, VIRTIO_BLK_SCENARIO, VIRTIO_BLK_WRAP_SCENARIO, VIRTIO_BLK_WRITE_SCENARIO } from './blk/virtio_blk.ts';
import { sym } from '../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); exported ones are used by other modules.
const scenario_table = sym('scenario_table');
const scen_console_ticks = sym('scen_console_ticks');
const scenario_bp_int3 = sym('scenario_bp_int3');
const scenario_console_tick = sym('scenario_console_tick');
const scenario_div0_fault = sym('scenario_div0_fault');
const scenario_gp_fault = sym('scenario_gp_fault');
const scenario_pf_fault = sym('scenario_pf_fault');
export const scenario_run = sym('scenario_run');
const scenario_ud_fault = sym('scenario_ud_fault');

export interface Scenario {
  readonly name: string;
  readonly doc: string;
  /** Emits the scenario's code after its label `scenario_<name>`. It ends in poweroff or panic. */
  readonly emit: (a: Asm) => void;
}


export const BAD_SELECTOR = constant('BAD_SELECTOR', 0x38, 'GDT index 7: beyond the GDT limit, so loading it into DS raises #GP(0x38)');
export const TICKS_SCENARIO_MS = constant('TICKS_SCENARIO_MS', 1000, 'test=ticks sleeps this long and reports the ticks that passed', { radix: 10 });
export const VEC_PIC_IRQ7 = constant('VEC_PIC_IRQ7', 39, 'IRQ7 arrives on vector 39 (32 + 7)', { radix: 10 });
export const CONSOLE_IRQ_LINES = constant('CONSOLE_IRQ_LINES', 20, 'test=console: timer ticks that print a line from interrupt context', { radix: 10 });
export const SLEEPWRAP_TICKS0 = constant('SLEEPWRAP_TICKS0', 0xffffffce, 'test=sleepwrap: ticks is set 50 ticks before it wraps to 0 (497 days of uptime at 100 Hz)');
export const SCEN_SLEEP_MS = constant('SCEN_SLEEP_MS', 1000, 'test=idle and test=sleepwrap sleep this long', { radix: 10 });

/** The scenario table. Each ends by powering off (status 33) or panicking (status 35). */
export const SCENARIOS: readonly Scenario[] = [
  { name: 'boot', doc: 'boot to ready, then power off', emit: (a) => { say(a, a.cstr('[tsk] ready\r\n')); a.call(poweroff); } },
  { name: 'div0', doc: '#DE: divide by zero in the kernel (panics)', emit: (a) => {
    a.xor(edx, edx); a.mov(eax, 1); a.xor(ecx, ecx);
    a.label(scenario_div0_fault); a.div(ecx, 'EDX:EAX / 0 raises #DE; the saved EIP points here');
  } },
  { name: 'ud', doc: '#UD: execute an invalid opcode (panics)', emit: (a) => {
    a.label(scenario_ud_fault); a.ud2('0F 0B is reserved to be invalid: #UD');
  } },
  { name: 'gp', doc: '#GP: load a selector beyond the GDT into DS (panics; error code = the selector)', emit: (a) => {
    a.mov(ax, BAD_SELECTOR);
    a.label(scenario_gp_fault); a.mov(ds, ax, 'the CPU checks the selector against the GDT limit: #GP(selector)');
  } },
  { name: 'pf', doc: '#PF: read address 0, whose page is not mapped (panics; CR2 = 0)', emit: (a) => {
    a.label(scenario_pf_fault); a.mov(eax, dword(0), 'a null-pointer read: page 0 is not present, #PF with CR2 = 0');
  } },
  { name: 'bp', doc: '#BP: int3 reports and resumes, then power off', emit: (a) => {
    a.label(scenario_bp_int3); a.int3('the #BP handler prints and returns here');
    say(a, a.cstr('[scenario] bp: execution resumed after int3\r\n')); a.call(poweroff);
  } },
  { name: 'ticks', doc: 'sleep TICKS_SCENARIO_MS ms with sti;hlt and report the ticks that passed', emit: (a) => {
    say(a, a.cstr('[ticks] sleeping 1000 ms\r\n'));
    a.mov(ebx, dword(ticks));
    a.mov(eax, TICKS_SCENARIO_MS);
    a.call(sleep);
    say(a, a.cstr('[ticks] elapsed '));
    a.mov(eax, dword(ticks));
    a.sub(eax, ebx);
    a.call(serial_put_dec);
    say(a, a.cstr(' ticks at '));
    putDec(a, dword(pit_hz));
    say(a, a.cstr(' Hz\r\n'));
    a.call(poweroff);
  } },
  { name: 'spurious', doc: 'deliver vector 39 (IRQ7) with the ISR bit clear - what a spurious IRQ7 looks like - and show it is counted, not acknowledged', emit: (a) => {
    say(a, a.cstr('[scenario] spurious: raising vector 39 (IRQ7) while the PIC has nothing in service\r\n'));
    a.int(VEC_PIC_IRQ7, 'vector 39 by software: the PIC has nothing in service');
    say(a, a.cstr('[pic] spurious IRQ7 count: '));
    putDec(a, dword(pic_spurious7));
    a.call(serial_newline);
    a.call(poweroff);
  } },
  { name: 'console', doc: 'the kernel task prints lines (interrupts on) while CONSOLE_IRQ_LINES timer ticks each print one from the interrupt handler: every line must come out whole (use hz=1000)', emit: (a) => {
    a.cli();
    a.mov(eax, 0, 'IRQ0');
    a.mov(edx, scenario_console_tick);
    a.call(irq_register, 'IRQ0 now also prints (the timer keeps working: it calls pit_irq)');
    a.sti();
    a.xor(ebx, ebx, 'EBX = kernel lines printed');
    a.doWhile(() => {
      say(a, a.cstr('[console] kernel line '));
      putDec(a, ebx);
      say(a, a.cstr(': printed by the kernel task with interrupts enabled\r\n'));
      a.inc(ebx);
    }, () => { a.cmp(dword(scen_console_ticks), CONSOLE_IRQ_LINES); return 'b'; }, 'print until enough ticks have printed theirs');
    a.cli();
    a.mov(eax, 0);
    a.mov(edx, pit_irq);
    a.call(irq_register, 'the timer as it was');
    a.sti();
    say(a, a.cstr('[console] done: '));
    putDec(a, ebx);
    say(a, a.cstr(' kernel lines and '));
    putDec(a, dword(scen_console_ticks));
    say(a, a.cstr(' interrupt lines\r\n'));
    a.call(poweroff);
    a.routine({
      name: scenario_console_tick, does: 'IRQ0 handler during test=console: the tick, then one line from interrupt context',
      in: { eax: 'the trap frame (irq_register)' }, clobbers: [eax, ecx, edx],
    }, (r) => {
      a.call(pit_irq);
      a.cmp(dword(scen_console_ticks), CONSOLE_IRQ_LINES);
      a.if_('b', () => {
        a.inc(dword(scen_console_ticks));
        say(a, a.cstr('[console] interrupt line '));
        putDec(a, dword(scen_console_ticks));
        say(a, a.cstr(': printed by the IRQ0 handler\r\n'));
      }, undefined, 'CONSOLE_IRQ_LINES lines printed: only the tick');
      r.ret();
    });
  } },
  { name: 'idle', doc: 'run hello, sleep SCEN_SLEEP_MS with nothing to run, then ps: the idle time is charged to idle', emit: (a) => {
    runEach(a, ['hello']);
    say(a, a.cstr('[idle] sleeping 1000 ms with nothing to run\r\n'));
    a.mov(eax, SCEN_SLEEP_MS);
    a.call(sleep);
    a.call(proc_ps);
    say(a, a.cstr('[idle] ticks since boot: '));
    putDec(a, dword(ticks));
    a.call(serial_newline);
    a.call(poweroff);
  } },
  { name: 'sleepwrap', doc: 'set ticks to SLEEPWRAP_TICKS0, 50 ticks before the 32-bit wrap, and sleep SCEN_SLEEP_MS across it', emit: (a) => {
    a.cli();
    a.mov(dword(ticks), SLEEPWRAP_TICKS0, 'as if the machine had been up for 497 days');
    a.sti();
    say(a, a.cstr('[sleepwrap] ticks set to 0x'));
    a.mov(eax, SLEEPWRAP_TICKS0);
    a.call(serial_put_hex32);
    say(a, a.cstr(' (50 ticks before the wrap); sleeping 1000 ms\r\n'));
    a.mov(ebx, dword(ticks));
    a.mov(eax, SCEN_SLEEP_MS);
    a.call(sleep, 'the wake-up tick is past the wrap: ticks + 100 = 0x32 at 100 Hz');
    say(a, a.cstr('[sleepwrap] woke at ticks=0x'));
    putHex32(a, dword(ticks));
    say(a, a.cstr(' after '));
    a.mov(eax, dword(ticks));
    a.sub(eax, ebx, 'elapsed ticks, modulo 2^32');
    a.call(serial_put_dec);
    say(a, a.cstr(' ticks at '));
    putDec(a, dword(pit_hz));
    say(a, a.cstr(' Hz\r\n'));
    a.call(poweroff);
  } },
  { name: 'hello', doc: 'run the hello program in ring 3 and wait for it', emit: (a) => {
    runEach(a, ['hello']);
    a.call(poweroff);
  } },
  { name: 'syscalls', doc: 'run the syscalls program (every call, valid and invalid arguments)', emit: (a) => {
    runEach(a, ['syscalls']);
    a.call(poweroff);
  } },
  { name: 'fuzz', doc: 'run fuzz (10,000 random system calls, seed=), then hello to show the kernel still works', emit: (a) => {
    runEach(a, ['fuzz', 'hello']);
    say(a, a.cstr('[tsk] kernel alive after the user programs\r\n'));
    a.call(poweroff);
  } },
  { name: 'faults', doc: 'run each fault program in turn: each is killed, the kernel goes on', emit: (a) => {
    runEach(a, [...FAULTS.map((f) => f.name), 'hello']);
    say(a, a.cstr('[tsk] kernel alive after the user programs\r\n'));
    a.call(poweroff);
  } },
  { name: 'preempt', doc: 'run two CPU-bound spin programs at once; report the ticks before and after', emit: (a) => {
    say(a, a.cstr('[preempt] ticks before: '));
    putDec(a, dword(ticks));
    a.call(serial_newline);
    a.mov(eax, a.cstr('spin'));
    a.mov(edx, dword(user_arg));
    a.call(proc_run);
    a.push(eax, 'pid of the first');
    a.mov(eax, a.cstr('spin'));
    a.mov(edx, dword(user_arg));
    a.call(proc_run);
    a.push(eax, 'pid of the second');
    a.call(proc_ps, 'both runnable');
    a.pop(eax);
    a.call(proc_wait);
    a.pop(eax);
    a.call(proc_wait);
    say(a, a.cstr('[preempt] ticks after: '));
    putDec(a, dword(ticks));
    a.call(serial_newline);
    a.call(poweroff);
  } },
  PCI_ENABLE_SCENARIO,
  VIRTIO_BLK_SCENARIO, VIRTIO_BLK_WRITE_SCENARIO, VIRTIO_BLK_WRAP_SCENARIO, VIRTIO_BLK_BLOCK_SCENARIO,
];

/** Run the named programs one after another, waiting for each (start argument: seed=). */
function runEach(a: Asm, names: readonly string[]) {
  for (const n of names) {
    a.mov(eax, a.cstr(n), `"${n}"`);
    a.mov(edx, dword(user_arg));
    a.call(proc_run);
    a.call(proc_wait, 'an error (negative pid) matches no process: returns at once');
  }
}

export const scenarios = defineModule({
  name: 'scenarios',
  title: 'Built-in test scenarios (cmdline test=<name>)',
  about: `
Boot tests choose what the kernel does with test=<name> on the cmdline; the
harness then asserts on the serial lines and the QEMU exit status (33 after
poweroff, 35 after panic).  Without test= the kernel starts the shell.
An unknown name is reported with the list of known ones, then panics.

${SCENARIOS.map((s) => `  ${s.name.padEnd(9)} ${s.doc}`).join('\n')}

Labels named scenario_<name>_fault mark the faulting instructions: the test
checks the EIP in the exception dump against build/tsk.map.`,
  emit(a) {
    a.bss(scen_console_ticks, 4, 4, 'test=console: lines the timer interrupt printed');

    a.label(scenario_run);
    a.mov(ebx, dword(test_name));
    a.test(ebx, ebx);
    a.jz(shell_main, 'no test= on the cmdline: interactive shell');
    a.mov(eax, ebx);
    a.mov(edx, scenario_table);
    a.call(name_lookup);
    a.test(eax, eax);
    a.if_('nz', () => a.jmp(eax, 'to scenario_<name>'));
    say(a, a.cstr("[tsk] unknown test scenario '"));
    a.mov(eax, ebx);
    a.call(serial_put_escaped, 'the name comes from the cmdline: control bytes are shown as \\xHH');
    say(a, a.cstr(`' (known: ${SCENARIOS.map((s) => s.name).join(', ')})\r\n`));
    a.mov(eax, a.cstr('unknown test scenario'));
    a.call(panic);

    for (const s of SCENARIOS) {
      a.section(`test=${s.name}: ${s.doc}`);
      a.label(`scenario_${s.name}`);
      s.emit(a);
      a.mov(eax, a.cstr('scenario did not raise the exception it was written to raise'));
      a.call(panic, 'a fault scenario that did not fault is a failure');
    }

    emitNameTable(a, scenario_table, SCENARIOS.map((s) => ({ name: s.name, value: L(`scenario_${s.name}`) })), 'test=<name> -> scenario');
  },
});
