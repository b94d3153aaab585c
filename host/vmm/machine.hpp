// One VM on one node: guest RAM, the KVM VM and its vCPU threads, the local
// APICs and the interrupt router, the platform devices on their buses, and
// the boot image. Machine::create checks the configuration and builds all
// of it (every failure is an Error for the operator); run() starts the vCPUs
// and returns why the VM stopped.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "host/common/result.hpp"
#include "host/vmm/vm_control.hpp"

namespace dvmm {

struct MachineConfig {
  static constexpr unsigned kMaxVcpus = 255;  // xAPIC IDs 0-254, 255 is broadcast
  static constexpr uint64_t kMinMemory = 16ull << 20;
  static constexpr uint64_t kMaxMemory = 3ull << 30;  // below the 32-bit MMIO hole

  unsigned vcpus = 1;
  uint64_t memory_bytes = 256ull << 20;
  std::string kernel_path;
  std::string cmdline;
  bool print_stats = false;
};

class Machine {
 public:
  static Result<std::unique_ptr<Machine>> create(const MachineConfig& config);
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // Runs until the guest exits, shuts down, fails, or SIGINT/SIGTERM.
  StopReason run();
  VmControl& control();

 private:
  struct Impl;
  explicit Machine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dvmm
