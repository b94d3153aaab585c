#include "host/devices/debug_exit.hpp"

#include <algorithm>
#include <utility>

#include "host/devices/io_access.hpp"

namespace dvmm {

DebugExit::DebugExit(std::function<void(uint32_t)> on_exit) : on_exit_(std::move(on_exit)) {}

void DebugExit::read(uint64_t /*offset*/, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), uint8_t{0});
}

void DebugExit::write(uint64_t /*offset*/, std::span<const uint8_t> data) {
  // Stateless, so no lock: the handler decides what concurrent exits mean.
  if (on_exit_) on_exit_(static_cast<uint32_t>(load_le(data)));
}

}  // namespace dvmm
