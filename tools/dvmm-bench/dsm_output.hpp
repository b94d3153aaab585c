// The outputs of `dvmm-bench dsm`, in the transport mode's forms: a table
// for people, JSON (--json) for scripts, PNG plots (--plot DIR).
#pragma once

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "host/common/result.hpp"
#include "tools/dvmm-bench/dsm_bench.hpp"
#include "tools/dvmm-bench/plots.hpp"

namespace dvmm::bench {

void print_dsm_table(std::FILE* out, const DsmRun& run);
nlohmann::ordered_json dsm_run_to_json(const DsmRun& run);
// One CDF per transport (every case and the raw round trips), one
// histogram per series.
Result<PlotOutcome> write_dsm_plots(const std::string& dir, const DsmRun& run);

// One line on how the nodes were run, for the table and the report.
std::string dsm_method_line(const DsmRun& run);

}  // namespace dvmm::bench
