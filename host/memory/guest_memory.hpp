// Host-side access to guest-physical memory. Loaders, firmware-table
// writers and device models reach guest RAM only through this interface, so
// that the distributed-shared-memory layer can later put its coherence
// protocol behind the same calls. Every access is bounds-checked: a guest or
// an image can name any address, and a bad one is an Error, never a stray
// host access.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "host/common/address.hpp"
#include "host/common/result.hpp"

namespace dvmm {

class GuestMemory {
 public:
  virtual ~GuestMemory() = default;

  // Bytes of guest RAM, starting at guest-physical 0.
  virtual uint64_t size() const = 0;
  virtual Status read(GuestAddress gpa, std::span<uint8_t> out) const = 0;
  virtual Status write(GuestAddress gpa, std::span<const uint8_t> in) = 0;

  // True when [gpa, gpa+len) lies inside guest RAM.
  bool contains(GuestAddress gpa, uint64_t len) const {
    return gpa.raw <= size() && len <= size() - gpa.raw;
  }

  template <typename T>
  Result<T> read_obj(GuestAddress gpa) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value{};
    DVMM_TRY(read(gpa, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&value), sizeof(T))));
    return value;
  }
  template <typename T>
  Status write_obj(GuestAddress gpa, const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    return write(gpa, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&value), sizeof(T)));
  }
};

}  // namespace dvmm
