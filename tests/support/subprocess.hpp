// Runs a program for a test: captures stdout and stderr, enforces a time
// limit, and kills the program's whole process group on timeout or when the
// test ends, so no test leaves a process behind.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace dvmm::test {

struct ProcessResult {
  int exit_status = -1;  // exit code, or 128 + signal
  bool timed_out = false;
  std::string out;
  std::string err;
};

ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::seconds timeout);

// True when /dev/kvm can be used. Otherwise `why` says what is wrong.
bool kvm_usable(std::string& why);

}  // namespace dvmm::test

// Fails the test when KVM is unusable, unless DVMM_ALLOW_NO_KVM=1, in which
// case the test is skipped with the reason shown.
#define DVMM_REQUIRE_KVM()                                                              \
  do {                                                                                  \
    std::string dvmm_kvm_why_;                                                          \
    if (!::dvmm::test::kvm_usable(dvmm_kvm_why_)) {                                     \
      const char* allow = std::getenv("DVMM_ALLOW_NO_KVM");                             \
      if (allow != nullptr && std::string(allow) == "1") {                              \
        GTEST_SKIP() << "KVM unusable (" << dvmm_kvm_why_ << "); DVMM_ALLOW_NO_KVM=1";  \
      }                                                                                 \
      FAIL() << "KVM unusable: " << dvmm_kvm_why_                                       \
             << ". These tests need /dev/kvm; set DVMM_ALLOW_NO_KVM=1 to skip them.";   \
    }                                                                                   \
  } while (0)
