// Linux's own x86 boot protocol, 64-bit entry (Documentation/arch/x86/
// boot.rst, "64-bit BOOT PROTOCOL"; the zero page: zero-page.rst), as
// Firecracker, cloud-hypervisor's linux-loader and QEMU use it: the
// bzImage's protected-mode part is loaded as is and the kernel decompresses
// itself in the guest. The alternative, the default, is pvh.hpp on the
// payload unpacked on the host (bzimage.hpp): on hosts that emulate guest
// ring 0 the in-guest decompression takes many minutes.
//
// The loader:
//   - parses the setup header at 0x1F1 (parse_linux_setup_header): "HdrS",
//     boot protocol 2.12+ (xloadflags), XLF_KERNEL_64, setup_sects (0 means
//     4), init_size, kernel_alignment, pref_address, cmdline_size;
//   - puts the initrd page-aligned at the top of RAM (below initrd_addr_max
//     unless XLF_CAN_BE_LOADED_ABOVE_4G), as the PVH loader does;
//   - loads the protected-mode kernel (the file after the (setup_sects + 1)
//     * 512 bytes of real-mode setup) at pref_address, or, when that is not
//     a usable address (below 1 MiB, or not a multiple of kernel_alignment
//     for a relocatable kernel), at 1 MiB rounded up to kernel_alignment.
//     Either way the kernel decompresses into [max(load, pref_address),
//     + init_size) (head_64.S never runs below LOAD_PHYSICAL_ADDR, which is
//     pref_address), so that range must lie in RAM below the initrd;
//   - writes the zero page (struct boot_params) and the command line in the
//     low boot-information area (layout.hpp kMultibootInfo), and the page
//     tables and GDT of long_mode_tables.hpp.
//
// Zero page fields dvmm writes (offsets into boot_params; the rest is 0):
//   0x070  acpi_rsdp_addr       the RSDP (KernelArgs::rsdp_address)
//   0x0C0  ext_ramdisk_image    initrd address >> 32
//   0x0C4  ext_ramdisk_size     initrd size >> 32
//   0x0C8  ext_cmd_line_ptr     command line address >> 32
//   0x1E8  e820_entries         guest_memory_map (memory_map.hpp), <= 128
//   0x1F1  hdr                  the image's setup header, bytes 0x1F1 up to
//                               its end (0x202 + the byte at 0x201), then:
//   0x210    type_of_loader     0xFF (undefined loader)
//   0x211    loadflags          LOADED_HIGH set; QUIET, KEEP_SEGMENTS and
//                               CAN_USE_HEAP cleared (no real-mode heap;
//                               early messages wanted)
//   0x214    code32_start       the load address
//   0x218    ramdisk_image      initrd address (low 32 bits), 0 if none
//   0x21C    ramdisk_size       initrd size (low 32 bits)
//   0x228    cmd_line_ptr       command line address (low 32 bits)
//   0x2D0  e820_table           20-byte entries {addr, size, type}
// Bytes 0x1EF (the sentinel) and everything before 0x1F1 stay 0, so
// Linux's sanitize_boot_params keeps what is written.
//
// The BSP enters at load address + 0x200 (startup_64) in long mode with RSI
// = the zero page (x86_state.hpp set_long_mode_entry). Every field read
// from the image is bounds-checked against the file; a malformed or
// unsuitable image is an Error naming the field and what to do instead.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "host/boot/long_mode_tables.hpp"
#include "host/common/result.hpp"
#include "host/memory/guest_memory.hpp"

namespace dvmm::boot {

// Setup header fields, as file offsets (the same offsets in boot_params).
inline constexpr uint64_t kSetupHeaderStart = 0x1F1;
inline constexpr uint64_t kSetupJumpOffset = 0x201;  // the setup's short jump: header end
inline constexpr uint64_t kSetupHeaderJumpBase = 0x202;
inline constexpr uint64_t kSetupHeaderMagic = 0x202;  // "HdrS"
inline constexpr uint64_t kSetupVersion = 0x206;
inline constexpr uint64_t kSetupTypeOfLoader = 0x210;
inline constexpr uint64_t kSetupLoadflags = 0x211;
inline constexpr uint64_t kSetupCode32Start = 0x214;
inline constexpr uint64_t kSetupRamdiskImage = 0x218;
inline constexpr uint64_t kSetupRamdiskSize = 0x21C;
inline constexpr uint64_t kSetupCmdLinePtr = 0x228;
inline constexpr uint64_t kSetupInitrdAddrMax = 0x22C;
inline constexpr uint64_t kSetupKernelAlignment = 0x230;
inline constexpr uint64_t kSetupRelocatableKernel = 0x234;
inline constexpr uint64_t kSetupXloadflags = 0x236;
inline constexpr uint64_t kSetupCmdlineSize = 0x238;
inline constexpr uint64_t kSetupPrefAddress = 0x258;
inline constexpr uint64_t kSetupInitSize = 0x260;
// The header must reach past init_size; boot_params has room up to 0x290.
inline constexpr uint64_t kSetupHeaderMinEnd = kSetupInitSize + 4;
inline constexpr uint64_t kSetupHeaderMaxEnd = 0x290;

// Zero page (struct boot_params) fields outside the setup header.
inline constexpr uint64_t kBootParamsSize = 4096;
inline constexpr uint64_t kBpAcpiRsdpAddr = 0x070;
inline constexpr uint64_t kBpExtRamdiskImage = 0x0C0;
inline constexpr uint64_t kBpExtRamdiskSize = 0x0C4;
inline constexpr uint64_t kBpExtCmdLinePtr = 0x0C8;
inline constexpr uint64_t kBpE820Entries = 0x1E8;
inline constexpr uint64_t kBpSentinel = 0x1EF;
inline constexpr uint64_t kBpE820Table = 0x2D0;
inline constexpr uint64_t kBpE820Max = 128;
inline constexpr uint64_t kBpE820EntrySize = 20;  // u64 addr, u64 size, u32 type, packed

inline constexpr uint16_t kMinBootProtocol64 = 0x020C;  // 2.12: xloadflags
inline constexpr uint8_t kTypeOfLoaderUndefined = 0xFF;
// loadflags
inline constexpr uint8_t kLoadedHigh = 1u << 0;
inline constexpr uint8_t kQuietFlag = 1u << 5;
inline constexpr uint8_t kKeepSegments = 1u << 6;
inline constexpr uint8_t kCanUseHeap = 1u << 7;
// xloadflags
inline constexpr uint16_t kXlfKernel64 = 1u << 0;
inline constexpr uint16_t kXlfCanBeLoadedAbove4G = 1u << 1;
// startup_64 is at this offset into the protected-mode kernel.
inline constexpr uint64_t kStartup64Offset = 0x200;

// The setup header fields the loader uses, validated.
struct LinuxSetupHeader {
  uint16_t version = 0;
  uint8_t loadflags = 0;
  uint16_t xloadflags = 0;
  bool relocatable = false;
  uint32_t kernel_alignment = 0;  // a power of two
  uint32_t initrd_addr_max = 0;
  uint32_t cmdline_size = 0;  // longest command line, without the NUL
  uint64_t pref_address = 0;
  uint32_t init_size = 0;              // >= protected_mode_size
  uint64_t header_end = 0;             // file offset just past the header (copied from 0x1F1)
  uint64_t protected_mode_offset = 0;  // (setup_sects + 1) * 512
  uint64_t protected_mode_size = 0;    // the rest of the file, > 0
};

struct LinuxBoot {
  uint64_t load_address = 0;  // the protected-mode kernel, = code32_start
  uint64_t entry = 0;         // RIP: load_address + 0x200
  uint64_t boot_params = 0;   // RSI: the zero page
  uint64_t cmdline_address = 0;
  uint64_t initrd_address = 0;  // 0 when there is none
  uint64_t initrd_size = 0;
  LongModeTables tables;
};

// Parses and checks the setup header of a bzImage for the 64-bit entry.
Result<LinuxSetupHeader> parse_linux_setup_header(std::span<const uint8_t> image);

// Loads a bzImage for the 64-bit entry: the protected-mode kernel, the
// initrd (may be empty), the zero page and command line, the page tables
// and GDT. rsdp_address is where the ACPI tables' RSDP is.
Result<LinuxBoot> load_linux_boot_params(GuestMemory& mem, std::span<const uint8_t> image,
                                         std::string_view cmdline, std::span<const uint8_t> initrd,
                                         uint64_t rsdp_address);

}  // namespace dvmm::boot
