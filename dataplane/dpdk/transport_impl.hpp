// The DPDK transport's class, shared by its setup (transport_init.cpp:
// EAL, port, pool, MTU, MAC, wake-up fd) and its hot path
// (transport_datapath.cpp: bursts), kept in two files as eRPC keeps
// *_init and *_datapath apart. Internal: include dpdk_transport.hpp.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "dataplane/dpdk/dpdk_headers.hpp"
#include "dataplane/dpdk/frame.hpp"
#include "dataplane/dpdk_transport.hpp"

namespace dvmm::dataplane::dpdk {

// Frames per rte_eth_rx_burst / rte_eth_tx_burst, as in DPDK's examples.
constexpr uint16_t kBurst = 32;
// The Tx buffer holds two bursts: one being handed over, one filling while
// the PMD's ring is full.
constexpr uint16_t kTxBufferFrames = 2 * kBurst;
// A caller that forgets tx_flush still sees its frames leave within this.
constexpr uint64_t kTxDrainUs = 100;
// kTimer mode: first sleep after the traffic stops (doubles up to
// DpdkTransportConfig::max_sleep_us).
constexpr uint64_t kMinSleepNs = 50'000;
// The smallest usable frame size we accept from a port: every message of
// today's protocol (at most 88 bytes) with room to spare. Below this the
// port is misconfigured rather than merely small.
constexpr size_t kMinUsableFrameSize = 256;

class DpdkTransportImpl final : public DpdkTransport {
 public:
  ~DpdkTransportImpl() override;
  static Result<std::unique_ptr<Transport>> open(const DpdkTransportConfig& config);

  // --- Transport: hot path (transport_datapath.cpp) -----------------------
  size_t tx_burst(std::span<const TxFrame> frames) override;
  void tx_flush() override;
  size_t rx_burst(std::span<RxFrame> out) override;
  bool prepare_to_sleep() override;
  void after_wakeup() override;

  // --- the rest ------------------------------------------------------------
  const char* name() const override { return "dpdk"; }
  NodeId local_node() const override { return local_; }
  size_t max_frame_size() const override { return max_frame_; }
  int rx_wait_fd() const override { return wait_fd_; }
  Counters counters() const override { return counters_.snapshot(); }
  const PortInfo& port_info() const override { return info_; }
  bool link_up() const override;
  RxDrops rx_drops() const override {
    RxDrops d;
    d.not_ours = drop_not_ours_.load(std::memory_order_relaxed);
    d.malformed = drop_malformed_.load(std::memory_order_relaxed);
    d.wrong_dst = drop_wrong_dst_.load(std::memory_order_relaxed);
    d.unknown_src = drop_unknown_src_.load(std::memory_order_relaxed);
    return d;
  }
  std::string pmd_stats() const override;

 private:
  explicit DpdkTransportImpl(const DpdkTransportConfig& c);

  // Setup steps, in order (transport_init.cpp).
  Status check_config();
  Status find_port();
  Status create_pool();
  Status configure_and_start();
  Status configure_and_start_once(bool rx_intr);
  Status setup_mac();
  Status compute_frame_size();
  Status setup_wakeup();
  std::string start_hint() const;
  std::string device_args() const;  // the port's devargs, e.g. "role=client,socket=..."
  bool memif_client() const;
  int start_port();  // rte_eth_dev_start, with a memif client's reconnects

  // Hot-path helpers (transport_datapath.cpp).
  void tx_drain_locked();
  bool tx_try_lock() { return !tx_lock_.test_and_set(std::memory_order_acquire); }
  void tx_lock() {
    while (tx_lock_.test_and_set(std::memory_order_acquire)) {
      rte_pause();
    }
  }
  void tx_unlock() { tx_lock_.clear(std::memory_order_release); }
  void maybe_timer_drain();
  uint16_t refill_stash();
  bool take_one(rte_mbuf* m, RxFrame& out);
  void drain_wait_fd();

  const DpdkTransportConfig cfg_;
  const NodeId local_;
  const uint16_t port_;

  // Setup state, for the destructor.
  bool configured_ = false;
  bool started_ = false;
  rte_mempool* pool_ = nullptr;
  uint16_t data_room_ = 0;  // per mbuf, headroom included
  uint32_t af_packet_framesz_ = 0;  // net_af_packet's ring slot (0: other PMD)
  uint32_t memif_bsize_ = 0;        // net_memif's buffer size (0: other PMD, or zero-copy)

  MacTable macs_;
  MacAddress local_mac_{};
  size_t max_frame_ = 0;
  PortInfo info_;

  // Tx state: under tx_lock_ (tx_pending_ mirrors tx_n_ for the unlocked
  // peek in rx_burst's timer check).
  std::atomic_flag tx_lock_ = ATOMIC_FLAG_INIT;
  rte_mbuf* tx_buf_[kTxBufferFrames] = {};
  uint16_t tx_n_ = 0;
  std::atomic<uint16_t> tx_pending_{0};
  std::atomic<uint64_t> tx_oldest_tsc_{0};
  uint64_t drain_tsc_ = 0;

  // Rx state (poller thread only): mbufs received but not yet returned,
  // e.g. found by prepare_to_sleep's last look.
  rte_mbuf* stash_[kBurst] = {};
  uint16_t stash_n_ = 0;
  uint16_t stash_pos_ = 0;
  uint8_t header_tmp_[kEncapHeaderSize] = {};

  // Wake-up.
  WakeMode wake_ = WakeMode::kTimer;
  int wait_fd_ = -1;
  bool owns_wait_fd_ = false;
  uint64_t sleep_ns_ = kMinSleepNs;
  uint64_t max_sleep_ns_ = kMinSleepNs;

  TransportCounterSet counters_;
  std::atomic<uint64_t> drop_not_ours_{0}, drop_malformed_{0}, drop_wrong_dst_{0},
      drop_unknown_src_{0};
};

}  // namespace dvmm::dataplane::dpdk
