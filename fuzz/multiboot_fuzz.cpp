// Fuzzes the multiboot (v1) loader (host/boot/multiboot*.hpp): parsing a
// kernel image (multiboot header, ELF32/ELF64 program headers or the a.out
// kludge), checking its placement, loading it and writing the boot
// information with a command line and modules. The Linux loader (bzImage,
// PVH) has its own target, linux_loader_fuzz.
//
// Input: u8 RAM size selector, u8 command line length and the bytes, u8
// module count (0-2) and per module u16 length and the bytes, then the
// kernel image (the rest).
//
// Guest RAM is a GuestMemory that bounds-checks every access, touches the
// first and last byte of each buffer it is handed (so ASan sees a bad
// span) and stores nothing: a loader may legitimately zero a large bss,
// and copying megabytes per run would only slow the fuzzer down.
//
// Properties: a parsed image's segments are sorted, disjoint, inside the
// file, and the entry point lies in one's file-backed bytes; loading
// touches only guest RAM.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.hpp"
#include "host/boot/multiboot.hpp"
#include "tests/unit/boot/test_images.hpp"

namespace {

using namespace dvmm;
using namespace dvmm::boot;
using dvmm::fuzz::fail;
using dvmm::fuzz::Input;
using dvmm::fuzz::Output;

class DiscardMemory final : public GuestMemory {
 public:
  explicit DiscardMemory(uint64_t size) : size_(size) {}
  uint64_t size() const override { return size_; }
  Status read(GuestAddress gpa, std::span<uint8_t> out) const override {
    if (!contains(gpa, out.size())) return Error::format("read outside RAM at {:#x}", gpa.raw);
    std::fill(out.begin(), out.end(), uint8_t{0});
    return {};
  }
  Status write(GuestAddress gpa, std::span<const uint8_t> in) override {
    if (!contains(gpa, in.size())) fail("a loader wrote outside guest RAM");
    if (!in.empty()) sink_ = sink_ + in.front() + in.back();
    return {};
  }

 private:
  uint64_t size_;
  volatile uint8_t sink_ = 0;
};

void check_parsed(const MultibootImage& img, size_t file_size) {
  if (img.segments.empty()) fail("a parsed image has no segment");
  bool entry_inside = false;
  for (size_t i = 0; i < img.segments.size(); ++i) {
    const LoadSegment& s = img.segments[i];
    if (s.mem_size == 0 || s.file_size > s.mem_size) fail("segment sizes inconsistent");
    if (s.file_offset > file_size || s.file_size > file_size - s.file_offset) {
      fail("segment outside the file");
    }
    if (i > 0) {
      const LoadSegment& p = img.segments[i - 1];
      if (s.paddr < p.paddr + p.mem_size) fail("segments unsorted or overlapping");
    }
    if (img.entry >= s.paddr && img.entry - s.paddr < s.file_size) entry_inside = true;
  }
  if (!entry_inside) fail("entry point outside the loaded bytes");
  if (img.load_start != img.segments.front().paddr ||
      img.load_end != img.segments.back().paddr + img.segments.back().mem_size) {
    fail("load_start/load_end disagree with the segments");
  }
}

void run(Input& in) {
  // 1 MiB + 4 KiB (the smallest accepted) up to 3 GiB (the largest), and
  // some too small.
  uint64_t ram = 0;
  const uint8_t sel = in.u8();
  switch (sel % 4) {
    case 0: ram = (uint64_t{1} << 20) + 4096; break;
    case 1: ram = uint64_t{3} << 30; break;
    case 2: ram = uint64_t{sel} << 20; break;
    default: ram = uint64_t{1 + sel % 64u} << 24; break;
  }
  const std::span<const uint8_t> cmd = in.bytes(in.u8());
  const std::string cmdline(cmd.begin(), cmd.end());
  std::vector<MultibootModule> modules(in.u8() % 3);
  for (MultibootModule& m : modules) {
    const std::span<const uint8_t> b = in.bytes(in.u16() % 8192u);
    m.data.assign(b.begin(), b.end());
    m.cmdline = "module";
  }
  const std::span<const uint8_t> image = in.rest();

  Result<MultibootImage> parsed = parse_multiboot_image(image);
  if (parsed.ok()) {
    check_parsed(*parsed, image.size());
    (void)check_multiboot_placement(*parsed, ram);
  }
  DiscardMemory mem(ram);
  Result<MultibootBoot> boot = load_multiboot(mem, image, cmdline, modules);
  if (boot.ok() && !parsed.ok()) fail("load_multiboot accepted an image parse refused");
  if (boot.ok() && boot->modules_end > ram) fail("modules placed past the end of RAM");
}

std::vector<dvmm::fuzz::Seed> seeds() {
  namespace t = dvmm::boot::test;
  auto seed = [](uint8_t ram_sel, std::string_view cmdline, size_t modules,
                 const std::vector<uint8_t>& image) {
    Output o;
    o.u8(ram_sel).u8(static_cast<uint8_t>(cmdline.size())).text(cmdline);
    o.u8(static_cast<uint8_t>(modules));
    for (size_t i = 0; i < modules; ++i) o.u16(16).text("module contents!");
    o.bytes(image);
    return o.data();
  };
  // Smaller than the unit tests' kernels: one text segment each.
  t::ElfSpec small32;
  small32.entry = t::kTextAddr + 0x10;
  small32.segments.push_back(
      t::TestSegment{t::kTextAddr, 0, t::pattern(0x40, 1), 0x2000, PT_LOAD, PF_R | PF_X});
  t::ElfSpec small64 = small32;
  small64.elf64 = true;
  // Linked high (virtual 0xC0100000) and loaded at 1 MiB, as Linux-like
  // kernels are: the entry point is translated.
  t::ElfSpec higher_half = small32;
  higher_half.entry = 0xC0100010;
  higher_half.segments[0].vaddr = 0xC0100000;
  t::AoutSpec aout;
  aout.file_size = 0x240;
  aout.load_end_addr = 0x100200;
  return {
      {"elf32", seed(7, "console=ttyS0", 1, t::build_elf(small32).bytes)},
      {"elf64", seed(3, "", 0, t::build_elf(small64).bytes)},
      {"elf32-higher-half", seed(0, "x", 2, t::build_elf(higher_half).bytes)},
      {"aout-kludge", seed(1, "quiet", 1, t::build_aout(aout))},
  };
}

}  // namespace

DVMM_FUZZ_TARGET(seeds, run)
