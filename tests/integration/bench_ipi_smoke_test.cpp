// dvmm-bench ipi smoke test: boots the bench guest once per set-up (the
// in-kernel baseline, one node, two nodes over shm) and checks the JSON's
// shape and sanity; no timing is asserted.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/integration/bench_json_checks.hpp"
#include "tests/support/subprocess.hpp"

namespace dvmm {
namespace {

using nlohmann::json;

TEST(BenchIpiSmoke, EverySetUpGivesSaneRoundTrips) {
  DVMM_REQUIRE_KVM();
  auto r = test::run_process({DVMM_BENCH_BINARY, "ipi", "--setups", "native,one-node,shm",
                              "--boots", "1", "--json"},
                             std::chrono::seconds(240));
  SCOPED_TRACE("stderr:\n" + r.err);
  ASSERT_FALSE(r.timed_out);
  ASSERT_EQ(r.exit_status, 0);
  const json j = json::parse(r.out);
  EXPECT_EQ(j.at("mode"), "ipi");
  EXPECT_GT(j.at("tsc_hz").get<double>(), 1e8);
  EXPECT_TRUE(j.at("skipped").empty()) << j.at("skipped").dump();
  std::set<std::string> seen;
  for (const json& s : j.at("series")) {
    const std::string key = s.at("setup").get<std::string>() + "/" + s.at("path").get<std::string>();
    seen.insert(key);
    // 200 round trips to each AP per boot: 3 APs, or 1 and 2 split by node.
    const uint64_t expect = s.at("path") == "same node" ? 200 : s.at("path") == "cross node" ? 400 : 600;
    EXPECT_EQ(s.at("samples").get<uint64_t>(), expect) << key;
    test::expect_sane_latency(s.at("cycles"));
    EXPECT_GT(s.at("us").at("p50").get<double>(), 0) << key;
  }
  EXPECT_EQ(seen, (std::set<std::string>{"native/in-kernel irqchip", "one-node/dvmm LAPIC, one node",
                                         "shm/same node", "shm/cross node"}));
}

TEST(BenchIpiSmoke, UnknownSetUpIsAUsageError) {
  auto r = test::run_process({DVMM_BENCH_BINARY, "ipi", "--setups", "carrier-pigeon"},
                             std::chrono::seconds(30));
  EXPECT_NE(r.exit_status, 0);
  EXPECT_NE(r.err.find("unknown set-up 'carrier-pigeon'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dvmm
