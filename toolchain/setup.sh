#!/usr/bin/env bash
# npm run setup: install the system tools tskernel needs (QEMU and NASM, from
# Debian/Ubuntu packages) when they are missing, then the npm dependencies.
# qemu-system-x86 boots the image; qemu-user's qemu-i386 runs single kernel
# routines for the routine tests (test/harness/routine.ts); qemu-utils's
# qemu-img makes the qcow2 test disks (toolchain/disk/pattern.ts).
set -euo pipefail
missing=()
command -v qemu-system-i386 >/dev/null || missing+=(qemu-system-x86)
command -v qemu-i386 >/dev/null || missing+=(qemu-user)
command -v nasm >/dev/null || missing+=(nasm)
command -v qemu-img >/dev/null || missing+=(qemu-utils)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "setup: please install ${missing[*]} as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2; exit 1; fi
  echo "setup: installing ${missing[*]} with apt-get"
  $SUDO apt-get update
  # headless: no GTK/VTE/SDL front ends that qemu-system-x86 only recommends
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
npm ci
