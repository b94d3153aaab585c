#include "tools/dvmm-bench/latency_stats.hpp"

#include <algorithm>
#include <cmath>

namespace dvmm::bench {

uint64_t percentile(const std::vector<uint64_t>& sorted, double q) {
  const double n = static_cast<double>(sorted.size());
  auto rank = static_cast<size_t>(std::ceil(q * n));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

LatencySummary summarize(const std::vector<uint64_t>& sorted) {
  LatencySummary s;
  s.count = sorted.size();
  s.min = sorted.front();
  s.p50 = percentile(sorted, 0.50);
  s.p90 = percentile(sorted, 0.90);
  s.p99 = percentile(sorted, 0.99);
  s.p999 = percentile(sorted, 0.999);
  s.max = sorted.back();
  double sum = 0;
  for (const uint64_t v : sorted) sum += static_cast<double>(v);
  s.mean = sum / static_cast<double>(sorted.size());
  return s;
}

Histogram histogram(const std::vector<uint64_t>& sorted, uint64_t lo, uint64_t hi, size_t bins) {
  Histogram h;
  h.lo = lo;
  const uint64_t span = hi > lo ? hi - lo : 1;
  h.bin_width = std::max<uint64_t>(1, (span + bins - 1) / bins);
  h.bins.assign(bins, 0);
  for (const uint64_t v : sorted) {
    if (v > hi) {
      ++h.above;
      continue;
    }
    const uint64_t i = (v < lo ? 0 : v - lo) / h.bin_width;
    ++h.bins[std::min<size_t>(static_cast<size_t>(i), bins - 1)];
  }
  return h;
}

std::vector<std::pair<uint64_t, double>> cdf_points(const std::vector<uint64_t>& sorted,
                                                   size_t max_points) {
  std::vector<std::pair<uint64_t, double>> out;
  const size_t n = sorted.size();
  if (n == 0 || max_points < 2) return out;
  const size_t points = std::min(n, max_points);
  out.reserve(points);
  for (size_t k = 0; k < points; ++k) {
    // Ranks 0 .. n-1 spread evenly; the last point is the maximum (CDF 1).
    const size_t i = points == 1 ? n - 1 : k * (n - 1) / (points - 1);
    out.emplace_back(sorted[i], static_cast<double>(i + 1) / static_cast<double>(n));
  }
  return out;
}

}  // namespace dvmm::bench
