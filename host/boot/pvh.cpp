#include "host/boot/pvh.hpp"

#include <elf.h>

#include <cstring>

#include "host/boot/area_builder.hpp"
#include "host/boot/layout.hpp"
#include "host/boot/memory_map.hpp"

namespace dvmm::boot {

namespace {

Status check_placement(const std::vector<LoadSegment>& segments, uint64_t ram_size) {
  for (const LoadSegment& seg : segments) {
    if (seg.paddr < kKernelMinAddress) {
      return Error::format("{} starts below 1 MiB, where the boot information and firmware "
                           "tables live; is this a relocated or 32-bit kernel?",
                           describe_segment(seg));
    }
    if (seg.paddr > ram_size || seg.mem_size > ram_size - seg.paddr) {
      return Error::format(
          "{} ends past the end of guest RAM ({} MiB); give the guest more memory (--memory)",
          describe_segment(seg), ram_size >> 20);
    }
  }
  return {};
}

}  // namespace

Result<uint32_t> find_pvh_entry(const ElfImage& elf, std::span<const uint8_t> image) {
  for (const ElfNote& note : elf.notes) {
    if (note.name != "Xen" || note.type != kXenElfNotePhys32Entry) continue;
    // Linux writes the address as a pointer-sized value (8 bytes on
    // x86-64), FreeBSD as 4 bytes: either way the low 32 bits, and a
    // 32-bit entry cannot have high bits.
    if (note.desc_size != 4 && note.desc_size != 8) {
      return Error::format("the PVH entry note (Xen, XEN_ELFNOTE_PHYS32_ENTRY) has a {}-byte "
                           "value; expected 4 or 8",
                           note.desc_size);
    }
    uint64_t value = 0;
    std::memcpy(&value, image.data() + note.desc_offset, note.desc_size);
    if (value > 0xFFFFFFFFu) {
      return Error::format("the PVH entry {:#x} is above 4 GiB: the PVH ABI enters in 32-bit mode",
                           value);
    }
    bool inside = false;
    for (const LoadSegment& s : elf.segments) {
      inside = inside || (value >= s.paddr && value - s.paddr < s.file_size);
    }
    if (!inside) {
      return Error::format("the PVH entry {:#x} is outside every loaded segment", value);
    }
    return static_cast<uint32_t>(value);
  }
  if (!elf.notes_error.empty()) {
    return Error::format("no PVH entry note found, and a malformed note may have hidden it: {}",
                         elf.notes_error);
  }
  return Error::format(
      "the ELF kernel has no PVH entry note (Xen, XEN_ELFNOTE_PHYS32_ENTRY): Linux needs "
      "CONFIG_PVH=y (Debian's kernels have it)");
}

Result<PvhBoot> load_pvh(GuestMemory& mem, std::span<const uint8_t> kernel,
                         std::string_view cmdline, std::span<const uint8_t> initrd,
                         uint64_t rsdp_address) {
  ElfImage elf = DVMM_TRY(parse_elf(kernel));
  if (!elf.is_64 && elf.machine != EM_386) {
    return Error::format("ELF machine {} is not x86 (EM_386 or EM_X86_64)", elf.machine);
  }
  if (elf.is_64 && elf.machine != EM_X86_64) {
    return Error::format("ELF machine {} is not x86-64 (EM_X86_64 = {})", elf.machine,
                         EM_X86_64);
  }
  const uint32_t entry = DVMM_TRY(find_pvh_entry(elf, kernel));
  if (cmdline.size() >= kLinuxCommandLineMax) {
    return Error::format("the kernel command line is {} bytes; Linux takes at most {}",
                         cmdline.size(), kLinuxCommandLineMax - 1);
  }
  const uint64_t ram = mem.size();
  auto [load_start, kernel_end] = DVMM_TRY(sort_segments(elf.segments));
  (void)load_start;
  DVMM_TRY(check_placement(elf.segments, ram));

  PvhBoot boot{};
  boot.entry = entry;
  boot.kernel_end = kernel_end;
  if (!initrd.empty()) {
    const uint64_t size = initrd.size();
    const uint64_t at = size <= ram ? ((ram - size) & ~uint64_t{kPageSize - 1}) : 0;
    if (size > ram || at < ((kernel_end + kPageSize - 1) & ~uint64_t{kPageSize - 1})) {
      return Error::format(
          "the {} MiB initrd does not fit between the kernel's end ({:#x}) and the top of guest "
          "RAM ({} MiB); give the guest more memory (--memory)",
          size >> 20, kernel_end, ram >> 20);
    }
    boot.initrd_address = at;
    boot.initrd_size = size;
  }

  DVMM_TRY(load_segments(mem, kernel, elf.segments));
  if (!initrd.empty()) DVMM_TRY(mem.write(GuestAddress{boot.initrd_address}, initrd));

  // The start info and what it points to, in the low boot-information area.
  AreaBuilder area(kMultibootInfo, "PVH start info");
  const uint64_t info_at = DVMM_TRY(area.reserve(sizeof(HvmStartInfo), 8, "hvm_start_info"));
  HvmStartInfo info{};
  info.magic = kHvmStartMagic;
  info.version = 1;
  info.cmdline_paddr = DVMM_TRY(area.append_string(cmdline, "the kernel command line"));
  info.rsdp_paddr = rsdp_address;
  if (!initrd.empty()) {
    HvmModlistEntry mod{boot.initrd_address, boot.initrd_size, 0, 0};
    info.modlist_paddr = DVMM_TRY(area.reserve(sizeof(mod), 8, "the module list"));
    area.put(info.modlist_paddr, mod);
    info.nr_modules = 1;
  }
  const std::vector<MemoryRegion> map = guest_memory_map(ram);
  info.memmap_paddr =
      DVMM_TRY(area.reserve(map.size() * sizeof(HvmMemmapEntry), 8, "the memory map"));
  for (size_t i = 0; i < map.size(); ++i) {
    HvmMemmapEntry e{map[i].base, map[i].length, static_cast<uint32_t>(map[i].type), 0};
    area.put(info.memmap_paddr + i * sizeof(e), e);
  }
  info.memmap_entries = static_cast<uint32_t>(map.size());
  area.put(info_at, info);
  DVMM_TRY(area.commit(mem));
  boot.start_info_address = static_cast<uint32_t>(info_at);
  return boot;
}

}  // namespace dvmm::boot
