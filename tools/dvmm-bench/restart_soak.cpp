#include "tools/dvmm-bench/restart_soak.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <limits>
#include <random>

#include "dataplane/impaired_transport.hpp"
#include "dataplane/reliable_link.hpp"
#include "dataplane/udp_transport.hpp"
#include "tools/dvmm-bench/forked_child.hpp"
#include "tools/dvmm-bench/restart_peer.hpp"

namespace dvmm::bench {
namespace {

using dataplane::Message;

// Two addresses, as two hosts would have; both on the loopback.
constexpr const char* kSurvivorHost = "127.0.0.1";
constexpr const char* kRestartingHost = "127.0.0.2";
// As the fake soak: about one window in flight (pacing on the log, which
// is the harness's view, not the protocol's).
constexpr uint64_t kInFlight = 200;
constexpr int kReadyTimeoutMs = 10'000;
constexpr uint64_t kMaxIds = uint64_t{1} << 40;  // what a log entry holds

// The restarting endpoint's current process, and the starting of the next.
class Restarting {
 public:
  Restarting(RestartLog& log, dataplane::UdpTransport& survivor, const RestartSoakConfig& c)
      : log_(log), survivor_(survivor), config_(c) {}

  uint32_t started() const { return started_; }
  int control_fd() const { return child_.control_fd(); }

  // Forks the next incarnation and waits until it is up. The first one
  // binds any port; the survivor learns it, and the later ones take it.
  Status start() {
    RestartPeerSpec spec;
    spec.incarnation = started_;
    spec.survivor_host = kSurvivorHost;
    spec.survivor_port = survivor_.local_port();
    spec.host = kRestartingHost;
    spec.port = port_;
    spec.impairments = {.drop = config_.drop,
                        .duplicate = config_.duplicate,
                        .reorder = config_.reorder,
                        .seed = config_.seed + 1 + started_};
    spec.log = &log_;
    child_ = DVMM_TRY(ForkedChild::start([spec](int fd) { return run_restart_peer(spec, fd); }));
    ++started_;
    const RestartPeerReport r =
        DVMM_TRY(recv_control<RestartPeerReport>(child_.control_fd(), kReadyTimeoutMs));
    if (r.failed != 0) {
      return Error::format("restarting endpoint, incarnation {}: {}", spec.incarnation,
                           std::string(r.why, strnlen(r.why, sizeof r.why)));
    }
    if (port_ == 0) {
      port_ = r.port;
      DVMM_TRY(survivor_.set_peer_port(kRestartingNode, port_));
    }
    return {};
  }

  void kill() { child_.kill(); }

  // The child speaks after start-up only to say why it failed; EOF means
  // it died by itself. Empty while all is well.
  std::string trouble() {
    if (!control_readable(child_.control_fd())) return "";
    Result<RestartPeerReport> r = recv_control<RestartPeerReport>(child_.control_fd(), 0);
    if (!r.ok()) return "the restarting endpoint died on its own: " + r.error().message;
    return std::string(r->why, strnlen(r->why, sizeof r->why));
  }

 private:
  RestartLog& log_;
  dataplane::UdpTransport& survivor_;
  const RestartSoakConfig& config_;
  ForkedChild child_;
  uint16_t port_ = 0;
  uint32_t started_ = 0;
};

}  // namespace

Result<RestartSoakResult> run_restart_soak(const RestartSoakConfig& c) {
  for (double p : {c.drop, c.duplicate, c.reorder}) {
    if (p < 0 || p >= 1) return Error::format("soak: probabilities must be in [0, 1), got {}", p);
  }
  if (c.messages == 0 || c.messages >= kMaxIds) {
    return Error::format("soak: --messages must be between 1 and {}", kMaxIds - 1);
  }
  if (c.restart_every == 0) return Error::format("soak: --restart-every must be at least 1");
  if (!(c.time_limit_s > 0)) return Error::format("soak: --time-limit must be positive");

  // Kills come every `restart_every` new deliveries, at least half that:
  // that bounds the incarnations, and each may redeliver a window.
  const uint64_t min_gap = std::max<uint64_t>(1, c.restart_every / 2);
  const uint64_t incarnations = c.messages / min_gap + 2;
  if (incarnations >= (uint64_t{1} << 24)) {
    return Error::format("soak: --restart-every {} makes too many restarts for {} messages",
                         c.restart_every, c.messages);
  }
  const uint32_t window = dataplane::ReliableLink::Config{}.window;
  RestartLog log = DVMM_TRY(RestartLog::create(c.messages + incarnations * window + 1024,
                                               static_cast<uint32_t>(incarnations)));

  dataplane::UdpTransportConfig uc;
  uc.local = kSurvivorNode;
  // The other port is learnt from the first incarnation (1 until then).
  uc.nodes = {{kSurvivorNode, kSurvivorHost, 0}, {kRestartingNode, kRestartingHost, 1}};
  std::unique_ptr<dataplane::Transport> udp = DVMM_TRY(dataplane::make_udp_transport(uc));
  dataplane::ImpairedTransport wire(
      *udp, {.drop = c.drop, .duplicate = c.duplicate, .reorder = c.reorder, .seed = c.seed});
  MonotonicClock clock;
  dataplane::ReliableLink link(
      wire, clock,
      {.cluster_id = kRestartSoakCluster, .local = kSurvivorNode, .peers = {kRestartingNode}});

  // Forked before anything else runs: the survivor has no other thread.
  Restarting peer(log, static_cast<dataplane::UdpTransport&>(*udp), c);
  DVMM_TRY(peer.start());

  RestartSoakResult r;
  r.config = c;
  FromRestartingTally back;
  const std::function<void(const Message&)> deliver = [&](const Message& m) {
    if (const auto* p = std::get_if<dataplane::ClockPayload>(&m.payload)) {
      const auto inc = static_cast<uint32_t>(
          std::min<uint64_t>(p->t_sender, std::numeric_limits<uint32_t>::max()));
      back.on(log, inc, p->probe_id);
    }
  };
  std::mt19937_64 rng(c.seed);
  auto gap = [&] { return min_gap + rng() % (c.restart_every + 1); };
  uint64_t next_kill = gap();
  DeliveryProgress progress;
  uint64_t sent = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(c.time_limit_s);
  for (uint64_t round = 0;; ++round) {
    const uint64_t high = progress.update(log);
    while (sent < c.messages && sent < high + kInFlight) {
      Message m;
      m.header.dst_node = kRestartingNode;
      m.payload = dataplane::HeartbeatPayload{sent};
      DVMM_TRY(link.send(std::move(m)));
      ++sent;
    }
    const size_t work = link.poll(deliver);
    if (high >= c.messages && link.all_acknowledged()) {
      r.completed = true;
      break;
    }
    if (high >= next_kill && high < c.messages) {
      peer.kill();
      ++r.restarts;
      DVMM_TRY(peer.start());
      next_kill = high + gap();
      continue;
    }
    if (log.overflowed()) {
      r.failure = "the restart log is full";
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      r.failure = fmt::format("not done within {} s: {} of {} delivered, all acknowledged: {}",
                              c.time_limit_s, high, c.messages, link.all_acknowledged());
      break;
    }
    if (work == 0 || round % 256 == 0) {
      if (std::string t = peer.trouble(); !t.empty()) {
        r.failure = t;
        break;
      }
    }
    if (work == 0) wait_for_work(wire, link, clock, peer.control_fd(), 1'000'000);
  }
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (r.completed) {
    // The last incarnation's answers get acknowledged before it is killed
    // too, so that "died with sender" counts what the kills took, not the
    // end of the run. Bounded: what is left then is counted, no more.
    const uint32_t last = peer.started() - 1;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (log.acknowledged(last) < log.sent(last) && std::chrono::steady_clock::now() < until &&
           peer.trouble().empty()) {
      if (link.poll(deliver) == 0) wait_for_work(wire, link, clock, peer.control_fd(), 1'000'000);
    }
  }
  peer.kill();

  r.to_restarting = audit_to_restarting(log, sent, window);
  r.from_restarting = back.finish(log, peer.started());
  const dataplane::LinkCounters k = link.counters();
  r.peer_restarts_seen = k.peer_restarts;
  r.stale_at_survivor = k.stale_incarnation;
  r.retransmitted = k.retransmitted;
  for (uint32_t i = 0; i < peer.started(); ++i) r.stale_at_restarting += log.stale(i);
  const dataplane::ImpairedTransport::Stats w = wire.stats();
  r.wire_dropped = w.dropped;
  r.wire_duplicated = w.duplicated;
  r.wire_reordered = w.reordered;
  return r;
}

nlohmann::json restart_soak_to_json(const RestartSoakResult& r) {
  const ToRestartingAudit& to = r.to_restarting;
  const FromRestartingTally::Counts& from = r.from_restarting;
  return {{"mode", "soak-kill-restart"},
          {"transport", "udp"},
          {"messages", r.config.messages},
          {"restart_every", r.config.restart_every},
          {"drop", r.config.drop},
          {"duplicate", r.config.duplicate},
          {"reorder", r.config.reorder},
          {"seed", r.config.seed},
          {"completed", r.completed},
          {"failure", r.failure},
          {"restarts", r.restarts},
          {"to_restarting",
           {{"delivered", to.delivered},
            {"lost", to.lost},
            {"doubled", to.doubled},
            {"misordered", to.misordered},
            {"redelivered", to.redelivered}}},
          {"from_restarting",
           {{"sent", from.sent},
            {"delivered", from.delivered},
            {"lost", from.lost},
            {"doubled", from.doubled},
            {"misordered", from.misordered},
            {"died_with_sender", from.died}}},
          {"link",
           {{"peer_restarts_seen", r.peer_restarts_seen},
            {"stale_at_survivor", r.stale_at_survivor},
            {"stale_at_restarting", r.stale_at_restarting},
            {"retransmitted", r.retransmitted}}},
          {"wire",
           {{"dropped", r.wire_dropped},
            {"duplicated", r.wire_duplicated},
            {"reordered", r.wire_reordered}}},
          {"wall_s", r.wall_s}};
}

std::string restart_soak_table(const RestartSoakResult& r) {
  const ToRestartingAudit& to = r.to_restarting;
  const FromRestartingTally::Counts& from = r.from_restarting;
  std::string t = fmt::format(
      "| messages | kills + restarts | drop / dup / reorder | delivered | lost | doubled | "
      "misordered | redelivered after a kill | answers sent, delivered, died with sender (lost, "
      "doubled, misordered) | restarts seen, stale frames dropped | wall s | messages/s |\n"
      "|---:|---:|---|---:|---:|---:|---:|---:|---|---|---:|---:|\n"
      "| {} | {} | {:.0f} % / {:.0f} % / {:.0f} % | {} | {} | {} | {} | {} | {}, {}, {} ({}, {}, "
      "{}) | {}, {} | {:.1f} | {:.0f} |\n",
      r.config.messages, r.restarts, r.config.drop * 100, r.config.duplicate * 100,
      r.config.reorder * 100, to.delivered, to.lost, to.doubled, to.misordered, to.redelivered,
      from.sent, from.delivered, from.died, from.lost, from.doubled, from.misordered,
      r.peer_restarts_seen, r.stale_at_survivor + r.stale_at_restarting, r.wall_s,
      static_cast<double>(r.config.messages) / r.wall_s);
  if (!r.completed) t += "\nNot completed: " + r.failure + "\n";
  return t;
}

}  // namespace dvmm::bench
