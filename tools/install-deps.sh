#!/usr/bin/env bash
# Installs every Debian package that building and testing dvmm needs, and
# fetches the reference Linux kernel the Linux guest tests boot (without
# installing it as this host's kernel).
# Idempotent: packages already present are left alone and a kernel already
# in the cache is kept, so a second run does no network access at all. Run
# as root (or through sudo).
#
# The kernel: Debian's linux-image-<version>-amd64, the version the
# linux-image-amd64 metapackage depends on, downloaded with `apt-get
# download` into $DVMM_LINUX_CACHE (default /var/cache/dvmm/linux), its
# /boot unpacked with dpkg-deb into <cache>/<version>/, and
# <cache>/vmlinuz a symlink to <cache>/<version>/boot/vmlinuz-<version>.
# Tests take that path unless DVMM_LINUX_KERNEL names another kernel. A
# failed download is reported and the script goes on (the Linux tests then
# fail, naming the missing file).
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
  # Linux bzImages: dvmm unpacks their xz payload on the host
  liblzma-dev
  # the Linux guest's initramfs (tools/make-initramfs.sh): a static busybox,
  # whose own cpio applet writes the archive
  busybox-static
)

install_packages() {
  local missing=() p
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done

  if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages present"
    return 0
  fi

  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run this script as root (sudo $0) to install them" >&2
    exit 1
  fi

  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt_updated=1
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The reference kernel. Prints why on failure and returns 1; the caller goes on.
linux_cache=${DVMM_LINUX_CACHE:-/var/cache/dvmm/linux}
apt_updated=0

kernel_help() {
  echo "install-deps: the Linux guest tests look for the kernel at $linux_cache/vmlinuz" >&2
  echo "install-deps: (or wherever DVMM_LINUX_KERNEL points); to get it, re-run this script as" >&2
  echo "install-deps: root with network access to Debian's archive, or set DVMM_LINUX_KERNEL to a" >&2
  echo "install-deps: Linux 6.1 bzImage (e.g. a /boot/vmlinuz-* from Debian's linux-image-*-amd64)" >&2
}

# The linux-image-<version>-amd64 package the metapackage depends on now.
kernel_package() {
  apt-cache depends --no-recommends --no-suggests linux-image-amd64 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }'
}

fetch_kernel() {
  if [[ -L "$linux_cache/vmlinuz" && -r "$linux_cache/vmlinuz" ]]; then
    echo "install-deps: reference kernel present: $linux_cache/vmlinuz -> $(readlink "$linux_cache/vmlinuz")"
    return 0
  fi
  if ! mkdir -p "$linux_cache" 2>/dev/null || [[ ! -w "$linux_cache" ]]; then
    echo "install-deps: cannot create or write $linux_cache (run as root, or set DVMM_LINUX_CACHE)" >&2
    return 1
  fi
  local pkg
  pkg=$(kernel_package)
  if [[ -z "$pkg" && $apt_updated -eq 0 && $(id -u) -eq 0 ]]; then
    # No package lists yet (a fresh machine): read them once.
    apt-get update -qq || true
    apt_updated=1
    pkg=$(kernel_package)
  fi
  if [[ -z "$pkg" ]]; then
    echo "install-deps: cannot tell which kernel linux-image-amd64 depends on (apt-cache depends linux-image-amd64 names no linux-image-*-amd64; run apt-get update?)" >&2
    return 1
  fi
  local version=${pkg#linux-image-}
  local work
  work=$(mktemp -d "$linux_cache/.download.XXXXXX")
  echo "install-deps: downloading $pkg (not installed as this host's kernel) into $linux_cache"
  # apt-get download writes into the current directory; as root it warns
  # that the _apt user cannot write there, which does not matter here.
  if ! (cd "$work" && apt-get download -qq "$pkg" 2> >(grep -v 'unsandboxed as root' >&2)); then
    rm -rf -- "$work"
    echo "install-deps: apt-get download $pkg failed" >&2
    return 1
  fi
  local deb
  deb=$(find "$work" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
  if [[ -z "$deb" ]]; then
    rm -rf -- "$work"
    echo "install-deps: apt-get download $pkg left no ${pkg}_*.deb" >&2
    return 1
  fi
  # Only /boot (vmlinuz, System.map, config): the modules are not needed.
  mkdir -p "$work/root"
  if ! dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/root" ./boot; then
    rm -rf -- "$work"
    echo "install-deps: unpacking /boot from $deb failed" >&2
    return 1
  fi
  if [[ ! -f "$work/root/boot/vmlinuz-$version" ]]; then
    rm -rf -- "$work"
    echo "install-deps: $deb has no boot/vmlinuz-$version" >&2
    return 1
  fi
  rm -rf -- "${linux_cache:?}/$version"
  mv -- "$work/root" "$linux_cache/$version"
  rm -rf -- "$work"
  ln -sfn -- "$version/boot/vmlinuz-$version" "$linux_cache/vmlinuz"
  echo "install-deps: reference kernel: $linux_cache/vmlinuz -> $version/boot/vmlinuz-$version"
}

install_packages
if ! fetch_kernel; then
  kernel_help
fi
