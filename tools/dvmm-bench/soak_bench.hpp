// dvmm-bench soak: the reliability layer's exactly-once, in-order promise
// over a long run. Two ReliableLinks exchange numbered messages in both
// directions over the fake network with a share of frames dropped,
// duplicated and reordered, in virtual time (deterministic from the seed);
// every delivery is checked against the numbers sent. The counts of lost,
// doubled and misordered deliveries must all be 0 (the run fails
// otherwise); the wire's damage and the link's repairs are reported.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "host/common/result.hpp"

namespace dvmm::bench {

struct SoakConfig {
  uint64_t messages = 1'000'000;  // per direction
  double drop = 0.05, duplicate = 0.05, reorder = 0.05;
  uint64_t seed = 1;
};

struct SoakResult {
  SoakConfig config;
  uint64_t delivered = 0;   // both directions
  uint64_t lost = 0;        // sent but never delivered
  uint64_t doubled = 0;     // delivered more than once
  uint64_t misordered = 0;  // delivered out of sending order
  uint64_t wire_sent = 0, wire_dropped = 0, wire_duplicated = 0, wire_reordered = 0;
  uint64_t retransmitted = 0, duplicates_discarded = 0, buffered_out_of_order = 0;
  double wall_s = 0;
  double virtual_s = 0;  // simulated network time the run took
};

// Errors: bad probabilities. A run whose checks fail is a result (with
// non-zero counts), not an error: the caller decides.
Result<SoakResult> run_soak(const SoakConfig& config);

nlohmann::json soak_to_json(const SoakResult& r);
std::string soak_table(const SoakResult& r);

}  // namespace dvmm::bench
