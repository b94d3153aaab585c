// What a passing run of the bundled smp-test guest prints: the banner with
// the CPU count, one PASS line per sub-test, no FAIL line, and the summary.
#pragma once

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace dvmm::test {

inline constexpr const char* kSmpSubTests[] = {
    "ap-start",           "fixed-ipi",        "broadcast-ipi",  "all-but-self-ipi",
    "logical-ipi",        "self-ipi",         "nmi",            "lowest-priority",
    "lapic-timer-oneshot", "lapic-timer-periodic", "ioapic-irq",     "spinlock-counter",
    "atomic-counter",     "false-sharing",    "guest-errors",
    "ipi-pingpong",
};

inline void expect_smp_test_passed(const std::string& out, int cpus) {
  EXPECT_NE(out.find("smp-test: " + std::to_string(cpus) + " cpus"), std::string::npos);
  for (const char* name : kSmpSubTests) {
    std::regex pass("(^|\n)PASS " + std::string(name) + "( |\n|$)");
    EXPECT_TRUE(std::regex_search(out, pass)) << "no PASS line for " << name;
  }
  EXPECT_EQ(out.find("FAIL"), std::string::npos);
  EXPECT_NE(out.find("smp-test: all passed"), std::string::npos);
}

}  // namespace dvmm::test
