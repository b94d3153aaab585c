#include "host/boot/linux_boot_params.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "host/boot/area_builder.hpp"
#include "host/boot/image_bytes.hpp"
#include "host/boot/layout.hpp"
#include "host/boot/memory_map.hpp"

namespace dvmm::boot {

namespace {

constexpr uint64_t kSectorSize = 512;
constexpr uint64_t kSetupSects = 0x1F1;     // u8: sectors of real-mode setup code
constexpr uint64_t kDefaultSetupSects = 4;  // what setup_sects = 0 means

const char* const kUsePvh =
    "boot it through the PVH entry instead (--linux-entry pvh, the default)";

using ZeroPage = std::array<uint8_t, kBootParamsSize>;

template <typename T>
void put(ZeroPage& page, uint64_t offset, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  std::memcpy(page.data() + offset, &value, sizeof(T));
}

uint64_t align_up(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

uint32_t low32(uint64_t v) {
  return static_cast<uint32_t>(v);
}
uint32_t high32(uint64_t v) {
  return static_cast<uint32_t>(v >> 32);
}

}  // namespace

Result<LinuxSetupHeader> parse_linux_setup_header(std::span<const uint8_t> image) {
  const uint64_t size = image.size();
  if (!in_file(size, kSetupHeaderMagic, 4) ||
      std::memcmp(image.data() + kSetupHeaderMagic, "HdrS", 4) != 0) {
    return Error::format(
        "not a bzImage: no \"HdrS\" setup header magic at {:#x}; the boot-params "
        "entry boots Linux bzImages only",
        kSetupHeaderMagic);
  }
  if (!in_file(size, kSetupVersion, sizeof(uint16_t))) {
    return Error::format("the bzImage is {} bytes, too short for its setup header", size);
  }
  LinuxSetupHeader h;
  h.version = read_at<uint16_t>(image, kSetupVersion);
  if (h.version < kMinBootProtocol64) {
    return Error::format(
        "the bzImage uses boot protocol {}.{:02}; the 64-bit boot-params entry "
        "needs 2.12 or later (xloadflags, Linux 3.8+): {}",
        h.version >> 8, h.version & 0xFF, kUsePvh);
  }
  // The header's own end: the setup code's short jump at 0x200 skips it.
  h.header_end = kSetupHeaderJumpBase + image[kSetupJumpOffset];
  if (h.header_end < kSetupHeaderMinEnd || h.header_end > kSetupHeaderMaxEnd) {
    return Error::format(
        "the setup header ends at {:#x} (0x202 + the byte at 0x201), outside "
        "[{:#x}, {:#x}] where a boot protocol 2.12+ header ends: the image is "
        "corrupt",
        h.header_end, kSetupHeaderMinEnd, kSetupHeaderMaxEnd);
  }
  if (h.header_end > size) {
    return Error::format("the bzImage is {} bytes, too short for its setup header (to {:#x})", size,
                         h.header_end);
  }
  h.xloadflags = read_at<uint16_t>(image, kSetupXloadflags);
  if ((h.xloadflags & kXlfKernel64) == 0) {
    return Error::format(
        "the image has no XLF_KERNEL_64 in its xloadflags ({:#06x}): it has no "
        "64-bit entry (a 32-bit kernel?); {}",
        h.xloadflags, kUsePvh);
  }
  h.loadflags = image[kSetupLoadflags];
  if ((h.loadflags & kLoadedHigh) == 0) {
    return Error::format(
        "the image's loadflags ({:#04x}) lack LOADED_HIGH: a zImage, loaded "
        "below 1 MiB, which dvmm does not boot; build a bzImage",
        h.loadflags);
  }
  const uint64_t setup_sects = image[kSetupSects] == 0 ? kDefaultSetupSects : image[kSetupSects];
  h.protected_mode_offset = (setup_sects + 1) * kSectorSize;
  if (h.protected_mode_offset + kStartup64Offset >= size) {
    return Error::format(
        "setup_sects = {} puts the protected-mode kernel at {:#x}, but the "
        "{}-byte file ends before its 64-bit entry at +{:#x}: the image is "
        "truncated or setup_sects is corrupt",
        setup_sects, h.protected_mode_offset, size, kStartup64Offset);
  }
  h.protected_mode_size = size - h.protected_mode_offset;
  h.relocatable = image[kSetupRelocatableKernel] != 0;
  h.kernel_alignment = read_at<uint32_t>(image, kSetupKernelAlignment);
  if (h.kernel_alignment == 0 || (h.kernel_alignment & (h.kernel_alignment - 1)) != 0) {
    return Error::format(
        "kernel_alignment {:#x} is not a power of two: the setup header is "
        "corrupt",
        h.kernel_alignment);
  }
  h.initrd_addr_max = read_at<uint32_t>(image, kSetupInitrdAddrMax);
  h.cmdline_size = read_at<uint32_t>(image, kSetupCmdlineSize);
  h.pref_address = read_at<uint64_t>(image, kSetupPrefAddress);
  if (h.relocatable && h.pref_address % h.kernel_alignment != 0) {
    return Error::format(
        "pref_address {:#x} is not a multiple of kernel_alignment {:#x}: the "
        "setup header is corrupt",
        h.pref_address, h.kernel_alignment);
  }
  if (!h.relocatable && h.pref_address < kKernelMinAddress) {
    return Error::format(
        "the kernel is not relocatable and runs at pref_address {:#x}, below "
        "1 MiB where the boot information lives; {}",
        h.pref_address, kUsePvh);
  }
  h.init_size = read_at<uint32_t>(image, kSetupInitSize);
  if (h.init_size < h.protected_mode_size) {
    return Error::format(
        "init_size {:#x} is smaller than the {}-byte protected-mode kernel: the "
        "setup header is corrupt",
        h.init_size, h.protected_mode_size);
  }
  return h;
}

Result<LinuxBoot> load_linux_boot_params(GuestMemory& mem, std::span<const uint8_t> image,
                                         std::string_view cmdline, std::span<const uint8_t> initrd,
                                         uint64_t rsdp_address) {
  const LinuxSetupHeader h = DVMM_TRY(parse_linux_setup_header(image));
  if (cmdline.size() > h.cmdline_size) {
    return Error::format(
        "the kernel command line is {} bytes; this kernel takes at most {} (its "
        "setup header's cmdline_size)",
        cmdline.size(), h.cmdline_size);
  }
  // Everything the kernel is handed must be identity-mapped.
  const uint64_t top = std::min(mem.size(), kIdentityMappedBytes);

  LinuxBoot boot{};
  uint64_t free_end = top;  // the kernel must end below this
  if (!initrd.empty()) {
    uint64_t limit = top;
    if ((h.xloadflags & kXlfCanBeLoadedAbove4G) == 0) {
      limit = std::min<uint64_t>(limit, uint64_t{h.initrd_addr_max} + 1);
    }
    const uint64_t n = initrd.size();
    if (n > limit || ((limit - n) & ~(kPageSize - 1)) < kKernelMinAddress) {
      return Error::format(
          "the {} MiB initrd does not fit below {:#x} (the end of guest RAM, or "
          "the kernel's initrd_addr_max): give the guest more memory (--memory)",
          n >> 20, limit);
    }
    boot.initrd_address = (limit - n) & ~(kPageSize - 1);
    boot.initrd_size = n;
    free_end = boot.initrd_address;
  }

  // pref_address when it is usable; the kernel then decompresses in place.
  // Loaded lower, head_64.S still decompresses at pref_address
  // (LOAD_PHYSICAL_ADDR), so init_size counts from there either way.
  boot.load_address = h.pref_address >= kKernelMinAddress
                          ? h.pref_address
                          : align_up(kKernelMinAddress, h.kernel_alignment);
  const uint64_t run_start = std::max(boot.load_address, h.pref_address);
  if (run_start > free_end || h.init_size > free_end - run_start ||
      h.protected_mode_size > free_end - boot.load_address) {
    return Error::format(
        "the kernel does not fit: loaded at {:#x}, it decompresses into [{:#x}, {:#x}) (init_size "
        "{} MiB from its setup header), but {} at {:#x}; give the guest more memory (--memory)",
        boot.load_address, run_start, run_start + uint64_t{h.init_size}, h.init_size >> 20,
        initrd.empty() ? "guest RAM ends" : "the initrd starts", free_end);
  }
  boot.entry = boot.load_address + kStartup64Offset;

  const std::vector<MemoryRegion> map = guest_memory_map(mem.size());
  if (map.size() > kBpE820Max) {
    return Error::format("the memory map has {} entries; boot_params holds at most {}", map.size(),
                         kBpE820Max);
  }

  // The zero page and the command line, in the low boot-information area.
  AreaBuilder area(kMultibootInfo, "Linux boot parameters");
  boot.boot_params = DVMM_TRY(area.reserve(kBootParamsSize, kPageSize, "boot_params"));
  boot.cmdline_address = DVMM_TRY(area.append_string(cmdline, "the kernel command line"));

  ZeroPage page{};
  std::memcpy(page.data() + kSetupHeaderStart, image.data() + kSetupHeaderStart,
              h.header_end - kSetupHeaderStart);
  put<uint8_t>(page, kSetupTypeOfLoader, kTypeOfLoaderUndefined);
  put<uint8_t>(page, kSetupLoadflags,
               static_cast<uint8_t>((h.loadflags | kLoadedHigh) &
                                    ~(kQuietFlag | kKeepSegments | kCanUseHeap)));
  put<uint32_t>(page, kSetupCode32Start, low32(boot.load_address));
  put<uint32_t>(page, kSetupRamdiskImage, low32(boot.initrd_address));
  put<uint32_t>(page, kSetupRamdiskSize, low32(boot.initrd_size));
  put<uint32_t>(page, kBpExtRamdiskImage, high32(boot.initrd_address));
  put<uint32_t>(page, kBpExtRamdiskSize, high32(boot.initrd_size));
  put<uint32_t>(page, kSetupCmdLinePtr, low32(boot.cmdline_address));
  put<uint32_t>(page, kBpExtCmdLinePtr, high32(boot.cmdline_address));
  put<uint64_t>(page, kBpAcpiRsdpAddr, rsdp_address);
  put<uint8_t>(page, kBpE820Entries, static_cast<uint8_t>(map.size()));
  for (size_t i = 0; i < map.size(); ++i) {
    const uint64_t at = kBpE820Table + i * kBpE820EntrySize;
    put<uint64_t>(page, at, map[i].base);
    put<uint64_t>(page, at + 8, map[i].length);
    put<uint32_t>(page, at + 16, static_cast<uint32_t>(map[i].type));
  }
  area.put_bytes(boot.boot_params, page);

  DVMM_TRY(mem.write(GuestAddress{boot.load_address}, image.subspan(h.protected_mode_offset)));
  if (!initrd.empty()) DVMM_TRY(mem.write(GuestAddress{boot.initrd_address}, initrd));
  DVMM_TRY(area.commit(mem));
  boot.tables = DVMM_TRY(write_long_mode_tables(mem));
  return boot;
}

}  // namespace dvmm::boot
