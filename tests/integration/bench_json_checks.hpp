// Checks shared by the dvmm-bench smoke tests: what every mode's JSON
// promises about a latency summary (latency_stats.hpp): nearest-rank
// percentiles, so min <= p50 <= p90 <= p99 <= p99.9 <= max, all measured
// values and hence positive.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>

#include <nlohmann/json.hpp>

namespace dvmm::test {

inline void expect_sane_latency(const nlohmann::json& l) {
  const auto v = [&](const char* k) { return l.at(k).get<uint64_t>(); };
  EXPECT_GT(v("min"), 0u);
  EXPECT_LE(v("min"), v("p50"));
  EXPECT_LE(v("p50"), v("p90"));
  EXPECT_LE(v("p90"), v("p99"));
  EXPECT_LE(v("p99"), v("p99_9"));
  EXPECT_LE(v("p99_9"), v("max"));
  EXPECT_GT(l.at("mean").get<double>(), 0);
}

}  // namespace dvmm::test
