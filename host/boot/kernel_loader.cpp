#include "host/boot/kernel_loader.hpp"

#include <string>

#include "host/boot/bzimage.hpp"
#include "host/boot/elf_image.hpp"
#include "host/boot/linux_boot_params.hpp"
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

Result<BootEntry> boot_linux_64(GuestMemory& mem, std::span<const uint8_t> image,
                                const KernelArgs& args) {
  LinuxBoot b = DVMM_TRY(
      load_linux_boot_params(mem, image, args.cmdline, args.initrd, args.rsdp_address));
  BootEntry e;
  e.protocol = BootProtocol::kLinuxBootParams;
  e.mode = EntryMode::kLong64;
  e.long_mode = x86::LongModeEntry{.rip = b.entry,
                                   .rsi = b.boot_params,
                                   .cr3 = b.tables.pml4,
                                   .gdt_base = b.tables.gdt_base,
                                   .gdt_limit = b.tables.gdt_limit,
                                   .code_selector = kBootCodeSelector,
                                   .data_selector = kBootDataSelector};
  e.description = fmt::format("Linux 64-bit boot protocol (boot_params at {:#x}, kernel at {:#x}, "
                              "decompressed in the guest)",
                              b.boot_params, b.load_address);
  if (b.initrd_size != 0) {
    e.description += fmt::format(", initrd {} KiB at {:#x}", b.initrd_size >> 10, b.initrd_address);
  }
  return e;
}

// Only a bzImage can be entered through boot_params.
Status refuse_boot_params(const KernelArgs& args, std::string_view what) {
  if (args.linux_entry != LinuxEntry::kBootParams) return {};
  return Error::format("the boot-params Linux entry needs a Linux bzImage, and this is {}: leave "
                       "the Linux entry at \"pvh\" (the default)",
                       what);
}

bool has_pvh_note(std::span<const uint8_t> image) {
  Result<ElfImage> elf = parse_elf(image);
  return elf && find_pvh_entry(*elf, image).ok();
}

}  // namespace

Result<LinuxEntry> parse_linux_entry(std::string_view name) {
  if (name == "pvh") return LinuxEntry::kPvh;
  if (name == "boot-params") return LinuxEntry::kBootParams;
  return Error::format("unknown Linux entry \"{}\": use \"pvh\" (the bzImage unpacked on the "
                       "host, the default) or \"boot-params\" (Linux's 64-bit boot protocol, "
                       "decompressed in the guest)",
                       name);
}

const char* linux_entry_name(LinuxEntry entry) {
  return entry == LinuxEntry::kBootParams ? "boot-params" : "pvh";
}

std::string linux_cmdline(std::string_view cmdline, std::string_view features) {
  std::string out(cmdline);
  const bool has_own = out.starts_with("clearcpuid=") || out.find(" clearcpuid=") != std::string::npos;
  if (features.empty() || has_own) return out;
  if (!out.empty()) out += ' ';
  out += "clearcpuid=";
  out += features;
  return out;
}

Result<BootEntry> load_kernel(GuestMemory& mem, std::span<const uint8_t> image,
                              const KernelArgs& given) {
  // Linux paths see the command line with the CPU profile's clearcpuid.
  const std::string cmdline = linux_cmdline(given.cmdline, given.linux_clearcpuid);
  KernelArgs args = given;
  args.cmdline = cmdline;
  if (is_bzimage(image)) {
    if (args.linux_entry == LinuxEntry::kBootParams) return boot_linux_64(mem, image, args);
    std::vector<uint8_t> vmlinux = DVMM_TRY(unpack_bzimage(image));
    return boot_pvh(mem, vmlinux, args,
                    fmt::format("PVH (bzImage unpacked on the host, {} MiB)", vmlinux.size() >> 20));
  }
  Result<MultibootImage> multiboot = parse_multiboot_image(image);
  if (!multiboot && is_elf(image) && has_pvh_note(image)) {
    DVMM_TRY(refuse_boot_params(args, "an ELF kernel with a PVH entry"));
    return boot_pvh(mem, image, args, "PVH");
  }
  if (!multiboot) {
    return Error::format("{} (dvmm boots multiboot kernels, Linux bzImages and ELF kernels with a "
                         "PVH entry)",
                         multiboot.error().message);
  }
  DVMM_TRY(refuse_boot_params(args, "a multiboot kernel"));
  if (!args.initrd.empty()) {
    return Error::format("an initrd is given but the kernel is a multiboot kernel; pass modules "
                         "to multiboot kernels on their own command line instead");
  }
  // QEMU passes the kernel path first on a multiboot command line.
  std::string multiboot_cmdline(args.path);
  if (!given.cmdline.empty()) multiboot_cmdline += " " + std::string(given.cmdline);
  MultibootBoot b = DVMM_TRY(load_multiboot(mem, image, multiboot_cmdline, {}));
  BootEntry e;
  e.protocol = BootProtocol::kMultiboot;
  e.eip = b.entry;
  e.eax = kMultibootBootloaderMagic;
  e.ebx = b.info_address;
  e.description = "multiboot";
  return e;
}

}  // namespace dvmm::boot
