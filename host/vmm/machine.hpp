// One VM on one node: guest RAM, the KVM VM and its vCPU threads, the local
// APICs and the interrupt router, the platform devices on their buses, and
// the boot image. Machine::create checks the configuration and builds all
// of it (every failure is an Error for the operator); run() starts the vCPUs
// and returns why the VM stopped.
//
// In a cluster each node process builds a Machine for the same VM with its
// own share of the vCPUs (MachineConfig::vcpu_node). The I/O home (node 0)
// also holds the devices and loads the guest; other nodes reach those
// through MachineConfig::remote, and the node's dataplane dispatcher calls
// the deliver_* / handle_* members for what arrives from other nodes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "host/apic/lapic.hpp"
#include "host/boot/kernel_loader.hpp"
#include "host/common/result.hpp"
#include "host/devices/interrupts.hpp"
#include "host/vmm/remote_platform.hpp"
#include "host/vmm/vm_control.hpp"

namespace dvmm {

struct MachineConfig {
  static constexpr unsigned kMaxVcpus = 255;  // xAPIC IDs 0-254, 255 is broadcast
  static constexpr uint64_t kMinMemory = 16ull << 20;
  static constexpr uint64_t kMaxMemory = 3ull << 30;  // below the 32-bit MMIO hole

  unsigned vcpus = 1;
  uint64_t memory_bytes = 256ull << 20;
  std::string kernel_path;  // multiboot kernel, Linux bzImage or PVH ELF
  std::string initrd_path;  // Linux only; empty = none
  std::string cmdline;
  // How a bzImage is entered: PVH on the host-unpacked kernel, or Linux's
  // 64-bit boot protocol (boot_params; other kernels refuse it).
  boot::LinuxEntry linux_entry = boot::LinuxEntry::kPvh;
  bool print_stats = false;
  // KVM's in-kernel LAPICs, IOAPIC and PIC instead of dvmm's userspace
  // ones: the "one ordinary machine" baseline the benchmarks compare
  // against. Single node only (remote vCPUs need dvmm's LAPIC).
  bool kernel_irqchip = false;

  // --- cluster placement (defaults: everything on this one node) ---
  uint16_t node_id = 0;
  std::vector<uint16_t> vcpu_node;  // node of each vCPU; empty = all on node_id
  std::string shared_ram_path;      // guest RAM in this tmpfs file; empty = private memfd
  bool anonymous_ram = false;       // private anonymous RAM for the DSM layer (see ram_mapping)
  RemotePlatform* remote = nullptr; // required when some vCPU runs elsewhere or node_id != 0

  bool io_home() const { return node_id == 0; }
  bool is_local(unsigned vcpu) const { return vcpu_node.empty() || vcpu_node[vcpu] == node_id; }
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
  // Guest RAM as mapped in this process (for the DSM layer to register).
  uint8_t* ram_base() const;
  uint64_t ram_size() const;

  // Makes every local vCPU see guest TSC = host TSC - base, and this VM's
  // kvmclock the same age in ns, so that vCPUs in different node processes
  // on one host read one TSC and one kvmclock. Call before run().
  Status set_tsc_base(uint64_t host_tsc_base);

  // --- from other nodes (dataplane thread) ---
  // An interrupt for local vCPU `vcpu`: accepted by its LAPIC, vCPU kicked.
  void deliver_ipi(uint32_t vcpu, const InterruptMessage& msg);
  // A port / MMIO access forwarded to the I/O home. Reads fill data;
  // nothing claims the address: all ones.
  void handle_remote_io(bool mmio, uint64_t address, std::span<uint8_t> data, bool is_write);
  // A level-triggered EOI from a vCPU elsewhere (I/O home only).
  void handle_eoi(uint8_t vector);
  // A remote vCPU's APIC addressing changed.
  void update_addressing(uint32_t vcpu, const ApicAddressing& addressing);

 private:
  struct Impl;
  explicit Machine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dvmm
