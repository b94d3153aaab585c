// Picks the boot protocol for a kernel image and loads it:
//   - a Linux bzImage: its xz payload is unpacked on the host (bzimage.hpp)
//     and the ELF inside is booted through its PVH entry (pvh.hpp);
//   - an ELF with a PVH entry note and no multiboot header: PVH;
//   - anything else must be a multiboot (v1) kernel (multiboot.hpp).
// Every protocol enters the BSP in 32-bit flat protected mode; they differ
// in EAX/EBX and in what the loader writes to guest memory.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "host/common/result.hpp"
#include "host/memory/guest_memory.hpp"

namespace dvmm::boot {

enum class BootProtocol { kMultiboot, kPvh };

struct BootEntry {
  BootProtocol protocol = BootProtocol::kMultiboot;
  uint32_t eip = 0;
  uint32_t eax = 0;
  uint32_t ebx = 0;
  std::string description;  // for the log: "multiboot", "PVH (bzImage unpacked, 66 MiB)"
};

struct KernelArgs {
  std::string_view path;     // for messages; multiboot passes it first on the command line
  std::string_view cmdline;
  std::span<const uint8_t> initrd;  // empty: none
  uint64_t rsdp_address = 0;
};

Result<BootEntry> load_kernel(GuestMemory& mem, std::span<const uint8_t> image,
                              const KernelArgs& args);

}  // namespace dvmm::boot
