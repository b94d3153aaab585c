// The PVH loader and the protocol choice in load_kernel: what the kernel
// finds in memory (segments, hvm_start_info, command line, memory map,
// initrd) and the errors for images it cannot boot.
#include <elf.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "host/boot/kernel_loader.hpp"
#include "host/boot/layout.hpp"
#include "host/boot/memory_map.hpp"
#include "host/boot/pvh.hpp"
#include "tests/unit/boot/test_images.hpp"

namespace dvmm::boot {
namespace {

using test::val;

constexpr uint64_t kRam = 64ull << 20;
constexpr uint64_t kKernelAt = 0x1000000;
constexpr uint64_t kEntry = kKernelAt + 0x40;
constexpr uint64_t kRsdp = 0xE0000;

// A note as the Linux kernel writes it: name "Xen", the entry as 8 bytes.
std::vector<uint8_t> pvh_note(uint64_t entry, uint32_t desc_size = 8, uint32_t type = 18) {
  std::vector<uint8_t> n;
  test::poke<uint32_t>(n, 0, 4);
  test::poke<uint32_t>(n, 4, desc_size);
  test::poke<uint32_t>(n, 8, type);
  n.insert(n.end(), {'X', 'e', 'n', 0});
  for (uint32_t i = 0; i < desc_size; ++i) n.push_back(static_cast<uint8_t>(entry >> (8 * (i % 8))));
  while (n.size() % 4 != 0) n.push_back(0);
  return n;
}

test::ElfSpec pvh_kernel(std::vector<uint8_t> note) {
  test::ElfSpec spec;
  spec.elf64 = true;
  spec.multiboot_header = false;
  spec.entry = 0xFFFFFFFF81000000;  // virtual, as vmlinux's: PVH ignores it
  spec.segments.push_back(test::TestSegment{kKernelAt, 0xFFFFFFFF81000000, test::pattern(0x3000, 3),
                                            0x10000, PT_LOAD, PF_R | PF_X});
  spec.segments.push_back(test::TestSegment{0, 0, std::move(note), 0, PT_NOTE, PF_R});
  return spec;
}

std::string read_string(GuestMemory& mem, uint64_t at) {
  std::string s;
  for (;;) {
    auto c = mem.read_obj<char>(GuestAddress{at++});
    if (!c || *c == 0) return s;
    s += *c;
  }
}

TEST(Pvh, LoadsTheKernelAndDescribesTheMachine) {
  GuestRam ram = test::make_ram(kRam);
  auto image = test::build_elf(pvh_kernel(pvh_note(kEntry))).bytes;
  std::vector<uint8_t> initrd = test::pattern(10000, 77);
  auto boot = load_pvh(ram, image, "console=ttyS0 quiet", initrd, kRsdp);
  ASSERT_TRUE(boot.ok()) << boot.error().message;
  EXPECT_EQ(boot->entry, kEntry);
  EXPECT_EQ(boot->kernel_end, kKernelAt + 0x10000);

  // Segment bytes, then zeroes to p_memsz.
  std::vector<uint8_t> loaded(0x3000);
  ASSERT_TRUE(ram.read(GuestAddress{kKernelAt}, loaded).ok());
  EXPECT_EQ(loaded, test::pattern(0x3000, 3));
  EXPECT_EQ(*ram.read_obj<uint64_t>(GuestAddress{kKernelAt + 0x8000}), 0u);

  auto info = ram.read_obj<HvmStartInfo>(GuestAddress{boot->start_info_address});
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(kMultibootInfo.contains(boot->start_info_address));
  EXPECT_EQ(val(info->magic), kHvmStartMagic);
  EXPECT_EQ(val(info->version), 1u);
  EXPECT_EQ(val(info->rsdp_paddr), kRsdp);
  EXPECT_EQ(read_string(ram, info->cmdline_paddr), "console=ttyS0 quiet");

  // The initrd: module 0, page-aligned at the top of RAM, bytes intact.
  ASSERT_EQ(val(info->nr_modules), 1u);
  auto mod = ram.read_obj<HvmModlistEntry>(GuestAddress{info->modlist_paddr});
  ASSERT_TRUE(mod.ok());
  EXPECT_EQ(val(mod->size), initrd.size());
  EXPECT_EQ(val(mod->paddr) % kPageSize, 0u);
  EXPECT_LE(val(mod->paddr) + initrd.size(), kRam);
  EXPECT_GT(val(mod->paddr) + kPageSize + initrd.size(), kRam);
  std::vector<uint8_t> got(initrd.size());
  ASSERT_TRUE(ram.read(GuestAddress{mod->paddr}, got).ok());
  EXPECT_EQ(got, initrd);

  // The memory map is the one every boot protocol reports.
  const auto expect = guest_memory_map(kRam);
  ASSERT_EQ(val(info->memmap_entries), expect.size());
  for (size_t i = 0; i < expect.size(); ++i) {
    auto e = ram.read_obj<HvmMemmapEntry>(GuestAddress{info->memmap_paddr + i * sizeof(HvmMemmapEntry)});
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(val(e->addr), expect[i].base);
    EXPECT_EQ(val(e->size), expect[i].length);
    EXPECT_EQ(val(e->type), static_cast<uint32_t>(expect[i].type));
  }
}

TEST(Pvh, WithoutInitrdThereAreNoModules) {
  GuestRam ram = test::make_ram(kRam);
  auto image = test::build_elf(pvh_kernel(pvh_note(kEntry, 4))).bytes;  // FreeBSD's 4-byte form
  auto boot = load_pvh(ram, image, "", {}, kRsdp);
  ASSERT_TRUE(boot.ok()) << boot.error().message;
  EXPECT_EQ(boot->entry, kEntry);
  auto info = ram.read_obj<HvmStartInfo>(GuestAddress{boot->start_info_address});
  EXPECT_EQ(val(info->nr_modules), 0u);
  EXPECT_EQ(val(info->modlist_paddr), 0u);
}

struct BadCase {
  const char* name;
  std::vector<uint8_t> note;
  uint64_t initrd_bytes = 0;
  size_t cmdline_bytes = 0;
  const char* expect;
};

TEST(Pvh, RefusesWhatItCannotBoot) {
  const BadCase cases[] = {
      {"no PVH note", pvh_note(kEntry, 8, 17), 0, 0, "CONFIG_PVH"},
      {"odd note size", pvh_note(kEntry, 2), 0, 0, "2-byte value"},
      {"entry outside the kernel", pvh_note(0x200000), 0, 0, "outside every loaded segment"},
      {"entry above 4 GiB", pvh_note(0x100001000ull), 0, 0, "above 4 GiB"},
      {"initrd larger than RAM", pvh_note(kEntry), kRam, 0, "--memory"},
      {"command line too long", pvh_note(kEntry), 0, kLinuxCommandLineMax, "at most 2047"},
  };
  for (const BadCase& c : cases) {
    GuestRam ram = test::make_ram(kRam);
    auto image = test::build_elf(pvh_kernel(c.note)).bytes;
    std::vector<uint8_t> initrd(c.initrd_bytes, 1);
    std::string cmdline(c.cmdline_bytes, 'x');
    auto boot = load_pvh(ram, image, cmdline, initrd, kRsdp);
    ASSERT_FALSE(boot.ok()) << c.name;
    EXPECT_NE(boot.error().message.find(c.expect), std::string::npos)
        << c.name << ": " << boot.error().message;
  }
}

TEST(Pvh, ATruncatedNoteIsReported) {
  GuestRam ram = test::make_ram(kRam);
  std::vector<uint8_t> note = pvh_note(kEntry);
  test::poke<uint32_t>(note, 4, 0x1000);  // descsz beyond the segment
  auto boot = load_pvh(ram, test::build_elf(pvh_kernel(note)).bytes, "", {}, kRsdp);
  ASSERT_FALSE(boot.ok());
  EXPECT_NE(boot.error().message.find("malformed note"), std::string::npos) << boot.error().message;
}

TEST(Pvh, KernelBelowOneMegabyteIsRefused) {
  GuestRam ram = test::make_ram(kRam);
  test::ElfSpec spec = pvh_kernel(pvh_note(0x80040));
  spec.segments[0].paddr = 0x80000;
  auto boot = load_pvh(ram, test::build_elf(spec).bytes, "", {}, kRsdp);
  ASSERT_FALSE(boot.ok());
  EXPECT_NE(boot.error().message.find("below 1 MiB"), std::string::npos) << boot.error().message;
}

TEST(KernelLoader, ChoosesTheProtocolFromTheImage) {
  GuestRam ram = test::make_ram(kRam);
  auto pvh = load_kernel(ram, test::build_elf(pvh_kernel(pvh_note(kEntry))).bytes,
                         KernelArgs{"vmlinux", "console=ttyS0", {}, kRsdp});
  ASSERT_TRUE(pvh.ok()) << pvh.error().message;
  EXPECT_EQ(pvh->protocol, BootProtocol::kPvh);
  EXPECT_EQ(pvh->eip, kEntry);
  EXPECT_EQ(pvh->eax, 0u);
  auto info = ram.read_obj<HvmStartInfo>(GuestAddress{pvh->ebx});
  EXPECT_EQ(val(info->magic), kHvmStartMagic);

  GuestRam ram2 = test::make_ram(kRam);
  auto mb = load_kernel(ram2, test::build_elf(test::standard_kernel(false)).bytes,
                        KernelArgs{"kernel.elf", "x", {}, kRsdp});
  ASSERT_TRUE(mb.ok()) << mb.error().message;
  EXPECT_EQ(mb->protocol, BootProtocol::kMultiboot);
  EXPECT_EQ(mb->eax, kMultibootBootloaderMagic);

  std::vector<uint8_t> initrd(16, 1);
  auto mb_initrd = load_kernel(ram2, test::build_elf(test::standard_kernel(false)).bytes,
                               KernelArgs{"kernel.elf", "", initrd, kRsdp});
  ASSERT_FALSE(mb_initrd.ok());
  EXPECT_NE(mb_initrd.error().message.find("multiboot kernel"), std::string::npos);

  // Only a bzImage has a boot-params entry.
  KernelArgs boot_params{"vmlinux", "", {}, kRsdp, LinuxEntry::kBootParams};
  auto elf_bp = load_kernel(ram2, test::build_elf(pvh_kernel(pvh_note(kEntry))).bytes, boot_params);
  ASSERT_FALSE(elf_bp.ok());
  EXPECT_NE(elf_bp.error().message.find("needs a Linux bzImage, and this is an ELF kernel"),
            std::string::npos)
      << elf_bp.error().message;
  auto mb_bp = load_kernel(ram2, test::build_elf(test::standard_kernel(false)).bytes, boot_params);
  ASSERT_FALSE(mb_bp.ok());
  EXPECT_NE(mb_bp.error().message.find("needs a Linux bzImage, and this is a multiboot kernel"),
            std::string::npos)
      << mb_bp.error().message;

  std::vector<uint8_t> junk(4096, 0x90);
  auto none = load_kernel(ram2, junk, KernelArgs{"junk", "", {}, kRsdp});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("Linux bzImages"), std::string::npos);
}


TEST(KernelLoader, LinuxCommandLineGetsTheCpuProfilesClearcpuid) {
  EXPECT_EQ(linux_cmdline("console=ttyS0", "smap,popcnt"), "console=ttyS0 clearcpuid=smap,popcnt");
  EXPECT_EQ(linux_cmdline("", "smap"), "clearcpuid=smap");
  EXPECT_EQ(linux_cmdline("console=ttyS0", ""), "console=ttyS0");
  // The operator's own clearcpuid= wins, wherever it stands.
  EXPECT_EQ(linux_cmdline("clearcpuid=aes quiet", "smap"), "clearcpuid=aes quiet");
  EXPECT_EQ(linux_cmdline("quiet clearcpuid=aes", "smap"), "quiet clearcpuid=aes");
  EXPECT_EQ(linux_cmdline("noclearcpuid=x", "smap"), "noclearcpuid=x clearcpuid=smap");

  GuestRam ram = test::make_ram(kRam);
  KernelArgs args{"vmlinux", "console=ttyS0", {}, kRsdp};
  args.linux_clearcpuid = "smap,popcnt";
  auto pvh = load_kernel(ram, test::build_elf(pvh_kernel(pvh_note(kEntry))).bytes, args);
  ASSERT_TRUE(pvh.ok()) << pvh.error().message;
  auto info = ram.read_obj<HvmStartInfo>(GuestAddress{pvh->ebx});
  EXPECT_EQ(read_string(ram, info->cmdline_paddr), "console=ttyS0 clearcpuid=smap,popcnt");

  // Not a Linux option: a multiboot kernel's command line stays its own.
  GuestRam ram2 = test::make_ram(kRam);
  KernelArgs mb_args{"kernel.elf", "x", {}, kRsdp};
  mb_args.linux_clearcpuid = "smap";
  auto mb = load_kernel(ram2, test::build_elf(test::standard_kernel(false)).bytes, mb_args);
  ASSERT_TRUE(mb.ok()) << mb.error().message;
  EXPECT_EQ(mb->protocol, BootProtocol::kMultiboot);
  auto mb_cmdline_at = ram2.read_obj<uint32_t>(GuestAddress{mb->ebx + 16});  // multiboot_info.cmdline
  ASSERT_TRUE(mb_cmdline_at.ok());
  EXPECT_EQ(test::read_cstring(ram2, *mb_cmdline_at), "kernel.elf x");
}

}  // namespace
}  // namespace dvmm::boot
