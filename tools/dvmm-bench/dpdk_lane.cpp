#include "tools/dvmm-bench/dpdk_lane.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "tools/dvmm-bench/bench_clock.hpp"
#include "tools/dvmm-bench/dpdk_endpoint.hpp"
#include "tools/dvmm-bench/echo_child.hpp"
#include "tools/dvmm-bench/echo_endpoint.hpp"

namespace dvmm::bench {
namespace {

// Initiator process -> parent: started (or not), then per phase its
// outcome, followed by `chunks` SampleChunks holding the round trips.
struct LaneReport {
  enum Kind : uint32_t { kStarted = 1, kPhaseDone = 2, kFailed = 3 };
  uint32_t kind = kFailed;
  uint32_t chunks = 0;
  uint64_t samples = 0;
  uint64_t elapsed_ns = 0;
  uint64_t resent = 0;
  uint64_t stray = 0;
  uint64_t retransmitted = 0;
  uint64_t echo_retransmitted = 0;
  uint8_t truncated = 0;
  char text[600] = {};  // kStarted: both ports; kFailed: the error
};

// 32 KiB of samples per message: well under an AF_UNIX socket's send buffer.
constexpr size_t kChunkSamples = 4096;
struct SampleChunk {
  uint64_t n = 0;
  uint64_t ns[kChunkSamples];
};

// EAL start (~0.2 s each, seconds on a loaded machine) plus memif's connect.
constexpr int kEchoStartTimeoutMs = 30'000;
constexpr int kLaneStartTimeoutMs = 60'000;
constexpr uint64_t kLinkWaitNs = 10'000'000'000;
// Beyond the phase's deadline and stop grace: the echo process's ready and
// final reports (echo_endpoint.cpp waits up to 5 s + 2 s) and a margin.
constexpr uint64_t kReportMarginNs = 10'000'000'000;

template <size_t N>
void put_text(char (&dst)[N], const std::string& s) {
  std::snprintf(dst, N, "%s", s.c_str());
}

// Node 1. Its first report says whether its port opened.
int echo_process(int fd, const std::string& kind, const std::string& socket,
                 const std::string& netns, int cpu) {
  EchoReport rep;
  auto fail = [&](const std::string& why) {
    put_text(rep.error, "node 1: " + why);
    (void)send_control(fd, rep);
    return 1;
  };
  if (!netns.empty()) {
    if (Status s = enter_netns(netns); !s.ok()) return fail(s.error().message);
  }
  // Pinned before the EAL starts: its threads then start on this CPU too.
  if (cpu >= 0) {
    if (Status s = pin_to_cpu(cpu); !s.ok()) return fail(s.error().message);
  }
  Result<std::unique_ptr<dataplane::Transport>> t = open_dpdk_endpoint({kind, 1, socket});
  if (!t.ok()) return fail(t.error().message);
  rep.kind = EchoReport::kReady;
  put_text(rep.error, describe_dpdk_endpoint(**t));
  if (!send_control(fd, rep).ok()) return 0;
  return echo_child_main(fd, **t, -1);
}

Status send_phase(int fd, const PhaseResult& r, uint64_t echo_retransmitted) {
  LaneReport rep;
  rep.kind = LaneReport::kPhaseDone;
  rep.samples = r.rtt_ns.size();
  rep.chunks = static_cast<uint32_t>((rep.samples + kChunkSamples - 1) / kChunkSamples);
  rep.elapsed_ns = r.elapsed_ns;
  rep.resent = r.resent;
  rep.stray = r.stray;
  rep.retransmitted = r.retransmitted;
  rep.echo_retransmitted = echo_retransmitted;
  rep.truncated = r.truncated ? 1 : 0;
  DVMM_TRY(send_control(fd, rep));
  auto chunk = std::make_unique<SampleChunk>();
  for (size_t at = 0; at < r.rtt_ns.size(); at += chunk->n) {
    chunk->n = std::min(kChunkSamples, r.rtt_ns.size() - at);
    std::copy_n(r.rtt_ns.begin() + static_cast<ptrdiff_t>(at), chunk->n, chunk->ns);
    DVMM_TRY(send_control(fd, *chunk));
  }
  return {};
}

// The first pass through a port's rings is slow: memif's 1024 buffers of
// 9 KiB in shared memory, af_packet's ring slots and the mbufs are touched
// for the first time (page faults in both processes; ~10 µs per round trip
// instead of 0.5 here, for the first ~1000). Before any measured phase, the
// largest frame the port carries goes back and forth twice per ring slot,
// unrecorded, so that no layer pays for the first touch.
constexpr uint64_t kSettleRoundTrips = 2048;

Status settle(EchoEndpoint& ep, Progress& quiet) {
  PhaseSpec spec;
  spec.layer = Layer::kRaw;
  spec.size = static_cast<uint32_t>(ep.pair.initiator->max_frame_size());
  spec.tag = 0x5e771e;  // the parent's phases count from 1
  spec.warmup = kSettleRoundTrips;
  spec.count = 0;
  spec.deadline_ns = now_ns() + 30'000'000'000;
  uint64_t retx = 0;
  Result<PhaseResult> r = run_echo_phase(ep, spec, quiet, retx);
  if (!r.ok()) return r.take_error();
  return {};
}

// Node 0: forks node 1, opens its end once node 1's is open, then runs
// the parent's phases against it until the parent closes the channel.
int initiator_process(int fd, const std::string& kind, const std::string& socket,
                      const std::string (&netns)[2], const CpuPlan& plan) {
  LaneReport start;
  auto fail = [&](const std::string& why) {
    put_text(start.text, why);
    (void)send_control(fd, start);
    return 1;
  };
  if (plan.initiator_cpu >= 0) {
    if (Status s = pin_to_cpu(plan.initiator_cpu); !s.ok()) return fail(s.error().message);
  }
  EchoEndpoint ep;  // what run_echo_phase drives: our end and node 1's process
  ep.pair.kind = kind;
  Result<ForkedChild> echo = ForkedChild::start([&](int echo_fd) {
    close(fd);  // our channel to the parent is ours alone
    return echo_process(echo_fd, kind, socket, netns[1], plan.echo_cpu);
  });
  if (!echo.ok()) return fail("forking node 1: " + echo.error().message);
  ep.child = std::move(*echo);
  Result<EchoReport> ready = recv_control<EchoReport>(ep.child.control_fd(), kEchoStartTimeoutMs);
  if (!ready.ok()) return fail(fmt::format("node 1 (pid {}): {}", ep.child.pid(), ready.error().message));
  if (ready->kind != EchoReport::kReady) return fail(ready->error);
  const std::string echo_port = ready->error;

  if (!netns[0].empty()) {
    if (Status s = enter_netns(netns[0]); !s.ok()) return fail("node 0: " + s.error().message);
  }
  Result<std::unique_ptr<dataplane::Transport>> t = open_dpdk_endpoint({kind, 0, socket});
  if (!t.ok()) return fail("node 0: " + t.error().message);
  const uint64_t link_deadline = now_ns() + kLinkWaitNs;
  while (!dpdk_link_up(**t)) {
    if (now_ns() > link_deadline) return fail("node 0: the link did not come up within 10 s");
    usleep(1000);
  }
  put_text(start.text, fmt::format("node 0 {}; node 1 {}", describe_dpdk_endpoint(**t), echo_port));
  ep.pair.initiator = std::move(*t);
  Progress quiet(false, 0);  // the parent draws the bar
  if (Status s = settle(ep, quiet); !s.ok()) return fail("warming up: " + s.error().message);
  start.kind = LaneReport::kStarted;
  if (!send_control(fd, start).ok()) return 0;

  for (;;) {
    Result<EchoCommand> cmd = recv_control<EchoCommand>(fd, -1);
    if (!cmd.ok()) break;  // EOF: the parent is done
    uint64_t echo_retx = 0;
    Result<PhaseResult> r = run_echo_phase(ep, to_spec(*cmd), quiet, echo_retx);
    Status sent;
    if (r.ok()) {
      sent = send_phase(fd, *r, echo_retx);
    } else {
      LaneReport rep;
      put_text(rep.text, r.error().message);
      sent = send_control(fd, rep);
    }
    if (!sent.ok()) break;
  }
  return ep.child.finish(kEchoExitTimeoutMs) == 0 ? 0 : 4;
}

}  // namespace

Result<std::unique_ptr<DpdkLane>> DpdkLane::start(const std::string& kind, const CpuPlan& plan,
                                                  const std::function<void()>& in_child) {
  std::unique_ptr<DpdkLane> lane(new DpdkLane);
  lane->kind_ = kind;
  std::string netns[2];
  if (kind == kDpdkAfPacket) {
    lane->netns_ = DVMM_TRY(VethNamespaces::create());
    for (unsigned n = 0; n < 2; ++n) netns[n] = lane->netns_->node_namespace(n);
  }
  // memif's default: an abstract socket (no file to remove), unique per
  // run and lane.
  static unsigned serial = 0;
  const std::string socket = fmt::format("/run/dvmm-bench-{}-{}.memif", getpid(), serial++);
  lane->initiator_ = DVMM_TRY(ForkedChild::start([&](int fd) {
    in_child();
    return initiator_process(fd, kind, socket, netns, plan);
  }));
  const int fd = lane->initiator_.control_fd();
  Result<LaneReport> started = recv_control<LaneReport>(fd, kLaneStartTimeoutMs);
  if (!started.ok()) {
    return Error::format("{}: the DPDK processes did not start: {}", kind, started.error().message);
  }
  if (started->kind != LaneReport::kStarted) {
    return Error::format("{}: {}", kind, started->text);
  }
  lane->detail_ = started->text;
  return lane;
}

DpdkLane::~DpdkLane() = default;

Result<PhaseResult> DpdkLane::run_phase(const PhaseSpec& spec, Progress& progress,
                                        uint64_t& echo_retransmitted) {
  const int fd = initiator_.control_fd();
  progress.set_label(fmt::format("{} {} {} B", kind_, layer_name(spec.layer), spec.size));
  DVMM_TRY(send_control(fd, to_command(spec)));
  const uint64_t now = now_ns();
  const uint64_t wait_ns =
      (spec.deadline_ns > now ? spec.deadline_ns - now : 0) + kStopGraceNs + kReportMarginNs;
  const LaneReport rep =
      DVMM_TRY(recv_control<LaneReport>(fd, static_cast<int>(wait_ns / 1'000'000)));
  if (rep.kind != LaneReport::kPhaseDone) {
    return Error::format("{} (initiator process pid {}): {}", kind_, initiator_.pid(),
                         rep.kind == LaneReport::kFailed ? rep.text : "unexpected report");
  }
  PhaseResult r;
  r.elapsed_ns = rep.elapsed_ns;
  r.resent = rep.resent;
  r.stray = rep.stray;
  r.retransmitted = rep.retransmitted;
  r.truncated = rep.truncated != 0;
  r.rtt_ns.reserve(rep.samples);
  for (uint32_t c = 0; c < rep.chunks; ++c) {
    const Result<SampleChunk> got = recv_control<SampleChunk>(fd, 5000);
    if (!got.ok()) return Error::format("{}: samples: {}", kind_, got.error().message);
    if (got->n > kChunkSamples) return Error::format("{}: bad sample chunk", kind_);
    r.rtt_ns.insert(r.rtt_ns.end(), got->ns, got->ns + got->n);
  }
  if (r.rtt_ns.size() != rep.samples) {
    return Error::format("{}: {} samples announced, {} received", kind_, rep.samples,
                         r.rtt_ns.size());
  }
  for (size_t i = 0; i < r.rtt_ns.size(); ++i) progress.tick();
  echo_retransmitted = rep.echo_retransmitted;
  return r;
}

}  // namespace dvmm::bench
