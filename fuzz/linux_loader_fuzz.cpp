// Fuzzes the kernel loader's front door, load_kernel (host/boot/
// kernel_loader.hpp), with the image, command line and initrd a VM's
// configuration names: bzImage unpacking (setup header, xz payload via
// liblzma; bzimage.hpp), ELF parsing with PT_NOTE notes (elf_image.hpp), the
// PVH loader (pvh.hpp), Linux's 64-bit boot-params entry (setup header,
// zero page, page tables and GDT; linux_boot_params.hpp, long_mode_tables.hpp)
// and the choice between them and multiboot (the multiboot loader itself
// has multiboot_fuzz).
//
// Input: u8 RAM size selector (bits 0-5: 1-64 MiB, bit 6: plus 6 KiB, so
// not page-aligned; bit 7: the boot-params Linux entry instead of PVH),
// u16 command line length (mod 4096, past Linux's 2047)
// and the bytes, u32 initrd size (mod 80 MiB: zero bytes; the loader copies
// the initrd without reading it, so only its size matters), u32 RSDP
// address, then the kernel image (the rest).
//
// Guest RAM bounds-checks every access and stores nothing but the low
// 1 MiB (where the start info goes, so it can be checked); the rest is
// discarded after touching the first and last byte of each buffer (so ASan
// sees a bad span), as in multiboot_fuzz. Every write is recorded.
//
// bzImages are unpacked with a 1 MiB bound first: load_kernel unpacks with
// the production bound (512 MiB) and sizes its first buffer from the size
// the image claims, so it is called only when both are small; otherwise
// the unpacked ELF is booted with load_pvh, as load_kernel would.
//
// Properties, beyond the sanitizers: bounded unpacking never returns more
// than the bound; a PVH boot's entry lies in a loaded segment's file bytes
// (so below 4 GiB and above 1 MiB); its start info lies in the low
// boot-information area (layout.hpp kMultibootInfo) and says what was
// asked (magic, version 1, the command line byte for byte and NUL-
// terminated, the RSDP, the E820 map of guest_memory_map, the initrd as
// module 0 page-aligned inside RAM above the kernel); every write lands in
// a segment, the initrd or that area; a multiboot boot has no initrd and
// its information in the same area. A boot-params boot happens only for a
// bzImage whose setup header parse_linux_setup_header accepts; it enters at
// the protected-mode kernel's startup_64 (load address + 0x200, the load
// address at or above 1 MiB and the kernel's init_size inside RAM); its zero
// page lies in the boot-information area and holds the image's setup header
// byte for byte except the fields the loader sets (type_of_loader 0xFF,
// loadflags with LOADED_HIGH and without QUIET/KEEP_SEGMENTS/CAN_USE_HEAP,
// code32_start, the initrd, the command line), nothing before it (the
// sentinel stays 0), the RSDP and the E820 map of guest_memory_map; the
// command line fits the header's cmdline_size; the initrd lies page-aligned
// above the kernel's init_size; the page tables identity-map what the
// kernel is handed and the GDT's code and data descriptors are Linux's
// __BOOT_CS and __BOOT_DS; every write lands in the kernel, the initrd, the
// boot-information area, the page tables or the GDT. Any other kernel with
// the boot-params entry asked for is refused.
#include <elf.h>
#include <lzma.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz/fuzz_input.hpp"
#include "host/boot/bzimage.hpp"
#include "host/boot/elf_image.hpp"
#include "host/boot/kernel_loader.hpp"
#include "host/boot/layout.hpp"
#include "host/boot/linux_boot_params.hpp"
#include "host/boot/long_mode_tables.hpp"
#include "host/boot/memory_map.hpp"
#include "host/boot/multiboot.hpp"
#include "host/boot/pvh.hpp"
#include "tests/unit/boot/test_images.hpp"

namespace {

using namespace dvmm;
using namespace dvmm::boot;
using dvmm::fuzz::fail;
using dvmm::fuzz::Input;
using dvmm::fuzz::Output;

constexpr uint64_t kMaxVmlinux = 1 << 20;
constexpr uint64_t kMaxInitrd = 80ull << 20;
constexpr uint64_t kShadowSize = 1 << 20;  // the low MiB is kept

// A read-only stretch of zero pages the initrd spans point into: never
// touched beyond a byte per write, so it costs no memory.
std::span<const uint8_t> zero_initrd(uint64_t size) {
  static const uint8_t* base = [] {
    void* p = mmap(nullptr, kMaxInitrd, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) fail("cannot map the initrd's zero pages");
    return static_cast<const uint8_t*>(p);
  }();
  return {base, static_cast<size_t>(size)};
}

class RecordingDiscardMemory final : public GuestMemory {
 public:
  explicit RecordingDiscardMemory(uint64_t size) : size_(size) {}
  // Leaves the shadow zeroed for the next run.
  ~RecordingDiscardMemory() override {
    for (const auto& [start, end] : writes) {
      if (start < kShadowSize) {
        std::fill(shadow().begin() + static_cast<ptrdiff_t>(start),
                  shadow().begin() + static_cast<ptrdiff_t>(std::min(end, kShadowSize)), uint8_t{0});
      }
    }
  }
  uint64_t size() const override { return size_; }
  Status read(GuestAddress gpa, std::span<uint8_t> out) const override {
    if (!contains(gpa, out.size())) return Error::format("read outside RAM at {:#x}", gpa.raw);
    for (size_t i = 0; i < out.size(); ++i) {
      out[i] = gpa.raw + i < kShadowSize ? shadow()[gpa.raw + i] : 0;
    }
    return {};
  }
  Status write(GuestAddress gpa, std::span<const uint8_t> in) override {
    if (!contains(gpa, in.size())) fail("a loader wrote outside guest RAM");
    if (in.empty()) return {};
    sink_ = sink_ + in.front() + in.back();
    writes.emplace_back(gpa.raw, gpa.raw + in.size());
    if (gpa.raw < kShadowSize) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), kShadowSize - gpa.raw));
      std::memcpy(shadow().data() + gpa.raw, in.data(), n);
    }
    return {};
  }
  template <typename T>
  T at(uint64_t gpa) const {
    if (gpa > kShadowSize - sizeof(T)) fail("read past the shadowed low memory");
    T v;
    std::memcpy(&v, shadow().data() + gpa, sizeof(T));
    return v;
  }
  const uint8_t* low(uint64_t gpa) const { return shadow().data() + gpa; }

  std::vector<std::pair<uint64_t, uint64_t>> writes;  // [start, end)

 private:
  // One buffer for every run: cleared per run, never reallocated.
  static std::vector<uint8_t>& shadow() {
    static std::vector<uint8_t> s(kShadowSize);
    return s;
  }
  uint64_t size_;
  volatile uint8_t sink_ = 0;
};

uint32_t le32(std::span<const uint8_t> b, uint64_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}

// The uncompressed size a bzImage's payload claims in its last 4 bytes
// (bzimage.cpp sizes its first buffer from it), or 0 when the header does
// not locate a payload.
uint64_t claimed_size(std::span<const uint8_t> image) {
  if (image.size() < 0x250) return 0;
  const uint64_t sects = image[0x1F1] == 0 ? 4 : image[0x1F1];
  const uint64_t offset = (sects + 1) * 512 + le32(image, 0x248);
  const uint64_t length = le32(image, 0x24C);
  if (offset > image.size() || length > image.size() - offset || length < 4) return 0;
  return le32(image, offset + length - 4);
}

bool inside(GuestRange r, uint64_t at, uint64_t len) {
  return at >= r.start && at <= r.end && len <= r.end - at;
}

struct Outcome {
  BootProtocol protocol;
  uint32_t eip, eax, ebx;
};

// The identity map from the page tables in shadowed low memory: the
// physical address of linear `at`, or ~0 when it is not mapped.
uint64_t translate(const RecordingDiscardMemory& mem, uint64_t cr3, uint64_t at) {
  constexpr uint64_t kAddr = 0x000FFFFFFFFFF000ull;
  uint64_t table = cr3 & kAddr;
  for (int level = 3; level >= 1; --level) {
    if (!kBootPageTables.contains(table)) fail("a page table outside kBootPageTables");
    const uint64_t e = mem.at<uint64_t>(table + ((at >> (12 + 9 * level)) & 511) * 8);
    if ((e & x86::kPtePresent) == 0 || (e & x86::kPteWritable) == 0) return ~0ull;
    if (level == 1) {
      if ((e & x86::kPteLargePage) == 0) fail("a page directory entry that is not a 2 MiB page");
      return (e & 0x000FFFFFFFE00000ull) + (at & (x86::kLargePageSize - 1));
    }
    table = e & kAddr;
  }
  return ~0ull;
}

void check_boot_params(const BootEntry& e, std::span<const uint8_t> image,
                       const RecordingDiscardMemory& mem, std::string_view cmdline,
                       uint64_t initrd_size, uint64_t rsdp) {
  Result<LinuxSetupHeader> h = parse_linux_setup_header(image);
  if (!h) fail("boot-params boot of an image parse_linux_setup_header refuses");
  if (e.mode != EntryMode::kLong64) fail("boot-params entry not in long mode");
  const x86::LongModeEntry& lm = e.long_mode;
  const uint64_t load = lm.rip - kStartup64Offset;
  if (load < kKernelMinAddress || load > mem.size() || h->protected_mode_size > mem.size() - load) {
    fail("protected-mode kernel below 1 MiB or past the end of RAM");
  }
  const uint64_t run_start = std::max(load, h->pref_address);
  const uint64_t kernel_end = run_start + h->init_size;
  if (run_start > mem.size() || kernel_end > mem.size()) fail("init_size past the end of RAM");
  if (cmdline.size() > h->cmdline_size) fail("command line longer than cmdline_size accepted");

  // The zero page.
  if (!inside(kMultibootInfo, lm.rsi, kBootParamsSize) || lm.rsi % kPageSize != 0) {
    fail("boot_params outside the boot-information area or not page-aligned");
  }
  const uint8_t* bp = mem.low(lm.rsi);
  auto field = [&](uint64_t off, auto v) {
    decltype(v) x;
    std::memcpy(&x, bp + off, sizeof(x));
    return x;
  };
  for (uint64_t i = 0; i < kSetupHeaderStart; ++i) {
    const bool set = (i >= kBpAcpiRsdpAddr && i < kBpAcpiRsdpAddr + 8) ||
                     (i >= kBpExtRamdiskImage && i < kBpExtCmdLinePtr + 4) ||
                     i == kBpE820Entries;
    if (!set && bp[i] != 0) fail("a byte before the setup header is not zero (sentinel?)");
  }
  for (uint64_t i = kSetupHeaderStart; i < h->header_end; ++i) {
    const bool set = i == kSetupTypeOfLoader || i == kSetupLoadflags ||
                     (i >= kSetupCode32Start && i < kSetupRamdiskSize + 4) ||
                     (i >= kSetupCmdLinePtr && i < kSetupCmdLinePtr + 4);
    if (!set && bp[i] != image[i]) fail("the setup header is not the image's byte for byte");
  }
  for (uint64_t i = h->header_end; i < kBpE820Table; ++i) {
    if (bp[i] != 0) fail("a byte past the setup header is not zero");
  }
  if (bp[kSetupTypeOfLoader] != kTypeOfLoaderUndefined) fail("type_of_loader is not 0xFF");
  const uint8_t loadflags = bp[kSetupLoadflags];
  if ((loadflags & kLoadedHigh) == 0 ||
      (loadflags & (kQuietFlag | kKeepSegments | kCanUseHeap)) != 0) {
    fail("loadflags wrong");
  }
  if (field(kSetupCode32Start, uint32_t{}) != load) fail("code32_start is not the load address");
  if (field(kBpAcpiRsdpAddr, uint64_t{}) != rsdp) fail("acpi_rsdp_addr is not the one given");
  const uint64_t cmd = field(kSetupCmdLinePtr, uint32_t{}) |
                       uint64_t{field(kBpExtCmdLinePtr, uint32_t{})} << 32;
  if (!inside(kMultibootInfo, cmd, cmdline.size() + 1) ||
      std::memcmp(mem.low(cmd), cmdline.data(), cmdline.size()) != 0 ||
      mem.low(cmd)[cmdline.size()] != 0) {
    fail("command line not copied byte for byte, NUL-terminated, in the area");
  }
  const std::vector<MemoryRegion> map = guest_memory_map(mem.size());
  if (bp[kBpE820Entries] != map.size()) fail("e820_entries is not the memory map's size");
  for (size_t i = 0; i < map.size(); ++i) {
    const uint64_t at = kBpE820Table + i * kBpE820EntrySize;
    if (field(at, uint64_t{}) != map[i].base || field(at + 8, uint64_t{}) != map[i].length ||
        field(at + 16, uint32_t{}) != static_cast<uint32_t>(map[i].type)) {
      fail("e820 entry differs from guest_memory_map");
    }
  }
  for (uint64_t i = kBpE820Table + map.size() * kBpE820EntrySize; i < kBootParamsSize; ++i) {
    if (bp[i] != 0) fail("stray bytes after the E820 table");
  }
  const uint64_t rd = field(kSetupRamdiskImage, uint32_t{}) |
                      uint64_t{field(kBpExtRamdiskImage, uint32_t{})} << 32;
  const uint64_t rd_size = field(kSetupRamdiskSize, uint32_t{}) |
                           uint64_t{field(kBpExtRamdiskSize, uint32_t{})} << 32;
  if (rd_size != initrd_size || (initrd_size == 0 && rd != 0)) fail("ramdisk fields wrong");
  if (initrd_size != 0 && (rd % kPageSize != 0 || rd < kernel_end || rd > mem.size() ||
                           rd_size > mem.size() - rd)) {
    fail("initrd misplaced: unaligned, past RAM or over the kernel's init_size");
  }

  // Long mode: what the kernel is handed is identity-mapped; the GDT.
  if (!kBootPageTables.contains(lm.cr3) || lm.cr3 % kPageSize != 0) fail("CR3 outside its range");
  for (uint64_t a : {lm.rip, lm.rsi, cmd, load + h->protected_mode_size - 1, kernel_end - 1}) {
    if (translate(mem, lm.cr3, a) != a) fail("what the kernel is given is not identity-mapped");
  }
  if (!inside(kVmmReserved, lm.gdt_base, uint64_t{lm.gdt_limit} + 1) ||
      lm.code_selector != kBootCodeSelector || lm.data_selector != kBootDataSelector ||
      lm.gdt_limit < kBootDataSelector + 7 ||
      mem.at<uint64_t>(lm.gdt_base + lm.code_selector) != x86::kGdtFlatCode64 ||
      mem.at<uint64_t>(lm.gdt_base + lm.data_selector) != x86::kGdtFlatData) {
    fail("GDT or selectors wrong");
  }

  // Writes: the kernel, the initrd, the area, the page tables and the GDT.
  const GuestRange initrd{rd, rd + rd_size};
  for (const auto& [start, end] : mem.writes) {
    const uint64_t len = end - start;
    const bool ok = inside({load, load + h->protected_mode_size}, start, len) ||
                    (len != 0 && inside(initrd, start, len)) ||
                    inside(kMultibootInfo, start, len) || inside(kBootPageTables, start, len) ||
                    inside(kVmmReserved, start, len);
    if (!ok) fail("a boot-params boot wrote outside its kernel, initrd and boot areas");
  }
}

void check_pvh(const Outcome& b, std::span<const uint8_t> elf_bytes, const RecordingDiscardMemory& mem,
               std::string_view cmdline, uint64_t initrd_size, uint64_t rsdp) {
  Result<ElfImage> elf = parse_elf(elf_bytes);
  if (!elf) fail("PVH boot of an ELF parse_elf refuses");
  uint64_t kernel_end = 0;
  bool entry_inside = false;
  for (const LoadSegment& s : elf->segments) {
    kernel_end = std::max(kernel_end, s.paddr + s.mem_size);
    if (b.eip >= s.paddr && b.eip - s.paddr < s.file_size) entry_inside = true;
    if (s.paddr < kKernelMinAddress || s.paddr + s.mem_size > mem.size()) {
      fail("a segment loaded below 1 MiB or past the end of RAM");
    }
  }
  if (!entry_inside) fail("PVH entry outside every segment's file bytes");

  // The start info and everything it points to, in the boot-information area.
  if (!inside(kMultibootInfo, b.ebx, sizeof(HvmStartInfo)) || b.ebx % 8 != 0) {
    fail("start info outside the boot-information area or misaligned");
  }
  const auto info = mem.at<HvmStartInfo>(b.ebx);
  if (info.magic != kHvmStartMagic || info.version != 1 || info.flags != 0) {
    fail("start info header wrong");
  }
  if (info.rsdp_paddr != rsdp) fail("start info RSDP is not the one given");
  if (!inside(kMultibootInfo, info.cmdline_paddr, cmdline.size() + 1) ||
      std::memcmp(mem.low(info.cmdline_paddr), cmdline.data(), cmdline.size()) != 0 ||
      mem.low(info.cmdline_paddr)[cmdline.size()] != 0) {
    fail("command line not copied byte for byte, NUL-terminated, in the area");
  }
  const std::vector<MemoryRegion> map = guest_memory_map(mem.size());
  if (info.memmap_entries != map.size() ||
      !inside(kMultibootInfo, info.memmap_paddr, map.size() * sizeof(HvmMemmapEntry))) {
    fail("memory map size or place wrong");
  }
  for (size_t i = 0; i < map.size(); ++i) {
    const auto e = mem.at<HvmMemmapEntry>(info.memmap_paddr + i * sizeof(HvmMemmapEntry));
    if (e.addr != map[i].base || e.size != map[i].length ||
        e.type != static_cast<uint32_t>(map[i].type)) {
      fail("memory map entry differs from guest_memory_map");
    }
  }
  GuestRange initrd{0, 0};
  if (info.nr_modules != (initrd_size != 0 ? 1u : 0u)) fail("module count is not the initrd's");
  if (initrd_size != 0) {
    if (!inside(kMultibootInfo, info.modlist_paddr, sizeof(HvmModlistEntry))) {
      fail("module list outside the area");
    }
    const auto mod = mem.at<HvmModlistEntry>(info.modlist_paddr);
    if (mod.size != initrd_size || mod.paddr % kPageSize != 0 || mod.paddr > mem.size() ||
        mod.size > mem.size() - mod.paddr || mod.paddr < kernel_end) {
      fail("initrd misplaced: unaligned, past RAM or over the kernel");
    }
    initrd = {mod.paddr, mod.paddr + mod.size};
  }

  // Writes: segments, the initrd, the start info area; nothing else.
  for (const auto& [start, end] : mem.writes) {
    const uint64_t len = end - start;
    bool ok = inside(kMultibootInfo, start, len) || (len != 0 && inside(initrd, start, len));
    for (const LoadSegment& s : elf->segments) {
      ok = ok || inside(GuestRange{s.paddr, s.paddr + s.mem_size}, start, len);
    }
    if (!ok) fail("a PVH boot wrote outside its segments, initrd and start info area");
  }
}

void run(Input& in) {
  const uint8_t sel = in.u8();
  const uint64_t ram = (uint64_t{(sel & 63u) + 1} << 20) + ((sel & 64) != 0 ? 0x1800 : 0);
  const std::span<const uint8_t> cmd = in.bytes(in.u16() % 4096u);
  const std::string_view cmdline(reinterpret_cast<const char*>(cmd.data()), cmd.size());
  const std::span<const uint8_t> initrd = zero_initrd(in.u32() % kMaxInitrd);
  const uint64_t rsdp = in.u32();
  const std::span<const uint8_t> image = in.rest();
  const LinuxEntry entry = (sel & 128) != 0 ? LinuxEntry::kBootParams : LinuxEntry::kPvh;
  const KernelArgs args{"fuzz-kernel", cmdline, initrd, rsdp, entry};

  RecordingDiscardMemory mem(ram);
  if (entry == LinuxEntry::kBootParams) {
    // Nothing is unpacked: load_kernel is called whatever the image.
    Result<BootEntry> e = load_kernel(mem, image, args);
    if (!e) return;
    if (!is_bzimage(image) || e->protocol != BootProtocol::kLinuxBootParams) {
      fail("the boot-params entry booted something other than a bzImage");
    }
    check_boot_params(*e, image, mem, cmdline, initrd.size(), rsdp);
    return;
  }
  std::optional<Outcome> booted;
  std::span<const uint8_t> elf = image;  // what a PVH boot loaded
  std::vector<uint8_t> vmlinux;
  const bool bz = is_bzimage(image);
  bool via_load_kernel = true;
  if (bz) {
    Result<std::vector<uint8_t>> unpacked = unpack_bzimage(image, kMaxVmlinux);
    if (unpacked) {
      if (unpacked->size() > kMaxVmlinux) fail("unpack_bzimage returned more than its bound");
      vmlinux = std::move(*unpacked);
      elf = vmlinux;
    } else if (unpacked.error().message.find("unpacks to more than") != std::string::npos) {
      return;  // load_kernel would unpack it, up to 512 MiB
    }
    if (claimed_size(image) > kMaxVmlinux) {
      if (!unpacked) return;
      via_load_kernel = false;
      Result<PvhBoot> b = load_pvh(mem, vmlinux, cmdline, initrd, rsdp);
      if (b) booted = Outcome{BootProtocol::kPvh, b->entry, 0, b->start_info_address};
    }
  }
  if (via_load_kernel) {
    Result<BootEntry> e = load_kernel(mem, image, args);
    if (e) booted = Outcome{e->protocol, e->eip, e->eax, e->ebx};
    if (e && bz && vmlinux.empty()) fail("load_kernel booted a bzImage unpack_bzimage refuses");
  }
  if (!booted) return;

  if (booted->protocol == BootProtocol::kPvh) {
    if (!bz && parse_multiboot_image(image).ok()) fail("PVH chosen for a multiboot kernel");
    check_pvh(*booted, elf, mem, cmdline, initrd.size(), rsdp);
    return;
  }
  if (bz) fail("a bzImage booted through multiboot");
  if (!initrd.empty()) fail("a multiboot kernel booted with an initrd");
  if (booted->eax != kMultibootBootloaderMagic) fail("multiboot EAX is not the magic");
  if (!kMultibootInfo.contains(booted->ebx)) fail("multiboot information outside its area");
}

// Seeds ------------------------------------------------------------------

constexpr uint64_t kKernelAt = 0x1000000;  // 16 MiB, as Linux
constexpr uint64_t kEntry = kKernelAt + 0x10;

// A PVH kernel: a PT_LOAD at 16 MiB with a bss, and a PT_NOTE with the Xen
// PHYS32_ENTRY note (desc_size 8 as Linux writes it, 4 as FreeBSD does).
// build_elf gives each segment its own 4 KiB of the file; they are packed
// behind the headers here, so the image is a few hundred bytes and most
// mutations hit a field rather than padding.
std::vector<uint8_t> pvh_elf(bool elf64, uint32_t desc_size) {
  namespace t = dvmm::boot::test;
  std::vector<uint8_t> note;
  t::poke<uint32_t>(note, 0, 4);
  t::poke<uint32_t>(note, 4, desc_size);
  t::poke<uint32_t>(note, 8, kXenElfNotePhys32Entry);
  note.insert(note.end(), {'X', 'e', 'n', 0});
  for (uint32_t i = 0; i < desc_size; ++i) note.push_back(static_cast<uint8_t>(kEntry >> (8 * i)));
  t::ElfSpec spec;
  spec.elf64 = elf64;
  spec.multiboot_header = false;
  spec.entry = kKernelAt;
  spec.segments.push_back(
      t::TestSegment{kKernelAt, 0, t::pattern(0x40, 9), 0x10000, PT_LOAD, PF_R | PF_X});
  spec.segments.push_back(t::TestSegment{0, 0, note, 0, PT_NOTE, PF_R});
  const t::BuiltElf e = t::build_elf(spec);

  const size_t n = spec.segments.size();
  std::vector<uint8_t> img(e.bytes.begin(),
                           e.bytes.begin() + static_cast<ptrdiff_t>(e.phoff + n * e.phentsize));
  for (size_t i = 0; i < n; ++i) {
    if (elf64) {
      t::poke<uint64_t>(img, e.phdr_field(i, offsetof(Elf64_Phdr, p_offset)), img.size());
    } else {
      t::poke<uint32_t>(img, e.phdr_field(i, offsetof(Elf32_Phdr, p_offset)),
                        static_cast<uint32_t>(img.size()));
    }
    img.insert(img.end(), spec.segments[i].data.begin(), spec.segments[i].data.end());
  }
  return img;
}

// xz as the kernel build makes it (the uncompressed size appended), inside
// a minimal boot protocol 2.15 setup header: 3 setup sectors, the payload
// 0x40 bytes into the protected-mode part.
std::vector<uint8_t> bzimage(const std::vector<uint8_t>& vmlinux, size_t keep_xz_bytes = SIZE_MAX) {
  namespace t = dvmm::boot::test;
  std::vector<uint8_t> xz(lzma_stream_buffer_bound(vmlinux.size()));
  size_t n = 0;
  if (lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, nullptr, vmlinux.data(), vmlinux.size(),
                              xz.data(), &n, xz.size()) != LZMA_OK) {
    fail("liblzma cannot compress a seed");
  }
  xz.resize(std::min(n, keep_xz_bytes));
  t::poke<uint32_t>(xz, xz.size(), static_cast<uint32_t>(vmlinux.size()));

  constexpr uint8_t kSetupSects = 3;
  constexpr uint32_t kPayloadOffset = 0x40;
  std::vector<uint8_t> img((kSetupSects + 1) * 512 + kPayloadOffset, 0);
  img[0x1F1] = kSetupSects;
  t::poke<uint16_t>(img, 0x1FE, 0xAA55);
  std::memcpy(img.data() + 0x202, "HdrS", 4);
  t::poke<uint16_t>(img, 0x206, 0x020F);
  t::poke<uint32_t>(img, 0x248, kPayloadOffset);
  t::poke<uint32_t>(img, 0x24C, static_cast<uint32_t>(xz.size()));
  img.insert(img.end(), xz.begin(), xz.end());
  return img;
}

std::vector<dvmm::fuzz::Seed> seeds() {
  auto seed = [](uint8_t ram_sel, std::string_view cmdline, uint32_t initrd, uint32_t rsdp,
                 const std::vector<uint8_t>& image) {
    Output o;
    o.u8(ram_sel).u16(static_cast<uint16_t>(cmdline.size())).text(cmdline);
    o.u32(initrd).u32(rsdp).bytes(image);
    return o.data();
  };
  const std::vector<uint8_t> elf64 = pvh_elf(true, 8);
  const std::vector<uint8_t> elf32 = pvh_elf(false, 4);
  namespace t = dvmm::boot::test;
  t::AoutSpec aout;
  aout.file_size = 0x240;
  aout.load_end_addr = 0x100200;
  constexpr uint8_t k64MiB = 63, k20MiBOdd = 64 | 19, kBootParams = 128;
  t::BzImage64Spec bz64;
  bz64.protected_mode = 0x300;  // startup_64 and a little after it
  bz64.init_size = 0x400000;
  t::BzImage64Spec bz64_low = bz64;
  bz64_low.pref_address = 0;  // loaded at 1 MiB rounded up to kernel_alignment
  bz64_low.xloadflags = kXlfKernel64;  // the initrd stays below initrd_addr_max
  bz64_low.initrd_addr_max = 0xFFFFFF;
  return {
      {"pvh-elf64", seed(k64MiB, "console=ttyS0 quiet", 10000, 0xE0000, elf64)},
      {"pvh-elf32", seed(k20MiBOdd, "", 0, 0xE0000, elf32)},
      {"bzimage-xz", seed(k64MiB, "console=ttyS0", (1 << 20) + 3, 0xE0000, bzimage(elf64))},
      {"bzimage-truncated", seed(k64MiB, "", 0, 0xE0000, bzimage(elf64, 40))},
      {"multiboot-aout", seed(3, "quiet", 0, 0, t::build_aout(aout))},
      {"boot-params", seed(kBootParams | k64MiB, "console=ttyS0 earlyprintk=serial nokaslr",
                           10000, 0xE0000, t::build_bzimage64(bz64))},
      {"boot-params-low", seed(kBootParams | k20MiBOdd, "", (1 << 20) + 3, 0xE0000,
                               t::build_bzimage64(bz64_low))},
      {"boot-params-elf", seed(kBootParams | k64MiB, "", 0, 0xE0000, elf64)},
  };
}

}  // namespace

DVMM_FUZZ_TARGET(seeds, run)
