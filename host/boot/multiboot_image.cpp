#include "host/boot/multiboot_image.hpp"

#include <elf.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <string>

#include "host/boot/layout.hpp"

namespace dvmm::boot {
namespace {

// True when [offset, offset + len) lies inside a file of `size` bytes,
// without overflowing.
bool in_file(uint64_t size, uint64_t offset, uint64_t len) {
  return offset <= size && len <= size - offset;
}

// Copies a T out of the image at offset; the caller has checked in_file.
template <typename T>
T read_at(std::span<const uint8_t> image, uint64_t offset) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value;
  std::memcpy(&value, image.data() + offset, sizeof(T));
  return value;
}

std::string phdr_name(int index) {
  return fmt::format("ELF program header {} (PT_LOAD)", index);
}

std::string describe(const LoadSegment& seg) {
  if (seg.phdr_index < 0) return "a.out kludge load range";
  return phdr_name(seg.phdr_index);
}

std::string describe_range(const LoadSegment& seg) {
  return fmt::format("{} [{:#x}, {:#x})", describe(seg), seg.paddr, seg.paddr + seg.mem_size);
}

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

template <typename Ehdr, typename Phdr>
Result<MultibootImage> parse_elf(std::span<const uint8_t> image, KernelFormat format,
                                 uint16_t machine, const char* class_name,
                                 const char* machine_name) {
  const uint64_t size = image.size();
  if (size < sizeof(Ehdr)) {
    return Error::format("ELF image is {} bytes, too small for its {} ELF header ({} bytes)", size,
                         class_name, sizeof(Ehdr));
  }
  const auto eh = read_at<Ehdr>(image, 0);
  if (eh.e_machine != machine) {
    return Error::format(
        "ELF machine {} is not x86: a {} multiboot kernel must be {} ({}); x86-64 kernels must "
        "be ELFCLASS64/EM_X86_64, 32-bit ones ELFCLASS32/EM_386",
        eh.e_machine, class_name, machine_name, machine);
  }
  if (eh.e_type != ET_EXEC) {
    return Error::format(
        "ELF type {} is not an executable (ET_EXEC = {}); link the kernel "
        "statically at a fixed address",
        eh.e_type, ET_EXEC);
  }
  if (eh.e_phnum == 0) {
    return Error::format("ELF image has no program headers (e_phnum = 0): no loadable segment");
  }
  if (eh.e_phentsize != sizeof(Phdr)) {
    return Error::format("ELF program header size e_phentsize = {}, expected {} for {}",
                         eh.e_phentsize, sizeof(Phdr), class_name);
  }
  const uint64_t phoff = eh.e_phoff;
  const uint64_t phsize = uint64_t{eh.e_phnum} * sizeof(Phdr);
  if (phoff >= size) {
    return Error::format(
        "ELF program header offset e_phoff {:#x} is past the end of the {}-byte image", phoff,
        size);
  }
  if (!in_file(size, phoff, phsize)) {
    return Error::format(
        "ELF program headers truncated: {} headers of {} bytes at e_phoff {:#x} end at {:#x}, "
        "past the end of the {}-byte image",
        eh.e_phnum, sizeof(Phdr), phoff, phoff + phsize, size);
  }

  MultibootImage out;
  out.format = format;
  uint64_t entry = eh.e_entry;
  bool entry_translated = false;
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    const auto ph = read_at<Phdr>(image, phoff + uint64_t{i} * sizeof(Phdr));
    if (ph.p_type != PT_LOAD) continue;
    const uint64_t offset = ph.p_offset, filesz = ph.p_filesz, memsz = ph.p_memsz;
    const uint64_t paddr = ph.p_paddr, vaddr = ph.p_vaddr;
    if (filesz > memsz) {
      return Error::format("{}: p_filesz {:#x} > p_memsz {:#x}", phdr_name(i), filesz, memsz);
    }
    if (offset > std::numeric_limits<uint64_t>::max() - filesz) {
      return Error::format("{}: p_offset {:#x} + p_filesz {:#x} overflows", phdr_name(i), offset,
                           filesz);
    }
    if (!in_file(size, offset, filesz)) {
      return Error::format(
          "{}: file range [{:#x}, {:#x}) (p_offset, p_filesz) "
          "extends past the end of the {}-byte image",
          phdr_name(i), offset, offset + filesz, size);
    }
    if (paddr > std::numeric_limits<uint64_t>::max() - memsz) {
      return Error::format("{}: p_paddr {:#x} + p_memsz {:#x} overflows", phdr_name(i), paddr,
                           memsz);
    }
    if (memsz == 0) continue;
    // QEMU's rule: e_entry is virtual; translate it when it falls in an
    // executable segment linked at a different physical address.
    if (!entry_translated && (ph.p_flags & PF_X) != 0 && vaddr != paddr && eh.e_entry >= vaddr &&
        eh.e_entry - vaddr < filesz) {
      entry = eh.e_entry - vaddr + paddr;
      entry_translated = true;
    }
    out.segments.push_back(LoadSegment{offset, filesz, paddr, memsz, i});
  }
  if (out.segments.empty()) {
    return Error::format(
        "ELF image has no loadable segment: none of its {} program headers is a PT_LOAD with "
        "p_memsz > 0",
        eh.e_phnum);
  }
  bool entry_inside = false;
  for (const LoadSegment& s : out.segments) {
    if (entry >= s.paddr && entry - s.paddr < s.file_size) entry_inside = true;
  }
  if (!entry_inside) {
    return Error::format(
        "ELF entry point {:#x} (e_entry {:#x}) is outside the file-backed bytes of every loaded "
        "segment",
        entry, eh.e_entry);
  }
  if (entry > std::numeric_limits<uint32_t>::max()) {
    return Error::format("ELF entry point {:#x} is above 4 GiB; multiboot enters in 32-bit mode",
                         entry);
  }
  out.entry = static_cast<uint32_t>(entry);
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
    if (image.size() < EI_NIDENT || std::memcmp(image.data(), ELFMAG, SELFMAG) != 0) {
      return Error::format(
          "kernel image is not ELF and its multiboot header (offset {:#x}, flags {:#x}) does not "
          "set flags bit 16 (a.out kludge) to give load addresses",
          header_offset, header.flags);
    }
    if (image[EI_DATA] != ELFDATA2LSB) {
      return Error::format(
          "ELF data encoding {} is not little-endian (ELFDATA2LSB); not an x86 image",
          image[EI_DATA]);
    }
    if (image[EI_VERSION] != EV_CURRENT) {
      return Error::format("ELF identification version {} is not EV_CURRENT (1)",
                           image[EI_VERSION]);
    }
    switch (image[EI_CLASS]) {
      case ELFCLASS32:
        out = DVMM_TRY((parse_elf<Elf32_Ehdr, Elf32_Phdr>(image, KernelFormat::kElf32, EM_386,
                                                          "ELFCLASS32", "EM_386")));
        break;
      case ELFCLASS64:
        out = DVMM_TRY((parse_elf<Elf64_Ehdr, Elf64_Phdr>(image, KernelFormat::kElf64, EM_X86_64,
                                                          "ELFCLASS64", "EM_X86_64")));
        break;
      default:
        return Error::format("ELF class {} is neither ELFCLASS32 (1) nor ELFCLASS64 (2)",
                             image[EI_CLASS]);
    }
  }
  out.header_offset = header_offset;
  out.header_flags = header.flags;

  std::sort(out.segments.begin(), out.segments.end(),
            [](const LoadSegment& a, const LoadSegment& b) { return a.paddr < b.paddr; });
  for (size_t i = 1; i < out.segments.size(); ++i) {
    const LoadSegment& prev = out.segments[i - 1];
    const LoadSegment& cur = out.segments[i];
    if (cur.paddr < prev.paddr + prev.mem_size) {
      return Error::format("{} overlaps {}", describe_range(cur), describe_range(prev));
    }
  }
  out.load_start = out.segments.front().paddr;
  out.load_end = out.segments.back().paddr + out.segments.back().mem_size;
  return out;
}

Status check_multiboot_placement(const MultibootImage& parsed, uint64_t ram_size) {
  for (const LoadSegment& seg : parsed.segments) {
    if (kFirmwareTables.overlaps(seg.paddr, seg.mem_size)) {
      return Error::format(
          "{} overlaps the firmware tables at [{:#x}, {:#x}); link the kernel at "
          "or above 1 MiB",
          describe_range(seg), kFirmwareTables.start, kFirmwareTables.end);
    }
    if (kMultibootInfo.overlaps(seg.paddr, seg.mem_size)) {
      return Error::format(
          "{} overlaps the multiboot information area at [{:#x}, {:#x}); link the kernel at or "
          "above 1 MiB",
          describe_range(seg), kMultibootInfo.start, kMultibootInfo.end);
    }
    if (seg.paddr < kKernelMinAddress) {
      return Error::format("{} starts below 1 MiB ({:#x}); link the kernel at or above 1 MiB",
                           describe_range(seg), kKernelMinAddress);
    }
    if (seg.paddr > ram_size || seg.mem_size > ram_size - seg.paddr) {
      return Error::format(
          "{} ends past the end of guest RAM ({:#x} bytes); give the guest more memory",
          describe_range(seg), ram_size);
    }
  }
  return {};
}

Status load_multiboot_image(GuestMemory& mem, std::span<const uint8_t> image,
                            const MultibootImage& parsed) {
  DVMM_TRY(check_multiboot_placement(parsed, mem.size()));
  static constexpr std::array<uint8_t, 4096> kZeroes{};
  for (const LoadSegment& seg : parsed.segments) {
    if (!in_file(image.size(), seg.file_offset, seg.file_size)) {
      return Error::format(
          "{}: file range [{:#x}, {:#x}) is outside the {}-byte image; was a "
          "different image parsed?",
          describe(seg), seg.file_offset, seg.file_offset + seg.file_size, image.size());
    }
    if (seg.file_size != 0) {
      DVMM_TRY(mem.write(
          GuestAddress{seg.paddr},
          image.subspan(static_cast<size_t>(seg.file_offset), static_cast<size_t>(seg.file_size))));
    }
    for (uint64_t done = seg.file_size; done < seg.mem_size;) {
      uint64_t n = std::min<uint64_t>(kZeroes.size(), seg.mem_size - done);
      DVMM_TRY(mem.write(GuestAddress{seg.paddr + done},
                         std::span<const uint8_t>(kZeroes.data(), static_cast<size_t>(n))));
      done += n;
    }
  }
  return {};
}

}  // namespace dvmm::boot
