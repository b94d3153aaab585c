// The `fake` transport backend: an in-memory network for protocol tests
// (as eRPC's transport_impl/fake). A FakeNetwork owns one endpoint per node;
// each endpoint is a Transport, so the reliability layer and everything above
// it run unchanged on it. The wire between endpoints can lose, duplicate,
// reorder and delay frames, per network or per directed link, so that tests
// can prove exactly-once in-order delivery under the faults a real network
// produces.
//
// Determinism: all randomness comes from one std::mt19937_64 seeded from
// Config::seed, and all time from the injected Clock. A single-threaded test
// on a ManualClock therefore replays exactly from its seed (print it with
// seed() when a test fails). With several threads the draws interleave as the
// scheduler decides, so only the statistics reproduce.
//
// Model of a frame's journey:
//   tx_burst   copies the frame into the sender's tx queue (bounded, as a
//              NIC ring: a full queue takes fewer frames than offered)
//   tx_flush   puts queued frames on the wire: each is dropped, or delivered
//              once or twice (duplicate) into the receiver's rx queue with a
//              ready time = now + delay + jitter; a frame chosen for
//              reordering is also held until some later frames to the same
//              node have passed it (or a hold time expired); the receiver's
//              eventfd is signalled
//   rx_burst   returns frames whose ready time has come and that are not
//              held, oldest first; later frames overtake waiting ones
//
// Threading: every method of the network and of its endpoints is safe to
// call from any thread (one mutex guards the whole network: this is a test
// double, not a fast path). A ManualClock is not thread-safe, so
// multi-threaded tests use a MonotonicClock.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "dataplane/transport.hpp"
#include "host/common/clock.hpp"
#include "host/common/result.hpp"

namespace dvmm::dataplane {

// What the wire does to frames on a directed link. Each probability is drawn
// independently per frame (a duplicated frame's copies are delayed and
// reordered independently).
struct FakeImpairments {
  double drop = 0.0;       // the frame is lost
  double duplicate = 0.0;  // the frame arrives twice
  // The frame is held back until 1..reorder_depth (uniform) later frames to
  // its node have passed it, or reorder_max_hold_ns after its ready time,
  // whichever comes first.
  double reorder = 0.0;
  uint32_t reorder_depth = 4;
  uint64_t reorder_max_hold_ns = 1'000'000;
  uint64_t delay_ns = 0;   // fixed one-way latency
  uint64_t jitter_ns = 0;  // plus a uniform random latency in [0, jitter_ns] (reorders too)
};

class FakeNetwork {
 public:
  struct Config {
    uint64_t seed = 1;
    size_t max_frame_size = kMaxFrameSize;  // every endpoint's MTU (<= kMaxFrameSize)
    size_t tx_queue_frames = 64;            // tx_burst takes at most this many before tx_flush
    size_t rx_queue_frames = 8192;          // more frames waiting at a receiver are dropped
    FakeImpairments impairments{};          // every link without its own (set_link_impairments)
  };

  // What happened on the wire, over all links.
  struct Stats {
    uint64_t sent = 0;         // frames put on the wire by tx_flush
    uint64_t dropped = 0;      // lost by the drop impairment
    uint64_t duplicated = 0;   // delivered a second time
    uint64_t reordered = 0;    // held back for reordering
    uint64_t delivered = 0;    // returned by rx_burst
    uint64_t injected = 0;     // raw frames from inject()
    uint64_t rx_overflow = 0;  // dropped because the receiver's queue was full
  };

  FakeNetwork(const Clock& clock, Config config);
  ~FakeNetwork();
  FakeNetwork(const FakeNetwork&) = delete;
  FakeNetwork& operator=(const FakeNetwork&) = delete;

  // The endpoint of `node`, created on first use; it lives as long as the
  // network. Frames to a node that has no endpoint yet are dropped by the
  // sender (Transport::Counters::tx_dropped), as to an unknown MAC.
  Transport& endpoint(NodeId node);

  // Impairments of every link that has none of its own.
  void set_impairments(const FakeImpairments& impairments);
  // Impairments of the directed link from -> to only (overrides the default).
  void set_link_impairments(NodeId from, NodeId to, const FakeImpairments& impairments);
  void clear_link_impairments(NodeId from, NodeId to);

  // Delivers raw bytes to `to` as if `from` had sent them (no impairments,
  // no delay): for malformed, foreign and forged frames. `from` need not
  // have an endpoint. Errors: `to` has no endpoint, or the bytes exceed
  // kMaxFrameSize (they could not be received at all).
  Status inject(NodeId from, NodeId to, std::span<const uint8_t> bytes);

  // When the next frame waiting for `node` becomes receivable (a time not
  // after now, if one already is), or nullopt when none is waiting. A poller that sleeps on the
  // endpoint's rx_wait_fd bounds its sleep by this: the eventfd is signalled
  // when a frame is queued, not again when its delay has elapsed.
  std::optional<uint64_t> next_arrival_ns(NodeId node) const;

  // Frames queued at receivers and not yet received (held ones included).
  size_t in_flight() const;

  Stats stats() const;
  uint64_t seed() const;

 private:
  struct Impl;
  class Endpoint;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dvmm::dataplane
