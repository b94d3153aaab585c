// --plot DIR: PNG CDFs (transport mode: one per frame size, every transport
// and layer on one log-scale chart; dsm mode: one per transport, every
// case and the raw round trips) and histograms (one per series) drawn by gnuplot,
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

// Errors: DIR cannot be created or written, gnuplot failed.
Result<PlotOutcome> write_plots(const std::string& dir, const BenchRun& run);

// The mode-independent part, for every mode's plots: one measured series.
struct PlotCurve {
  std::string stem;   // data file name without extension, unique in DIR
  std::string label;  // in a CDF's legend
  std::string title;  // of its histogram, e.g. "shm raw, 64 B"
  const std::vector<uint64_t>* samples = nullptr;  // sorted, non-empty
  LatencySummary latency;
};
// One CDF chart (log-scale x) with several curves.
struct CdfChart {
  std::string png;
  std::string title;
  std::vector<PlotCurve> curves;
};
struct PlotSet {
  std::string what;  // the measured quantity, e.g. "round trip", "fault latency"
  std::vector<CdfChart> cdfs;
  std::vector<PlotCurve> histograms;  // one PNG each: hist-<stem>.png
};
Result<PlotOutcome> write_plot_set(const std::string& dir, const MachineInfo& machine,
                                   const PlotSet& set);

}  // namespace dvmm::bench
