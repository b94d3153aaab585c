// `dvmm-bench report`: runs every benchmark mode (transport, dsm, ipi,
// soak, fpga) with counts sized for a minute or two on the project's
// 2-core machines and rewrites docs/benchmarks.md from the results:
// machine, method, the tables and the side-by-side ratios. A part that
// cannot run here (no root for DPDK, no Verilator, no yosys) is written as
// not measured, with the reason; numbers are never made up.
#pragma once

#include <string>

#include "host/common/result.hpp"
#include "tools/dvmm-bench/dsm_bench.hpp"
#include "tools/dvmm-bench/ipi_bench.hpp"
#include "tools/dvmm-bench/restart_soak.hpp"
#include "tools/dvmm-bench/soak_bench.hpp"
#include "tools/dvmm-bench/fpga_bench.hpp"
#include "tools/dvmm-bench/transport_bench.hpp"

namespace dvmm::bench {

struct ReportConfig {
  std::string out = "docs/benchmarks.md";
  TransportBenchConfig transport;  // transports, sizes, counts for the transport section
  DsmBenchConfig dsm;              // the DSM fault latency section
  IpiBenchConfig ipi;              // the guest-measured IPI section
  SoakConfig soak;                 // the exactly-once soak section
  RestartSoakConfig restart_soak;  // ... and its kill-and-restart run
  FpgaBenchConfig fpga;            // the FPGA engine section
  std::string plot_dir;            // optional: also write plots there and link them
  std::string command_line;        // how the report was made, printed in it
};

// The defaults `dvmm-bench report` uses.
ReportConfig default_report_config();

// Runs the benchmarks and writes the Markdown file.
Status run_report(const ReportConfig& config);

// The Markdown for finished runs (plots: image names in plot_dir, linked
// relative to the report's directory; empty = none; total_s: the whole
// report run's wall time).
std::string render_report(const ReportConfig& config, const BenchRun& run, const DsmRun& dsm,
                          const IpiBenchResult& ipi, const SoakResult& soak,
                          const RestartSoakResult& restart_soak, const FpgaBenchResult& fpga, const std::vector<std::string>& plots,
                          double total_s);

}  // namespace dvmm::bench
