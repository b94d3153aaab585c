// The restarting endpoint of `dvmm-bench soak --kill-restart`: one
// incarnation of it, run in a forked child (restart_soak.cpp starts it and
// SIGKILLs it). It is a plain node of a two-node cluster: a UDP transport
// (behind the same receive-side impairments as the survivor's) and a
// ReliableLink that picks its own incarnation, as a restarted process would.
// Every message of the survivor it delivers is recorded in the RestartLog
// and answered with a message of its own (restart_audit.hpp has the
// numbering); both happen inside the deliver callback, so the link
// acknowledges only what is recorded.
#pragma once

#include <cstdint>
#include <string>

#include "dataplane/impaired_transport.hpp"
#include "dataplane/message_link.hpp"
#include "dataplane/transport.hpp"
#include "host/common/clock.hpp"
#include "tools/dvmm-bench/restart_log.hpp"

namespace dvmm::bench {

constexpr dataplane::NodeId kSurvivorNode = 0;
constexpr dataplane::NodeId kRestartingNode = 1;
constexpr uint32_t kRestartSoakCluster = 0x50A4;

struct RestartPeerSpec {
  uint32_t incarnation = 0;  // 0, 1, ... in start order (the log's numbering)
  std::string survivor_host;
  uint16_t survivor_port = 0;
  std::string host;
  uint16_t port = 0;  // 0: any (the first incarnation); later ones take the same
  dataplane::Impairments impairments{};
  RestartLog* log = nullptr;
};

// What the child says on the control channel: once when it is ready (its
// port), or instead of that or later when it fails (why). Fixed size.
struct RestartPeerReport {
  uint16_t port = 0;
  uint8_t failed = 0;
  char why[253] = {};
};

// The child's body: returns its exit status (0 when the control channel
// closes; otherwise it has reported why).
int run_restart_peer(const RestartPeerSpec& spec, int control_fd);

// Sleeps (never spins) until a frame may be waiting, the link's next timer,
// `extra_fd` becomes readable, or max_ns passed; true when extra_fd is
// readable. Returns at once when the transport has frames already.
bool wait_for_work(dataplane::Transport& t, const dataplane::MessageLink& link, const Clock& clock,
                   int extra_fd, uint64_t max_ns);

}  // namespace dvmm::bench
