// ACPI tables describing the interrupt topology: where the guest finds its
// CPUs, local APICs and the IOAPIC. (ACPI spec 6.5: 5.2.5 RSDP, 5.2.6 table
// header, 5.2.7 RSDT, 5.2.8 XSDT, 5.2.12 MADT.)
//
// Layout, inside layout.hpp's kAcpiTables range (all 16-byte aligned):
//   0xE0000  RSDP "RSD PTR " revision 2 (36 bytes): RSDT and XSDT addresses;
//            an OS finds it by scanning 0xE0000-0xFFFFF on 16-byte boundaries
//            MADT "APIC" revision 3:
//              local APIC address, flags PCAT_COMPAT (dual 8259s present)
//              type 0 Processor Local APIC per CPU with APIC ID <= 254
//                   (UID = CPU index, enabled)
//              type 9 Processor Local x2APIC per other CPU (APIC ID >= 255)
//              type 1 I/O APIC (GSI base 0)
//              type 2 Interrupt Source Override per ISA IRQ override (IRQ0 -> GSI 2)
//              type 4 Local APIC NMI: all processors, LINT1
//                   (and type 0xA Local x2APIC NMI when there are x2APIC CPUs)
//            RSDT "RSDT" (32-bit pointers) and XSDT "XSDT" (64-bit), each
//            listing the MADT
// Every table's checksum makes its bytes sum to 0; the RSDP has both the
// 20-byte (ACPI 1.0) checksum and the extended checksum over all 36 bytes.
//
// There is no FADT/DSDT yet: Linux then runs without ACPI power management
// and without an SCI. They slot in where acpi.cpp builds the listed tables.
#pragma once

#include <cstdint>

#include "host/boot/platform.hpp"
#include "host/common/result.hpp"
#include "host/memory/guest_memory.hpp"

namespace dvmm::boot {

inline constexpr uint8_t kAcpiRsdpRevision = 2;
inline constexpr uint8_t kAcpiMadtRevision = 3;
inline constexpr uint32_t kMadtPcatCompat = 1u << 0;
inline constexpr uint32_t kMadtCpuEnabled = 1u << 0;
inline constexpr uint8_t kMadtAllProcessors = 0xFF;           // type 4 UID
inline constexpr uint32_t kMadtAllX2Processors = 0xFFFFFFFF;  // type 0xA UID
inline constexpr uint32_t kMadtMaxXapicId = 254;              // larger IDs use x2APIC entries

enum class MadtEntryType : uint8_t {
  kLocalApic = 0,
  kIoApic = 1,
  kInterruptSourceOverride = 2,
  kLocalApicNmi = 4,
  kLocalX2Apic = 9,
  kLocalX2ApicNmi = 0xA,
};

#pragma pack(push, 1)
struct AcpiRsdp {
  char signature[8];  // "RSD PTR "
  uint8_t checksum;   // over bytes 0-19
  char oem_id[6];
  uint8_t revision;  // 2: the fields below are valid
  uint32_t rsdt_address;
  uint32_t length;  // 36
  uint64_t xsdt_address;
  uint8_t extended_checksum;  // over all 36 bytes
  uint8_t reserved[3];
};

struct AcpiTableHeader {
  char signature[4];
  uint32_t length;  // of the whole table, header included
  uint8_t revision;
  uint8_t checksum;
  char oem_id[6];
  char oem_table_id[8];
  uint32_t oem_revision;
  char creator_id[4];
  uint32_t creator_revision;
};

// The MADT's fixed part; interrupt controller structures follow.
struct AcpiMadt {
  AcpiTableHeader header;
  uint32_t lapic_address;
  uint32_t flags;
};

struct MadtLocalApic {
  uint8_t type;
  uint8_t length;  // 8
  uint8_t processor_uid;
  uint8_t apic_id;
  uint32_t flags;
};

struct MadtIoApic {
  uint8_t type;
  uint8_t length;  // 12
  uint8_t ioapic_id;
  uint8_t reserved;
  uint32_t address;
  uint32_t gsi_base;
};

struct MadtInterruptSourceOverride {
  uint8_t type;
  uint8_t length;  // 10
  uint8_t bus;     // 0: ISA
  uint8_t source;  // ISA IRQ
  uint32_t gsi;
  uint16_t flags;  // kInti* polarity/trigger
};

struct MadtLocalApicNmi {
  uint8_t type;
  uint8_t length;  // 6
  uint8_t processor_uid;
  uint16_t flags;
  uint8_t lint;
};

struct MadtLocalX2Apic {
  uint8_t type;
  uint8_t length;  // 16
  uint16_t reserved;
  uint32_t x2apic_id;
  uint32_t flags;
  uint32_t processor_uid;
};

struct MadtLocalX2ApicNmi {
  uint8_t type;
  uint8_t length;  // 12
  uint16_t flags;
  uint32_t processor_uid;
  uint8_t lint;
  uint8_t reserved[3];
};
#pragma pack(pop)
static_assert(sizeof(AcpiRsdp) == 36);
static_assert(sizeof(AcpiTableHeader) == 36);
static_assert(sizeof(AcpiMadt) == 44);
static_assert(sizeof(MadtLocalApic) == 8);
static_assert(sizeof(MadtIoApic) == 12);
static_assert(sizeof(MadtInterruptSourceOverride) == 10);
static_assert(sizeof(MadtLocalApicNmi) == 6);
static_assert(sizeof(MadtLocalX2Apic) == 16);
static_assert(sizeof(MadtLocalX2ApicNmi) == 12);

// Writes the RSDP, MADT, RSDT and XSDT into kAcpiTables.
Status write_acpi_tables(GuestMemory& mem, const PlatformDescription& platform);

}  // namespace dvmm::boot
