#!/bin/sh
# Runs the smp-test guest under QEMU (TCG) and maps QEMU's isa-debug-exit
# status back to the guest's value: exits 0 when every sub-test passed.
# Usage: run-qemu.sh <smp-test.elf> [ncpus]
set -eu
elf=$1
cpus=${2:-4}
status=0
timeout 300 qemu-system-x86_64 -accel tcg -smp "$cpus" -m 128 -display none \
    -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$elf" -no-reboot || status=$?
# QEMU exits with (v << 1) | 1 for a guest write of v to port 0xF4.
[ "$status" -eq 1 ] && exit 0
echo "run-qemu.sh: QEMU exit status $status" >&2
exit 1
