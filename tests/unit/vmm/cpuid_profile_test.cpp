// The CPUID a vCPU sees: what the ring-0 probe finds missing is hidden
// with what depends on it, and KVM's paravirtual features are cut to the
// ones that work across nodes.
#include "host/arch/cpuid.hpp"

#include <gtest/gtest.h>

namespace dvmm::x86 {
namespace {

kvm_cpuid_entry2 leaf(uint32_t fn, uint32_t index, uint32_t eax, uint32_t ebx, uint32_t ecx,
                      uint32_t edx) {
  kvm_cpuid_entry2 e{};
  e.function = fn;
  e.index = index;
  e.eax = eax;
  e.ebx = ebx;
  e.ecx = ecx;
  e.edx = edx;
  return e;
}

// A host that has everything.
kvm::CpuidEntries host() {
  return {
      leaf(1, 0, 0x00A20F12, 0, 0xFFFFFFFF & ~(1u << 31), 0xFFFFFFFF),
      leaf(7, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
      leaf(0xD, 0, 0x7, 0x340, 0x340, 0),
      leaf(0xD, 1, 0xF, 0, 0, 0),
      leaf(0x40000001, 0, 0x01FFFFFF, 0, 0, 1),
      leaf(0x80000001, 0, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF),
  };
}

const kvm_cpuid_entry2& find(const kvm::CpuidEntries& c, uint32_t fn, uint32_t index = 0) {
  for (const auto& e : c) {
    if (e.function == fn && e.index == index) return e;
  }
  ADD_FAILURE() << "leaf " << fn << " missing";
  static kvm_cpuid_entry2 none{};
  return none;
}

TEST(CpuidProfile, NothingMissingHidesNothingTheGuestCanUse) {
  auto c = make_cpuid(host(), {0, 2}, Ring0Support{});
  EXPECT_TRUE(find(c, 1).ecx & (1u << 13));  // CX16
  EXPECT_TRUE(find(c, 1).ecx & (1u << 26));  // XSAVE
  EXPECT_TRUE(find(c, 1).ecx & (1u << 21));  // x2APIC
  EXPECT_TRUE(find(c, 1).ecx & (1u << 31));  // hypervisor
  EXPECT_FALSE(find(c, 1).ecx & (1u << 24));  // no TSC deadline: the userspace LAPIC lacks it
  EXPECT_TRUE(find(c, 7).ebx & (1u << 5));   // AVX2
  EXPECT_EQ(find(c, 0xD, 1).eax, 0xFu);
  EXPECT_TRUE(find(c, 0x80000001).edx & (1u << 27));  // RDTSCP
}

TEST(CpuidProfile, WhatRingZeroCannotRunIsHiddenWithItsDependants) {
  Ring0Support s;
  s.cmpxchg16b = s.xsave = s.xsaves = s.rdtscp = s.x2apic_msr_exits = false;
  auto c = make_cpuid(host(), {1, 2}, s);
  const uint32_t ecx1 = find(c, 1).ecx;
  EXPECT_FALSE(ecx1 & (1u << 13));  // CX16
  EXPECT_FALSE(ecx1 & (1u << 26));  // XSAVE
  EXPECT_FALSE(ecx1 & (1u << 27));  // OSXSAVE
  EXPECT_FALSE(ecx1 & (1u << 28));  // AVX
  EXPECT_FALSE(ecx1 & (1u << 12));  // FMA
  EXPECT_FALSE(ecx1 & (1u << 21));  // x2APIC: its MSRs would #GP
  EXPECT_TRUE(ecx1 & (1u << 0));    // SSE3 untouched
  EXPECT_FALSE(find(c, 7).ebx & (1u << 5));   // AVX2
  EXPECT_FALSE(find(c, 7).ebx & (1u << 16));  // AVX-512F
  EXPECT_TRUE(find(c, 7).ebx & (1u << 0));    // FSGSBASE untouched
  EXPECT_EQ(find(c, 0xD, 0).eax, 0u);
  EXPECT_EQ(find(c, 0xD, 1).eax, 0u);
  EXPECT_FALSE(find(c, 0x80000001).edx & (1u << 27));  // RDTSCP
  EXPECT_TRUE(find(c, 0x80000001).edx & (1u << 29));   // long mode untouched
}

TEST(CpuidProfile, OnlyXsavesMissingKeepsXsave) {
  Ring0Support s;
  s.xsaves = false;
  auto c = make_cpuid(host(), {0, 1}, s);
  EXPECT_TRUE(find(c, 1).ecx & (1u << 26));
  EXPECT_EQ(find(c, 0xD, 1).eax, 0x7u);  // XSAVEOPT, XSAVEC, XGETBV1 stay
}

TEST(CpuidProfile, ParavirtualFeaturesAreThoseThatWorkAcrossNodes) {
  auto c = make_cpuid(host(), {0, 1}, Ring0Support{});
  // NOP_IO_DELAY, CLOCKSOURCE2 and the stable bit; no PV EOI, IPIs,
  // unhalt, steal time or async page faults.
  EXPECT_EQ(find(c, 0x40000001).eax, (1u << 1) | (1u << 3) | (1u << 24));
  EXPECT_EQ(find(c, 0x40000001).edx, 0u);
}

}  // namespace
}  // namespace dvmm::x86
