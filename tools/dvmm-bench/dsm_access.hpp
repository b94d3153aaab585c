// The accesses `dvmm-bench dsm` makes to DSM pages, as a vCPU would: one
// 8-byte word at the start of a page (page aligned, so std::atomic_ref
// applies). A relaxed load is a plain read (a read fault if the page is
// absent), a relaxed store a plain write; the read-modify-writes are
// locked instructions, which the CPU always performs as writes (a write
// fault even when the compare fails).
#pragma once

#include <sched.h>

#include <atomic>
#include <cstdint>

#include "tools/dvmm-bench/bench_clock.hpp"

namespace dvmm::bench {

inline std::atomic_ref<uint64_t> word_at(uint8_t* p) {
  return std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(p));
}

inline uint64_t load_word(uint8_t* p) { return word_at(p).load(std::memory_order_relaxed); }
inline void store_word(uint8_t* p, uint64_t v) { word_at(p).store(v, std::memory_order_relaxed); }
inline uint64_t fetch_add_word(uint8_t* p, uint64_t v) { return word_at(p).fetch_add(v); }

// Spins until the word holds `expected`, then makes it `desired` in one
// locked compare-exchange (a test-and-set spinlock's pattern: every try is
// a write, so a try on a page held elsewhere pulls it here exclusively).
// Yields between tries: on a 2-core machine the node's own poller and
// fault thread need the CPU to bring the other side's write. False when
// deadline_ns (now_ns() time) passes first.
inline bool wait_and_swap(uint8_t* p, uint64_t expected, uint64_t desired, uint64_t deadline_ns) {
  for (;;) {
    uint64_t e = expected;
    if (word_at(p).compare_exchange_strong(e, desired)) return true;
    if (now_ns() >= deadline_ns) return false;
    sched_yield();
  }
}

}  // namespace dvmm::bench
