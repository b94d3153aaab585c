// dpdk.network = "namespaces": one host made to look like many. `dvmm run`
// gives every node its own network namespace with one veth interface
// (kNamespaceInterface, carrying the node's MAC), whose peer sits in a
// "switch" namespace on a Linux bridge that joins all nodes, so each node's
// DPDK port (net_af_packet on its veth) sees exactly what a NIC on a
// switched Ethernet would: frames addressed by MAC, nothing else shared.
//
//   dvmm-<instance>-n0: dvmm0 ──veth── n0 ┐
//   dvmm-<instance>-n1: dvmm0 ──veth── n1 ├─ br0 in dvmm-<instance>-sw
//   ...                                    ┘
//
// The namespaces (and with them every veth and the bridge) are removed when
// the NamespaceNetwork is destroyed, also after a failed setup. A launcher
// that was SIGKILLed cannot clean up: the next `dvmm run` removes the
// namespaces of launchers that are gone (remove_stale, keyed by the pid in
// the instance name "<cluster id>-<pid>").
//
// Setup uses the `ip` command (iproute2) and needs root (CAP_SYS_ADMIN for
// namespaces, CAP_NET_ADMIN for links).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "host/common/result.hpp"

namespace dvmm::cluster {

class NamespaceNetwork {
 public:
  // One node per MAC, node id = index.
  static Result<std::unique_ptr<NamespaceNetwork>> create(
      const std::string& instance, const std::vector<std::array<uint8_t, 6>>& macs, uint16_t mtu);
  ~NamespaceNetwork();
  NamespaceNetwork(const NamespaceNetwork&) = delete;
  NamespaceNetwork& operator=(const NamespaceNetwork&) = delete;

  static std::string node_namespace(const std::string& instance, uint16_t node);
  static std::string switch_namespace(const std::string& instance);

  // Every namespace this network made (for tests and diagnostics).
  const std::vector<std::string>& namespaces() const { return created_; }

  // Removes the namespaces of dvmm launchers that no longer run. Returns
  // how many namespaces were removed.
  static size_t remove_stale();

 private:
  NamespaceNetwork() = default;
  Status add_namespace(const std::string& name);

  std::vector<std::string> created_;
};

// Moves the calling process into the named network namespace (for a
// forked child before exec). Returns an error text, empty on success.
std::string enter_network_namespace(const std::string& name);

}  // namespace dvmm::cluster
