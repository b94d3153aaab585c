// One DSM node for `dvmm-bench dsm`: what a dvmm node process runs for
// guest RAM, without the VM. A private anonymous mapping registered with
// userfaultfd (UffdRegion), the protocol engine (DsmProtocol) on a
// ReliableLink over the given transport, and the dataplane poller thread
// (AdaptivePoller: spin 50 µs after the last work by default, then sleep), wired
// the way host/cluster/cluster_node.cpp wires them: faults -> request(),
// DSM messages -> on_message(), the engine's timers from the poller. The
// benchmark's threads then touch the mapping as a vCPU touches guest RAM.
//
// Both benchmark processes build one, node 0 (the measuring process, the
// initial owner of every page) and node 1 (the forked peer).
//
// Threads: the poller and the fault thread start in create() and stop in
// the destructor; create it only after the last fork().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "dataplane/poller.hpp"
#include "dataplane/reliable_link.hpp"
#include "dataplane/transport.hpp"
#include "host/common/clock.hpp"
#include "host/common/result.hpp"
#include "host/dsm/dsm_protocol.hpp"
#include "host/dsm/uffd_region.hpp"

namespace dvmm::bench {

struct DsmNodeConfig {
  dataplane::NodeId local = 0;     // 0 or 1; node 0 initially owns every page
  uint64_t page_count = 0;
  uint64_t min_hold_ns = 100'000;  // the cluster's value (cluster_node.cpp)
  uint32_t cluster_id = 0;         // the link's; both nodes use the same
  uint64_t poller_spin_ns = dataplane::AdaptivePoller::Config{}.spin_ns;
};

// What the benchmark reports of one node: its engine's, region's and
// link's counters (trivially copyable: node 1 sends it over its channel).
struct DsmNodeCounters {
  uint64_t read_faults = 0, write_faults = 0, upgrade_faults = 0, local_grants = 0;
  uint64_t pages_sent = 0, pages_received = 0, invalidations = 0;
  uint64_t forwards_deferred = 0, rejected = 0, uffd_errors = 0;
  uint64_t link_retransmitted = 0;
};

class DsmNode {
 public:
  // Errors: mmap, userfaultfd (needs root), the engine's configuration.
  static Result<std::unique_ptr<DsmNode>> create(dataplane::Transport& transport,
                                                 const DsmNodeConfig& config);
  ~DsmNode();
  DsmNode(const DsmNode&) = delete;
  DsmNode& operator=(const DsmNode&) = delete;

  // The first byte of a page of the shared region.
  uint8_t* page(dsm::PageNumber p) const { return base_ + p * dsm::kPageSize; }
  dsm::DsmProtocol& protocol() { return *dsm_; }
  dsm::UffdRegion& region() { return *region_; }
  dataplane::ReliableLink& link() { return *link_; }

  DsmNodeCounters counters() const;

  // The first failure seen on the node's threads (a request the engine
  // refused, a send the link refused, the poller's own error), or "".
  std::string failure() const;

 private:
  DsmNode(dataplane::Transport& transport, const DsmNodeConfig& config)
      : transport_(transport), config_(config) {}
  Status start();
  void fail(std::string why);
  size_t poll_once();
  std::optional<uint64_t> next_deadline() const;

  dataplane::Transport& transport_;
  const DsmNodeConfig config_;
  MonotonicClock clock_;
  uint8_t* base_ = nullptr;
  size_t bytes_ = 0;
  std::unique_ptr<dataplane::ReliableLink> link_;
  std::unique_ptr<dataplane::AdaptivePoller> poller_;
  std::unique_ptr<dsm::UffdRegion> region_;
  std::unique_ptr<dsm::DsmProtocol> dsm_;
  std::function<void(const dataplane::Message&)> deliver_;
  std::thread poller_thread_;

  mutable std::mutex failure_mu_;
  std::string failure_;
};

}  // namespace dvmm::bench
