// The two ends of one transport for a benchmark: node 0 (the initiator, in
// the benchmark process) and node 1 (the echo side, used by a forked
// child). Both are opened in the parent before the fork, so the child needs
// nothing passed to it and the UDP ephemeral ports are known on both sides
// without a handshake; after the fork each process drops the end it does
// not use.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/transport.hpp"
#include "host/common/result.hpp"

namespace dvmm::bench {

// The transports whose two ends the benchmark process opens itself (the
// dpdk ones cannot be: see dpdk_lane.hpp).
bool is_known_transport(std::string_view kind);
constexpr const char* kKnownTransports = "shm, udp";
// Errors ("no transport given", "unknown transport 'x' ...") for the
// --transport list of a mode that measures only these (dsm).
Status check_transports(const std::vector<std::string>& kinds);

struct EndpointPair {
  EndpointPair() = default;
  EndpointPair(EndpointPair&&) = default;
  EndpointPair& operator=(EndpointPair&&) = default;
  ~EndpointPair();

  std::string kind;  // "shm" or "udp"
  std::unique_ptr<dataplane::Transport> initiator;  // node 0
  std::unique_ptr<dataplane::Transport> echo;       // node 1
  std::string shm_path;  // the ring file (shm only); removed by the destructor
  std::string detail;    // e.g. "127.0.0.1:40001 <-> 127.0.0.2:40002"
};

// kind: "shm" (a ring file in /dev/shm) or "udp" (127.0.0.1 <-> 127.0.0.2,
// ephemeral ports).
Result<EndpointPair> make_endpoint_pair(std::string_view kind);

}  // namespace dvmm::bench
