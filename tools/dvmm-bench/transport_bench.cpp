#include "tools/dvmm-bench/transport_bench.hpp"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "dataplane/message.hpp"
#include "tools/dvmm-bench/bench_clock.hpp"
#include "tools/dvmm-bench/cpu_plan.hpp"
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

Status validate(const TransportBenchConfig& c) {
  DVMM_TRY(check_transports(c.transports));
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
  } else {
    s.wire_out = m.request;
    s.wire_back = m.response;
    s.what = fmt::format("I/O request {} B -> I/O response {} B", m.request, m.response);
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

}  // namespace

uint64_t default_warmup(uint64_t phase_count) {
  // Enough to fault in the rings and settle caches and branch predictors,
  // small next to the recorded count.
  return std::clamp<uint64_t>(phase_count / 10, 50, 5000);
}

Result<BenchRun> run_transport_bench(const TransportBenchConfig& config) {
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
    for (const uint32_t size : config.sizes) {
      for (const Layer layer : {Layer::kRaw, Layer::kReliable}) {
        run.series.push_back(make_series(t, size, layer, msg));
      }
    }
  }

  const AffinityGuard restore_affinity;
  if (plan.initiator_cpu >= 0) DVMM_TRY(pin_to_cpu(plan.initiator_cpu));
  // Destroyed (children killed and reaped) on every way out of this function.
  std::vector<EchoEndpoint> endpoints;
  endpoints.reserve(config.transports.size());
  for (const std::string& t : config.transports) {
    EchoEndpoint ep = DVMM_TRY(start_echo_endpoint(t, plan, [&endpoints] {
      for (EchoEndpoint& e : endpoints) e.child.drop_inherited_copy();
    }));
    run.endpoints.push_back(fmt::format("{}: {}", t, ep.pair.detail));
    endpoints.push_back(std::move(ep));
  }

  uint64_t total_round_trips = 0;
  for (const SeriesResult& s : run.series) {
    if (s.measured) total_round_trips += config.count;
  }
  Progress progress(config.progress, total_round_trips);
  const uint64_t deadline = start + static_cast<uint64_t>(config.time_limit_s * 1e9);
  uint32_t next_tag = 1;
  bool out_of_time = false;

  for (unsigned round = 0; round < config.rounds && !out_of_time; ++round) {
    const uint64_t count = phase_count(config.count, config.rounds, round);
    const uint64_t warmup = config.warmup > 0 ? config.warmup : default_warmup(count);
    for (const uint32_t size : config.sizes) {
      for (size_t e = 0; e < endpoints.size() && !out_of_time; ++e) {
        for (SeriesResult& s : run.series) {
          if (!s.measured || s.transport != config.transports[e] || s.size != size) continue;
          PhaseSpec spec;
          spec.layer = s.layer;
          spec.size = size;
          spec.tag = next_tag++;
          spec.warmup = warmup;
          spec.count = count;
          spec.deadline_ns = deadline;
          spec.yield_when_idle = plan.yield_when_idle;
          uint64_t echo_retx = 0;
          const PhaseResult r = DVMM_TRY(run_echo_phase(endpoints[e], spec, progress, echo_retx));
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

  for (EchoEndpoint& ep : endpoints) {
    const int status = ep.child.finish(kEchoExitTimeoutMs);
    if (status != 0) {
      run.notes.push_back(fmt::format("the {} echo process exited with status {}", ep.pair.kind,
                                      status));
    }
  }
  for (SeriesResult& s : run.series) {
    s.requested = config.count;
    s.truncated = s.measured && s.samples_ns.size() < config.count;
    finish_series(s);
    if (s.truncated) {
      run.notes.push_back(fmt::format(
          "{} {} {} B: time limit ({} s) reached after {} of {} round trips", s.transport,
          layer_name(s.layer), s.size, config.time_limit_s, s.samples_ns.size(), config.count));
    }
    if (s.resent > 0) {
      run.notes.push_back(fmt::format("{} raw {} B: {} frame(s) unanswered for 20 ms and resent "
                                      "(lost, or the echo process was descheduled that long)",
                                      s.transport, s.size, s.resent));
    }
  }
  run.wall_s = static_cast<double>(now_ns() - start) / 1e9;
  return run;
}

}  // namespace dvmm::bench
