#include "tools/dvmm-bench/dpdk_endpoint.hpp"

#include <fmt/format.h>

#include "dataplane/dpdk_transport.hpp"

namespace dvmm::bench {
namespace {

using dataplane::DpdkTransport;

std::string mac_text(const MacBytes& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                     m[5]);
}

// The port's device arguments for one end.
std::string vdev(const DpdkEndpointSpec& s) {
  if (s.kind == kDpdkMemif) {
    return fmt::format("net_memif0,role={},bsize=9216,socket={}",
                       s.node == 1 ? "server" : "client", s.memif_socket);
  }
  return fmt::format("net_af_packet0,iface={},blocksz=8192,framesz=8192", kVethNames[s.node]);
}

}  // namespace

bool dpdk_built() { return true; }

Result<std::unique_ptr<dataplane::Transport>> open_dpdk_endpoint(const DpdkEndpointSpec& spec) {
  if (!is_dpdk_transport(spec.kind) || spec.node > 1) {
    return Error::format("no dpdk endpoint '{}' node {}", spec.kind, spec.node);
  }
  dataplane::DpdkTransportConfig c;
  // No hugepages, no NIC and several DPDK processes on one host (FACTS.md);
  // only errors from DPDK's log, the benchmark prints its own lines.
  c.eal_args = {"--no-huge",      "--no-pci",          "-m",   "256", "--no-shconf",
                "--no-telemetry", "--log-level=*:error", "--vdev=" + vdev(spec)};
  c.local = static_cast<dataplane::NodeId>(spec.node);
  c.macs = {{dataplane::NodeId{0}, kDpdkMacs[0]}, {dataplane::NodeId{1}, kDpdkMacs[1]}};
  // Two to four DPDK processes share this machine's memory: a small pool.
  c.mbufs = 2048;
  // The client is opened after its server reports ready; the retry only
  // covers the server's first moments on a loaded machine.
  c.peer_wait_ms = 10'000;
  // The benchmark busy-polls: no wake-up fd is waited on.
  c.rx_interrupts = false;
  return dataplane::make_dpdk_transport(c);
}

std::string describe_dpdk_endpoint(dataplane::Transport& t) {
  const DpdkTransport::PortInfo& i = static_cast<DpdkTransport&>(t).port_info();
  return fmt::format("{} ({}), MAC {}, frames up to {} B ({})", i.device, i.driver,
                     mac_text(i.mac), i.max_frame_size, i.mtu_limit);
}

bool dpdk_link_up(dataplane::Transport& t) { return static_cast<DpdkTransport&>(t).link_up(); }

}  // namespace dvmm::bench
