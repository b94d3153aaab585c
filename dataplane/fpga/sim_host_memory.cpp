#include "dataplane/fpga/sim_host_memory.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace dvmm::dataplane::fpga {
namespace {

// Where the co-simulated engine believes host memory lives: region i at
// kDeviceBase + i * kDeviceStride. Any value would do, since accesses are
// translated back; a recognisable one makes a stray address obvious.
constexpr uint64_t kDeviceBase = 0x0000'00D7'0000'0000ull;
constexpr uint64_t kDeviceStride = 0x1'0000'0000ull;
constexpr size_t kPage = 4096;

}  // namespace

SimHostMemory::~SimHostMemory() {
  for (const DmaWindow& r : regions_) std::free(r.host);
}

Result<DmaWindow> SimHostMemory::allocate(size_t bytes) {
  const size_t rounded = (std::max<size_t>(bytes, 1) + kPage - 1) / kPage * kPage;
  if (rounded > kDeviceStride) {
    return Error::format("fpga sim device: {} bytes of host memory asked, at most {}", bytes,
                         kDeviceStride);
  }
  auto* p = static_cast<uint64_t*>(std::aligned_alloc(kPage, rounded));
  if (p == nullptr) return Error::format("fpga sim device: no memory for {} bytes", rounded);
  std::memset(p, 0, rounded);
  const DmaWindow w{p, kDeviceBase + regions_.size() * kDeviceStride, rounded};
  regions_.push_back(w);
  return w;
}

uint8_t* SimHostMemory::find(uint64_t addr) {
  for (const DmaWindow& r : regions_) {
    if (addr >= r.device_address && addr - r.device_address + 8 <= r.bytes) {
      return reinterpret_cast<uint8_t*>(r.host) + (addr - r.device_address);
    }
  }
  ++faults_;
  return nullptr;
}

bool SimHostMemory::read64(uint64_t addr, uint64_t& data) {
  const uint8_t* p = find(addr);
  if (p == nullptr) return false;
  // The driver writes this memory from the same thread (the model is
  // clocked by the poller), so plain accesses suffice.
  std::memcpy(&data, p, 8);
  return true;
}

bool SimHostMemory::write64(uint64_t addr, uint64_t data, uint8_t strb) {
  uint8_t* p = find(addr);
  if (p == nullptr) return false;
  if (strb == 0xFF) {
    std::memcpy(p, &data, 8);
  } else {
    for (unsigned i = 0; i < 8; ++i) {
      if ((strb >> i) & 1) p[i] = static_cast<uint8_t>(data >> (8 * i));
    }
  }
  if (on_write) on_write(addr);
  return true;
}

}  // namespace dvmm::dataplane::fpga
