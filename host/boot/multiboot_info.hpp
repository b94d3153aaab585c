// The multiboot (v1) boot information a kernel receives: the MBI structure
// (address in EBX at entry), the module list, the memory map and strings,
// all inside layout.hpp's kMultibootInfo range; module contents are placed
// page-aligned after the kernel. Image parsing lives in multiboot_image.hpp.
//
// Spec: The Multiboot Specification version 0.6.96, section 3.3. dvmm sets
// these MBI flags:
//   bit 0  MEM               mem_lower = 639 (KiB below 640 KiB),
//                            mem_upper = KiB of RAM above 1 MiB
//   bit 2  CMDLINE           cmdline -> NUL-terminated string
//   bit 3  MODS              mods_count/mods_addr -> array of MultibootModuleEntry
//                            (set even when there are no modules)
//   bit 6  MMAP              mmap_length/mmap_addr -> MultibootMmapEntry[]
//                            (from memory_map.hpp)
//   bit 9  BOOT_LOADER_NAME  boot_loader_name -> string
// Never set: boot_device, symbols, drives, config table, APM, VBE,
// framebuffer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "host/common/result.hpp"
#include "host/memory/guest_memory.hpp"

namespace dvmm::boot {

inline constexpr uint32_t kMbInfoMemory = 1u << 0;
inline constexpr uint32_t kMbInfoBootDevice = 1u << 1;
inline constexpr uint32_t kMbInfoCmdline = 1u << 2;
inline constexpr uint32_t kMbInfoMods = 1u << 3;
inline constexpr uint32_t kMbInfoMemMap = 1u << 6;
inline constexpr uint32_t kMbInfoBootLoaderName = 1u << 9;

#pragma pack(push, 1)
// The multiboot information structure (spec 3.3), up to the framebuffer
// fields.
struct MultibootInfo {
  uint32_t flags;
  uint32_t mem_lower;  // KiB
  uint32_t mem_upper;  // KiB
  uint32_t boot_device;
  uint32_t cmdline;
  uint32_t mods_count;
  uint32_t mods_addr;
  uint32_t syms[4];
  uint32_t mmap_length;  // bytes
  uint32_t mmap_addr;
  uint32_t drives_length;
  uint32_t drives_addr;
  uint32_t config_table;
  uint32_t boot_loader_name;
  uint32_t apm_table;
  uint32_t vbe_control_info;
  uint32_t vbe_mode_info;
  uint16_t vbe_mode;
  uint16_t vbe_interface_seg;
  uint16_t vbe_interface_off;
  uint16_t vbe_interface_len;
  uint64_t framebuffer_addr;
  uint32_t framebuffer_pitch;
  uint32_t framebuffer_width;
  uint32_t framebuffer_height;
  uint8_t framebuffer_bpp;
  uint8_t framebuffer_type;
  uint8_t color_info[6];
};

struct MultibootModuleEntry {
  uint32_t mod_start;
  uint32_t mod_end;  // exclusive, as GRUB and QEMU write it
  uint32_t string;
  uint32_t reserved;
};

// size is the size of the rest of the entry (20); mmap_addr points at it.
struct MultibootMmapEntry {
  uint32_t size;
  uint64_t base_addr;
  uint64_t length;
  uint32_t type;
};
#pragma pack(pop)
static_assert(sizeof(MultibootInfo) == 116);
static_assert(sizeof(MultibootModuleEntry) == 16);
static_assert(sizeof(MultibootMmapEntry) == 24);

struct MultibootModule {
  std::vector<uint8_t> data;
  std::string cmdline;
};

struct MultibootInfoPlacement {
  uint32_t info_address = 0;  // the MBI, for EBX
  uint64_t modules_end = 0;   // end of the last module (kernel_end if none)
};

// Guest RAM must be above 1 MiB (the kernel loads there) and at most
// kMaxRamSize (the memory map reports all of it as usable).
Status check_multiboot_ram_size(uint64_t ram_size);

// Writes module contents (page-aligned from kernel_end up), then the MBI,
// module list, memory map and strings into kMultibootInfo. cmdline is
// written as given (the caller builds "<kernel path> <append>" as QEMU
// does). Strings must not contain NUL bytes. Guest RAM must be above 1 MiB
// and at most kMaxRamSize.
Result<MultibootInfoPlacement> write_multiboot_info(GuestMemory& mem, uint64_t kernel_end,
                                                    std::string_view cmdline,
                                                    std::span<const MultibootModule> modules,
                                                    std::string_view bootloader_name);

}  // namespace dvmm::boot
