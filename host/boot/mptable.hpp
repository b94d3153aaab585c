// The Intel MultiProcessor Specification 1.4 tables, which older and simpler
// guests (and Linux without ACPI) read to find the CPUs, the IOAPIC and how
// ISA interrupts are wired.
//
// Layout, inside layout.hpp's kMpTables range:
//   0xF0000  MP floating pointer structure "_MP_" (16 bytes, 16-aligned,
//            found by scanning 0xF0000-0xFFFFF), pointing at
//   0xF0010  MP configuration table "PCMP": 44-byte header, then entries:
//            processor (20 bytes) one per CPU, BSP first
//            bus (8)             bus 0 = "ISA   "
//            I/O APIC (8)        version 0x11 (KVM's IOAPIC), enabled
//            I/O interrupt (8)   per ISA IRQ 0-15 -> IOAPIC input (IRQ0 ->
//                                pin 2 with the default override; an IRQ
//                                whose pin another IRQ took is left out,
//                                i.e. IRQ 2)
//            local interrupt (8) ExtINT -> LINT0, NMI -> LINT1 on all LAPICs
// No extended table. Both structures carry a checksum (bytes sum to 0).
//
// The format has 8-bit APIC IDs: at most 255 CPUs with APIC IDs 0-254.
#pragma once

#include <cstdint>

#include "host/boot/platform.hpp"
#include "host/common/result.hpp"
#include "host/memory/guest_memory.hpp"

namespace dvmm::boot {

inline constexpr size_t kMpMaxCpus = 255;
inline constexpr uint8_t kMpSpecRev = 4;  // MPS 1.4
inline constexpr uint8_t kMpLapicVersion = 0x14;
inline constexpr uint8_t kMpIoapicVersion = 0x11;
// CPU signature (CPUID.1 EAX: a generic family 6, model 2, stepping 3
// CPU) and features (CPUID.1 EDX: FPU, CX8, APIC).
inline constexpr uint32_t kMpCpuSignature = 0x00000623;
inline constexpr uint32_t kMpCpuFeatures = (1u << 0) | (1u << 8) | (1u << 9);

enum class MpEntryType : uint8_t {
  kProcessor = 0,
  kBus = 1,
  kIoapic = 2,
  kIoInterrupt = 3,
  kLocalInterrupt = 4,
};

enum class MpInterruptType : uint8_t {
  kInt = 0,  // vectored, from the IOAPIC redirection entry
  kNmi = 1,
  kSmi = 2,
  kExtInt = 3,  // vectored by the 8259
};

inline constexpr uint8_t kMpCpuEnabled = 1u << 0;
inline constexpr uint8_t kMpCpuBootstrap = 1u << 1;
inline constexpr uint8_t kMpIoapicEnabled = 1u << 0;
inline constexpr uint8_t kMpAllLapics = 0xFF;

#pragma pack(push, 1)
struct MpFloatingPointer {
  char signature[4];      // "_MP_"
  uint32_t config_table;  // physical address of the PCMP table
  uint8_t length;         // in 16-byte units: 1
  uint8_t spec_rev;
  uint8_t checksum;
  uint8_t features[5];  // [0] = 0: a configuration table is present
                        // [1] bit 7 = 0: virtual wire mode, no IMCR
};

struct MpConfigHeader {
  char signature[4];  // "PCMP"
  uint16_t base_length;
  uint8_t spec_rev;
  uint8_t checksum;
  char oem_id[8];
  char product_id[12];
  uint32_t oem_table;
  uint16_t oem_table_size;
  uint16_t entry_count;
  uint32_t lapic_address;
  uint16_t ext_length;
  uint8_t ext_checksum;
  uint8_t reserved;
};

struct MpProcessorEntry {
  uint8_t type;
  uint8_t lapic_id;
  uint8_t lapic_version;
  uint8_t cpu_flags;
  uint32_t cpu_signature;
  uint32_t feature_flags;
  uint32_t reserved[2];
};

struct MpBusEntry {
  uint8_t type;
  uint8_t bus_id;
  char bus_type[6];
};

struct MpIoapicEntry {
  uint8_t type;
  uint8_t id;
  uint8_t version;
  uint8_t flags;
  uint32_t address;
};

// I/O interrupt assignment (type 3) and local interrupt assignment (type 4).
struct MpInterruptEntry {
  uint8_t type;
  uint8_t interrupt_type;
  uint16_t flags;  // kInti* polarity/trigger
  uint8_t source_bus;
  uint8_t source_irq;
  uint8_t dest_apic;  // IOAPIC ID (type 3), LAPIC ID or 0xFF (type 4)
  uint8_t dest_pin;   // IOAPIC INTIN# (type 3), LINTIN# (type 4)
};
#pragma pack(pop)
static_assert(sizeof(MpFloatingPointer) == 16);
static_assert(sizeof(MpConfigHeader) == 44);
static_assert(sizeof(MpProcessorEntry) == 20);
static_assert(sizeof(MpBusEntry) == 8);
static_assert(sizeof(MpIoapicEntry) == 8);
static_assert(sizeof(MpInterruptEntry) == 8);

// Writes the floating pointer and configuration table into kMpTables.
// Rejects platforms the format cannot describe (more than 255 CPUs, an APIC
// ID above 254).
Status write_mp_table(GuestMemory& mem, const PlatformDescription& platform);

}  // namespace dvmm::boot
