// Booting a multiboot (v1) kernel: parse and load the image
// (multiboot_image.hpp), then write the boot information and modules
// (multiboot_info.hpp).
//
// What the VMM does with the result (spec 3.2, machine state): enter the
// BSP at `entry` in 32-bit flat protected mode, EAX = kMultibootBootloaderMagic,
// EBX = info_address, CS a 32-bit execute/read code segment and DS/ES/FS/GS/SS
// 32-bit read/write data segments, all base 0 limit 4 GiB, CR0.PG = 0,
// CR0.PE = 1, EFLAGS.IF = 0 and VM = 0, A20 enabled. ESP, the GDTR and the
// IDTR are undefined for the kernel (a boot GDT may live in kVmmReserved).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "host/boot/multiboot_image.hpp"
#include "host/boot/multiboot_info.hpp"

namespace dvmm::boot {

struct MultibootBoot {
  uint32_t entry;         // EIP
  uint32_t info_address;  // EBX
  uint64_t kernel_end;    // end of the highest kernel segment, bss included
  uint64_t modules_end;   // end of the last module (kernel_end if none)
};

// Validates the image against the guest (before writing anything), loads
// it, and writes the modules and boot information. cmdline is passed as is.
Result<MultibootBoot> load_multiboot(GuestMemory& mem, std::span<const uint8_t> image,
                                     std::string_view cmdline,
                                     std::span<const MultibootModule> modules,
                                     std::string_view bootloader_name = "dvmm");

}  // namespace dvmm::boot
