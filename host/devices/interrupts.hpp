// How interrupts travel between platform pieces. Every producer of an
// interrupt (IOAPIC redirection, a local APIC's ICR) describes it as an
// InterruptMessage, the same fields an x86 MSI / inter-processor message
// carries, and hands it to an ApicBus. The ApicBus implementation decides
// which local APICs accept it; in a cluster it forwards to other nodes, so
// no device or LAPIC ever needs to know where a vCPU runs.
#pragma once

#include <cstdint>

namespace dvmm {

// Delivery mode, as encoded in ICR bits 10:8 and IOAPIC redirection bits 10:8.
enum class DeliveryMode : uint8_t {
  kFixed = 0,
  kLowestPriority = 1,
  kSmi = 2,
  kNmi = 4,
  kInit = 5,
  kStartup = 6,
  kExtInt = 7,
};

// Destination shorthand, ICR bits 19:18.
enum class DestShorthand : uint8_t {
  kNone = 0,
  kSelf = 1,
  kAllIncludingSelf = 2,
  kAllExcludingSelf = 3,
};

struct InterruptMessage {
  uint8_t vector = 0;
  DeliveryMode mode = DeliveryMode::kFixed;
  bool logical = false;          // destination mode: false = physical
  bool level_triggered = false;  // trigger mode
  bool assert_level = true;      // level bit (INIT de-assert has it clear)
  DestShorthand shorthand = DestShorthand::kNone;
  uint32_t destination = 0;      // APIC ID (physical) or logical mask; 0xFF / 0xFFFFFFFF = broadcast
  bool x2apic = false;           // destination is a 32-bit x2APIC destination
  int source_cpu = -1;           // index of the sending vCPU, -1 for devices (IOAPIC)
};

// Routes interrupt messages to local APICs, wherever they live.
class ApicBus {
 public:
  virtual ~ApicBus() = default;
  virtual void deliver(const InterruptMessage& msg) = 0;
  // A local APIC signalled EOI for a level-triggered vector: the IOAPIC
  // clears Remote IRR on matching entries.
  virtual void broadcast_eoi(uint8_t vector) = 0;
};

// An interrupt input of the platform (a GSI on the IOAPIC, an IRQ pin of
// the PIC). Devices raise and lower their line; edge-triggered consumers
// act on the rising edge.
class IrqSink {
 public:
  virtual ~IrqSink() = default;
  virtual void set_irq(unsigned line, bool level) = 0;
};

}  // namespace dvmm
