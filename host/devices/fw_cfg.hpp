// QEMU firmware configuration device, traditional I/O-port interface
// (QEMU docs/specs/fw_cfg.rst), so that test kernels built for QEMU find
// the CPU count, the RAM size and named files where they look for them.
//
// Ports (offsets from 0x510):
//   0  W  selector (16-bit, little-endian; a byte write sets the low byte
//         and clears the high one). Bit 14 (write channel) is ignored,
//         bit 15 selects the architecture-specific items. Selecting resets
//         the data offset to 0.
//   1  R  data: the next byte of the selected item (offset auto-increments);
//         0 past the end of the item and for an unknown selector
//   Writes to the data port are ignored (no write channel); reads of the
//   selector port return 0. No DMA interface (ID bit 1 clear).
// Items:
//   0x0000 SIGNATURE  "QEMU"
//   0x0001 ID         u32 LE, 1 = traditional interface only
//   0x0003 RAM_SIZE   u64 LE
//   0x0005 NB_CPUS    u16 LE
//   0x000F MAX_CPUS   u16 LE
//   0x0019 FILE_DIR   u32 BE count, then per file (64 bytes):
//                     u32 BE size, u16 BE select, u16 reserved, char name[56]
//   0x0020...         files, in the order they were added
//
// Thread safety: every public member takes the internal mutex.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "host/common/result.hpp"
#include "host/devices/bus_device.hpp"

namespace dvmm {

class FwCfg final : public BusDevice {
 public:
  static constexpr uint64_t kDefaultBase = 0x510;
  static constexpr uint64_t kLength = 2;

  static constexpr uint16_t kSignature = 0x0000;
  static constexpr uint16_t kId = 0x0001;
  static constexpr uint16_t kRamSize = 0x0003;
  static constexpr uint16_t kNbCpus = 0x0005;
  static constexpr uint16_t kMaxCpus = 0x000F;
  static constexpr uint16_t kFileDir = 0x0019;
  static constexpr uint16_t kFileFirst = 0x0020;
  static constexpr uint16_t kWriteChannel = 0x4000;
  static constexpr size_t kMaxNameLength = 55;  // plus the NUL in name[56]
  static constexpr size_t kFileDirEntrySize = 64;

  // max_cpus = 0 means nb_cpus. Counts above 0xFFFF are clamped.
  FwCfg(unsigned nb_cpus, uint64_t ram_size, unsigned max_cpus = 0);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Adds a named file (e.g. "etc/foo") and lists it in FILE_DIR. Returns its
  // selector (0x0020 upwards), or an Error for an empty, too long (> 55
  // bytes) or duplicate name.
  Result<uint16_t> add_file(std::string_view name, std::vector<uint8_t> bytes);
  // Sets (or replaces) the item at a selector (bit 14 ignored).
  void add_item(uint16_t key, std::vector<uint8_t> bytes);

 private:
  struct File {
    std::string name;
    uint16_t selector;
  };
  void rebuild_file_dir_locked();

  std::mutex mu_;
  std::map<uint16_t, std::vector<uint8_t>> items_;
  std::vector<File> files_;
  uint16_t selected_ = 0;
  size_t data_offset_ = 0;
};

}  // namespace dvmm
