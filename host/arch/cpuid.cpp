#include "host/arch/cpuid.hpp"

#include <bit>

namespace dvmm::x86 {

namespace {

constexpr uint32_t kLeaf1EcxX2apic = 1u << 21;
constexpr uint32_t kLeaf1EcxTscDeadline = 1u << 24;
constexpr uint32_t kLeaf1EcxHypervisor = 1u << 31;
constexpr uint32_t kLeaf1EcxVmx = 1u << 5;
constexpr uint32_t kLeaf1EcxFma = 1u << 12;
constexpr uint32_t kLeaf1EcxCx16 = 1u << 13;
constexpr uint32_t kLeaf1EcxXsave = 1u << 26;
constexpr uint32_t kLeaf1EcxOsxsave = 1u << 27;
constexpr uint32_t kLeaf1EcxAvx = 1u << 28;
constexpr uint32_t kLeaf1EcxF16c = 1u << 29;
constexpr uint32_t kLeaf1EdxApic = 1u << 9;
// Leaf 7.0 features that need XSAVE-managed state: AVX2 and AVX-512 in EBX,
// AVX-512 extensions, VAES and VPCLMULQDQ in ECX, AMX and AVX-512 in EDX.
constexpr uint32_t kLeaf7EbxXsaveState = (1u << 5) | (1u << 16) | (1u << 17) | (1u << 21) |
                                         (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) |
                                         (1u << 31);
constexpr uint32_t kLeaf7EcxXsaveState = (1u << 1) | (1u << 6) | (1u << 8) | (1u << 9) |
                                         (1u << 10) | (1u << 11) | (1u << 12) | (1u << 14);
constexpr uint32_t kLeaf7EdxXsaveState = (1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) |
                                         (1u << 23) | (1u << 24);
constexpr uint32_t kLeafDSub1EaxXsaves = 1u << 3;
constexpr uint32_t kExtLeaf1EdxRdtscp = 1u << 27;
constexpr uint32_t kKvmFeatureNopIoDelay = 1u << 1;
constexpr uint32_t kKvmFeatureClocksource2 = 1u << 3;
constexpr uint32_t kKvmFeatureClocksourceStable = 1u << 24;
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

kvm::CpuidEntries make_cpuid(const kvm::CpuidEntries& supported, const CpuTopology& topo,
                             const Ring0Support& ring0) {
  kvm::CpuidEntries out = supported;
  for (kvm_cpuid_entry2& e : out) {
    switch (e.function) {
      case 1: {
        uint32_t logical = topo.cpu_count > 255 ? 255 : topo.cpu_count;
        e.ebx = (e.ebx & 0x0000FFFF) | (logical << 16) | ((topo.apic_id & 0xFF) << 24);
        e.ecx |= kLeaf1EcxHypervisor;
        if (ring0.x2apic_msr_exits) {
          e.ecx |= kLeaf1EcxX2apic;
        } else {
          e.ecx &= ~kLeaf1EcxX2apic;
        }
        e.ecx &= ~(kLeaf1EcxTscDeadline | kLeaf1EcxVmx);
        e.edx |= kLeaf1EdxApic;
        if (topo.cpu_count > 1) e.edx |= kLeaf1EdxHtt;
        if (!ring0.cmpxchg16b) e.ecx &= ~kLeaf1EcxCx16;
        if (!ring0.xsave) {
          e.ecx &= ~(kLeaf1EcxXsave | kLeaf1EcxOsxsave | kLeaf1EcxAvx | kLeaf1EcxFma | kLeaf1EcxF16c);
        }
        break;
      }
      case 7:
        if (!ring0.xsave && e.index == 0) {
          e.ebx &= ~kLeaf7EbxXsaveState;
          e.ecx &= ~kLeaf7EcxXsaveState;
          e.edx &= ~kLeaf7EdxXsaveState;
        }
        break;
      case 0xD:
        if (!ring0.xsave) {
          e.eax = e.ebx = e.ecx = e.edx = 0;
        } else if (!ring0.xsaves && e.index == 1) {
          e.eax &= ~kLeafDSub1EaxXsaves;
        }
        break;
      case 0x80000001:
        if (!ring0.rdtscp) e.edx &= ~kExtLeaf1EdxRdtscp;
        break;
      case 0x40000001:
        e.eax &= kKvmFeatureNopIoDelay | kKvmFeatureClocksource2 | kKvmFeatureClocksourceStable;
        e.edx = 0;
        break;
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
