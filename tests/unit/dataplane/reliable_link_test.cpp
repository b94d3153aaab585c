// The reliability layer on the fake transport: exactly-once, in-order
// delivery under loss, duplication and reordering (every message carries a
// counter and every counter is checked), and each mechanism on its own:
// delayed and piggybacked ACKs, duplicate-triggered ACKs that repair lost
// ones, the window and its backlog, retransmission back-off, sequence
// wrap-around, and the checks that keep malformed and foreign frames out.
// Peer restarts (incarnations) have tests of their own
// (reliable_link_restart_test.cpp).
//
// Most tests run all nodes on one thread with a ManualClock, so they replay
// exactly from their seed (DVMM_TEST_SEED overrides it) and virtual time
// jumps straight to the next timer instead of sleeping.
#include "dataplane/reliable_link.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/fake_transport.hpp"
#include "tests/unit/dataplane/test_seed.hpp"

namespace dvmm::dataplane {
namespace {

constexpr uint32_t kCluster = 0xC1A5;
constexpr NodeId kA = 1;
constexpr NodeId kB = 2;
constexpr NodeId kC = 3;

using test::test_seed;

// ---- messages that carry a counter ------------------------------------------

// Cycles through every payload type; each carries the counter (an EOI only
// its low 8 bits: the full counters around it pin its position anyway).
constexpr uint64_t kPayloadKinds = 9;

Message counted_message(NodeId dst, uint64_t counter) {
  Message m;
  m.header.dst_node = dst;
  const auto c32 = static_cast<uint32_t>(counter);
  switch (counter % kPayloadKinds) {
    case 0:
      m.payload = IpiPayload{.target_vcpu = 1, .vector = 0x40, .destination = c32};
      break;
    case 1:
      m.payload = IoRequestPayload{.request_id = counter, .size = 4, .address = 0x3F8};
      break;
    case 2:
      m.payload = IoResponsePayload{.request_id = counter, .data = ~counter};
      break;
    case 3:
      m.payload = EoiPayload{.vector = static_cast<uint8_t>(counter)};
      break;
    case 4:
      m.payload = ApicUpdatePayload{.vcpu = 2, .update_id = c32};
      break;
    case 5:
      m.payload = ApicUpdateAckPayload{.update_id = c32};
      break;
    case 6:
      m.payload = ClockPayload{.probe_id = counter, .t_sender = 5};
      break;
    case 7:
      m.payload = HeartbeatPayload{.sent_ns = counter};
      break;
    default:
      m.payload = ControlPayload{.code = ControlCode::kReady, .status = static_cast<int32_t>(c32)};
      break;
  }
  return m;
}

bool carries(const Message& m, uint64_t counter) {
  // Variant index 0 is AckPayload; the counted kinds follow in order.
  if (m.payload.index() != counter % kPayloadKinds + 1) return false;
  const auto c32 = static_cast<uint32_t>(counter);
  if (auto* p = std::get_if<IpiPayload>(&m.payload)) return p->destination == c32;
  if (auto* p = std::get_if<IoRequestPayload>(&m.payload)) return p->request_id == counter;
  if (auto* p = std::get_if<IoResponsePayload>(&m.payload)) {
    return p->request_id == counter && p->data == ~counter;
  }
  if (auto* p = std::get_if<EoiPayload>(&m.payload))
    return p->vector == static_cast<uint8_t>(counter);
  if (auto* p = std::get_if<ApicUpdatePayload>(&m.payload)) return p->update_id == c32;
  if (auto* p = std::get_if<ApicUpdateAckPayload>(&m.payload)) return p->update_id == c32;
  if (auto* p = std::get_if<ClockPayload>(&m.payload)) return p->probe_id == counter;
  if (auto* p = std::get_if<HeartbeatPayload>(&m.payload)) return p->sent_ns == counter;
  if (auto* p = std::get_if<ControlPayload>(&m.payload))
    return p->status == static_cast<int32_t>(c32);
  return false;
}

std::vector<uint8_t> wire(const Message& m) {
  std::vector<uint8_t> out(kMaxEncodedSize);
  out.resize(encode(m, out));
  return out;
}

// m with the incarnation trailer every ReliableLink frame carries.
Message stamped(Message m, uint64_t src_incarnation, uint64_t dst_incarnation) {
  m.header.flags |= kFlagIncarnation;
  m.header.src_incarnation = src_incarnation;
  m.header.dst_incarnation = dst_incarnation;
  return m;
}

// ---- a cluster on one thread ------------------------------------------------

// N nodes, each a ReliableLink on a FakeNetwork endpoint, all driven from
// the test thread on a ManualClock. Every delivered message is checked
// against the next counter expected from its source.
class Cluster {
 public:
  Cluster(std::vector<NodeId> ids, FakeNetwork::Config net_config,
          ReliableLink::Config link_config = {})
      : net_(clock_, net_config), ids_(std::move(ids)) {
    for (NodeId id : ids_) {
      ReliableLink::Config c = link_config;
      c.cluster_id = kCluster;
      c.local = id;
      c.peers = ids_;  // the link leaves itself out
      links_[id] = std::make_unique<ReliableLink>(net_.endpoint(id), clock_, c);
    }
  }

  // Makes every link know every other's incarnation, as if they had
  // already exchanged frames, without sending anything: each gets an empty
  // ACK from each peer, addressed to it. Tests that count frames or timers
  // exactly call it first, since a link's first frames to a peer it has not
  // heard from only introduce it (a round trip).
  void introduce() {
    for (NodeId from : ids_) {
      for (NodeId to : ids_) {
        if (from == to) continue;
        Message hello;
        hello.header = {.type = MessageType::kAck,
                        .flags = kFlagAckOnly,
                        .src_node = from,
                        .dst_node = to,
                        .cluster_id = kCluster};
        hello.payload = AckPayload{};
        hello = stamped(hello, link(from).incarnation(), link(to).incarnation());
        ASSERT_TRUE(net_.inject(from, to, wire(hello)).ok());
      }
    }
    for (NodeId id : ids_) link(id).poll(nullptr);
  }

  ManualClock& clock() { return clock_; }
  FakeNetwork& net() { return net_; }
  ReliableLink& link(NodeId id) { return *links_.at(id); }
  const std::vector<NodeId>& ids() const { return ids_; }

  // Sends the next counter from `from` to `to`.
  void send(NodeId from, NodeId to) {
    uint64_t& next = sent_[{from, to}];
    const Status s = link(from).send(counted_message(to, next));
    ASSERT_TRUE(s.ok()) << s.error().message;
    ++next;
  }
  uint64_t sent(NodeId from, NodeId to) { return sent_[{from, to}]; }
  // Messages `to` received from `from`, each checked in order.
  uint64_t received(NodeId to, NodeId from) { return received_[{to, from}]; }
  uint64_t wrong() const { return wrong_; }
  const std::string& first_wrong() const { return first_wrong_; }

  size_t poll(NodeId id) {
    return link(id).poll([this, id](const Message& m) { check(id, m); });
  }

  size_t poll_all() {
    size_t work = 0;
    for (NodeId id : ids_) work += poll(id);
    return work;
  }

  // The earliest moment any link or frame needs attention.
  std::optional<uint64_t> next_event() {
    std::optional<uint64_t> next;
    auto consider = [&next](std::optional<uint64_t> t) {
      if (t) next = next ? std::min(*next, *t) : *t;
    };
    for (NodeId id : ids_) {
      consider(link(id).next_timer_ns());
      consider(net_.next_arrival_ns(id));
    }
    return next;
  }

  // One round: every node polls; busy rounds take `busy_ns` of virtual
  // time, idle ones jump to the next timer or arrival. False when nothing
  // at all is left to happen.
  bool step(uint64_t busy_ns = 1000) {
    if (poll_all() > 0) {
      clock_.advance(busy_ns);
      return true;
    }
    const std::optional<uint64_t> next = next_event();
    if (!next) return false;
    if (*next > clock_.now_ns()) {
      clock_.set(*next);
    } else {
      clock_.advance(busy_ns);
    }
    return true;
  }

  // Runs until quiet (everything delivered and acknowledged, no timers), or
  // the round limit.
  bool settle(size_t max_rounds = 100'000) {
    for (size_t i = 0; i < max_rounds; ++i) {
      if (!step()) return all_acknowledged();
    }
    return false;
  }

  bool all_acknowledged() {
    for (NodeId id : ids_) {
      if (!link(id).all_acknowledged()) return false;
    }
    return true;
  }

 private:
  void check(NodeId at, const Message& m) {
    const NodeId from = m.header.src_node;
    uint64_t& next = received_[{at, from}];
    if (m.header.dst_node != at || !carries(m, next)) {
      if (wrong_++ == 0) {
        first_wrong_ = "node " + std::to_string(at) + " got " + message_type_name(m.header.type) +
                       " from node " + std::to_string(from) + " where counter " +
                       std::to_string(next) + " was due";
      }
    }
    ++next;
  }

  ManualClock clock_;
  FakeNetwork net_;
  std::vector<NodeId> ids_;
  std::map<NodeId, std::unique_ptr<ReliableLink>> links_;
  std::map<std::pair<NodeId, NodeId>, uint64_t> sent_;
  std::map<std::pair<NodeId, NodeId>, uint64_t> received_;
  uint64_t wrong_ = 0;
  std::string first_wrong_;
};

const FakeImpairments kHostile{.drop = 0.05,
                               .duplicate = 0.05,
                               .reorder = 0.05,
                               .reorder_depth = 8,
                               .reorder_max_hold_ns = 200'000,
                               .delay_ns = 2'000,
                               .jitter_ns = 3'000};

// Every node streams `per_link` counted messages to every other node at
// once, keeping at most `max_ahead` unreceived per link so the backlog stays
// bounded; returns the rounds it took, or 0 past `max_rounds`.
size_t all_to_all(Cluster& c, uint64_t per_link, size_t max_rounds, uint64_t max_ahead = 1024) {
  for (size_t round = 1; round <= max_rounds; ++round) {
    bool done = true;
    for (NodeId from : c.ids()) {
      for (NodeId to : c.ids()) {
        if (from == to) continue;
        for (int burst = 0; burst < 32 && c.sent(from, to) < per_link &&
                            c.sent(from, to) - c.received(to, from) < max_ahead;
             ++burst) {
          c.send(from, to);
        }
        done = done && c.received(to, from) == per_link;
      }
    }
    if (done && c.all_acknowledged()) return round;
    c.step();
  }
  return 0;
}

void expect_all_delivered(Cluster& c, uint64_t per_link) {
  EXPECT_EQ(c.wrong(), 0u) << c.first_wrong();
  for (NodeId from : c.ids()) {
    for (NodeId to : c.ids()) {
      if (from == to) continue;
      EXPECT_EQ(c.received(to, from), per_link) << "node " << from << " -> node " << to;
    }
  }
  for (NodeId id : c.ids()) {
    EXPECT_EQ(c.link(id).counters().delivered, per_link * (c.ids().size() - 1)) << "node " << id;
    EXPECT_EQ(c.link(id).counters().sent, per_link * (c.ids().size() - 1)) << "node " << id;
  }
}

// ---- send() -------------------------------------------------------------------

TEST(ReliableLink, SendRejectsWhatCouldNeverBeDelivered) {
  Cluster c({kA, kB}, {});
  ReliableLink& a = c.link(kA);
  const Status to_self = a.send(counted_message(kA, 0));
  ASSERT_FALSE(to_self.ok());
  EXPECT_NE(to_self.error().message.find("not a peer"), std::string::npos);
  EXPECT_FALSE(a.send(counted_message(9, 0)).ok());

  Message ack;
  ack.header.dst_node = kB;
  ack.payload = AckPayload{};
  EXPECT_FALSE(a.send(ack).ok());

  // The receiver's codec would reject an SMI forever, stalling the link.
  Message smi = counted_message(kB, 0);
  std::get<IpiPayload>(smi.payload).delivery_mode = 2;
  const Status bad = a.send(smi);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("SMI"), std::string::npos) << bad.error().message;

  EXPECT_EQ(a.counters().sent, 0u);
  EXPECT_EQ(c.net().stats().sent, 0u);
  EXPECT_TRUE(a.all_acknowledged());
  EXPECT_EQ(a.next_timer_ns(), std::nullopt);
}

TEST(ReliableLink, FillsInTheHeaderAndDeliversInOrder) {
  Cluster c({kA, kB}, {});
  c.introduce();
  for (int i = 0; i < 20; ++i) c.send(kA, kB);
  std::vector<Message> got;
  c.link(kB).poll([&](const Message& m) { got.push_back(m); });
  ASSERT_EQ(got.size(), 20u);
  for (uint32_t i = 0; i < 20; ++i) {
    EXPECT_TRUE(carries(got[i], i));
    EXPECT_EQ(got[i].header.src_node, kA);
    EXPECT_EQ(got[i].header.dst_node, kB);
    EXPECT_EQ(got[i].header.cluster_id, kCluster);
    EXPECT_EQ(got[i].header.seq, i + 1) << "sequence numbers start at 1";
    EXPECT_EQ(got[i].header.src_incarnation, c.link(kA).incarnation());
    EXPECT_EQ(got[i].header.dst_incarnation, c.link(kB).incarnation());
  }
  EXPECT_TRUE(c.settle());
  EXPECT_EQ(c.link(kA).counters().retransmitted, 0u);
}

// ---- ACKs -----------------------------------------------------------------------

TEST(ReliableLink, LoneAckWaitsForTheAckDelay) {
  Cluster c({kA, kB}, {}, {.ack_delay_ns = 50'000});
  c.introduce();
  c.send(kA, kB);
  ASSERT_EQ(c.link(kA).next_timer_ns(), 2'000'000u) << "retransmission timer armed";
  c.poll(kB);
  EXPECT_EQ(c.received(kB, kA), 1u);
  EXPECT_EQ(c.link(kB).next_timer_ns(), 50'000u);
  c.clock().advance(49'999);
  c.poll(kB);
  EXPECT_EQ(c.link(kB).counters().acks_sent, 0u);
  c.clock().advance(1);
  c.poll(kB);
  EXPECT_EQ(c.link(kB).counters().acks_sent, 1u);
  EXPECT_EQ(c.link(kB).next_timer_ns(), std::nullopt);
  EXPECT_FALSE(c.link(kA).all_acknowledged());
  c.poll(kA);
  EXPECT_TRUE(c.link(kA).all_acknowledged());
  EXPECT_EQ(c.link(kA).next_timer_ns(), std::nullopt);
}

TEST(ReliableLink, AckRidesOnAReply) {
  Cluster c({kA, kB}, {});
  c.introduce();
  c.send(kA, kB);
  c.poll(kB);
  c.send(kB, kA);  // within the ACK delay: carries the ACK
  c.poll(kA);
  EXPECT_TRUE(c.link(kA).all_acknowledged());
  c.clock().advance(100'000);
  c.poll(kB);
  EXPECT_EQ(c.link(kB).counters().acks_sent, 0u) << "nothing left to acknowledge alone";
}

TEST(ReliableLink, LostAcksAreRepairedByTheDuplicatesTheyCause) {
  Cluster c({kA, kB}, {});
  c.introduce();
  c.net().set_link_impairments(kB, kA, {.drop = 1.0});
  for (int i = 0; i < 10; ++i) c.send(kA, kB);
  c.poll(kB);
  ASSERT_EQ(c.received(kB, kA), 10u);
  c.clock().advance(50'000);
  c.poll(kB);  // the delayed ACK: lost
  ASSERT_EQ(c.link(kB).counters().acks_sent, 1u);

  c.clock().set(2'000'000);
  c.poll(kA);
  EXPECT_EQ(c.link(kA).counters().retransmitted, 10u);
  c.poll(kB);  // duplicates: ACK again at once, without waiting for ack_delay
  EXPECT_EQ(c.link(kB).counters().duplicates, 10u);
  EXPECT_EQ(c.link(kB).counters().acks_sent, 2u);

  c.net().clear_link_impairments(kB, kA);
  c.clock().set(*c.link(kA).next_timer_ns());
  c.poll(kA);
  c.poll(kB);
  EXPECT_EQ(c.link(kB).counters().acks_sent, 3u);
  c.poll(kA);
  EXPECT_TRUE(c.link(kA).all_acknowledged());
  EXPECT_EQ(c.received(kB, kA), 10u) << "duplicates were never delivered";
  EXPECT_EQ(c.wrong(), 0u) << c.first_wrong();
}

// ---- window and retransmission ----------------------------------------------------

TEST(ReliableLink, FullWindowBacklogsAndDrainsInOrder) {
  Cluster c({kA, kB}, {}, {.window = 4});
  c.introduce();
  for (int i = 0; i < 20; ++i) c.send(kA, kB);
  EXPECT_EQ(c.link(kA).counters().backlogged, 16u);
  EXPECT_EQ(c.net().stats().sent, 4u) << "only a window's worth on the wire (introduce() "
                                          "injects, it does not send)";
  c.poll(kB);
  EXPECT_EQ(c.received(kB, kA), 4u);
  EXPECT_TRUE(c.settle());
  EXPECT_EQ(c.received(kB, kA), 20u);
  EXPECT_EQ(c.wrong(), 0u) << c.first_wrong();
  EXPECT_EQ(c.link(kA).counters().retransmitted, 0u);
  EXPECT_LE(c.net().stats().sent, 20u + 20u) << "20 data frames plus at most one ACK each";
}

TEST(ReliableLink, RetransmissionBacksOffToTheCapAndResetsOnProgress) {
  Cluster c({kA, kB}, {},
            {.retransmit_timeout_ns = 2'000'000, .max_retransmit_timeout_ns = 50'000'000});
  c.introduce();
  c.net().set_link_impairments(kA, kB, {.drop = 1.0});
  c.send(kA, kB);
  c.send(kA, kB);
  ReliableLink& a = c.link(kA);
  std::vector<uint64_t> gaps;
  uint64_t last = 0;
  for (int i = 0; i < 8; ++i) {
    c.clock().set(*a.next_timer_ns());
    const uint64_t before = a.counters().retransmitted;
    c.poll(kA);
    ASSERT_EQ(a.counters().retransmitted, before + 2) << "go-back-N resends both";
    gaps.push_back(c.clock().now_ns() - last);
    last = c.clock().now_ns();
  }
  EXPECT_EQ(gaps, (std::vector<uint64_t>{2'000'000, 4'000'000, 8'000'000, 16'000'000, 32'000'000,
                                         50'000'000, 50'000'000, 50'000'000}));

  c.net().clear_link_impairments(kA, kB);
  EXPECT_TRUE(c.settle());
  EXPECT_EQ(c.received(kB, kA), 2u);
  const uint64_t resent = a.counters().retransmitted;
  EXPECT_EQ(resent, 18u) << "the ninth go-back-N got through";

  // Acks of retransmitted frames time no round trip (Karn), so the back-off
  // holds until a frame sent once is acknowledged ...
  uint64_t sent_at = c.clock().now_ns();
  c.send(kA, kB);
  EXPECT_EQ(a.next_timer_ns(), sent_at + 50'000'000);
  EXPECT_TRUE(c.settle());
  EXPECT_EQ(a.counters().retransmitted, resent) << "no retransmission on the clean link";

  // ... and then the next loss is retried after 2 ms again.
  c.net().set_link_impairments(kA, kB, {.drop = 1.0});
  sent_at = c.clock().now_ns();
  c.send(kA, kB);
  EXPECT_EQ(a.next_timer_ns(), sent_at + 2'000'000);
}

TEST(ReliableLink, TimeoutFollowsTheRoundTripOfASlowPeer) {
  // 10 ms each way: every round trip is ten times the initial timeout.
  Cluster c({kA, kB}, {.impairments = {.delay_ns = 10'000'000}});
  ReliableLink& a = c.link(kA);
  std::vector<uint64_t> retransmitted;
  for (int i = 0; i < 20; ++i) {
    c.send(kA, kB);  // one request at a time, like a vCPU waiting on I/O
    ASSERT_TRUE(c.settle());
    retransmitted.push_back(a.counters().retransmitted);
  }
  EXPECT_EQ(c.received(kB, kA), 20u);
  EXPECT_GT(retransmitted.front(), 0u) << "the first message had no estimate to go by";
  EXPECT_EQ(retransmitted[2], retransmitted.back()) << "later ones were never resent";
  const uint64_t sent_at = c.clock().now_ns();
  c.send(kA, kB);
  EXPECT_GT(*a.next_timer_ns() - sent_at, 20'000'000u);
}

TEST(ReliableLink, SequenceNumbersWrapAroundOnTheWire) {
  // 2^32 - 1 is the last wire sequence number; 0 is skipped.
  Cluster c({kA, kB}, {.seed = test_seed(21), .impairments = kHostile},
            {.window = 64, .first_seq = 0xFFFF'FFFFull - 300});
  SCOPED_TRACE("seed " + std::to_string(c.net().seed()));
  ASSERT_NE(all_to_all(c, 2000, 200'000), 0u);
  expect_all_delivered(c, 2000);
}

// ---- the stress tests ---------------------------------------------------------------

TEST(ReliableLink, HundredThousandMessagesEachWayUnderLossDuplicationAndReordering) {
  Cluster c({kA, kB}, {.seed = test_seed(1), .impairments = kHostile});
  SCOPED_TRACE("seed " + std::to_string(c.net().seed()));
  constexpr uint64_t kN = 100'000;
  const size_t rounds = all_to_all(c, kN, 3'000'000);
  ASSERT_NE(rounds, 0u) << "did not finish; delivered " << c.received(kB, kA) << " and "
                        << c.received(kA, kB);
  expect_all_delivered(c, kN);
  // The network really was hostile, and the layer really had to work.
  const FakeNetwork::Stats net = c.net().stats();
  EXPECT_GT(net.dropped, net.sent / 25);
  EXPECT_GT(net.duplicated, net.sent / 25);
  EXPECT_GT(net.reordered, net.sent / 25);
  for (NodeId id : c.ids()) {
    const ReliableLink::Counters k = c.link(id).counters();
    EXPECT_GT(k.retransmitted, 0u);
    EXPECT_GT(k.duplicates, 0u);
    EXPECT_GT(k.out_of_order, 0u);
    EXPECT_EQ(k.malformed + k.foreign + k.out_of_window, 0u);
  }
  RecordProperty("rounds", std::to_string(rounds));
  RecordProperty("virtual_ms", std::to_string(c.clock().now_ns() / 1'000'000));
}

class AllToAll : public ::testing::TestWithParam<int> {};

TEST_P(AllToAll, EveryNodeStreamsToEveryOther) {
  std::vector<NodeId> ids;
  for (int i = 0; i < GetParam(); ++i) ids.push_back(static_cast<NodeId>(10 + i));
  Cluster c(ids,
            {.seed = test_seed(30 + static_cast<uint64_t>(GetParam())), .impairments = kHostile});
  SCOPED_TRACE("seed " + std::to_string(c.net().seed()));
  constexpr uint64_t kPerLink = 5000;
  ASSERT_NE(all_to_all(c, kPerLink, 1'000'000), 0u);
  expect_all_delivered(c, kPerLink);
}

INSTANTIATE_TEST_SUITE_P(Nodes, AllToAll, ::testing::Values(3, 4));

// ---- hostile input ----------------------------------------------------------------

TEST(ReliableLink, MalformedAndForeignFramesAreCountedAndDropped) {
  Cluster c({kA, kB, kC}, {.seed = test_seed(41), .impairments = {.drop = 0.02, .reorder = 0.02}});
  SCOPED_TRACE("seed " + std::to_string(c.net().seed()));

  // Each bad frame is built from a message A could send B right now: it
  // carries the sequence number B expects next, so had B accepted it, the
  // counter check would catch a wrong message delivered in the stream.
  struct Bad {
    NodeId from;     // as the transport reports it
    bool malformed;  // else foreign
    void (*bend_message)(Message&);
    void (*bend_bytes)(std::vector<uint8_t>&);
  };
  using M = Message&;
  using B = std::vector<uint8_t>&;
  const std::vector<Bad> bad{
      {kA, true, nullptr,
       [](B b) {
         b = {0x00, 0x01, 0x02, 0x03};
       }},
      {kA, true, nullptr, [](B b) { b.assign(kHeaderSize, 0xD7); }},
      {kA, true, nullptr, [](B b) { b.pop_back(); }},                   // truncated
      {kA, true, nullptr, [](B b) { b[3] = 0x80; }},                    // undefined flag
      {kA, true, [](M m) { m.header.seq = 0; }, nullptr},               // data without a seq
      {kA, true, [](M m) { m.header.flags = kFlagAckOnly; }, nullptr},  // data flagged ACK-only
      {kA, true, [](M m) { m.payload = AckPayload{}; }, nullptr},       // ACK with a seq
      {kA, true, [](M m) { m.header.flags = 0; }, nullptr},  // no incarnation trailer
      {kA, true, nullptr,
       [](B b) {  // source incarnation 0
         std::fill(b.end() - kIncarnationSize, b.end() - kIncarnationSize / 2, uint8_t{0});
       }},
      {kA, false, [](M m) { m.header.cluster_id = kCluster + 1; }, nullptr},
      {kA, false, [](M m) { m.header.dst_node = kC; }, nullptr},
      {9, false, [](M m) { m.header.src_node = 9; }, nullptr},  // not a member
      {kC, false, nullptr, nullptr},                            // C forging A's header
  };
  auto build = [&](const Bad& b) {
    Message m = counted_message(kB, 0xBAD);
    m.header.src_node = kA;
    m.header.cluster_id = kCluster;
    m.header.seq = static_cast<uint32_t>(c.received(kB, kA) + 1);
    m.header.ack = 0xFFFF'FFF0;  // would acknowledge anything, if trusted
    m = stamped(m, c.link(kA).incarnation(), c.link(kB).incarnation());
    if (b.bend_message != nullptr) b.bend_message(m);
    std::vector<uint8_t> bytes = wire(m);
    if (b.bend_bytes != nullptr) b.bend_bytes(bytes);
    return bytes;
  };

  constexpr uint64_t kN = 3000;
  uint64_t expect_malformed = 0, expect_foreign = 0;
  size_t injected = 0;
  for (size_t round = 0; round < 200'000; ++round) {
    for (int i = 0; i < 8 && c.sent(kA, kB) < kN; ++i) c.send(kA, kB);
    if (round % 7 == 0) {
      const Bad& b = bad[injected++ % bad.size()];
      ASSERT_TRUE(c.net().inject(b.from, kB, build(b)).ok());
      (b.malformed ? expect_malformed : expect_foreign) += 1;
    }
    if (c.received(kB, kA) == kN && c.all_acknowledged()) break;
    c.step();
  }
  ASSERT_TRUE(c.settle());  // lets the last injected frame be seen
  EXPECT_GE(injected, 2 * bad.size()) << "every bad frame went in at least twice";
  EXPECT_EQ(c.received(kB, kA), kN);
  EXPECT_EQ(c.wrong(), 0u) << c.first_wrong();
  const ReliableLink::Counters k = c.link(kB).counters();
  EXPECT_EQ(k.malformed, expect_malformed);
  EXPECT_EQ(k.foreign, expect_foreign);
  EXPECT_EQ(k.delivered, kN);
}

TEST(ReliableLink, ForgedAckDoesNotReleaseUnacknowledgedMessages) {
  Cluster c({kA, kB, kC}, {});
  c.introduce();
  c.net().set_link_impairments(kB, kA, {.drop = 1.0});
  for (int i = 0; i < 5; ++i) c.send(kB, kA);

  // C claims to be A and acknowledges all five.
  Message forged;
  forged.header = {.type = MessageType::kAck,
                   .flags = kFlagAckOnly,
                   .src_node = kA,
                   .dst_node = kB,
                   .seq = 0,
                   .ack = 5,
                   .cluster_id = kCluster};
  forged.payload = AckPayload{};
  forged = stamped(forged, c.link(kA).incarnation(), c.link(kB).incarnation());
  EXPECT_EQ(c.link(kB).last_rejection(), "");
  ASSERT_TRUE(c.net().inject(kC, kB, wire(forged)).ok());
  c.poll(kB);
  EXPECT_EQ(c.link(kB).counters().foreign, 1u);
  EXPECT_FALSE(c.link(kB).all_acknowledged());
  EXPECT_NE(c.link(kB).last_rejection().find("foreign frame"), std::string::npos)
      << c.link(kB).last_rejection();

  const uint8_t garbage[30] = {0xD7, 9};  // right magic, wire version 9
  ASSERT_TRUE(c.net().inject(kA, kB, garbage).ok());
  c.poll(kB);
  EXPECT_NE(c.link(kB).last_rejection().find("wire version 9"), std::string::npos)
      << c.link(kB).last_rejection();

  // The real A, heard through its own endpoint, is believed.
  ASSERT_TRUE(c.net().inject(kA, kB, wire(forged)).ok());
  c.poll(kB);
  EXPECT_TRUE(c.link(kB).all_acknowledged());
}

// Found by reliable_link_fuzz: an ack (bogus: nothing acknowledges a
// frame not yet sent) for messages admitted from the backlog earlier in the
// same poll freed their window slots while their frames still waited in the
// batch, and the next admissions overwrote the bytes under them.
TEST(ReliableLink, AnAckForFramesNotYetSentDoesNotGarbleThem) {
  Cluster c({kA, kB}, {}, {.window = 2});
  c.introduce();
  for (int i = 0; i < 6; ++i) c.send(kA, kB);  // 1 and 2 sent, 3..6 wait
  auto ack = [&](uint32_t n) {
    Message m;
    m.header = {.type = MessageType::kAck,
                .flags = kFlagAckOnly,
                .src_node = kB,
                .dst_node = kA,
                .ack = n,
                .cluster_id = kCluster};
    m.payload = AckPayload{};
    return wire(stamped(m, c.link(kB).incarnation(), c.link(kA).incarnation()));
  };
  ASSERT_TRUE(c.net().inject(kB, kA, ack(2)).ok());  // admits 3 and 4 into the batch
  ASSERT_TRUE(c.net().inject(kB, kA, ack(4)).ok());  // then 5 and 6 into their slots
  c.poll(kA);
  c.poll(kB);
  EXPECT_EQ(c.link(kB).counters().malformed, 0u) << c.link(kB).last_rejection();
  EXPECT_EQ(c.wrong(), 0u) << c.first_wrong();
}

TEST(ReliableLink, FramesBeyondTheReceiveWindowAreDropped) {
  Cluster c({kA, kB}, {}, {.window = 16});
  c.introduce();
  Message far = counted_message(kB, 0);
  far.header.src_node = kA;
  far.header.cluster_id = kCluster;
  far = stamped(far, c.link(kA).incarnation(), c.link(kB).incarnation());
  far.header.seq = 1 + 16;  // expected is 1: one past the window
  ASSERT_TRUE(c.net().inject(kA, kB, wire(far)).ok());
  far.header.seq = 1 + 15;  // the last slot of the window: buffered
  ASSERT_TRUE(c.net().inject(kA, kB, wire(far)).ok());
  c.poll(kB);
  const ReliableLink::Counters k = c.link(kB).counters();
  EXPECT_EQ(k.out_of_window, 1u);
  EXPECT_EQ(k.out_of_order, 1u);
  EXPECT_EQ(k.delivered, 0u);
}

// ---- threads ------------------------------------------------------------------------

// A node's dataplane poller: polls while there is work, otherwise sleeps on
// the transport's eventfd until the next timer or frame arrival (at most
// 1 ms, so a lost wake-up costs little and the test cannot hang).
void poller_loop(ReliableLink& link, Transport& transport, FakeNetwork& net, const Clock& clock,
                 const std::atomic<bool>& stop,
                 const std::function<void(const Message&)>& deliver) {
  while (!stop.load(std::memory_order_relaxed)) {
    if (link.poll(deliver) > 0) continue;
    if (!transport.prepare_to_sleep()) continue;
    const uint64_t now = clock.now_ns();
    uint64_t until = now + 1'000'000;
    if (auto t = link.next_timer_ns()) until = std::min(until, *t);
    if (auto t = net.next_arrival_ns(transport.local_node())) until = std::min(until, *t);
    if (until > now) {
      pollfd p{transport.rx_wait_fd(), POLLIN, 0};
      const timespec timeout{0, static_cast<long>(until - now)};
      ppoll(&p, 1, &timeout, nullptr);
    }
    transport.after_wakeup();
  }
}

TEST(ReliableLink, EchoAcrossThreadsWhileTheCallbackSends) {
  MonotonicClock clock;
  FakeNetwork net(
      clock,
      {.seed = test_seed(51),
       .impairments = {
           .drop = 0.02, .duplicate = 0.02, .reorder = 0.05, .reorder_max_hold_ns = 100'000}});
  SCOPED_TRACE("seed " + std::to_string(net.seed()));
  ReliableLink a(net.endpoint(kA), clock, {.cluster_id = kCluster, .local = kA, .peers = {kB}});
  ReliableLink b(net.endpoint(kB), clock, {.cluster_id = kCluster, .local = kB, .peers = {kA}});

  constexpr uint64_t kN = 20'000;
  std::atomic<uint64_t> echoed{0}, at_b{0}, wrong{0};
  std::atomic<bool> stop{false};
  // B answers every message from its deliver callback: send() must not
  // deadlock there.
  std::thread tb([&] {
    poller_loop(b, net.endpoint(kB), net, clock, stop, [&](const Message& m) {
      if (!carries(m, at_b.load())) wrong.fetch_add(1);
      if (!b.send(counted_message(kA, at_b.fetch_add(1))).ok()) wrong.fetch_add(1);
    });
  });
  std::thread ta([&] {
    poller_loop(a, net.endpoint(kA), net, clock, stop, [&](const Message& m) {
      if (!carries(m, echoed.fetch_add(1))) wrong.fetch_add(1);
    });
  });
  // A "vCPU" thread sends while A's poller receives.
  std::thread vcpu([&] {
    for (uint64_t i = 0; i < kN; ++i) {
      if (!a.send(counted_message(kB, i)).ok()) wrong.fetch_add(1);
      if (i % 256 == 255) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline &&
         !(echoed.load() == kN && a.all_acknowledged() && b.all_acknowledged())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  vcpu.join();
  stop = true;
  ta.join();
  tb.join();

  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(at_b.load(), kN);
  EXPECT_EQ(echoed.load(), kN);
  EXPECT_TRUE(a.all_acknowledged());
  EXPECT_TRUE(b.all_acknowledged());
  EXPECT_EQ(a.counters().delivered, kN);
  EXPECT_EQ(b.counters().delivered, kN);
  EXPECT_GT(a.counters().retransmitted + b.counters().retransmitted, 0u);
}

}  // namespace
}  // namespace dvmm::dataplane
