// One transport's raw/reliable ping-pong partner: an endpoint pair and the
// forked echo process that serves the pair's node-1 end, plus the
// parent's side of one measured phase with it. Shared by `dvmm-bench
// transport` and `dvmm-bench dsm` (which sets the raw round trip of the
// same transport beside its fault latencies).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "host/common/result.hpp"
#include "tools/dvmm-bench/cpu_plan.hpp"
#include "tools/dvmm-bench/endpoint_pair.hpp"
#include "tools/dvmm-bench/forked_child.hpp"
#include "tools/dvmm-bench/ping_pong.hpp"
#include "tools/dvmm-bench/progress.hpp"

namespace dvmm::bench {

struct EchoEndpoint {
  EndpointPair pair;
  ForkedChild child;
};

// Opens a `kind` endpoint pair and forks its echo process (pinned to
// plan.echo_cpu). in_child runs first in the child: it must close what the
// child inherited from processes forked earlier (their control channels),
// or they never see EOF. Must be called while the caller has no threads.
Result<EchoEndpoint> start_echo_endpoint(const std::string& kind, const CpuPlan& plan,
                                         const std::function<void()>& in_child);

// Runs one phase against the echo process; echo_retransmitted receives
// the echo side's link retransmissions (reliable layer).
Result<PhaseResult> run_echo_phase(EchoEndpoint& ep, const PhaseSpec& spec, Progress& progress,
                                   uint64_t& echo_retransmitted);

// How long the echo process may take to finish after its channel closed.
constexpr int kEchoExitTimeoutMs = 2000;

}  // namespace dvmm::bench
