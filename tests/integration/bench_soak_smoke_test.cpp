// dvmm-bench soak smoke test: a short run of the exactly-once soak reports
// no lost, doubled or misordered delivery, and the wire really damaged
// frames; a bad probability is a usage error.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/subprocess.hpp"

namespace dvmm {
namespace {

using nlohmann::json;

TEST(BenchSoakSmoke, ShortRunDeliversEverythingOnceInOrder) {
  auto r = test::run_process({DVMM_BENCH_BINARY, "soak", "--messages", "20000", "--json"},
                             std::chrono::seconds(120));
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j.at("delivered").get<uint64_t>(), 40000u);
  EXPECT_EQ(j.at("lost").get<uint64_t>(), 0u);
  EXPECT_EQ(j.at("doubled").get<uint64_t>(), 0u);
  EXPECT_EQ(j.at("misordered").get<uint64_t>(), 0u);
  EXPECT_GT(j.at("wire").at("dropped").get<uint64_t>(), 0u);
  EXPECT_GT(j.at("wire").at("duplicated").get<uint64_t>(), 0u);
  EXPECT_GT(j.at("wire").at("reordered").get<uint64_t>(), 0u);
  EXPECT_GT(j.at("link").at("retransmitted").get<uint64_t>(), 0u);
}

TEST(BenchSoakSmoke, ProbabilityOutOfRangeIsAUsageError) {
  auto r = test::run_process({DVMM_BENCH_BINARY, "soak", "--drop", "1.5"}, std::chrono::seconds(30));
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("probabilities must be in [0, 1)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dvmm
