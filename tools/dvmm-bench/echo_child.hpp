// The echo process: the child side of every phase of one transport. It
// waits (blocking, costing nothing) on the control channel for the next
// phase, says it is ready, busy-polls the echo side of the ping-pong until
// the initiator's stop, and reports back; EOF on the channel ends it.
#pragma once

#include <cstdint>

#include "dataplane/transport.hpp"
#include "tools/dvmm-bench/ping_pong.hpp"

namespace dvmm::bench {

// Parent -> child: run one phase.
struct EchoCommand {
  uint8_t layer = 0;  // Layer
  uint8_t yield_when_idle = 0;
  uint32_t size = 0;
  uint32_t tag = 0;
  uint64_t warmup = 0;
  uint64_t count = 0;
  uint64_t deadline_ns = 0;
};

// Child -> parent: ready for the phase, then its outcome.
struct EchoReport {
  enum Kind : uint32_t { kReady = 1, kDone = 2, kFailed = 3 };
  uint32_t kind = kFailed;
  uint64_t echoed = 0;
  uint64_t retransmitted = 0;
  char error[240] = {};
};

EchoCommand to_command(const PhaseSpec& spec);
PhaseSpec to_spec(const EchoCommand& cmd);

// The child's main: pins itself to `cpu` (if >= 0) and serves phases until
// EOF. Returns the exit status (0 when the parent closed the channel).
int echo_child_main(int control_fd, dataplane::Transport& echo, int cpu);

}  // namespace dvmm::bench
