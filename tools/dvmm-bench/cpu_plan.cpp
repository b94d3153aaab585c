#include "tools/dvmm-bench/cpu_plan.hpp"

#include <cstdio>
#include <vector>

#include <fmt/format.h>

namespace dvmm::bench {
namespace {

std::vector<int> usable_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (size_t i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) cpus.push_back(static_cast<int>(i));
  }
  return cpus;
}

bool usable(const std::vector<int>& cpus, int cpu) {
  for (const int c : cpus) {
    if (c == cpu) return true;
  }
  return false;
}

}  // namespace

Result<CpuPlan> plan_cpus(const std::string& spec) {
  const std::vector<int> cpus = usable_cpus();
  CpuPlan p;
  if (spec == "none") {
    p.yield_when_idle = cpus.size() < 2;
    p.description = "not pinned";
    return p;
  }
  if (spec == "auto") {
    if (cpus.size() < 2) {
      p.yield_when_idle = true;
      p.description = "one usable CPU: both processes share it and yield when idle "
                      "(round trips include scheduler switches)";
      return p;
    }
    p.initiator_cpu = cpus[0];
    p.echo_cpu = cpus[1];
  } else {
    int a = -1;
    int b = -1;
    char extra = 0;
    if (std::sscanf(spec.c_str(), "%d,%d%c", &a, &b, &extra) != 2 || a < 0 || b < 0) {
      return Error::format("--cpus '{}': expected auto, none, or two CPU numbers like 0,1", spec);
    }
    if (!usable(cpus, a) || !usable(cpus, b)) {
      return Error::format("--cpus {},{}: not both in this process's affinity mask", a, b);
    }
    p.initiator_cpu = a;
    p.echo_cpu = b;
    p.yield_when_idle = a == b;
  }
  p.description = fmt::format("initiator on CPU {}, echo process on CPU {}", p.initiator_cpu,
                              p.echo_cpu);
  return p;
}

Status pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<size_t>(cpu), &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    return Error::from_errno(fmt::format("sched_setaffinity(CPU {})", cpu));
  }
  return {};
}

AffinityGuard::AffinityGuard() {
  CPU_ZERO(&saved_);
  valid_ = sched_getaffinity(0, sizeof(saved_), &saved_) == 0;
}

AffinityGuard::~AffinityGuard() {
  if (valid_) (void)sched_setaffinity(0, sizeof(saved_), &saved_);
}

}  // namespace dvmm::bench
