// Where a guest spends its time, for engineers: with DVMM_RIP_SAMPLES=FILE
// in the environment, every vCPU thread is interrupted every 4 ms by a
// POSIX timer that sends it the kick signal, reads the guest RIP it
// interrupted and appends "vcpu rip" (hexadecimal) to FILE. Node processes
// of a cluster inherit the variable and append to the same file: one
// write(2) per line with O_APPEND keeps lines whole.
// tools/rip-profile.py folds the samples into functions with a System.map.
//
// Sampling on an interval rather than on exits sees the guest wherever it
// is, including long stretches of ring-0 code that never exit. A sample
// costs one KVM_GET_REGS and one write, about 2 µs in every 4 ms.
#pragma once

#include <time.h>

#include <cstdint>

namespace dvmm {

class RipSampler {
 public:
  // The process's sampler, or null when DVMM_RIP_SAMPLES is unset or its
  // file cannot be opened (then it says so once, with the reason).
  static RipSampler* from_environment();

  // Interrupts the calling thread every 4 ms with `signal` until stop().
  void start_for_this_thread(int signal);
  void stop_for_this_thread();
  void record(int vcpu, uint64_t rip);

 private:
  explicit RipSampler(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace dvmm
