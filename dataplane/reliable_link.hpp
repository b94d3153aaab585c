// Exactly-once, in-order delivery of Messages between the nodes of one
// cluster over an unreliable Transport: per-peer sequence numbers,
// cumulative acknowledgements (piggybacked on every message, or sent alone
// when there is nothing else to send), retransmission after a timeout
// (go-back-N from the oldest unacknowledged message), duplicate suppression
// and an out-of-order buffer. A lost IPI or I/O reply hangs a guest, so
// nothing is ever given up: an unresponsive peer is the liveness layer's
// business (heartbeats), not this one's.
//
// Acknowledgements: a message is acknowledged only once the deliver
// callback has returned for it, so a receiver that dies never makes the
// sender forget a message its application had not finished taking. (A reply
// sent from inside the callback therefore acknowledges up to the message
// before; the delayed ACK covers the rest.)
//
// Peer restarts. Each link has an incarnation: a non-zero 64-bit number
// fixed at construction (Config::incarnation; by default the wall clock in
// ns, strictly increasing within a process), so a node process that is
// killed and started again is a new, larger incarnation. Every frame carries
// the sender's incarnation and the receiver's as the sender knows it, 0
// while unknown (message.hpp, the incarnation trailer). Per peer, a receiver
//   - drops a frame from an incarnation older than the newest it has seen
//     of that peer (counted: stale_incarnation);
//   - on a frame from a newer incarnation (counted in peer_restarts, except
//     the first it ever hears of the peer) starts that peer's link afresh.
//     Receive side: it expects first_seq again, and forgets messages
//     buffered behind a gap (they died with their sender). Send side:
//     every message the old incarnation had not acknowledged is renumbered
//     from first_seq and sent to the new one at once, in the original
//     order, ahead of the backlog; what the old one acknowledged is not
//     sent again. That frame's ack is ignored: nothing sent before the
//     sender was known can have been accepted by it;
//   - delivers nothing from, and takes no ack from, a frame addressed to
//     another incarnation of itself (counted: stale_incarnation) or to 0
//     (a peer that does not know it yet, e.g. at first contact), and
//     answers at once with an ACK that introduces itself; the sender then
//     restarts the link towards it as above.
// What that gives:
//   - towards a peer that restarts, nothing is lost or reordered: every
//     message is delivered by some incarnation, each incarnation delivers a
//     contiguous run in send order, and an acknowledged message is never
//     sent again. Messages the dead incarnation delivered but had not yet
//     acknowledged (at most `window`) are delivered again by the next one,
//     first: exactly-once within an incarnation, at-least-once across a
//     crash of the receiver (a receiver that forgets can't be given more).
//   - from a peer that restarts, the survivor delivers a prefix of what each
//     incarnation sent, exactly once and in order, and nothing of an
//     incarnation once a newer one was seen; the rest (sent, never received
//     in order) died with the sender.
//   - first contact costs one round trip (the first frames are answered,
//     then sent again).
//   - incarnations of a node are compared as numbers: should a node's wall
//     clock step back across a restart by more than the restart took, the
//     new incarnation looks older and its frames are dropped as stale
//     (counted; nothing is misdelivered), and the heartbeats report the
//     node silent.
//
// Threading: send() may be called from any thread (vCPU threads send IPIs
// and I/O requests); poll() and next_timer_ns() only from the node's
// dataplane poller thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/message.hpp"
#include "dataplane/message_link.hpp"
#include "dataplane/transport.hpp"
#include "host/common/clock.hpp"
#include "host/common/result.hpp"

namespace dvmm::dataplane {

class ReliableLink final : public MessageLink {
 public:
  struct Config {
    uint32_t cluster_id = 0;
    NodeId local = 0;
    std::vector<NodeId> peers{};  // every other node of the cluster
    // First retransmission after 2 ms; later the timeout follows the
    // measured round trip (RFC 6298, Karn's rule) but never drops below this.
    uint64_t retransmit_timeout_ns = 2'000'000;
    uint64_t ack_delay_ns = 50'000;  // a lone ACK waits this long for a piggyback ride
    uint32_t window = 256;           // unacknowledged messages in flight per peer
    // Each retransmission doubles the timeout up to this cap, so a dead peer
    // costs a bounded trickle, not a storm; the first round trip measured
    // afterwards resets it.
    uint64_t max_retransmit_timeout_ns = 50'000'000;
    // Sequence number of every link's first message. Sequence numbers are
    // 64-bit inside and 32-bit on the wire (skipping 0, which means
    // "unsequenced"); tests start near 2^32 to cover the wrap. Every node
    // of a cluster must use the same value.
    uint64_t first_seq = 1;
    // This link's incarnation (see above); 0 = choose one (the wall clock).
    // Tests set it to restart a node deterministically.
    uint64_t incarnation = 0;
  };

  using Counters = LinkCounters;

  ReliableLink(Transport& transport, const Clock& clock, Config config);
  ~ReliableLink() override;
  ReliableLink(const ReliableLink&) = delete;
  ReliableLink& operator=(const ReliableLink&) = delete;

  // Queues msg for msg.header.dst_node and transmits it if the window
  // allows; fills in src_node, seq, ack and cluster_id. Never blocks on the
  // network. Errors: unknown destination, payload that does not encode.
  Status send(Message msg) override;

  // Receives what is waiting, delivers every message that is next in order
  // (each exactly once, in send order per source), sends due ACKs and
  // retransmissions. Returns how much work was done (0 = idle).
  size_t poll(const std::function<void(const Message&)>& deliver) override;

  // When poll() must run next even if no frame arrives (retransmission or
  // delayed ACK), on the Clock's time base.
  std::optional<uint64_t> next_timer_ns() const override;

  // True when every sent message has been acknowledged (tests, shutdown).
  bool all_acknowledged() const override;

  Counters counters() const override;
  // This link's incarnation (Config::incarnation, or the one chosen).
  uint64_t incarnation() const;
  // Why the most recent malformed or foreign frame was dropped (empty if
  // none was), for the node's rate-limited log line.
  std::string last_rejection() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dvmm::dataplane
