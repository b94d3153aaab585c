#!/usr/bin/env python3
"""Folds the guest RIP samples dvmm writes (DVMM_RIP_SAMPLES=FILE, see
host/vmm/rip_sampler.hpp) into the functions they fall in, using a
System.map, and prints the busiest ones.

  tools/rip-profile.py SAMPLES SYSTEM_MAP [--top N] [--vcpu N] [--chunks N]

--chunks N prints the top functions of every N consecutive samples
instead, which shows the phases of a boot in order. Debian ships the
System.map of its kernels in linux-image-<version>-dbg
(/usr/lib/debug/boot/System.map-<version>); the kernel must not be
relocated (a PVH boot is not: no KASLR).
"""
import argparse
import bisect
import collections
import sys


def load_map(path):
    symbols = []
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 3 and fields[1] in "tTwW":
                symbols.append((int(fields[0], 16), fields[2]))
    if not symbols:
        sys.exit(f"rip-profile: no text symbols in '{path}': is it a System.map?")
    symbols.sort()
    return [a for a, _ in symbols], [n for _, n in symbols]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("samples")
    p.add_argument("system_map")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--vcpu", type=int, default=None, help="only this vCPU's samples")
    p.add_argument("--chunks", type=int, default=0, help="top 5 of every N samples, in order")
    args = p.parse_args()
    addrs, names = load_map(args.system_map)

    def name(rip):
        i = bisect.bisect_right(addrs, rip) - 1
        if rip < 0xFFFF800000000000:
            return "(user space)"
        return names[i] if i >= 0 else hex(rip)

    counts = collections.Counter()
    total = bad = 0
    with open(args.samples) as f:
        for line in f:
            fields = line.split()
            try:
                vcpu, rip = int(fields[0]), int(fields[1], 16)
            except (IndexError, ValueError):
                bad += 1
                continue
            if args.vcpu is not None and vcpu != args.vcpu:
                continue
            counts[name(rip)] += 1
            total += 1
            if args.chunks and total % args.chunks == 0:
                top = ", ".join(f"{n} {100 * c // args.chunks}%" for n, c in counts.most_common(5))
                print(f"{total - args.chunks:8d}: {top}")
                counts.clear()
    if bad:
        print(f"rip-profile: skipped {bad} malformed line(s)", file=sys.stderr)
    if args.chunks:
        return
    print(f"{total} samples (4 ms apart per vCPU)")
    for n, c in counts.most_common(args.top):
        print(f"{c:8d} {100.0 * c / max(total, 1):5.1f}%  {n}")


if __name__ == "__main__":
    main()
