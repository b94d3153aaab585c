// The run state every thread of a VM shares: whether the VM should stop,
// and why. The first stop request wins; later ones (a vCPU noticing the
// stop, a second error) do not overwrite the reason the user needs to see.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace dvmm {

struct StopReason {
  enum class Kind {
    kGuestExit,   // the guest wrote the debug-exit port
    kShutdown,    // triple fault / guest-initiated shutdown
    kError,       // the VMM could not continue (KVM failure, emulation error)
    kHostSignal,  // SIGINT/SIGTERM from the operator
    kPowerOff,    // the guest entered ACPI S5 (PM1a_CNT SLP_EN): kExitPowerOff
    kReset,       // the guest asked for a reset (0xCF9, 8042 0xFE): kExitReset
  };
  // The dvmm process's exit status for a guest power-off: a clean end, as
  // `poweroff` on a machine is.
  static constexpr int kExitPowerOff = 0;
  // ... and for a guest reset: dvmm has no firmware to run again, so the VM
  // ends, with a status of its own (not 0: the guest did not say it
  // succeeded; not 1: nothing failed; not 2: no usage error). A guest that
  // writes 3 to the debug-exit port looks the same; the message tells them
  // apart.
  static constexpr int kExitReset = 3;
  Kind kind = Kind::kError;
  int exit_status = 1;  // what the dvmm process should exit with
  std::string message;  // one line for the operator
};

class VmControl {
 public:
  // Records the reason (if first) and wakes every registered waker so that
  // halted and running vCPUs notice.
  void request_stop(StopReason reason);
  bool stop_requested() const { return stop_.load(std::memory_order_acquire); }
  // Blocks until a stop was requested; returns the reason.
  StopReason wait() const;
  // Called on request_stop (vCPU kicks). Register before the VM runs.
  void add_waker(std::function<void()> waker);

 private:
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  StopReason reason_;
  std::vector<std::function<void()>> wakers_;
};

}  // namespace dvmm
