#include "tools/dvmm-bench/table_output.hpp"

#include <fmt/format.h>

#include "tools/dvmm-bench/comparisons.hpp"

namespace dvmm::bench {
namespace {

double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

}  // namespace

void print_table(std::FILE* out, const BenchRun& run) {
  fmt::print(out, "machine: {}\n", describe(run.machine));
  fmt::print(out, "method:  ping-pong between two processes, busy-polling; {}; clock {} ({} ns "
                  "per reading); {} round trips per series{} in {} round(s), warm-up excluded\n",
             run.cpu_plan, run.clock, run.clock_overhead_ns, run.config.count,
             run.config.dpdk_count != 0 ? fmt::format(" ({} for dpdk)", run.config.dpdk_count) : "",
             run.config.rounds);
  fmt::print(out, "\n{:<13} {:<13} {:>5}  {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10}  {}\n", "transport",
             "layer", "size", "count", "p50 µs", "p90", "p99", "p99.9", "max", "rt/s", "on the wire");
  for (const SeriesResult& s : run.series) {
    if (!s.measured) {
      fmt::print(out, "{:<13} {:<13} {:>5}  not measured: {}\n", s.transport, layer_name(s.layer),
                 s.size, s.skip_reason);
      continue;
    }
    if (s.latency.count == 0) {
      fmt::print(out, "{:<13} {:<13} {:>5}  no round trip recorded: time limit reached\n",
                 s.transport, layer_name(s.layer), s.size);
      continue;
    }
    const LatencySummary& l = s.latency;
    fmt::print(out, "{:<13} {:<13} {:>5}  {:>9} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.1f} {:>10.0f}  {}{}\n",
               s.transport, layer_name(s.layer), s.size, l.count, us(l.p50), us(l.p90), us(l.p99),
               us(l.p999), us(l.max), s.round_trips_per_s, s.what,
               s.truncated ? " (TRUNCATED)" : "");
  }
  const std::vector<Ratio> ratios = compute_ratios(run);
  if (!ratios.empty()) {
    fmt::print(out, "\nratios (same run, side by side)                 p50     p99   p99.9   p50 added\n");
    for (const Ratio& r : ratios) {
      fmt::print(out, "  {:<44} {:>6.2f}x {:>6.2f}x {:>6.2f}x {:>+8.2f} µs\n", r.label, r.p50, r.p99,
                 r.p999, r.p50_added_us);
    }
  }
  for (const std::string& n : run.notes) fmt::print(out, "note: {}\n", n);
}

}  // namespace dvmm::bench
