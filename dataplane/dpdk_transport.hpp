// DPDK poll-mode transport: dvmm frames as raw Ethernet frames (EtherType
// 0x88B5, see dataplane/dpdk/frame.hpp for the encapsulation) on one port
// of one DPDK poll-mode driver, one Rx and one Tx queue. Any PMD works;
// the two used here are net_memif (processes on one host, ~1.2 µs round
// trip) and net_af_packet (a kernel interface, e.g. a veth pair between
// network namespaces or a real NIC, ~4 µs). See shared FACTS for EAL
// arguments that work without hugepages.
//
// Nodes are addressed by MAC: every node's MAC is configured; a received
// frame's source is the node whose MAC sent it, and frames from other MACs,
// to other MACs, of another EtherType, truncated or too short are dropped
// and counted (rx_dropped).
//
// TX: tx_burst copies each frame into an mbuf behind its Ethernet header
// and queues it in a 64-frame buffer; each full burst of 32 is handed to
// the PMD (rte_eth_tx_burst), and so is whatever is queued at tx_flush() and, as a
// safety net for a caller that forgets tx_flush, on the next rx_burst
// after 100 µs (a TSC timer, as in DPDK's l2fwd). When the PMD's Tx ring is
// full the buffer keeps the frames and tx_burst takes fewer. Frames larger
// than max_frame_size() or to unknown nodes are taken and dropped
// (tx_dropped).
//
// MTU: max_frame_size() is the largest dvmm frame the port carries, at most
// kMaxFrameSize. The Ethernet MTU minus our 2-byte length field, where the
// limit comes from:
//  - net_af_packet: the interface's kernel MTU (DPDK's own MTU is a nominal
//    1500 for it, and it refuses to set more), and the ring slot:
//    framesz - 66 - 16 (the kernel puts a received frame 66 bytes into its
//    slot and truncates the rest). MTU 9000 + framesz=8192: 8110 bytes.
//  - net_memif: no MTU, but one memif buffer per frame: bsize - 16 (give
//    both ends bsize=9216 for 9000). DPDK 22.11's memif corrupts its rings
//    once frames span chained buffers (it never clears the chain flag of a
//    packet's first descriptor), so we never send such frames.
//  - any other PMD: the port's MTU (DpdkTransportConfig::mtu sets it).
// Larger frames are taken and dropped (tx_dropped). A port with a small MTU
// still works for small messages: callers (the reliability layer) never
// send frames above max_frame_size(); a 4 KiB DSM page (kMaxEncodedSize)
// needs one of the settings above, or page splitting (a later step).
// port_info() says which limit applied. Frames below the 60-byte Ethernet
// minimum are padded (the length field tells the receiver the real size).
//
// Adaptive polling (rx_wait_fd), in order of preference:
//  - kRxInterrupt: the PMD's Rx queue interrupt (rte_eth_dev_rx_intr_*),
//    for PMDs that have one (hardware NICs with vfio). Neither net_memif
//    nor net_af_packet implements it in DPDK 22.11 (-ENOTSUP; memif has
//    interrupt eventfds in its protocol, but its PMD masks them and has no
//    rx_queue_intr ops), so this path is untested here.
//  - kKernelSocket (net_af_packet): a second AF_PACKET socket on the same
//    interface, bound to EtherType 0x88B5 with a 1-byte snap filter; the
//    kernel queues every dvmm frame to it as well as to the PMD's ring, so
//    it is readable exactly when a frame may be waiting. Its small receive
//    buffer fills while we busy-poll and further copies are dropped in the
//    kernel (cheap); prepare_to_sleep() drains it before sleeping.
//  - kTimer (net_memif and anything else): a timerfd armed for a short
//    sleep that doubles after each idle wake-up (50 µs up to
//    max_sleep_us) and resets when frames arrive: an idle node wakes at
//    most 1000 times a second, a busy one never sleeps. (The poller
//    ignores an fd of -1 and would then sleep until its next deadline, or
//    forever; the timerfd keeps that decision inside the transport.)
// In every mode prepare_to_sleep() first polls the Rx queue once (keeping
// what it finds for the next rx_burst) and returns false if frames came.
//
// Threading: as Transport. rx_burst, prepare_to_sleep and after_wakeup on
// the poller thread; tx_burst/tx_flush serialised by the caller; a
// spinlock (uncontended: ~20 ns) makes the timer drain in rx_burst safe
// against a tx_burst on another thread (a Tx queue is single-threaded).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/transport.hpp"
#include "host/common/result.hpp"

namespace dvmm::dataplane {

struct DpdkTransportConfig {
  // Passed to rte_eal_init untouched (the first transport of a process
  // starts the EAL; later ones must pass the same arguments or none), e.g.
  // {"--no-huge","--no-pci","-m","256","--no-shconf",
  //  "--vdev=net_af_packet0,iface=v1,blocksz=8192,framesz=8192"}.
  std::vector<std::string> eal_args;
  uint16_t port_id = 0;
  NodeId local = 0;
  // Every node's MAC, the local node's included. The local MAC may be
  // all-zero: then the port's own MAC is used. A non-zero local MAC that
  // differs from the port's is programmed into the port (or, for PMDs that
  // filter nothing and cannot set it, e.g. memif, just used).
  std::vector<std::pair<NodeId, std::array<uint8_t, 6>>> macs;
  uint32_t mbufs = 4096;  // mbuf pool size: Rx ring + Tx ring + bursts in flight
  uint16_t rx_desc = 512, tx_desc = 512;
  uint16_t mtu = 0;  // 0 = keep the port's; else rte_eth_dev_set_mtu (error if refused)
  // kTimer wake mode only: the longest sleep between two Rx polls.
  uint32_t max_sleep_us = 1000;
  // Try the PMD's Rx interrupts (falls back to the other modes if absent).
  bool rx_interrupts = true;
  // A net_memif client's start fails until its server listens: retry this
  // long (nodes of a cluster start in any order). 0: fail at once.
  uint32_t peer_wait_ms = 0;
};

class DpdkTransport : public Transport {
 public:
  enum class WakeMode : uint8_t { kRxInterrupt, kKernelSocket, kTimer };

  struct PortInfo {
    uint16_t port_id = 0;
    std::string device;  // e.g. "net_memif0"
    std::string driver;  // e.g. "net_memif"
    std::array<uint8_t, 6> mac{};
    uint16_t ethdev_mtu = 0;  // what rte_eth_dev_get_mtu says
    uint32_t kernel_mtu = 0;  // the bound kernel interface's MTU (0: none)
    std::string kernel_iface;
    size_t max_frame_size = 0;
    std::string mtu_limit;  // which limit set max_frame_size, in words
    WakeMode wake = WakeMode::kTimer;
  };

  // Why received frames were dropped (their sum is counters().rx_dropped).
  struct RxDrops {
    uint64_t not_ours = 0;     // another EtherType (IPv6 neighbour discovery, LLDP, ...)
    uint64_t malformed = 0;    // shorter than our header, truncated, or length above kMaxFrameSize
    uint64_t wrong_dst = 0;    // destination MAC is not the local node's
    uint64_t unknown_src = 0;  // source MAC is no configured node (or is our own)
  };

  virtual const PortInfo& port_info() const = 0;
  virtual RxDrops rx_drops() const = 0;
  // The PMD reports the link up (memif: the peer connected).
  virtual bool link_up() const = 0;
  // The PMD's own counters, for diagnostics (ipackets, opackets, imissed,
  // ierrors, oerrors, rx_nombuf) as one line.
  virtual std::string pmd_stats() const = 0;
};

const char* to_string(DpdkTransport::WakeMode m);

Result<std::unique_ptr<Transport>> make_dpdk_transport(const DpdkTransportConfig& config);

}  // namespace dvmm::dataplane
