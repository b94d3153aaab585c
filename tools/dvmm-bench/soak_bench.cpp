#include "tools/dvmm-bench/soak_bench.hpp"

#include <array>
#include <chrono>
#include <vector>

#include <fmt/format.h>

#include "dataplane/fake_transport.hpp"
#include "dataplane/reliable_link.hpp"

namespace dvmm::bench {

namespace {

using dataplane::HeartbeatPayload;
using dataplane::Message;

// Receiver-side bookkeeping of one direction.
struct Tally {
  explicit Tally(uint64_t n) : seen(n, 0) {}
  std::vector<uint8_t> seen;
  uint64_t next = 0;  // the number in-order delivery expects next
  uint64_t delivered = 0, doubled = 0, misordered = 0;

  void on(uint64_t k) {
    ++delivered;
    if (k >= seen.size() || seen[k] != 0) {
      ++doubled;  // a number never sent counts as a doubled delivery too
      return;
    }
    seen[k] = 1;
    if (k != next) ++misordered;
    next = k + 1;
  }
  uint64_t unique() const { return delivered - doubled; }
};

}  // namespace

Result<SoakResult> run_soak(const SoakConfig& c) {
  for (double p : {c.drop, c.duplicate, c.reorder}) {
    if (p < 0 || p >= 1) return Error::format("soak: probabilities must be in [0, 1), got {}", p);
  }
  ManualClock clock;
  dataplane::FakeNetwork::Config nc;
  nc.seed = c.seed;
  nc.impairments.drop = c.drop;
  nc.impairments.duplicate = c.duplicate;
  nc.impairments.reorder = c.reorder;
  nc.impairments.delay_ns = 10'000;
  nc.impairments.jitter_ns = 5'000;
  dataplane::FakeNetwork net(clock, nc);
  std::array<std::unique_ptr<dataplane::ReliableLink>, 2> links;
  for (uint16_t n = 0; n < 2; ++n) {
    links[n] = std::make_unique<dataplane::ReliableLink>(
        net.endpoint(n), clock,
        dataplane::ReliableLink::Config{.cluster_id = 1, .local = n, .peers = {uint16_t(1 - n)}});
  }
  std::array<Tally, 2> tally{Tally(c.messages), Tally(c.messages)};  // by receiver
  std::array<uint64_t, 2> sent{0, 0};
  const auto start = std::chrono::steady_clock::now();
  // Keep about one window in flight per direction: sending everything at
  // once would only measure the backlog.
  constexpr uint64_t kInFlight = 200;
  for (;;) {
    bool done = true;
    for (uint16_t n = 0; n < 2; ++n) {
      const Tally& peer = tally[1 - n];
      while (sent[n] < c.messages && sent[n] < peer.unique() + kInFlight) {
        Message m;
        m.header.dst_node = static_cast<uint16_t>(1 - n);
        m.payload = HeartbeatPayload{sent[n]++};
        DVMM_TRY(links[n]->send(std::move(m)));
      }
      links[n]->poll([&](const Message& m) {
        if (const auto* hb = std::get_if<HeartbeatPayload>(&m.payload)) tally[n].on(hb->sent_ns);
      });
      done = done && sent[n] == c.messages && links[n]->all_acknowledged();
    }
    if (done) break;
    // Virtual time moves to the next event: a frame's arrival or a timer.
    std::optional<uint64_t> next;
    for (uint16_t n = 0; n < 2; ++n) {
      for (auto t : {net.next_arrival_ns(n), links[n]->next_timer_ns()}) {
        if (t && (!next || *t < *next)) next = t;
      }
    }
    if (!next) break;  // nothing will ever happen again: the counts say what is missing
    if (*next > clock.now_ns()) clock.advance(*next - clock.now_ns());
  }
  SoakResult r;
  r.config = c;
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.virtual_s = static_cast<double>(clock.now_ns()) / 1e9;
  for (uint16_t n = 0; n < 2; ++n) {
    r.delivered += tally[n].delivered;
    r.doubled += tally[n].doubled;
    r.misordered += tally[n].misordered;
    r.lost += c.messages - tally[n].unique();
    const auto k = links[n]->counters();
    r.retransmitted += k.retransmitted;
    r.duplicates_discarded += k.duplicates;
    r.buffered_out_of_order += k.out_of_order;
  }
  const auto w = net.stats();
  r.wire_sent = w.sent;
  r.wire_dropped = w.dropped;
  r.wire_duplicated = w.duplicated;
  r.wire_reordered = w.reordered;
  return r;
}

nlohmann::json soak_to_json(const SoakResult& r) {
  return {{"mode", "soak"},
          {"messages_per_direction", r.config.messages},
          {"drop", r.config.drop},
          {"duplicate", r.config.duplicate},
          {"reorder", r.config.reorder},
          {"seed", r.config.seed},
          {"delivered", r.delivered},
          {"lost", r.lost},
          {"doubled", r.doubled},
          {"misordered", r.misordered},
          {"wire", {{"sent", r.wire_sent}, {"dropped", r.wire_dropped},
                    {"duplicated", r.wire_duplicated}, {"reordered", r.wire_reordered}}},
          {"link", {{"retransmitted", r.retransmitted},
                    {"duplicates_discarded", r.duplicates_discarded},
                    {"buffered_out_of_order", r.buffered_out_of_order}}},
          {"wall_s", r.wall_s},
          {"virtual_s", r.virtual_s}};
}

std::string soak_table(const SoakResult& r) {
  return fmt::format(
      "| messages (each way) | drop / dup / reorder | delivered | lost | doubled | misordered | "
      "wire frames (dropped, duplicated, reordered) | retransmitted | wall s | messages/s |\n"
      "|---:|---|---:|---:|---:|---:|---|---:|---:|---:|\n"
      "| {} | {:.0f} % / {:.0f} % / {:.0f} % | {} | {} | {} | {} | {} ({}, {}, {}) | {} | {:.1f} | {:.0f} |\n",
      r.config.messages, r.config.drop * 100, r.config.duplicate * 100, r.config.reorder * 100,
      r.delivered, r.lost, r.doubled, r.misordered, r.wire_sent, r.wire_dropped,
      r.wire_duplicated, r.wire_reordered, r.retransmitted, r.wall_s,
      static_cast<double>(r.delivered) / r.wall_s);
}

}  // namespace dvmm::bench
