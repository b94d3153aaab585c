// A monotonic nanosecond clock, injected into timer-driven device models so
// that unit tests can drive time by hand.
#pragma once

#include <cstdint>
#include <ctime>

namespace dvmm {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t now_ns() const = 0;
};

class MonotonicClock final : public Clock {
 public:
  uint64_t now_ns() const override {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
  }
};

// For tests: time moves only when told.
class ManualClock final : public Clock {
 public:
  uint64_t now_ns() const override { return now_; }
  void advance(uint64_t ns) { now_ += ns; }
  void set(uint64_t ns) { now_ = ns; }

 private:
  uint64_t now_ = 0;
};

}  // namespace dvmm
