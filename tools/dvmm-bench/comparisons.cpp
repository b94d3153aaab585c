#include "tools/dvmm-bench/comparisons.hpp"

#include <fmt/format.h>

namespace dvmm::bench {
namespace {

const SeriesResult* find(const BenchRun& run, const std::string& transport, uint32_t size,
                         Layer layer) {
  for (const SeriesResult& s : run.series) {
    if (s.transport == transport && s.size == size && s.layer == layer && s.measured &&
        s.latency.count > 0) {
      return &s;
    }
  }
  return nullptr;
}

double ratio(uint64_t a, uint64_t b) {
  return b == 0 ? 0 : static_cast<double>(a) / static_cast<double>(b);
}

Ratio make(std::string kind, std::string label, const SeriesResult& num, const SeriesResult& den) {
  Ratio r;
  r.kind = std::move(kind);
  r.label = std::move(label);
  r.p50 = ratio(num.latency.p50, den.latency.p50);
  r.p99 = ratio(num.latency.p99, den.latency.p99);
  r.p999 = ratio(num.latency.p999, den.latency.p999);
  r.p50_added_us =
      (static_cast<double>(num.latency.p50) - static_cast<double>(den.latency.p50)) / 1000.0;
  return r;
}

}  // namespace

std::vector<Ratio> compute_ratios(const BenchRun& run) {
  std::vector<Ratio> out;
  const auto& transports = run.config.transports;
  const auto& sizes = run.config.sizes;
  for (const std::string& t : transports) {
    for (const uint32_t size : sizes) {
      const SeriesResult* pmd = find(run, t, size, Layer::kPmd);
      if (pmd == nullptr) continue;
      for (const Layer layer : {Layer::kRaw, Layer::kReliable}) {
        const SeriesResult* s = find(run, t, size, layer);
        if (s == nullptr) continue;
        out.push_back(make("over-pmd", fmt::format("{} {} B: {} / pmd", t, size, layer_name(layer)),
                           *s, *pmd));
      }
    }
  }
  for (const std::string& t : transports) {
    for (const uint32_t size : sizes) {
      const SeriesResult* raw = find(run, t, size, Layer::kRaw);
      const SeriesResult* rel = find(run, t, size, Layer::kReliable);
      if (raw != nullptr && rel != nullptr) {
        out.push_back(make("reliable/raw", fmt::format("{} {} B: reliable / raw", t, size), *rel,
                           *raw));
      }
      const SeriesResult* auth = find(run, t, size, Layer::kAuthenticated);
      if (auth != nullptr && rel != nullptr) {
        out.push_back(make("authenticated/reliable",
                           fmt::format("{} {} B: authenticated / reliable", t, size), *auth, *rel));
      }
    }
  }
  for (size_t i = 0; i < transports.size(); ++i) {
    for (size_t j = 0; j < transports.size(); ++j) {
      // shm is the floor: put it in the denominator when present.
      if (i == j || transports[j] != "shm") continue;
      for (const uint32_t size : sizes) {
        for (const Layer layer : {Layer::kRaw, Layer::kReliable}) {
          const SeriesResult* a = find(run, transports[i], size, layer);
          const SeriesResult* b = find(run, transports[j], size, layer);
          if (a == nullptr || b == nullptr) continue;
          out.push_back(make(fmt::format("{}/{}", transports[i], transports[j]),
                             fmt::format("{} B {}: {} / {}", size, layer_name(layer),
                                         transports[i], transports[j]),
                             *a, *b));
        }
      }
    }
  }
  if (sizes.size() > 1) {
    for (const std::string& t : transports) {
      const SeriesResult* base = find(run, t, sizes.front(), Layer::kRaw);
      for (size_t k = 1; k < sizes.size() && base != nullptr; ++k) {
        const SeriesResult* s = find(run, t, sizes[k], Layer::kRaw);
        if (s == nullptr) continue;
        out.push_back(make("size", fmt::format("{} raw: {} B / {} B", t, sizes[k], sizes.front()),
                           *s, *base));
      }
    }
  }
  return out;
}

}  // namespace dvmm::bench
