// The ring-0 probe on this host's KVM: what it says runs does run at ring
// 0 under the CPUID dvmm gives the guest, other instructions of the same
// feature included; what it says fails fails again; and every probed
// feature the guest's ring-0 CPUID shows either runs or is in the
// clearcpuid= list dvmm derives for Linux.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "host/arch/cpuid.hpp"
#include "host/arch/ring0_probe.hpp"
#include "tests/support/subprocess.hpp"

namespace dvmm::x86 {
namespace {

// Other instructions of each probed feature, each sequence ending in hlt.
const std::map<std::string, std::vector<uint8_t>>& other_instructions() {
  static const std::map<std::string, std::vector<uint8_t>> m{
      {"ssse3", {0x66, 0x0F, 0x3A, 0x0F, 0xC1, 0x04, 0xF4}},         // palignr xmm0, xmm1, 4
      {"sse4_1", {0x66, 0x0F, 0x3A, 0x16, 0xC0, 0x01, 0xF4}},        // pextrd eax, xmm0, 1
      {"sse4_2", {0xF2, 0x48, 0x0F, 0x38, 0xF1, 0xC1, 0xF4}},        // crc32 rax, rcx
      {"popcnt", {0xF3, 0x48, 0x0F, 0xB8, 0x03, 0xF4}},              // popcnt rax, [rbx]
      {"aes", {0x66, 0x0F, 0x38, 0xDE, 0xC1,                         // aesdec xmm0, xmm1
               0x66, 0x0F, 0x38, 0xDD, 0xC1, 0xF4}},                 // aesenclast xmm0, xmm1
      {"pclmulqdq", {0x66, 0x0F, 0x3A, 0x44, 0xC1, 0x11, 0xF4}},     // pclmulqdq xmm0, xmm1, 0x11
      {"rdrand", {0x48, 0x0F, 0xC7, 0xF0, 0xF4}},                    // rdrand rax
      {"rdseed", {0x48, 0x0F, 0xC7, 0xF8, 0xF4}},                    // rdseed rax
      {"sha_ni", {0x0F, 0x3A, 0xCC, 0xCA, 0x00, 0xF4}},              // sha1rnds4 xmm1, xmm2, 0
      {"gfni", {0x66, 0x0F, 0x3A, 0xCE, 0xC1, 0x00, 0xF4}},          // gf2p8affineqb xmm0, xmm1, 0
      {"smap", {0x0F, 0x01, 0xCB, 0x0F, 0x01, 0xCA, 0xF4}},          // stac; clac
  };
  return m;
}

// mov eax, leaf; mov ecx, index; cpuid; hlt
std::vector<uint8_t> cpuid_code(uint32_t leaf, uint32_t index) {
  std::vector<uint8_t> code{0xB8};
  for (int i = 0; i < 4; ++i) code.push_back(static_cast<uint8_t>(leaf >> (8 * i)));
  code.push_back(0xB9);
  for (int i = 0; i < 4; ++i) code.push_back(static_cast<uint8_t>(index >> (8 * i)));
  code.insert(code.end(), {0x0F, 0xA2, 0xF4});
  return code;
}

uint32_t reg_of(const kvm_regs& r, Reg reg) {
  const uint64_t v[] = {r.rax, r.rbx, r.rcx, r.rdx};
  return static_cast<uint32_t>(v[static_cast<size_t>(reg)]);
}

bool runs(const kvm::Kvm& kvm, std::span<const uint8_t> code, const kvm::CpuidEntries& cpuid,
          bool osxsave) {
  auto r = runs_at_ring0(kvm, code, cpuid, osxsave);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() && *r;
}

TEST(Ring0Probe, VerdictsHoldAtRingZeroUnderTheGuestsCpuid) {
  DVMM_REQUIRE_KVM();
  auto kvm = kvm::Kvm::open();
  ASSERT_TRUE(kvm.ok()) << kvm.error().message;
  auto supported = kvm->supported_cpuid();
  ASSERT_TRUE(supported.ok()) << supported.error().message;

  const auto t0 = std::chrono::steady_clock::now();
  auto probed = probe_ring0(*kvm, *supported);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(probed.ok()) << probed.error().message;
  const Ring0Support& ring0 = *probed;
  const std::string clearcpuid = linux_clearcpuid(ring0);
  std::printf("probe_ring0: %.1f ms\n  missing: %s\n  Linux clearcpuid=%s\n", ms,
              ring0.missing().c_str(), clearcpuid.c_str());
  RecordProperty("probe_ms", static_cast<int>(ms));

  const kvm::CpuidEntries guest = make_cpuid(*supported, {0, 1}, ring0);
  for (const Ring0Feature& f : ring0_features()) {
    SCOPED_TRACE(f.name);
    kvm_regs regs{};
    auto read = runs_at_ring0(*kvm, cpuid_code(f.flag.leaf, f.flag.index), guest, false, &regs);
    ASSERT_TRUE(read.ok() && *read) << "cpuid at ring 0";
    const bool guest_sees = (reg_of(regs, f.flag.reg) & f.flag.mask) != 0;
    auto other = other_instructions().find(f.name);
    if (ring0.*f.runs) {
      if (!guest_sees && !cpuid_has(guest, f.flag)) continue;
      EXPECT_TRUE(runs(*kvm, f.code, guest, f.osxsave)) << "the probe's own sequence";
      if (other != other_instructions().end()) {
        EXPECT_TRUE(runs(*kvm, other->second, guest, f.osxsave)) << "another instruction";
      }
      continue;
    }
    EXPECT_FALSE(cpuid_has(guest, f.flag)) << "dvmm's table hides it";
    if (guest_sees) {
      EXPECT_TRUE(ring0.shows_anyway(f.flag));
      EXPECT_NE(("," + clearcpuid + ",").find("," + std::string(f.name) + ","), std::string::npos)
          << "the guest sees it at ring 0, so Linux must be told";
    }
    const bool probed_it = (f.needs == nullptr || ring0.*f.needs) &&
                           (cpuid_has(*supported, f.flag) || (!f.osxsave && ring0.shows_anyway(f.flag)));
    if (probed_it) {
      EXPECT_FALSE(runs(*kvm, f.code, *supported, f.osxsave)) << "fails again";
    }
  }
}

}  // namespace
}  // namespace dvmm::x86
