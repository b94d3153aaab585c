// ELF executables as boot loaders see them: the program headers that say
// what to load where (PT_LOAD) and the notes a kernel uses to tell its
// loader how to enter it (PT_NOTE). Shared by the multiboot loader (ELF32
// and ELF64 kernels) and the Linux PVH loader (the uncompressed vmlinux).
//
// Every offset and size read from the file is checked against the file's
// size and for overflow before use; a malformed image is an Error naming the
// header and the range at fault. Nothing here depends on the guest.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "host/common/result.hpp"
#include "host/memory/guest_memory.hpp"

namespace dvmm::boot {

// One range of the image copied into guest memory: file_size bytes from
// file_offset to paddr, then zeroes up to mem_size (>= file_size, > 0).
struct LoadSegment {
  uint64_t file_offset = 0;
  uint64_t file_size = 0;
  uint64_t paddr = 0;
  uint64_t mem_size = 0;
  int phdr_index = -1;  // ELF program header index; -1 for the a.out kludge
  uint64_t vaddr = 0;
  bool executable = false;
};

// One entry of a PT_NOTE segment; desc is a range of the image.
struct ElfNote {
  std::string name;  // without the terminating NUL ("Xen", "GNU", ...)
  uint32_t type = 0;
  uint64_t desc_offset = 0;
  uint64_t desc_size = 0;
};

struct ElfImage {
  bool is_64 = false;          // ELFCLASS64 (else ELFCLASS32)
  uint16_t machine = 0;        // e_machine
  uint16_t type = 0;           // e_type
  uint64_t entry = 0;          // e_entry, as written (usually virtual)
  uint16_t phnum = 0;
  std::vector<LoadSegment> segments;  // PT_LOAD with p_memsz > 0, in header order
  std::vector<ElfNote> notes;         // from every PT_NOTE segment, in order
  std::string notes_error;            // the first malformed note, if any (notes after it are lost)
};

// True when the image starts with the ELF magic.
bool is_elf(std::span<const uint8_t> image);

// Parses the identification, the ELF header and every program header of a
// little-endian ELF32 or ELF64 file. Does not judge machine, type or entry:
// callers know what they can boot.
Result<ElfImage> parse_elf(std::span<const uint8_t> image);

// Sorts segments by paddr and refuses overlaps; returns [lowest paddr, end
// of the highest segment).
Result<std::pair<uint64_t, uint64_t>> sort_segments(std::vector<LoadSegment>& segments);

// Copies each segment of image into guest memory and zeroes the rest of its
// memory size. The caller has checked placement.
Status load_segments(GuestMemory& mem, std::span<const uint8_t> image,
                     std::span<const LoadSegment> segments);

// "ELF program header 3 (PT_LOAD) [0x100000, 0x200000)"; the a.out kludge
// range for phdr_index < 0.
std::string describe_segment(const LoadSegment& seg);

}  // namespace dvmm::boot
