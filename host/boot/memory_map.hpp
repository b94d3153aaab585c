// The guest's physical memory map as firmware reports it (the multiboot
// mmap, PVH's memmap, the E820 table in Linux's boot_params), derived from
// layout.hpp so that every boot protocol tells the guest the same thing.
//
//   [0,        0x9FC00)  usable
//   [0x9FC00,  0xA0000)  reserved
//   [0xE0000, 0x100000)  reserved (ACPI and MP tables)
//   [0x100000, RAM top)  usable
#pragma once

#include <cstdint>
#include <vector>

#include "host/boot/layout.hpp"

namespace dvmm::boot {

// Types as in E820 and the multiboot memory map.
enum class MemoryType : uint32_t {
  kUsable = 1,
  kReserved = 2,
};

struct MemoryRegion {
  uint64_t base;
  uint64_t length;
  MemoryType type;
};

// ram_size must be above 1 MiB (callers check; see write_multiboot_info).
inline std::vector<MemoryRegion> guest_memory_map(uint64_t ram_size) {
  std::vector<MemoryRegion> map{
      {0, kLowMemoryEnd, MemoryType::kUsable},
      {kLowReserved.start, kLowReserved.size(), MemoryType::kReserved},
      {kFirmwareTables.start, kFirmwareTables.size(), MemoryType::kReserved},
  };
  if (ram_size > kKernelMinAddress) {
    map.push_back({kKernelMinAddress, ram_size - kKernelMinAddress, MemoryType::kUsable});
  }
  return map;
}

}  // namespace dvmm::boot
