// The raw-transport ping-pong (see ping_pong.hpp). Frame layout, little
// endian: u32 magic "DVBN" (never 0xD7 first, so a dvmm message is never
// taken for one), u32 phase tag, u64 sequence number (kStopSeq = stop),
// then filler up to the requested size.
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
  AnswerWait wait(spec, echo_finished, t.name(), [&] { (void)send_frame(t, kEchoNode, frame); });
  DVMM_TRY(measure_round_trips(
      spec, progress, wait, r, [&](uint64_t seq) { put_u64(frame.data() + 8, seq); },
      [&]() -> Status {
        if (!send_frame(t, kEchoNode, frame)) return Error::format("{}: tx_burst took no frame", t.name());
        return {};
      },
      [&](uint64_t seq) {
        const size_t n = t.rx_burst(*rx);
        Polled p = n > 0 ? Polled::kOther : Polled::kNothing;
        for (size_t i = 0; i < n; ++i) {
          const RxFrame& f = (*rx)[i];
          if (is_ours(f, spec.tag) && get_u64(f.data + 8) == seq) {
            p = Polled::kAnswer;
          } else {
            ++r.stray;
          }
        }
        return p;
      }));

  // Stop: resent until the echo side reports on the control channel.
  put_u64(frame.data() + 8, kStopSeq);
  DVMM_TRY(stop_until_confirmed(
      spec, echo_finished, [&] { (void)send_frame(t, kEchoNode, frame); },
      [&] { (void)t.rx_burst(*rx); }, t.name()));
  return r;
}

Result<EchoResult> run_raw_echo(Transport& t, const PhaseSpec& spec) {
  auto rx = std::make_unique<RxBuffer>();
  EchoResult e;
  uint32_t idle = 0;
  for (;;) {
    const size_t n = t.rx_burst(*rx);
    if (n == 0) {
      if (echo_overdue(spec, idle)) {
        return Error::format("{}: no stop frame from the initiator before the deadline", t.name());
      }
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
