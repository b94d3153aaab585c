// Runs a program for a test: captures stdout and stderr, enforces a time
// limit, and kills the program's whole process group on timeout or when the
// test ends, so no test leaves a process behind.
#pragma once

#include <sys/types.h>

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

// A program started in its own process group, read while it runs. The
// destructor kills the whole group, so a failing test leaves nothing.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // Reads output until stdout contains `text` (true) or the time is up.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);
  // The same for any of `texts` (not empty): the one seen, or "" when the
  // time is up or the program closed its output first.
  std::string wait_for_any_output(const std::vector<std::string>& texts,
                                  std::chrono::milliseconds timeout);
  // Sends sig to the program itself, or to its whole process group.
  void signal(int sig, bool whole_group = false);
  // Waits for the program to exit (killing the group after `timeout`).
  ProcessResult wait(std::chrono::milliseconds timeout);
  const std::string& out() const { return result_.out; }
  const std::string& err() const { return result_.err; }

 private:
  void pump(std::chrono::milliseconds budget);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool reaped_ = false;
  ProcessResult result_;
};

// Direct children of a process (from /proc/<pid>/task/<pid>/children).
std::vector<pid_t> child_pids(pid_t parent);
// The command line of a process, arguments joined by spaces.
std::string process_cmdline(pid_t pid);

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
