// --plot DIR: PNG CDFs (one per frame size, every transport and layer on
// one log-scale chart) and histograms (one per series) drawn by gnuplot,
// run as a subprocess on a generated script. The data files and the
// script stay in DIR so a plot can be restyled by editing and re-running
// `gnuplot plots.gp` there. gnuplot is optional: without it the caller
// says so and carries on.
#pragma once

#include <string>
#include <vector>

#include "host/common/result.hpp"
#include "tools/dvmm-bench/transport_bench.hpp"

namespace dvmm::bench {

struct PlotOutcome {
  bool gnuplot_missing = false;
  std::vector<std::string> images;  // file names inside DIR
};

// Path of the gnuplot executable found in PATH, or "" when there is none.
std::string find_gnuplot();

// Errors: DIR cannot be created or written, gnuplot failed.
Result<PlotOutcome> write_plots(const std::string& dir, const BenchRun& run);

}  // namespace dvmm::bench
