// The DPDK transports of `dvmm-bench transport`, as the benchmark sets
// them up (FACTS.md, "DPDK without hugepages"):
//   dpdk-memif     net_memif between the two benchmark processes: node 1
//                  (the echo side) is the server, node 0 the client, on an
//                  abstract socket named after the benchmark's pid and a
//                  serial; bsize=9216, so a frame is one memif buffer.
//   dpdk-afpacket  net_af_packet on each end of a veth pair whose ends sit in
//                  two network namespaces the benchmark creates
//                  (bench_netns.hpp): MTU 9000, framesz=blocksz=8192, so a
//                  4 KiB frame travels in one Ethernet frame.
// Every end runs in its own process, which must not have started an EAL
// before (one EAL per process, none survives fork): dpdk_lane.hpp forks
// both ends for that reason.
//
// dpdk_endpoint.cpp is built only where DPDK is (dataplane/dpdk); without
// it dpdk_none.cpp answers dpdk_built() == false and the transport mode
// reports the dpdk series as not built.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dataplane/transport.hpp"
#include "host/common/result.hpp"

namespace dvmm::bench {

constexpr std::string_view kDpdkMemif = "dpdk-memif";
constexpr std::string_view kDpdkAfPacket = "dpdk-afpacket";
inline bool is_dpdk_transport(std::string_view kind) {
  return kind == kDpdkMemif || kind == kDpdkAfPacket;
}

// True when this dvmm-bench was built against DPDK.
bool dpdk_built();
constexpr const char* kDpdkNotBuilt =
    "this dvmm-bench was built without DPDK (install libdpdk-dev, e.g. with "
    "tools/install-deps.sh, and rebuild)";

// The nodes' MACs (locally administered unicast), on the veth ends too.
using MacBytes = std::array<uint8_t, 6>;
inline constexpr MacBytes kDpdkMacs[2] = {{0x02, 0xd7, 0xbe, 0x7c, 0x00, 0x00},
                                          {0x02, 0xd7, 0xbe, 0x7c, 0x00, 0x01}};

// The veth ends inside their namespaces (node 0's, node 1's).
inline constexpr const char* kVethNames[2] = {"dvb0", "dvb1"};
constexpr uint32_t kVethMtu = 9000;

struct DpdkEndpointSpec {
  std::string kind;          // kDpdkMemif or kDpdkAfPacket
  unsigned node = 0;         // 0: initiator (memif client), 1: echo (memif server)
  std::string memif_socket;  // dpdk-memif: the abstract socket's name
};

// Starts the EAL of this process and opens the end. For af_packet the
// caller has entered the node's namespace already.
Result<std::unique_ptr<dataplane::Transport>> open_dpdk_endpoint(const DpdkEndpointSpec& spec);

// One line about the port: device, MAC, largest frame and what limits it.
std::string describe_dpdk_endpoint(dataplane::Transport& t);

// The PMD reports the link up (memif: the peer connected).
bool dpdk_link_up(dataplane::Transport& t);

}  // namespace dvmm::bench
