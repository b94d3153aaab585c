// Two network namespaces joined by one veth pair, for the dpdk-afpacket
// benchmark: node 0's end in one, node 1's in the other, each with the
// node's MAC, MTU kVethMtu and no IPv6 address (no neighbour discovery
// chatter during the measurement). A direct pair, as FACTS.md measured it
// (dvmm run's cluster network adds a bridge; see
// host/cluster/namespace_network.hpp).
//
// Removal, on every way out:
//  - the destructor (`ip netns del` of both; the veth goes with them), on
//    normal returns and errors;
//  - SIGINT, SIGTERM, SIGHUP: a handler, installed while any pair exists,
//    unmounts and unlinks the namespaces (what `ip netns del` does, with
//    async-signal-safe calls) and then lets the signal kill the process;
//  - SIGKILL or a crash: the names carry the benchmark's pid
//    ("dvmm-bench-<pid>-<serial>a|b"), and every create() first removes
//    those of processes that are gone (remove_stale).
// The processes inside (the forked DPDK ends) die with the benchmark
// (PR_SET_PDEATHSIG); a namespace, and its veth, disappears with the last.
//
// Needs root and `ip` (iproute2).
#pragma once

#include <memory>
#include <string>

#include "host/common/result.hpp"
#include "tools/dvmm-bench/dpdk_endpoint.hpp"

namespace dvmm::bench {

class VethNamespaces {
 public:
  static Result<std::unique_ptr<VethNamespaces>> create();
  ~VethNamespaces();
  VethNamespaces(const VethNamespaces&) = delete;
  VethNamespaces& operator=(const VethNamespaces&) = delete;

  // Node 0's or node 1's namespace (its veth end is kVethNames[node]).
  const std::string& node_namespace(unsigned node) const { return names_[node]; }

  // Removes the namespaces of benchmark processes that no longer run;
  // returns how many.
  static size_t remove_stale();

  // The name prefix, for tests that look for leftovers.
  static constexpr const char* kPrefix = "dvmm-bench-";

 private:
  VethNamespaces() = default;
  Status add(const std::string& name);

  std::string names_[2];
  unsigned added_ = 0;
};

// Moves the calling process into a namespace (in a forked child).
Status enter_netns(const std::string& name);

}  // namespace dvmm::bench
