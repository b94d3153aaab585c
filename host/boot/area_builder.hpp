// AreaBuilder: lays out boot data (multiboot information, ACPI tables, the
// MP table) inside one fixed guest-physical range from layout.hpp. Items are
// appended in a host buffer, every reservation is bounds-checked against the
// range, and the whole area reaches the guest in one GuestMemory::write at
// commit(). Nothing outside the range can ever be written.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "host/boot/layout.hpp"
#include "host/common/result.hpp"
#include "host/memory/guest_memory.hpp"

namespace dvmm::boot {

class AreaBuilder {
 public:
  // what names the area in errors ("multiboot information", "ACPI tables").
  AreaBuilder(GuestRange range, std::string_view what) : range_(range), what_(what) {}

  // Reserves n zeroed bytes at the next multiple of align (a power of two)
  // and returns their guest-physical address.
  Result<uint64_t> reserve(uint64_t n, uint64_t align, std::string_view item) {
    uint64_t cursor = range_.start + buf_.size();
    uint64_t at = (cursor + align - 1) & ~(align - 1);
    if (at > range_.end || n > range_.end - at) {
      return Error::format(
          "the {} area [{:#x}, {:#x}) is full: {} needs {} bytes at {:#x}; reduce the boot "
          "data (command lines, modules, CPUs)",
          what_, range_.start, range_.end, item, n, at);
    }
    buf_.resize(static_cast<size_t>(at + n - range_.start), 0);
    return at;
  }

  Result<uint64_t> append(std::span<const uint8_t> bytes, uint64_t align, std::string_view item) {
    uint64_t at = DVMM_TRY(reserve(bytes.size(), align, item));
    if (!bytes.empty()) std::memcpy(&buf_[offset(at)], bytes.data(), bytes.size());
    return at;
  }

  // A NUL-terminated copy of s.
  Result<uint64_t> append_string(std::string_view s, std::string_view item) {
    uint64_t at = DVMM_TRY(reserve(s.size() + 1, 1, item));
    if (!s.empty()) std::memcpy(&buf_[offset(at)], s.data(), s.size());
    return at;
  }

  // Overwrites already reserved bytes at gpa with obj (used to fill in a
  // structure once the addresses it points to are known).
  template <typename T>
  void put(uint64_t gpa, const T& obj) {
    static_assert(std::is_trivially_copyable_v<T>);
    std::memcpy(&buf_[offset(gpa)], &obj, sizeof(T));
  }

  void put_bytes(uint64_t gpa, std::span<const uint8_t> bytes) {
    if (!bytes.empty()) std::memcpy(&buf_[offset(gpa)], bytes.data(), bytes.size());
  }

  // Bytes reserved so far, as they will land at range().start.
  std::span<uint8_t> bytes() { return buf_; }
  const GuestRange& range() const { return range_; }

  Status commit(GuestMemory& mem) const {
    if (!mem.contains(GuestAddress{range_.start}, buf_.size())) {
      return Error::format("guest RAM ({:#x} bytes) is too small to hold the {} at [{:#x}, {:#x})",
                           mem.size(), what_, range_.start, range_.start + buf_.size());
    }
    return mem.write(GuestAddress{range_.start}, buf_);
  }

 private:
  size_t offset(uint64_t gpa) const { return static_cast<size_t>(gpa - range_.start); }

  GuestRange range_;
  std::string what_;
  std::vector<uint8_t> buf_;
};

}  // namespace dvmm::boot
