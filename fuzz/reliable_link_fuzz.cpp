// Fuzzes the reliability layer's receive path (dataplane/reliable_link.hpp)
// together with enough of its send path for acks to mean something. Node 0
// runs a ReliableLink over a scripted transport; the input is a program of
// operations: frames from peers (raw bytes, or well-formed data and acks
// with chosen sequence numbers, forged senders, clusters and incarnations),
// peer restarts (a new incarnation numbering from the start again) and
// frames from an older incarnation, local sends, clock steps, transport
// back-pressure and polls. Time is a ManualClock and the incarnations are
// fixed, so every run replays exactly.
//
// Properties checked besides the sanitizers:
//   - from each incarnation of a peer, messages are delivered once each, in
//     sequence order: the wire sequence numbers of its deliveries are
//     consecutive from the first sequence number;
//   - per peer, nothing is delivered from an incarnation older than one
//     already delivered from, and only what was addressed to our own
//     incarnation is delivered;
//   - every frame the link transmits decodes, carries our incarnation,
//     comes from node 0 of our cluster and goes to a configured peer.
#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include "dataplane/message.hpp"
#include "dataplane/reliable_link.hpp"
#include "dataplane/transport.hpp"
#include "fuzz/fuzz_input.hpp"
#include "host/common/clock.hpp"

namespace {

using namespace dvmm::dataplane;
using dvmm::fuzz::Input;
using dvmm::fuzz::Output;

constexpr uint32_t kCluster = 7;
constexpr NodeId kLocal = 0;
constexpr NodeId kPeers = 2;          // nodes 1 and 2
constexpr size_t kMaxOps = 4096;      // bounds one run's time
constexpr size_t kMaxQueued = 1024;   // frames waiting for rx_burst
constexpr uint64_t kOurIncarnation = 0x1000;

// Wire sequence numbers run 1 .. 2^32-1, then wrap to 1 (0 = unsequenced).
uint32_t wire_of(uint64_t seq) { return static_cast<uint32_t>((seq - 1) % 0xFFFF'FFFFull + 1); }
uint32_t wire_add(uint32_t wire, int64_t delta) {
  const int64_t space = 0xFFFF'FFFF;
  int64_t v = (static_cast<int64_t>(wire) - 1 + delta) % space;
  if (v < 0) v += space;
  return static_cast<uint32_t>(v + 1);
}

// A transport whose receive queue the fuzz program fills and whose
// transmissions are checked and remembered (the fake peers ack them).
class ScriptTransport final : public Transport {
 public:
  struct Frame {
    NodeId src;
    std::vector<uint8_t> bytes;
  };

  const char* name() const override { return "fuzz"; }
  NodeId local_node() const override { return kLocal; }
  size_t max_frame_size() const override { return kMaxFrameSize; }

  size_t tx_burst(std::span<const TxFrame> frames) override {
    size_t taken = 0;
    for (const TxFrame& f : frames) {
      if (taken >= tx_room) break;
      check_sent(f);
      ++taken;
    }
    return taken;
  }
  void tx_flush() override {}
  size_t rx_burst(std::span<RxFrame> out) override {
    size_t n = 0;
    while (n < out.size() && !queue.empty()) {
      const Frame& f = queue.front();
      out[n].src = f.src;
      out[n].len = static_cast<uint16_t>(f.bytes.size());
      std::copy(f.bytes.begin(), f.bytes.end(), out[n].data);
      queue.pop_front();
      ++n;
    }
    return n;
  }
  int rx_wait_fd() const override { return -1; }
  bool prepare_to_sleep() override { return queue.empty(); }
  void after_wakeup() override {}
  Counters counters() const override { return {}; }

  void push(NodeId src, std::span<const uint8_t> bytes) {
    if (queue.size() >= kMaxQueued || bytes.size() > kMaxFrameSize) return;
    queue.push_back(Frame{src, std::vector<uint8_t>(bytes.begin(), bytes.end())});
  }

  struct Sent {
    uint64_t to_incarnation;  // as the link addressed it
    uint32_t seq;
  };

  size_t tx_room = SIZE_MAX;  // frames one tx_burst takes (back-pressure)
  std::deque<Frame> queue;
  // Per peer (index node - 1): every data frame sent to it.
  std::array<std::vector<Sent>, kPeers> sent_seqs;

 private:
  void check_sent(const TxFrame& f) {
    dvmm::Result<Message> m = decode(f.bytes);
    if (!m.ok()) dvmm::fuzz::fail("the link transmitted a frame that does not decode");
    const MessageHeader& h = m->header;
    if (h.src_node != kLocal || h.cluster_id != kCluster || h.dst_node != f.dst ||
        f.dst < 1 || f.dst > kPeers) {
      dvmm::fuzz::fail("the link transmitted a frame with a wrong address");
    }
    if ((h.flags & kFlagIncarnation) == 0 || h.src_incarnation != kOurIncarnation) {
      dvmm::fuzz::fail("the link transmitted a frame without its incarnation");
    }
    if (h.seq != 0) {
      std::vector<Sent>& seqs = sent_seqs[f.dst - 1u];
      if (seqs.size() < 4096) seqs.push_back(Sent{h.dst_incarnation, h.seq});
    }
  }
};

// Frames from a peer's incarnation `inc`, addressed to ours.
Message heartbeat(NodeId src, uint64_t inc, uint32_t seq, uint32_t ack, uint64_t value) {
  Message m;
  m.header.flags = kFlagIncarnation;
  m.header.src_node = src;
  m.header.dst_node = kLocal;
  m.header.seq = seq;
  m.header.ack = ack;
  m.header.cluster_id = kCluster;
  m.header.src_incarnation = inc;
  m.header.dst_incarnation = kOurIncarnation;
  m.payload = HeartbeatPayload{value};
  return m;
}

Message ack_only(NodeId src, uint64_t inc, uint32_t ack) {
  Message m = heartbeat(src, inc, 0, ack, 0);
  m.header.flags |= kFlagAckOnly;
  m.payload = AckPayload{};
  return m;
}

enum Op : uint8_t {
  kRawFrame,      // src u8, len u16, bytes
  kPeerInOrder,   // peer u8, payload u64: the peer's next message
  kPeerShifted,   // peer u8, delta i8, payload u64: a duplicate or an early one
  kPeerAck,       // peer u8, pick u16: acks one of the seqs sent to it
  kPeerRawAck,    // peer u8, ack u32
  kForged,        // peer u8, what u8, value u16: a well-formed frame with one field wrong
  kPeerRestart,   // peer u8, step u8: a new incarnation, numbering from the start
  kPeerStale,     // peer u8, back u8, payload u64: a frame of an older incarnation
  kLocalSend,     // dst u8, kind u8, len u16
  kAdvance,       // ns u32
  kPoll,
  kTxRoom,        // frames u8 (255 = unlimited)
  kNumOps,
};

struct Peer {
  uint64_t incarnation = 0;     // its current one
  uint32_t next_wire = 1;       // wire seq of its next in-order message
  // Deliveries: the newest incarnation delivered from, and the wire seq
  // the next delivery from it must carry.
  uint64_t delivered_incarnation = 0;
  uint32_t expect_wire = 1;
};

void run(Input& in) {
  // The configuration comes first: window, first sequence number, timers.
  ReliableLink::Config cfg;
  cfg.cluster_id = kCluster;
  cfg.local = kLocal;
  cfg.peers = {1, 2};
  cfg.window = 1u + in.u8() % 16u;
  switch (in.u8() % 3) {
    case 0: cfg.first_seq = 1; break;
    case 1: cfg.first_seq = 0xFFFF'FFFFull - in.u8(); break;  // wraps soon
    default: cfg.first_seq = 1 + (in.u64() & 0xFF'FFFF'FFFFull); break;
  }
  cfg.retransmit_timeout_ns = 1000u + in.u16();
  cfg.max_retransmit_timeout_ns = cfg.retransmit_timeout_ns * (1u + in.u8() % 8u);
  cfg.ack_delay_ns = in.u16();
  cfg.incarnation = kOurIncarnation;

  dvmm::ManualClock clock;
  ScriptTransport transport;
  ReliableLink link(transport, clock, cfg);

  const uint32_t first_wire = wire_of(cfg.first_seq);
  std::array<Peer, kPeers> peers{};
  for (size_t i = 0; i < kPeers; ++i) {
    peers[i].incarnation = 0x100 * (i + 1);
    peers[i].next_wire = peers[i].expect_wire = first_wire;
  }
  std::array<uint8_t, kMaxEncodedSize> buf{};

  auto deliver = [&](const Message& m) {
    const NodeId src = m.header.src_node;
    if (src < 1 || src > kPeers) dvmm::fuzz::fail("delivered a message from a non-peer");
    if (m.header.dst_incarnation != kOurIncarnation) {
      dvmm::fuzz::fail("delivered a message addressed to another incarnation");
    }
    Peer& p = peers[src - 1u];
    const uint64_t inc = m.header.src_incarnation;
    if (inc < p.delivered_incarnation) dvmm::fuzz::fail("delivered from an older incarnation");
    if (inc > p.delivered_incarnation) {
      p.delivered_incarnation = inc;
      p.expect_wire = first_wire;  // a new incarnation numbers from the start
    }
    if (m.header.seq != p.expect_wire) dvmm::fuzz::fail("delivery out of sequence order");
    p.expect_wire = wire_add(p.expect_wire, 1);
  };
  auto push = [&](NodeId from, const Message& m) {
    const size_t len = encode(m, buf);
    transport.push(from, std::span<const uint8_t>(buf.data(), len));
  };
  auto pick_peer = [&](uint8_t b) -> NodeId { return static_cast<NodeId>(1 + b % kPeers); };
  // The seqs we sent to the peer's current incarnation.
  auto sent_to = [&](NodeId peer) {
    std::vector<uint32_t> out;
    for (const auto& s : transport.sent_seqs[peer - 1u]) {
      if (s.to_incarnation == peers[peer - 1u].incarnation) out.push_back(s.seq);
    }
    return out;
  };
  auto our_ack = [&](NodeId peer) {
    // What the peer has heard from us: acks are cumulative, so the newest
    // seq sent is the most it could acknowledge.
    const std::vector<uint32_t> s = sent_to(peer);
    return s.empty() ? 0u : s.back();
  };

  for (size_t ops = 0; ops < kMaxOps && !in.empty(); ++ops) {
    switch (static_cast<Op>(in.u8() % kNumOps)) {
      case kRawFrame: {
        const auto src = static_cast<NodeId>(in.u8() % 4);
        transport.push(src, in.bytes(in.u16() % (kMaxEncodedSize + 1)));
        break;
      }
      case kPeerInOrder: {
        const NodeId peer = pick_peer(in.u8());
        Peer& p = peers[peer - 1u];
        push(peer, heartbeat(peer, p.incarnation, p.next_wire, our_ack(peer), in.u64()));
        p.next_wire = wire_add(p.next_wire, 1);
        break;
      }
      case kPeerShifted: {
        const NodeId peer = pick_peer(in.u8());
        const auto delta = static_cast<int8_t>(in.u8());
        const uint32_t seq = wire_add(peers[peer - 1u].next_wire, delta);
        push(peer, heartbeat(peer, peers[peer - 1u].incarnation, seq, our_ack(peer), in.u64()));
        break;
      }
      case kPeerAck: {
        const NodeId peer = pick_peer(in.u8());
        const std::vector<uint32_t> s = sent_to(peer);
        const uint16_t pick = in.u16();
        push(peer, ack_only(peer, peers[peer - 1u].incarnation, s.empty() ? pick : s[pick % s.size()]));
        break;
      }
      case kPeerRawAck: {
        const NodeId peer = pick_peer(in.u8());
        push(peer, ack_only(peer, peers[peer - 1u].incarnation, in.u32()));
        break;
      }
      case kForged: {
        const NodeId peer = pick_peer(in.u8());
        Message m = heartbeat(peer, peers[peer - 1u].incarnation, peers[peer - 1u].next_wire,
                              our_ack(peer), 0);
        NodeId from = peer;
        const uint8_t what = in.u8();
        const uint16_t value = in.u16();
        switch (what % 8) {
          case 0: m.header.cluster_id = value; break;
          case 1: m.header.dst_node = value; break;
          case 2: m.header.src_node = value; break;
          case 3: from = value; break;  // the transport disagrees with the header
          case 4: m.header.dst_incarnation = value; break;  // to another incarnation of ours
          case 5: m.header.flags = 0; break;                // no incarnation trailer
          case 6: m.header.src_incarnation = value; break;  // another incarnation of the peer
          default:
            m.header.flags |= kFlagAckOnly;  // a data frame claiming to be an ack
            break;
        }
        push(from, m);
        break;
      }
      case kPeerRestart: {
        Peer& p = peers[pick_peer(in.u8()) - 1u];
        p.incarnation += 1 + in.u8();
        p.next_wire = first_wire;
        break;
      }
      case kPeerStale: {
        const NodeId peer = pick_peer(in.u8());
        const Peer& p = peers[peer - 1u];
        const uint64_t older = p.incarnation - std::min<uint64_t>(p.incarnation - 1, 1 + in.u8());
        push(peer, heartbeat(peer, older, p.next_wire, our_ack(peer), in.u64()));
        break;
      }
      case kLocalSend: {
        const auto dst = static_cast<NodeId>(1 + in.u8() % (kPeers + 1));  // 3: not a peer
        const uint8_t kind = in.u8();
        const uint16_t len = in.u16();
        Message m;
        m.header.dst_node = dst;
        if (kind % 2 == 0) {
          m.payload = HeartbeatPayload{len};
        } else {
          // A page chunk (a large frame), sometimes past the page: send()
          // must refuse what the receiver would reject.
          DsmDataPayload d;
          d.page = kind;
          d.chunk_offset = static_cast<uint16_t>(len % 4100);
          d.data.assign(1 + len % kDsmPageSize, kind);
          m.payload = std::move(d);
        }
        (void)link.send(std::move(m));
        break;
      }
      case kAdvance:
        clock.advance(in.u32());
        break;
      case kPoll:
        link.poll(deliver);
        break;
      case kTxRoom: {
        const uint8_t room = in.u8();
        transport.tx_room = room == 255 ? SIZE_MAX : room % 8u;
        break;
      }
      case kNumOps:
        break;
    }
  }
  // Drain what is queued, then exercise the read-only accessors.
  transport.tx_room = SIZE_MAX;
  while (!transport.queue.empty()) link.poll(deliver);
  (void)link.next_timer_ns();
  (void)link.all_acknowledged();
  (void)link.counters();
  (void)link.last_rejection();
}

std::vector<dvmm::fuzz::Seed> seeds() {
  // Window, first sequence number (kind 0: 1; 1: 2^32-1 minus a byte; 2:
  // a u64), retransmission timeout, its cap as a multiple, ack delay.
  auto config = [](Output& o, uint8_t window, uint8_t first_seq_kind) {
    o.u8(window).u8(first_seq_kind);
    if (first_seq_kind == 1) o.u8(3);
    if (first_seq_kind == 2) o.u64(1234);
    o.u16(1000).u8(2).u16(500);
  };
  std::vector<dvmm::fuzz::Seed> out;
  {
    // Peer 1 sends three messages, the third before the second; we poll.
    Output o;
    config(o, 7, 0);
    o.u8(kPeerInOrder).u8(0).u64(1);
    o.u8(kPeerShifted).u8(0).u8(1).u64(3);
    o.u8(kPoll);
    o.u8(kPeerInOrder).u8(0).u64(2);
    o.u8(kPeerInOrder).u8(0).u64(3);
    o.u8(kPoll);
    out.push_back({"peer-reorder", o.data()});
  }
  {
    // We send to both peers, time passes (retransmissions), they ack.
    Output o;
    config(o, 3, 0);
    for (int i = 0; i < 5; ++i) o.u8(kLocalSend).u8(0).u8(0).u16(static_cast<uint16_t>(i));
    o.u8(kLocalSend).u8(1).u8(0).u16(9);
    o.u8(kAdvance).u32(5000).u8(kPoll);
    o.u8(kPeerAck).u8(0).u16(1).u8(kPeerAck).u8(1).u16(0).u8(kPoll);
    o.u8(kAdvance).u32(100000).u8(kPoll);
    out.push_back({"send-ack-retransmit", o.data()});
  }
  {
    // Sequence numbers that wrap past 2^32-1, with a duplicate.
    Output o;
    config(o, 15, 1);
    for (int i = 0; i < 6; ++i) o.u8(kPeerInOrder).u8(1).u64(static_cast<uint64_t>(i));
    o.u8(kPeerShifted).u8(1).u8(0xFE).u64(4);
    o.u8(kPoll);
    o.u8(kLocalSend).u8(1).u8(0).u16(1).u8(kPoll).u8(kPeerAck).u8(1).u16(0).u8(kPoll);
    out.push_back({"wrap", o.data()});
  }
  {
    // Forged frames and raw bytes, under transmit back-pressure.
    Output o;
    config(o, 4, 2);
    o.u8(kTxRoom).u8(1);
    for (uint8_t what = 0; what < 5; ++what) o.u8(kForged).u8(0).u8(what).u16(9);
    o.u8(kRawFrame).u8(1).u16(3).u8(0xD7).u8(1).u8(2);
    o.u8(kLocalSend).u8(0).u8(1).u16(100);
    o.u8(kLocalSend).u8(0).u8(1).u16(4095);
    o.u8(kPoll).u8(kAdvance).u32(1u << 20).u8(kPoll);
    out.push_back({"forged-backpressure", o.data()});
  }
  {
    // Peer 1 delivers two messages and restarts: a frame of the old
    // incarnation comes late; the new one numbers from the start.
    Output o;
    config(o, 8, 0);
    o.u8(kLocalSend).u8(0).u8(0).u16(7);
    o.u8(kPeerInOrder).u8(0).u64(1).u8(kPeerInOrder).u8(0).u64(2).u8(kPoll);
    o.u8(kPeerRestart).u8(0).u8(0);
    o.u8(kPeerInOrder).u8(0).u64(3).u8(kPoll);
    o.u8(kPeerStale).u8(0).u8(0).u64(4).u8(kPoll);
    o.u8(kPeerAck).u8(0).u16(0).u8(kPoll);
    for (uint8_t what = 4; what < 7; ++what) o.u8(kForged).u8(1).u8(what).u16(5);
    o.u8(kAdvance).u32(1u << 16).u8(kPoll);
    out.push_back({"peer-restart", o.data()});
  }
  return out;
}

}  // namespace

DVMM_FUZZ_TARGET(seeds, run)
