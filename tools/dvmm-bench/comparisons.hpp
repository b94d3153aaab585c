// Side-by-side ratios of series measured in the same run (the only
// comparisons that mean something on a noisy shared machine):
//   reliable / raw   per transport and size: the protocol stack's cost;
//   udp / shm        per layer and size: kernel sockets vs shared memory;
//   size / smallest  per transport, raw layer: the cost of bytes.
#pragma once

#include <string>
#include <vector>

#include "tools/dvmm-bench/transport_bench.hpp"

namespace dvmm::bench {

struct Ratio {
  std::string kind;   // "reliable/raw", "udp/shm", "size"
  std::string label;  // "shm 64 B: reliable / raw"
  double p50 = 0;
  double p99 = 0;
  double p999 = 0;
};

std::vector<Ratio> compute_ratios(const BenchRun& run);

}  // namespace dvmm::bench
