#include "tools/dvmm-bench/fpga_bench.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "tools/dvmm-bench/command.hpp"
#include "tools/dvmm-bench/ipi_bench.hpp"

namespace dvmm::bench {

namespace {

// The JSON object after `tag` on one line of `out`, or null.
nlohmann::json tagged_json(const std::string& out, const std::string& tag) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    const size_t at = line.find(tag);
    if (at == std::string::npos) continue;
    auto j = nlohmann::json::parse(line.substr(at + tag.size()), nullptr, false);
    if (!j.is_discarded()) return j;
  }
  return nullptr;
}

}  // namespace

Result<FpgaBenchResult> run_fpga_bench(const FpgaBenchConfig& config) {
  FpgaBenchResult r;
  // The testbench is built into the same bin directory as dvmm and dvmm-bench.
  const std::string tb =
      (std::filesystem::path(default_dvmm_binary()).parent_path() / "tb_engine").string();
  if (access(tb.c_str(), X_OK) != 0) {
    r.latency_skip = "the FPGA testbenches were not built here (Verilator missing, or "
                     "DVMM_FPGA_SIM=OFF)";
  } else {
    auto run = DVMM_TRY(run_command({tb}, std::chrono::seconds(120)));
    r.latency = tagged_json(run.out, "FPGA_LATENCY_JSON ");
    if (run.exit_status != 0 || r.latency.is_null()) {
      r.latency = nullptr;
      r.latency_skip = fmt::format("tb_engine exited with {}: {}", run.exit_status,
                                   last_line(run.out + run.err));
    }
  }
  const std::string yosys = find_program("yosys");
  const std::string script = std::string(DVMM_SOURCE_DIR) + "/fpga/synth/synth-estimate.sh";
  if (!config.synth) {
    r.synth_skip = "not asked for (--no-synth)";
  } else if (yosys.empty()) {
    r.synth_skip = "yosys is not installed (apt-get install yosys)";
  } else if (access(script.c_str(), X_OK) != 0) {
    r.synth_skip = "fpga/synth/synth-estimate.sh not found in the source tree " DVMM_SOURCE_DIR;
  } else {
    auto run = DVMM_TRY(run_command({script, yosys}, std::chrono::seconds(900)));
    r.synth = tagged_json(run.out, "FPGA_SYNTH_JSON ");
    if (run.exit_status != 0 || r.synth.is_null()) {
      r.synth = nullptr;
      r.synth_skip = fmt::format("synth-estimate.sh exited with {}: {}", run.exit_status,
                                 last_line(run.err.empty() ? run.out : run.err));
    }
  }
  return r;
}

nlohmann::json fpga_result_to_json(const FpgaBenchResult& r) {
  return {{"mode", "fpga"},
          {"latency", r.latency},
          {"latency_skip", r.latency_skip},
          {"synth", r.synth},
          {"synth_skip", r.synth_skip}};
}

std::string fpga_tables(const FpgaBenchResult& r) {
  std::string t;
  if (r.latency.is_null()) {
    t += "Latency: not measured: " + r.latency_skip + ".\n\n";
  } else {
    const auto& l = r.latency;
    const double mhz = l.value("clock_mhz", 0.0);
    auto row = [&](const char* what, const char* key) {
      const double cycles = l.value(key, 0.0);
      return fmt::format("| {} | {:.0f} | {:.0f} |\n", what, cycles,
                         mhz > 0 ? cycles * 1000.0 / mhz : 0.0);
    };
    t += fmt::format("| engine path (tb_engine, idle links) | cycles | ns at {:.0f} MHz |\n"
                     "|---|---:|---:|\n",
                     mhz);
    t += row("IPI descriptor, first beat in → first frame beat out",
             "ipi_desc_first_beat_to_tx_first_beat_cycles");
    t += row("IPI descriptor, last beat in → first frame beat out",
             "ipi_desc_last_beat_to_tx_first_beat_cycles");
    t += row("IPI frame, last beat in → pending bitmap written",
             "ipi_rx_last_beat_to_bitmap_write_cycles");
    t += row("64 B raw message, first descriptor beat → first frame beat",
             "raw64_desc_first_beat_to_tx_first_beat_cycles");
    t += row("raw message frame, last beat in → host queue", 
             "raw64_rx_last_beat_to_host_queue_first_beat_cycles");
    t += "\n";
  }
  if (r.synth.is_null()) {
    t += "Resources: not measured: " + r.synth_skip + ".\n";
  } else {
    const auto& s = r.synth;
    t += fmt::format(
        "| resource (yosys synth_xilinx -family xcup; 16 nodes, 64 APIC IDs, window 16) | count |\n"
        "|---|---:|\n| LUT (logic) | {} |\n| LUTRAM | {} |\n| FF | {} |\n| BRAM36 | {} |\n"
        "| CARRY8 | {} |\n| DSP | {} |\n",
        s.value("lut", 0), s.value("lutram", 0), s.value("ff", 0), s.value("bram36", 0.0),
        s.value("carry8", 0), s.value("dsp", 0));
  }
  return t;
}

}  // namespace dvmm::bench
