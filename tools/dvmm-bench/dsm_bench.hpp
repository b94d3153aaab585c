// `dvmm-bench dsm`: page-fault latency of dvmm's distributed shared memory,
// seen by the thread that faults (as a vCPU sees it), beside the raw
// round trip of the same transport measured in the same run.
//
// Two processes, node 0 (this one, the initial owner of every page) and
// node 1 (a forked peer), each with a real DsmNode: guest-RAM-like memory
// under userfaultfd, the protocol engine, a ReliableLink over the
// transport and the adaptive dataplane poller, as in a dvmm node. The
// region holds `pages` test pages, as many local-only pages, and one
// ping-pong page; page homes alternate between the nodes (page % 2), so
// half of the faults find their home on the faulting node and half on
// the other: both take one network round trip.
//
// Cases, each sample one access by node 0's measuring thread:
//   raw_rtt_<size>  the raw transport ping-pong (transport mode's "raw"
//                   layer) with its own echo process: the network floor
//   uffd_local      read of a page node 0 holds exclusively but has not
//                   populated: userfaultfd -> fault thread -> engine
//                   (local grant) -> UFFDIO_COPY -> wake-up; no network.
//                   The page is dropped again (MADV_DONTNEED) untimed.
//   read_remote     first read of a page node 1 holds exclusively (it has
//                   just written it): the 4 KiB page travels to node 0
//   write_upgrade   write to a page node 0 holds shared (after the read
//                   above): node 1's copy is invalidated, no data travels
//   write_remote    write (locked add) to a page node 1 holds exclusively
//   bounce          page ping-pong: node 0 and node 1 take turns writing
//                   one page (locked compare-exchange); one sample is one
//                   round trip of the page, node 0 -> node 1 -> node 0,
//                   so it includes twice the engine's hold time
// A pass runs every case once over the pages, for every transport in
// turn; passes repeat until `count` samples per case (noise then hits all
// series alike, as in the transport mode).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/common/result.hpp"
#include "tools/dvmm-bench/dsm_node.hpp"
#include "tools/dvmm-bench/latency_stats.hpp"
#include "tools/dvmm-bench/machine_info.hpp"

namespace dvmm::bench {

struct DsmBenchConfig {
  std::vector<std::string> transports{"shm", "udp"};
  uint64_t pages = 64;          // test pages per pass (and local-only pages)
  uint64_t count = 2000;        // samples per case, rounded up to whole passes
  std::vector<uint32_t> raw_sizes{64, 4096};
  uint64_t min_hold_us = 100;   // the engine's hold time (the cluster's value)
  // The dataplane poller busy-polls this long after its last work before
  // it sleeps (AdaptivePoller's default, which the cluster uses: 50).
  uint64_t poller_spin_us = 50;
  double time_limit_s = 120;    // whole run; later passes are skipped
  std::string cpus = "auto";    // see plan_cpus(): node 0 on A, node 1 on B
  bool progress = false;
};

struct DsmSeries {
  std::string transport;
  std::string name;       // "raw_rtt_4096", "read_remote", ...
  std::string what;       // one line for people
  uint32_t raw_size = 0;  // raw_rtt series only
  std::vector<uint64_t> samples_ns;  // sorted once finished
  LatencySummary latency;            // count 0 when none
  uint64_t elapsed_ns = 0;           // sum of the samples' wall time (rate = count / this)
  // Remote fault cases: node 0's engine's own time per fault, request()
  // to install (its blocked_ns / completed over the case's faults), a
  // mean. The rest of a fault is the kernel's userfaultfd delivery and
  // the fault thread's and the faulting thread's wake-ups.
  uint64_t engine_ns_sum = 0;
  uint64_t engine_faults = 0;
  double per_s = 0;                  // round trips, faults or bounces per second, one at a time
  bool truncated = false;
};

// Both nodes' counters at the end, per transport (node 1's from its last report).
struct DsmTransportCounters {
  std::string transport;
  DsmNodeCounters node0;
  DsmNodeCounters node1;
};

// A fault case over the raw round trip of the same transport.
struct DsmRatio {
  std::string transport;
  std::string label;  // "read_remote / raw_rtt_4096"
  double p50 = 0, p99 = 0, p999 = 0;
};

struct DsmRun {
  MachineInfo machine;
  DsmBenchConfig config;
  std::string clock;
  uint64_t clock_overhead_ns = 0;
  std::string cpu_plan;
  uint64_t passes = 0;            // planned
  uint64_t passes_done = 0;
  uint64_t bounces_per_pass = 0;
  uint64_t raw_per_pass = 0;
  std::vector<std::string> endpoints;
  std::vector<DsmSeries> series;  // per transport: raw sizes, then the DSM cases
  std::vector<DsmTransportCounters> counters;
  std::vector<std::string> notes;
  double wall_s = 0;
};

// The DSM case names, in output order.
const std::vector<std::string>& dsm_case_names();

// Errors: bad configuration, no userfaultfd (not root), a process that
// failed or vanished, a fault that did not complete within seconds, a
// page that arrived with stale contents. A time limit reached is not an
// error: the series are marked truncated.
Result<DsmRun> run_dsm_bench(const DsmBenchConfig& config);

std::vector<DsmRatio> dsm_ratios(const DsmRun& run);

// fault p50 = raw 4 KiB round trip p50 + uffd_local p50 + the rest (the
// protocol's messages and copies, thread wake-ups), per remote fault case.
// A difference of medians, not the median of a difference: an order of
// magnitude for where the time goes.
struct DsmBreakdown {
  std::string transport;
  std::string name;
  uint64_t fault_p50 = 0;
  uint64_t rtt_p50 = 0;
  uint64_t floor_p50 = 0;
  int64_t rest_ns = 0;  // may be negative when the parts overlap
  uint64_t engine_mean_ns = 0;  // DsmSeries::engine_ns_sum / engine_faults
};
std::vector<DsmBreakdown> dsm_breakdown(const DsmRun& run);

}  // namespace dvmm::bench
