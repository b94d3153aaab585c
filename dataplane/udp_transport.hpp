// Kernel UDP transport: one non-blocking datagram socket per node, bound to
// the node's configured address; every frame is one datagram. Portable and
// routable, but each burst is a system call (sendmmsg/recvmmsg) and a round
// trip costs ~7 µs busy-polling here (56 µs with blocking receives): the
// fallback when neither shm (same host) nor DPDK/FPGA is available.
//
// Frames are sent at tx_burst time (sendmmsg straight from the caller's
// buffers, no copy); tx_flush has nothing left to do. A full socket send
// buffer (EAGAIN/ENOBUFS) makes tx_burst take fewer frames.
//
// The source node of a received frame is looked up from the datagram's
// source address and port, so every node must send from exactly the
// address it is configured with: give each node a specific address (never
// 0.0.0.0 / ::). Datagrams from any other address are dropped and counted.
//
// MTU: max_frame_size() is kMaxFrameSize (9000). Loopback's MTU is 64 KiB,
// so on one host every frame is one packet. Across hosts with a 1500-byte
// MTU the kernel IP-fragments larger frames (a 4 KiB page becomes 3
// fragments) and losing any fragment loses the frame; the reliability layer
// retransmits it. Use MTU 9000 (jumbo frames) between hosts where possible.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/transport.hpp"
#include "host/common/result.hpp"

namespace dvmm::dataplane {

struct UdpPeer {
  NodeId id = 0;
  // IPv4 dotted quad, IPv6 literal, or a host name resolved once at start.
  std::string host;
  // 0 only for the local node: bind an ephemeral port (see local_port()).
  uint16_t port = 0;
};

struct UdpTransportConfig {
  NodeId local = 0;
  std::vector<UdpPeer> nodes;  // every node of the cluster, the local one included
  // SO_RCVBUF/SO_SNDBUF request (best effort; the kernel may cap it at
  // net.core.rmem_max / wmem_max).
  int socket_buffer_bytes = 4 << 20;
};

class UdpTransport : public Transport {
 public:
  // The port the socket is bound to (the kernel's choice when configured 0).
  virtual uint16_t local_port() const = 0;
  // Replaces a peer's port after start (e.g. learnt from a launcher once
  // that peer bound an ephemeral port). Not thread-safe against tx_burst.
  virtual Status set_peer_port(NodeId id, uint16_t port) = 0;
};

Result<std::unique_ptr<Transport>> make_udp_transport(const UdpTransportConfig& config);

}  // namespace dvmm::dataplane
