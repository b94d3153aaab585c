// One measurement phase: a ping-pong between the initiator (node 0, in the
// benchmark process, or in a forked child for dpdk transports) and the echo
// side (node 1, in a forked child), both busy-polling, at one of three
// layers:
//   pmd       dpdk transports only: DPDK's rte_eth_tx_burst/rte_eth_rx_burst
//             on the transport's port, an Ethernet frame as long as the raw
//             layer's, echoed with its MACs swapped: the floor without any
//             dvmm code (pmd_ping_pong.cpp);
//   raw       dataplane::Transport itself: a frame of `size` bytes is sent
//             with tx_burst + tx_flush and the echo side returns it as is;
//   reliable  dvmm's protocol stack: dataplane::ReliableLink over the same
//             transport carries an I/O request message (what a vCPU sends
//             when it touches a device on another node) and the echo side
//             answers with an I/O response, as the I/O home does.
// The round trip is timed with now_ns() (bench_clock.hpp) from just before
// the send to just after the receive call that returned the answer. The
// first `warmup` round trips are not recorded. Nothing here blocks: every
// wait is a bounded busy-poll loop that gives up at `deadline_ns`.
//
// Each phase has its own tag (in raw frames) and cluster id (for the
// link): a late frame of an earlier phase (a raw frame resent after a UDP
// loss, a delayed ACK) is then ignored instead of being taken for an answer.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "dataplane/transport.hpp"
#include "host/common/result.hpp"
#include "tools/dvmm-bench/bench_clock.hpp"
#include "tools/dvmm-bench/progress.hpp"

namespace dvmm::bench {

// kAuthenticated: the reliable stack over dataplane::AuthenticatedTransport
// (a keyed BLAKE2b tag per frame, cluster.key_file): the cost of peer
// authentication beside kReliable.
enum class Layer : uint8_t { kRaw = 0, kReliable = 1, kPmd = 2, kAuthenticated = 3 };
const char* layer_name(Layer layer);  // "raw", "reliable", "pmd", "authenticated"

struct PhaseSpec {
  Layer layer = Layer::kRaw;
  uint32_t size = 64;    // raw frame bytes; the reliable layer sends fixed-size messages
  uint32_t tag = 0;      // unique per phase (see above)
  uint64_t warmup = 0;   // round trips before recording
  uint64_t count = 0;    // recorded round trips
  uint64_t deadline_ns = 0;       // now_ns() time at which the phase gives up
  bool yield_when_idle = false;   // one CPU for both processes: spinning would starve the peer
};

struct PhaseResult {
  std::vector<uint64_t> rtt_ns;  // recorded round trips in order (warm-up excluded)
  uint64_t elapsed_ns = 0;       // wall time of the recorded round trips
  uint64_t resent = 0;           // raw: frames sent again after no answer for 20 ms (a loss)
  uint64_t stray = 0;            // received frames/messages that were not the awaited answer
  uint64_t retransmitted = 0;    // reliable: the initiator link's retransmissions
  bool truncated = false;        // the deadline ended the phase early
};

struct EchoResult {
  uint64_t echoed = 0;         // answers sent
  uint64_t retransmitted = 0;  // reliable: the echo link's retransmissions
};

// Smallest raw frame: magic, tag and sequence number.
constexpr uint32_t kMinRawFrame = 16;

// Wire sizes of the reliable layer's request and response messages.
struct MessageSizes {
  size_t request = 0;
  size_t response = 0;
};
MessageSizes reliable_message_sizes();

// Initiator side. After the last round trip it sends a stop (frame or
// message) and keeps its side alive (resending the stop, answering with
// ACKs) until echo_finished() returns true or the deadline passes.
// progress->tick() runs once per round trip, outside the timed region.
Result<PhaseResult> run_initiator(dataplane::Transport& transport, const PhaseSpec& spec,
                                  Progress& progress, const std::function<bool()>& echo_finished);

// Echo side: answers until the initiator's stop; an error at the deadline.
Result<EchoResult> run_echo(dataplane::Transport& transport, const PhaseSpec& spec);

// The two layers (raw_ping_pong.cpp, reliable_ping_pong.cpp).
Result<PhaseResult> run_raw_initiator(dataplane::Transport& transport, const PhaseSpec& spec,
                                      Progress& progress, const std::function<bool()>& echo_finished);
Result<EchoResult> run_raw_echo(dataplane::Transport& transport, const PhaseSpec& spec);
Result<PhaseResult> run_reliable_initiator(dataplane::Transport& transport, const PhaseSpec& spec,
                                           Progress& progress,
                                           const std::function<bool()>& echo_finished);
Result<EchoResult> run_reliable_echo(dataplane::Transport& transport, const PhaseSpec& spec);
// The pmd layer (pmd_ping_pong.cpp with DPDK, dpdk_none.cpp without):
// `transport` must be a DpdkTransport; its port is used directly.
Result<PhaseResult> run_pmd_initiator(dataplane::Transport& transport, const PhaseSpec& spec,
                                      Progress& progress, const std::function<bool()>& echo_finished);
Result<EchoResult> run_pmd_echo(dataplane::Transport& transport, const PhaseSpec& spec);

// An answer later than this makes the initiator check (one poll(2) on the
// control channel) that the echo process is still there, so a crashed or
// killed echo process ends the phase at once instead of at the deadline.
constexpr uint64_t kPeerCheckNs = 20'000'000;

// Grace after the deadline for the stop handshake, so that a phase cut
// short still ends with both sides agreeing.
constexpr uint64_t kStopGraceNs = 1'000'000'000;

// Without an answer after this long a frame (or its echo) was lost
// (possible on UDP when a socket buffer overflows): layers that can, send
// it again.
constexpr uint64_t kResendNs = 20'000'000;

// Waits are spin loops around the receive call; the clock is read only
// every this many empty polls (deadline, peer and resend checks).
constexpr uint32_t kIdleCheckEvery = 256;

// The initiator's waits for answers, shared by the layers: sent() when a
// request has gone out, after_empty_poll() after each poll that found
// nothing: true once the phase's deadline has passed (stop, truncated).
// `resend` (may be empty: the reliable link retransmits itself) runs after
// kResendNs without an answer. An error (naming `who`) when no answer came
// for kPeerCheckNs and the echo process has reported or gone.
class AnswerWait {
 public:
  AnswerWait(const PhaseSpec& spec, const std::function<bool()>& echo_finished, const char* who,
             std::function<void()> resend)
      : spec_(spec), echo_finished_(echo_finished), who_(who), resend_(std::move(resend)) {}
  void sent(uint64_t now) { sent_ns_ = last_send_ns_ = now; }
  Result<bool> after_empty_poll() {
    if (++idle_ % kIdleCheckEvery != 0) return false;
    return check();
  }
  uint64_t resent() const { return resent_; }

 private:
  Result<bool> check();  // reads the clock; yields the CPU when the plan says so

  const PhaseSpec& spec_;
  const std::function<bool()>& echo_finished_;
  const char* who_;
  const std::function<void()> resend_;
  uint64_t sent_ns_ = 0;
  uint64_t last_send_ns_ = 0;
  uint64_t resent_ = 0;
  uint32_t idle_ = 0;
};

// What one poll of an initiator found.
enum class Polled : uint8_t { kNothing, kOther, kAnswer };

// The initiator's measured loop, shared by the layers: for each of the
// warmup + count round trips, prepare(seq) (untimed), then the clock, send()
// and poll(seq) until it returns kAnswer; the clock again right after. A
// round trip is recorded once the warm-up is over; the deadline truncates.
template <typename Prepare, typename Send, typename Poll>
Status measure_round_trips(const PhaseSpec& spec, Progress& progress, AnswerWait& wait,
                           PhaseResult& r, Prepare&& prepare, Send&& send, Poll&& poll) {
  r.rtt_ns.reserve(spec.count);
  const uint64_t total = spec.warmup + spec.count;
  uint64_t measure_start = 0;
  for (uint64_t seq = 0; seq < total && !r.truncated; ++seq) {
    prepare(seq);
    const uint64_t t0 = now_ns();
    if (seq == spec.warmup) measure_start = t0;
    DVMM_TRY(send());
    wait.sent(t0);
    for (;;) {
      const Polled p = poll(seq);
      if (p == Polled::kAnswer) {
        const uint64_t t1 = now_ns();
        if (seq >= spec.warmup) r.rtt_ns.push_back(t1 - t0);
        break;
      }
      if (p == Polled::kNothing && DVMM_TRY(wait.after_empty_poll())) {
        r.truncated = true;
        break;
      }
    }
    progress.tick();
  }
  if (!r.rtt_ns.empty()) r.elapsed_ns = now_ns() - measure_start;
  r.resent = wait.resent();
  return {};
}

// The initiator's end of a phase: send_stop() every kResendNs / 4 (a stop
// frame can be lost like any other) until the echo process reports on its
// channel, drain() (late answers) in between; an error naming `who` if
// that takes past the deadline plus kStopGraceNs.
Status stop_until_confirmed(const PhaseSpec& spec, const std::function<bool()>& echo_finished,
                            const std::function<void()>& send_stop,
                            const std::function<void()>& drain, const char* who);

// The echo side after an empty poll: true once the initiator's stop is
// overdue (deadline plus kStopGraceNs; checked every kIdleCheckEvery calls,
// yielding the CPU then when the plan says so).
bool echo_overdue(const PhaseSpec& spec, uint32_t& idle);

}  // namespace dvmm::bench
