// The one transport interface every backend implements (shm, udp, dpdk,
// fpga, fake). Burst-oriented like eRPC's and DPDK's: frames are queued with
// tx_burst, pushed out with tx_flush, and collected with rx_burst. Nothing
// here blocks: the poller decides when to spin and when to sleep on
// rx_wait_fd(). Transports are unreliable in general (frames may be lost,
// duplicated or reordered); the reliability layer above makes delivery
// exactly-once and in order.
//
// Threading: one thread (the node's dataplane poller) calls rx_burst;
// tx_burst/tx_flush may be called from several threads only if the caller
// serialises them (the reliability layer does).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace dvmm::dataplane {

using NodeId = uint16_t;

// Largest frame any backend carries: a 4 KiB page plus headers fits, as on a
// jumbo-frame Ethernet link (MTU 9000).
constexpr size_t kMaxFrameSize = 9000;

struct TxFrame {
  NodeId dst = 0;
  std::span<const uint8_t> bytes;
};

struct RxFrame {
  NodeId src = 0;  // as the transport knows it (ring, socket address, MAC)
  uint16_t len = 0;
  alignas(8) uint8_t data[kMaxFrameSize];
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual const char* name() const = 0;
  virtual NodeId local_node() const = 0;
  // Largest frame this transport carries (its MTU for dvmm frames).
  virtual size_t max_frame_size() const = 0;

  // Queues frames; returns how many were taken (the rest did not fit: the
  // caller keeps them and tries again after tx_flush). Frames to unknown
  // nodes or larger than max_frame_size() are taken and dropped (counted).
  virtual size_t tx_burst(std::span<const TxFrame> frames) = 0;
  // Pushes queued frames out (and wakes a sleeping receiver).
  virtual void tx_flush() = 0;
  // Receives up to out.size() frames; returns how many.
  virtual size_t rx_burst(std::span<RxFrame> out) = 0;

  // Adaptive polling: an fd that becomes readable when frames may be
  // waiting, so an idle poller can sleep in poll(2). prepare_to_sleep()
  // arms the wake-up (for shared-memory rings: tells the sender to signal)
  // and returns false when frames arrived meanwhile (do not sleep);
  // after_wakeup() disarms it and drains the fd.
  virtual int rx_wait_fd() const = 0;
  virtual bool prepare_to_sleep() = 0;
  virtual void after_wakeup() = 0;

  struct Counters {
    uint64_t tx_frames = 0;
    uint64_t tx_bytes = 0;
    uint64_t rx_frames = 0;
    uint64_t rx_bytes = 0;
    uint64_t tx_dropped = 0;  // unknown destination, oversize, or send error
    uint64_t rx_dropped = 0;  // truncated, from an unknown peer, ring errors
  };
  virtual Counters counters() const = 0;
};

// The counters a backend bumps from its threads, and their snapshot.
struct TransportCounterSet {
  std::atomic<uint64_t> tx_frames{0}, tx_bytes{0}, rx_frames{0}, rx_bytes{0};
  std::atomic<uint64_t> tx_dropped{0}, rx_dropped{0};

  Transport::Counters snapshot() const {
    Transport::Counters c;
    c.tx_frames = tx_frames.load(std::memory_order_relaxed);
    c.tx_bytes = tx_bytes.load(std::memory_order_relaxed);
    c.rx_frames = rx_frames.load(std::memory_order_relaxed);
    c.rx_bytes = rx_bytes.load(std::memory_order_relaxed);
    c.tx_dropped = tx_dropped.load(std::memory_order_relaxed);
    c.rx_dropped = rx_dropped.load(std::memory_order_relaxed);
    return c;
  }
};

}  // namespace dvmm::dataplane
