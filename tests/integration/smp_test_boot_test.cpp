// Boots the bundled smp-test guest on real KVM with 1, 2 and 4 vCPUs and
// requires every sub-test's PASS line, no FAIL line and exit status 0.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "tests/support/smp_test_output.hpp"
#include "tests/support/subprocess.hpp"

namespace dvmm {
namespace {

class SmpTestBoot : public ::testing::TestWithParam<int> {};

TEST_P(SmpTestBoot, EverySubTestPasses) {
  DVMM_REQUIRE_KVM();
  const int vcpus = GetParam();
  auto r = test::run_process({DVMM_BINARY, "run", "--vcpus", std::to_string(vcpus), "--memory",
                              "128M", "--kernel", DVMM_SMP_TEST_GUEST},
                             std::chrono::seconds(240));
  SCOPED_TRACE("stdout:\n" + r.out + "\nstderr:\n" + r.err);
  ASSERT_FALSE(r.timed_out) << "dvmm did not finish within 240 s";
  test::expect_smp_test_passed(r.out, vcpus);
  EXPECT_EQ(r.exit_status, 0);
}

INSTANTIATE_TEST_SUITE_P(Vcpus, SmpTestBoot, ::testing::Values(1, 2, 4),
                         [](const auto& param_info) { return std::to_string(param_info.param) + "vcpu"; });

// The IPI benchmark's guest loop ("bench-ipi"): AP start-up, then 200
// round trips to each AP, every sample printed, under dvmm's userspace
// LAPICs and under KVM's in-kernel irqchip (the benchmark's baseline).
class IpiBenchGuest : public ::testing::TestWithParam<std::string> {};

TEST_P(IpiBenchGuest, PrintsEveryRoundTripAndPasses) {
  DVMM_REQUIRE_KVM();
  auto r = test::run_process({DVMM_BINARY, "run", "--vcpus", "3", "--memory", "64M", "--kernel",
                              DVMM_SMP_TEST_GUEST, "--cmdline", "bench-ipi", "--irqchip",
                              GetParam()},
                             std::chrono::seconds(240));
  SCOPED_TRACE("stdout:\n" + r.out + "\nstderr:\n" + r.err);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_NE(r.out.find("PASS ap-start"), std::string::npos);
  EXPECT_NE(r.out.find("PASS ipi-pingpong"), std::string::npos);
  EXPECT_EQ(r.out.find("FAIL"), std::string::npos);
  EXPECT_EQ(r.out.find("PASS fixed-ipi"), std::string::npos) << "bench-ipi runs only the loop";
  for (int cpu : {1, 2}) {
    size_t samples = 0;
    const std::string tag = "ipi-rtt cpu" + std::to_string(cpu) + ":";
    for (size_t at = r.out.find(tag); at != std::string::npos; at = r.out.find(tag, at + 1)) {
      const std::string line = r.out.substr(at + tag.size(), r.out.find('\n', at) - at - tag.size());
      for (size_t i = 0; i < line.size(); ++i) {
        if (line[i] == ' ' && i + 1 < line.size() && line[i + 1] != ' ') ++samples;
      }
    }
    EXPECT_EQ(samples, 200u) << "cpu " << cpu;
  }
}

INSTANTIATE_TEST_SUITE_P(Irqchip, IpiBenchGuest, ::testing::Values("user", "kernel"));

}  // namespace
}  // namespace dvmm
