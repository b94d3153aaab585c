// The seed of a randomized dataplane test: `fallback`, or DVMM_TEST_SEED
// when set (to replay a failure or soak other seeds), recorded in the test's
// XML output either way.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace dvmm::dataplane::test {

inline uint64_t test_seed(uint64_t fallback) {
  const char* env = std::getenv("DVMM_TEST_SEED");
  const uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 0) : fallback;
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

}  // namespace dvmm::dataplane::test
