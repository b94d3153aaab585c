// Percentiles, histogram and CDF points of a set of round-trip samples.
// Percentiles use the nearest-rank definition on the sorted samples (the
// value of sample ceil(q*n)), so every reported value is a measured one and
// p50 <= p90 <= p99 <= p99.9 <= max holds by construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace dvmm::bench {

struct LatencySummary {
  uint64_t count = 0;
  uint64_t min = 0;
  uint64_t p50 = 0;
  uint64_t p90 = 0;
  uint64_t p99 = 0;
  uint64_t p999 = 0;
  uint64_t max = 0;
  double mean = 0;
};

// `sorted` must be sorted ascending and non-empty; q in (0, 1].
uint64_t percentile(const std::vector<uint64_t>& sorted, double q);

// Summary of sorted, non-empty samples.
LatencySummary summarize(const std::vector<uint64_t>& sorted);

// Equal-width bins over [lo, hi]; samples above hi are counted in `above`
// so that a rare 50 µs interrupt does not squash the plot of a 0.3 µs peak.
struct Histogram {
  uint64_t lo = 0;
  uint64_t bin_width = 1;
  std::vector<uint64_t> bins;
  uint64_t above = 0;
};
Histogram histogram(const std::vector<uint64_t>& sorted, uint64_t lo, uint64_t hi, size_t bins);

// At most max_points (value, fraction <= value) points of the empirical CDF,
// evenly spaced in rank, always including the first and the last sample.
std::vector<std::pair<uint64_t, double>> cdf_points(const std::vector<uint64_t>& sorted,
                                                   size_t max_points);

}  // namespace dvmm::bench
