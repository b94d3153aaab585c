#!/usr/bin/env bash
# Installs every Debian package that building and testing dvmm needs.
# Idempotent: packages already present are left alone, so a second run
# does no network access at all. Run as root (or through sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  # peer authentication: keyed BLAKE2b tags on every frame
  libsodium-dev
  # the fuzz preset: clang with libFuzzer and the sanitizer runtimes
  clang libclang-rt-14-dev
  # the FPGA engine's testbenches (fpga/sim); `yosys` for the optional
  # resource estimate is not installed here (apt-get install yosys)
  verilator
  # the fpga transport's XRT device (compiled when found; with no card it
  # says so, and a test shows it)
  libxrt-dev
  binutils
  # DPDK backend (dataplane/dpdk): headers, PMDs (net_af_packet, net_memif)
  # and pkg-config file; iproute2 for the tests' veth pairs and namespaces.
  libdpdk-dev iproute2
  # dvmm-bench: --plot renders CDFs and histograms with gnuplot (PNG, no X).
  gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run this script as root (sudo $0) to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
