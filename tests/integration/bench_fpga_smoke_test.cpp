// dvmm-bench fpga smoke test: the engine's latency comes from the
// whole-engine testbench as whole, positive cycle counts, in the order the
// engine's pipeline implies; without the testbench (no Verilator) the mode
// says why instead. The yosys estimate is not run here (minutes).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/subprocess.hpp"

namespace dvmm {
namespace {

using nlohmann::json;

TEST(BenchFpgaSmoke, LatencyInCyclesOrAReason) {
  auto r = test::run_process({DVMM_BENCH_BINARY, "fpga", "--no-synth", "--json"},
                             std::chrono::seconds(180));
  ASSERT_FALSE(r.timed_out);
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j.at("mode"), "fpga");
  EXPECT_TRUE(j.at("synth").is_null());
  EXPECT_EQ(j.at("synth_skip"), "not asked for (--no-synth)");
  if (j.at("latency").is_null()) {
    GTEST_SKIP() << "no FPGA testbench here: " << j.at("latency_skip");
  }
  const json& l = j.at("latency");
  const auto cycles = [&](const char* k) { return l.at(k).get<uint64_t>(); };
  EXPECT_GT(l.at("clock_mhz").get<double>(), 0);
  EXPECT_GT(cycles("ipi_rx_last_beat_to_bitmap_write_cycles"), 0u);
  EXPECT_GT(cycles("raw64_rx_last_beat_to_host_queue_first_beat_cycles"), 0u);
  // The first descriptor beat comes before the last one.
  EXPECT_GE(cycles("ipi_desc_first_beat_to_tx_first_beat_cycles"),
            cycles("ipi_desc_last_beat_to_tx_first_beat_cycles"));
  EXPECT_GT(cycles("ipi_desc_last_beat_to_tx_first_beat_cycles"), 0u);
}

}  // namespace
}  // namespace dvmm
