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

}  // namespace
}  // namespace dvmm
