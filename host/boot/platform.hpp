// PlatformDescription: what the firmware tables (mptable.hpp, acpi.hpp)
// describe to the guest: the CPUs' local APIC IDs, one IOAPIC, and how ISA
// IRQs reach the IOAPIC's inputs (GSIs, IOAPIC GSI base 0).
#pragma once

#include <cstdint>
#include <vector>

#include "host/boot/layout.hpp"
#include "host/common/result.hpp"

namespace dvmm::boot {

// Interrupt input flags, shared by MP I/O interrupt entries and ACPI MADT
// interrupt source overrides (MPS 1.4 table 4-10, ACPI "MPS INTI flags"):
//   bits 1:0 polarity  00 conforms to the bus, 01 active high, 11 active low
//   bits 3:2 trigger   00 conforms to the bus, 01 edge,        11 level
inline constexpr uint16_t kIntiConforms = 0;
inline constexpr uint16_t kIntiActiveHigh = 0x1;
inline constexpr uint16_t kIntiActiveLow = 0x3;
inline constexpr uint16_t kIntiEdge = 0x1 << 2;
inline constexpr uint16_t kIntiLevel = 0x3 << 2;

// ISA IRQ isa_irq is wired to IOAPIC input gsi instead of input isa_irq.
struct IsaIrqOverride {
  uint8_t isa_irq = 0;
  uint32_t gsi = 0;
  uint16_t flags = kIntiConforms;
};

struct PlatformDescription {
  // Local APIC ID of each vCPU; apic_ids[0] is the bootstrap processor.
  std::vector<uint32_t> apic_ids;
  // Conventionally the number of CPUs (the first ID after theirs). The MP
  // table needs it distinct from every APIC ID (one APIC bus); ACPI does not.
  uint32_t ioapic_id = 0;
  uint64_t ioapic_address = kIoapicAddress;
  uint64_t lapic_address = kLapicAddress;
  uint32_t ioapic_pins = 24;
  // As QEMU: the PIT's IRQ 0 arrives on IOAPIC input 2.
  std::vector<IsaIrqOverride> isa_irq_overrides{IsaIrqOverride{0, 2, kIntiConforms}};

  // ncpus CPUs with APIC IDs 0..ncpus-1 and the IOAPIC at ID ncpus (255
  // when ncpus > 255: the tables' IOAPIC ID field has 8 bits).
  static PlatformDescription with_cpus(uint32_t ncpus);
};

// The IOAPIC input ISA IRQ irq (0-15) arrives on, after overrides.
uint32_t isa_irq_to_gsi(const PlatformDescription& p, uint8_t irq);

// Checks that hold for both table formats: at least one CPU, unique APIC
// IDs, an IOAPIC ID below 256, 16-byte aligned 32-bit APIC
// addresses, at least 16 IOAPIC inputs, overrides of distinct ISA IRQs
// 0-15 onto existing inputs with valid flags.
Status validate_platform(const PlatformDescription& p);

}  // namespace dvmm::boot
