// The raw-transport ping-pong (see ping_pong.hpp). Frame layout, little
// endian: u32 magic "DVBN" (never 0xD7 first, so a dvmm message is never
// taken for one), u32 phase tag, u64 sequence number (kStopSeq = stop),
// then filler up to the requested size.
#include <sched.h>

#include <array>
#include <cstring>
#include <memory>

#include "tools/dvmm-bench/bench_clock.hpp"
#include "tools/dvmm-bench/ping_pong.hpp"

namespace dvmm::bench {
namespace {

using dataplane::NodeId;
using dataplane::RxFrame;
using dataplane::Transport;
using dataplane::TxFrame;

constexpr uint32_t kMagic = 0x4E425644;  // "DVBN"
constexpr uint64_t kStopSeq = UINT64_MAX;
// Without an answer after this long the frame (or its echo) was lost
// (possible on UDP when a socket buffer overflows): send it again.
constexpr uint64_t kResendNs = 20'000'000;
// The clock is read every this many empty polls (deadline and resend
// checks), keeping the spin loop to the receive call itself.
constexpr uint32_t kIdleCheckEvery = 256;
constexpr size_t kRxBurst = 8;  // one frame is in flight; a few for strays

using RxBuffer = std::array<RxFrame, kRxBurst>;  // 72 KiB: on the heap

void put_u32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, sizeof v); }
void put_u64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, sizeof v); }
uint32_t get_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool is_ours(const RxFrame& f, uint32_t tag) {
  return f.len >= kMinRawFrame && get_u32(f.data) == kMagic && get_u32(f.data + 4) == tag;
}

// Sends one frame; false when the transport would not take it even after a
// flush (only a full ring, impossible with one frame in flight).
bool send_frame(Transport& t, NodeId dst, std::span<const uint8_t> bytes) {
  const TxFrame f{dst, bytes};
  size_t taken = t.tx_burst(std::span<const TxFrame>(&f, 1));
  if (taken == 0) {
    t.tx_flush();
    taken = t.tx_burst(std::span<const TxFrame>(&f, 1));
  }
  t.tx_flush();
  return taken == 1;
}

constexpr NodeId kEchoNode = 1;
constexpr NodeId kInitiatorNode = 0;

}  // namespace

Result<PhaseResult> run_raw_initiator(Transport& t, const PhaseSpec& spec, Progress& progress,
                                      const std::function<bool()>& echo_finished) {
  if (spec.size < kMinRawFrame || spec.size > t.max_frame_size()) {
    return Error::format("frame size {} out of range {}..{} for the {} transport", spec.size,
                         kMinRawFrame, t.max_frame_size(), t.name());
  }
  std::vector<uint8_t> frame(spec.size);
  for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(i);
  put_u32(frame.data(), kMagic);
  put_u32(frame.data() + 4, spec.tag);
  auto rx = std::make_unique<RxBuffer>();

  PhaseResult r;
  r.rtt_ns.reserve(spec.count);
  const uint64_t total = spec.warmup + spec.count;
  uint64_t measure_start = 0;
  for (uint64_t seq = 0; seq < total && !r.truncated; ++seq) {
    put_u64(frame.data() + 8, seq);
    const uint64_t t0 = now_ns();
    if (seq == spec.warmup) measure_start = t0;
    if (!send_frame(t, kEchoNode, frame)) return Error::format("{}: tx_burst took no frame", t.name());
    uint64_t last_send = t0;
    uint64_t t1 = 0;
    bool answered = false;
    uint32_t idle = 0;
    while (!answered) {
      const size_t n = t.rx_burst(*rx);
      if (n > 0) {
        t1 = now_ns();
        for (size_t i = 0; i < n; ++i) {
          const RxFrame& f = (*rx)[i];
          if (is_ours(f, spec.tag) && get_u64(f.data + 8) == seq) {
            answered = true;
          } else {
            ++r.stray;
          }
        }
        continue;
      }
      if (++idle % kIdleCheckEvery != 0) continue;
      const uint64_t now = now_ns();
      if (now >= spec.deadline_ns) {
        r.truncated = true;
        break;
      }
      if (now - t0 >= kPeerCheckNs && echo_finished()) {
        return Error::format("{}: the echo process stopped answering", t.name());
      }
      if (now - last_send >= kResendNs) {
        (void)send_frame(t, kEchoNode, frame);
        ++r.resent;
        last_send = now;
      }
      if (spec.yield_when_idle) sched_yield();
    }
    if (answered && seq >= spec.warmup) r.rtt_ns.push_back(t1 - t0);
    progress.tick();
  }
  if (!r.rtt_ns.empty()) r.elapsed_ns = now_ns() - measure_start;

  // Stop: resent until the echo side reports on the control channel (a UDP
  // stop frame can be lost like any other).
  put_u64(frame.data() + 8, kStopSeq);
  uint64_t last_stop = 0;
  for (;;) {
    const uint64_t now = now_ns();
    if (echo_finished()) break;
    if (now >= spec.deadline_ns + kStopGraceNs) {
      return Error::format("{}: the echo process did not confirm the end of the phase", t.name());
    }
    if (now - last_stop >= kResendNs / 4) {
      (void)send_frame(t, kEchoNode, frame);
      last_stop = now;
    }
    (void)t.rx_burst(*rx);  // late answers: discard
    sched_yield();
  }
  return r;
}

Result<EchoResult> run_raw_echo(Transport& t, const PhaseSpec& spec) {
  auto rx = std::make_unique<RxBuffer>();
  EchoResult e;
  uint32_t idle = 0;
  for (;;) {
    const size_t n = t.rx_burst(*rx);
    if (n == 0) {
      if (++idle % kIdleCheckEvery != 0) continue;
      if (now_ns() >= spec.deadline_ns + kStopGraceNs) {
        return Error::format("{}: no stop frame from the initiator before the deadline", t.name());
      }
      if (spec.yield_when_idle) sched_yield();
      continue;
    }
    bool queued = false;
    for (size_t i = 0; i < n; ++i) {
      const RxFrame& f = (*rx)[i];
      if (!is_ours(f, spec.tag)) continue;
      if (get_u64(f.data + 8) == kStopSeq) {
        if (queued) t.tx_flush();
        return e;
      }
      const TxFrame out{kInitiatorNode, std::span<const uint8_t>(f.data, f.len)};
      if (t.tx_burst(std::span<const TxFrame>(&out, 1)) == 1) {
        ++e.echoed;
        queued = true;
      }
    }
    if (queued) t.tx_flush();
  }
}

}  // namespace dvmm::bench
