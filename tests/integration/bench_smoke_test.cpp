// dvmm-bench smoke test: `dvmm-bench transport --json` with tiny counts
// over shm, udp and the dpdk transports must produce well-formed JSON with
// sane values. No timing assertions (the machine is shared and noisy):
// only shape, order of percentiles, positivity and counts. The tool forks
// its echo process itself; run_process kills the whole process group if it
// hangs, and the test checks no ring file is left in /dev/shm and no
// network namespace of a finished run in /run/netns (also after SIGINT and
// SIGKILL). The dpdk cases need root and a dvmm-bench built with DPDK:
// without them the tool reports the series as not measured, and the tests
// check that and skip visibly.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
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

// A process that has exited (reaped or a zombie nobody reaped yet).
bool process_gone(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren == std::string::npos || line.compare(paren, 3, ") Z") == 0;
}

// /run/netns entries made by dvmm-bench ("dvmm-bench-<pid>-<n>a|b"):
// those of one pid, or (pid 0) those of processes that have exited.
std::vector<std::string> bench_namespaces(pid_t pid) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec)) {
    const std::string name = e.path().filename().string();
    const std::string prefix = "dvmm-bench-";
    if (name.rfind(prefix, 0) != 0) continue;
    const pid_t owner = static_cast<pid_t>(std::strtol(name.c_str() + prefix.size(), nullptr, 10));
    if (pid != 0 ? owner == pid : process_gone(owner)) found.push_back(name);
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
  // pmd: the floor under the dpdk transports only.
  ASSERT_TRUE(s.at("layer") == "raw" || s.at("layer") == "reliable" ||
              s.at("layer") == "authenticated" ||
              (s.at("layer") == "pmd" && transport.rfind("dpdk-", 0) == 0));
  EXPECT_EQ(s.at("requested_count").get<int>(), kCount);
  if (!s.at("measured").get<bool>()) {
    // Only the protocol stack may be skipped (sizes no message has).
    EXPECT_TRUE(s.at("layer") == "reliable" || s.at("layer") == "authenticated");
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
  // 2 sizes x 3 layers; at 64 B all three are measured, at 4 KiB the raw one.
  const json& series = j.at("series");
  ASSERT_EQ(series.size(), 6u);
  int measured = 0;
  for (const json& s : series) {
    check_series(s, transport);
    measured += s.at("measured").get<bool>() ? 1 : 0;
  }
  EXPECT_EQ(measured, 4);
  EXPECT_FALSE(j.at("ratios").empty());
  int auth_ratios = 0;
  for (const json& r : j.at("ratios")) auth_ratios += r.at("kind") == "authenticated/reliable" ? 1 : 0;
  EXPECT_EQ(auth_ratios, 1) << "authentication cost beside the unauthenticated stack";
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

// --- dpdk ---------------------------------------------------------------------

// Why the dpdk series were not measured, if the tool said they cannot be
// here (not root, built without DPDK); "" when they were measured.
std::string dpdk_skip_reason(const json& series) {
  const json& first = series.at(0);
  if (first.at("measured").get<bool>()) return {};
  const std::string why = first.at("skip_reason").get<std::string>();
  if (why.find("needs root") == std::string::npos &&
      why.find("built without DPDK") == std::string::npos) {
    return {};  // another reason: the checks below fail and show it
  }
  // Every layer of the transport has the same reason.
  for (const json& s : series) {
    EXPECT_FALSE(s.at("measured").get<bool>()) << s.dump();
    EXPECT_EQ(s.at("skip_reason"), why);
  }
  return why;
}

class BenchSmokeDpdk : public ::testing::TestWithParam<std::string> {};

TEST_P(BenchSmokeDpdk, TransportJsonHasThePmdFloorAndBothDvmmLayers) {
  const std::string transport = GetParam();
  const json j = run_bench({"--transport", transport, "--size", "64,4096", "--count",
                            std::to_string(kCount), "--warmup", "20", "--time-limit", "60"});
  ASSERT_TRUE(j.is_object());
  const json& series = j.at("series");
  // 2 sizes x 4 layers (pmd, raw, reliable, authenticated), measured or not.
  ASSERT_EQ(series.size(), 8u) << j.dump(2);
  if (const std::string why = dpdk_skip_reason(series); !why.empty()) {
    GTEST_SKIP() << transport << " not measurable here: " << why;
  }
  int measured = 0;
  for (const json& s : series) {
    check_series(s, transport);
    if (!s.at("measured").get<bool>()) continue;
    ++measured;
    // No frame may get lost on a veth or a memif ring at this rate.
    EXPECT_EQ(s.at("resent").get<int>(), 0) << s.dump();
  }
  // pmd, raw, reliable and authenticated at 64 B; pmd and raw at 4 KiB.
  EXPECT_EQ(measured, 6);
  for (const uint32_t size : {64u, 4096u}) {
    const json& pmd = series.at(size == 64 ? 0 : 4);
    EXPECT_EQ(pmd.at("layer"), "pmd");
    EXPECT_EQ(pmd.at("size").get<uint32_t>(), size);
  }
  // Both ports are described (what the processes opened).
  const std::string endpoints = j.at("method").at("endpoints").dump();
  EXPECT_NE(endpoints.find(transport == "dpdk-memif" ? "net_memif" : "net_af_packet"),
            std::string::npos)
      << endpoints;
  // What dvmm adds over the PMD: raw/pmd at both sizes, reliable/pmd at 64 B.
  int over_pmd = 0;
  for (const json& r : j.at("ratios")) {
    if (r.at("kind") != "over-pmd") continue;
    ++over_pmd;
    EXPECT_GT(r.at("p50").get<double>(), 0) << r.dump();
  }
  EXPECT_EQ(over_pmd, 3) << j.at("ratios").dump(2);
  EXPECT_TRUE(bench_namespaces(0).empty()) << "namespaces left behind";
}

INSTANTIATE_TEST_SUITE_P(Transports, BenchSmokeDpdk,
                         ::testing::Values("dpdk-memif", "dpdk-afpacket"));

// A long af_packet run, stopped by `signal` once its namespaces exist.
// Returns the namespaces that remain and whether the processes are gone;
// skips when the namespaces never appear because the tool cannot run dpdk.
struct Interrupted {
  std::vector<std::string> remaining;
  std::vector<pid_t> helpers;  // the forked DPDK processes
  test::ProcessResult result;
};

Interrupted interrupt_afpacket_run(int sig) {
  Interrupted out;
  test::Child bench({DVMM_BENCH_BINARY, "transport", "--json", "--transport", "dpdk-afpacket",
                     "--size", "64", "--count", "100000000", "--time-limit", "60"});
  const pid_t pid = bench.pid();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  // Started once the initiator process has its own child, the echo process
  // (the tool's other children are short-lived `ip` commands).
  while (std::chrono::steady_clock::now() < deadline && out.helpers.empty()) {
    for (const pid_t c : test::child_pids(pid)) {
      const std::vector<pid_t> g = test::child_pids(c);
      if (g.empty()) continue;
      out.helpers = {c};
      out.helpers.insert(out.helpers.end(), g.begin(), g.end());
      break;
    }
    if (process_gone(pid)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(bench_namespaces(pid).size(), 2u) << "the run's namespaces were not seen";
  // Let the measurement start (EAL, link), then stop it.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  bench.signal(sig);
  out.result = bench.wait(std::chrono::seconds(20));
  // The forked processes die with it (PDEATHSIG): give them a moment.
  for (int i = 0; i < 100; ++i) {
    bool all = true;
    for (const pid_t h : out.helpers) all = all && process_gone(h);
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  out.remaining = bench_namespaces(pid);
  return out;
}

bool can_run_dpdk(std::string& why) {
  if (geteuid() != 0) {
    why = "needs root";
    return false;
  }
  const json j = run_bench({"--transport", "dpdk-afpacket", "--size", "64", "--count", "10",
                            "--warmup", "1", "--time-limit", "30"});
  why = dpdk_skip_reason(j.at("series"));
  return why.empty();
}

TEST(BenchSmokeDpdkCleanup, SigintRemovesTheNamespacesAndTheProcesses) {
  std::string why;
  if (!can_run_dpdk(why)) GTEST_SKIP() << "dpdk-afpacket not measurable here: " << why;
  const Interrupted r = interrupt_afpacket_run(SIGINT);
  EXPECT_FALSE(r.result.timed_out);
  EXPECT_EQ(r.result.exit_status, 128 + SIGINT) << r.result.err;
  EXPECT_EQ(r.helpers.size(), 2u) << "the initiator and echo processes were not seen";
  EXPECT_TRUE(r.remaining.empty()) << "left behind: " << r.remaining.front();
  for (const pid_t h : r.helpers) EXPECT_TRUE(process_gone(h)) << "pid " << h << " survived";
}

TEST(BenchSmokeDpdkCleanup, NamespacesOfAKilledRunAreRemovedByTheNext) {
  std::string why;
  if (!can_run_dpdk(why)) GTEST_SKIP() << "dpdk-afpacket not measurable here: " << why;
  const Interrupted r = interrupt_afpacket_run(SIGKILL);
  // SIGKILL runs no handler: the namespaces stay until the next run.
  ASSERT_EQ(r.remaining.size(), 2u) << "expected the killed run's two namespaces";
  for (const pid_t h : r.helpers) EXPECT_TRUE(process_gone(h)) << "pid " << h << " survived";
  std::string again;
  ASSERT_TRUE(can_run_dpdk(again)) << again;
  EXPECT_TRUE(bench_namespaces(0).empty()) << "the next run did not remove them";
}

TEST(BenchSmokeCli, UnknownTransportIsAUsageError) {
  const test::ProcessResult r =
      test::run_process({DVMM_BENCH_BINARY, "transport", "--transport", "carrier-pigeon"},
                        std::chrono::seconds(30));
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("carrier-pigeon"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dvmm
