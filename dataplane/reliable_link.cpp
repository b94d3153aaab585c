// The reliability layer (see reliable_link.hpp for the contract).
//
// Per peer, under one mutex:
//   send side    a ring of `window` slots holding every unacknowledged
//                message (and its encoded frame), indexed by seq % window;
//                a backlog of messages waiting for a free slot; the
//                round-trip estimate and the (backed-off) retransmission
//                timeout.
//   receive side the next in-order sequence number, how far the deliver
//                callback has got (what may be acknowledged), a ring of
//                `window` slots for messages that arrived ahead of a gap,
//                and whether an ACK is owed (and by when).
//   incarnation  the newest incarnation of the peer seen (0: none yet);
//                a newer one restarts both sides (restart_peer_locked).
// Both rings are allocated once, so the hot path allocates nothing except
// when the backlog grows.
//
// Sequence numbers are 64-bit inside, so they never wrap in practice, and
// 32-bit on the wire, where they are unwrapped against the nearest expected
// value. Both ends of a link keep at most `window` messages in flight, far
// less than half the wire space, which makes the unwrapping unambiguous.
//
// Locking: send() (any thread) and poll() (the poller thread) serialise on
// `mu`, which also serialises tx_burst/tx_flush as the Transport contract
// asks. rx_burst and decoding happen before taking it, and the deliver
// callback runs after releasing it, so the callback may call send(). A poll
// that delivered takes `mu` again afterwards: only then may the ACK cover
// what it delivered, so its timers (delayed ACKs) run there.
#include "dataplane/reliable_link.hpp"

#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <iterator>
#include <mutex>
#include <utility>

namespace dvmm::dataplane {
namespace {

constexpr size_t kRxBurst = 32;

// Wire sequence numbers run 1 .. 2^32-1 and then wrap to 1: 0 marks an
// unsequenced (ACK-only) frame, and an ack of 0 means "nothing received yet".
constexpr uint64_t kWireSeqSpace = 0xFFFF'FFFFull;

uint32_t to_wire_seq(uint64_t seq) {
  return static_cast<uint32_t>((seq - 1) % kWireSeqSpace + 1);
}

// The 64-bit sequence number nearest to `ref` whose wire form is `wire`
// (wire != 0, ref >= 1); 0 when that would lie before sequence number 1.
uint64_t from_wire_seq(uint32_t wire, uint64_t ref) {
  const uint64_t ahead =
      (uint64_t{wire} - 1 + kWireSeqSpace - (ref - 1) % kWireSeqSpace) % kWireSeqSpace;
  if (ahead < kWireSeqSpace / 2) return ref + ahead;
  const uint64_t behind = kWireSeqSpace - ahead;
  return behind < ref ? ref - behind : 0;
}

// The wall clock in ns: a restarted process gets a larger incarnation than
// its predecessor without keeping state anywhere (reliable_link.hpp says
// what a clock stepped back does). Strictly increasing within a process, so
// two links made in the same nanosecond still differ.
uint64_t new_incarnation() {
  static std::atomic<uint64_t> last{0};
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  const uint64_t now =
      static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
  uint64_t prev = last.load(std::memory_order_relaxed);
  uint64_t mine = 0;
  do {
    mine = std::max(now, prev + 1);
  } while (!last.compare_exchange_weak(prev, mine, std::memory_order_relaxed));
  return mine;
}

}  // namespace

struct ReliableLink::Impl {
  struct Outgoing {
    Message msg;
    uint64_t sent_ns = 0;        // last (re)transmission
    uint32_t transmissions = 0;  // 1 = never retransmitted: its ACK times the round trip
    bool staged = false;         // `bytes` is in the batch being built (tx)
    std::array<uint8_t, kMaxEncodedSize> bytes{};
  };

  struct Peer {
    NodeId id = 0;
    uint64_t incarnation = 0;  // the newest seen; 0 until the peer is first heard from
    // Send side.
    uint64_t next_seq = 1;         // given to the next message admitted to the window
    uint64_t unacked_from = 1;     // oldest unacknowledged; == next_seq when none
    std::vector<Outgoing> window;  // slot seq % window, for seq in [unacked_from, next_seq)
    std::deque<Message> backlog;   // waiting for window space, in send order
    uint64_t rto_ns = 0;           // current timeout, backed off
    uint64_t progress_ns = 0;      // when an ack last freed window slots
    // Round-trip estimate (RFC 6298), 0 until the first sample.
    uint64_t srtt_ns = 0;
    uint64_t rttvar_ns = 0;
    // Receive side.
    uint64_t expected = 1;  // next in-order sequence number
    // Below it, the deliver callback has returned: only that is acknowledged.
    // Trails `expected` while a poll's deliveries are being handed over.
    uint64_t handed_over = 1;
    // Slot seq % window, for seq in (expected, expected + window).
    std::vector<std::optional<Message>> ahead;
    bool ack_pending = false;  // the peer has not yet been told `expected - 1`
    uint64_t ack_due_ns = 0;
    std::array<uint8_t, kHeaderSize + kIncarnationSize> ack_frame{};
  };

  struct Received {
    NodeId from = 0;  // as the transport saw it
    Message msg;
  };

  Impl(Transport& t, const Clock& c, Config cfg);

  uint64_t window_size() const { return config.window; }

  // The peer set is fixed at construction, so this needs no lock.
  Peer* find_peer(NodeId id) {
    for (Peer& p : peers) {
      if (p.id == id) return &p;
    }
    return nullptr;
  }

  // The retransmission timer runs from the oldest unacknowledged frame's
  // transmission, restarted whenever an ack makes progress (RFC 6298 5.3):
  // otherwise a receiver that is working through a burst, acking as it
  // goes, would see the whole window again each timeout, and a slow
  // receiver would be buried by retransmissions (congestion collapse).
  uint64_t retransmit_due_ns(const Peer& p) const {
    const Outgoing& oldest = p.window[p.unacked_from % window_size()];
    return std::max(oldest.sent_ns, p.progress_ns) + p.rto_ns;
  }

  // The timeout when nothing is failing: the round-trip estimate plus four
  // deviations, never below the configured timeout. A slow or busy peer
  // (a descheduled node, a sanitizer build) raises it, so its queue is not
  // flooded with copies of frames it simply has not reached yet.
  uint64_t base_rto_ns(const Peer& p) const {
    return std::clamp(p.srtt_ns + 4 * p.rttvar_ns, config.retransmit_timeout_ns,
                      config.max_retransmit_timeout_ns);
  }

  uint32_t ack_for(const Peer& p) const {
    return p.handed_over == config.first_seq ? 0 : to_wire_seq(p.handed_over - 1);
  }

  // After a frame carried ack_for(p): nothing is owed any more, unless
  // messages are still being handed to the deliver callback.
  void ack_carried(Peer& p) const {
    if (p.handed_over == p.expected) p.ack_pending = false;
  }

  // Every frame names this link's incarnation and the peer's as known.
  void stamp(MessageHeader& h, const Peer& p) const {
    h.flags |= kFlagIncarnation;
    h.src_incarnation = config.incarnation;
    h.dst_incarnation = p.incarnation;
  }

  void admit_locked(Peer& p, Message msg, uint64_t now);
  void stage_data_locked(Peer& p, Outgoing& o, uint64_t now);
  void stage_ack_locked(Peer& p);
  size_t transmit_locked(uint64_t now);
  void on_ack_locked(Peer& p, uint32_t wire_ack, uint64_t now);
  void on_data_locked(Peer& p, const Message& msg, uint64_t now);
  void run_timers_locked(uint64_t now);
  void restart_peer_locked(Peer& p, uint64_t incarnation, uint64_t now);
  void drop_staged_locked(const Peer& p);

  Transport& transport;
  const Clock& clock;
  Config config;

  mutable std::mutex mu;
  std::vector<Peer> peers;  // the set is fixed; the state is guarded by mu
  Counters counters;        // guarded by mu
  std::string last_rejection;  // guarded by mu
  // The batch being transmitted (guarded by mu). The spans point into
  // Outgoing::bytes and Peer::ack_frame, which stay put until tx_flush
  // returns because the batch is sent before mu is released.
  std::vector<TxFrame> tx;
  // Per tx entry: the peer of an ACK-only frame, or the slot of a data one.
  std::vector<Peer*> tx_ack_of;
  std::vector<Outgoing*> tx_slot;

  // Poller thread only.
  std::unique_ptr<std::array<RxFrame, kRxBurst>> rx;  // 288 KiB: not on the stack
  std::vector<Received> received;
  std::vector<Message> ready;  // to deliver once mu is released
};

ReliableLink::Impl::Impl(Transport& t, const Clock& c, Config cfg)
    : transport(t), clock(c), config(std::move(cfg)) {
  // The constructor cannot fail, so nonsense is made harmless instead.
  config.window = std::max<uint32_t>(config.window, 1);
  config.first_seq = std::max<uint64_t>(config.first_seq, 1);
  config.retransmit_timeout_ns = std::max<uint64_t>(config.retransmit_timeout_ns, 1);
  config.max_retransmit_timeout_ns =
      std::max(config.max_retransmit_timeout_ns, config.retransmit_timeout_ns);
  if (config.incarnation == 0) config.incarnation = new_incarnation();

  std::vector<NodeId> ids;
  for (NodeId id : config.peers) {
    if (id != config.local && std::find(ids.begin(), ids.end(), id) == ids.end()) {
      ids.push_back(id);
    }
  }
  peers.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    Peer& p = peers[i];
    p.id = ids[i];
    p.next_seq = p.unacked_from = p.expected = p.handed_over = config.first_seq;
    p.window.resize(config.window);
    p.ahead.resize(config.window);
    p.rto_ns = config.retransmit_timeout_ns;
  }
  tx.reserve(peers.size() * (config.window + 1));
  tx_ack_of.reserve(tx.capacity());
  tx_slot.reserve(tx.capacity());
  rx = std::make_unique<std::array<RxFrame, kRxBurst>>();
  received.reserve(kRxBurst);
  ready.reserve(config.window);
}

// Gives msg the next sequence number and a window slot, and queues it.
void ReliableLink::Impl::admit_locked(Peer& p, Message msg, uint64_t now) {
  const uint64_t seq = p.next_seq++;
  Outgoing& o = p.window[seq % window_size()];
  // The slot's previous message may still be in the batch: acknowledged
  // before it went out, which only a bogus ack does, but then its bytes
  // must leave before they are overwritten.
  if (o.staged) transmit_locked(now);
  o.msg = std::move(msg);
  o.msg.header.seq = to_wire_seq(seq);
  o.transmissions = 0;
  stage_data_locked(p, o, now);
}

// Adds a data frame to the batch with the current ack (so a retransmission
// also repairs lost ACKs), re-encoding it in place.
void ReliableLink::Impl::stage_data_locked(Peer& p, Outgoing& o, uint64_t now) {
  o.msg.header.ack = ack_for(p);
  stamp(o.msg.header, p);
  // Cannot fail: send() encoded this message, trailer included, into a
  // buffer of the same size.
  const size_t len = encode(o.msg, o.bytes);
  o.sent_ns = now;
  ++o.transmissions;
  tx.push_back(TxFrame{p.id, std::span<const uint8_t>(o.bytes.data(), len)});
  tx_ack_of.push_back(nullptr);
  tx_slot.push_back(&o);
  o.staged = true;
  ack_carried(p);
}

void ReliableLink::Impl::stage_ack_locked(Peer& p) {
  Message m;
  m.header.type = MessageType::kAck;
  m.header.flags = kFlagAckOnly;
  m.header.src_node = config.local;
  m.header.dst_node = p.id;
  m.header.seq = 0;
  m.header.ack = ack_for(p);
  m.header.cluster_id = config.cluster_id;
  stamp(m.header, p);
  m.payload = AckPayload{};
  const size_t len = encode(m, p.ack_frame);
  tx.push_back(TxFrame{p.id, std::span<const uint8_t>(p.ack_frame.data(), len)});
  tx_ack_of.push_back(&p);
  tx_slot.push_back(nullptr);
  ack_carried(p);
}

// Hands the batch to the transport. Frames it cannot take now are not kept
// around: a data frame stays unacknowledged and the retransmission timer
// sends it again; an ACK becomes due again at once.
size_t ReliableLink::Impl::transmit_locked(uint64_t now) {
  if (tx.empty()) return 0;
  const std::span<const TxFrame> all(tx);
  size_t done = transport.tx_burst(all);
  while (done < all.size()) {
    transport.tx_flush();  // make room, as the Transport contract says
    const size_t more = transport.tx_burst(all.subspan(done));
    if (more == 0) break;
    done += more;
  }
  transport.tx_flush();
  for (size_t i = 0; i < tx.size(); ++i) {
    if (tx_slot[i] != nullptr) tx_slot[i]->staged = false;
    Peer* p = tx_ack_of[i];
    if (p == nullptr) continue;
    if (i < done) {
      ++counters.acks_sent;
    } else {
      p->ack_pending = true;
      p->ack_due_ns = now;
    }
  }
  tx.clear();
  tx_ack_of.clear();
  tx_slot.clear();
  return done;
}

void ReliableLink::Impl::on_ack_locked(Peer& p, uint32_t wire_ack, uint64_t now) {
  if (wire_ack == 0 || p.unacked_from == p.next_seq) return;
  const uint64_t acked = from_wire_seq(wire_ack, p.unacked_from);
  // Old news, or an ack for something never sent (ignored rather than
  // trusted: it would free slots of messages the peer has not got).
  if (acked < p.unacked_from || acked >= p.next_seq) return;
  // Karn's rule: only a frame sent once times the round trip unambiguously.
  // The back-off ends with such a sample (RFC 6298 5.7), not with any
  // progress: a peer slower than the timeout would otherwise have every
  // message retransmitted and never yield a sample to learn from.
  const Outgoing& newest = p.window[acked % window_size()];
  if (newest.transmissions == 1 && now >= newest.sent_ns) {
    const uint64_t sample = now - newest.sent_ns;
    if (p.srtt_ns == 0) {
      p.srtt_ns = std::max<uint64_t>(sample, 1);
      p.rttvar_ns = sample / 2;
    } else {
      const uint64_t err = p.srtt_ns > sample ? p.srtt_ns - sample : sample - p.srtt_ns;
      p.rttvar_ns = (3 * p.rttvar_ns + err) / 4;
      p.srtt_ns = (7 * p.srtt_ns + sample) / 8;
    }
    p.rto_ns = base_rto_ns(p);
  }
  counters.acknowledged += acked + 1 - p.unacked_from;
  p.unacked_from = acked + 1;
  p.progress_ns = now;
  while (!p.backlog.empty() && p.next_seq - p.unacked_from < window_size()) {
    admit_locked(p, std::move(p.backlog.front()), now);
    p.backlog.pop_front();
  }
}

void ReliableLink::Impl::on_data_locked(Peer& p, const Message& msg, uint64_t now) {
  const uint64_t w = window_size();
  const uint64_t seq = from_wire_seq(msg.header.seq, p.expected);
  if (seq < p.expected) {
    // Delivered already: the sender retransmits because our ACK was lost
    // (or is late). Answer at once instead of after ack_delay_ns.
    ++counters.duplicates;
    p.ack_due_ns = p.ack_pending ? std::min(p.ack_due_ns, now) : now;
    p.ack_pending = true;
    return;
  }
  if (seq - p.expected >= w) {
    // A peer with our window never sends this far ahead; the sender will
    // retransmit it once it fits.
    ++counters.out_of_window;
    return;
  }
  if (seq > p.expected) {
    std::optional<Message>& slot = p.ahead[seq % w];
    if (slot.has_value()) {
      ++counters.duplicates;
    } else {
      slot = msg;
      ++counters.out_of_order;
    }
    return;
  }
  ready.push_back(msg);
  ++p.expected;
  ++counters.delivered;
  // Every buffered message lies in (expected, expected + window), one per
  // slot, so the slot of `expected` holds exactly the next one if any.
  for (std::optional<Message>* slot = &p.ahead[p.expected % w]; slot->has_value();
       slot = &p.ahead[p.expected % w]) {
    ready.push_back(std::move(**slot));
    slot->reset();
    ++p.expected;
    ++counters.delivered;
  }
  if (!p.ack_pending) {
    p.ack_pending = true;
    p.ack_due_ns = now + config.ack_delay_ns;
  }
}

void ReliableLink::Impl::run_timers_locked(uint64_t now) {
  const uint64_t w = window_size();
  for (Peer& p : peers) {
    if (p.unacked_from != p.next_seq) {
      if (now >= retransmit_due_ns(p)) {
        // Go-back-N: everything from the oldest unacknowledged on. (Nothing
        // admitted from the backlog in this poll is among them twice: that
        // took an ack, which restarted the timer.)
        for (uint64_t seq = p.unacked_from; seq != p.next_seq; ++seq) {
          Outgoing& o = p.window[seq % w];
          stage_data_locked(p, o, now);
          ++counters.retransmitted;
        }
        p.rto_ns = std::min(p.rto_ns * 2, config.max_retransmit_timeout_ns);
      }
    }
    if (p.ack_pending && now >= p.ack_due_ns) stage_ack_locked(p);
  }
}

// Frames of p staged in this poll were stamped and numbered for the
// incarnation being replaced, and point into window slots about to be
// reused: they are not sent.
void ReliableLink::Impl::drop_staged_locked(const Peer& p) {
  size_t kept = 0;
  for (size_t i = 0; i < tx.size(); ++i) {
    if (tx[i].dst == p.id) {
      if (tx_slot[i] != nullptr) tx_slot[i]->staged = false;
      continue;
    }
    tx[kept] = tx[i];
    tx_ack_of[kept] = tx_ack_of[i];
    tx_slot[kept] = tx_slot[i];
    ++kept;
  }
  tx.resize(kept);
  tx_ack_of.resize(kept);
  tx_slot.resize(kept);
}

// The peer is a new incarnation (reliable_link.hpp, "Peer restarts").
void ReliableLink::Impl::restart_peer_locked(Peer& p, uint64_t incarnation, uint64_t now) {
  if (p.incarnation != 0) ++counters.peer_restarts;
  p.incarnation = incarnation;
  drop_staged_locked(p);

  // Receive side: the new incarnation numbers from first_seq, and what the
  // old one left behind a gap can never be delivered in order.
  p.expected = p.handed_over = config.first_seq;
  for (std::optional<Message>& slot : p.ahead) slot.reset();

  // Send side: what the old incarnation did not acknowledge goes to the new
  // one, renumbered, in the original order and ahead of the backlog.
  const uint64_t w = window_size();
  std::vector<Message> again;
  again.reserve(p.next_seq - p.unacked_from);
  for (uint64_t seq = p.unacked_from; seq != p.next_seq; ++seq) {
    again.push_back(std::move(p.window[seq % w].msg));
  }
  p.backlog.insert(p.backlog.begin(), std::make_move_iterator(again.begin()),
                   std::make_move_iterator(again.end()));
  counters.retransmitted += again.size();
  p.next_seq = p.unacked_from = config.first_seq;
  // The path is the same, so the round-trip estimate stands; the back-off
  // of a dead peer does not.
  p.rto_ns = base_rto_ns(p);
  p.progress_ns = now;
  while (!p.backlog.empty() && p.next_seq - p.unacked_from < w) {
    admit_locked(p, std::move(p.backlog.front()), now);
    p.backlog.pop_front();
  }
}

ReliableLink::ReliableLink(Transport& transport, const Clock& clock, Config config)
    : impl_(std::make_unique<Impl>(transport, clock, std::move(config))) {}

ReliableLink::~ReliableLink() = default;

Status ReliableLink::send(Message msg) {
  Impl& s = *impl_;
  const NodeId dst = msg.header.dst_node;
  Impl::Peer* p = s.find_peer(dst);
  if (p == nullptr) {
    return Error::format("node {} cannot send to node {}: it is not a peer in this cluster",
                         s.config.local, dst);
  }
  if (std::holds_alternative<AckPayload>(msg.payload)) {
    return Error::format(
        "send() to node {} got an ACK payload: ACKs are generated by the "
        "reliability layer itself",
        dst);
  }
  msg.header.version = kWireVersion;
  msg.header.flags = kFlagIncarnation;  // the trailer counts against the frame size
  msg.header.src_node = s.config.local;
  msg.header.cluster_id = s.config.cluster_id;
  msg.header.seq = 1;  // any sequenced value, for the check below
  msg.header.ack = 0;
  msg.header.src_incarnation = s.config.incarnation;
  msg.header.dst_incarnation = 0;

  // Check here, on the sender's thread, that the receiver will accept the
  // message: one it rejected would be retransmitted forever and stall every
  // message queued behind it.
  std::array<uint8_t, kMaxEncodedSize> probe{};
  const size_t len = encode(msg, probe);
  if (len == 0) {
    return Error::format("message to node {} does not encode into {} bytes", dst, probe.size());
  }
  if (len > s.transport.max_frame_size()) {
    return Error::format("message to node {} is {} bytes, more than the {} transport carries ({})",
                         dst, len, s.transport.name(), s.transport.max_frame_size());
  }
  Result<Message> check = decode(std::span<const uint8_t>(probe.data(), len));
  if (!check.ok()) {
    return Error::format("message to node {} would be rejected by the receiver: {}", dst,
                         check.error().message);
  }
  msg.header.type = check->header.type;

  std::lock_guard lock(s.mu);
  const uint64_t now = s.clock.now_ns();
  ++s.counters.sent;
  if (!p->backlog.empty() || p->next_seq - p->unacked_from >= s.window_size()) {
    p->backlog.push_back(std::move(msg));
    ++s.counters.backlogged;
    return {};
  }
  s.admit_locked(*p, std::move(msg), now);
  s.transmit_locked(now);
  return {};
}

size_t ReliableLink::poll(const std::function<void(const Message&)>& deliver) {
  Impl& s = *impl_;
  const size_t n = s.transport.rx_burst(*s.rx);

  // Decode outside the lock: it is the expensive part and touches no state.
  uint64_t malformed = 0;
  std::string rejection;
  s.received.clear();
  for (size_t i = 0; i < n; ++i) {
    const RxFrame& f = (*s.rx)[i];
    Result<Message> r = decode(std::span<const uint8_t>(f.data, f.len));
    if (!r.ok()) {
      ++malformed;
      rejection = fmt::format("malformed frame from node {}: {}", f.src, r.error().message);
      continue;
    }
    const MessageHeader& h = r->header;
    // Sequencing rules the codec does not know: ACK-only frames, and only
    // they, carry the flag and sequence number 0.
    const bool is_ack = h.type == MessageType::kAck;
    if (is_ack != ((h.flags & kFlagAckOnly) != 0) || is_ack != (h.seq == 0)) {
      ++malformed;
      rejection = fmt::format("malformed frame from node {}: ACK flag, type and sequence {} disagree",
                              f.src, h.seq);
      continue;
    }
    // Without incarnations a restarted peer could not be told from its
    // predecessor; every ReliableLink sends them.
    if ((h.flags & kFlagIncarnation) == 0) {
      ++malformed;
      rejection = fmt::format("malformed frame from node {}: no incarnation trailer", f.src);
      continue;
    }
    s.received.push_back(Impl::Received{f.src, std::move(*r)});
  }

  size_t sent = 0;
  {
    std::lock_guard lock(s.mu);
    const uint64_t now = s.clock.now_ns();
    s.counters.malformed += malformed;
    if (!rejection.empty()) s.last_rejection = std::move(rejection);
    for (const Impl::Received& r : s.received) {
      const MessageHeader& h = r.msg.header;
      Impl::Peer* p = s.find_peer(h.src_node);
      // The transport's idea of the sender must agree with the header, or
      // any node could forge another's messages (and acks).
      if (h.cluster_id != s.config.cluster_id || h.dst_node != s.config.local || p == nullptr ||
          r.from != h.src_node) {
        ++s.counters.foreign;
        s.last_rejection = fmt::format(
            "foreign frame: transport source node {}, header says node {} of cluster {} for node {}",
            r.from, h.src_node, h.cluster_id, h.dst_node);
        continue;
      }
      if (h.src_incarnation < p->incarnation) {
        ++s.counters.stale_incarnation;
        s.last_rejection = fmt::format(
            "stale frame: node {} incarnation {:#x}, after its incarnation {:#x} was seen",
            h.src_node, h.src_incarnation, p->incarnation);
        continue;
      }
      const bool restarted = h.src_incarnation > p->incarnation;
      if (restarted) s.restart_peer_locked(*p, h.src_incarnation, now);
      if (h.dst_incarnation != s.config.incarnation) {
        // Meant for a predecessor of ours, or the peer does not know us yet
        // (0): not delivered, and its ack counts none of our messages. An
        // ACK now tells the peer who we are, so it restarts towards us.
        if (h.dst_incarnation != 0) {
          ++s.counters.stale_incarnation;
          s.last_rejection = fmt::format(
              "stale frame: node {} wrote to incarnation {:#x} of this node, which is {:#x}",
              h.src_node, h.dst_incarnation, s.config.incarnation);
        }
        p->ack_due_ns = p->ack_pending ? std::min(p->ack_due_ns, now) : now;
        p->ack_pending = true;
        continue;
      }
      if (!restarted) s.on_ack_locked(*p, h.ack, now);
      if (h.type != MessageType::kAck) s.on_data_locked(*p, r.msg, now);
    }
    // Timers wait for the deliveries (below) when there are any, so that
    // a due ACK covers them.
    if (s.ready.empty()) s.run_timers_locked(now);
    sent = s.transmit_locked(now);
  }
  if (s.ready.empty()) return n + sent;

  if (deliver) {
    for (const Message& m : s.ready) deliver(m);
  }
  s.ready.clear();
  {
    std::lock_guard lock(s.mu);
    const uint64_t now = s.clock.now_ns();
    // Only the poller thread moves `expected`, so it has not moved since
    // the messages just delivered were taken.
    for (Impl::Peer& p : s.peers) p.handed_over = p.expected;
    s.run_timers_locked(now);
    sent += s.transmit_locked(now);
  }
  return n + sent;
}

std::string ReliableLink::last_rejection() const {
  std::lock_guard lock(impl_->mu);
  return impl_->last_rejection;
}

std::optional<uint64_t> ReliableLink::next_timer_ns() const {
  const Impl& s = *impl_;
  std::lock_guard lock(s.mu);
  std::optional<uint64_t> next;
  auto consider = [&next](uint64_t t) { next = next ? std::min(*next, t) : t; };
  for (const Impl::Peer& p : s.peers) {
    if (p.unacked_from != p.next_seq) consider(s.retransmit_due_ns(p));
    if (p.ack_pending) consider(p.ack_due_ns);
  }
  return next;
}

bool ReliableLink::all_acknowledged() const {
  const Impl& s = *impl_;
  std::lock_guard lock(s.mu);
  return std::all_of(s.peers.begin(), s.peers.end(), [](const Impl::Peer& p) {
    return p.unacked_from == p.next_seq && p.backlog.empty();
  });
}

ReliableLink::Counters ReliableLink::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

uint64_t ReliableLink::incarnation() const { return impl_->config.incarnation; }

}  // namespace dvmm::dataplane
