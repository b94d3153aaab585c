#!/usr/bin/env bash
# Prints the yosys resource estimate (LUT, FF, BRAM, ...) of the dvmm
# offload engine, or of another top with a script synth/<top>.ys (the card
# kernel: dvmm_card_top): runs the script and sums the cell counts of its
# `stat`. Takes a few minutes; not part of the test suite (CMake targets
# fpga-synth-estimate, fpga-synth-estimate-card).
# Usage: synth-estimate.sh [yosys binary] [top, default dvmm_engine]
set -euo pipefail
yosys_bin=${1:-yosys}
top=${2:-dvmm_engine}
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "$yosys_bin" -q -l "$log" -s "synth/$top.ys" >/dev/null; then
  tail -20 "$log" >&2
  echo "synth-estimate: yosys failed" >&2
  exit 1
fi
# The design is flattened, so the log's last `stat` section is the whole
# engine; its cell lines look like "     LUT6                          123".
stat=$(mktemp)
trap 'rm -f "$log" "$stat"' EXIT
awk -v top="$top" '$0 == "=== " top " ===" { n = 0; delete lines } { lines[n++] = $0 }
     END { for (i = 0; i < n; i++) print lines[i] }' "$log" >"$stat"
awk -v top="$top" '
  $1 ~ /^LUT[1-6]$/ { lut += $2 }
  $1 ~ /^(FDRE|FDSE|FDCE|FDPE)$/ { ff += $2 }
  $1 ~ /^RAMB36E2$/ { b36 += $2 }
  $1 ~ /^RAMB18E2$/ { b18 += $2 }
  $1 ~ /^(RAM32M|RAM32M16|RAM64M|RAM64M8|RAM32X1D|RAM64X1D|RAM128X1D|RAM256X1D|RAM16X1D|RAM32X1S|RAM64X1S|RAM128X1S|RAM256X1S|RAM512X1S)$/ { lutram += $2 }
  $1 ~ /^SRL(16E|C32E)$/ { srl += $2 }
  $1 ~ /^CARRY[48]$/ { carry += $2 }
  $1 ~ /^DSP48E2$/ { dsp += $2 }
  END {
    printf "%s (yosys synth_xilinx -family xcup; NODES=16 APICS=64 WINDOW=16 MAX_MSG_BYTES=256 RXQ_BEATS=512)\n", top
    printf "  LUT (as logic)  %d\n", lut
    printf "  LUTRAM cells    %d\n", lutram
    printf "  SRL             %d\n", srl
    printf "  FF              %d\n", ff
    printf "  BRAM            %d RAMB36E2 + %d RAMB18E2 (= %.1f BRAM36)\n", b36, b18, b36 + b18 / 2
    printf "  CARRY8          %d\n", carry
    printf "  DSP48E2         %d\n", dsp
    printf "FPGA_SYNTH_JSON {\"lut\": %d, \"lutram\": %d, \"srl\": %d, \"ff\": %d, \"bram36\": %.1f, \"carry8\": %d, \"dsp\": %d}\n", lut, lutram, srl, ff, b36 + b18 / 2, carry, dsp
  }' "$stat"
