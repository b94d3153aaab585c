// One node of a cluster: the node's Machine (its share of the vCPUs, plus
// the devices when it is the I/O home), the dataplane link to every other
// node, and the thread that polls it. It implements RemotePlatform for its
// Machine, turning remote IPIs, forwarded I/O, EOIs and APIC addressing
// changes into messages, and dispatches the messages that arrive.
//
// Start-up: every node sends READY to node 0; node 0 waits for all of them,
// fixes the common TSC base, sends CLOCK(base) and START, and starts its
// vCPUs; the others start theirs on START. Stop: whichever node stops first
// (guest exit on the I/O home, an error, a signal) tells every other node
// with STOP(status). A node that hears nothing from a peer for
// kPeerTimeout stops the VM naming that peer.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/authenticated_transport.hpp"
#include "dataplane/message.hpp"
#include "dataplane/message_link.hpp"
#include "dataplane/poller.hpp"
#include "dataplane/reliable_link.hpp"
#include "dataplane/transport.hpp"
#include "host/cluster/cluster_config.hpp"
#include "host/common/clock.hpp"
#include "host/dsm/dsm_protocol.hpp"
#include "host/dsm/uffd_region.hpp"
#include "host/vmm/machine.hpp"

namespace dvmm::cluster {

struct NodeOptions {
  // Names the shared files of one cluster instance on this host
  // (/dev/shm/dvmm-<instance>-ram and -rings). `dvmm run` picks a unique one.
  std::string instance;
  std::string kernel_path;  // resolved path of the guest kernel (I/O home only)
  bool print_stats = false;
  // Where to write the node's statistics as JSON at exit (empty: nowhere).
  std::string stats_json_path;
};

class ClusterNode final : public RemotePlatform {
 public:
  static constexpr uint64_t kHeartbeatIntervalNs = 200'000'000;
  static constexpr uint64_t kPeerTimeoutNs = 3'000'000'000;
  static constexpr uint64_t kStartTimeoutNs = 30'000'000'000;

  static Result<std::unique_ptr<ClusterNode>> create(const ClusterConfig& config, uint16_t node_id,
                                                     const NodeOptions& options);
  ~ClusterNode() override;

  // Start-up barrier, then the VM until it stops; tells the other nodes.
  StopReason run();

  // RemotePlatform (vCPU threads)
  void send_ipi(uint32_t vcpu, const InterruptMessage& msg) override;
  void send_eoi(uint8_t vector) override;
  bool forward_io(uint32_t vcpu, bool mmio, uint64_t address, std::span<uint8_t> data,
                  bool is_write) override;
  void publish_addressing(uint32_t vcpu, const ApicAddressing& addressing) override;

 private:
  struct IoSlot {
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<bool> done{false};
    uint64_t request_id = 0;
    uint64_t data = 0;
  };

  ClusterNode(const ClusterConfig& config, uint16_t node_id, NodeOptions options);
  void send(dataplane::NodeId dst, dataplane::Payload payload);
  void send_to_peers(const dataplane::Payload& payload);
  // Dataplane thread.
  void dispatch(const dataplane::Message& msg);
  size_t housekeeping();  // heartbeats, liveness
  std::optional<uint64_t> next_deadline() const;
  Status start_barrier();
  Status start_dsm();
  Status check_frame_size() const;
  void print_stats() const;
  // Everything print_stats prints, and the transport's and poller's
  // counters, as one JSON object (see docs/running.md).
  std::string stats_json() const;
  void write_stats_json() const;
  void stop_from_peer(dataplane::NodeId src, int status);

  const ClusterConfig config_;
  const uint16_t id_;
  const NodeOptions options_;
  // The transport's authentication layer when the cluster has a key (it is
  // transport_ itself then), for its counter.
  dataplane::AuthenticatedTransport* auth_ = nullptr;
  uint64_t unauthenticated_reported_ = 0;
  uint64_t transport_dropped_reported_ = 0;
  MonotonicClock clock_;
  VmControl* control_ = nullptr;  // the machine's
  // With a cluster key: the backend, which transport_ (its authentication
  // layer) wraps; declared first so that it is destroyed last.
  std::unique_ptr<dataplane::Transport> unauthenticated_transport_;
  // With the fpga transport: the software wire between the engines.
  std::unique_ptr<dataplane::Transport> transport_;
  // ReliableLink over transport_, or the FPGA engine's FpgaLink.
  std::unique_ptr<dataplane::MessageLink> link_;
  std::unique_ptr<dataplane::AdaptivePoller> poller_;
  std::unique_ptr<Machine> machine_;
  // Distributed shared memory (cluster.memory = "dsm"): the protocol engine
  // and guest RAM under userfaultfd. Declared after machine_ so they are
  // destroyed first: the fault thread stops before RAM is unmapped.
  std::unique_ptr<dsm::DsmProtocol> dsm_;
  std::unique_ptr<dsm::UffdRegion> dsm_region_;
  std::thread poller_thread_;

  std::vector<std::unique_ptr<IoSlot>> io_slots_;  // by vCPU index

  std::mutex apic_mu_;
  std::condition_variable apic_cv_;
  uint32_t apic_update_seq_ = 0;
  std::vector<uint32_t> apic_acks_;  // update id each peer acknowledged last

  std::mutex start_mu_;
  std::condition_variable start_cv_;
  std::vector<bool> ready_;  // node 0: which nodes said READY
  bool start_received_ = false;
  uint64_t tsc_base_ = 0;

  std::unique_ptr<std::atomic<uint64_t>[]> last_heard_ns_;  // by node id
  uint64_t next_heartbeat_ns_ = 0;
  uint64_t rejected_reported_ = 0;  // malformed, foreign and stale frames already logged
  std::atomic<bool> running_{false};  // liveness is checked only while the VM runs
  std::atomic<bool> stopped_by_peer_{false};
};

}  // namespace dvmm::cluster
