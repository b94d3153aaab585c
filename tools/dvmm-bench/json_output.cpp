#include "tools/dvmm-bench/json_output.hpp"

#include "tools/dvmm-bench/comparisons.hpp"
#include "tools/dvmm-bench/dpdk_endpoint.hpp"

namespace dvmm::bench {

// ordered_json: keys stay in the order written (tool, machine, method,
// series...), which reads better than alphabetical.
using json = nlohmann::ordered_json;

json machine_to_json(const MachineInfo& m) {
  return json{{"cpu_model", m.cpu_model},
              {"cpus_online", m.cpus_online},
              {"cpus_usable", m.cpus_usable},
              {"kernel", m.kernel},
              {"hypervisor_flag", m.hypervisor_flag},
              {"dev_kvm", m.dev_kvm}};
}

json latency_to_json(const LatencySummary& l) {
  return json{{"min", l.min},     {"p50", l.p50}, {"p90", l.p90},  {"p99", l.p99},
              {"p99_9", l.p999}, {"max", l.max}, {"mean", l.mean}};
}

namespace {

json series_to_json(const SeriesResult& s) {
  json j{{"transport", s.transport},
         {"layer", layer_name(s.layer)},
         {"size", s.size},
         {"measured", s.measured},
         {"what", s.what},
         {"wire_bytes_out", s.wire_out},
         {"wire_bytes_back", s.wire_back},
         {"requested_count", s.requested}};
  if (!s.measured) {
    j["skip_reason"] = s.skip_reason;
    return j;
  }
  const LatencySummary& l = s.latency;
  j["count"] = l.count;
  j["warmup_per_phase"] = s.warmup;
  j["phases"] = s.phases;
  j["truncated"] = s.truncated;
  if (l.count > 0) j["latency_ns"] = latency_to_json(l);
  j["elapsed_ns"] = s.elapsed_ns;
  j["round_trips_per_s"] = s.round_trips_per_s;
  j["messages_per_s"] = 2 * s.round_trips_per_s;
  j["resent"] = s.resent;
  j["stray"] = s.stray;
  j["retransmitted"] = s.retransmitted;
  return j;
}

}  // namespace

json run_to_json(const BenchRun& run) {
  const TransportBenchConfig& c = run.config;
  json series = json::array();
  for (const SeriesResult& s : run.series) series.push_back(series_to_json(s));
  json ratios = json::array();
  for (const Ratio& r : compute_ratios(run)) {
    ratios.push_back(json{{"kind", r.kind}, {"label", r.label}, {"p50", r.p50}, {"p99", r.p99},
                          {"p99_9", r.p999}, {"p50_added_us", r.p50_added_us}});
  }
  return json{
      {"tool", "dvmm-bench"},
      {"mode", "transport"},
      {"machine", machine_to_json(run.machine)},
      {"method",
       json{{"clock", run.clock},
            {"clock_overhead_ns", run.clock_overhead_ns},
            {"polling", "busy-poll in both processes"},
            {"cpus", run.cpu_plan},
            {"transports", c.transports},
            {"sizes", c.sizes},
            {"count", c.count},
            {"dpdk_count", series_count(c, std::string(kDpdkMemif))},
            {"rounds", c.rounds},
            {"time_limit_s", c.time_limit_s},
            {"endpoints", run.endpoints}}},
      {"series", series},
      {"ratios", ratios},
      {"notes", run.notes},
      {"wall_s", run.wall_s}};
}

}  // namespace dvmm::bench
