// The two ways a PC guest asks for a reset that dvmm turns into a VM stop
// (there is no firmware to run again, so "reset" ends the VM with a status
// of its own; the VMM decides which, see host/vmm/vm_control.hpp).
//
// ResetControl: the PIIX3/ICH Reset Control Register, one byte at port
// 0xCF9 (Intel 82371SB data sheet 4.1.17; the FADT's RESET_REG):
//   bit 1 SYS_RST   read/write: 1 hard reset, 0 soft reset
//   bit 2 RST_CPU   write 1 to reset (of the kind SYS_RST says); reads 0
//   bit 3 FULL_RST  read/write: 1 also cycles power
//   bits 0, 4-7     reserved: read 0, writes ignored (counted)
// Both reset kinds stop the VM: a write with RST_CPU set calls on_reset
// (Linux writes 0x06 from the FADT, or 0x02 then 0x06 / 0x0E with
// reboot=pci). Only offset 0 exists; other bytes of a wider access are
// ignored (counted) and read all ones.
//
// KeyboardControllerReset: the 8042's command/status port (0x64), only as
// far as a reset needs. There is no keyboard controller behind it (the FADT
// says so, so Linux's i8042 driver does not probe):
//   read   status 0x14: SYS (bit 2, self-test passed) and keyboard not
//          inhibited (bit 4); no output data (OBF, bit 0) and the input
//          buffer empty (IBF, bit 1), so a writer polling IBF (Linux's
//          kb_wait before its 0xFE) never waits
//   write  0xF0-0xFE with bit 0 clear: "pulse output port" with the reset
//          line (output bit 0) in the pulse mask: on_reset. Linux writes
//          0xFE. Any other command does nothing (counted).
// Only offset 0 exists, as for ResetControl. Port 0x60 (data) is left
// unclaimed: it reads 0xFF.
//
// Thread safety: ResetControl takes its mutex for the register;
// KeyboardControllerReset is stateless apart from its counter. on_reset is
// called with no lock held, on the writing vCPU's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "host/devices/bus_device.hpp"

namespace dvmm {

class ResetControl final : public BusDevice {
 public:
  static constexpr uint64_t kDefaultBase = 0xCF9;
  static constexpr uint64_t kLength = 1;
  static constexpr uint8_t kSysRst = 1u << 1;
  static constexpr uint8_t kRstCpu = 1u << 2;
  static constexpr uint8_t kFullRst = 1u << 3;

  explicit ResetControl(std::function<void()> on_reset);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Writes that touched reserved bits or bytes beyond the register.
  uint64_t ignored_writes() const { return ignored_writes_.load(std::memory_order_relaxed); }

 private:
  const std::function<void()> on_reset_;
  std::mutex mu_;
  uint8_t value_ = 0;  // SYS_RST and FULL_RST as last written
  std::atomic<uint64_t> ignored_writes_{0};
};

class KeyboardControllerReset final : public BusDevice {
 public:
  static constexpr uint64_t kDefaultBase = 0x64;
  static constexpr uint64_t kLength = 1;
  static constexpr uint8_t kStatus = 0x14;  // SYS | keyboard not inhibited
  static constexpr uint8_t kPulseResetLine = 0xFE;

  explicit KeyboardControllerReset(std::function<void()> on_reset);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Commands other than a reset pulse, and bytes beyond the port.
  uint64_t ignored_writes() const { return ignored_writes_.load(std::memory_order_relaxed); }

  // True for the 8042 commands that pulse the CPU reset line.
  static constexpr bool pulses_reset(uint8_t command) {
    return (command & 0xF0) == 0xF0 && (command & 0x01) == 0;
  }

 private:
  const std::function<void()> on_reset_;
  std::atomic<uint64_t> ignored_writes_{0};
};

}  // namespace dvmm
