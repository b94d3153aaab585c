// The human-readable form of a run (the default output): one line per
// series with percentiles in microseconds, then the ratios and notes.
#pragma once

#include <cstdio>

#include "tools/dvmm-bench/transport_bench.hpp"

namespace dvmm::bench {

void print_table(std::FILE* out, const BenchRun& run);

}  // namespace dvmm::bench
