#include "host/boot/image_bytes.hpp"
#include "host/boot/multiboot_image.hpp"

#include <elf.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <tuple>

#include "host/boot/layout.hpp"

namespace dvmm::boot {
namespace {



// Scans the first 8192 bytes for a 4-byte-aligned header with a valid
// checksum. A magic with a bad checksum is remembered so that the error can
// say so instead of "no header".
Result<MultibootHeader> find_header(std::span<const uint8_t> image, uint64_t& header_offset) {
  const uint64_t size = image.size();
  if (size < kMultibootHeaderBaseSize) {
    return Error::format(
        "kernel image is {} bytes, too small to hold a multiboot header ({} bytes)", size,
        kMultibootHeaderBaseSize);
  }
  const uint64_t limit = std::min(size, kMultibootSearchLimit);
  std::optional<uint64_t> bad_checksum_at;
  uint32_t bad_sum = 0;
  for (uint64_t off = 0; off + kMultibootHeaderBaseSize <= limit; off += 4) {
    if (read_at<uint32_t>(image, off) != kMultibootHeaderMagic) continue;
    uint32_t flags = read_at<uint32_t>(image, off + 4);
    uint32_t checksum = read_at<uint32_t>(image, off + 8);
    uint32_t sum = kMultibootHeaderMagic + flags + checksum;
    if (sum != 0) {
      if (!bad_checksum_at) {
        bad_checksum_at = off;
        bad_sum = sum;
      }
      continue;
    }
    MultibootHeader header{};
    std::memcpy(&header, image.data() + off, kMultibootHeaderBaseSize);
    if ((flags & kMbHeaderAoutKludge) != 0) {
      if (off + kMultibootHeaderAoutSize > limit) {
        return Error::format(
            "multiboot header at offset {:#x} sets flags bit 16 (a.out kludge) but its address "
            "fields [{:#x}, {:#x}) extend past {}",
            off, off, off + kMultibootHeaderAoutSize,
            size < kMultibootSearchLimit ? fmt::format("the end of the {}-byte image", size)
                                         : std::string("the first 8192 bytes"));
      }
      std::memcpy(&header, image.data() + off, kMultibootHeaderAoutSize);
    }
    header_offset = off;
    return header;
  }
  if (bad_checksum_at) {
    return Error::format(
        "multiboot header at offset {:#x} has a bad checksum: magic + flags + checksum = {:#x}, "
        "must be 0",
        *bad_checksum_at, bad_sum);
  }
  return Error::format(
      "no multiboot header: magic {:#x} not found 4-byte aligned in the first {} bytes of the "
      "{}-byte image; is this a multiboot (v1) kernel?",
      kMultibootHeaderMagic, limit, size);
}

Status check_header_flags(uint32_t flags, uint64_t header_offset) {
  uint32_t unsupported = flags & kMbHeaderRequiredMask & ~kMbHeaderSupportedRequired;
  if (unsupported != 0) {
    return Error::format(
        "multiboot header at offset {:#x} requires features dvmm cannot provide: flags {:#x} "
        "(unsupported required bits {:#x}; dvmm honours bits 0-2 only)",
        header_offset, flags, unsupported);
  }
  return {};
}

// The a.out kludge (spec 3.1.3): the file from offset
// header_offset - (header_addr - load_addr) is loaded at load_addr.
Result<MultibootImage> parse_aout_kludge(std::span<const uint8_t> image, const MultibootHeader& h,
                                         uint64_t header_offset) {
  const uint64_t size = image.size();
  if (h.load_addr > h.header_addr) {
    return Error::format(
        "a.out kludge: load_addr {:#x} is above header_addr {:#x} (the header must lie in the "
        "loaded text)",
        h.load_addr, h.header_addr);
  }
  uint64_t delta = uint64_t{h.header_addr} - h.load_addr;
  if (delta > header_offset) {
    return Error::format(
        "a.out kludge: header_addr - load_addr = {:#x} exceeds the header's file offset {:#x}, "
        "so loading would start before the beginning of the file",
        delta, header_offset);
  }
  LoadSegment seg;
  seg.file_offset = header_offset - delta;
  seg.paddr = h.load_addr;
  if (h.load_end_addr == 0) {
    seg.file_size = size - seg.file_offset;
  } else {
    if (h.load_end_addr < h.load_addr) {
      return Error::format("a.out kludge: load_end_addr {:#x} is below load_addr {:#x}",
                           h.load_end_addr, h.load_addr);
    }
    seg.file_size = uint64_t{h.load_end_addr} - h.load_addr;
    if (!in_file(size, seg.file_offset, seg.file_size)) {
      return Error::format(
          "a.out kludge: load range [{:#x}, {:#x}) needs file bytes [{:#x}, {:#x}) but the image "
          "is only {} bytes",
          h.load_addr, h.load_end_addr, seg.file_offset, seg.file_offset + seg.file_size, size);
    }
  }
  uint64_t load_end = seg.paddr + seg.file_size;
  uint64_t mem_end = load_end;
  if (h.bss_end_addr != 0) {
    if (h.bss_end_addr < load_end) {
      return Error::format(
          "a.out kludge: bss_end_addr {:#x} is below the end of the loaded data {:#x}",
          h.bss_end_addr, load_end);
    }
    mem_end = h.bss_end_addr;
  }
  seg.mem_size = mem_end - seg.paddr;
  if (seg.mem_size == 0) {
    return Error::format(
        "a.out kludge: no loadable segment (load_addr {:#x}, load_end_addr {:#x}, bss_end_addr "
        "{:#x} load nothing)",
        h.load_addr, h.load_end_addr, h.bss_end_addr);
  }
  if (h.entry_addr < seg.paddr || h.entry_addr >= load_end) {
    return Error::format(
        "a.out kludge: entry point entry_addr {:#x} is outside the loaded image [{:#x}, {:#x})",
        h.entry_addr, seg.paddr, load_end);
  }
  MultibootImage out;
  out.format = KernelFormat::kAoutKludge;
  out.entry = h.entry_addr;
  out.segments.push_back(seg);
  return out;
}

// An ELF kernel: any x86 executable the ELF layer accepts, entered at
// e_entry (translated to its physical address as QEMU does).
Result<MultibootImage> parse_elf_kernel(std::span<const uint8_t> image) {
  ElfImage elf = DVMM_TRY(parse_elf(image));
  const char* class_name = elf.is_64 ? "ELFCLASS64" : "ELFCLASS32";
  const uint16_t machine = elf.is_64 ? EM_X86_64 : EM_386;
  if (elf.machine != machine) {
    return Error::format(
        "ELF machine {} is not x86: a {} multiboot kernel must be {} ({}); x86-64 kernels must "
        "be ELFCLASS64/EM_X86_64, 32-bit ones ELFCLASS32/EM_386",
        elf.machine, class_name, elf.is_64 ? "EM_X86_64" : "EM_386", machine);
  }
  if (elf.type != ET_EXEC) {
    return Error::format(
        "ELF type {} is not an executable (ET_EXEC = {}); link the kernel "
        "statically at a fixed address",
        elf.type, ET_EXEC);
  }
  MultibootImage out;
  out.format = elf.is_64 ? KernelFormat::kElf64 : KernelFormat::kElf32;
  uint64_t entry = elf.entry;
  // QEMU's rule: e_entry is virtual; translate it when it falls in an
  // executable segment linked at a different physical address.
  for (const LoadSegment& s : elf.segments) {
    if (s.executable && s.vaddr != s.paddr && elf.entry >= s.vaddr &&
        elf.entry - s.vaddr < s.file_size) {
      entry = elf.entry - s.vaddr + s.paddr;
      break;
    }
  }
  bool entry_inside = false;
  for (const LoadSegment& s : elf.segments) {
    if (entry >= s.paddr && entry - s.paddr < s.file_size) entry_inside = true;
  }
  if (!entry_inside) {
    return Error::format(
        "ELF entry point {:#x} (e_entry {:#x}) is outside the file-backed bytes of every loaded "
        "segment",
        entry, elf.entry);
  }
  if (entry > std::numeric_limits<uint32_t>::max()) {
    return Error::format("ELF entry point {:#x} is above 4 GiB; multiboot enters in 32-bit mode",
                         entry);
  }
  out.entry = static_cast<uint32_t>(entry);
  out.segments = std::move(elf.segments);
  return out;
}

}  // namespace

Result<MultibootImage> parse_multiboot_image(std::span<const uint8_t> image) {
  uint64_t header_offset = 0;
  MultibootHeader header = DVMM_TRY(find_header(image, header_offset));
  DVMM_TRY(check_header_flags(header.flags, header_offset));

  MultibootImage out;
  if ((header.flags & kMbHeaderAoutKludge) != 0) {
    out = DVMM_TRY(parse_aout_kludge(image, header, header_offset));
  } else {
    if (!is_elf(image)) {
      return Error::format(
          "kernel image is not ELF and its multiboot header (offset {:#x}, flags {:#x}) does not "
          "set flags bit 16 (a.out kludge) to give load addresses",
          header_offset, header.flags);
    }
    out = DVMM_TRY(parse_elf_kernel(image));
  }
  out.header_offset = header_offset;
  out.header_flags = header.flags;

  std::tie(out.load_start, out.load_end) = DVMM_TRY(sort_segments(out.segments));
  return out;
}

Status check_multiboot_placement(const MultibootImage& parsed, uint64_t ram_size) {
  for (const LoadSegment& seg : parsed.segments) {
    if (kFirmwareTables.overlaps(seg.paddr, seg.mem_size)) {
      return Error::format(
          "{} overlaps the firmware tables at [{:#x}, {:#x}); link the kernel at "
          "or above 1 MiB",
          describe_segment(seg), kFirmwareTables.start, kFirmwareTables.end);
    }
    if (kMultibootInfo.overlaps(seg.paddr, seg.mem_size)) {
      return Error::format(
          "{} overlaps the multiboot information area at [{:#x}, {:#x}); link the kernel at or "
          "above 1 MiB",
          describe_segment(seg), kMultibootInfo.start, kMultibootInfo.end);
    }
    if (seg.paddr < kKernelMinAddress) {
      return Error::format("{} starts below 1 MiB ({:#x}); link the kernel at or above 1 MiB",
                           describe_segment(seg), kKernelMinAddress);
    }
    if (seg.paddr > ram_size || seg.mem_size > ram_size - seg.paddr) {
      return Error::format(
          "{} ends past the end of guest RAM ({:#x} bytes); give the guest more memory",
          describe_segment(seg), ram_size);
    }
  }
  return {};
}

Status load_multiboot_image(GuestMemory& mem, std::span<const uint8_t> image,
                            const MultibootImage& parsed) {
  DVMM_TRY(check_multiboot_placement(parsed, mem.size()));
  return load_segments(mem, image, parsed.segments);
}

}  // namespace dvmm::boot
