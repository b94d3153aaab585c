#include "tools/dvmm-bench/transport_bench.hpp"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "dataplane/authenticated_transport.hpp"
#include "dataplane/message.hpp"
#include "tools/dvmm-bench/bench_clock.hpp"
#include "tools/dvmm-bench/cpu_plan.hpp"
#include "tools/dvmm-bench/dpdk_endpoint.hpp"
#include "tools/dvmm-bench/dpdk_lane.hpp"
#include "tools/dvmm-bench/echo_endpoint.hpp"
#include "tools/dvmm-bench/progress.hpp"

namespace dvmm::bench {
namespace {

// The reliable layer sends an I/O request/response pair, the largest of
// dvmm's small control messages (<= 88 B before page data existed). It
// stands for requested sizes up to this bound; larger frames are the size
// of page data, which this tool deliberately does not use yet (its message
// type is still being written), so there only the raw layer is measured.
constexpr uint32_t kSmallMessageClass = 128;

constexpr const char* kKnownHere = "shm, udp, dpdk-memif, dpdk-afpacket; dpdk = both dpdk ones";

// The transport list with "dpdk" expanded and duplicates dropped.
std::vector<std::string> expand_transports(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  auto add = [&out](std::string_view t) {
    if (std::find(out.begin(), out.end(), t) == out.end()) out.emplace_back(t);
  };
  for (const std::string& t : given) {
    if (t == "dpdk") {
      add(kDpdkMemif);
      add(kDpdkAfPacket);
    } else {
      add(t);
    }
  }
  return out;
}

Status validate(const TransportBenchConfig& c) {
  if (c.transports.empty()) return Error::format("no transport given (known: {})", kKnownHere);
  for (const std::string& t : c.transports) {
    if (!is_known_transport(t) && !is_dpdk_transport(t)) {
      return Error::format("unknown transport '{}' (known: {}; fpga is not measurable yet)", t,
                           kKnownHere);
    }
  }
  if (c.sizes.empty()) return Error::format("no frame size given");
  for (const uint32_t s : c.sizes) {
    if (s < kMinRawFrame || s > dataplane::kMaxFrameSize) {
      return Error::format("--size {}: out of range {}..{} bytes", s, kMinRawFrame,
                           dataplane::kMaxFrameSize);
    }
  }
  if (c.count == 0) return Error::format("--count must be at least 1");
  if (c.rounds == 0 || c.rounds > c.count) {
    return Error::format("--rounds {}: must be between 1 and --count ({})", c.rounds, c.count);
  }
  if (c.dpdk_count != 0 && c.rounds > c.dpdk_count) {
    return Error::format("--dpdk-count {}: must be at least --rounds ({})", c.dpdk_count, c.rounds);
  }
  if (!(c.time_limit_s > 0)) return Error::format("--time-limit must be positive");
  return {};
}

// Why the protocol stack cannot be measured at this size, or "" if it can.
std::string reliable_skip_reason(uint32_t size, const MessageSizes& m) {
  if (size < m.request) {
    return fmt::format("smaller than the protocol round trip measured (I/O request, {} B)",
                       m.request);
  }
  if (size > kSmallMessageClass) {
    return fmt::format("larger than dvmm's small messages (<= {} B); page-sized messages are not "
                       "measured at this layer yet: raw frames only",
                       kSmallMessageClass);
  }
  return {};
}

SeriesResult make_series(const std::string& transport, uint32_t size, Layer layer,
                         const MessageSizes& m) {
  SeriesResult s;
  s.transport = transport;
  s.size = size;
  s.layer = layer;
  if (layer == Layer::kRaw) {
    s.wire_out = s.wire_back = size;
    s.what = fmt::format("{} B frame, echoed", size);
    s.measured = true;
  } else if (layer == Layer::kPmd) {
    // Counted like the raw layer's frame it stands under (the Ethernet
    // frame around both is the same: 16 + size bytes, at least 60).
    s.wire_out = s.wire_back = size;
    s.what = fmt::format("Ethernet frame of 16 + {} B, rte_eth_tx_burst/rx_burst, echoed with "
                         "MACs swapped",
                         size);
    s.measured = true;
  } else {
    // The authenticated layer's frames carry the tag besides the message.
    const size_t tag =
        layer == Layer::kAuthenticated ? dataplane::AuthenticatedTransport::kTagSize : 0;
    s.wire_out = m.request + tag;
    s.wire_back = m.response + tag;
    s.what = fmt::format("I/O request {} B -> I/O response {} B{}", m.request, m.response,
                         tag != 0 ? fmt::format(", each + {} B tag", tag) : "");
    s.skip_reason = reliable_skip_reason(size, m);
    s.measured = s.skip_reason.empty();
  }
  return s;
}

// Round trips of series phase `round` out of `rounds` (the remainder goes
// to the first rounds).
uint64_t phase_count(uint64_t total, unsigned rounds, unsigned round) {
  return total / rounds + (round < total % rounds ? 1 : 0);
}

void finish_series(SeriesResult& s) {
  if (!s.measured) return;
  std::sort(s.samples_ns.begin(), s.samples_ns.end());
  if (!s.samples_ns.empty()) s.latency = summarize(s.samples_ns);
  if (s.elapsed_ns > 0) {
    s.round_trips_per_s = static_cast<double>(s.latency.count) * 1e9 /
                          static_cast<double>(s.elapsed_ns);
  }
}

// The layers measured per transport: the pmd floor exists only under DPDK.
std::vector<Layer> layers_of(const std::string& transport) {
  if (is_dpdk_transport(transport)) {
    return {Layer::kPmd, Layer::kRaw, Layer::kReliable, Layer::kAuthenticated};
  }
  return {Layer::kRaw, Layer::kReliable, Layer::kAuthenticated};
}

// Why a dpdk transport cannot be measured in this process, or "". Not
// errors: a run over every transport still measures the others.
std::string dpdk_unavailable_reason(const std::string& transport) {
  if (!is_dpdk_transport(transport)) return {};
  if (!dpdk_built()) return kDpdkNotBuilt;
  if (geteuid() != 0) {
    return "needs root (DPDK's PMDs and network namespaces: CAP_NET_RAW, CAP_NET_ADMIN, "
           "CAP_SYS_ADMIN, CAP_IPC_LOCK); run dvmm-bench as root";
  }
  return {};
}

// One transport under test: an in-process initiator with a forked echo
// process (shm, udp), or both ends forked (dpdk: dpdk_lane.hpp).
struct Lane {
  std::string kind;
  std::optional<EchoEndpoint> local;
  std::unique_ptr<DpdkLane> dpdk;

  ForkedChild& child() { return dpdk ? dpdk->child() : local->child; }
  Result<PhaseResult> run_phase(const PhaseSpec& spec, Progress& progress, uint64_t& echo_retx) {
    if (dpdk) return dpdk->run_phase(spec, progress, echo_retx);
    return run_echo_phase(*local, spec, progress, echo_retx);
  }
};

}  // namespace

uint64_t series_count(const TransportBenchConfig& config, const std::string& transport) {
  return is_dpdk_transport(transport) && config.dpdk_count != 0 ? config.dpdk_count : config.count;
}

uint64_t default_warmup(uint64_t phase_count) {
  // Enough to fault in the rings and settle caches and branch predictors,
  // small next to the recorded count.
  return std::clamp<uint64_t>(phase_count / 10, 50, 5000);
}

Result<BenchRun> run_transport_bench(const TransportBenchConfig& given) {
  TransportBenchConfig config = given;
  config.transports = expand_transports(given.transports);
  DVMM_TRY(validate(config));
  const uint64_t start = now_ns();
  BenchRun run;
  run.config = config;
  run.machine = read_machine_info();
  run.clock = kClockName;
  run.clock_overhead_ns = timer_overhead_ns();
  const CpuPlan plan = DVMM_TRY(plan_cpus(config.cpus));
  run.cpu_plan = plan.description;
  const MessageSizes msg = reliable_message_sizes();

  // Every series, in output order: transport, size, layer.
  for (const std::string& t : config.transports) {
    const std::string unavailable = dpdk_unavailable_reason(t);
    if (!unavailable.empty()) {
      run.notes.push_back(fmt::format("{}: not measured: {}", t, unavailable));
    }
    for (const uint32_t size : config.sizes) {
      for (const Layer layer : layers_of(t)) {
        SeriesResult s = make_series(t, size, layer, msg);
        if (!unavailable.empty()) {
          s.measured = false;
          s.skip_reason = unavailable;
        }
        run.series.push_back(std::move(s));
      }
    }
  }

  const AffinityGuard restore_affinity;
  if (plan.initiator_cpu >= 0) DVMM_TRY(pin_to_cpu(plan.initiator_cpu));
  // Destroyed (children killed and reaped, namespaces removed) on every
  // way out of this function.
  std::vector<Lane> lanes;
  lanes.reserve(config.transports.size());
  auto close_inherited = [&lanes] {
    for (Lane& l : lanes) l.child().drop_inherited_copy();
  };
  for (const std::string& t : config.transports) {
    if (!dpdk_unavailable_reason(t).empty()) continue;
    Lane lane;
    lane.kind = t;
    if (is_dpdk_transport(t)) {
      lane.dpdk = DVMM_TRY(DpdkLane::start(t, plan, close_inherited));
      run.endpoints.push_back(fmt::format("{}: {}", t, lane.dpdk->detail()));
    } else {
      lane.local = DVMM_TRY(start_echo_endpoint(t, plan, close_inherited));
      run.endpoints.push_back(fmt::format("{}: {}", t, lane.local->pair.detail));
    }
    lanes.push_back(std::move(lane));
  }

  uint64_t total_round_trips = 0;
  for (const SeriesResult& s : run.series) {
    if (s.measured) total_round_trips += series_count(config, s.transport);
  }
  Progress progress(config.progress, total_round_trips);
  const uint64_t deadline = start + static_cast<uint64_t>(config.time_limit_s * 1e9);
  uint32_t next_tag = 1;
  bool out_of_time = false;

  for (unsigned round = 0; round < config.rounds && !out_of_time; ++round) {
    for (const uint32_t size : config.sizes) {
      for (size_t e = 0; e < lanes.size() && !out_of_time; ++e) {
        const uint64_t count =
            phase_count(series_count(config, lanes[e].kind), config.rounds, round);
        const uint64_t warmup = config.warmup > 0 ? config.warmup : default_warmup(count);
        for (SeriesResult& s : run.series) {
          if (!s.measured || s.transport != lanes[e].kind || s.size != size) continue;
          PhaseSpec spec;
          spec.layer = s.layer;
          spec.size = size;
          spec.tag = next_tag++;
          spec.warmup = warmup;
          spec.count = count;
          spec.deadline_ns = deadline;
          spec.yield_when_idle = plan.yield_when_idle;
          uint64_t echo_retx = 0;
          const PhaseResult r = DVMM_TRY(lanes[e].run_phase(spec, progress, echo_retx));
          s.samples_ns.insert(s.samples_ns.end(), r.rtt_ns.begin(), r.rtt_ns.end());
          s.elapsed_ns += r.elapsed_ns;
          s.resent += r.resent;
          s.stray += r.stray;
          s.retransmitted += r.retransmitted + echo_retx;
          s.warmup = warmup;
          ++s.phases;
          if (r.truncated) out_of_time = true;
          if (out_of_time) break;
        }
      }
    }
  }
  progress.finish();

  for (Lane& lane : lanes) {
    const int status = lane.child().finish(kEchoExitTimeoutMs);
    if (status != 0) {
      run.notes.push_back(fmt::format("the {} {} process exited with status {}", lane.kind,
                                      lane.dpdk ? "initiator" : "echo", status));
    }
  }
  for (SeriesResult& s : run.series) {
    s.requested = series_count(config, s.transport);
    s.truncated = s.measured && s.samples_ns.size() < s.requested;
    finish_series(s);
    if (s.truncated) {
      run.notes.push_back(fmt::format(
          "{} {} {} B: time limit ({} s) reached after {} of {} round trips", s.transport,
          layer_name(s.layer), s.size, config.time_limit_s, s.samples_ns.size(), s.requested));
    }
    if (s.resent > 0) {
      run.notes.push_back(fmt::format("{} {} {} B: {} frame(s) unanswered for 20 ms and resent "
                                      "(lost, or the echo process was descheduled that long)",
                                      s.transport, layer_name(s.layer), s.size, s.resent));
    }
  }
  run.wall_s = static_cast<double>(now_ns() - start) / 1e9;
  return run;
}

}  // namespace dvmm::bench
