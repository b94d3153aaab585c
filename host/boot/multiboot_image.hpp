// Multiboot v1 kernel images: finding and checking the multiboot header,
// and loading the image's segments into guest memory. This file only reads
// the image; the boot information the kernel receives is written by
// multiboot_info.hpp.
//
// Spec: The Multiboot Specification version 0.6.96, section 3.1 (OS image
// format). The header is 4-byte aligned in the first 8192 bytes:
//
//   offset  field           present when
//   0       magic           always, 0x1BADB002
//   4       flags           always
//   8       checksum        always, magic + flags + checksum == 0 (mod 2^32)
//   12      header_addr     flags bit 16 (the "a.out kludge")
//   16      load_addr       flags bit 16
//   20      load_end_addr   flags bit 16 (0: load to the end of the file)
//   24      bss_end_addr    flags bit 16 (0: no bss)
//   28      entry_addr      flags bit 16
//   32      mode_type, width, height, depth: flags bit 2
//
// Flags bits 0-15 are requirements: a loader that cannot honour one must
// refuse the image. dvmm honours bit 0 (modules page-aligned: always done)
// and bit 1 (memory information: always provided). Bit 2 (video mode) is
// accepted and ignored, as QEMU does: the MBI never claims video information
// (no VBE/framebuffer flag), so the kernel sees it did not get a mode. Any
// other bit in 3-15 is refused. Of bits 16-31, bit 16 is honoured and the
// rest are ignored.
//
// Without bit 16 the image must be an ELF executable (ET_EXEC) for x86:
// ELFCLASS32/EM_386 (what QEMU loads) or ELFCLASS64/EM_X86_64 (what GRUB
// also loads). Each PT_LOAD program header is loaded at p_paddr: p_filesz
// bytes from the file, then zeroes up to p_memsz. The entry point is e_entry;
// as QEMU does, when it lies in the virtual range of an executable segment
// whose p_vaddr differs from p_paddr, it is translated to the physical
// address. With bit 16, the a.out kludge fields are used instead, whatever
// the file format (spec 3.1.3).
//
// Every offset and size from the file is checked against the file's size
// and for overflow before use; a malformed image is an Error naming the
// field, the segment and the range at fault.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "host/boot/elf_image.hpp"
#include "host/common/result.hpp"
#include "host/memory/guest_memory.hpp"

namespace dvmm::boot {

inline constexpr uint32_t kMultibootHeaderMagic = 0x1BADB002;
// The value the kernel finds in EAX at entry.
inline constexpr uint32_t kMultibootBootloaderMagic = 0x2BADB002;
// The header lies entirely within this many bytes from the start of the file.
inline constexpr uint64_t kMultibootSearchLimit = 8192;

// Header flags (spec 3.1.2).
inline constexpr uint32_t kMbHeaderPageAlignModules = 1u << 0;
inline constexpr uint32_t kMbHeaderMemoryInfo = 1u << 1;
inline constexpr uint32_t kMbHeaderVideoMode = 1u << 2;
inline constexpr uint32_t kMbHeaderAoutKludge = 1u << 16;
// Required bits dvmm honours (or, for bit 2, deliberately ignores).
inline constexpr uint32_t kMbHeaderSupportedRequired =
    kMbHeaderPageAlignModules | kMbHeaderMemoryInfo | kMbHeaderVideoMode;
inline constexpr uint32_t kMbHeaderRequiredMask = 0x0000FFFF;

#pragma pack(push, 1)
struct MultibootHeader {
  uint32_t magic;
  uint32_t flags;
  uint32_t checksum;
  // flags bit 16
  uint32_t header_addr;
  uint32_t load_addr;
  uint32_t load_end_addr;
  uint32_t bss_end_addr;
  uint32_t entry_addr;
  // flags bit 2
  uint32_t mode_type;
  uint32_t width;
  uint32_t height;
  uint32_t depth;
};
#pragma pack(pop)
static_assert(sizeof(MultibootHeader) == 48);
inline constexpr uint64_t kMultibootHeaderBaseSize = 12;
inline constexpr uint64_t kMultibootHeaderAoutSize = 32;

enum class KernelFormat { kElf32, kElf64, kAoutKludge };

// A parsed, validated multiboot image: what to load where, and the entry.
struct MultibootImage {
  KernelFormat format = KernelFormat::kElf32;
  uint64_t header_offset = 0;  // file offset of the multiboot header
  uint32_t header_flags = 0;
  std::vector<LoadSegment> segments;  // at least one, sorted by paddr, disjoint
  uint32_t entry = 0;                 // physical; inside a segment's file-backed bytes
  uint64_t load_start = 0;            // lowest paddr of any segment
  uint64_t load_end = 0;              // end of the highest segment (incl. bss): "kernel end"
};

// Finds the multiboot header and validates the image's structure (header,
// ELF headers or a.out kludge fields, segment bounds within the file, entry
// point). Does not depend on the guest: see check_multiboot_placement.
Result<MultibootImage> parse_multiboot_image(std::span<const uint8_t> image);

// Checks every segment against the guest layout (layout.hpp): at or above
// 1 MiB, clear of the multiboot information area and the firmware tables,
// and inside guest RAM of ram_size bytes.
Status check_multiboot_placement(const MultibootImage& parsed, uint64_t ram_size);

// Checks placement, then copies each segment of image (the same bytes that
// were parsed) into guest memory and zeroes its bss.
Status load_multiboot_image(GuestMemory& mem, std::span<const uint8_t> image,
                            const MultibootImage& parsed);

}  // namespace dvmm::boot
