#include "host/boot/multiboot.hpp"

namespace dvmm::boot {

Result<MultibootBoot> load_multiboot(GuestMemory& mem, std::span<const uint8_t> image,
                                     std::string_view cmdline,
                                     std::span<const MultibootModule> modules,
                                     std::string_view bootloader_name) {
  DVMM_TRY(check_multiboot_ram_size(mem.size()));
  MultibootImage parsed = DVMM_TRY(parse_multiboot_image(image));
  DVMM_TRY(check_multiboot_placement(parsed, mem.size()));
  DVMM_TRY(load_multiboot_image(mem, image, parsed));
  MultibootInfoPlacement info =
      DVMM_TRY(write_multiboot_info(mem, parsed.load_end, cmdline, modules, bootloader_name));
  return MultibootBoot{parsed.entry, info.info_address, parsed.load_end, info.modules_end};
}

}  // namespace dvmm::boot
