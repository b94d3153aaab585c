// Which CPU each process of the ping-pong runs on. Two busy-polling
// processes on one CPU would each wait a whole scheduler time slice for the
// other, so with two or more usable CPUs the initiator and the echo
// process are pinned to two different ones (the FACTS.md figures were
// measured that way); with one, both stay unpinned and yield when idle.
#pragma once

#include <sched.h>

#include <string>

#include "host/common/result.hpp"

namespace dvmm::bench {

struct CpuPlan {
  int initiator_cpu = -1;  // -1: not pinned
  int echo_cpu = -1;
  bool yield_when_idle = false;
  std::string description;  // for the output
};

// spec: "auto" (the first two usable CPUs), "none", or "A,B".
Result<CpuPlan> plan_cpus(const std::string& spec);

Status pin_to_cpu(int cpu);

// Restores the calling thread's original affinity when destroyed.
class AffinityGuard {
 public:
  AffinityGuard();
  ~AffinityGuard();
  AffinityGuard(const AffinityGuard&) = delete;
  AffinityGuard& operator=(const AffinityGuard&) = delete;

 private:
  cpu_set_t saved_;
  bool valid_ = false;
};

}  // namespace dvmm::bench
