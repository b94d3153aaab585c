// The byte checksum shared by ACPI tables and Intel MP structures: all bytes
// of a structure, including its checksum byte, sum to 0 modulo 256.
#pragma once

#include <cstdint>
#include <span>

namespace dvmm::boot {

inline uint8_t byte_sum(std::span<const uint8_t> bytes) {
  uint8_t sum = 0;
  for (uint8_t b : bytes) sum = static_cast<uint8_t>(sum + b);
  return sum;
}

// Stores into bytes[checksum_offset] the value that makes the sum 0.
inline void set_checksum(std::span<uint8_t> bytes, size_t checksum_offset) {
  bytes[checksum_offset] = 0;
  bytes[checksum_offset] = static_cast<uint8_t>(0x100 - byte_sum(bytes));
}

}  // namespace dvmm::boot
