#!/usr/bin/env bash
# Regenerates the seed corpora fuzz/corpus/<target>/ from the seeds each
# target declares in its source (its seeds() function, written out by the
# target's --write-seeds=DIR mode). Run after changing a target's input
# format, then commit the files. Usage: fuzz/write-seeds.sh [build dir]
# (default build/fuzz, as made by `cmake --preset fuzz`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/fuzz}/bin
targets=(message_fuzz reliable_link_fuzz dpdk_frame_fuzz devices_fuzz lapic_fuzz multiboot_fuzz linux_loader_fuzz emulation_fuzz
         cluster_config_fuzz)
for t in "${targets[@]}"; do
  if [[ ! -x $bin/$t ]]; then
    echo "write-seeds: $bin/$t missing: cmake --build --preset fuzz -j1 first" >&2
    exit 1
  fi
  dir=$root/fuzz/corpus/$t
  rm -rf "$dir"
  "$bin/$t" --write-seeds="$dir"
done
du -sh --apparent-size "$root/fuzz/corpus"
