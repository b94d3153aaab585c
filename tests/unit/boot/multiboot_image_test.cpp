// Multiboot image loading: valid ELF32, ELF64 and a.out-kludge kernels land
// where they ask with their bss zeroed, and a table of malformed images,
// each rejected before anything is written, with an error naming the fault.
#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "host/boot/layout.hpp"
#include "host/boot/multiboot.hpp"
#include "tests/unit/boot/test_images.hpp"

namespace dvmm::boot {
namespace {

using test::AoutSpec;
using test::BuiltElf;
using test::ElfSpec;
using test::kDataAddr;
using test::kDataMemsz;
using test::kTextAddr;
using test::TestSegment;

constexpr uint64_t kRam = 8 * MiB;

Result<MultibootBoot> boot(GuestMemory& mem, std::span<const uint8_t> image) {
  return load_multiboot(mem, image, "/boot/kernel", {});
}

void expect_standard_kernel_loaded(const GuestMemory& mem, const ElfSpec& spec) {
  EXPECT_EQ(test::read_bytes(mem, kTextAddr, spec.segments[0].data.size()), spec.segments[0].data);
  EXPECT_EQ(test::read_bytes(mem, kDataAddr, spec.segments[1].data.size()), spec.segments[1].data);
  // bss: memsz - filesz bytes after the data, zeroed over the 0xAA fill.
  const uint64_t bss = kDataMemsz - spec.segments[1].data.size();
  EXPECT_EQ(test::read_bytes(mem, kDataAddr + spec.segments[1].data.size(), bss),
            std::vector<uint8_t>(bss, 0));
  // The byte after the segment is not touched.
  EXPECT_EQ(test::read_bytes(mem, kDataAddr + kDataMemsz, 1)[0], 0xAA);
}

TEST(MultibootImage, LoadsElf32SegmentsAndZeroesBss) {
  GuestRam ram = test::make_ram(kRam);
  test::fill(ram, kTextAddr, 0x10000, 0xAA);
  ElfSpec spec = test::standard_kernel(false);
  BuiltElf img = test::build_elf(spec);

  auto parsed = parse_multiboot_image(img.bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->format, KernelFormat::kElf32);
  EXPECT_EQ(parsed->header_offset, test::kTestHeaderOffset);
  ASSERT_EQ(parsed->segments.size(), 2u);

  auto b = boot(ram, img.bytes);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->entry, kTextAddr + 0x40);
  EXPECT_EQ(b->kernel_end, kDataAddr + kDataMemsz);
  EXPECT_EQ(b->info_address, kMultibootInfo.start);
  expect_standard_kernel_loaded(ram, spec);
}

TEST(MultibootImage, LoadsElf64SegmentsAndZeroesBss) {
  GuestRam ram = test::make_ram(kRam);
  test::fill(ram, kTextAddr, 0x10000, 0xAA);
  ElfSpec spec = test::standard_kernel(true);
  BuiltElf img = test::build_elf(spec);
  auto b = boot(ram, img.bytes);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(parse_multiboot_image(img.bytes)->format, KernelFormat::kElf64);
  EXPECT_EQ(b->entry, kTextAddr + 0x40);
  EXPECT_EQ(b->kernel_end, kDataAddr + kDataMemsz);
  expect_standard_kernel_loaded(ram, spec);
}

TEST(MultibootImage, HigherHalfEntryIsTranslatedToPhysical) {
  // Linked at 0xFFFFFFFF80100000 virtual, loaded at 1 MiB: as QEMU does,
  // e_entry inside the executable segment becomes its physical address.
  GuestRam ram = test::make_ram(kRam);
  ElfSpec spec;
  spec.elf64 = true;
  spec.entry = 0xFFFFFFFF80100010;
  spec.segments.push_back(TestSegment{kTextAddr, 0xFFFFFFFF80100000, test::pattern(0x100, 1)});
  auto b = boot(ram, test::build_elf(spec).bytes);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->entry, kTextAddr + 0x10);

  // Same for ELF32 (a kernel linked at 0xC0100000).
  spec.elf64 = false;
  spec.entry = 0xC0100020;
  spec.segments[0].vaddr = 0xC0100000;
  b = boot(ram, test::build_elf(spec).bytes);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->entry, kTextAddr + 0x20);
}

TEST(MultibootImage, IgnoresNonLoadAndEmptySegments) {
  GuestRam ram = test::make_ram(kRam);
  ElfSpec spec = test::standard_kernel(false);
  spec.segments.push_back(TestSegment{0x10, 0, test::pattern(0x20, 9), 0, PT_NOTE, PF_R});
  spec.segments.push_back(TestSegment{0x400000, 0, {}, 0, PT_LOAD, PF_R});  // memsz 0
  auto parsed = parse_multiboot_image(test::build_elf(spec).bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->segments.size(), 2u);
  EXPECT_EQ(parsed->segments[0].phdr_index, 0);
  EXPECT_EQ(parsed->segments[1].phdr_index, 1);
  EXPECT_EQ(parsed->load_end, kDataAddr + kDataMemsz);
}

TEST(MultibootImage, VideoModeRequestIsAcceptedAndIgnored) {
  ElfSpec spec = test::standard_kernel(false);
  spec.mb_flags = kMbHeaderPageAlignModules | kMbHeaderMemoryInfo | kMbHeaderVideoMode;
  auto parsed = parse_multiboot_image(test::build_elf(spec).bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->header_flags, spec.mb_flags);
}

TEST(MultibootImage, AoutKludgeLoadsLoadRangeAndZeroesBss) {
  GuestRam ram = test::make_ram(kRam);
  test::fill(ram, kTextAddr, 0x10000, 0xAA);
  AoutSpec s;
  std::vector<uint8_t> img = test::build_aout(s);
  auto b = boot(ram, img);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->entry, s.entry_addr);
  EXPECT_EQ(b->kernel_end, s.bss_end_addr);
  // File offset 0 (header at 0x40, header_addr - load_addr = 0x40) lands at
  // load_addr; exactly load_end_addr - load_addr bytes, then zeroes.
  EXPECT_EQ(test::read_bytes(ram, s.load_addr, 0x200),
            std::vector<uint8_t>(img.begin(), img.begin() + 0x200));
  EXPECT_EQ(test::read_bytes(ram, s.load_end_addr, s.bss_end_addr - s.load_end_addr),
            std::vector<uint8_t>(s.bss_end_addr - s.load_end_addr, 0));
  EXPECT_EQ(test::read_bytes(ram, s.bss_end_addr, 1)[0], 0xAA);
}

TEST(MultibootImage, AoutKludgeWithoutLoadEndLoadsRestOfFileAndHonoursTextOffset) {
  GuestRam ram = test::make_ram(kRam);
  AoutSpec s;
  s.header_offset = 0x1040;  // text starts at file offset 0x1000
  s.header_addr = 0x200040;
  s.load_addr = 0x200000;
  s.load_end_addr = 0;
  s.bss_end_addr = 0;
  s.entry_addr = 0x200100;
  s.file_size = 0x1800;
  std::vector<uint8_t> img = test::build_aout(s);
  auto parsed = parse_multiboot_image(img);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->format, KernelFormat::kAoutKludge);
  ASSERT_EQ(parsed->segments.size(), 1u);
  EXPECT_EQ(parsed->segments[0].file_offset, 0x1000u);
  EXPECT_EQ(parsed->segments[0].file_size, 0x800u);
  EXPECT_EQ(parsed->segments[0].mem_size, 0x800u);
  auto b = boot(ram, img);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(test::read_bytes(ram, 0x200000, 0x800),
            std::vector<uint8_t>(img.begin() + 0x1000, img.end()));
  EXPECT_EQ(b->kernel_end, 0x200800u);
}

TEST(MultibootImage, AoutKludgeTakesPrecedenceOverElfHeaders) {
  // An ELF file whose multiboot header sets bit 16: the kludge fields win.
  ElfSpec spec = test::standard_kernel(false);
  spec.mb_flags = kMbHeaderAoutKludge;
  BuiltElf img = test::build_elf(spec);
  const uint64_t h = img.header_offset;
  test::poke<uint32_t>(img.bytes, h + 12, 0x300000 + static_cast<uint32_t>(h));  // header_addr
  test::poke<uint32_t>(img.bytes, h + 16, 0x300000);                             // load_addr
  test::poke<uint32_t>(img.bytes, h + 20, 0);
  test::poke<uint32_t>(img.bytes, h + 24, 0x310000);
  test::poke<uint32_t>(img.bytes, h + 28, 0x300010);
  auto parsed = parse_multiboot_image(img.bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->format, KernelFormat::kAoutKludge);
  EXPECT_EQ(parsed->entry, 0x300010u);
  EXPECT_EQ(parsed->load_start, 0x300000u);
  EXPECT_EQ(parsed->load_end, 0x310000u);
}

TEST(MultibootImage, FindsHeaderAnywhereAlignedInFirst8KiB) {
  ElfSpec spec = test::standard_kernel(false);
  spec.multiboot_header = false;
  BuiltElf img = test::build_elf(spec);
  img.bytes.resize(0x3000);
  // A bad-checksum decoy first, then the real header at the last possible slot.
  test::put_multiboot_header(img.bytes, 0x400, 0);
  test::poke<uint32_t>(img.bytes, 0x408, 1);
  test::put_multiboot_header(img.bytes, kMultibootSearchLimit - 12, 0);
  auto parsed = parse_multiboot_image(img.bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->header_offset, kMultibootSearchLimit - 12);
}

// ---------------------------------------------------------------------------
// Malformed images.

struct MalformedCase {
  const char* name;
  std::function<std::vector<uint8_t>()> make;
  std::vector<std::string> expect;  // substrings of the error message
};

// gtest prints parameters on failure; the name says it all.
void PrintTo(const MalformedCase& c, std::ostream* os) {
  *os << c.name;
}

std::vector<uint8_t> elf32_with(const std::function<void(BuiltElf&)>& patch) {
  BuiltElf img = test::build_elf(test::standard_kernel(false));
  patch(img);
  return img.bytes;
}

std::vector<uint8_t> elf64_with(const std::function<void(BuiltElf&)>& patch) {
  BuiltElf img = test::build_elf(test::standard_kernel(true));
  patch(img);
  return img.bytes;
}

std::vector<uint8_t> elf32_spec(const std::function<void(ElfSpec&)>& patch) {
  ElfSpec spec = test::standard_kernel(false);
  patch(spec);
  return test::build_elf(spec).bytes;
}

std::vector<uint8_t> aout_with(const std::function<void(AoutSpec&)>& patch) {
  AoutSpec s;
  patch(s);
  return test::build_aout(s);
}

constexpr auto kPaddr32 = offsetof(Elf32_Phdr, p_paddr);
constexpr auto kOffset32 = offsetof(Elf32_Phdr, p_offset);
constexpr auto kFilesz32 = offsetof(Elf32_Phdr, p_filesz);
constexpr auto kMemsz32 = offsetof(Elf32_Phdr, p_memsz);

std::vector<MalformedCase> malformed_cases() {
  return {
      {"EmptyFile", [] { return std::vector<uint8_t>{}; }, {"0 bytes", "too small"}},
      {"ElevenBytes", [] { return std::vector<uint8_t>(11, 0); }, {"11 bytes", "too small"}},
      {"NoHeader",
       [] { return elf32_spec([](ElfSpec& s) { s.multiboot_header = false; }); },
       {"no multiboot header", "first 8192 bytes"}},
      {"HeaderPast8KiB",
       [] {
         std::vector<uint8_t> img(0x3000, 0);
         test::put_multiboot_header(img, 0x2000, 0);
         return img;
       },
       {"no multiboot header"}},
      {"HeaderMisaligned",
       [] {
         std::vector<uint8_t> img(0x100, 0);
         test::put_multiboot_header(img, 0x22, 0);
         return img;
       },
       {"no multiboot header"}},
      {"BadChecksum",
       [] {
         return elf32_with([](BuiltElf& e) {
           test::poke<uint32_t>(e.bytes, e.header_offset + 8, test::header_checksum(0) + 1);
         });
       },
       {"offset 0x200", "bad checksum"}},
      {"UnsupportedRequiredFlag",
       [] { return elf32_spec([](ElfSpec& s) { s.mb_flags = 1u << 3; }); },
       {"unsupported required bits 0x8"}},
      {"AoutKludgeFieldsPastEndOfFile",
       [] {
         std::vector<uint8_t> img(0x20, 0);
         test::put_multiboot_header(img, 0x10, kMbHeaderAoutKludge);
         return img;
       },
       {"a.out kludge", "extend past the end of the 32-byte image"}},
      {"NotElfWithoutKludge",
       [] {
         std::vector<uint8_t> img(0x1000, 0x90);
         test::put_multiboot_header(img, 0x40, 0);
         return img;
       },
       {"not ELF", "bit 16"}},
      {"ElfHeaderTruncated",
       [] {
         BuiltElf e = test::build_elf(test::standard_kernel(false));
         std::vector<uint8_t> img(e.bytes.begin(), e.bytes.begin() + 48);
         test::put_multiboot_header(img, 32, 0);
         return img;
       },
       {"48 bytes", "too small for its ELFCLASS32 ELF header"}},
      {"ElfClassWrong",
       [] { return elf32_with([](BuiltElf& e) { e.bytes[EI_CLASS] = 3; }); },
       {"ELF class 3"}},
      {"ElfBigEndian",
       [] { return elf32_with([](BuiltElf& e) { e.bytes[EI_DATA] = ELFDATA2MSB; }); },
       {"not little-endian"}},
      {"Elf32MachineX86_64",
       [] {
         return elf32_with([](BuiltElf& e) {
           test::poke<uint16_t>(e.bytes, offsetof(Elf32_Ehdr, e_machine), EM_X86_64);
         });
       },
       {"ELF machine 62 is not x86", "EM_386"}},
      {"Elf64MachineAarch64",
       [] {
         return elf64_with([](BuiltElf& e) {
           test::poke<uint16_t>(e.bytes, offsetof(Elf64_Ehdr, e_machine), EM_AARCH64);
         });
       },
       {"ELF machine 183 is not x86", "EM_X86_64"}},
      {"ElfSharedObject",
       [] {
         return elf32_with([](BuiltElf& e) {
           test::poke<uint16_t>(e.bytes, offsetof(Elf32_Ehdr, e_type), ET_DYN);
         });
       },
       {"ELF type 3 is not an executable"}},
      {"NoProgramHeaders",
       [] {
         return elf32_with(
             [](BuiltElf& e) { test::poke<uint16_t>(e.bytes, offsetof(Elf32_Ehdr, e_phnum), 0); });
       },
       {"no program headers"}},
      {"WrongPhentsize",
       [] {
         return elf32_with([](BuiltElf& e) {
           test::poke<uint16_t>(e.bytes, offsetof(Elf32_Ehdr, e_phentsize), 56);
         });
       },
       {"e_phentsize = 56", "expected 32"}},
      {"PhdrOffsetPastEof",
       [] {
         return elf32_with([](BuiltElf& e) {
           test::poke<uint32_t>(e.bytes, offsetof(Elf32_Ehdr, e_phoff), 0x100000);
         });
       },
       {"e_phoff 0x100000 is past the end"}},
      {"TruncatedProgramHeaders",
       [] {
         return elf32_with([](BuiltElf& e) {
           test::poke<uint32_t>(e.bytes, offsetof(Elf32_Ehdr, e_phoff),
                                static_cast<uint32_t>(e.bytes.size() - 40));
         });
       },
       {"program headers truncated", "2 headers of 32 bytes"}},
      {"ZeroPtLoad",
       [] {
         return elf32_spec([](ElfSpec& s) {
           for (TestSegment& seg : s.segments) seg.type = PT_NOTE;
         });
       },
       {"no loadable segment", "PT_LOAD"}},
      {"FileszGreaterThanMemsz",
       [] {
         return elf32_with(
             [](BuiltElf& e) { test::poke<uint32_t>(e.bytes, e.phdr_field(1, kMemsz32), 0x10); });
       },
       {"program header 1", "p_filesz 0x80 > p_memsz 0x10"}},
      {"SegmentDataPastEof",
       [] {
         return elf32_with([](BuiltElf& e) {
           test::poke<uint32_t>(e.bytes, e.phdr_field(1, kFilesz32), 0x8000);
           test::poke<uint32_t>(e.bytes, e.phdr_field(1, kMemsz32), 0x8000);
         });
       },
       {"program header 1", "[0x2000, 0xa000)", "extends past the end"}},
      {"SegmentOffsetPastEof",
       [] {
         return elf32_with([](BuiltElf& e) {
           test::poke<uint32_t>(e.bytes, e.phdr_field(0, kOffset32), 0x7FFFFF00);
         });
       },
       {"program header 0", "extends past the end"}},
      {"HugeOffsetOverflows",
       [] {
         return elf64_with([](BuiltElf& e) {
           test::poke<uint64_t>(e.bytes, e.phdr_field(0, offsetof(Elf64_Phdr, p_offset)),
                                0xFFFFFFFFFFFFFF00);
         });
       },
       {"program header 0", "p_offset 0xffffffffffffff00 + p_filesz 0x180 overflows"}},
      {"PaddrPlusMemszOverflows",
       [] {
         return elf64_with([](BuiltElf& e) {
           test::poke<uint64_t>(e.bytes, e.phdr_field(1, offsetof(Elf64_Phdr, p_paddr)),
                                0xFFFFFFFFFFFFFF00);
         });
       },
       {"program header 1", "p_paddr 0xffffffffffffff00 + p_memsz 0x1000 overflows"}},
      {"EntryOutsideSegments",
       [] { return elf32_spec([](ElfSpec& s) { s.entry = 0x500000; }); },
       {"entry point 0x500000", "outside"}},
      {"EntryInBss",
       [] { return elf32_spec([](ElfSpec& s) { s.entry = kDataAddr + 0x100; }); },
       {"entry point 0x102100", "outside"}},
      {"SegmentsOverlap",
       [] { return elf32_spec([](ElfSpec& s) { s.segments[1].paddr = kTextAddr + 0x100; }); },
       {"program header 1 (PT_LOAD) [0x100100, 0x101100) overlaps ELF program header 0"}},
      {"SegmentPastRamEnd",
       [] { return elf32_spec([](ElfSpec& s) { s.segments[1].paddr = kRam - 0x800; }); },
       {"program header 1", "[0x7ff800, 0x800800)", "past the end of guest RAM"}},
      {"SegmentOverlapsFirmwareTables",
       [] {
         return elf32_spec([](ElfSpec& s) {
           s.segments[0].paddr = 0xFFF00;
           s.entry = 0xFFF00;
         });
       },
       {"program header 0", "[0xfff00, 0x100080)", "firmware tables"}},
      {"SegmentOverlapsMultibootInfo",
       [] {
         return elf32_spec([](ElfSpec& s) {
           s.segments[0].paddr = 0x9F000;
           s.entry = 0x9F000;
         });
       },
       {"program header 0", "multiboot information area"}},
      {"SegmentBelow1MiB",
       [] {
         return elf32_spec([](ElfSpec& s) {
           s.segments[0].paddr = 0xA0000;
           s.entry = 0xA0000;
         });
       },
       {"program header 0", "[0xa0000, 0xa0180)", "below 1 MiB"}},
      {"SegmentOnApTrampoline",
       [] {
         return elf32_spec([](ElfSpec& s) {
           s.segments[0].paddr = 0x8000;
           s.entry = 0x8000;
         });
       },
       {"program header 0", "below 1 MiB"}},
      {"AoutLoadAddrAboveHeaderAddr",
       [] { return aout_with([](AoutSpec& s) { s.load_addr = 0x100080; }); },
       {"load_addr 0x100080 is above header_addr 0x100040"}},
      {"AoutLoadStartsBeforeFile",
       [] { return aout_with([](AoutSpec& s) { s.load_addr = 0xFFF00; }); },
       {"header_addr - load_addr = 0x140", "before the beginning of the file"}},
      {"AoutLoadEndBelowLoadAddr",
       [] { return aout_with([](AoutSpec& s) { s.load_end_addr = 0x80000; }); },
       {"load_end_addr 0x80000 is below load_addr"}},
      {"AoutLoadEndPastFile",
       [] { return aout_with([](AoutSpec& s) { s.load_end_addr = 0x101000; }); },
       {"a.out kludge: load range", "only 768 bytes"}},
      {"AoutBssEndBelowLoadEnd",
       [] { return aout_with([](AoutSpec& s) { s.bss_end_addr = 0x100100; }); },
       {"bss_end_addr 0x100100 is below"}},
      {"AoutEntryOutside",
       [] { return aout_with([](AoutSpec& s) { s.entry_addr = 0x100800; }); },
       {"entry_addr 0x100800 is outside"}},
      {"AoutLoadsNothing",
       [] {
         return aout_with([](AoutSpec& s) {
           s.load_end_addr = s.load_addr;
           s.bss_end_addr = 0;
         });
       },
       {"no loadable segment"}},
      {"AoutBelow1MiB",
       [] {
         return aout_with([](AoutSpec& s) {
           s.header_addr = 0xB0040;
           s.load_addr = 0xB0000;
           s.load_end_addr = 0xB0200;
           s.bss_end_addr = 0;
           s.entry_addr = 0xB0000;
         });
       },
       {"a.out kludge load range [0xb0000, 0xb0200)", "below 1 MiB"}},
  };
}

class MalformedImage : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedImage, IsRejectedBeforeAnythingIsWritten) {
  const MalformedCase& c = GetParam();
  GuestRam ram = test::make_ram(kRam);
  test::RecordingMemory mem(ram);
  std::vector<uint8_t> image = c.make();
  auto b = boot(mem, image);
  ASSERT_FALSE(b.ok()) << c.name << " was accepted";
  for (const std::string& s : c.expect) {
    EXPECT_NE(b.error().message.find(s), std::string::npos)
        << "error for " << c.name << " lacks \"" << s << "\": " << b.error().message;
  }
  EXPECT_TRUE(mem.writes.empty()) << c.name << ": wrote guest memory before failing";
}

INSTANTIATE_TEST_SUITE_P(Table, MalformedImage, ::testing::ValuesIn(malformed_cases()),
                         [](const ::testing::TestParamInfo<MalformedCase>& param) {
                           return std::string(param.param.name);
                         });

// Fuzz-style sweep: every truncation of valid images is rejected cleanly
// until the file holds everything the image loads (ASan builds catch any
// read past the buffer).
TEST(MultibootImage, EveryTruncationIsHandled) {
  struct Case {
    std::vector<uint8_t> image;
    size_t min_loadable;  // shortest prefix that holds all loaded bytes
  };
  std::vector<Case> cases;
  for (bool elf64 : {false, true}) {
    std::vector<uint8_t> img = test::build_elf(test::standard_kernel(elf64)).bytes;
    const size_t n = img.size();
    cases.push_back({std::move(img), n});
  }
  cases.push_back({test::build_aout(AoutSpec{}), 0x200});  // load_end_addr - load_addr
  for (const Case& c : cases) {
    for (size_t n = 0; n <= c.image.size(); ++n) {
      std::vector<uint8_t> cut(c.image.begin(), c.image.begin() + static_cast<ptrdiff_t>(n));
      auto parsed = parse_multiboot_image(cut);
      EXPECT_EQ(parsed.ok(), n >= c.min_loadable) << "truncated to " << n << " bytes";
    }
  }
}

TEST(MultibootImage, RamSizeLimits) {
  EXPECT_TRUE(check_multiboot_ram_size(2 * MiB).ok());
  EXPECT_TRUE(check_multiboot_ram_size(kMaxRamSize).ok());
  auto small = check_multiboot_ram_size(1 * MiB);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message.find("larger than 1 MiB"), std::string::npos);
  auto big = check_multiboot_ram_size(kMaxRamSize + kPageSize);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("exceeds 3 GiB"), std::string::npos);

  GuestRam ram = test::make_ram(1 * MiB);
  auto b = boot(ram, test::build_elf(test::standard_kernel(false)).bytes);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("larger than 1 MiB"), std::string::npos);
}

}  // namespace
}  // namespace dvmm::boot
