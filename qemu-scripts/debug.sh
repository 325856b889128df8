#!/usr/bin/env bash
# Boot a built image halted, with a GDB stub on :1234: qemu-scripts/debug.sh [run.sh options]
set -euo pipefail
echo "attach with: gdb -ex 'target remote :1234' -ex 'set architecture i8086' -ex 'break *0x7c00' -ex continue  (symbols: build/tsk.map)" >&2
exec "$(dirname "$0")/run.sh" --gdb "$@"
