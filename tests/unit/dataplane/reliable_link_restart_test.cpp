// Peer restarts at the link layer (reliable_link.hpp, "Peer restarts"): node
// B's link is destroyed and a new one, a new incarnation, takes over B's
// endpoint of the fake network, as a killed and restarted process would.
// Frames already on the wire stay there: the new incarnation receives what
// was sent to its predecessor, and A receives the predecessor's late frames.
//
// A streams numbered messages to B; B's messages carry its incarnation's
// index and a number of their own. Every delivery is recorded, and audit()
// applies the definitions that dvmm-bench soak --kill-restart reports:
//   A -> B  lost: sent by A, delivered by no incarnation of B;
//           doubled: delivered twice by one incarnation;
//           misordered: an incarnation's deliveries not consecutive, or
//             starting past everything delivered before (a gap);
//           redelivered: delivered by an incarnation although an earlier
//             one had delivered it (the crash window: legitimate, at most a
//             window per restart);
//   B -> A  per incarnation a prefix of what it sent, in order, once, and
//           nothing of an incarnation after a newer one.
// Single-threaded on a ManualClock: each test replays exactly from its seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "dataplane/fake_transport.hpp"
#include "dataplane/reliable_link.hpp"
#include "tests/unit/dataplane/test_seed.hpp"

namespace dvmm::dataplane {
namespace {

constexpr uint32_t kCluster = 0xC1A5;
constexpr NodeId kA = 1;
constexpr NodeId kB = 2;
constexpr uint64_t kIncarnationA = 0xA000;
constexpr uint64_t kIncarnationB = 0xB000;  // + the restart count

using test::test_seed;

Message numbered(NodeId dst, uint64_t value) {
  Message m;
  m.header.dst_node = dst;
  m.payload = HeartbeatPayload{.sent_ns = value};
  return m;
}

uint64_t value_of(const Message& m) {
  return std::get<HeartbeatPayload>(m.payload).sent_ns;
}

struct Audit {
  uint64_t lost = 0, doubled = 0, misordered = 0, redelivered = 0;  // A -> B
  uint64_t b_doubled = 0, b_misordered = 0, b_died = 0;             // B -> A
};

class RestartPair {
 public:
  explicit RestartPair(FakeNetwork::Config net_config, ReliableLink::Config link_config = {})
      : net_(clock_, net_config), link_config_(link_config) {
    a_ = make(kA, kB, kIncarnationA);
    b_ = make(kB, kA, kIncarnationB);
    at_b_.emplace_back();
    b_sent_.push_back(0);
  }

  ManualClock& clock() { return clock_; }
  FakeNetwork& net() { return net_; }
  ReliableLink& a() { return *a_; }
  ReliableLink& b() { return *b_; }
  uint32_t restarts() const { return restarts_; }
  uint64_t a_sent() const { return a_sent_; }
  // A's numbers as each incarnation of B delivered them.
  const std::vector<std::vector<uint64_t>>& at_b() const { return at_b_; }
  // B's messages as A delivered them: (incarnation index, number).
  const std::vector<std::pair<uint64_t, uint64_t>>& at_a() const { return at_a_; }

  void send_a() {
    ASSERT_TRUE(a_->send(numbered(kB, a_sent_)).ok());
    ++a_sent_;
  }
  void send_b() {
    ASSERT_TRUE(b_->send(numbered(kA, (uint64_t{restarts_} << 32) | b_sent_.back())).ok());
    ++b_sent_.back();
  }

  // B dies (its link, with everything unsent and unacknowledged in it) and
  // comes back as the next incarnation on the same endpoint.
  void restart_b() {
    b_.reset();
    ++restarts_;
    b_ = make(kB, kA, kIncarnationB + restarts_);
    at_b_.emplace_back();
    b_sent_.push_back(0);
  }

  size_t poll_a() {
    return a_->poll([this](const Message& m) {
      at_a_.emplace_back(value_of(m) >> 32, value_of(m) & 0xFFFF'FFFF);
    });
  }
  // B answers each of A's messages with one of its own when `echo` is set.
  size_t poll_b() {
    return b_->poll([this](const Message& m) {
      at_b_.back().push_back(value_of(m));
      if (echo_) send_b();
    });
  }
  void set_echo(bool echo) { echo_ = echo; }

  // One round: both poll; busy rounds take 1 µs, idle ones jump to the next
  // timer or arrival. False when nothing at all is left to happen.
  bool step() {
    if (poll_a() + poll_b() > 0) {
      clock_.advance(1000);
      return true;
    }
    std::optional<uint64_t> next;
    for (auto t : {a_->next_timer_ns(), b_->next_timer_ns(), net_.next_arrival_ns(kA),
                   net_.next_arrival_ns(kB)}) {
      if (t) next = next ? std::min(*next, *t) : *t;
    }
    if (!next) return false;
    clock_.set(std::max(*next, clock_.now_ns() + 1));
    return true;
  }

  bool settle(size_t max_rounds = 200'000) {
    for (size_t i = 0; i < max_rounds; ++i) {
      if (!step()) return a_->all_acknowledged() && b_->all_acknowledged();
    }
    return false;
  }

  Audit audit() const {
    Audit r;
    std::vector<uint8_t> seen(a_sent_, 0);
    uint64_t next_new = 0;  // one past the highest number delivered so far
    for (const std::vector<uint64_t>& run : at_b_) {
      std::set<uint64_t> mine;
      for (size_t i = 0; i < run.size(); ++i) {
        const uint64_t v = run[i];
        if (v >= a_sent_ || !mine.insert(v).second) {
          ++r.doubled;
          continue;
        }
        const bool in_order = i == 0 ? v <= next_new : v == run[i - 1] + 1;
        if (!in_order) ++r.misordered;
        if (seen[v] != 0) ++r.redelivered;
        seen[v] = 1;
        next_new = std::max(next_new, v + 1);
      }
    }
    r.lost = static_cast<uint64_t>(std::count(seen.begin(), seen.end(), 0));
    std::vector<uint64_t> delivered(b_sent_.size(), 0);
    uint64_t newest = 0;
    for (const auto& [inc, n] : at_a_) {
      if (inc >= b_sent_.size() || n >= b_sent_[inc] || n < delivered[inc]) {
        ++r.b_doubled;
        continue;
      }
      if (inc < newest || n != delivered[inc]) ++r.b_misordered;
      newest = std::max(newest, inc);
      delivered[inc] = n + 1;
    }
    for (size_t i = 0; i < b_sent_.size(); ++i) r.b_died += b_sent_[i] - delivered[i];
    return r;
  }

 private:
  std::unique_ptr<ReliableLink> make(NodeId local, NodeId peer, uint64_t incarnation) {
    ReliableLink::Config c = link_config_;
    c.cluster_id = kCluster;
    c.local = local;
    c.peers = {peer};
    c.incarnation = incarnation;
    return std::make_unique<ReliableLink>(net_.endpoint(local), clock_, c);
  }

  ManualClock clock_;
  FakeNetwork net_;
  ReliableLink::Config link_config_;
  std::unique_ptr<ReliableLink> a_, b_;
  uint32_t restarts_ = 0;
  uint64_t a_sent_ = 0;
  std::vector<uint64_t> b_sent_;  // per incarnation of B
  std::vector<std::vector<uint64_t>> at_b_;
  std::vector<std::pair<uint64_t, uint64_t>> at_a_;
  bool echo_ = false;
};

void expect_clean(const Audit& r) {
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.doubled, 0u);
  EXPECT_EQ(r.misordered, 0u);
  EXPECT_EQ(r.b_doubled, 0u);
  EXPECT_EQ(r.b_misordered, 0u);
}

// ---- incarnations -------------------------------------------------------------------

TEST(ReliableLinkRestart, IncarnationsAreChosenNonZeroAndIncreasing) {
  ManualClock clock;
  FakeNetwork net(clock, {});
  ReliableLink first(net.endpoint(kA), clock, {.cluster_id = kCluster, .local = kA, .peers = {kB}});
  ReliableLink second(net.endpoint(kA), clock,
                      {.cluster_id = kCluster, .local = kA, .peers = {kB}});
  EXPECT_NE(first.incarnation(), 0u);
  EXPECT_GT(second.incarnation(), first.incarnation());
}

TEST(ReliableLinkRestart, FirstContactTakesOneRoundTrip) {
  RestartPair p({});
  for (int i = 0; i < 3; ++i) p.send_a();
  p.poll_b();
  EXPECT_TRUE(p.at_b()[0].empty()) << "addressed to incarnation 0: not delivered";
  EXPECT_EQ(p.b().counters().acks_sent, 1u) << "answered at once";
  p.poll_a();
  EXPECT_EQ(p.a().counters().retransmitted, 3u) << "sent again, now addressed to B";
  p.poll_b();
  EXPECT_EQ(p.at_b()[0], (std::vector<uint64_t>{0, 1, 2}));
  ASSERT_TRUE(p.settle());
  for (ReliableLink* l : {&p.a(), &p.b()}) {
    EXPECT_EQ(l->counters().peer_restarts, 0u) << "first contact is no restart";
    EXPECT_EQ(l->counters().stale_incarnation, 0u);
  }
  EXPECT_EQ(p.a().counters().acknowledged, 3u);
}

// ---- towards the restarted peer ------------------------------------------------------

TEST(ReliableLinkRestart, TheNewIncarnationGetsWhatTheOldDidNotAcknowledge) {
  RestartPair p({});
  p.send_a();
  ASSERT_TRUE(p.settle());  // in contact; message 0 delivered and acknowledged
  p.net().set_link_impairments(kB, kA, {.drop = 1.0});
  for (int i = 0; i < 10; ++i) p.send_a();
  p.poll_b();
  ASSERT_EQ(p.at_b()[0].size(), 11u) << "delivered, but the ACKs will be lost";
  p.clock().advance(100'000);
  p.poll_b();  // the delayed ACK, lost

  p.restart_b();
  p.net().clear_link_impairments(kB, kA);
  ASSERT_TRUE(p.settle());
  // A's retransmission reached the new B addressed to the old one: answered,
  // not delivered; then A restarted the link and resent 1..10 renumbered.
  EXPECT_GE(p.b().counters().stale_incarnation, 1u);
  EXPECT_EQ(p.a().counters().peer_restarts, 1u);
  EXPECT_EQ(p.at_b()[1], (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  const Audit r = p.audit();
  expect_clean(r);
  EXPECT_EQ(r.redelivered, 10u) << "delivered by the dead incarnation, never acknowledged";
  EXPECT_TRUE(p.a().all_acknowledged());
}

TEST(ReliableLinkRestart, AcknowledgedMessagesAreNotSentAgain) {
  RestartPair p({});
  for (int i = 0; i < 10; ++i) p.send_a();
  ASSERT_TRUE(p.settle());
  p.restart_b();
  for (int i = 0; i < 5; ++i) p.send_a();
  ASSERT_TRUE(p.settle());
  EXPECT_EQ(p.at_b()[1], (std::vector<uint64_t>{10, 11, 12, 13, 14}));
  EXPECT_EQ(p.a().counters().peer_restarts, 1u);
  const Audit r = p.audit();
  expect_clean(r);
  EXPECT_EQ(r.redelivered, 0u);
}

TEST(ReliableLinkRestart, TheFrameThatIntroducesANewIncarnationAcknowledgesNothing) {
  RestartPair p({});
  p.send_a();
  ASSERT_TRUE(p.settle());
  p.net().set_link_impairments(kA, kB, {.drop = 1.0});
  for (int i = 0; i < 5; ++i) p.send_a();  // 1..5: nobody receives them
  p.restart_b();
  // A frame from the new incarnation claiming all five: it cannot have
  // them (nothing was addressed to it yet), so the claim is not believed.
  Message claim;
  claim.header = {.type = MessageType::kAck,
                  .flags = kFlagAckOnly | kFlagIncarnation,
                  .src_node = kB,
                  .dst_node = kA,
                  .ack = 6,
                  .cluster_id = kCluster,
                  .src_incarnation = p.b().incarnation(),
                  .dst_incarnation = p.a().incarnation()};
  claim.payload = AckPayload{};
  std::vector<uint8_t> bytes(kMaxEncodedSize);
  bytes.resize(encode(claim, bytes));
  ASSERT_TRUE(p.net().inject(kB, kA, bytes).ok());
  p.poll_a();
  EXPECT_EQ(p.a().counters().peer_restarts, 1u);
  EXPECT_FALSE(p.a().all_acknowledged());
  EXPECT_EQ(p.a().counters().acknowledged, 1u) << "only message 0, by the old incarnation";

  p.net().clear_link_impairments(kA, kB);
  ASSERT_TRUE(p.settle());
  EXPECT_EQ(p.at_b()[1], (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  expect_clean(p.audit());
}

// ---- from the restarted peer -----------------------------------------------------------

TEST(ReliableLinkRestart, LateFramesOfTheOldIncarnationAreDropped) {
  RestartPair p({});
  p.send_a();
  ASSERT_TRUE(p.settle());
  // The old B's frames take 10 ms; the new one's arrive at once.
  p.net().set_link_impairments(kB, kA, {.delay_ns = 10'000'000});
  for (int i = 0; i < 5; ++i) p.send_b();
  p.restart_b();
  p.net().clear_link_impairments(kB, kA);
  for (int i = 0; i < 3; ++i) p.send_b();
  ASSERT_TRUE(p.settle());
  EXPECT_EQ(p.a().counters().peer_restarts, 1u);
  EXPECT_EQ(p.a().counters().stale_incarnation, 5u) << "the old B's five, after the new B";
  ASSERT_EQ(p.at_a().size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) EXPECT_EQ(p.at_a()[i], std::make_pair(uint64_t{1}, i));
  const Audit r = p.audit();
  expect_clean(r);
  EXPECT_EQ(r.b_died, 5u);
  EXPECT_NE(p.a().last_rejection().find("stale frame"), std::string::npos)
      << p.a().last_rejection();
}

TEST(ReliableLinkRestart, MessagesBufferedBehindAGapDieWithTheirSender) {
  RestartPair p({});
  p.send_a();
  ASSERT_TRUE(p.settle());
  p.net().set_link_impairments(kB, kA, {.drop = 1.0});
  p.send_b();  // B's message 0: lost
  p.net().clear_link_impairments(kB, kA);
  for (int i = 0; i < 4; ++i) p.send_b();  // 1..4 arrive ahead of the gap
  p.poll_a();
  EXPECT_EQ(p.a().counters().out_of_order, 4u);
  p.restart_b();
  for (int i = 0; i < 2; ++i) p.send_b();
  ASSERT_TRUE(p.settle());
  const std::vector<std::pair<uint64_t, uint64_t>> want{{1, 0}, {1, 1}};
  EXPECT_EQ(p.at_a(), want) << "nothing of the old incarnation";
  const Audit r = p.audit();
  expect_clean(r);
  EXPECT_EQ(r.b_died, 5u);
}

// ---- acknowledgement after delivery --------------------------------------------------------

TEST(ReliableLinkRestart, AReplyFromTheCallbackDoesNotAcknowledgeTheMessageBeingDelivered) {
  RestartPair p({}, {.ack_delay_ns = 50'000});
  p.send_a();
  ASSERT_TRUE(p.settle());
  p.set_echo(true);
  p.send_a();
  p.poll_b();  // delivers 1 and, from the callback, sends a reply
  p.poll_a();
  EXPECT_EQ(p.at_a().size(), 1u);
  EXPECT_FALSE(p.a().all_acknowledged())
      << "the reply left before the callback returned: it must not acknowledge 1";
  p.clock().advance(50'000);
  p.poll_b();  // the delayed ACK
  p.poll_a();
  EXPECT_TRUE(p.a().all_acknowledged());
}

// ---- the soak ------------------------------------------------------------------------------

// A streams to B, B answers every delivery, and B is killed and restarted
// every 1000-3000 new deliveries, under drops, duplicates and reordering.
TEST(ReliableLinkRestart, RepeatedRestartsUnderLossDuplicationAndReorderingLoseNothing) {
  const FakeImpairments hostile{.drop = 0.05,
                                .duplicate = 0.05,
                                .reorder = 0.05,
                                .reorder_depth = 8,
                                .reorder_max_hold_ns = 200'000,
                                .delay_ns = 2'000,
                                .jitter_ns = 3'000};
  RestartPair p({.seed = test_seed(61), .impairments = hostile});
  SCOPED_TRACE("seed " + std::to_string(p.net().seed()));
  p.set_echo(true);
  constexpr uint64_t kN = 20'000;
  constexpr uint64_t kInFlight = 200;
  std::mt19937_64 rng(p.net().seed());
  auto delivered = [&] {
    uint64_t high = 0;  // one past the highest number any incarnation delivered
    for (const auto& run : p.at_b()) {
      for (uint64_t v : run) high = std::max(high, v + 1);
    }
    return high;
  };
  uint64_t next_kill = 1000 + rng() % 2000;
  size_t rounds = 0;
  for (; rounds < 3'000'000; ++rounds) {
    const uint64_t high = delivered();
    while (p.a_sent() < kN && p.a_sent() < high + kInFlight) p.send_a();
    if (high >= next_kill && high < kN) {
      p.restart_b();
      next_kill = high + 1000 + rng() % 2000;
    }
    if (high == kN && p.a().all_acknowledged()) break;
    if (!p.step()) break;
  }
  ASSERT_EQ(delivered(), kN) << "stalled after " << rounds << " rounds";
  const Audit r = p.audit();
  expect_clean(r);
  EXPECT_GE(p.restarts(), 5u);
  EXPECT_EQ(p.a().counters().peer_restarts, p.restarts());
  EXPECT_LE(r.redelivered, uint64_t{p.restarts()} * 256) << "at most a window per restart";
  EXPECT_GT(p.a().counters().stale_incarnation + p.b().counters().stale_incarnation, 0u);
  RecordProperty("restarts", std::to_string(p.restarts()));
  RecordProperty("redelivered", std::to_string(r.redelivered));
  RecordProperty("b_died", std::to_string(r.b_died));
}

}  // namespace
}  // namespace dvmm::dataplane
