// What a node needs from its dataplane: exactly-once, in-order delivery of
// Messages to and from the other nodes of its cluster. Two implementations:
// ReliableLink (the protocol in software, over an unreliable Transport) and
// fpga::FpgaLink (the same protocol run by the FPGA offload engine, which
// must not have the software one stacked on top of it). A node holds a
// MessageLink and does not care which.
//
// Threading (both implementations): send() from any thread; poll(),
// next_timer_ns() from the node's dataplane poller thread only;
// all_acknowledged(), counters() and last_rejection() from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "dataplane/message.hpp"
#include "host/common/result.hpp"

namespace dvmm::dataplane {

// Event counters of a link. A backend that has no such event reports 0.
struct LinkCounters {
  uint64_t sent = 0;           // messages given to send()
  uint64_t delivered = 0;      // messages handed to the deliver callback
  uint64_t retransmitted = 0;  // frames sent again
  uint64_t duplicates = 0;     // received again after delivery (dropped)
  uint64_t out_of_order = 0;   // received ahead of a gap (software: buffered; engine: dropped)
  uint64_t malformed = 0;      // failed decode, or ACK flag/type/seq disagree (dropped)
  uint64_t foreign = 0;        // wrong cluster id, unknown or mismatched source node (dropped)
  uint64_t acks_sent = 0;      // ACK-only frames
  uint64_t backlogged = 0;     // sends that waited for window space
  uint64_t out_of_window = 0;  // sequenced beyond the receive window (dropped; cannot
                               // happen with a peer of the same window size)
  uint64_t acknowledged = 0;   // sent messages the peer acknowledged (so delivered)
  // Peer restarts (ReliableLink only, reliable_link.hpp "Peer restarts"):
  uint64_t peer_restarts = 0;      // a peer came back as a new incarnation
  uint64_t stale_incarnation = 0;  // from an older incarnation of a peer, or addressed to an
                                   // older incarnation of this node (dropped)
};

class MessageLink {
 public:
  virtual ~MessageLink() = default;

  // Queues msg for msg.header.dst_node; the link fills in src_node, seq,
  // ack and cluster_id. Never blocks on the network. Errors: unknown
  // destination, a payload this link cannot carry.
  virtual Status send(Message msg) = 0;

  // Receives what is waiting and delivers every message that is next in
  // order (each exactly once, in send order per source); does the
  // protocol's timed work. Returns how much work was done (0 = idle).
  virtual size_t poll(const std::function<void(const Message&)>& deliver) = 0;

  // When poll() must run next even if no frame arrives, on the link's
  // Clock time base (nullopt: only when a frame arrives or send() wakes it).
  virtual std::optional<uint64_t> next_timer_ns() const = 0;

  // True when every sent message has been acknowledged (tests, shutdown).
  virtual bool all_acknowledged() const = 0;

  virtual LinkCounters counters() const = 0;
  // Why the most recent malformed or foreign frame was dropped (empty if
  // none was), for the node's rate-limited log line.
  virtual std::string last_rejection() const = 0;

  // A link whose poll() must run for send()'s message to leave (the
  // engine's model is clocked by the poller thread) calls wake from send();
  // the node passes its poller's wake(). ReliableLink transmits from
  // send() itself and ignores it.
  virtual void set_wake(std::function<void()> wake) { (void)wake; }
};

}  // namespace dvmm::dataplane
