// Shell command for memory: the BIOS map, the allocator's counts, and a
// self-test of the allocator that a boot test can run.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ebx, ecx, edx, esi, edi, byte, dword } from '../../toolchain/x86/operands.ts';
import { putDec, putHex32, say } from '../lib/print.ts';
import { strcmp } from '../lib/string.ts';
import { serial_newline, serial_puts } from '../dev/serial.ts';
import { E820_COUNT } from '../../boot/e820.ts';
import { e820_print_map } from './e820.ts';
import { pmm_alloc, pmm_free, pmm_free_pages, pmm_total, PMM_BASE } from './pmm.ts';
import { type ShellCommand, commandRoutine } from '../shell/command.ts';
import { sym } from '../../toolchain/x86/symbol.ts';

// The labels this module defines (toolchain/x86/symbol.ts); the handler goes into the shell's table.
export const cmd_mem = sym('cmd_mem');
const mem_test = sym('mem_test');

const MEM: ShellCommand = { name: 'mem', usage: 'mem [test]', doc: 'the BIOS memory map and the page allocator\'s total/free pages; test: allocate, free, double free', handler: cmd_mem };
/** The commands this module adds to the shell (shell.asm lists them in help). */
export const memCommands: readonly ShellCommand[] = [MEM];

export const memCmds = defineModule({
  name: 'mem_cmds',
  title: 'Shell command for memory: mem',
  about: `
  mem       the memory map stage 2 got from the BIOS (e820k.asm), one line
            per entry, then the allocator's pages (pmm.asm): how many it
            manages and how many are free now.
  mem test  exercises the allocator on the running machine: two pages are
            allocated (different, page-aligned, zeroed), one is dirtied,
            freed and allocated again (it must come back zeroed), then the
            mistakes pmm_free must catch - the same page freed twice, an
            unaligned address, an address outside its range (the kernel
            image) - and finally the free count must be what it was before.
            It ends with "[mem] test passed" or "[mem] test FAILED: why" - or,
            with fewer than 2 pages free (running programs hold them: each
            process's pages come from this allocator), says so and does
            nothing: that is not a failure.`,
  emit(a) {
    commandRoutine(a, MEM, {}, (r) => {
      a.cmp(byte(eax), 0);
      a.if_('ne', () => {
        a.push(eax);
        a.mov(edx, a.cstr('test'));
        a.call(strcmp);
        a.test(eax, eax);
        a.pop(ecx);
        a.if_('nz', () => {
          a.push(ecx);
          say(a, a.cstr("[shell] mem: unknown argument '"));
          a.pop(eax);
          a.call(serial_puts);
          say(a, a.cstr("' (usage: mem [test])\r\n"));
          r.ret();
        });
        a.jmp(mem_test, 'tail call');
      });
      a.cmp(dword(E820_COUNT), 0);
      a.if_('e', () => { say(a, a.cstr('[mem] no e820 map (the BIOS lacks int 15h E820h)\r\n')); });
      a.call(e820_print_map);
      say(a, a.cstr('[mem] pages: total '));
      putDec(a, dword(pmm_total));
      say(a, a.cstr(', free '));
      putDec(a, dword(pmm_free_pages));
      say(a, a.cstr(' (4 KiB each, from 0x'));
      putHex32(a, PMM_BASE);
      say(a, a.cstr(')\r\n'));
      r.ret();
    });

    a.routine({
      name: mem_test, does: 'allocates and frees pages, checks zeroing and that pmm_free catches misuse; prints passed or FAILED',
      clobbers: [eax, ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      const fail = (why: string) => {
        say(a, a.cstr(`[mem] test FAILED: ${why}\r\n`));
        r.ret();
      };
      a.mov(edi, dword(pmm_free_pages), 'EDI = free pages before');
      a.cmp(edi, 2);
      a.if_('b', () => {
        say(a, a.cstr('[mem] test not run: it needs 2 free pages, and '));
        putDec(a, edi);
        say(a, a.cstr(' are free (programs hold the rest, or the machine has little RAM)\r\n'));
        r.ret();
      }, undefined, 'no pages to play with is not a failure of the allocator');
      a.call(pmm_alloc);
      a.mov(ebx, eax, 'EBX = page 1');
      a.call(pmm_alloc);
      a.mov(esi, eax, 'ESI = page 2');
      say(a, a.cstr('[mem] test: allocated 0x')); putHex32(a, ebx);
      say(a, a.cstr(' and 0x')); putHex32(a, esi);
      a.call(serial_newline);
      a.test(ebx, ebx); a.if_('z', () => fail('pmm_alloc returned 0'));
      a.test(esi, esi); a.if_('z', () => fail('pmm_alloc returned 0'));
      a.cmp(ebx, esi); a.if_('e', () => fail('the same page twice'));
      a.mov(eax, ebx); a.or(eax, esi); a.test(eax, 0xfff); a.if_('nz', () => fail('a page not 4 KiB aligned'));
      a.mov(eax, edi); a.sub(eax, 2); a.cmp(eax, dword(pmm_free_pages)); a.if_('ne', () => fail('the free count did not drop by 2'));
      a.mov(dword(ebx, 4092), 0xdeadbeef, 'dirty page 1 (its last dword) ...');
      a.mov(eax, ebx); a.call(pmm_free);
      a.test(eax, eax); a.if_('nz', () => fail('freeing an allocated page was refused'));
      a.call(pmm_alloc, '... free it and take it again: the lowest free page, so page 1');
      a.cmp(eax, ebx); a.if_('ne', () => fail('the freed page was not handed out again'));
      a.cmp(dword(ebx, 4092), 0); a.if_('ne', () => fail('a reallocated page was not zeroed'));
      say(a, a.cstr('[mem] test: page 0x')); putHex32(a, ebx); say(a, a.cstr(' dirtied, freed, allocated again: zeroed\r\n'));
      a.mov(eax, ebx); a.call(pmm_free);
      a.test(eax, eax); a.if_('nz', () => fail('free refused'));
      say(a, a.cstr('[mem] test: freeing it again must be refused:\r\n'));
      a.mov(eax, ebx); a.call(pmm_free);
      a.test(eax, eax); a.if_('z', () => fail('a double free was accepted'));
      a.lea(eax, dword(esi, 8)); a.call(pmm_free);
      a.test(eax, eax); a.if_('z', () => fail('an unaligned free was accepted'));
      a.mov(eax, 0x10000, 'the kernel image: never the allocator\'s'); a.call(pmm_free);
      a.test(eax, eax); a.if_('z', () => fail('freeing the kernel image was accepted'));
      a.mov(eax, esi); a.call(pmm_free);
      a.test(eax, eax); a.if_('nz', () => fail('free refused'));
      a.cmp(edi, dword(pmm_free_pages)); a.if_('ne', () => fail('the free count is not what it was'));
      say(a, a.cstr('[mem] test passed: '));
      putDec(a, edi);
      say(a, a.cstr(' pages free before and after\r\n'));
      r.ret();
    });
  },
});
