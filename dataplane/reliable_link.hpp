// Exactly-once, in-order delivery of Messages between the nodes of one
// cluster over an unreliable Transport: per-peer sequence numbers,
// cumulative acknowledgements (piggybacked on every message, or sent alone
// when there is nothing else to send), retransmission after a timeout
// (go-back-N from the oldest unacknowledged message), duplicate suppression
// and an out-of-order buffer. A lost IPI or I/O reply hangs a guest, so
// nothing is ever given up: an unresponsive peer is the liveness layer's
// business (heartbeats), not this one's.
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
  // Why the most recent malformed or foreign frame was dropped (empty if
  // none was), for the node's rate-limited log line.
  std::string last_rejection() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dvmm::dataplane
