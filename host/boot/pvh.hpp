// Booting a kernel through the PVH entry (Xen's "HVM direct boot" ABI, which
// Linux, FreeBSD and others implement for VMMs without firmware, as QEMU's
// microvm, Firecracker and cloud-hypervisor use it).
//
// The kernel is an ELF executable whose notes include
// XEN_ELFNOTE_PHYS32_ENTRY (name "Xen", type 18): the 32-bit physical
// address to enter at. The loader copies the PT_LOAD segments to their
// physical addresses, writes an hvm_start_info structure (Xen's
// public/arch-x86/hvm/start_info.h, version 1) with the command line, the
// initrd as module 0, the RSDP address and the E820 memory map, and enters
// the BSP in 32-bit flat protected mode with paging off, EBX = the start
// info's address and EFLAGS.IF = 0 (the same machine state as a multiboot
// entry, see x86_state.hpp).
//
// Placement: the kernel where its headers say (Linux: 16 MiB up), the start
// info, memory map and command line in the low boot-information area, the
// initrd page-aligned at the top of RAM (as QEMU places it), clear of the
// kernel.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "host/boot/elf_image.hpp"
#include "host/common/result.hpp"
#include "host/memory/guest_memory.hpp"

namespace dvmm::boot {

inline constexpr uint32_t kXenElfNotePhys32Entry = 18;
inline constexpr uint32_t kHvmStartMagic = 0x336ec578;
// Linux's COMMAND_LINE_SIZE on x86.
inline constexpr size_t kLinuxCommandLineMax = 2048;

#pragma pack(push, 1)
struct HvmStartInfo {
  uint32_t magic;
  uint32_t version;  // 1: memmap fields present
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;
  uint32_t memmap_entries;
  uint32_t reserved;
};
struct HvmModlistEntry {
  uint64_t paddr;
  uint64_t size;
  uint64_t cmdline_paddr;
  uint64_t reserved;
};
struct HvmMemmapEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;  // E820 type
  uint32_t reserved;
};
#pragma pack(pop)
static_assert(sizeof(HvmStartInfo) == 56);
static_assert(sizeof(HvmModlistEntry) == 32);
static_assert(sizeof(HvmMemmapEntry) == 24);

struct PvhBoot {
  uint32_t entry;               // EIP
  uint32_t start_info_address;  // EBX
  uint64_t kernel_end;          // end of the highest segment, bss included
  uint64_t initrd_address = 0;  // 0 when there is none
  uint64_t initrd_size = 0;
};

// The PVH entry of a parsed ELF kernel, or an Error saying why there is none
// (no note: not a PVH kernel; a malformed one: which).
Result<uint32_t> find_pvh_entry(const ElfImage& elf, std::span<const uint8_t> image);

// Loads an ELF kernel with a PVH entry note, the initrd (may be empty) and
// writes the start info. rsdp_address is where the ACPI tables' RSDP is.
Result<PvhBoot> load_pvh(GuestMemory& mem, std::span<const uint8_t> kernel,
                         std::string_view cmdline, std::span<const uint8_t> initrd,
                         uint64_t rsdp_address);

}  // namespace dvmm::boot
