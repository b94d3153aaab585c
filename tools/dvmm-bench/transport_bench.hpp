// `dvmm-bench transport`: round trips over every requested transport,
// frame size and layer (raw transport, reliable protocol stack, and for the
// dpdk transports the PMD's own burst calls as the floor), measured
// side by side: all echo processes are started first, then the phases are
// interleaved (round by round; within a round every size, transport and
// layer in turn), so that the machine's noise (other engineers' builds on
// the same two cores) hits every series alike and ratios stay meaningful.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/common/result.hpp"
#include "tools/dvmm-bench/latency_stats.hpp"
#include "tools/dvmm-bench/machine_info.hpp"
#include "tools/dvmm-bench/ping_pong.hpp"

namespace dvmm::bench {

struct TransportBenchConfig {
  // shm, udp, dpdk-memif, dpdk-afpacket ("dpdk": both dpdk ones). A dpdk
  // transport that cannot run here (not built, not root) is reported as
  // not measured, with the reason, rather than failing the run.
  std::vector<std::string> transports{"shm"};
  std::vector<uint32_t> sizes{64};
  uint64_t count = 10'000;   // recorded round trips per series (over all rounds)
  uint64_t dpdk_count = 0;   // the same for the dpdk transports' series; 0 = count
  uint64_t warmup = 0;       // per phase; 0 = default_warmup(count / rounds)
  unsigned rounds = 1;       // phases per series, interleaved with the other series
  double time_limit_s = 60;  // whole run; series still unfinished are cut short
  std::string cpus = "auto"; // see plan_cpus()
  bool progress = false;     // progress bar on stderr
};

uint64_t default_warmup(uint64_t phase_count);

// Recorded round trips asked for per series of `transport`.
uint64_t series_count(const TransportBenchConfig& config, const std::string& transport);

// One (transport, size, layer) combination.
struct SeriesResult {
  std::string transport;
  uint32_t size = 0;
  Layer layer = Layer::kRaw;
  bool measured = false;
  std::string skip_reason;   // when not measured
  size_t wire_out = 0;       // bytes on the transport per request / per answer
  size_t wire_back = 0;
  std::string what;          // "64 B frame echoed", "I/O request 56 B -> I/O response 40 B"
  uint64_t requested = 0;    // round trips asked for
  uint64_t warmup = 0;       // per phase
  unsigned phases = 0;
  std::vector<uint64_t> samples_ns;  // sorted
  LatencySummary latency;            // of samples_ns (count 0 when none)
  uint64_t elapsed_ns = 0;
  double round_trips_per_s = 0;
  uint64_t resent = 0;
  uint64_t stray = 0;
  uint64_t retransmitted = 0;  // both sides of the link
  bool truncated = false;
};

struct BenchRun {
  MachineInfo machine;
  TransportBenchConfig config;
  std::string clock;
  uint64_t clock_overhead_ns = 0;
  std::string cpu_plan;
  std::vector<std::string> endpoints;  // per transport: addresses / ring file
  std::vector<SeriesResult> series;
  std::vector<std::string> notes;      // anything the reader must know
  double wall_s = 0;
};

// Errors: bad configuration, a transport that cannot be opened (for dpdk:
// EAL, port or namespace set-up failed, with DPDK's reason), an echo
// process that failed or vanished. A time limit reached is not an error:
// the series are marked truncated.
Result<BenchRun> run_transport_bench(const TransportBenchConfig& config);

}  // namespace dvmm::bench
