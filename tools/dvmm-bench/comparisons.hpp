// Side-by-side ratios of series measured in the same run (the only
// comparisons that mean something on a noisy shared machine):
//   raw / pmd, reliable / pmd   per dpdk transport and size: what dvmm's
//                    transport layer and its reliability layer add over
//                    the PMD's own round trip (kind "over-pmd");
//   reliable / raw   per transport and size: the protocol stack's cost;
//   X / shm          per other transport X, layer and size: vs shared memory;
//   size / smallest  per transport, raw layer: the cost of bytes.
#pragma once

#include <string>
#include <vector>

#include "tools/dvmm-bench/transport_bench.hpp"

namespace dvmm::bench {

struct Ratio {
  std::string kind;   // "over-pmd", "reliable/raw", "udp/shm", "size"
  std::string label;  // "shm 64 B: reliable / raw"
  double p50 = 0;
  double p99 = 0;
  double p999 = 0;
  double p50_added_us = 0;  // p50 of the first minus p50 of the second
};

std::vector<Ratio> compute_ratios(const BenchRun& run);

}  // namespace dvmm::bench
