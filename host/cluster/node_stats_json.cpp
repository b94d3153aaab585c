// A node's statistics as JSON (`--stats-json`): the same counters that
// `--stats` prints, under stable keys, for scripts and dashboards.
#include <cerrno>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "dataplane/fpga/engine_map.hpp"
#include "dataplane/fpga/fpga_link.hpp"
#include "host/cluster/cluster_node.hpp"
#ifdef DVMM_HAVE_FPGA_SIM
#include "dataplane/fpga/verilated_device.hpp"
#endif

namespace dvmm::cluster {

std::string ClusterNode::stats_json() const {
  nlohmann::ordered_json j;
  j["node"] = id_;
  j["cluster_id"] = config_.cluster_id;
  j["transport"] = transport_name(config_.transport);
  j["memory"] = memory_mode_name(config_.memory);
  j["authenticated"] = auth_ != nullptr;

  const auto t = transport_->counters();
  j["transport_counters"] = {{"tx_frames", t.tx_frames},   {"tx_bytes", t.tx_bytes},
                             {"rx_frames", t.rx_frames},   {"rx_bytes", t.rx_bytes},
                             {"tx_dropped", t.tx_dropped}, {"rx_dropped", t.rx_dropped}};
  const auto l = link_->counters();
  j["link"] = {{"sent", l.sent},
               {"delivered", l.delivered},
               {"retransmitted", l.retransmitted},
               {"duplicates", l.duplicates},
               {"out_of_order", l.out_of_order},
               {"malformed", l.malformed},
               {"foreign", l.foreign},
               {"unauthenticated", auth_ != nullptr ? auth_->auth_failures() : 0},
               {"acks_sent", l.acks_sent},
               {"backlogged", l.backlogged},
               {"out_of_window", l.out_of_window},
               {"acknowledged", l.acknowledged},
               {"peer_restarts", l.peer_restarts},
               {"stale_incarnation", l.stale_incarnation}};
  if (auto* f = dynamic_cast<dataplane::fpga::FpgaLink*>(link_.get())) {
    // The engine's own counters, and the host driver's.
    nlohmann::ordered_json engine;
    const auto e = f->engine_counters();
    for (size_t i = 0; i < e.size(); ++i) engine[dataplane::fpga::kEngineCounterNames[i]] = e[i];
    j["fpga"] = {{"device", f->device().name()}, {"bitmap_ipis", f->bitmap_ipis()}, {"engine", engine}};
#ifdef DVMM_HAVE_FPGA_SIM
    if (auto* sim = dynamic_cast<dataplane::fpga::VerilatedFpgaDevice*>(&f->device())) {
      const auto s = sim->stats();
      j["fpga"]["sim"] = {{"cycles", s.cycles},
                          {"paced_cycles", s.paced_cycles},
                          {"wire_tx_frames", s.wire_tx_frames},
                          {"wire_rx_frames", s.wire_rx_frames},
                          {"wire_dropped", s.wire_dropped},
                          {"dma_writes", s.dma_writes},
                          {"dma_outside", s.dma_outside}};
    }
#endif
  }
  const auto p = poller_->counters();
  j["poller"] = {{"iterations", p.iterations},
                 {"sleeps", p.sleeps},
                 {"wakeups", p.wakeups},
                 {"timeouts", p.timeouts}};
  if (dsm_) {
    const auto d = dsm_->counters();
    const auto u = dsm_region_->counters();
    j["dsm"] = {{"faults", {{"read", d.read_faults},
                            {"write", d.write_faults},
                            {"upgrade", d.upgrade_faults},
                            {"uffd_missing", u.missing_faults},
                            {"uffd_write_protect", u.wp_faults}}},
                {"pages_sent", d.pages_sent},
                {"pages_received", d.pages_received},
                {"zero_pages_sent", d.zero_pages_sent},
                {"zero_pages_received", d.zero_pages_received},
                {"chunks_sent", d.chunks_sent},
                {"chunks_received", d.chunks_received},
                {"bytes_sent", d.bytes_sent},
                {"bytes_received", d.bytes_received},
                {"invalidations", d.invalidations},
                {"downgrades", d.downgrades},
                {"grants_without_data", d.grants_without_data},
                {"requests_queued", d.requests_queued},
                {"forwards_deferred", d.forwards_deferred},
                {"completed", d.completed},
                {"blocked_ns", d.blocked_ns},
                {"rejected", d.rejected},
                {"uffd_errors", u.uffd_errors}};
  } else {
    j["dsm"] = nullptr;
  }
  return j.dump(2);
}

void ClusterNode::write_stats_json() const {
  std::ofstream f(options_.stats_json_path);
  f << stats_json() << "\n";
  f.close();
  if (!f) {
    spdlog::error("node {}: cannot write statistics to {}: {}", id_, options_.stats_json_path,
                  std::strerror(errno));
  }
}

}  // namespace dvmm::cluster
