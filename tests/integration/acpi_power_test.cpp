// The ACPI ways out of a VM, end to end: the bundled smp-test guest reads
// the FADT and the DSDT's \_S5 as an OS does, checks that the PM timer
// counts, then powers off (PM1a_CNT SLP_TYP|SLP_EN) or resets (the FADT's
// reset register). dvmm must end the VM with the documented status and say
// why on stderr.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/subprocess.hpp"

namespace dvmm {
namespace {

test::ProcessResult run_guest(const std::string& mode, const std::string& irqchip) {
  return test::run_process({DVMM_BINARY, "run", "--vcpus", "2", "--memory", "64M", "--kernel",
                            DVMM_SMP_TEST_GUEST, "--cmdline", mode, "--irqchip", irqchip},
                           std::chrono::seconds(120));
}

class AcpiPower : public ::testing::TestWithParam<std::string> {};

TEST_P(AcpiPower, PowerOffEndsTheVmWithStatus0) {
  DVMM_REQUIRE_KVM();
  auto r = run_guest("acpi-poweroff", GetParam());
  SCOPED_TRACE("stdout:\n" + r.out + "\nstderr:\n" + r.err);
  ASSERT_FALSE(r.timed_out);
  EXPECT_NE(r.out.find("smp-test: acpi: PM1a_CNT 0x604 PM_TMR 0x608 RESET_REG 0xcf9 value 0x6 S5 "
                       "SLP_TYP 5"),
            std::string::npos);
  EXPECT_NE(r.out.find("PASS acpi-pm-timer"), std::string::npos);
  EXPECT_EQ(r.out.find("FAIL"), std::string::npos);
  EXPECT_NE(r.err.find("dvmm: guest powered off (ACPI S5)"), std::string::npos);
  EXPECT_EQ(r.exit_status, 0);
}

TEST_P(AcpiPower, ResetEndsTheVmWithStatus3) {
  DVMM_REQUIRE_KVM();
  auto r = run_guest("acpi-reset", GetParam());
  SCOPED_TRACE("stdout:\n" + r.out + "\nstderr:\n" + r.err);
  ASSERT_FALSE(r.timed_out);
  EXPECT_NE(r.out.find("PASS acpi-pm-timer"), std::string::npos);
  EXPECT_EQ(r.out.find("FAIL"), std::string::npos);
  EXPECT_NE(r.err.find("dvmm: guest requested reset (reset control port 0xCF9)"),
            std::string::npos);
  EXPECT_EQ(r.exit_status, 3);
}

INSTANTIATE_TEST_SUITE_P(Irqchip, AcpiPower, ::testing::Values("user", "kernel"));

}  // namespace
}  // namespace dvmm
