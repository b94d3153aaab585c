// dvmm-bench ipi: IPI round trips as the guest measures them. Boots the
// bundled smp-test guest with "bench-ipi" on its command line (AP start-up,
// then 200 ping-pongs from the BSP to each AP, every sample printed in TSC
// cycles) under several set-ups, side by side:
//   native      one dvmm process, KVM's in-kernel irqchip: what one machine gives
//   one-node    one dvmm process, dvmm's userspace LAPICs (every cluster node has these)
//   <transport> two node processes, vCPUs 0-1 on node 0 and 2-3 on node 1: the
//               BSP's round trip to CPU 1 stays on its node, to CPUs 2 and 3 it
//               crosses the transport (shm, udp, dpdk-memif, dpdk-netns)
// Guest RAM is the shared file in every cluster set-up, so the numbers are
// the interrupt path alone (DSM's page moves are the dsm mode's subject).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/common/result.hpp"
#include "tools/dvmm-bench/latency_stats.hpp"

namespace dvmm::bench {

struct IpiBenchConfig {
  std::string dvmm_binary;          // the dvmm to boot guests with
  std::vector<std::string> setups;  // from kIpiSetups
  unsigned boots = 3;               // boots per set-up (samples pooled)
};

inline const std::vector<std::string> kIpiSetups = {"native", "one-node",   "shm",
                                                    "udp",    "dpdk-memif", "dpdk-netns"};

struct IpiSeries {
  std::string setup;
  std::string path;               // "in-kernel irqchip", "same node", "cross node"
  std::vector<uint64_t> cycles;   // sorted
  LatencySummary summary;         // cycles
};

struct IpiBenchResult {
  double tsc_hz = 0;  // guest TSC = host TSC (offset only), measured here
  std::vector<IpiSeries> series;
  std::vector<std::pair<std::string, std::string>> skipped;  // set-up, why
};

Result<IpiBenchResult> run_ipi_bench(const IpiBenchConfig& config);

// Table (one row per series: p50/p90/p99/max in µs and the ratio of the
// p50 to native's), for the terminal and the report.
std::string ipi_table(const IpiBenchResult& r);

nlohmann::json ipi_result_to_json(const IpiBenchResult& r);

// --plot DIR: one CDF of every series (µs) and a histogram per series.
struct PlotOutcome;
Result<PlotOutcome> write_ipi_plots(const std::string& dir, const IpiBenchResult& r);

// The dvmm binary installed beside this dvmm-bench, as the build puts them.
std::string default_dvmm_binary();

}  // namespace dvmm::bench
