// Runs another program (dvmm, for the ipi mode) with a time limit and
// collects what it prints. The program gets its own process group, which
// is killed on timeout, so nothing outlives the benchmark.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "host/common/result.hpp"

namespace dvmm::bench {

struct CommandResult {
  int exit_status = -1;  // exit code, or 128 + signal
  bool timed_out = false;
  std::string out;
  std::string err;
};

Result<CommandResult> run_command(const std::vector<std::string>& argv,
                                  std::chrono::seconds timeout);

// The executable `name` found in PATH, or "" when there is none.
std::string find_program(const std::string& name);

// The last non-empty line of a program's output: what it said last, for
// an error message.
std::string last_line(const std::string& text);

}  // namespace dvmm::bench
