#include "host/devices/bus.hpp"

namespace dvmm {

Status Bus::insert(uint64_t base, uint64_t length, std::shared_ptr<BusDevice> device,
                   std::string device_name) {
  if (length == 0) {
    return Error::format("{} bus: device '{}' at {:#x} has an empty range", name_, device_name,
                         base);
  }
  if (base + length < base) {
    return Error::format("{} bus: device '{}' range {:#x}+{:#x} wraps around the address space",
                         name_, device_name, base, length);
  }
  // The first range at or after base, and the one before it, are the only
  // candidates for an overlap.
  auto next = ranges_.lower_bound(base);
  if (next != ranges_.end() && next->second.base < base + length) {
    return Error::format("{} bus: device '{}' [{:#x}, {:#x}) overlaps '{}' at {:#x}", name_,
                         device_name, base, base + length, next->second.device_name,
                         next->second.base);
  }
  if (next != ranges_.begin()) {
    const Range& prev = std::prev(next)->second;
    if (prev.base + prev.length > base) {
      return Error::format("{} bus: device '{}' [{:#x}, {:#x}) overlaps '{}' at {:#x}", name_,
                           device_name, base, base + length, prev.device_name, prev.base);
    }
  }
  ranges_.emplace(base, Range{base, length, std::move(device), std::move(device_name)});
  return {};
}

const Bus::Range* Bus::find(uint64_t addr, uint64_t size) const {
  auto it = ranges_.upper_bound(addr);
  if (it == ranges_.begin()) return nullptr;
  const Range& r = std::prev(it)->second;
  if (addr - r.base >= r.length || size > r.length - (addr - r.base)) return nullptr;
  return &r;
}

bool Bus::read(uint64_t addr, std::span<uint8_t> data) const {
  const Range* r = find(addr, data.size());
  if (r == nullptr) return false;
  r->device->read(addr - r->base, data);
  return true;
}

bool Bus::write(uint64_t addr, std::span<const uint8_t> data) const {
  const Range* r = find(addr, data.size());
  if (r == nullptr) return false;
  r->device->write(addr - r->base, data);
  return true;
}

}  // namespace dvmm
