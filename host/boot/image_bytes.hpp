// Reading fields out of a kernel image file: every loader checks a range
// against the file's size (without overflow) before it copies from it.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

namespace dvmm::boot {

// True when [offset, offset + len) lies inside a file of `size` bytes,
// without overflowing.
inline bool in_file(uint64_t size, uint64_t offset, uint64_t len) {
  return offset <= size && len <= size - offset;
}

// Copies a T out of the image at offset; the caller has checked in_file.
template <typename T>
T read_at(std::span<const uint8_t> image, uint64_t offset) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value;
  std::memcpy(&value, image.data() + offset, sizeof(T));
  return value;
}

}  // namespace dvmm::boot
