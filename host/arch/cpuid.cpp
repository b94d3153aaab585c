#include "host/arch/cpuid.hpp"

#include <algorithm>
#include <bit>
#include <iterator>
#include <string_view>

namespace dvmm::x86 {

namespace {

constexpr uint32_t kLeaf1EcxX2apic = 1u << 21;
constexpr uint32_t kLeaf1EcxTscDeadline = 1u << 24;
constexpr uint32_t kLeaf1EcxHypervisor = 1u << 31;
constexpr uint32_t kLeaf1EcxVmx = 1u << 5;
constexpr uint32_t kLeaf1EdxApic = 1u << 9;
constexpr uint32_t kKvmFeatureNopIoDelay = 1u << 1;
constexpr uint32_t kKvmFeatureClocksource2 = 1u << 3;
constexpr uint32_t kKvmFeatureClocksourceStable = 1u << 24;
constexpr uint32_t kLeaf1EdxHtt = 1u << 28;

// VEX- and EVEX-encoded features: they need XSAVE-managed state, and a CPU
// with them has SSSE3, SSE4.1 and SSE4.2. Named: AVX, and what Linux 6.1
// keeps when told clearcpuid=avx (its cpuid_deps hang F16C off SSE2, VAES
// and VPCLMULQDQ off AVX512VL, AVX-VNNI off nothing).
constexpr HiddenFeature kVaes{"vaes", {7, 0, Reg::ecx, 1u << 9}};
constexpr HiddenFeature kVpclmulqdq{"vpclmulqdq", {7, 0, Reg::ecx, 1u << 10}};
constexpr HiddenFeature kAvxFamily[] = {
    {"avx", {1, 0, Reg::ecx, 1u << 28}},
    {nullptr, {1, 0, Reg::ecx, 1u << 12}},  // FMA
    {"f16c", {1, 0, Reg::ecx, 1u << 29}},
    // AVX2; AVX-512 F, DQ, IFMA, PF, ER, CD, BW, VL.
    {nullptr,
     {7, 0, Reg::ebx,
      (1u << 5) | (1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) |
          (1u << 30) | (1u << 31)}},
    // AVX-512 VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ.
    {nullptr, {7, 0, Reg::ecx, (1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14)}},
    kVaes,
    kVpclmulqdq,
    // AVX-512 4VNNIW, 4FMAPS, VP2INTERSECT, FP16.
    {nullptr, {7, 0, Reg::edx, (1u << 2) | (1u << 3) | (1u << 8) | (1u << 23)}},
    {"avx_vnni", {7, 1, Reg::eax, 1u << 4}},
    {nullptr, {7, 1, Reg::eax, 1u << 5}},  // AVX512_BF16
};
constexpr HiddenFeature kOsxsave{nullptr, {1, 0, Reg::ecx, 1u << 27}};
constexpr HiddenFeature kAmx{nullptr, {7, 0, Reg::edx, (1u << 22) | (1u << 24) | (1u << 25)}};

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
        break;
      }
      case 0xD:
        if (!ring0.xsave) e.eax = e.ebx = e.ecx = e.edx = 0;
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
  for (const HiddenFeature& h : ring0_hidden_features(ring0)) {
    for (kvm_cpuid_entry2& e : out) {
      if (e.function == h.bits.leaf && e.index == h.bits.index) {
        cpuid_reg(e, h.bits.reg) &= ~h.bits.mask;
      }
    }
  }
  return out;
}

std::vector<HiddenFeature> ring0_hidden_features(const Ring0Support& ring0) {
  std::vector<HiddenFeature> out;
  Ring0Support can = ring0;  // less what needs a missing feature
  bool avx_family = false;
  for (const Ring0Feature& f : ring0_features()) {
    if (f.needs != nullptr && !(can.*f.needs)) can.*f.runs = false;
    if (can.*f.runs) continue;
    out.push_back({f.name, f.flag});
    if (f.runs == &Ring0Support::xsave) {
      out.push_back(kOsxsave);
      out.push_back(kAmx);
      avx_family = true;
    } else if (f.runs == &Ring0Support::sse4_2) {
      avx_family = true;
    } else if (f.runs == &Ring0Support::aes) {
      out.push_back(kVaes);
    } else if (f.runs == &Ring0Support::pclmulqdq) {
      out.push_back(kVpclmulqdq);
    }
  }
  if (avx_family) out.insert(out.end(), std::begin(kAvxFamily), std::end(kAvxFamily));
  return out;
}

std::string linux_clearcpuid(const Ring0Support& ring0) {
  std::vector<std::string_view> names;
  for (const HiddenFeature& h : ring0_hidden_features(ring0)) {
    if (h.name == nullptr || !ring0.shows_anyway(h.bits)) continue;
    if (std::find(names.begin(), names.end(), h.name) == names.end()) names.push_back(h.name);
  }
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ',';
    out += n;
  }
  return out;
}

}  // namespace dvmm::x86
