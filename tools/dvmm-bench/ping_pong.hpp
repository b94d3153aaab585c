// One measurement phase: a ping-pong between the initiator (node 0, in the
// benchmark process) and the echo side (node 1, in a forked child), both
// busy-polling, at one of two layers:
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
#include "tools/dvmm-bench/progress.hpp"

namespace dvmm::bench {

enum class Layer : uint8_t { kRaw = 0, kReliable = 1 };
const char* layer_name(Layer layer);  // "raw", "reliable"

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

// An answer later than this makes the initiator check (one poll(2) on the
// control channel) that the echo process is still there, so a crashed or
// killed echo process ends the phase at once instead of at the deadline.
constexpr uint64_t kPeerCheckNs = 20'000'000;

// Grace after the deadline for the stop handshake, so that a phase cut
// short still ends with both sides agreeing.
constexpr uint64_t kStopGraceNs = 1'000'000'000;

}  // namespace dvmm::bench
