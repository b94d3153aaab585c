#include "host/boot/multiboot_info.hpp"

#include <limits>

#include "host/boot/area_builder.hpp"
#include "host/boot/layout.hpp"
#include "host/boot/memory_map.hpp"

namespace dvmm::boot {
namespace {

constexpr uint64_t k4GiB = uint64_t{1} << 32;

Status check_string(std::string_view s, std::string_view what) {
  if (auto nul = s.find('\0'); nul != std::string_view::npos) {
    return Error::format("{} contains a NUL byte at offset {}", what, nul);
  }
  return {};
}

uint32_t addr32(uint64_t a) {
  return static_cast<uint32_t>(a);
}  // area is below 1 MiB

}  // namespace

Status check_multiboot_ram_size(uint64_t ram) {
  if (ram <= kKernelMinAddress) {
    return Error::format("guest RAM ({:#x} bytes) must be larger than 1 MiB for a multiboot guest",
                         ram);
  }
  if (ram > kMaxRamSize) {
    return Error::format(
        "guest RAM ({:#x} bytes) exceeds {} GiB: RAM above that would overlap the MMIO hole, "
        "which dvmm does not support yet",
        ram, kMaxRamSize / GiB);
  }
  return {};
}

Result<MultibootInfoPlacement> write_multiboot_info(GuestMemory& mem, uint64_t kernel_end,
                                                    std::string_view cmdline,
                                                    std::span<const MultibootModule> modules,
                                                    std::string_view bootloader_name) {
  const uint64_t ram = mem.size();
  DVMM_TRY(check_multiboot_ram_size(ram));
  DVMM_TRY(check_string(cmdline, "kernel command line"));
  DVMM_TRY(check_string(bootloader_name, "boot loader name"));
  for (size_t i = 0; i < modules.size(); ++i) {
    DVMM_TRY(check_string(modules[i].cmdline, fmt::format("command line of module {}", i)));
  }

  // Module contents: each at the next page boundary after the kernel or the
  // previous module (header flags bit 0 asks for this; dvmm always does it).
  std::vector<MultibootModuleEntry> mod_entries(modules.size());
  uint64_t cursor = kernel_end;
  for (size_t i = 0; i < modules.size(); ++i) {
    const uint64_t size = modules[i].data.size();
    const uint64_t start = (cursor + kPageSize - 1) & ~(kPageSize - 1);
    if (start > ram || size > ram - start) {
      return Error::format(
          "module {} ({} bytes) does not fit in guest RAM: it would occupy [{:#x}, {:#x}) but RAM "
          "ends at {:#x}; give the guest more memory",
          i, size, start, start + size, ram);
    }
    mod_entries[i].mod_start = addr32(start);
    mod_entries[i].mod_end = addr32(start + size);  // ram <= 3 GiB, so below 4 GiB
    if (size != 0) DVMM_TRY(mem.write(GuestAddress{start}, modules[i].data));
    cursor = start + size;
  }
  static_assert(kMaxRamSize < k4GiB);

  AreaBuilder area(kMultibootInfo, "multiboot information");
  const uint64_t mbi_addr = DVMM_TRY(area.reserve(sizeof(MultibootInfo), 4, "the MBI"));
  const uint64_t mods_addr = DVMM_TRY(
      area.reserve(mod_entries.size() * sizeof(MultibootModuleEntry), 4, "the module list"));

  const std::vector<MemoryRegion> map = guest_memory_map(ram);
  const uint64_t mmap_length = map.size() * sizeof(MultibootMmapEntry);
  const uint64_t mmap_addr = DVMM_TRY(area.reserve(mmap_length, 4, "the memory map"));
  for (size_t i = 0; i < map.size(); ++i) {
    MultibootMmapEntry e{};
    e.size = sizeof(MultibootMmapEntry) - sizeof(e.size);
    e.base_addr = map[i].base;
    e.length = map[i].length;
    e.type = static_cast<uint32_t>(map[i].type);
    area.put(mmap_addr + i * sizeof(MultibootMmapEntry), e);
  }

  const uint64_t cmdline_addr = DVMM_TRY(area.append_string(cmdline, "the kernel command line"));
  const uint64_t name_addr = DVMM_TRY(area.append_string(bootloader_name, "the boot loader name"));
  for (size_t i = 0; i < modules.size(); ++i) {
    const uint64_t s = DVMM_TRY(area.append_string(modules[i].cmdline, "a module command line"));
    mod_entries[i].string = addr32(s);
    area.put(mods_addr + i * sizeof(MultibootModuleEntry), mod_entries[i]);
  }

  MultibootInfo mbi{};
  mbi.flags = kMbInfoMemory | kMbInfoCmdline | kMbInfoMods | kMbInfoMemMap | kMbInfoBootLoaderName;
  mbi.mem_lower = addr32(kLowMemoryEnd / KiB);
  mbi.mem_upper = static_cast<uint32_t>(
      std::min<uint64_t>((ram - kKernelMinAddress) / KiB, std::numeric_limits<uint32_t>::max()));
  mbi.cmdline = addr32(cmdline_addr);
  mbi.mods_count = static_cast<uint32_t>(modules.size());
  mbi.mods_addr = addr32(mods_addr);
  mbi.mmap_length = static_cast<uint32_t>(mmap_length);
  mbi.mmap_addr = addr32(mmap_addr);
  mbi.boot_loader_name = addr32(name_addr);
  area.put(mbi_addr, mbi);

  DVMM_TRY(area.commit(mem));
  return MultibootInfoPlacement{addr32(mbi_addr), cursor};
}

}  // namespace dvmm::boot
