// Picks the boot protocol for a kernel image and loads it:
//   - a Linux bzImage, entered as KernelArgs::linux_entry says:
//       LinuxEntry::kPvh (the default, `--linux-entry pvh`): its xz payload
//         is unpacked on the host (bzimage.hpp) and the ELF inside is
//         booted through its PVH entry (pvh.hpp). Fast where guest ring 0
//         is emulated, as on the PVM hosts dvmm is developed on;
//       LinuxEntry::kBootParams (`--linux-entry boot-params`): Linux's own
//         64-bit boot protocol (linux_boot_params.hpp), as QEMU and
//         cloud-hypervisor boot a bzImage: the kernel decompresses
//         itself in the guest, which is quick on VMX/SVM hosts and takes
//         many minutes where ring 0 is emulated;
//   - an ELF with a PVH entry note and no multiboot header: PVH;
//   - anything else must be a multiboot (v1) kernel (multiboot.hpp).
// Only a bzImage has a boot-params entry: asking for it with any other
// kernel is an error. Multiboot and PVH enter the BSP in 32-bit flat
// protected mode (they differ in EAX/EBX and in what the loader writes to
// guest memory); boot-params enters in 64-bit long mode on page tables the
// loader wrote (BootEntry::mode).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "host/arch/x86_state.hpp"
#include "host/common/result.hpp"
#include "host/memory/guest_memory.hpp"

namespace dvmm::boot {

enum class BootProtocol { kMultiboot, kPvh, kLinuxBootParams };

// How a Linux bzImage is entered (see above).
enum class LinuxEntry { kPvh, kBootParams };

// "pvh" or "boot-params" (the --linux-entry and [vm] linux_entry values);
// anything else is an Error listing those.
Result<LinuxEntry> parse_linux_entry(std::string_view name);
const char* linux_entry_name(LinuxEntry entry);

// The CPU mode the BSP starts in (x86_state.hpp has the register states).
enum class EntryMode { kProtected32, kLong64 };

struct BootEntry {
  BootProtocol protocol = BootProtocol::kMultiboot;
  EntryMode mode = EntryMode::kProtected32;
  // kProtected32: EIP, EAX, EBX.
  uint32_t eip = 0;
  uint32_t eax = 0;
  uint32_t ebx = 0;
  // kLong64: RIP, RSI, CR3 (the identity map) and the GDT the loader wrote,
  // with the code and data selectors CS and DS/ES/SS/FS/GS take.
  x86::LongModeEntry long_mode;
  std::string description;  // for the log: "multiboot", "PVH (bzImage unpacked, 66 MiB)"
};

struct KernelArgs {
  std::string_view path;     // for messages; multiboot passes it first on the command line
  std::string_view cmdline;
  std::span<const uint8_t> initrd;  // empty: none
  uint64_t rsdp_address = 0;
  LinuxEntry linux_entry = LinuxEntry::kPvh;  // bzImages only
  // Linux only (bzImage or PVH ELF): CPU features the kernel must not use
  // (x86::linux_clearcpuid: the vCPU cannot run them but the guest sees
  // them in CPUID anyway). Appended as "clearcpuid=..." unless the command
  // line already has a clearcpuid=, which is the operator's to set.
  std::string_view linux_clearcpuid = {};
};

// `cmdline` with "clearcpuid=`features`" appended, as load_kernel gives a
// Linux kernel; unchanged when `features` is empty or `cmdline` has one.
std::string linux_cmdline(std::string_view cmdline, std::string_view features);

Result<BootEntry> load_kernel(GuestMemory& mem, std::span<const uint8_t> image,
                              const KernelArgs& args);

}  // namespace dvmm::boot
