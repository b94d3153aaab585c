#include "host/boot/kernel_loader.hpp"

#include <string>

#include "host/boot/bzimage.hpp"
#include "host/boot/elf_image.hpp"
#include "host/boot/multiboot.hpp"
#include "host/boot/pvh.hpp"

namespace dvmm::boot {

namespace {

Result<BootEntry> boot_pvh(GuestMemory& mem, std::span<const uint8_t> elf, const KernelArgs& args,
                           std::string description) {
  PvhBoot b = DVMM_TRY(load_pvh(mem, elf, args.cmdline, args.initrd, args.rsdp_address));
  BootEntry e;
  e.protocol = BootProtocol::kPvh;
  e.eip = b.entry;
  e.ebx = b.start_info_address;
  e.description = std::move(description);
  if (b.initrd_size != 0) {
    e.description += fmt::format(", initrd {} KiB at {:#x}", b.initrd_size >> 10, b.initrd_address);
  }
  return e;
}

bool has_pvh_note(std::span<const uint8_t> image) {
  Result<ElfImage> elf = parse_elf(image);
  return elf && find_pvh_entry(*elf, image).ok();
}

}  // namespace

Result<BootEntry> load_kernel(GuestMemory& mem, std::span<const uint8_t> image,
                              const KernelArgs& args) {
  if (is_bzimage(image)) {
    std::vector<uint8_t> vmlinux = DVMM_TRY(unpack_bzimage(image));
    return boot_pvh(mem, vmlinux, args,
                    fmt::format("PVH (bzImage unpacked on the host, {} MiB)", vmlinux.size() >> 20));
  }
  Result<MultibootImage> multiboot = parse_multiboot_image(image);
  if (!multiboot && is_elf(image) && has_pvh_note(image)) return boot_pvh(mem, image, args, "PVH");
  if (!multiboot) {
    return Error::format("{} (dvmm boots multiboot kernels, Linux bzImages and ELF kernels with a "
                         "PVH entry)",
                         multiboot.error().message);
  }
  if (!args.initrd.empty()) {
    return Error::format("an initrd is given but the kernel is a multiboot kernel; pass modules "
                         "to multiboot kernels on their own command line instead");
  }
  // QEMU passes the kernel path first on a multiboot command line.
  std::string cmdline(args.path);
  if (!args.cmdline.empty()) cmdline += " " + std::string(args.cmdline);
  MultibootBoot b = DVMM_TRY(load_multiboot(mem, image, cmdline, {}));
  BootEntry e;
  e.protocol = BootProtocol::kMultiboot;
  e.eip = b.entry;
  e.eax = kMultibootBootloaderMagic;
  e.ebx = b.info_address;
  e.description = "multiboot";
  return e;
}

}  // namespace dvmm::boot
