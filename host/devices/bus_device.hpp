// A device as the buses see it: it is told the offset within its own range
// and the access size (1, 2, 4 or 8 bytes), never the absolute address, so
// the same model can sit at any base and knows nothing of KVM or of which
// node performs the access.
#pragma once

#include <cstdint>
#include <span>

namespace dvmm {

class BusDevice {
 public:
  virtual ~BusDevice() = default;
  // Fills data (data.size() is the access width). Called with the device's
  // own lock responsibilities: devices that are touched from several vCPU
  // threads protect their state themselves.
  virtual void read(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

}  // namespace dvmm
