// Hand-made boot images for tests that need a guest to fail in a way the
// kernel never would on its own (test/boot/cli.test.ts, test/boot/ci.test.ts).

/**
 * A 512-byte boot sector that prints "[triple] resetting" on COM1, then
 * triple-faults: it loads an IDT of limit 0 and executes int3; the vector is
 * past the limit (#GP), so is #GP's, and so is the double fault's (#DF),
 * and the CPU shuts down, which QEMU turns into a reset.
 */
export function tripleFaultBootSector(): Buffer {
  const b = Buffer.alloc(512);
  Buffer.from([
    0x31, 0xc0, //             xor ax, ax
    0x8e, 0xd8, //             mov ds, ax
    0xfc, //                   cld
    0xbe, 0x50, 0x7c, //       mov si, 0x7C50        ; the message
    0xba, 0xf8, 0x03, //       mov dx, 0x3F8         ; COM1 data register
    0xac, //             next: lodsb
    0x84, 0xc0, //             test al, al
    0x74, 0x03, //             jz done
    0xee, //                   out dx, al
    0xeb, 0xf8, //             jmp next
    0xfa, //             done: cli
    0x0f, 0x01, 0x1e, 0x40, 0x7c, // lidt [0x7C40]   ; limit 0, base 0
    0xcc, //                   int3                  ; -> #GP -> #DF -> triple fault
    0xeb, 0xfe, //             jmp $
  ]).copy(b, 0);
  // 0x40: the IDT pseudo-descriptor, six zero bytes (already zero).
  b.write('[triple] resetting\n\0', 0x50, 'latin1');
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}
