// AXI-Stream (64-bit, byte lane 0 first) drivers for the testbenches: a
// source that sends queued packets with random valid gaps, and a sink
// that collects packets under random back-pressure. Both bind to the
// Verilated model's port members by reference.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "beats.hpp"
#include "harness.hpp"

namespace dvmm::fpga::tb {

class AxisSource : public Component {
 public:
  // gap_percent: chance of holding tvalid low in a cycle between beats.
  AxisSource(uint64_t& tdata, uint8_t& tkeep, uint8_t& tlast, uint8_t& tvalid,
             const uint8_t& tready, Rng& rng, unsigned gap_percent)
      : tdata_(tdata),
        tkeep_(tkeep),
        tlast_(tlast),
        tvalid_(tvalid),
        tready_(tready),
        rng_(rng),
        gap_(gap_percent) {}

  // Streams with tuser (on each beat, from AxisBeat::user).
  void set_tuser(uint8_t& tuser) { tuser_ = &tuser; }
  void send(const Bytes& packet) { queue_.push_back(to_beats(packet)); }
  void send_beats(const BeatPacket& beats) { queue_.push_back(beats); }
  bool idle() const { return queue_.empty() && !holding_; }
  void set_gap(unsigned percent) { gap_ = percent; }
  // Drops everything queued, as the reset of the stream's producer does.
  void reset() {
    queue_.clear();
    pos_ = 0;
    holding_ = false;
  }
  // Cycle (Sim::cycle) at which the first/last beat of the most recent
  // packet was accepted.
  uint64_t first_accept_cycle() const { return first_accept_; }
  uint64_t last_accept_cycle() const { return last_accept_; }
  void set_clock(const uint64_t* cycle) { cycle_ = cycle; }
  uint64_t packets_sent() const { return packets_sent_; }

  void drive() override {
    if (!holding_) {
      // AXI-Stream lets valid drop only between transfers: decide now.
      if (!queue_.empty() && !rng_.chance(gap_)) {
        cur_ = queue_.front()[pos_];
        holding_ = true;
      }
    }
    tvalid_ = holding_ ? 1 : 0;
    tdata_ = holding_ ? cur_.data : 0;
    tkeep_ = holding_ ? cur_.keep : 0;
    tlast_ = holding_ && cur_.last ? 1 : 0;
    if (tuser_ != nullptr) *tuser_ = holding_ && cur_.user ? 1 : 0;
  }
  void sample() override {
    if (!(holding_ && tready_)) return;
    holding_ = false;
    const uint64_t now = cycle_ != nullptr ? *cycle_ : 0;
    if (pos_ == 0) first_accept_ = now;
    if (++pos_ == queue_.front().size()) {
      last_accept_ = now;
      queue_.pop_front();
      pos_ = 0;
      ++packets_sent_;
    }
  }

 private:
  uint64_t& tdata_;
  uint8_t& tkeep_;
  uint8_t& tlast_;
  uint8_t& tvalid_;
  const uint8_t& tready_;
  uint8_t* tuser_ = nullptr;
  Rng& rng_;
  unsigned gap_;
  std::deque<BeatPacket> queue_;
  size_t pos_ = 0;
  bool holding_ = false;
  AxisBeat cur_{};
  const uint64_t* cycle_ = nullptr;
  uint64_t first_accept_ = 0;
  uint64_t last_accept_ = 0;
  uint64_t packets_sent_ = 0;
};

struct Packet {
  Bytes bytes;
  bool user = false;         // tuser of the last beat
  uint64_t first_cycle = 0;  // cycle of the first beat
  uint64_t last_cycle = 0;   // cycle of the last beat
};

class AxisSink : public Component {
 public:
  // stall_percent: chance of holding tready low in a cycle. tuser may be
  // null for streams without it.
  AxisSink(const uint64_t& tdata, const uint8_t& tkeep, const uint8_t& tlast, const uint8_t& tvalid,
           uint8_t& tready, const uint8_t* tuser, Rng& rng, unsigned stall_percent, Checker& chk,
           std::string name)
      : tdata_(tdata),
        tkeep_(tkeep),
        tlast_(tlast),
        tvalid_(tvalid),
        tready_(tready),
        tuser_(tuser),
        rng_(rng),
        stall_(stall_percent),
        chk_(chk),
        name_(std::move(name)) {}

  void set_stall(unsigned percent) { stall_ = percent; }
  void set_clock(const uint64_t* cycle) { cycle_ = cycle; }
  std::deque<Packet>& packets() { return done_; }
  // Forgets a packet half received, as the reset of the stream's consumer does.
  void reset() {
    cur_ = Packet{};
    started_ = false;
    was_stalled_ = false;
  }

  void drive() override { tready_ = rng_.chance(stall_) ? 0 : 1; }
  void sample() override {
    // AXI-Stream: once offered, a beat stays until taken.
    if (was_stalled_) {
      chk_.check(
          tvalid_ && tdata_ == held_.data && tkeep_ == held_.keep && (tlast_ != 0) == held_.last,
          name_ + ": beat changed or withdrawn while stalled");
    }
    was_stalled_ = tvalid_ && !tready_;
    if (was_stalled_) held_ = AxisBeat{tdata_, tkeep_, tlast_ != 0, false};
    if (!(tvalid_ && tready_)) return;
    const uint64_t now = cycle_ != nullptr ? *cycle_ : 0;
    if (cur_.bytes.empty() && !started_) cur_.first_cycle = now;
    started_ = true;
    bool seen_gap = false;
    for (int lane = 0; lane < 8; ++lane) {
      if ((tkeep_ >> lane) & 1) {
        chk_.check(!seen_gap, name_ + ": tkeep not contiguous");
        cur_.bytes.push_back(static_cast<uint8_t>(tdata_ >> (8 * lane)));
      } else {
        seen_gap = true;
      }
    }
    if (tlast_) {
      cur_.user = tuser_ != nullptr && *tuser_ != 0;
      cur_.last_cycle = now;
      done_.push_back(std::move(cur_));
      cur_ = Packet{};
      started_ = false;
    } else {
      chk_.check(tkeep_ == 0xFF, name_ + ": partial beat before tlast");
    }
  }

 private:
  const uint64_t& tdata_;
  const uint8_t& tkeep_;
  const uint8_t& tlast_;
  const uint8_t& tvalid_;
  uint8_t& tready_;
  const uint8_t* tuser_;
  Rng& rng_;
  unsigned stall_;
  Checker& chk_;
  std::string name_;
  const uint64_t* cycle_ = nullptr;
  Packet cur_{};
  bool started_ = false;
  bool was_stalled_ = false;
  AxisBeat held_{};
  std::deque<Packet> done_;
};

}  // namespace dvmm::fpga::tb
