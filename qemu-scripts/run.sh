#!/usr/bin/env bash
# Boot a built tskernel image without npm: qemu-scripts/run.sh [-c CMDLINE] [-m MiB] [--cpu MODEL] [--machine pc|q35] [--print]
# The arguments match toolchain/qemu.ts (a unit test keeps them in step).
set -euo pipefail
image="$(dirname "$0")/../build/tsk.img"; cmdline=""; mem=32; cpu=""; machine=pc; print=0; extra=()
usage() { sed -n '2,3p' "$0" | sed 's/^# //'; echo "  -c TEXT   boot cmdline, e.g. test=boot"; echo "  -m MiB    guest memory (default 32)"; echo "  --cpu M   QEMU CPU model (e.g. 486)"; echo "  --machine pc|q35  QEMU machine (default pc)"; echo "  --print   print the command instead of running it"; echo "At the console Ctrl-C goes to tskernel (it stops user programs); Ctrl-A x quits QEMU."; }
# Every option that takes a value: fail clearly when the value is missing.
# A value that looks like an option ("-c --print") is the user forgetting the value, not a value.
need() {
  if [ $# -lt 2 ]; then echo "run.sh: option '$1' needs a value (see --help)" >&2; exit 2; fi
  case "$2" in -*) echo "run.sh: option '$1' needs a value, got the option '$2' (see --help)" >&2; exit 2 ;; esac
}
while [ $# -gt 0 ]; do
  case "$1" in
    -c) need "$@"; cmdline="$2"; shift 2 ;;
    -m) need "$@"; mem="$2"; shift 2 ;;
    --cpu) need "$@"; cpu="$2"; shift 2 ;;
    --machine) need "$@"; machine="$2"; shift 2 ;;
    --print) print=1; shift ;;
    --gdb) extra+=(-s -S); shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
# The same limits as tsk run (toolchain/qemu.ts): whole MiB from 1 to 3072; q35's BIOS needs 2.
case "$mem" in ''|*[!0-9]*) echo "run.sh: memory '$mem' is not a whole number of MiB from 1 to 3072" >&2; exit 2 ;; esac
if [ "$mem" -lt 1 ] || [ "$mem" -gt 3072 ]; then echo "run.sh: memory '$mem' is not a whole number of MiB from 1 to 3072" >&2; exit 2; fi
[ "$machine" = q35 ] && [ "$mem" -lt 2 ] && { echo "run.sh: the q35 machine needs at least 2 MiB: with 1 MiB its BIOS cannot read the boot disk" >&2; exit 2; }
case "$machine" in pc|q35) ;; *) echo "run.sh: machine '$machine' is not one tskernel boots on (choose pc or q35)" >&2; exit 2 ;; esac
# COM1 is the terminal through a mux with signals off: Ctrl-C reaches tskernel, Ctrl-A x quits QEMU.
args=(-nodefaults -no-reboot -display none -machine "$machine" -m "$mem" -drive "file=${image//,/,,},format=raw,if=ide,index=0,snapshot=on" -chardev stdio,id=com1,mux=on,signal=off -serial chardev:com1 -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04)
[ -n "$cpu" ] && args+=(-cpu "$cpu")
[ -n "$cmdline" ] && args+=(-fw_cfg "name=opt/tsk/cmdline,string=${cmdline//,/,,}")
args+=("${extra[@]}")
if [ "$print" = 1 ]; then printf '%s\n' qemu-system-i386 "${args[@]}"; exit 0; fi
[ -f "$image" ] || { echo "run.sh: no image at $image: build it with 'npm run build'" >&2; exit 1; }
command -v qemu-system-i386 >/dev/null || { echo "run.sh: qemu-system-i386 not found: sudo apt-get install qemu-system-x86" >&2; exit 127; }
exec qemu-system-i386 "${args[@]}"
