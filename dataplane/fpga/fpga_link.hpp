// The MessageLink of a node whose dataplane is the FPGA offload engine
// (docs/fpga.md "Host driver and the fpga transport"). The engine runs the
// reliability protocol, so this is a driver, not a protocol:
//   - create() brings the engine up: local node and MAC, cluster id,
//     timers, node table, APIC table, pending-bitmap base (docs/fpga.md
//     "Register map", bring-up order), then CONTROL.enable;
//   - send() encodes the message into a RAW descriptor. Every message is
//     RAW, IPIs included: the node's LAPIC has already resolved each IPI to
//     one target vCPU (RemotePlatform::send_ipi), so there is nothing left
//     for the engine's multicast expansion to do;
//   - poll() lets the device work (the co-simulated model is clocked
//     here), decodes what the RX ring holds, then takes the pending-bitmap
//     words of this node's vCPUs (atomic exchange with 0) and delivers
//     each set byte as a fixed, edge-triggered IPI message, so
//     the node's dispatch reaches Machine::deliver_ipi as for any IPI. The
//     bitmap carries no sender: such a message has src_node = the local
//     node and source_vcpu = -1;
//   - all_acknowledged() is STATUS.links_idle with nothing queued; the
//     counters come from the engine's event counters.
// Messages larger than the engine's MAX_MSG_BYTES (DSM pages) cannot use
// it: send() refuses them, and the cluster configuration refuses
// cluster.memory = "dsm" with the fpga transport.
//
// Threading: as MessageLink. send() only queues (and calls the wake hook);
// the device is touched by poll() and, under the same lock, counters().
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dataplane/fpga/fpga_device.hpp"
#include "dataplane/message_link.hpp"
#include "host/common/clock.hpp"

namespace dvmm::dataplane::fpga {

class FpgaLink final : public MessageLink {
 public:
  struct Config {
    uint32_t cluster_id = 0;
    NodeId local = 0;
    // Every node's MAC, by node id (the local one included).
    std::vector<std::array<uint8_t, 6>> node_macs;
    // vCPU index -> node: the APIC table (APIC ID = vCPU index, as the
    // firmware tables give them) and the vCPUs this node polls bitmaps of.
    std::vector<NodeId> vcpu_node;
    uint32_t retransmit_timeout_cycles = 500;
    uint32_t ack_delay_cycles = 16;
  };

  // The engine's own counters, accumulated to 64 bits (EngineCounter order).
  using EngineCounters = std::array<uint64_t, 18>;  // kEngineCounters

  // Brings the engine up. Errors: not a dvmm engine, the cluster has more
  // nodes than the engine was built for, the bitmaps cannot be mapped.
  static Result<std::unique_ptr<FpgaLink>> create(std::unique_ptr<FpgaDevice> device,
                                                  const Clock& clock, Config config);
  ~FpgaLink() override;
  FpgaLink(const FpgaLink&) = delete;
  FpgaLink& operator=(const FpgaLink&) = delete;

  Status send(Message msg) override;
  size_t poll(const std::function<void(const Message&)>& deliver) override;
  std::optional<uint64_t> next_timer_ns() const override;
  bool all_acknowledged() const override;
  LinkCounters counters() const override;
  std::string last_rejection() const override;
  void set_wake(std::function<void()> wake) override;

  EngineCounters engine_counters() const;
  uint32_t max_message_bytes() const { return max_msg_bytes_; }
  // IPIs delivered from the pending bitmaps (the fast path).
  uint64_t bitmap_ipis() const { return bitmap_ipis_.load(std::memory_order_relaxed); }
  FpgaDevice& device() { return *device_; }

 private:
  FpgaLink(std::unique_ptr<FpgaDevice> device, const Clock& clock, Config config);
  Status bring_up();
  size_t drain_bitmaps(const std::function<void(const Message&)>& deliver);
  void refresh_counters_locked() const;

  std::unique_ptr<FpgaDevice> device_;
  const Clock& clock_;
  const Config config_;
  uint32_t max_msg_bytes_ = 0;
  DmaWindow bitmaps_{};
  std::vector<uint32_t> local_vcpus_;

  // send() -> poll(): descriptors not yet handed to the device.
  mutable std::mutex queue_mu_;
  std::vector<std::vector<uint8_t>> queued_;
  uint64_t queued_seq_ = 0;  // descriptors ever queued
  std::function<void()> wake_;

  // The device, its counters (32-bit on the engine, widened here).
  mutable std::mutex device_mu_;
  mutable std::array<uint32_t, 18> raw_counters_{};
  mutable EngineCounters counters_{};
  std::vector<uint8_t> rx_buf_;
  std::string last_rejection_;
  std::atomic<uint64_t> idle_as_of_{0};  // queued_seq_ at which the links were last seen idle
  std::atomic<uint64_t> sent_{0}, delivered_{0}, malformed_host_{0}, bitmap_ipis_{0};
};

}  // namespace dvmm::dataplane::fpga
