// One vCPU: its KVM handle, its local APIC and the thread that runs the
// KVM_RUN loop. The loop is a small switch over exit reasons that hands each
// exit to the LAPIC, the port-I/O bus, the MMIO bus or the MSR handler, and
// injects interrupts between runs (the VM has no in-kernel irqchip).
//
// Waking a vCPU (kick): another thread that made work for this vCPU (an IPI
// in its LAPIC, a stop request) calls kick(). If the vCPU is inside KVM_RUN
// it gets a signal whose handler sets kvm_run.immediate_exit, so KVM_RUN
// returns EINTR whether the signal lands before or during the ioctl; if the
// vCPU is halted it is woken through an eventfd. The vCPU publishes its
// state before it looks for work, and the kicker publishes work before it
// reads the state (both seq_cst), so one of them always sees the other.
//
// Lock order: a vCPU thread holds no lock while it calls into the LAPIC or a
// bus; LAPIC -> router -> target LAPIC never nests (the LAPIC releases its
// mutex before it sends).
#pragma once

#include <pthread.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <thread>

#include "host/apic/lapic.hpp"
#include "host/devices/bus.hpp"
#include "host/kvm/kvm.hpp"
#include "host/vmm/remote_platform.hpp"
#include "host/vmm/vm_control.hpp"

namespace dvmm {

// What happened in one trip through the loop (Firecracker's VcpuEmulation).
enum class VcpuStep { kHandled, kInterrupted, kStopped };

struct VcpuStats {
  std::atomic<uint64_t> exits_io{0};
  std::atomic<uint64_t> exits_mmio{0};
  std::atomic<uint64_t> exits_lapic{0};
  std::atomic<uint64_t> exits_msr{0};
  std::atomic<uint64_t> exits_hlt{0};
  std::atomic<uint64_t> exits_intr{0};  // KVM_RUN interrupted by a kick
  std::atomic<uint64_t> exits_irq_window{0};
  std::atomic<uint64_t> interrupts_injected{0};
  std::atomic<uint64_t> unhandled_io{0};
  std::atomic<uint64_t> unhandled_mmio{0};
  std::atomic<uint64_t> unhandled_msr{0};
  // Instructions KVM could not emulate that dvmm executed or answered
  // with the exception the hardware raises (emulation_failure.hpp).
  std::atomic<uint64_t> emulated_instructions{0};
};

class VcpuThread {
 public:
  // Where the vCPU's I/O goes: local devices first; what no local device
  // claims goes to `remote` (the I/O home), when this node is not it.
  struct Buses {
    const Bus& pio;
    const Bus& mmio;
    RemotePlatform* remote = nullptr;
    // Guest RAM as mapped in this process, for the few instructions dvmm
    // executes itself (emulation_failure.hpp).
    std::span<uint8_t> ram = {};
  };

  // `start_running`: the BSP starts at its entry state; APs wait for
  // INIT-SIPI-SIPI. `lapic` null: the VM has KVM's in-kernel irqchip, which
  // does all of that (and holds APs in KVM_RUN until their SIPI) itself.
  VcpuThread(int index, kvm::Vcpu vcpu, Lapic* lapic, Buses buses, VmControl& control,
             bool start_running);
  ~VcpuThread();
  VcpuThread(const VcpuThread&) = delete;
  VcpuThread& operator=(const VcpuThread&) = delete;

  // Installs the process-wide kick signal handler. Call once before any
  // vCPU thread starts.
  static Status install_kick_handler();

  // Remembers the power-on register state, for INIT and SIPI.
  Status capture_reset_state();
  kvm::Vcpu& vcpu() { return vcpu_; }

  void start();
  void join();
  // Makes the vCPU look at its LAPIC and the stop flag soon. Any thread.
  void kick();

  const VcpuStats& stats() const { return stats_; }
  int index() const { return index_; }

 private:
  enum class State : int { kBusy, kInGuest, kHalted };

  void thread_main();
  VcpuStep run_once();
  // Between runs: INIT/SIPI, NMI and interrupt injection, timer arming.
  Status prepare_entry();
  // HLT (or wait-for-SIPI): sleep until there is something to do.
  void wait_for_event(bool interrupts_enabled);
  Status wait_for_sipi();
  void handle_io();
  void handle_mmio();
  void handle_rdmsr();
  void handle_wrmsr();
  // False when the VM must stop (the failure was not one dvmm can answer).
  bool handle_emulation_failure();
  void arm_timer(std::optional<uint64_t> deadline_ns);
  void fail(std::string message);

  const int index_;
  kvm::Vcpu vcpu_;
  Lapic* const lapic_;  // null with the in-kernel irqchip
  Buses buses_;
  VmControl& control_;
  bool running_;  // false while waiting for SIPI
  kvm_sregs reset_sregs_{};

  std::atomic<State> state_{State::kBusy};
  std::atomic<pthread_t> thread_handle_{};
  std::atomic<bool> thread_started_{false};
  int wake_fd_ = -1;  // eventfd
  timer_t timer_{};
  bool timer_created_ = false;
  std::optional<uint64_t> armed_deadline_;
  std::thread thread_;
  VcpuStats stats_;
};

}  // namespace dvmm
