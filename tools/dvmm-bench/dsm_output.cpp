#include "tools/dvmm-bench/dsm_output.hpp"

#include <fmt/format.h>

#include "tools/dvmm-bench/json_output.hpp"

namespace dvmm::bench {
namespace {

using json = nlohmann::ordered_json;

double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

json node_counters_to_json(const DsmNodeCounters& c) {
  return json{{"read_faults", c.read_faults},
              {"write_faults", c.write_faults},
              {"upgrade_faults", c.upgrade_faults},
              {"local_grants", c.local_grants},
              {"pages_sent", c.pages_sent},
              {"pages_received", c.pages_received},
              {"invalidations", c.invalidations},
              {"forwards_deferred", c.forwards_deferred},
              {"rejected", c.rejected},
              {"uffd_errors", c.uffd_errors},
              {"link_retransmitted", c.link_retransmitted}};
}

}  // namespace

std::string dsm_method_line(const DsmRun& run) {
  return fmt::format(
      "two DSM nodes (node 0 here, measuring; node 1 a forked peer), each userfaultfd + "
      "DsmProtocol + ReliableLink + adaptive poller thread; {}; {} pass(es) of {} over {} "
      "pages; hold time {} µs; poller spin {} µs",
      run.cpu_plan, run.passes_done, run.passes, run.config.pages, run.config.min_hold_us,
      run.config.poller_spin_us);
}

void print_dsm_table(std::FILE* out, const DsmRun& run) {
  fmt::print(out, "machine: {}\n", describe(run.machine));
  fmt::print(out, "method:  {}; clock {} ({} ns per reading)\n", dsm_method_line(run), run.clock,
             run.clock_overhead_ns);
  fmt::print(out, "\n{:<5} {:<14} {:>7} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9}  {}\n", "tport", "case",
             "count", "p50 µs", "p90", "p99", "p99.9", "max", "per s", "what");
  for (const DsmSeries& s : run.series) {
    if (s.latency.count == 0) {
      fmt::print(out, "{:<5} {:<14} no sample recorded: time limit reached\n", s.transport, s.name);
      continue;
    }
    const LatencySummary& l = s.latency;
    fmt::print(out, "{:<5} {:<14} {:>7} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f} {:>9.1f} {:>9.0f}  {}{}\n",
               s.transport, s.name, l.count, us(l.p50), us(l.p90), us(l.p99), us(l.p999), us(l.max),
               s.per_s, s.what, s.truncated ? " (TRUNCATED)" : "");
  }
  const std::vector<DsmRatio> ratios = dsm_ratios(run);
  if (!ratios.empty()) {
    fmt::print(out, "\nratios to the raw 4 KiB round trip (same run)    p50      p99    p99.9\n");
    for (const DsmRatio& r : ratios) {
      fmt::print(out, "  {:<5} {:<40} {:>6.1f}x {:>7.1f}x {:>7.1f}x\n", r.transport, r.label, r.p50,
                 r.p99, r.p999);
    }
  }
  const std::vector<DsmBreakdown> parts = dsm_breakdown(run);
  if (!parts.empty()) {
    fmt::print(out, "\np50 = raw 4 KiB round trip + uffd_local + rest (µs); engine: node 0's "
                    "request -> install, mean\n");
    for (const DsmBreakdown& b : parts) {
      fmt::print(out, "  {:<5} {:<14} {:>8.2f} = {:>6.2f} + {:>6.2f} + {:>7.2f}   engine {:>7.2f}\n",
                 b.transport, b.name, us(b.fault_p50), us(b.rtt_p50), us(b.floor_p50),
                 static_cast<double>(b.rest_ns) / 1000.0, us(b.engine_mean_ns));
    }
  }
  for (const std::string& n : run.notes) fmt::print(out, "note: {}\n", n);
}

json dsm_run_to_json(const DsmRun& run) {
  const DsmBenchConfig& c = run.config;
  json series = json::array();
  for (const DsmSeries& s : run.series) {
    json j{{"transport", s.transport}, {"case", s.name}, {"what", s.what}};
    if (s.raw_size > 0) j["size"] = s.raw_size;
    j["count"] = s.latency.count;
    j["truncated"] = s.truncated;
    if (s.latency.count > 0) j["latency_ns"] = latency_to_json(s.latency);
    j["elapsed_ns"] = s.elapsed_ns;
    j["per_s"] = s.per_s;
    if (s.engine_faults > 0) j["engine_mean_ns"] = s.engine_ns_sum / s.engine_faults;
    series.push_back(std::move(j));
  }
  json ratios = json::array();
  for (const DsmRatio& r : dsm_ratios(run)) {
    ratios.push_back(json{{"transport", r.transport}, {"label", r.label}, {"p50", r.p50},
                          {"p99", r.p99}, {"p99_9", r.p999}});
  }
  json breakdown = json::array();
  for (const DsmBreakdown& b : dsm_breakdown(run)) {
    breakdown.push_back(json{{"transport", b.transport}, {"case", b.name}, {"fault_p50_ns", b.fault_p50},
                             {"raw_rtt_4096_p50_ns", b.rtt_p50}, {"uffd_local_p50_ns", b.floor_p50},
                             {"rest_ns", b.rest_ns}, {"engine_mean_ns", b.engine_mean_ns}});
  }
  json counters = json::array();
  for (const DsmTransportCounters& t : run.counters) {
    counters.push_back(json{{"transport", t.transport},
                            {"node0", node_counters_to_json(t.node0)},
                            {"node1", node_counters_to_json(t.node1)}});
  }
  return json{
      {"tool", "dvmm-bench"},
      {"mode", "dsm"},
      {"machine", machine_to_json(run.machine)},
      {"method",
       json{{"clock", run.clock},
            {"clock_overhead_ns", run.clock_overhead_ns},
            {"nodes", dsm_method_line(run)},
            {"cpus", run.cpu_plan},
            {"transports", c.transports},
            {"pages", c.pages},
            {"count", c.count},
            {"passes", run.passes},
            {"passes_done", run.passes_done},
            {"bounces_per_pass", run.bounces_per_pass},
            {"raw_round_trips_per_pass", run.raw_per_pass},
            {"raw_sizes", c.raw_sizes},
            {"min_hold_us", c.min_hold_us},
            {"poller_spin_us", c.poller_spin_us},
            {"time_limit_s", c.time_limit_s},
            {"endpoints", run.endpoints}}},
      {"series", series},
      {"ratios", ratios},
      {"breakdown", breakdown},
      {"counters", counters},
      {"notes", run.notes},
      {"wall_s", run.wall_s}};
}

Result<PlotOutcome> write_dsm_plots(const std::string& dir, const DsmRun& run) {
  PlotSet set;
  set.what = "latency";
  for (const std::string& t : run.config.transports) {
    CdfChart chart;
    chart.png = fmt::format("dsm-cdf-{}.png", t);
    chart.title = fmt::format("DSM fault latency and raw round trips, {}", t);
    for (const DsmSeries& s : run.series) {
      if (s.transport != t || s.samples_ns.empty()) continue;
      PlotCurve c;
      c.stem = fmt::format("dsm-{}-{}", t, s.name);
      c.label = s.name;
      c.title = fmt::format("{} {}", t, s.name);
      c.samples = &s.samples_ns;
      c.latency = s.latency;
      chart.curves.push_back(c);
      set.histograms.push_back(c);
    }
    set.cdfs.push_back(std::move(chart));
  }
  return write_plot_set(dir, run.machine, set);
}

}  // namespace dvmm::bench
