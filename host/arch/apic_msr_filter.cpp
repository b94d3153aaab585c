#include "host/arch/apic_msr_filter.hpp"

#include <array>
#include <cstdint>

namespace dvmm::x86 {

Status forward_apic_msrs(kvm::Vm& vm) {
  // KVM keeps pointers to the bitmaps until the next filter: static.
  static std::array<uint8_t, 256 / 8> x2apic_bitmap{};  // all zero: deny (exit)
  static std::array<uint8_t, 1> apic_base_bitmap{};
  kvm_msr_filter filter{};
  filter.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
  filter.ranges[0].flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
  filter.ranges[0].base = 0x800;
  filter.ranges[0].nmsrs = 256;
  filter.ranges[0].bitmap = x2apic_bitmap.data();
  filter.ranges[1].flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
  filter.ranges[1].base = 0x1B;
  filter.ranges[1].nmsrs = 1;
  filter.ranges[1].bitmap = apic_base_bitmap.data();
  return vm.set_msr_filter(filter);
}

}  // namespace dvmm::x86
