// dvmm-bench dsm smoke test: `dvmm-bench dsm --json` with a handful of
// faults over shm and udp must produce well-formed JSON with every case,
// positive and ordered percentiles, and engines that rejected nothing.
// No timing assertions (the machine is shared and noisy). The tool forks
// its peers itself; run_process kills the whole process group if it hangs,
// and the test checks that no ring file is left in /dev/shm.
//
// Needs userfaultfd, which needs root here (FACTS.md): skipped without it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/bench_json_checks.hpp"
#include "tests/support/subprocess.hpp"

namespace dvmm {
namespace {

using nlohmann::json;

// 2 passes over 4 pages: 8 faults per case, 8 bounces, 8 raw round trips
// of each size.
constexpr int kPages = 4;
constexpr int kCount = 8;

const std::vector<std::string> kCases{"raw_rtt_64",    "raw_rtt_4096", "uffd_local", "read_remote",
                                      "write_upgrade", "write_remote", "bounce"};

bool shm_leftovers() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/dev/shm", ec)) {
    if (e.path().filename().string().rfind("dvmm-bench-", 0) == 0) return true;
  }
  return false;
}

class BenchDsmSmoke : public ::testing::TestWithParam<std::string> {};

TEST_P(BenchDsmSmoke, JsonIsWellFormedAndSane) {
  if (geteuid() != 0) GTEST_SKIP() << "userfaultfd for KVM-style DSM needs root here";
  const std::string transport = GetParam();
  const test::ProcessResult r = test::run_process(
      {DVMM_BENCH_BINARY, "dsm", "--json", "--transport", transport, "--pages",
       std::to_string(kPages), "--count", std::to_string(kCount), "--time-limit", "60"},
      std::chrono::seconds(90));
  ASSERT_FALSE(r.timed_out) << r.err;
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << "not JSON:\n" << r.out << "\nstderr:\n" << r.err;

  EXPECT_EQ(j.at("tool"), "dvmm-bench");
  EXPECT_EQ(j.at("mode"), "dsm");
  EXPECT_FALSE(j.at("machine").at("cpu_model").get<std::string>().empty());
  EXPECT_EQ(j.at("method").at("passes").get<int>(), kCount / kPages);
  EXPECT_EQ(j.at("method").at("passes_done").get<int>(), kCount / kPages);

  // Every case exactly once, each with kCount samples.
  std::set<std::string> seen;
  for (const json& s : j.at("series")) {
    SCOPED_TRACE(s.dump());
    EXPECT_EQ(s.at("transport"), transport);
    const std::string name = s.at("case").get<std::string>();
    EXPECT_TRUE(seen.insert(name).second) << "twice: " << name;
    EXPECT_EQ(s.at("count").get<int>(), kCount);
    EXPECT_FALSE(s.at("truncated").get<bool>());
    test::expect_sane_latency(s.at("latency_ns"));
    EXPECT_GT(s.at("per_s").get<double>(), 0);
  }
  EXPECT_EQ(seen, std::set<std::string>(kCases.begin(), kCases.end()));

  // The comparison the mode exists for: every DSM case over the raw 4 KiB
  // round trip of the same transport.
  EXPECT_EQ(j.at("ratios").size(), kCases.size() - 2);
  for (const json& ratio : j.at("ratios")) EXPECT_GT(ratio.at("p50").get<double>(), 0) << ratio.dump();
  EXPECT_EQ(j.at("breakdown").size(), 3u);

  // Both engines did the work and nothing was rejected: a rejected message
  // is a protocol bug, not noise.
  ASSERT_EQ(j.at("counters").size(), 1u);
  const json& c = j.at("counters")[0];
  const json& n0 = c.at("node0");
  const json& n1 = c.at("node1");
  EXPECT_EQ(n0.at("rejected").get<int>(), 0);
  EXPECT_EQ(n1.at("rejected").get<int>(), 0);
  EXPECT_EQ(n0.at("uffd_errors").get<int>(), 0);
  EXPECT_EQ(n1.at("uffd_errors").get<int>(), 0);
  EXPECT_GE(n0.at("read_faults").get<int>(), kCount);
  EXPECT_GE(n0.at("upgrade_faults").get<int>(), kCount);
  EXPECT_GE(n0.at("write_faults").get<int>(), kCount);
  EXPECT_GE(n0.at("local_grants").get<int>(), kCount);
  EXPECT_GT(n1.at("pages_sent").get<int>(), 0);
  EXPECT_GT(n1.at("pages_received").get<int>(), 0);

  EXPECT_FALSE(shm_leftovers());
}

INSTANTIATE_TEST_SUITE_P(Transports, BenchDsmSmoke, ::testing::Values("shm", "udp"));

TEST(BenchDsmSmokeCli, BadPageCountIsAUsageError) {
  const test::ProcessResult r = test::run_process({DVMM_BENCH_BINARY, "dsm", "--pages", "0"},
                                                  std::chrono::seconds(30));
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("--pages"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dvmm
