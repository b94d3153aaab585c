// What a Machine asks of the rest of the cluster. A single-node VM has none;
// a cluster node implements it over the dataplane. Everything a vCPU does
// that reaches past its node goes through these four calls, so the vCPU
// loop, the LAPIC and the devices never know where anything runs.
#pragma once

#include <cstdint>
#include <span>

#include "host/apic/lapic.hpp"
#include "host/devices/interrupts.hpp"

namespace dvmm {

class RemotePlatform {
 public:
  virtual ~RemotePlatform() = default;

  // An interrupt message the router resolved to a vCPU on another node.
  virtual void send_ipi(uint32_t vcpu, const InterruptMessage& msg) = 0;
  // EOI of a level-triggered vector, from a node that is not the I/O home.
  virtual void send_eoi(uint8_t vector) = 0;
  // A port (mmio = false) or MMIO access no local device claims, forwarded
  // to the I/O home. Blocks until the answer (reads fill data). Returns
  // false when the VM stops before the answer came.
  virtual bool forward_io(uint32_t vcpu, bool mmio, uint64_t address, std::span<uint8_t> data,
                          bool is_write) = 0;
  // A local vCPU's APIC ID, LDR, DFR or enable state changed. Returns once
  // every node's router sees it, so an IPI the guest sends next is routed
  // by the new addressing everywhere.
  virtual void publish_addressing(uint32_t vcpu, const ApicAddressing& addressing) = 0;
};

}  // namespace dvmm
