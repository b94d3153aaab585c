// Small helpers for building firmware tables as byte vectors from packed
// structures.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <vector>

namespace dvmm::boot {

template <typename T>
void append_struct(std::vector<uint8_t>& out, const T& obj) {
  static_assert(std::is_trivially_copyable_v<T>);
  const auto* p = reinterpret_cast<const uint8_t*>(&obj);
  out.insert(out.end(), p, p + sizeof(T));
}

// Copies s into a fixed-size identifier field, padding with spaces (ACPI
// and MP OEM IDs are space-padded, not NUL-terminated).
template <size_t N>
void set_id(char (&field)[N], std::string_view s) {
  std::memset(field, ' ', N);
  std::memcpy(field, s.data(), s.size() < N ? s.size() : N);
}

}  // namespace dvmm::boot
