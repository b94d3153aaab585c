// Test doubles shared by the device tests: an IrqSink and an ApicBus that
// record every call, and port-style helpers that drive a BusDevice the way
// a vCPU's in/out instructions do.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "host/devices/bus_device.hpp"
#include "host/devices/interrupts.hpp"

namespace dvmm::test {

class RecordingIrqSink final : public IrqSink {
 public:
  void set_irq(unsigned line, bool level) override {
    calls.emplace_back(line, level);
    levels[line] = level;
  }
  bool level(unsigned line) const {
    auto it = levels.find(line);
    return it != levels.end() && it->second;
  }
  // Number of rising edges (false -> true) seen on a line.
  int rising_edges(unsigned line) const {
    int n = 0;
    bool prev = false;
    for (const auto& [l, v] : calls) {
      if (l != line) continue;
      if (v && !prev) ++n;
      prev = v;
    }
    return n;
  }
  std::vector<std::pair<unsigned, bool>> calls;
  std::map<unsigned, bool> levels;
};

class RecordingApicBus final : public ApicBus {
 public:
  void deliver(const InterruptMessage& msg) override {
    delivered.push_back(msg);
    if (on_deliver) on_deliver(msg);
  }
  void broadcast_eoi(uint8_t vector) override { eois.push_back(vector); }
  std::vector<InterruptMessage> delivered;
  std::vector<uint8_t> eois;
  std::function<void(const InterruptMessage&)> on_deliver;
};

inline uint64_t in(BusDevice& d, uint64_t offset, size_t size) {
  uint8_t buf[8] = {};
  d.read(offset, std::span<uint8_t>(buf, size));
  uint64_t v = 0;
  for (size_t i = size; i-- > 0;) v = (v << 8) | buf[i];
  return v;
}

inline void out(BusDevice& d, uint64_t offset, size_t size, uint64_t value) {
  uint8_t buf[8] = {};
  for (size_t i = 0; i < size; ++i) buf[i] = static_cast<uint8_t>(value >> (8 * i));
  d.write(offset, std::span<const uint8_t>(buf, size));
}

inline uint8_t inb(BusDevice& d, uint64_t offset) { return static_cast<uint8_t>(in(d, offset, 1)); }
inline void outb(BusDevice& d, uint64_t offset, uint8_t v) { out(d, offset, 1, v); }
inline uint32_t inl(BusDevice& d, uint64_t offset) { return static_cast<uint32_t>(in(d, offset, 4)); }
inline void outl(BusDevice& d, uint64_t offset, uint32_t v) { out(d, offset, 4, v); }
inline void outw(BusDevice& d, uint64_t offset, uint16_t v) { out(d, offset, 2, v); }

}  // namespace dvmm::test
