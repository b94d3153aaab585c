#!/usr/bin/env bash
# Builds dvmm's reference Linux initramfs: an uncompressed newc cpio
# archive holding Debian's static busybox (package busybox-static,
# installed by tools/install-deps.sh) and an /init script that
#   - mounts proc, sysfs and devtmpfs and puts its output on /dev/console,
#   - prints "dvmm-init: nproc=N" (the CPUs Linux brought up),
#   - runs one worker per CPU, each pinned to its CPU with taskset, each
#     computing the same checksum of a deterministic integer sequence in
#     user space (busybox awk, so the work runs in ring 3),
#   - compares the N results with each other and with the value this script
#     computed on the host with the same busybox, and prints
#     "dvmm-init: workload ok" or "dvmm-init: workload FAILED: <why>",
#   - powers the machine off with `poweroff -f` (ACPI S5: dvmm exits 0).
#
# Usage: tools/make-initramfs.sh [--iterations N] [--busybox PATH] OUTPUT
#   OUTPUT        the archive to write (e.g. build/linux/initramfs.cpio)
#   --iterations  length of each worker's sequence (default 1000000, about
#                 0.4 s of one host CPU)
#   --busybox     a statically linked busybox (default /bin/busybox)
#
# Uncompressed because the guest then unpacks it with plain copies: where
# KVM emulates guest ring 0 (../shared/FACTS.md) inflating 2 MB of gzip
# costs about a minute of boot.
#
# Needs no root and no network: the archive is written by busybox's own
# cpio applet with every file owned by root (-R 0:0), timestamps fixed so
# that the same inputs give the same bytes. /dev/console is not in the
# archive (a non-root build cannot make device nodes): the kernel's built-in
# initramfs provides it, and /init reopens it from devtmpfs anyway.
set -euo pipefail

prog=$(basename "$0")
usage() {
  echo "usage: $prog [--iterations N] [--busybox PATH] OUTPUT" >&2
  echo "  builds the reference initramfs (newc cpio) at OUTPUT" >&2
}
die() {
  echo "$prog: $*" >&2
  exit 1
}

iterations=1000000
busybox=/bin/busybox
output=""
while (($# > 0)); do
  case "$1" in
    --iterations)
      (($# >= 2)) || { usage; die "--iterations needs a value"; }
      iterations=$2
      shift 2
      ;;
    --busybox)
      (($# >= 2)) || { usage; die "--busybox needs a path"; }
      busybox=$2
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*)
      usage
      die "unknown option '$1'"
      ;;
    *)
      [[ -z "$output" ]] || { usage; die "more than one OUTPUT given ('$output' and '$1')"; }
      output=$1
      shift
      ;;
  esac
done
[[ -n "$output" ]] || { usage; die "no OUTPUT given"; }
[[ "$iterations" =~ ^[1-9][0-9]{0,8}$ ]] ||
  die "--iterations '$iterations' is not a whole number from 1 to 999999999"

if [[ ! -x "$busybox" ]]; then
  die "busybox not found at '$busybox': install Debian's busybox-static (sudo tools/install-deps.sh, or apt-get install busybox-static), or pass --busybox PATH"
fi
# A dynamically linked busybox would need its libraries in the archive.
if command -v readelf >/dev/null && readelf -l "$busybox" 2>/dev/null | grep -q 'program interpreter'; then
  die "'$busybox' is dynamically linked: use the static one from Debian's busybox-static (/bin/busybox)"
fi
applets=$("$busybox" --list) || die "'$busybox' --list failed: is it busybox?"
for applet in sh cpio awk taskset nproc mount poweroff cut; do
  grep -qx "$applet" <<<"$applets" || die "'$busybox' has no '$applet' applet: use Debian's busybox-static"
done

out_dir=$(dirname -- "$output")
[[ -d "$out_dir" ]] || die "the directory of OUTPUT, '$out_dir', does not exist: create it first"
[[ -w "$out_dir" ]] || die "cannot write to '$out_dir'"

# The workers' program, shared by the host (expected value) and the guest.
# Integer arithmetic in awk's doubles stays exact: s < 1e9+7, s*31+i < 2^53.
workload_awk='BEGIN { s = 0; for (i = 1; i <= n; i++) s = (s * 31 + i) % 1000000007; printf "%d\n", s }'
expected=$("$busybox" awk -v n="$iterations" "$workload_awk")
[[ "$expected" =~ ^[0-9]+$ ]] || die "computing the expected result on the host failed (got '$expected')"

staging=$(mktemp -d "${TMPDIR:-/tmp}/dvmm-initramfs.XXXXXX")
trap 'rm -rf -- "$staging"' EXIT
mkdir -p "$staging"/{bin,sbin,dev,proc,sys,tmp,root,etc}
cp -- "$busybox" "$staging/bin/busybox"
chmod 0755 "$staging/bin/busybox"
# Every applet as a symlink in /bin, so that /init and a shell find them.
for applet in $applets; do
  [[ "$applet" == busybox || "$applet" == */* ]] && continue
  ln -s busybox "$staging/bin/$applet"
done

cat >"$staging/init" <<EOF
#!/bin/busybox sh
# dvmm reference initramfs /init (written by tools/make-initramfs.sh).
export PATH=/bin:/sbin
mount -t devtmpfs devtmpfs /dev 2>/dev/null
[ -c /dev/console ] && exec 0</dev/console 1>/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp

say() { echo "dvmm-init: \$*"; }
finish() {
  sync
  say "powering off"
  poweroff -f
  sleep 10
  say "poweroff -f returned: the machine is still running"
  while :; do sleep 3600; done
}

n=\$(nproc)
say "nproc=\$n"
say "workload: \$n worker(s), $iterations iterations each, expecting $expected"

# Pinned when taskset works (it needs CONFIG_SMP and sched_setaffinity).
pin=1
taskset -c 0 true 2>/dev/null || pin=0
[ "\$pin" = 1 ] || say "taskset does not work here: workers are not pinned"
i=0
while [ "\$i" -lt "\$n" ]; do
  if [ "\$pin" = 1 ]; then
    taskset -c "\$i" /bin/dvmm-worker "\$i" $iterations 2>/tmp/err.\$i &
  else
    /bin/dvmm-worker "\$i" $iterations 2>/tmp/err.\$i &
  fi
  i=\$((i + 1))
done
wait

failed=""
i=0
while [ "\$i" -lt "\$n" ]; do
  r=\$(cat /tmp/result.\$i 2>/dev/null)
  c=\$(cat /tmp/cpu.\$i 2>/dev/null)
  say "worker \$i: cpu=\$c result=\$r"
  if [ "\$r" != "$expected" ]; then
    failed="\$failed worker \$i gave '\$r', expected $expected;"
  fi
  if [ -s /tmp/err.\$i ]; then
    failed="\$failed worker \$i: \$(cat /tmp/err.\$i | tr '\n' ' ');"
  elif [ "\$pin" = 1 ] && [ "\$c" != "\$i" ]; then
    failed="\$failed worker \$i ran on CPU '\$c';"
  fi
  i=\$((i + 1))
done
if [ -z "\$failed" ]; then
  say "workload ok"
else
  say "workload FAILED:\$failed"
fi
finish
EOF
chmod 0755 "$staging/init"

# One worker: dvmm-worker INDEX ITERATIONS writes /tmp/result.INDEX and,
# from /proc/self/stat field 39, the CPU it ran on to /tmp/cpu.INDEX.
cat >"$staging/bin/dvmm-worker" <<EOF
#!/bin/busybox sh
awk -v n="\$2" '$workload_awk' >/tmp/result.\$1
cut -d' ' -f39 /proc/self/stat >/tmp/cpu.\$1
EOF
chmod 0755 "$staging/bin/dvmm-worker"

# Fixed timestamps: the same busybox and options give the same archive.
find "$staging" -exec touch -h -d '@1' {} +
tmp_out="$output.tmp.$$"
cpio_err="$staging.cpio-errors"
trap 'rm -rf -- "$staging" "$cpio_err" "$tmp_out"' EXIT
# --ignore-devno --renumber-inodes: no trace of the staging directory's
# filesystem in the headers, so the archive is reproducible.
if ! (cd "$staging" && find . -mindepth 1 | LC_ALL=C sort |
  "$busybox" cpio -o -H newc -R 0:0 --ignore-devno --renumber-inodes 2>"$cpio_err") >"$tmp_out"; then
  die "writing the archive failed: $(grep -v 'blocks$' "$cpio_err" | head -3)"
fi
mv -f -- "$tmp_out" "$output"
echo "$prog: wrote $output ($(wc -c <"$output") bytes; $iterations iterations, expected result $expected)"
