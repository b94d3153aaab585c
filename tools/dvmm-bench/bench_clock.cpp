#include "tools/dvmm-bench/bench_clock.hpp"

#include <algorithm>
#include <array>

namespace dvmm::bench {

uint64_t timer_overhead_ns() {
  // The median of many pairs: one pair can be hit by an interrupt.
  std::array<uint64_t, 1001> d{};
  for (uint64_t& x : d) {
    const uint64_t a = now_ns();
    const uint64_t b = now_ns();
    x = b - a;
  }
  std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
  return d[d.size() / 2];
}

}  // namespace dvmm::bench
