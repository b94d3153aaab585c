// What a 64-bit entry needs in guest memory before the first instruction:
// page tables and a GDT. The BSP cannot be put in long mode without paging,
// so the loader writes an identity map and the descriptors its segment
// registers stand for (x86_state.hpp set_long_mode_entry loads them).
//
//   kBootPageTables  PML4 (one entry) -> PDPT (four entries) -> four page
//                    directories of 2 MiB pages: guest-physical = linear for
//                    the low 4 GiB (RAM, the firmware tables and the MMIO
//                    hole with the IOAPIC and local APIC); present, writable,
//                    supervisor, write-back
//   kVmmReserved     GDT: null, null, 0x10 flat 64-bit code (execute/read),
//                    0x18 flat data (read/write), as Linux's 64-bit boot
//                    protocol asks (__BOOT_CS, __BOOT_DS)
//
// 2 MiB pages need no CPUID feature (1 GiB pages would need PDPE1GB, which
// a guest may not have); the 4 GiB cover guest RAM (at most kMaxRamSize)
// and whatever Linux's decompressor needs identity-mapped.
#pragma once

#include <cstdint>

#include "host/arch/x86_state.hpp"
#include "host/common/result.hpp"
#include "host/memory/guest_memory.hpp"

namespace dvmm::boot {

inline constexpr uint16_t kBootCodeSelector = 0x10;  // Linux's __BOOT_CS
inline constexpr uint16_t kBootDataSelector = 0x18;  // Linux's __BOOT_DS
inline constexpr uint64_t kIdentityMappedBytes = 4ull << 30;

struct LongModeTables {
  uint64_t pml4 = 0;      // CR3
  uint64_t gdt_base = 0;  // GDTR
  uint16_t gdt_limit = 0;
};

// Writes the page tables and the GDT. Guest RAM must reach past
// kVmmReserved (every guest's does: at least 16 MiB).
Result<LongModeTables> write_long_mode_tables(GuestMemory& mem);

}  // namespace dvmm::boot
