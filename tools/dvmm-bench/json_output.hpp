// The machine-readable form of a run (--json): the machine description,
// the method (clock, CPUs, polling, counts), every series with every
// percentile in nanoseconds, and the side-by-side ratios.
#pragma once

#include <nlohmann/json.hpp>

#include "tools/dvmm-bench/transport_bench.hpp"

namespace dvmm::bench {

nlohmann::ordered_json machine_to_json(const MachineInfo& m);
// min, p50, p90, p99, p99_9, max (ns) and mean.
nlohmann::ordered_json latency_to_json(const LatencySummary& l);
nlohmann::ordered_json run_to_json(const BenchRun& run);

}  // namespace dvmm::bench
