#include "host/devices/reset_ports.hpp"

#include <utility>

namespace dvmm {

namespace {
constexpr uint8_t kAllOnes = 0xFF;  // what an unclaimed port reads
}  // namespace

ResetControl::ResetControl(std::function<void()> on_reset) : on_reset_(std::move(on_reset)) {}

void ResetControl::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = offset == 0 && i == 0 ? value_ : kAllOnes;
  }
}

void ResetControl::write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  if (offset != 0 || data.size() > 1) ignored_writes_.fetch_add(1, std::memory_order_relaxed);
  if (offset != 0) return;
  const uint8_t v = data[0];
  constexpr uint8_t kDefined = kSysRst | kRstCpu | kFullRst;
  if ((v & ~kDefined) != 0) ignored_writes_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mu_);
    value_ = static_cast<uint8_t>(v & (kSysRst | kFullRst));  // RST_CPU self-clears
  }
  if ((v & kRstCpu) != 0 && on_reset_) on_reset_();
}

KeyboardControllerReset::KeyboardControllerReset(std::function<void()> on_reset)
    : on_reset_(std::move(on_reset)) {}

void KeyboardControllerReset::read(uint64_t offset, std::span<uint8_t> data) {
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = offset == 0 && i == 0 ? kStatus : kAllOnes;
  }
}

void KeyboardControllerReset::write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  if (offset != 0 || data.size() > 1 || !pulses_reset(data[0])) {
    ignored_writes_.fetch_add(1, std::memory_order_relaxed);
  }
  if (offset == 0 && pulses_reset(data[0]) && on_reset_) on_reset_();
}

}  // namespace dvmm
