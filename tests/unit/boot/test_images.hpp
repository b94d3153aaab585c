// Builders for small multiboot kernel images (ELF32, ELF64, a.out kludge)
// and helpers shared by the boot tests. Malformed images are made by
// building a valid one and patching one field (see multiboot_image_test.cpp).
#pragma once

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "host/boot/multiboot_image.hpp"
#include "host/memory/guest_memory.hpp"
#include "host/memory/guest_ram.hpp"

namespace dvmm::boot::test {

// Fields of packed structures may be misaligned, and gtest's macros bind
// references to their arguments: tests pass such fields through val().
template <typename T>
T val(T x) {
  return x;
}

template <typename T>
void poke(std::vector<uint8_t>& img, uint64_t offset, T value) {
  if (img.size() < offset + sizeof(T)) img.resize(offset + sizeof(T));
  std::memcpy(img.data() + offset, &value, sizeof(T));
}

template <typename T>
T peek(const std::vector<uint8_t>& img, uint64_t offset) {
  T value;
  std::memcpy(&value, img.data() + offset, sizeof(T));
  return value;
}

// A byte pattern that differs per segment and per offset.
inline std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return v;
}

inline uint32_t header_checksum(uint32_t flags) {
  return 0u - (kMultibootHeaderMagic + flags);
}

// Writes a multiboot header (magic, flags, checksum) at offset.
inline void put_multiboot_header(std::vector<uint8_t>& img, uint64_t offset, uint32_t flags) {
  poke<uint32_t>(img, offset, kMultibootHeaderMagic);
  poke<uint32_t>(img, offset + 4, flags);
  poke<uint32_t>(img, offset + 8, header_checksum(flags));
}

struct TestSegment {
  uint64_t paddr = 0;
  uint64_t vaddr = 0;  // 0: same as paddr
  std::vector<uint8_t> data;
  uint64_t memsz = 0;  // 0: data.size()
  uint32_t type = PT_LOAD;
  uint32_t flags = PF_R | PF_X;
};

struct ElfSpec {
  bool elf64 = false;
  uint64_t entry = 0;
  std::vector<TestSegment> segments;
  uint32_t mb_flags = 0;
  bool multiboot_header = true;
};

// Where the builder put things, for tests that patch fields.
struct BuiltElf {
  std::vector<uint8_t> bytes;
  uint64_t phoff = 0;
  uint64_t phentsize = 0;
  uint64_t header_offset = 0;
  std::vector<uint64_t> segment_offsets;

  // File offset of field `member_offset` in program header i.
  uint64_t phdr_field(size_t i, uint64_t member_offset) const {
    return phoff + i * phentsize + member_offset;
  }
};

inline constexpr uint64_t kTestHeaderOffset = 0x200;
inline constexpr uint64_t kTestDataOffset = 0x1000;

template <typename Ehdr, typename Phdr>
BuiltElf build_elf_impl(const ElfSpec& spec, uint8_t elf_class, uint16_t machine) {
  BuiltElf out;
  out.phoff = sizeof(Ehdr);
  out.phentsize = sizeof(Phdr);
  out.header_offset = kTestHeaderOffset;
  std::vector<uint8_t>& img = out.bytes;
  img.resize(kTestDataOffset, 0);

  Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = elf_class;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = machine;
  eh.e_version = EV_CURRENT;
  eh.e_entry = static_cast<decltype(eh.e_entry)>(spec.entry);
  eh.e_phoff = static_cast<decltype(eh.e_phoff)>(out.phoff);
  eh.e_ehsize = sizeof(Ehdr);
  eh.e_phentsize = sizeof(Phdr);
  eh.e_phnum = static_cast<uint16_t>(spec.segments.size());
  std::memcpy(img.data(), &eh, sizeof(eh));

  uint64_t data_off = kTestDataOffset;
  for (size_t i = 0; i < spec.segments.size(); ++i) {
    const TestSegment& s = spec.segments[i];
    Phdr ph{};
    ph.p_type = s.type;
    ph.p_flags = s.flags;
    ph.p_offset = static_cast<decltype(ph.p_offset)>(data_off);
    ph.p_vaddr = static_cast<decltype(ph.p_vaddr)>(s.vaddr != 0 ? s.vaddr : s.paddr);
    ph.p_paddr = static_cast<decltype(ph.p_paddr)>(s.paddr);
    ph.p_filesz = static_cast<decltype(ph.p_filesz)>(s.data.size());
    ph.p_memsz = static_cast<decltype(ph.p_memsz)>(s.memsz != 0 ? s.memsz : s.data.size());
    ph.p_align = 0x1000;
    std::memcpy(img.data() + out.phoff + i * sizeof(Phdr), &ph, sizeof(ph));
    out.segment_offsets.push_back(data_off);
    img.resize(data_off + s.data.size());
    if (!s.data.empty()) std::memcpy(img.data() + data_off, s.data.data(), s.data.size());
    data_off = (data_off + s.data.size() + 0xFFF) & ~uint64_t{0xFFF};
  }
  if (spec.multiboot_header) put_multiboot_header(img, kTestHeaderOffset, spec.mb_flags);
  return out;
}

inline BuiltElf build_elf(const ElfSpec& spec) {
  if (spec.elf64) return build_elf_impl<Elf64_Ehdr, Elf64_Phdr>(spec, ELFCLASS64, EM_X86_64);
  return build_elf_impl<Elf32_Ehdr, Elf32_Phdr>(spec, ELFCLASS32, EM_386);
}

// The usual test kernel: text at 1 MiB (0x180 bytes, entry at +0x40) and
// data at 1 MiB + 8 KiB with 0x80 bytes of data and a 4 KiB bss.
inline constexpr uint64_t kTextAddr = 0x100000;
inline constexpr uint64_t kDataAddr = 0x102000;
inline constexpr uint64_t kDataMemsz = 0x1000;
inline ElfSpec standard_kernel(bool elf64) {
  ElfSpec spec;
  spec.elf64 = elf64;
  spec.entry = kTextAddr + 0x40;
  spec.segments.push_back(TestSegment{kTextAddr, 0, pattern(0x180, 0x11), 0, PT_LOAD, PF_R | PF_X});
  spec.segments.push_back(
      TestSegment{kDataAddr, 0, pattern(0x80, 0x55), kDataMemsz, PT_LOAD, PF_R | PF_W});
  return spec;
}

struct AoutSpec {
  uint64_t header_offset = 0x40;
  uint32_t header_addr = 0x100040;
  uint32_t load_addr = 0x100000;
  uint32_t load_end_addr = 0x100200;
  uint32_t bss_end_addr = 0x101000;
  uint32_t entry_addr = 0x100080;
  uint64_t file_size = 0x300;
  uint32_t extra_flags = 0;
};

// A raw (non-ELF) image whose multiboot header uses the a.out kludge.
inline std::vector<uint8_t> build_aout(const AoutSpec& s) {
  std::vector<uint8_t> img = pattern(s.file_size, 0x77);
  const uint32_t flags = kMbHeaderAoutKludge | s.extra_flags;
  put_multiboot_header(img, s.header_offset, flags);
  poke<uint32_t>(img, s.header_offset + 12, s.header_addr);
  poke<uint32_t>(img, s.header_offset + 16, s.load_addr);
  poke<uint32_t>(img, s.header_offset + 20, s.load_end_addr);
  poke<uint32_t>(img, s.header_offset + 24, s.bss_end_addr);
  poke<uint32_t>(img, s.header_offset + 28, s.entry_addr);
  return img;
}

// A bzImage for Linux's 64-bit boot protocol (linux_boot_params.hpp): the
// real-mode part (setup_sects + 1 sectors, a pattern with the setup header
// at 0x1F1 ending at header_end), then protected_mode bytes of pattern.
// Header bytes no field below sets keep the pattern, so a test can check
// that the loader copies the header byte for byte.
struct BzImage64Spec {
  uint8_t setup_sects = 3;
  uint16_t version = 0x020F;
  uint8_t jump_offset = 0x6A;  // header ends at 0x202 + 0x6A = 0x26C, as Linux 6.1's
  uint8_t loadflags = 0x01 | 0x20 | 0x40 | 0x80;  // LOADED_HIGH, QUIET, KEEP_SEGMENTS, CAN_USE_HEAP
  uint16_t xloadflags = 0x3;                       // XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
  uint8_t relocatable = 1;
  uint32_t kernel_alignment = 0x200000;
  uint32_t initrd_addr_max = 0x7FFFFFFF;
  uint32_t cmdline_size = 0x7FF;
  uint64_t pref_address = 0x1000000;
  uint32_t init_size = 0x800000;
  uint64_t protected_mode = 0x3000;
};

inline std::vector<uint8_t> build_bzimage64(const BzImage64Spec& s) {
  const uint64_t setup = (uint64_t{s.setup_sects == 0 ? 4u : s.setup_sects} + 1) * 512;
  std::vector<uint8_t> img = pattern(setup, 0x21);
  img[0x1F1] = s.setup_sects;
  poke<uint16_t>(img, 0x1FE, 0xAA55);
  img[0x200] = 0xEB;  // jmp short past the header
  img[0x201] = s.jump_offset;
  std::memcpy(img.data() + 0x202, "HdrS", 4);
  poke<uint16_t>(img, 0x206, s.version);
  img[0x210] = 0;  // type_of_loader: the loader's to set
  img[0x211] = s.loadflags;
  poke<uint32_t>(img, 0x214, 0x100000);  // code32_start as built
  poke<uint32_t>(img, 0x218, 0);         // ramdisk_image, ramdisk_size
  poke<uint32_t>(img, 0x21C, 0);
  poke<uint32_t>(img, 0x228, 0);  // cmd_line_ptr
  poke<uint32_t>(img, 0x22C, s.initrd_addr_max);
  poke<uint32_t>(img, 0x230, s.kernel_alignment);
  img[0x234] = s.relocatable;
  img[0x235] = 21;  // min_alignment
  poke<uint16_t>(img, 0x236, s.xloadflags);
  poke<uint32_t>(img, 0x238, s.cmdline_size);
  poke<uint64_t>(img, 0x258, s.pref_address);
  poke<uint32_t>(img, 0x260, s.init_size);
  const std::vector<uint8_t> pm = pattern(s.protected_mode, 0x64);
  img.resize(setup + pm.size());
  if (!pm.empty()) std::memcpy(img.data() + setup, pm.data(), pm.size());
  return img;
}

inline GuestRam make_ram(uint64_t size) {
  auto r = GuestRam::create(size);
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

inline std::vector<uint8_t> read_bytes(const GuestMemory& mem, uint64_t gpa, uint64_t n) {
  std::vector<uint8_t> v(n);
  if (n == 0) return v;  // GuestRam would memcpy from a null span
  if (!mem.read(GuestAddress{gpa}, v).ok()) std::abort();
  return v;
}

inline std::string read_cstring(const GuestMemory& mem, uint64_t gpa) {
  std::string s;
  for (uint64_t a = gpa; a < mem.size(); ++a) {
    uint8_t c = 0;
    if (!mem.read(GuestAddress{a}, std::span<uint8_t>(&c, 1)).ok() || c == 0) break;
    s.push_back(static_cast<char>(c));
  }
  return s;
}

inline void fill(GuestMemory& mem, uint64_t gpa, uint64_t n, uint8_t value) {
  std::vector<uint8_t> v(n, value);
  if (!mem.write(GuestAddress{gpa}, v).ok()) std::abort();
}

// GuestMemory that forwards to another and records every write range, so
// tests can check that boot code writes only where the layout allows.
class RecordingMemory final : public GuestMemory {
 public:
  explicit RecordingMemory(GuestMemory& inner) : inner_(inner) {}
  uint64_t size() const override { return inner_.size(); }
  Status read(GuestAddress gpa, std::span<uint8_t> out) const override {
    return inner_.read(gpa, out);
  }
  Status write(GuestAddress gpa, std::span<const uint8_t> in) override {
    writes.emplace_back(gpa.raw, gpa.raw + in.size());
    return inner_.write(gpa, in);
  }
  std::vector<std::pair<uint64_t, uint64_t>> writes;

 private:
  GuestMemory& inner_;
};

}  // namespace dvmm::boot::test
