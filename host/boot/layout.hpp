// The guest-physical memory layout dvmm uses when it boots a guest. Every
// loader and table writer in host/boot places data only inside the ranges
// named here, so that the layout is written down once and the ranges can be
// checked against each other at compile time.
//
//   0x0000_0000 - 0x0000_0FFF  reserved: real-mode IVT and BIOS data area
//   0x0000_1000 - 0x0000_6FFF  reserved for the VMM: the identity-mapping page
//                              tables of a 64-bit entry (long_mode_tables.hpp)
//   0x0000_7000 - 0x0000_7FFF  reserved for the VMM (the 64-bit entry's GDT)
//   0x0000_8000 - 0x0000_8FFF  FREE for the guest's AP trampoline (SIPI
//                              vector 0x08); dvmm never writes here
//   0x0000_9000 - 0x0009_FBFF  low boot-information area, one protocol's at a
//                              time (grows up, bounds-checked): multiboot MBI,
//                              module list, memory map, strings; or the PVH
//                              start info; or Linux's boot_params (zero page)
//                              and command line
//   0x0009_FC00 - 0x0009_FFFF  reserved in the memory map (EBDA-sized hole)
//   0x000A_0000 - 0x000D_FFFF  legacy VGA/ROM hole: not in the memory map
//   0x000E_0000 - 0x000E_FFFF  ACPI tables (RSDP first, 16-byte aligned)
//   0x000F_0000 - 0x000F_FFFF  MP floating pointer and MP configuration table
//   0x0010_0000 - RAM top      kernel at its ELF physical addresses, then
//                              page-aligned multiboot modules
//   RAM top <= 3 GiB (kMaxRamSize), below the 32-bit MMIO hole:
//   0xFEC0_0000                IOAPIC
//   0xFEE0_0000                local APIC
#pragma once

#include <cstdint>

#include "host/common/address.hpp"

namespace dvmm::boot {

// A half-open guest-physical range [start, end).
struct GuestRange {
  uint64_t start;
  uint64_t end;
  constexpr uint64_t size() const { return end - start; }
  constexpr bool contains(uint64_t addr) const { return addr >= start && addr < end; }
  // True when [a, a+len) (len > 0) shares a byte with this range.
  constexpr bool overlaps(uint64_t a, uint64_t len) const {
    return len != 0 && a < end && start < a + len;
  }
};

// Real-mode interrupt vector table and BIOS data area.
inline constexpr GuestRange kRealModeReserved{0x0000, 0x1000};
// Page tables a 64-bit entry starts on (identity map of the low 4 GiB with
// 2 MiB pages: PML4, PDPT, four page directories).
inline constexpr GuestRange kBootPageTables{0x1000, 0x7000};
// Reserved for the VMM's own use (the boot GDT of the 64-bit entry; the
// 32-bit entries set only the segment registers' hidden parts).
inline constexpr GuestRange kVmmReserved{0x7000, 0x8000};
// Left free for guests' AP start-up trampolines (SIPI vector 0x08).
inline constexpr GuestRange kApTrampoline{0x8000, 0x9000};
inline constexpr uint8_t kApTrampolineSipiVector = 0x08;
// The low boot-information area: the multiboot information structure,
// module list, memory map and strings; the PVH start info; or Linux's
// boot_params and command line. Ends where the memory map's reserved 1 KiB
// below 640 KiB starts.
inline constexpr GuestRange kMultibootInfo{0x9000, 0x9FC00};
// Conventional memory reported as mem_lower (640 KiB minus the reserved KiB).
inline constexpr uint64_t kLowMemoryEnd = 0x9FC00;
// Reserved in the memory map: [0x9FC00, 0xA0000).
inline constexpr GuestRange kLowReserved{0x9FC00, 0xA0000};
// All firmware tables, reported as reserved in the memory map.
inline constexpr GuestRange kFirmwareTables{0xE0000, 0x100000};
// ACPI: RSDP at the start (16-byte aligned, where an OS scans for it), then
// FACS, DSDT, FADT, MADT, RSDT, XSDT (acpi.hpp; it also lists the I/O ports
// of the power-management hardware the FADT describes).
inline constexpr GuestRange kAcpiTables{0xE0000, 0xF0000};
// MP floating pointer at the start, configuration table right after it.
inline constexpr GuestRange kMpTables{0xF0000, 0x100000};
// The kernel's segments must load at or above this address.
inline constexpr uint64_t kKernelMinAddress = 0x100000;
// RAM top: guest RAM must end below the 32-bit MMIO hole for now.
inline constexpr uint64_t kMaxRamSize = 3 * GiB;

inline constexpr uint64_t kIoapicAddress = 0xFEC00000;
inline constexpr uint64_t kLapicAddress = 0xFEE00000;

static_assert(kRealModeReserved.end <= kBootPageTables.start);
static_assert(kBootPageTables.end <= kVmmReserved.start);
static_assert(kBootPageTables.start % 4096 == 0 && kBootPageTables.size() == 6 * 4096);
static_assert(kVmmReserved.end <= kApTrampoline.start);
static_assert(kApTrampoline.end <= kMultibootInfo.start);
static_assert(kApTrampoline.start == uint64_t{kApTrampolineSipiVector} << 12);
static_assert(kMultibootInfo.end <= kLowReserved.start);
static_assert(kLowReserved.end <= kFirmwareTables.start);
static_assert(kAcpiTables.start == kFirmwareTables.start && kAcpiTables.end <= kMpTables.start &&
              kMpTables.end == kFirmwareTables.end);
static_assert(kAcpiTables.start % 16 == 0 && kMpTables.start % 16 == 0);
static_assert(kFirmwareTables.end <= kKernelMinAddress);
static_assert(kMaxRamSize <= kIoapicAddress);

}  // namespace dvmm::boot
