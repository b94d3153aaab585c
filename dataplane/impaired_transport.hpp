// A Transport decorator that damages what another transport receives: frames
// are dropped, duplicated or reordered at random, as a lossy network would.
// It proves that the reliability layer gives exactly-once, in-order delivery
// on a real backend (DPDK, shm, udp, the FPGA co-simulation's wire), where
// the fake transport proves it on a simulated one. Faults are applied on the
// receive side, to whole frames, so every backend is covered the same way
// without touching its code.
//
// A frame chosen for reordering is held back and handed out after the next
// frame that arrives, or, if none comes, after kMaxHoldPolls empty rx_bursts
// (so a held frame is never stuck behind silence).
//
// Threading: as the wrapped Transport (rx_burst on one thread).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <vector>

#include "dataplane/transport.hpp"

namespace dvmm::dataplane {

struct Impairments {
  double drop = 0.0;       // probability a received frame is lost
  double duplicate = 0.0;  // ... is handed out twice
  double reorder = 0.0;    // ... is held back behind the next frame
  uint64_t seed = 1;
};

class ImpairedTransport final : public Transport {
 public:
  static constexpr uint32_t kMaxHoldPolls = 64;

  struct Stats {
    uint64_t received = 0;  // frames the wrapped transport delivered
    uint64_t dropped = 0;
    uint64_t duplicated = 0;
    uint64_t reordered = 0;
  };

  ImpairedTransport(Transport& inner, const Impairments& impairments);

  const char* name() const override { return inner_.name(); }
  NodeId local_node() const override { return inner_.local_node(); }
  size_t max_frame_size() const override { return inner_.max_frame_size(); }
  size_t tx_burst(std::span<const TxFrame> frames) override { return inner_.tx_burst(frames); }
  void tx_flush() override { inner_.tx_flush(); }
  size_t rx_burst(std::span<RxFrame> out) override;
  int rx_wait_fd() const override { return inner_.rx_wait_fd(); }
  bool prepare_to_sleep() override;
  void after_wakeup() override { inner_.after_wakeup(); }
  Counters counters() const override { return inner_.counters(); }

  Stats stats() const { return stats_; }

 private:
  using FramePtr = std::unique_ptr<RxFrame>;
  FramePtr take_spare();
  FramePtr copy_of(const RxFrame& f);
  bool chance(double p) { return p > 0.0 && coin_(rng_) < p; }

  Transport& inner_;
  const Impairments impairments_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> coin_{0.0, 1.0};
  std::deque<FramePtr> ready_;   // to hand out, in order
  FramePtr held_;                // held back for reordering
  uint32_t held_polls_ = 0;      // empty rx_bursts since it was held
  std::vector<FramePtr> spare_;  // recycled frames (each is 9 KB)
  std::unique_ptr<RxFrame[]> staging_;
  Stats stats_;
};

}  // namespace dvmm::dataplane
