// dvmm-bench fpga: the offload engine's figures, measured rather than
// quoted: its latency in clock cycles from the whole-engine Verilator
// testbench (tb_engine, built beside dvmm-bench when Verilator is there),
// and its resource estimate from yosys synth_xilinx (fpga/synth; minutes,
// and only where yosys is installed). Each part that cannot run here is
// reported as not measured, with the reason.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "host/common/result.hpp"

namespace dvmm::bench {

struct FpgaBenchConfig {
  bool synth = true;  // run the yosys estimate (2-3 CPU minutes)
};

struct FpgaBenchResult {
  nlohmann::json latency;    // tb_engine's FPGA_LATENCY_JSON object, or null
  std::string latency_skip;  // why latency is null
  nlohmann::json synth;      // synth-estimate.sh's FPGA_SYNTH_JSON object, or null
  std::string synth_skip;
};

Result<FpgaBenchResult> run_fpga_bench(const FpgaBenchConfig& config);

nlohmann::json fpga_result_to_json(const FpgaBenchResult& r);
// Markdown tables (latency, resources), for the terminal and the report.
std::string fpga_tables(const FpgaBenchResult& r);

}  // namespace dvmm::bench
