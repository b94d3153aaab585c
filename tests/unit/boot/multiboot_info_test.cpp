// Multiboot information: the MBI a kernel reads through EBX, parsed back
// from guest memory the way a kernel would.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "host/boot/layout.hpp"
#include "host/boot/memory_map.hpp"
#include "host/boot/multiboot.hpp"
#include "tests/unit/boot/test_images.hpp"

namespace dvmm::boot {
namespace {

using test::kDataAddr;
using test::kDataMemsz;

constexpr uint64_t kRam = 16 * MiB;

MultibootInfo read_mbi(const GuestMemory& mem, uint32_t addr) {
  auto r = mem.read_obj<MultibootInfo>(GuestAddress{addr});
  EXPECT_TRUE(r.ok());
  return r.ok() ? r.value() : MultibootInfo{};
}

class MultibootInfoTest : public ::testing::Test {
 protected:
  GuestRam ram_ = test::make_ram(kRam);
  std::vector<uint8_t> kernel_ = test::build_elf(test::standard_kernel(false)).bytes;
};

TEST_F(MultibootInfoTest, FlagsMemoryCmdlineAndLoaderName) {
  auto b = load_multiboot(ram_, kernel_, "/boot/kernel.elf console=ttyS0 smp=4", {});
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(test::val(b->info_address), kMultibootInfo.start);
  MultibootInfo mbi = read_mbi(ram_, b->info_address);
  EXPECT_EQ(test::val(mbi.flags),
            kMbInfoMemory | kMbInfoCmdline | kMbInfoMods | kMbInfoMemMap | kMbInfoBootLoaderName);
  EXPECT_EQ(mbi.flags & kMbInfoBootDevice, 0u);
  EXPECT_EQ(test::val(mbi.mem_lower), 639u);
  EXPECT_EQ(test::val(mbi.mem_upper), (kRam - MiB) / KiB);
  EXPECT_EQ(test::read_cstring(ram_, mbi.cmdline), "/boot/kernel.elf console=ttyS0 smp=4");
  EXPECT_EQ(test::read_cstring(ram_, mbi.boot_loader_name), "dvmm");
  EXPECT_EQ(test::val(mbi.mods_count), 0u);
  // No video information is claimed even though the kernel may ask for it.
  EXPECT_EQ(test::val(mbi.vbe_control_info), 0u);
  EXPECT_EQ(test::val(mbi.framebuffer_addr), 0u);
  // Every pointer lies in the multiboot information area.
  for (uint32_t p : {mbi.cmdline, mbi.boot_loader_name, mbi.mmap_addr, mbi.mods_addr}) {
    EXPECT_TRUE(kMultibootInfo.contains(p)) << std::hex << p;
  }
}

TEST_F(MultibootInfoTest, MemoryMap) {
  auto b = load_multiboot(ram_, kernel_, "", {}, "custom loader");
  ASSERT_TRUE(b.ok()) << b.error().message;
  MultibootInfo mbi = read_mbi(ram_, b->info_address);
  EXPECT_EQ(test::read_cstring(ram_, mbi.boot_loader_name), "custom loader");
  EXPECT_EQ(test::read_cstring(ram_, mbi.cmdline), "");
  ASSERT_EQ(test::val(mbi.mmap_length), 4 * sizeof(MultibootMmapEntry));

  struct Expected {
    uint64_t base, length;
    uint32_t type;
  };
  const Expected expected[] = {
      {0, 0x9FC00, 1},
      {0x9FC00, 0x400, 2},
      {0xE0000, 0x20000, 2},
      {0x100000, kRam - 0x100000, 1},
  };
  // Walk it as the spec says: each entry's size field excludes itself.
  uint64_t at = mbi.mmap_addr;
  for (const Expected& e : expected) {
    auto entry = ram_.read_obj<MultibootMmapEntry>(GuestAddress{at});
    ASSERT_TRUE(entry.ok());
    EXPECT_EQ(entry->size, 20u);
    EXPECT_EQ(test::val(entry->base_addr), e.base);
    EXPECT_EQ(test::val(entry->length), e.length);
    EXPECT_EQ(test::val(entry->type), e.type);
    at += entry->size + 4;
  }
  EXPECT_EQ(at, uint64_t{mbi.mmap_addr} + mbi.mmap_length);
}

TEST_F(MultibootInfoTest, ModulesArePageAlignedAfterKernelWithTheirCommandLines) {
  std::vector<MultibootModule> mods = {
      {test::pattern(5000, 3), "initrd.img root=/dev/ram"},
      {test::pattern(10, 4), ""},
      {{}, "empty"},
  };
  auto b = load_multiboot(ram_, kernel_, "k", mods);
  ASSERT_TRUE(b.ok()) << b.error().message;
  MultibootInfo mbi = read_mbi(ram_, b->info_address);
  ASSERT_EQ(test::val(mbi.mods_count), 3u);
  uint64_t prev_end = b->kernel_end;
  for (size_t i = 0; i < mods.size(); ++i) {
    auto m = ram_.read_obj<MultibootModuleEntry>(GuestAddress{mbi.mods_addr + i * 16});
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->mod_start % kPageSize, 0u) << i;
    EXPECT_GE(test::val(m->mod_start), prev_end) << i;
    EXPECT_LT(test::val(m->mod_start), prev_end + kPageSize) << i;
    EXPECT_EQ(m->mod_end - m->mod_start, mods[i].data.size()) << i;
    EXPECT_EQ(test::read_bytes(ram_, m->mod_start, mods[i].data.size()), mods[i].data) << i;
    EXPECT_EQ(test::read_cstring(ram_, m->string), mods[i].cmdline) << i;
    EXPECT_TRUE(kMultibootInfo.contains(m->string));
    prev_end = m->mod_end;
  }
  EXPECT_EQ(test::val(b->kernel_end), kDataAddr + kDataMemsz);
  EXPECT_EQ(test::val(b->modules_end), prev_end);
}

TEST_F(MultibootInfoTest, WritesOnlyWhereTheLayoutAllows) {
  test::fill(ram_, 0, MiB, 0xCC);
  test::RecordingMemory mem(ram_);
  std::vector<MultibootModule> mods = {{test::pattern(100, 1), "m"}};
  auto b = load_multiboot(mem, kernel_, "cmd", mods);
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_FALSE(mem.writes.empty());
  for (auto [start, end] : mem.writes) {
    const bool in_mbi = start >= kMultibootInfo.start && end <= kMultibootInfo.end;
    const bool in_kernel_or_modules = start >= kKernelMinAddress && end <= b->modules_end;
    EXPECT_TRUE(in_mbi || in_kernel_or_modules) << std::hex << start << "-" << end;
  }
  // The AP trampoline page and the VMM's page are untouched.
  EXPECT_EQ(test::read_bytes(ram_, kVmmReserved.start, 0x2000), std::vector<uint8_t>(0x2000, 0xCC));
}

TEST_F(MultibootInfoTest, RejectsBootDataThatDoesNotFit) {
  std::string huge(kMultibootInfo.size(), 'x');
  auto b = load_multiboot(ram_, kernel_, huge, {});
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("multiboot information area [0x9000, 0x9fc00) is full"),
            std::string::npos)
      << b.error().message;
  EXPECT_NE(b.error().message.find("kernel command line"), std::string::npos);

  std::vector<MultibootModule> mods = {{std::vector<uint8_t>(kRam, 1), "too big"}};
  b = load_multiboot(ram_, kernel_, "", mods);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("module 0"), std::string::npos) << b.error().message;
  EXPECT_NE(b.error().message.find("does not fit in guest RAM"), std::string::npos);
}

TEST_F(MultibootInfoTest, RejectsNulInStrings) {
  using namespace std::string_literals;
  auto b = load_multiboot(ram_, kernel_, "a\0b"s, {});
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("kernel command line contains a NUL byte at offset 1"),
            std::string::npos)
      << b.error().message;
  std::vector<MultibootModule> mods = {{{1}, "x\0"s}};
  b = load_multiboot(ram_, kernel_, "", mods);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("command line of module 0"), std::string::npos);
}

TEST(MemoryMap, MatchesLayout) {
  auto map = guest_memory_map(64 * MiB);
  ASSERT_EQ(map.size(), 4u);
  EXPECT_EQ(test::val(map[3].base), kKernelMinAddress);
  EXPECT_EQ(map[3].base + map[3].length, 64 * MiB);
  // Sorted and disjoint.
  for (size_t i = 1; i < map.size(); ++i) {
    EXPECT_GE(test::val(map[i].base), map[i - 1].base + map[i - 1].length);
  }
}

}  // namespace
}  // namespace dvmm::boot
