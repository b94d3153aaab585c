// Routes interrupt messages (IPIs from local APICs, IOAPIC redirections) to
// the local APICs they address, and EOIs of level-triggered interrupts back
// to the IOAPIC. This is the single place that knows which vCPUs exist and
// where they live: a vCPU is registered with its addressing (kept current by
// its LAPIC's observer) and a way to deliver to it. In a single node every
// target is local; the cluster layer registers remote vCPUs whose deliver
// function sends a message to their node.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "host/apic/lapic.hpp"
#include "host/devices/interrupts.hpp"

namespace dvmm {

class InterruptRouter final : public ApicBus {
 public:
  // How to hand an accepted message to one vCPU: for a local vCPU, accept it
  // into its LAPIC and kick the vCPU thread.
  struct Target {
    std::function<void(const InterruptMessage&)> deliver;
    // TPR of the target, for lowest-priority arbitration (remote vCPUs may
    // report a cached value).
    std::function<int()> task_priority;
    // The vCPU runs on another node: delivering sends a message (counted
    // apart, Counters).
    bool remote = false;
  };

  // Registers vCPU `index` with its current addressing. Indices are dense
  // from 0 and all registered before the VM runs: deliver() relies on the
  // targets not moving afterwards.
  void add_cpu(int index, const ApicAddressing& addressing, Target target);
  // Keeps destination matching current when a guest rewrites ID/LDR/DFR.
  void update_addressing(int index, const ApicAddressing& addressing);

  // Where EOIs for level-triggered vectors go (the IOAPIC).
  void set_eoi_handler(std::function<void(uint8_t vector)> handler);

  void deliver(const InterruptMessage& msg) override;
  void broadcast_eoi(uint8_t vector) override;

  // The ApicBus a LAPIC sends through: stamps the sender's index on every
  // message so that the self / all-excluding-self shorthands resolve.
  std::unique_ptr<ApicBus> port_for_cpu(int index);

  // Deliveries, one per target vCPU: IPIs (sent by a vCPU's LAPIC) and
  // device interrupts (IOAPIC), each to a vCPU of this node or of another.
  struct Counters {
    uint64_t delivered = 0;  // the four below together
    uint64_t ipis_local = 0;
    uint64_t ipis_remote = 0;
    uint64_t device_local = 0;
    uint64_t device_remote = 0;
    uint64_t no_target = 0;  // a message that matched no vCPU (ignored, as on hardware)
  };
  Counters counters() const;

 private:
  struct Cpu {
    ApicAddressing addressing;
    Target target;
  };
  // Indices of the vCPUs a message addresses, under mu_.
  void select_targets_locked(const InterruptMessage& msg, std::vector<int>& out);

  mutable std::mutex mu_;
  std::vector<Cpu> cpus_;
  std::function<void(uint8_t)> eoi_handler_;
  unsigned lowest_priority_rotor_ = 0;  // round-robin among equal priorities
  Counters counters_{};
};

}  // namespace dvmm
