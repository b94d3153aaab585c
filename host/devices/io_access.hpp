// Helpers shared by the device models: little-endian packing of an access
// of 1 to 8 bytes (x86 port and MMIO accesses are little-endian), and BCD.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace dvmm {

// The value of an access of up to 8 bytes; bytes beyond the 8th are ignored.
inline uint64_t load_le(std::span<const uint8_t> data) {
  uint64_t v = 0;
  const size_t n = data.size() < 8 ? data.size() : 8;
  for (size_t i = n; i-- > 0;) v = (v << 8) | data[i];
  return v;
}

// Fills the access with value, zero-extended (or truncated) to its width.
inline void store_le(std::span<uint8_t> data, uint64_t value) {
  for (uint8_t& b : data) {
    b = static_cast<uint8_t>(value & 0xFF);
    value >>= 8;
  }
}

// 0..99 <-> two BCD digits. from_bcd does not validate the nibbles.
constexpr uint8_t to_bcd(unsigned v) { return static_cast<uint8_t>(((v / 10) % 10) << 4 | (v % 10)); }
constexpr unsigned from_bcd(uint8_t v) { return (v >> 4) * 10u + (v & 0x0Fu); }

}  // namespace dvmm
