// Bad arguments to `dvmm run` give one line on stderr naming the problem,
// and exit status 2. None of these needs KVM: the configuration is checked
// before /dev/kvm is opened.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/support/subprocess.hpp"
#include "tests/support/temp_file.hpp"

namespace dvmm {
namespace {

struct BadRun {
  std::vector<std::string> args;
  std::string expect;  // a piece of the error line
};

void expect_usage_error(const BadRun& bad) {
  std::vector<std::string> argv{DVMM_BINARY, "run"};
  argv.insert(argv.end(), bad.args.begin(), bad.args.end());
  auto r = test::run_process(argv, std::chrono::seconds(30));
  SCOPED_TRACE("stderr: " + r.err);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_status, 2);
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "expected exactly one line";
  EXPECT_EQ(r.err.rfind("dvmm: ", 0), 0u);
  EXPECT_NE(r.err.find(bad.expect), std::string::npos) << "expected '" << bad.expect << "'";
}

TEST(CliErrors, VcpuCountOutOfRange) {
  expect_usage_error({{"--vcpus", "0"}, "--vcpus 0 is out of range"});
  expect_usage_error({{"--vcpus", "256"}, "--vcpus 256 is out of range"});
}

TEST(CliErrors, MemoryOutOfRangeOrMalformed) {
  expect_usage_error({{"--memory", "1M"}, "out of range"});
  expect_usage_error({{"--memory", "64G"}, "out of range"});
  expect_usage_error({{"--memory", "lots"}, "is not a size"});
}

TEST(CliErrors, MissingKernel) {
  expect_usage_error({{"--kernel", "/nonexistent/kernel.elf"}, "/nonexistent/kernel.elf"});
}

TEST(CliErrors, NotAMultibootKernel) {
  const test::TempFile kernel(::testing::TempDir() + "/not-multiboot-" + std::to_string(getpid()) + ".bin");
  {
    std::ofstream f(kernel.path(), std::ios::binary);
    std::string junk(16384, 'x');
    f << junk;
  }
  expect_usage_error({{"--kernel", kernel.path()}, "multiboot"});
}

TEST(CliErrors, UnknownOption) {
  expect_usage_error({{"--frobnicate"}, "frobnicate"});
}

TEST(CliErrors, StatsJsonIsForClusterNodes) {
  expect_usage_error({{"--stats-json", "/tmp/x.json"}, "--stats-json is written by cluster nodes"});
}

TEST(CliErrors, IrqchipIsUserOrKernelAndNotForClusters) {
  expect_usage_error({{"--irqchip", "split"}, "--irqchip"});
  expect_usage_error({{std::string(DVMM_CONFIGS_DIR) + "/two-nodes-shm.toml", "--irqchip", "kernel"},
                      "--irqchip cannot be combined with a cluster configuration"});
}

TEST(CliErrors, LinuxEntryIsPvhOrBootParamsForBzImagesOnly) {
  expect_usage_error({{"--linux-entry", "bios"},
                      "--linux-entry: unknown Linux entry \"bios\": use \"pvh\""});
  // The bundled smp-test guest is a multiboot kernel: checked before /dev/kvm.
  expect_usage_error({{"--kernel", DVMM_SMP_TEST_GUEST, "--linux-entry", "boot-params"},
                      "needs a Linux bzImage, and this is a multiboot kernel"});
  expect_usage_error({{std::string(DVMM_CONFIGS_DIR) + "/two-nodes-shm.toml", "--linux-entry",
                       "boot-params"},
                      "--linux-entry cannot be combined with a cluster configuration"});
}

TEST(CliErrors, UnusableKvmDevice) {
  // /dev/null over /dev/kvm in a private mount namespace: the open works but
  // it is not KVM. Needs root and unshare(1); skipped visibly otherwise.
  if (geteuid() != 0 || access("/usr/bin/unshare", X_OK) != 0) {
    GTEST_SKIP() << "needs root and /usr/bin/unshare to fake an unusable /dev/kvm";
  }
  auto r = test::run_process(
      {"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
       std::string("mount --bind /dev/null /dev/kvm && exec ") + DVMM_BINARY +
           " run --kernel " + DVMM_SMP_TEST_GUEST},
      std::chrono::seconds(30));
  SCOPED_TRACE("stderr: " + r.err);
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("/dev/kvm"), std::string::npos);
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "expected exactly one line";
}

}  // namespace
}  // namespace dvmm
