// dvmm-bench soak smoke test: a short run of the exactly-once soak reports
// no lost, doubled or misordered delivery, and the wire really damaged
// frames; a bad probability is a usage error. The kill-restart soak: two
// processes over UDP, the restarting one SIGKILLed and started again about
// every 2000 deliveries, loses, doubles and misorders nothing either way.
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

TEST(BenchSoakSmoke, KillAndRestartLosesDoublesAndMisordersNothing) {
  // About 5 s here (Debug); the time limit makes a stall a failed run, not
  // a hung test.
  auto r = test::run_process({DVMM_BENCH_BINARY, "soak", "--kill-restart", "--messages", "20000",
                              "--restart-every", "2000", "--time-limit", "45", "--json"},
                             std::chrono::seconds(60));
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_status, 0) << r.out << r.err;
  const json j = json::parse(r.out);
  EXPECT_TRUE(j.at("completed").get<bool>()) << j.at("failure").get<std::string>();
  const json& to = j.at("to_restarting");
  EXPECT_GE(to.at("delivered").get<uint64_t>(), 20000u);
  EXPECT_EQ(to.at("lost").get<uint64_t>(), 0u);
  EXPECT_EQ(to.at("doubled").get<uint64_t>(), 0u);
  EXPECT_EQ(to.at("misordered").get<uint64_t>(), 0u);
  const json& from = j.at("from_restarting");
  EXPECT_GT(from.at("delivered").get<uint64_t>(), 0u);
  EXPECT_EQ(from.at("lost").get<uint64_t>(), 0u);
  EXPECT_EQ(from.at("doubled").get<uint64_t>(), 0u);
  EXPECT_EQ(from.at("misordered").get<uint64_t>(), 0u);
  // The restarts really happened, and the survivor's link saw each one.
  const uint64_t restarts = j.at("restarts").get<uint64_t>();
  EXPECT_GE(restarts, 5u);
  EXPECT_EQ(j.at("link").at("peer_restarts_seen").get<uint64_t>(), restarts);
  EXPECT_GT(j.at("link").at("stale_at_restarting").get<uint64_t>(), 0u)
      << "the survivor's frames to a dead incarnation reached the next one";
}

TEST(BenchSoakSmoke, KillRestartWithoutRestartsIsAUsageError) {
  auto r = test::run_process({DVMM_BENCH_BINARY, "soak", "--kill-restart", "--restart-every", "0"},
                             std::chrono::seconds(30));
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("--restart-every must be at least 1"), std::string::npos) << r.err;
}

TEST(BenchSoakSmoke, ProbabilityOutOfRangeIsAUsageError) {
  auto r = test::run_process({DVMM_BENCH_BINARY, "soak", "--drop", "1.5"}, std::chrono::seconds(30));
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("probabilities must be in [0, 1)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dvmm
