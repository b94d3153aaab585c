// dvmm-bench smoke test: `dvmm-bench transport --json` with tiny counts
// over shm and udp must produce well-formed JSON with sane values. No
// timing assertions (the machine is shared and noisy): only shape, order
// of percentiles, positivity and counts. The tool forks its echo process
// itself; run_process kills the whole process group if it hangs, and the
// test checks no ring file is left in /dev/shm.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/bench_json_checks.hpp"
#include "tests/support/subprocess.hpp"

namespace dvmm {
namespace {

using nlohmann::json;

constexpr int kCount = 300;

std::vector<std::string> shm_leftovers() {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/dev/shm", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("dvmm-bench-", 0) == 0) found.push_back(name);
  }
  return found;
}

json run_bench(const std::vector<std::string>& args) {
  std::vector<std::string> argv{DVMM_BENCH_BINARY, "transport", "--json"};
  argv.insert(argv.end(), args.begin(), args.end());
  const test::ProcessResult r = test::run_process(argv, std::chrono::seconds(60));
  EXPECT_FALSE(r.timed_out) << r.err;
  EXPECT_EQ(r.exit_status, 0) << r.err;
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON:\n" << r.out << "\nstderr:\n" << r.err;
  return j;
}

void check_series(const json& s, const std::string& transport) {
  SCOPED_TRACE(s.dump());
  EXPECT_EQ(s.at("transport"), transport);
  ASSERT_TRUE(s.at("layer") == "raw" || s.at("layer") == "reliable");
  EXPECT_EQ(s.at("requested_count").get<int>(), kCount);
  if (!s.at("measured").get<bool>()) {
    // Only the protocol stack may be skipped (sizes no message has).
    EXPECT_EQ(s.at("layer"), "reliable");
    EXPECT_FALSE(s.at("skip_reason").get<std::string>().empty());
    return;
  }
  EXPECT_EQ(s.at("count").get<int>(), kCount);
  EXPECT_FALSE(s.at("truncated").get<bool>());
  EXPECT_GT(s.at("wire_bytes_out").get<int>(), 0);
  EXPECT_GT(s.at("wire_bytes_back").get<int>(), 0);
  test::expect_sane_latency(s.at("latency_ns"));
  EXPECT_GT(s.at("round_trips_per_s").get<double>(), 0);
  EXPECT_GT(s.at("elapsed_ns").get<uint64_t>(), 0u);
}

void check_run(const json& j, const std::string& transport) {
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.at("tool"), "dvmm-bench");
  const json& m = j.at("machine");
  EXPECT_FALSE(m.at("cpu_model").get<std::string>().empty());
  EXPECT_GT(m.at("cpus_online").get<int>(), 0);
  EXPECT_FALSE(m.at("kernel").get<std::string>().empty());
  EXPECT_EQ(j.at("method").at("clock"), "clock_gettime(CLOCK_MONOTONIC)");
  // 2 sizes x 2 layers; at 64 B both layers are measured, at 4 KiB the raw one.
  const json& series = j.at("series");
  ASSERT_EQ(series.size(), 4u);
  int measured = 0;
  for (const json& s : series) {
    check_series(s, transport);
    measured += s.at("measured").get<bool>() ? 1 : 0;
  }
  EXPECT_EQ(measured, 3);
  EXPECT_FALSE(j.at("ratios").empty());
}

class BenchSmoke : public ::testing::TestWithParam<std::string> {};

TEST_P(BenchSmoke, TransportJsonIsWellFormedAndSane) {
  const std::string transport = GetParam();
  const json j = run_bench({"--transport", transport, "--size", "64,4096", "--count",
                            std::to_string(kCount), "--warmup", "20", "--time-limit", "30"});
  check_run(j, transport);
  EXPECT_TRUE(shm_leftovers().empty());
}

INSTANTIATE_TEST_SUITE_P(Transports, BenchSmoke, ::testing::Values("shm", "udp"));

TEST(BenchSmokeCli, UnknownTransportIsAUsageError) {
  const test::ProcessResult r =
      test::run_process({DVMM_BENCH_BINARY, "transport", "--transport", "carrier-pigeon"},
                        std::chrono::seconds(30));
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("carrier-pigeon"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dvmm
