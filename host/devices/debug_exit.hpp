// QEMU's isa-debug-exit device (hw/misc/debugexit.c), in the configuration
// test kernels expect: -device isa-debug-exit,iobase=0xf4,iosize=0x04.
//
// Ports (offsets from 0xF4, 4 bytes):
//   0-3  W  any write, of any width at any offset, with value v asks the
//           VMM to stop; QEMU would exit with status (v << 1) | 1, so a guest
//           can never report 0 ("success" is agreed on per test suite)
//        R  0
// The device only reports the value; the VMM decides how to stop. The
// handler runs on the writing vCPU's thread with no lock held.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "host/devices/bus_device.hpp"

namespace dvmm {

class DebugExit final : public BusDevice {
 public:
  static constexpr uint64_t kDefaultBase = 0xF4;
  static constexpr uint64_t kLength = 4;

  explicit DebugExit(std::function<void(uint32_t value)> on_exit);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // The exit status QEMU reports for a written value.
  static constexpr uint32_t qemu_status(uint32_t value) { return (value << 1) | 1; }

 private:
  const std::function<void(uint32_t)> on_exit_;
};

}  // namespace dvmm
