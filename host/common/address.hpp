// Strong address types: a guest-physical address cannot be mixed up with a
// host pointer, an offset or a port number by accident.
#pragma once

#include <compare>
#include <cstdint>

namespace dvmm {

// A guest-physical address.
struct GuestAddress {
  uint64_t raw = 0;

  constexpr GuestAddress() = default;
  constexpr explicit GuestAddress(uint64_t a) : raw(a) {}
  constexpr GuestAddress operator+(uint64_t off) const { return GuestAddress{raw + off}; }
  constexpr uint64_t operator-(GuestAddress o) const { return raw - o.raw; }
  constexpr auto operator<=>(const GuestAddress&) const = default;
};

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t GiB = 1024 * MiB;

}  // namespace dvmm
