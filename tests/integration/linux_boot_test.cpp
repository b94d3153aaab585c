// The reference guest: Debian's stock Linux kernel (6.1, bzImage unpacked
// on the host and entered through PVH) with the initramfs from
// tools/make-initramfs.sh, whose init prints nproc, runs a checksum worker
// pinned to every CPU, checks the results and powers off through ACPI.
//
// Once on one node, once with its two vCPUs on two nodes over DSM (UDP on
// loopback). Ring-0 guest code is emulated on these hosts, so each boot
// takes minutes: label `slow` (docs/testing.md).
//
// The kernel comes from tools/install-deps.sh (/var/cache/dvmm/linux/vmlinuz)
// or DVMM_LINUX_KERNEL; a missing kernel is a failure naming both.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "tests/support/subprocess.hpp"

namespace dvmm {
namespace {

constexpr auto kBootTimeout = std::chrono::seconds(1500);
// KVM here shows the guest the host's CPUID whatever dvmm sets, and its
// ring-0 emulator lacks the xsave family and SSE beyond a few moves: the
// kernel is told on its command line (docs/linux.md, "Where it stands").
// mitigations=off saves minutes of emulated boot-time code patching.
constexpr const char* kCmdline =
    "console=ttyS0 noxsave mitigations=off panic=-1 "
    "clearcpuid=pclmulqdq,ssse3,sse4_1,sse4_2,aes,rdrand,rdseed,sha_ni,gfni,vaes,vpclmulqdq";

std::string kernel_path() {
  const char* env = std::getenv("DVMM_LINUX_KERNEL");
  return env != nullptr ? env : "/var/cache/dvmm/linux/vmlinuz";
}

// Builds the initramfs once per test process.
const std::string& initramfs() {
  static const std::string path = [] {
    std::string out = ::testing::TempDir() + "/dvmm-initramfs-" + std::to_string(getpid()) + ".cpio.gz";
    auto r = test::run_process({"bash", DVMM_MAKE_INITRAMFS, out}, std::chrono::seconds(120));
    if (r.exit_status != 0) {
      ADD_FAILURE() << "tools/make-initramfs.sh failed (is busybox-static installed? run "
                       "tools/install-deps.sh):\n"
                    << r.out << r.err;
      return std::string();
    }
    return out;
  }();
  return path;
}

#define DVMM_REQUIRE_LINUX()                                                                 \
  do {                                                                                       \
    DVMM_REQUIRE_KVM();                                                                      \
    ASSERT_EQ(access(kernel_path().c_str(), R_OK), 0)                                        \
        << "no reference kernel at " << kernel_path()                                        \
        << ": run tools/install-deps.sh as root (it fetches Debian's linux-image-amd64), "  \
           "or set DVMM_LINUX_KERNEL to a bzImage";                                          \
    ASSERT_FALSE(initramfs().empty());                                                       \
  } while (0)

void expect_init_passed(const test::ProcessResult& r, int cpus) {
  ASSERT_FALSE(r.timed_out) << "the guest did not power off within " << kBootTimeout.count()
                            << " s";
  EXPECT_NE(r.out.find("dvmm-init: nproc=" + std::to_string(cpus)), std::string::npos);
  EXPECT_NE(r.out.find("dvmm-init: workload ok"), std::string::npos);
  EXPECT_EQ(r.out.find("FAILED"), std::string::npos);
  EXPECT_EQ(r.out.find("Kernel panic"), std::string::npos);
  EXPECT_NE(r.err.find("guest powered off (ACPI S5)"), std::string::npos);
  EXPECT_EQ(r.exit_status, 0);
}

TEST(LinuxBoot, TwoVcpusOnOneNode) {
  DVMM_REQUIRE_LINUX();
  auto r = test::run_process({DVMM_BINARY, "run", "--vcpus", "2", "--memory", "512M", "--kernel",
                              kernel_path(), "--initrd", initramfs(), "--cmdline", kCmdline,
                              "--stats"},
                             kBootTimeout);
  SCOPED_TRACE("stdout:\n" + r.out + "\nstderr:\n" + r.err);
  expect_init_passed(r, 2);
}

TEST(LinuxBoot, TwoVcpusOnTwoNodesOverDsm) {
  DVMM_REQUIRE_LINUX();
  const std::string port = std::to_string(20000 + getpid() % 20000);
  const std::string config = ::testing::TempDir() + "/linux-2n-" + std::to_string(getpid()) + ".toml";
  std::ofstream(config) << "[vm]\nvcpus = 2\nmemory = \"512M\"\n"
                        << "kernel = \"" << kernel_path() << "\"\n"
                        << "initrd = \"" << initramfs() << "\"\n"
                        << "cmdline = \"" << kCmdline << "\"\n"
                        << "[cluster]\nid = 11\ntransport = \"udp\"\nmemory = \"dsm\"\n"
                        << "[[node]]\nid = 0\nvcpus = [0]\naddress = \"127.0.0.1:" << port << "\"\n"
                        << "[[node]]\nid = 1\nvcpus = [1]\naddress = \"127.0.0.2:" << port << "\"\n";
  auto r = test::run_process({DVMM_BINARY, "run", config, "--stats"}, kBootTimeout);
  SCOPED_TRACE("stdout:\n" + r.out + "\nstderr:\n" + r.err);
  expect_init_passed(r, 2);
  std::remove(config.c_str());
}

}  // namespace
}  // namespace dvmm
