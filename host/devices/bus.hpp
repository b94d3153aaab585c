// A bus of non-overlapping address ranges (port I/O or MMIO). Devices are
// registered with a base and length; an access is dispatched with the
// offset from the device's base. Ranges are fixed once the VM runs, so
// lookups need no lock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "host/common/result.hpp"
#include "host/devices/bus_device.hpp"

namespace dvmm {

class Bus {
 public:
  explicit Bus(std::string name) : name_(std::move(name)) {}

  // Rejects empty ranges, ranges that wrap around, and ranges that overlap
  // one already registered.
  Status insert(uint64_t base, uint64_t length, std::shared_ptr<BusDevice> device,
                std::string device_name);

  // Returns false when no device covers the whole access [addr, addr+size).
  // Unhandled reads leave data untouched: the caller fills all-ones, which
  // is what an x86 platform returns for an access to nothing.
  bool read(uint64_t addr, std::span<uint8_t> data) const;
  bool write(uint64_t addr, std::span<const uint8_t> data) const;

  const std::string& name() const { return name_; }

 private:
  struct Range {
    uint64_t base;
    uint64_t length;
    std::shared_ptr<BusDevice> device;
    std::string device_name;
  };
  const Range* find(uint64_t addr, uint64_t size) const;

  std::string name_;
  std::map<uint64_t, Range> ranges_;  // keyed by base
};

}  // namespace dvmm
