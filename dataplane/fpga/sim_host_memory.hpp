// The co-simulation's host memory: allocations of this process that the
// Verilated engine's AXI4 master reaches through Axi4MemorySlave, each at a
// device address of its own, as XRT host-only buffers are at bo.address()
// on a card. Accesses outside every allocation fail (the slave answers
// SLVERR, as an IOMMU would fault them) and are counted.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "dataplane/fpga/axi4_memory_slave.hpp"
#include "dataplane/fpga/fpga_device.hpp"

namespace dvmm::dataplane::fpga {

class SimHostMemory final : public HostMemory {
 public:
  SimHostMemory() = default;
  ~SimHostMemory() override;
  SimHostMemory(const SimHostMemory&) = delete;
  SimHostMemory& operator=(const SimHostMemory&) = delete;

  // Zeroed, 4 KiB aligned; device addresses far apart, so a stray address
  // is obvious. Error: out of memory.
  Result<DmaWindow> allocate(size_t bytes);

  bool read64(uint64_t addr, uint64_t& data) override;
  bool write64(uint64_t addr, uint64_t data, uint8_t strb) override;

  // Called after each write that landed (device address of the word).
  std::function<void(uint64_t addr)> on_write;
  uint64_t faults() const { return faults_; }

 private:
  uint8_t* find(uint64_t addr);
  std::vector<DmaWindow> regions_;
  uint64_t faults_ = 0;
};

}  // namespace dvmm::dataplane::fpga
