// dvmm-bench soak --kill-restart: exactly-once across a peer that is killed
// and restarted. Two processes over UDP on the loopback (the survivor at
// 127.0.0.1, the restarting endpoint at 127.0.0.2, both behind the same
// receive-side drops, duplicates and reordering as the fake soak); the
// survivor sends `messages` numbered messages, the other side answers each,
// and every `restart_every` new deliveries (drawn between half and one and a
// half times that, from the seed) the survivor SIGKILLs the other process
// and starts a new incarnation of it on the same address and port. The
// counts (restart_audit.hpp defines them) of lost, doubled and misordered
// deliveries must be 0 both ways; redeliveries across a crash and messages
// that died with their sender are reported beside them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "host/common/result.hpp"
#include "tools/dvmm-bench/restart_audit.hpp"

namespace dvmm::bench {

struct RestartSoakConfig {
  uint64_t messages = 1'000'000;  // survivor -> restarting endpoint
  uint64_t restart_every = 10'000;
  double drop = 0.05, duplicate = 0.05, reorder = 0.05;
  uint64_t seed = 1;
  double time_limit_s = 1800;  // the run fails (as a result) when it takes longer
};

struct RestartSoakResult {
  RestartSoakConfig config;
  bool completed = false;  // everything delivered and acknowledged within the time limit
  std::string failure;     // why not (empty when completed)
  uint32_t restarts = 0;   // kills followed by a new incarnation
  ToRestartingAudit to_restarting;
  FromRestartingTally::Counts from_restarting;
  // The survivor's link: restarts it saw, frames of dead incarnations it
  // dropped; the restarting side's stale frames, over all incarnations.
  uint64_t peer_restarts_seen = 0;
  uint64_t stale_at_survivor = 0;
  uint64_t stale_at_restarting = 0;
  uint64_t retransmitted = 0;                                          // by the survivor's link
  uint64_t wire_dropped = 0, wire_duplicated = 0, wire_reordered = 0;  // at the survivor
  double wall_s = 0;

  bool clean() const {
    return completed && to_restarting.lost + to_restarting.doubled + to_restarting.misordered +
                                from_restarting.lost + from_restarting.doubled +
                                from_restarting.misordered ==
                            0;
  }
};

// Errors: bad options, a process or socket that could not be set up. A run
// whose counts are wrong, or that stalled, is a result (clean() false).
Result<RestartSoakResult> run_restart_soak(const RestartSoakConfig& config);

nlohmann::json restart_soak_to_json(const RestartSoakResult& r);
std::string restart_soak_table(const RestartSoakResult& r);

}  // namespace dvmm::bench
