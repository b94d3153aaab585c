#include "host/boot/image_bytes.hpp"
#include "host/boot/elf_image.hpp"

#include <elf.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace dvmm::boot {
namespace {



std::string phdr_name(int index, const char* kind) {
  return fmt::format("ELF program header {} ({})", index, kind);
}

uint64_t align4(uint64_t n) { return (n + 3) & ~uint64_t{3}; }

// Notes are (namesz, descsz, type) words, then the name and the desc, each
// padded to 4 bytes (the x86-64 kernels' notes use 4-byte alignment too).
Status parse_notes(std::span<const uint8_t> image, uint64_t offset, uint64_t size, int index,
                   std::vector<ElfNote>& out) {
  uint64_t at = offset;
  const uint64_t end = offset + size;
  while (end - at >= 12) {
    const uint32_t namesz = read_at<uint32_t>(image, at);
    const uint32_t descsz = read_at<uint32_t>(image, at + 4);
    const uint32_t type = read_at<uint32_t>(image, at + 8);
    const uint64_t name_at = at + 12;
    const uint64_t desc_at = name_at + align4(namesz);
    const uint64_t next = desc_at + align4(descsz);
    if (align4(namesz) > end - name_at || next > end || next < desc_at) {
      return Error::format(
          "{}: the note at file offset {:#x} (namesz {}, descsz {}) runs past the end of its "
          "segment at {:#x}",
          phdr_name(index, "PT_NOTE"), at, namesz, descsz, end);
    }
    ElfNote note;
    size_t name_len = namesz;
    while (name_len > 0 && image[name_at + name_len - 1] == 0) --name_len;
    note.name.assign(reinterpret_cast<const char*>(image.data() + name_at), name_len);
    note.type = type;
    note.desc_offset = desc_at;
    note.desc_size = descsz;
    out.push_back(std::move(note));
    at = next;
  }
  return {};
}

template <typename Ehdr, typename Phdr>
Result<ElfImage> parse_class(std::span<const uint8_t> image, const char* class_name) {
  const uint64_t size = image.size();
  if (size < sizeof(Ehdr)) {
    return Error::format("ELF image is {} bytes, too small for its {} ELF header ({} bytes)", size,
                         class_name, sizeof(Ehdr));
  }
  const auto eh = read_at<Ehdr>(image, 0);
  ElfImage out;
  out.is_64 = sizeof(Ehdr) == sizeof(Elf64_Ehdr);
  out.machine = eh.e_machine;
  out.type = eh.e_type;
  out.entry = eh.e_entry;
  out.phnum = eh.e_phnum;
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
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    const auto ph = read_at<Phdr>(image, phoff + uint64_t{i} * sizeof(Phdr));
    const uint64_t offset = ph.p_offset, filesz = ph.p_filesz, memsz = ph.p_memsz;
    if (ph.p_type == PT_NOTE) {
      if (!in_file(size, offset, filesz)) {
        if (out.notes_error.empty()) {
          out.notes_error = fmt::format(
              "{}: file range [{:#x}, {:#x}) extends past the end of the {}-byte image",
              phdr_name(i, "PT_NOTE"), offset, offset + filesz, size);
        }
        continue;
      }
      // Only some loaders read notes: a bad one is remembered for them,
      // not an error for the image.
      if (Status s = parse_notes(image, offset, filesz, i, out.notes); !s && out.notes_error.empty()) {
        out.notes_error = s.error().message;
      }
      continue;
    }
    if (ph.p_type != PT_LOAD) continue;
    const uint64_t paddr = ph.p_paddr;
    if (filesz > memsz) {
      return Error::format("{}: p_filesz {:#x} > p_memsz {:#x}", phdr_name(i, "PT_LOAD"), filesz,
                           memsz);
    }
    if (offset > std::numeric_limits<uint64_t>::max() - filesz) {
      return Error::format("{}: p_offset {:#x} + p_filesz {:#x} overflows",
                           phdr_name(i, "PT_LOAD"), offset, filesz);
    }
    if (!in_file(size, offset, filesz)) {
      return Error::format(
          "{}: file range [{:#x}, {:#x}) (p_offset, p_filesz) "
          "extends past the end of the {}-byte image",
          phdr_name(i, "PT_LOAD"), offset, offset + filesz, size);
    }
    if (paddr > std::numeric_limits<uint64_t>::max() - memsz) {
      return Error::format("{}: p_paddr {:#x} + p_memsz {:#x} overflows", phdr_name(i, "PT_LOAD"),
                           paddr, memsz);
    }
    if (memsz == 0) continue;
    out.segments.push_back(LoadSegment{offset, filesz, paddr, memsz, i,
                                       static_cast<uint64_t>(ph.p_vaddr),
                                       (ph.p_flags & PF_X) != 0});
  }
  if (out.segments.empty()) {
    return Error::format(
        "ELF image has no loadable segment: none of its {} program headers is a PT_LOAD with "
        "p_memsz > 0",
        eh.e_phnum);
  }
  return out;
}

}  // namespace

bool is_elf(std::span<const uint8_t> image) {
  return image.size() >= SELFMAG && std::memcmp(image.data(), ELFMAG, SELFMAG) == 0;
}

Result<ElfImage> parse_elf(std::span<const uint8_t> image) {
  if (image.size() < EI_NIDENT || !is_elf(image)) {
    return Error::format("not an ELF file (no \\x7fELF magic in the first bytes)");
  }
  if (image[EI_DATA] != ELFDATA2LSB) {
    return Error::format("ELF data encoding {} is not little-endian (ELFDATA2LSB); not an x86 image",
                         image[EI_DATA]);
  }
  if (image[EI_VERSION] != EV_CURRENT) {
    return Error::format("ELF identification version {} is not EV_CURRENT (1)", image[EI_VERSION]);
  }
  switch (image[EI_CLASS]) {
    case ELFCLASS32:
      return parse_class<Elf32_Ehdr, Elf32_Phdr>(image, "ELFCLASS32");
    case ELFCLASS64:
      return parse_class<Elf64_Ehdr, Elf64_Phdr>(image, "ELFCLASS64");
    default:
      return Error::format("ELF class {} is neither ELFCLASS32 (1) nor ELFCLASS64 (2)",
                           image[EI_CLASS]);
  }
}

std::string describe_segment(const LoadSegment& seg) {
  std::string what = seg.phdr_index < 0 ? std::string("a.out kludge load range")
                                        : phdr_name(seg.phdr_index, "PT_LOAD");
  return fmt::format("{} [{:#x}, {:#x})", what, seg.paddr, seg.paddr + seg.mem_size);
}

Result<std::pair<uint64_t, uint64_t>> sort_segments(std::vector<LoadSegment>& segments) {
  std::sort(segments.begin(), segments.end(),
            [](const LoadSegment& a, const LoadSegment& b) { return a.paddr < b.paddr; });
  for (size_t i = 1; i < segments.size(); ++i) {
    const LoadSegment& prev = segments[i - 1];
    const LoadSegment& cur = segments[i];
    if (cur.paddr < prev.paddr + prev.mem_size) {
      return Error::format("{} overlaps {}", describe_segment(cur), describe_segment(prev));
    }
  }
  return std::pair{segments.front().paddr, segments.back().paddr + segments.back().mem_size};
}

Status load_segments(GuestMemory& mem, std::span<const uint8_t> image,
                     std::span<const LoadSegment> segments) {
  static constexpr std::array<uint8_t, 4096> kZeroes{};
  for (const LoadSegment& seg : segments) {
    if (!in_file(image.size(), seg.file_offset, seg.file_size)) {
      return Error::format(
          "{}: file range [{:#x}, {:#x}) is outside the {}-byte image; was a "
          "different image parsed?",
          describe_segment(seg), seg.file_offset, seg.file_offset + seg.file_size, image.size());
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
