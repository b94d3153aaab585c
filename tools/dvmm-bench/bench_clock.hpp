// The benchmark's time base: clock_gettime(CLOCK_MONOTONIC), not rdtsc.
// On these hosts the kernel's clocksource is the TSC, so the call stays in
// the vDSO (an rdtsc plus a multiply, ~20-40 ns) while needing no TSC
// calibration, being comparable between the two processes, and being the
// same clock dvmm's own MonotonicClock reads. timer_overhead_ns() measures
// the cost of one reading so the output can state the resolution floor.
#pragma once

#include <time.h>

#include <cstdint>

namespace dvmm::bench {

inline uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

constexpr const char* kClockName = "clock_gettime(CLOCK_MONOTONIC)";

// Median nanoseconds between two back-to-back now_ns() calls.
uint64_t timer_overhead_ns();

}  // namespace dvmm::bench
