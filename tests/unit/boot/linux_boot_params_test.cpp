// Linux's 64-bit boot protocol (linux_boot_params.hpp, long_mode_tables.hpp,
// x86_state.hpp set_long_mode_entry): a synthetic bzImage (test_images.hpp
// build_bzimage64) loaded into guest RAM; what the kernel finds there (its
// protected-mode part, the zero page field by field, the command line, the
// initrd, the E820 table), the page tables walked as the MMU would, the
// GDT decoded as the CPU would and compared with the register state; and a
// specific error for each malformed header.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "host/arch/x86_state.hpp"
#include "host/boot/kernel_loader.hpp"
#include "host/boot/layout.hpp"
#include "host/boot/linux_boot_params.hpp"
#include "host/boot/long_mode_tables.hpp"
#include "host/boot/memory_map.hpp"
#include "tests/unit/boot/test_images.hpp"

namespace dvmm::boot {
namespace {

using test::BzImage64Spec;
using test::peek;

constexpr uint64_t kRam = 64ull << 20;
constexpr uint64_t kRsdp = 0xE0000;
constexpr const char* kCmdline = "console=ttyS0 earlyprintk=serial,ttyS0,115200 nokaslr";

template <typename T>
T read(const GuestMemory& mem, uint64_t gpa) {
  auto v = mem.read_obj<T>(GuestAddress{gpa});
  if (!v) ADD_FAILURE() << "read at " << gpa << ": " << v.error().message;
  return v ? *v : T{};
}

std::vector<uint8_t> zero_page(const GuestMemory& mem, const LinuxBoot& b) {
  return test::read_bytes(mem, b.boot_params, kBootParamsSize);
}

bool inside(GuestRange r, uint64_t start, uint64_t end) { return start >= r.start && end <= r.end; }

TEST(LinuxBootParams, LoadsTheKernelAndWritesTheZeroPage) {
  GuestRam ram = test::make_ram(kRam);
  test::RecordingMemory mem(ram);
  const BzImage64Spec spec;
  const std::vector<uint8_t> image = test::build_bzimage64(spec);
  const std::vector<uint8_t> initrd = test::pattern(10000, 77);
  auto boot = load_linux_boot_params(mem, image, kCmdline, initrd, kRsdp);
  ASSERT_TRUE(boot.ok()) << boot.error().message;

  // The protected-mode kernel at pref_address, entered at startup_64.
  const uint64_t pm_offset = (uint64_t{spec.setup_sects} + 1) * 512;
  EXPECT_EQ(boot->load_address, spec.pref_address);
  EXPECT_EQ(boot->entry, spec.pref_address + 0x200);
  EXPECT_EQ(test::read_bytes(ram, boot->load_address, spec.protected_mode),
            std::vector<uint8_t>(image.begin() + static_cast<ptrdiff_t>(pm_offset), image.end()));

  // The initrd: page-aligned at the top of RAM, bytes intact.
  EXPECT_EQ(boot->initrd_size, initrd.size());
  EXPECT_EQ(boot->initrd_address % kPageSize, 0u);
  EXPECT_LE(boot->initrd_address + initrd.size(), kRam);
  EXPECT_GT(boot->initrd_address + initrd.size() + kPageSize, kRam);
  EXPECT_EQ(test::read_bytes(ram, boot->initrd_address, initrd.size()), initrd);

  // The zero page: page-aligned in the low boot-information area.
  EXPECT_EQ(boot->boot_params % kPageSize, 0u);
  EXPECT_TRUE(inside(kMultibootInfo, boot->boot_params, boot->boot_params + kBootParamsSize));
  const std::vector<uint8_t> bp = zero_page(ram, *boot);
  std::vector<bool> checked(kBootParamsSize, false);
  auto field = [&]<typename T>(uint64_t offset, T) {
    for (uint64_t i = 0; i < sizeof(T); ++i) checked[offset + i] = true;
    return peek<T>(bp, offset);
  };
  EXPECT_EQ(field(kSetupTypeOfLoader, uint8_t{}), 0xFF);
  EXPECT_EQ(field(kSetupLoadflags, uint8_t{}), kLoadedHigh)
      << "QUIET, KEEP_SEGMENTS, CAN_USE_HEAP cleared";
  EXPECT_EQ(field(kSetupCode32Start, uint32_t{}), boot->load_address);
  EXPECT_EQ(field(kSetupRamdiskImage, uint32_t{}), boot->initrd_address);
  EXPECT_EQ(field(kSetupRamdiskSize, uint32_t{}), initrd.size());
  EXPECT_EQ(field(kBpExtRamdiskImage, uint32_t{}), 0u);
  EXPECT_EQ(field(kBpExtRamdiskSize, uint32_t{}), 0u);
  EXPECT_EQ(field(kSetupCmdLinePtr, uint32_t{}), boot->cmdline_address);
  EXPECT_EQ(field(kBpExtCmdLinePtr, uint32_t{}), 0u);
  EXPECT_EQ(field(kBpAcpiRsdpAddr, uint64_t{}), kRsdp);

  // The command line, NUL-terminated, in the same area.
  EXPECT_TRUE(inside(kMultibootInfo, boot->cmdline_address,
                     boot->cmdline_address + std::strlen(kCmdline) + 1));
  EXPECT_EQ(test::read_cstring(ram, boot->cmdline_address), kCmdline);

  // The E820 table is the memory map every protocol reports.
  const std::vector<MemoryRegion> map = guest_memory_map(kRam);
  ASSERT_EQ(field(kBpE820Entries, uint8_t{}), map.size());
  for (size_t i = 0; i < map.size(); ++i) {
    const uint64_t at = kBpE820Table + i * kBpE820EntrySize;
    EXPECT_EQ(field(at, uint64_t{}), map[i].base) << "entry " << i;
    EXPECT_EQ(field(at + 8, uint64_t{}), map[i].length) << "entry " << i;
    EXPECT_EQ(field(at + 16, uint32_t{}), static_cast<uint32_t>(map[i].type)) << "entry " << i;
  }

  // The rest of the header is the image's, byte for byte, up to its end
  // (0x202 + the byte at 0x201); everything else is zero, the sentinel at
  // 0x1EF included.
  const uint64_t header_end = 0x202 + spec.jump_offset;
  for (uint64_t i = 0; i < kBootParamsSize; ++i) {
    if (checked[i]) continue;
    const uint8_t expect = i >= kSetupHeaderStart && i < header_end ? image[i] : 0;
    ASSERT_EQ(bp[i], expect) << "boot_params byte " << std::hex << i;
  }

  // Writes: the kernel, the initrd, the boot-information area, the page
  // tables and the GDT; nothing else.
  for (const auto& [start, end] : mem.writes) {
    const bool ok =
        inside({boot->load_address, boot->load_address + spec.protected_mode}, start, end) ||
        inside({boot->initrd_address, boot->initrd_address + initrd.size()}, start, end) ||
        inside(kMultibootInfo, start, end) || inside(kBootPageTables, start, end) ||
        inside(kVmmReserved, start, end);
    EXPECT_TRUE(ok) << std::hex << "write [" << start << ", " << end << ")";
  }
}

TEST(LinuxBootParams, WithoutInitrdTheRamdiskFieldsAreZero) {
  GuestRam ram = test::make_ram(kRam);
  auto boot = load_linux_boot_params(ram, test::build_bzimage64({}), "", {}, kRsdp);
  ASSERT_TRUE(boot.ok()) << boot.error().message;
  EXPECT_EQ(boot->initrd_address, 0u);
  const std::vector<uint8_t> bp = zero_page(ram, *boot);
  EXPECT_EQ(peek<uint32_t>(bp, kSetupRamdiskImage), 0u);
  EXPECT_EQ(peek<uint32_t>(bp, kSetupRamdiskSize), 0u);
  EXPECT_EQ(test::read_cstring(ram, peek<uint32_t>(bp, kSetupCmdLinePtr)), "");
}

TEST(LinuxBootParams, TheInitrdStaysBelowInitrdAddrMaxUnlessItMayGoAbove4GiB) {
  BzImage64Spec spec;
  spec.xloadflags = kXlfKernel64;  // no XLF_CAN_BE_LOADED_ABOVE_4G
  spec.initrd_addr_max = (48ull << 20) - 1;
  const std::vector<uint8_t> initrd(3 * kPageSize + 5, 9);
  GuestRam ram = test::make_ram(kRam);
  auto boot = load_linux_boot_params(ram, test::build_bzimage64(spec), "", initrd, kRsdp);
  ASSERT_TRUE(boot.ok()) << boot.error().message;
  EXPECT_LE(boot->initrd_address + initrd.size(), 48ull << 20);
  EXPECT_GT(boot->initrd_address + initrd.size() + kPageSize, 48ull << 20);

  spec.xloadflags = kXlfKernel64 | kXlfCanBeLoadedAbove4G;
  GuestRam ram2 = test::make_ram(kRam);
  auto high = load_linux_boot_params(ram2, test::build_bzimage64(spec), "", initrd, kRsdp);
  ASSERT_TRUE(high.ok()) << high.error().message;
  EXPECT_GT(high->initrd_address, 60ull << 20) << "at the top of RAM";
}

TEST(LinuxBootParams, WithoutAUsablePrefAddressTheKernelGoesAt1MiBAligned) {
  BzImage64Spec spec;
  spec.pref_address = 0;
  GuestRam ram = test::make_ram(kRam);
  auto boot = load_linux_boot_params(ram, test::build_bzimage64(spec), "", {}, kRsdp);
  ASSERT_TRUE(boot.ok()) << boot.error().message;
  EXPECT_EQ(boot->load_address, 0x200000u) << "1 MiB rounded up to kernel_alignment (2 MiB)";
  EXPECT_EQ(boot->entry, 0x200200u);
  EXPECT_EQ(peek<uint32_t>(zero_page(ram, *boot), kSetupCode32Start), 0x200000u);
}

// Walks the 4-level page tables from CR3 as the MMU does for a linear
// address; returns the physical address or ~0 when it is not mapped.
uint64_t translate(const GuestMemory& mem, uint64_t cr3, uint64_t linear) {
  constexpr uint64_t kAddr = 0x000FFFFFFFFFF000ull;
  const uint64_t pml4e = read<uint64_t>(mem, (cr3 & kAddr) + ((linear >> 39) & 511) * 8);
  if ((pml4e & x86::kPtePresent) == 0) return ~0ull;
  const uint64_t pdpte = read<uint64_t>(mem, (pml4e & kAddr) + ((linear >> 30) & 511) * 8);
  if ((pdpte & x86::kPtePresent) == 0 || (pdpte & x86::kPteLargePage) != 0) return ~0ull;  // no 1 GiB pages
  const uint64_t pde = read<uint64_t>(mem, (pdpte & kAddr) + ((linear >> 21) & 511) * 8);
  if ((pde & x86::kPtePresent) == 0 || (pde & x86::kPteLargePage) == 0) return ~0ull;
  if ((pml4e & pdpte & pde & x86::kPteWritable) == 0) return ~0ull;
  return (pde & 0x000FFFFFFFE00000ull) + (linear & (x86::kLargePageSize - 1));
}

TEST(LinuxBootParams, PageTablesIdentityMapTheLow4GiB) {
  GuestRam ram = test::make_ram(kRam);
  auto boot = load_linux_boot_params(ram, test::build_bzimage64({}), "", {}, kRsdp);
  ASSERT_TRUE(boot.ok()) << boot.error().message;
  const uint64_t cr3 = boot->tables.pml4;
  EXPECT_TRUE(kBootPageTables.contains(cr3));
  EXPECT_EQ(cr3 % kPageSize, 0u);
  // Every 2 MiB page, at its first and last byte.
  for (uint64_t page = 0; page < kIdentityMappedBytes; page += x86::kLargePageSize) {
    ASSERT_EQ(translate(ram, cr3, page), page);
    ASSERT_EQ(translate(ram, cr3, page + x86::kLargePageSize - 1), page + x86::kLargePageSize - 1);
  }
  // What the kernel is handed, and the local APIC, by name.
  for (uint64_t a : {boot->entry, boot->boot_params, boot->cmdline_address, kLapicAddress}) {
    EXPECT_EQ(translate(ram, cr3, a), a);
  }
  // Nothing above 4 GiB.
  EXPECT_EQ(translate(ram, cr3, kIdentityMappedBytes), ~0ull);
  EXPECT_EQ(translate(ram, cr3, 1ull << 39), ~0ull);
  // The tables themselves lie in their reserved range.
  const uint64_t pdpt = read<uint64_t>(ram, cr3) & ~0xFFFull;
  EXPECT_TRUE(kBootPageTables.contains(pdpt));
  for (uint64_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(kBootPageTables.contains(read<uint64_t>(ram, pdpt + i * 8) & ~0xFFFull));
  }
}

// A GDT descriptor decoded as the CPU loads it into a segment register.
kvm_segment decode_descriptor(uint64_t d, uint16_t selector) {
  kvm_segment s{};
  s.selector = selector;
  s.base = ((d >> 16) & 0xFFFFFF) | (((d >> 56) & 0xFF) << 24);
  const uint32_t limit = static_cast<uint32_t>((d & 0xFFFF) | (((d >> 48) & 0xF) << 16));
  s.type = (d >> 40) & 0xF;
  s.s = (d >> 44) & 1;
  s.dpl = (d >> 45) & 3;
  s.present = (d >> 47) & 1;
  s.avl = (d >> 52) & 1;
  s.l = (d >> 53) & 1;
  s.db = (d >> 54) & 1;
  s.g = (d >> 55) & 1;
  s.limit = s.g ? (limit << 12) | 0xFFF : limit;
  return s;
}

void expect_same_segment(const kvm_segment& got, const kvm_segment& want, const char* name) {
  SCOPED_TRACE(name);
  EXPECT_EQ(got.selector, want.selector);
  EXPECT_EQ(got.base, want.base);
  EXPECT_EQ(got.limit, want.limit);
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.s, want.s);
  EXPECT_EQ(got.dpl, want.dpl);
  EXPECT_EQ(got.present, want.present);
  EXPECT_EQ(got.l, want.l);
  EXPECT_EQ(got.db, want.db);
  EXPECT_EQ(got.g, want.g);
}

TEST(LinuxBootParams, TheBspStartsIn64BitModeOnTheLoadersGdtAndPageTables) {
  GuestRam ram = test::make_ram(kRam);
  KernelArgs args{"bzImage", kCmdline, {}, kRsdp, LinuxEntry::kBootParams};
  auto entry = load_kernel(ram, test::build_bzimage64({}), args);
  ASSERT_TRUE(entry.ok()) << entry.error().message;
  EXPECT_EQ(entry->protocol, BootProtocol::kLinuxBootParams);
  EXPECT_EQ(entry->mode, EntryMode::kLong64);
  const x86::LongModeEntry& lm = entry->long_mode;
  EXPECT_EQ(lm.rip, 0x1000200u);
  EXPECT_TRUE(kMultibootInfo.contains(lm.rsi));
  EXPECT_EQ(test::read_cstring(ram, read<uint32_t>(ram, lm.rsi + kSetupCmdLinePtr)), kCmdline);
  EXPECT_NE(entry->description.find("boot_params"), std::string::npos);

  // The GDT: null, null, __BOOT_CS (0x10) flat 64-bit code, __BOOT_DS
  // (0x18) flat data, in the VMM's reserved page.
  EXPECT_TRUE(kVmmReserved.contains(lm.gdt_base));
  EXPECT_EQ(lm.gdt_limit, 4 * 8 - 1);
  EXPECT_EQ(lm.code_selector, 0x10);
  EXPECT_EQ(lm.data_selector, 0x18);
  EXPECT_EQ(read<uint64_t>(ram, lm.gdt_base), 0u);
  EXPECT_EQ(read<uint64_t>(ram, lm.gdt_base + 8), 0u);
  const kvm_segment code = decode_descriptor(read<uint64_t>(ram, lm.gdt_base + 0x10), 0x10);
  const kvm_segment data = decode_descriptor(read<uint64_t>(ram, lm.gdt_base + 0x18), 0x18);
  EXPECT_EQ(code.base, 0u);
  EXPECT_EQ(code.limit, 0xFFFFFFFFu);
  EXPECT_EQ(code.type, 0xB) << "execute/read";
  EXPECT_EQ(code.l, 1) << "64-bit";
  EXPECT_EQ(code.db, 0);
  EXPECT_EQ(code.present, 1);
  EXPECT_EQ(code.dpl, 0);
  EXPECT_EQ(data.type, 0x3) << "read/write";
  EXPECT_EQ(data.limit, 0xFFFFFFFFu);
  EXPECT_EQ(data.db, 1);

  // The register state: long mode on those tables, the segment registers'
  // hidden parts what the descriptors hold.
  kvm_regs regs{};
  kvm_sregs sregs{};
  x86::set_long_mode_entry(regs, sregs, lm);
  EXPECT_EQ(regs.rip, lm.rip);
  EXPECT_EQ(regs.rsi, lm.rsi);
  EXPECT_EQ(regs.rflags, 0x2u) << "interrupts off";
  EXPECT_EQ(sregs.cr0 & 0x80000001u, 0x80000001u) << "PE and PG";
  EXPECT_EQ(sregs.cr4 & 0x20u, 0x20u) << "PAE";
  EXPECT_EQ(sregs.efer & 0x500u, 0x500u) << "LME and LMA";
  EXPECT_EQ(sregs.cr3, lm.cr3);
  EXPECT_TRUE(kBootPageTables.contains(sregs.cr3));
  EXPECT_EQ(sregs.gdt.base, lm.gdt_base);
  EXPECT_EQ(sregs.gdt.limit, lm.gdt_limit);
  expect_same_segment(sregs.cs, code, "cs");
  expect_same_segment(sregs.ds, data, "ds");
  expect_same_segment(sregs.es, data, "es");
  expect_same_segment(sregs.ss, data, "ss");
}

struct BadHeader {
  const char* name;
  BzImage64Spec spec;
  void (*patch)(std::vector<uint8_t>&) = nullptr;
  uint64_t initrd_bytes = 0;
  size_t cmdline_bytes = 0;
  const char* expect;
};

TEST(LinuxBootParams, MalformedOrUnsuitableImagesGiveSpecificErrors) {
  auto with = [](auto change) {
    BzImage64Spec s;
    change(s);
    return s;
  };
  const BadHeader cases[] = {
      {"bad magic", {}, [](std::vector<uint8_t>& i) { i[0x202] = 'X'; }, 0, 0,
       "no \"HdrS\" setup header magic"},
      {"old protocol", with([](BzImage64Spec& s) { s.version = 0x020B; }), nullptr, 0, 0,
       "boot protocol 2.11"},
      {"no XLF_KERNEL_64", with([](BzImage64Spec& s) { s.xloadflags = kXlfCanBeLoadedAbove4G; }),
       nullptr, 0, 0, "no XLF_KERNEL_64"},
      {"setup_sects huge", {}, [](std::vector<uint8_t>& i) { i[0x1F1] = 200; }, 0, 0,
       "setup_sects = 200"},
      {"init_size beyond RAM", with([](BzImage64Spec& s) { s.init_size = 128u << 20; }), nullptr,
       0, 0, "guest RAM ends"},
      {"command line too long", with([](BzImage64Spec& s) { s.cmdline_size = 16; }), nullptr, 0,
       17, "at most 16"},
      {"header ends too early", with([](BzImage64Spec& s) { s.jump_offset = 0x20; }), nullptr, 0,
       0, "the setup header ends at 0x222"},
      {"header ends past boot_params' room", with([](BzImage64Spec& s) { s.jump_offset = 0xFF; }),
       nullptr, 0, 0, "the setup header ends at 0x301"},
      {"truncated header", {}, [](std::vector<uint8_t>& i) { i.resize(0x240); }, 0, 0,
       "too short for its setup header"},
      {"no LOADED_HIGH", with([](BzImage64Spec& s) { s.loadflags = 0; }), nullptr, 0, 0,
       "LOADED_HIGH"},
      {"alignment not a power of two",
       with([](BzImage64Spec& s) { s.kernel_alignment = 0x300000; }), nullptr, 0, 0,
       "not a power of two"},
      {"pref_address misaligned", with([](BzImage64Spec& s) { s.pref_address = 0x1001000; }),
       nullptr, 0, 0, "not a multiple of kernel_alignment"},
      {"non-relocatable below 1 MiB", with([](BzImage64Spec& s) {
         s.relocatable = 0;
         s.pref_address = 0x10000;
       }),
       nullptr, 0, 0, "not relocatable"},
      {"init_size below the image", with([](BzImage64Spec& s) { s.init_size = 0x1000; }), nullptr,
       0, 0, "smaller than the"},
      {"initrd larger than RAM", {}, nullptr, kRam, 0, "initrd does not fit"},
      {"initrd over the kernel", {}, nullptr, kRam - (20ull << 20), 0, "the initrd starts"},
  };
  for (const BadHeader& c : cases) {
    GuestRam ram = test::make_ram(kRam);
    std::vector<uint8_t> image = test::build_bzimage64(c.spec);
    if (c.patch != nullptr) c.patch(image);
    const std::vector<uint8_t> initrd(c.initrd_bytes, 1);
    const std::string cmdline(c.cmdline_bytes, 'x');
    auto boot = load_linux_boot_params(ram, image, cmdline, initrd, kRsdp);
    ASSERT_FALSE(boot.ok()) << c.name;
    EXPECT_NE(boot.error().message.find(c.expect), std::string::npos)
        << c.name << ": " << boot.error().message;
  }
}

TEST(LinuxBootParams, EveryTruncationIsRefusedWithoutReadingPastTheFile) {
  const std::vector<uint8_t> image = test::build_bzimage64({});
  const uint64_t min_size = 4 * 512 + 0x200 + 1;  // through startup_64's first byte
  for (size_t n = 0; n < min_size; ++n) {
    // An exact-size copy, so that ASan sees any read past the end.
    const std::vector<uint8_t> prefix(image.begin(), image.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_FALSE(parse_linux_setup_header(prefix).ok()) << n << " bytes";
  }
  const std::vector<uint8_t> shortest(image.begin(),
                                      image.begin() + static_cast<ptrdiff_t>(min_size));
  EXPECT_TRUE(parse_linux_setup_header(shortest).ok());
}

TEST(LinuxBootParams, TheEntryIsChosenByName) {
  EXPECT_EQ(*parse_linux_entry("pvh"), LinuxEntry::kPvh);
  EXPECT_EQ(*parse_linux_entry("boot-params"), LinuxEntry::kBootParams);
  auto bad = parse_linux_entry("bootparams");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("\"pvh\""), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("\"boot-params\""), std::string::npos) << bad.error().message;
  EXPECT_STREQ(linux_entry_name(LinuxEntry::kBootParams), "boot-params");
  EXPECT_STREQ(linux_entry_name(LinuxEntry::kPvh), "pvh");
}

}  // namespace
}  // namespace dvmm::boot
