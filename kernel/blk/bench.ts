// The shell's bench disk: the same reads from an emulated IDE disk and from
// a virtio-blk disk, timed, with the port I/O each needed - the course's
// case for paravirtualization, measured on the running machine.
import { defineModule } from '../../toolchain/x86/asm.ts';
import { eax, ebx, ecx, edx, esi, edi, esp, byte, dword, constant } from '../../toolchain/x86/operands.ts';
import { sym } from '../../toolchain/x86/symbol.ts';
import { putDec, say } from '../lib/print.ts';
import { strcmp } from '../lib/string.ts';
import { serial_newline, serial_put_dec, serial_putc, serial_puts } from '../dev/serial.ts';
import { PIT_INPUT_HZ, pit_clock } from '../dev/pit.ts';
import { arg_split, arg_uint } from '../shell/args.ts';
import { type ShellCommand, commandRoutine } from '../shell/command.ts';
import { BLK_MAX_COUNT, BLK_READ, DISK, blk_rw, disk_count, disk_find, disk_table } from './disk.ts';

// The labels this module defines (toolchain/x86/symbol.ts); the handler goes into the shell's table.
export const cmd_bench = sym('cmd_bench');
const bench_read = sym('bench_read');
const bench_elapsed = sym('bench_elapsed');
const bench_disk = sym('bench_disk');
const bench_first = sym('bench_first');
const put_tenths = sym('put_tenths');
const put_ratio = sym('put_ratio');
const bench_buf = sym('bench_buf');

export const BENCH_MAX_MIB = constant('BENCH_MAX_MIB', 4096, 'largest "bench disk" size in MiB: the sector count and the rate arithmetic stay within 32 bits', { radix: 10 });
const SECTORS_PER_MIB = constant('SECTORS_PER_MIB', 2048, '1 MiB / 512-byte sectors', { radix: 10 });

const BENCH: ShellCommand = {
  name: 'bench', usage: 'bench disk <MiB>',
  doc: 'read MiB from the first IDE and virtio-blk disks (or two disks named after MiB): time, MiB/s, port I/O',
  handler: cmd_bench,
};
export const benchCommands: readonly ShellCommand[] = [BENCH];

export const benchCmds = defineModule({
  name: 'bench_cmds',
  title: 'Shell command bench disk: a fully emulated disk against a paravirtual one',
  about: `
Both disks below are files on the host, and QEMU reads both the same way.
What differs is the conversation between the guest and QEMU:

  IDE (the ATA PIO driver): every 16-bit word of every sector crosses an I/O port.
      Each in or out instruction traps out of the guest into QEMU, which
      emulates one step of an ATA controller and returns - 256 exits per
      sector for the data alone, plus the command and status registers.
  virtio-blk (its driver): the driver writes descriptors into memory
      both sides share and makes one port write (the notify) for a whole
      request; QEMU copies up to BLK_MAX_COUNT sectors and raises one
      interrupt, whose ISR read is the second exit.

bench disk <MiB> reads the same number of sectors from each disk, from LBA
0 onwards (wrapping round on a disk smaller than that), BLK_MAX_COUNT
sectors per blk_rw call, into one buffer, and prints for each disk the
time, the rate and the port-I/O instructions its driver counted
(disk.pio, disk.asm); then how the two compare.  The disks are the first
IDE and the first virtio-blk disk, or the two named.

The clock is pit_clock (pit.asm): the timer's ticks refined by the count
inside the current tick, in PIT input clocks of 0.838 us, printed in
tenths of a millisecond - a virtio-blk disk reads a MiB well within one
10 ms tick.  Under TCG every
instruction is emulated, so the absolute rates are low; the ratio of the
two is the lesson, and it holds under KVM too, where an exit costs
microseconds instead of the tens of nanoseconds of a guest instruction.`,
  emit(a) {
    a.bss(bench_buf, BLK_MAX_COUNT.mul(512), 4096, 'one request\'s worth of sectors, read and thrown away');

    a.routine({
      name: put_tenths, does: 'prints a number given in tenths as "12.3"',
      in: { eax: 'the value times 10' }, clobbers: [eax, ecx, edx],
    }, (r) => {
      a.xor(edx, edx);
      a.mov(ecx, 10);
      a.div(ecx);
      a.push(edx);
      a.call(serial_put_dec);
      a.mov(eax, '.'.charCodeAt(0));
      a.call(serial_putc);
      a.pop(eax);
      a.call(serial_put_dec);
      r.ret();
    });

    a.routine({
      name: put_ratio, does: 'prints EAX / ECX with one decimal ("1.5"), or as a whole number when the tenths would not fit 32 bits',
      in: { eax: 'dividend', ecx: 'divisor (not 0)' }, clobbers: [eax, ecx, edx],
    }, () => {
      a.push(eax);
      a.mov(edx, 10);
      a.mul(edx, 'EDX:EAX = dividend x 10');
      a.cmp(edx, ecx);
      a.if_('b', () => {
        a.div(ecx, 'the ratio in tenths: the quotient fits, since EDX < ECX');
        a.add(esp, 4);
        a.jmp(put_tenths, 'tail call');
      });
      a.pop(eax, 'tenths would not fit: the whole ratio');
      a.xor(edx, edx);
      a.div(ecx);
      a.jmp(serial_put_dec, 'tail call');
    });

    a.routine({
      name: bench_elapsed, does: 'the time since an earlier pit_clock, in tenths of a millisecond',
      in: { eax: 'the earlier pit_clock, low half', edx: 'high half' },
      out: { eax: 'tenths of a millisecond since then (0xFFFFFFFF when the clocks do not fit 32 bits: over an hour)' },
      clobbers: [ecx, edx],
    }, (r) => {
      a.push(eax);
      a.push(edx);
      a.call(pit_clock);
      a.pop(ecx);
      a.sub(eax, dword(esp));
      a.sbb(edx, ecx, 'EDX:EAX = clocks since then');
      a.pop(ecx);
      a.test(edx, edx);
      a.if_('nz', () => { a.mov(eax, -1); r.ret(); });
      a.mov(ecx, 10000);
      a.mul(ecx, 'clocks x 10000 ...');
      a.mov(ecx, PIT_INPUT_HZ);
      a.cmp(edx, ecx);
      a.if_('ae', () => { a.mov(eax, -1); r.ret('the quotient would not fit'); });
      a.div(ecx, '... / 1193182 clocks a second = tenths of a millisecond');
      r.ret();
    });

    a.routine({
      name: bench_read, does: 'reads sectors from LBA 0 on, wrapping at the disk\'s end, and times it',
      args: { disk: 'the disk', sectors: 'how many sectors to read in all' },
      locals: { lba: [4, 'next sector'], left: [4, 'sectors still to read'], start: [4, 'pit_clock at the start, low half'], start_hi: [4, 'and high half'] },
      out: { eax: 'tenths of a millisecond it took (0xFFFFFFFF: more than an hour)', edx: '0, or the -errno of the read that failed' },
      clobbers: [ecx], saves: [ebx, esi],
    }, (r) => {
      a.mov(ebx, r.arg('disk'));
      a.mov(esi, dword(ebx, DISK.f.sectors), 'ESI = where to wrap: the capacity ...');
      a.cmp(dword(ebx, DISK.f.sectors_hi), 0);
      a.if_('ne', () => { a.mov(esi, 0xffffffff); }, undefined, '... or the 32-bit LBA limit on a 2 TiB disk');
      a.mov(eax, r.arg('sectors'));
      a.mov(r.local('left'), eax);
      a.mov(r.local('lba'), 0);
      a.call(pit_clock);
      a.mov(r.local('start'), eax);
      a.mov(r.local('start_hi'), edx);
      a.while_(() => { a.cmp(r.local('left'), 0); return 'ne'; }, () => {
        a.mov(ecx, r.local('left'));
        a.cmp(ecx, BLK_MAX_COUNT);
        a.if_('a', () => { a.mov(ecx, BLK_MAX_COUNT); });
        a.mov(eax, esi);
        a.sub(eax, r.local('lba'), 'sectors before the wrap');
        a.cmp(ecx, eax);
        a.if_('a', () => { a.mov(ecx, eax); });
        a.sub(r.local('left'), ecx);
        a.push(ecx);
        a.invoke(blk_rw, [ebx, BLK_READ, r.local('lba'), ecx, bench_buf]);
        a.pop(ecx);
        a.test(eax, eax);
        a.if_('nz', () => {
          a.push(eax);
          a.mov(eax, r.local('start'));
          a.mov(edx, r.local('start_hi'));
          a.call(bench_elapsed);
          a.pop(edx);
          r.ret('the read failed');
        });
        a.add(ecx, r.local('lba'));
        a.cmp(ecx, esi);
        a.if_('ae', () => { a.xor(ecx, ecx); }, undefined, 'past the end: from LBA 0 again');
        a.mov(r.local('lba'), ecx);
      });
      a.mov(eax, r.local('start'));
      a.mov(edx, r.local('start_hi'));
      a.call(bench_elapsed);
      a.xor(edx, edx);
      r.ret();
    });

    a.routine({
      name: bench_first, does: 'the first disk whose driver has the given name',
      in: { eax: 'driver name ("ide", "virtio-blk")' }, out: { eax: 'the disk, or 0' },
      clobbers: [ecx, edx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(edi, eax);
      a.mov(ebx, disk_table);
      a.mov(esi, dword(disk_count));
      a.forCount(esi, esi, () => {
        a.mov(eax, dword(ebx, DISK.f.kind));
        a.test(eax, eax);
        a.if_('nz', () => {
          a.mov(edx, edi);
          a.call(strcmp);
          a.test(eax, eax);
          a.if_('z', () => { a.mov(eax, ebx); r.ret(); });
        });
        a.add(ebx, DISK.SIZE);
      }, 'every disk');
      a.xor(eax, eax);
      r.ret();
    });

    a.routine({
      name: bench_disk, does: 'times one disk and prints its line',
      args: { disk: 'the disk', mib: 'MiB to read' },
      out: { eax: 'tenths of a millisecond it took, or -1 when the read failed', edx: 'port-I/O instructions its driver executed' },
      clobbers: [ecx], saves: [ebx, esi, edi],
    }, (r) => {
      a.mov(ebx, r.arg('disk'));
      a.mov(edi, dword(ebx, DISK.f.pio), 'EDI = the driver\'s port-I/O count before');
      a.mov(eax, r.arg('mib'));
      a.imul(eax, eax, SECTORS_PER_MIB);
      a.invoke(bench_read, [ebx, eax]);
      a.mov(esi, edx, 'ESI = 0 or -errno');
      a.push(eax, 'the time, in tenths of a millisecond');
      say(a, a.cstr('[bench] '));
      a.lea(eax, dword(ebx, DISK.f.name));
      a.call(serial_puts);
      say(a, a.cstr(' ('));
      a.mov(eax, dword(ebx, DISK.f.kind));
      a.call(serial_puts);
      a.test(esi, esi);
      a.if_('nz', () => {
        say(a, a.cstr('): read failed, error '));
        a.mov(eax, esi);
        a.neg(eax);
        a.call(serial_put_dec);
        a.call(serial_newline);
        a.pop(eax);
        a.mov(eax, -1);
        a.xor(edx, edx);
        r.ret();
      });
      say(a, a.cstr('): '));
      putDec(a, r.arg('mib'));
      say(a, a.cstr(' MiB in '));
      a.mov(eax, dword(esp));
      a.call(put_tenths);
      say(a, a.cstr(' ms'));
      a.cmp(dword(esp), 0);
      a.if_('z', () => {
        say(a, a.cstr(' (too short to time: read more)'));
      }, () => {
        say(a, a.cstr(', '));
        a.mov(eax, r.arg('mib'));
        a.imul(eax, eax, 100000, 'MiB / (t / 10000 s), in tenths: MiB x 100000 / t');
        a.xor(edx, edx);
        a.div(dword(esp), 't, the tenths of a millisecond (serial_puts destroyed ECX)');
        a.call(put_tenths);
        say(a, a.cstr(' MiB/s'));
      });
      say(a, a.cstr(', '));
      a.mov(eax, dword(ebx, DISK.f.pio));
      a.sub(eax, edi);
      a.mov(edi, eax, 'EDI = port I/O for this run');
      a.call(serial_put_dec);
      say(a, a.cstr(' port I/O ('));
      a.mov(eax, edi);
      a.xor(edx, edx);
      a.div(r.arg('mib'));
      a.call(serial_put_dec);
      say(a, a.cstr(' per MiB)\r\n'));
      a.pop(eax);
      a.mov(edx, edi);
      r.ret();
    });

    commandRoutine(a, BENCH, { saves: [ebx, esi, edi] }, (r) => {
      const usage = () => {
        say(a, a.cstr('[shell] usage: bench disk <MiB> [<disk> <disk>]\r\n'));
        r.ret();
      };
      a.call(arg_split);
      a.mov(esi, edx, 'ESI = the rest');
      a.mov(edx, a.cstr('disk'));
      a.call(strcmp);
      a.test(eax, eax);
      a.if_('nz', usage, undefined, 'the only benchmark so far');
      a.mov(eax, esi);
      a.call(arg_split);
      a.mov(esi, edx);
      a.mov(edx, BENCH_MAX_MIB);
      a.mov(ecx, a.cstr("[shell] bench disk: expected MiB from 1 to 4096, got '"));
      a.call(arg_uint);
      a.test(edx, edx);
      r.retIf('nz', 'arg_uint said why');
      a.test(eax, eax);
      a.if_('z', () => { say(a, a.cstr('[shell] bench disk: read at least 1 MiB\r\n')); r.ret(); });
      a.mov(edi, eax, 'EDI = MiB');
      a.cmp(byte(esi), 0);
      a.if_('e', () => {
        a.mov(eax, a.cstr('ide'));
        a.call(bench_first);
        a.mov(ebx, eax, 'EBX = the first IDE disk');
        a.mov(eax, a.cstr('virtio-blk'));
        a.call(bench_first);
        a.mov(esi, eax, 'ESI = the first virtio-blk disk');
        a.test(ebx, ebx);
        a.if_('z', () => { say(a, a.cstr('[shell] bench disk: no IDE disk to compare (name two disks to compare others)\r\n')); r.ret(); });
        a.test(esi, esi);
        a.if_('z', () => { say(a, a.cstr('[shell] bench disk: no virtio-blk disk to compare (name two disks to compare others)\r\n')); r.ret(); });
      }, () => {
        const noDisk = () => {
          say(a, a.cstr("[shell] bench disk: no disk '"));
          a.pop(eax, 'the name');
          a.call(serial_puts);
          say(a, a.cstr("' (blk lists them)\r\n"));
        };
        a.mov(eax, esi);
        a.call(arg_split);
        a.mov(esi, edx, 'ESI = after the first name');
        a.push(eax, 'the first name, for the message');
        a.call(disk_find);
        a.mov(ebx, eax, 'EBX = the first disk named');
        a.test(ebx, ebx);
        a.if_('z', () => { noDisk(); r.ret(); });
        a.pop(eax);
        a.mov(eax, esi);
        a.call(arg_split);
        a.cmp(byte(eax), 0);
        a.if_('e', usage, undefined, 'one name: a comparison needs two');
        a.cmp(byte(edx), 0);
        a.if_('ne', usage, undefined, 'more than two names');
        a.push(eax, 'the second name');
        a.call(disk_find);
        a.mov(esi, eax, 'ESI = the second disk named');
        a.test(esi, esi);
        a.if_('z', () => { noDisk(); r.ret(); });
        a.pop(eax);
      });
      a.invoke(bench_disk, [ebx, edi]);
      a.cmp(eax, -1);
      r.retIf('e', 'the first disk failed: nothing to compare');
      a.push(edx, 'the first disk\'s port I/O');
      a.push(eax, 'the first disk\'s time');
      a.invoke(bench_disk, [esi, edi]);
      a.cmp(eax, -1);
      a.if_('e', () => { a.add(esp, 8); r.ret('the second disk failed'); });
      a.push(edx, 'the second disk\'s port I/O');
      a.push(eax, 'the second disk\'s time');
      a.comment('[esp] = the second disk\'s time, [esp+4] = its port I/O, [esp+8] and [esp+12] = the first disk\'s');
      say(a, a.cstr('[bench] '));
      a.lea(eax, dword(esi, DISK.f.name));
      a.call(serial_puts);
      say(a, a.cstr(' against '));
      a.lea(eax, dword(ebx, DISK.f.name));
      a.call(serial_puts);
      say(a, a.cstr(': '));
      a.mov(ecx, dword(esp));
      a.test(ecx, ecx);
      a.if_('z', () => {
        say(a, a.cstr('too fast to time'));
      }, () => {
        a.mov(eax, dword(esp, 8));
        a.imul(eax, eax, 10, 'in tenths');
        a.xor(edx, edx);
        a.div(ecx);
        a.call(put_tenths);
        say(a, a.cstr('x the speed'));
      });
      say(a, a.cstr(', '));
      a.mov(ecx, dword(esp, 4));
      a.test(ecx, ecx);
      a.if_('z', () => {
        say(a, a.cstr('no port I/O at all'));
      }, () => {
        a.mov(eax, dword(esp, 12));
        a.cmp(eax, ecx);
        a.if_('ae', () => {
          a.call(put_ratio);
          say(a, a.cstr('x fewer port I/O (exits to the hypervisor)'));
        }, () => {
          a.xchg(eax, ecx, 'the second disk needed more: say how many times more');
          a.test(ecx, ecx);
          a.if_('z', () => { say(a, a.cstr('port I/O where the first needed none')); }, () => {
            a.call(put_ratio);
            say(a, a.cstr('x more port I/O (exits to the hypervisor)'));
          });
        });
      });
      a.call(serial_newline);
      a.add(esp, 16);
      r.ret();
    });
  },
});
