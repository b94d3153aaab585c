#include "host/arch/cpuid.hpp"

#include <bit>

namespace dvmm::x86 {

namespace {

constexpr uint32_t kLeaf1EcxX2apic = 1u << 21;
constexpr uint32_t kLeaf1EcxTscDeadline = 1u << 24;
constexpr uint32_t kLeaf1EcxHypervisor = 1u << 31;
constexpr uint32_t kLeaf1EcxVmx = 1u << 5;
constexpr uint32_t kLeaf1EdxApic = 1u << 9;
constexpr uint32_t kLeaf1EdxHtt = 1u << 28;

// Bits of the APIC ID that select the core within the package.
uint32_t core_shift(uint32_t cpu_count) {
  return cpu_count <= 1 ? 0 : static_cast<uint32_t>(std::bit_width(cpu_count - 1));
}

void set_topology_leaf(kvm_cpuid_entry2& e, const CpuTopology& topo) {
  // Level 0: SMT (1 thread per core, shift 0); level 1: core; above: invalid.
  e.edx = topo.apic_id;
  switch (e.index) {
    case 0:
      e.eax = 0;
      e.ebx = 1;
      e.ecx = (1u << 8) | e.index;
      break;
    case 1:
      e.eax = core_shift(topo.cpu_count);
      e.ebx = topo.cpu_count;
      e.ecx = (2u << 8) | e.index;
      break;
    default:
      e.eax = 0;
      e.ebx = 0;
      e.ecx = e.index;
      break;
  }
}

}  // namespace

kvm::CpuidEntries make_cpuid(const kvm::CpuidEntries& supported, const CpuTopology& topo) {
  kvm::CpuidEntries out = supported;
  for (kvm_cpuid_entry2& e : out) {
    switch (e.function) {
      case 1: {
        uint32_t logical = topo.cpu_count > 255 ? 255 : topo.cpu_count;
        e.ebx = (e.ebx & 0x0000FFFF) | (logical << 16) | ((topo.apic_id & 0xFF) << 24);
        e.ecx |= kLeaf1EcxX2apic | kLeaf1EcxHypervisor;
        e.ecx &= ~(kLeaf1EcxTscDeadline | kLeaf1EcxVmx);
        e.edx |= kLeaf1EdxApic;
        if (topo.cpu_count > 1) e.edx |= kLeaf1EdxHtt;
        break;
      }
      case 4: {
        // EAX[31:26]: addressable core IDs in the package - 1; EAX[25:14]:
        // logical processors sharing this cache - 1 (one per core here).
        if ((e.eax & 0x1F) == 0) break;  // no more cache levels
        uint32_t cores = (1u << core_shift(topo.cpu_count)) - 1;
        e.eax = (e.eax & 0x00003FFF) | (cores << 26);
        break;
      }
      case 0xB:
      case 0x1F:
        set_topology_leaf(e, topo);
        break;
      default:
        break;
    }
  }
  return out;
}

}  // namespace dvmm::x86
