// The CPUID a vCPU sees: what the ring-0 probe finds missing is hidden
// with what depends on it, and KVM's paravirtual features are cut to the
// ones that work across nodes.
#include "host/arch/cpuid.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

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
      leaf(7, 0, 1, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
      leaf(7, 1, 0xFFFFFFFF, 0, 0, 0),
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

// Every flag `after` lacks that `before` has, as "leaf.index reg" -> bits.
using Cleared = std::map<std::string, uint32_t>;
Cleared cleared(const kvm::CpuidEntries& before, const kvm::CpuidEntries& after) {
  Cleared out;
  for (const kvm_cpuid_entry2& b : before) {
    const kvm_cpuid_entry2& a = find(after, b.function, b.index);
    const uint32_t was[] = {b.eax, b.ebx, b.ecx, b.edx};
    const uint32_t is[] = {a.eax, a.ebx, a.ecx, a.edx};
    for (int r = 0; r < 4; ++r) {
      if (uint32_t gone = was[r] & ~is[r]; gone != 0) {
        out[std::to_string(b.function) + "." + std::to_string(b.index) + " " + "abcd"[r]] = gone;
      }
    }
  }
  return out;
}

uint32_t bits(std::initializer_list<int> list) {
  uint32_t m = 0;
  for (int b : list) m |= 1u << b;
  return m;
}

// What hiding the AVX family clears: AVX, FMA, F16C; AVX2 and AVX-512 (F,
// DQ, IFMA, PF, ER, CD, BW, VL; VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ;
// 4VNNIW, 4FMAPS, VP2INTERSECT, FP16); VAES, VPCLMULQDQ; AVX-VNNI, AVX512_BF16.
Cleared with_avx_family(Cleared c) {
  c["1.0 c"] |= bits({28, 12, 29});
  c["7.0 b"] |= bits({5, 16, 17, 21, 26, 27, 28, 30, 31});
  c["7.0 c"] |= bits({1, 6, 9, 10, 11, 12, 14});
  c["7.0 d"] |= bits({2, 3, 8, 23});
  c["7.1 a"] |= bits({4, 5});
  return c;
}

TEST(CpuidProfile, EachMissingFeatureHidesExactlyItselfAndWhatNeedsIt) {
  // 13 is leaf 0xD: no XSAVE empties it.
  Cleared xsave = with_avx_family({{"1.0 c", bits({26, 27})},
                                   {"7.0 d", bits({22, 24, 25})},
                                   {"13.0 a", 0x7},
                                   {"13.0 b", 0x340},
                                   {"13.0 c", 0x340},
                                   {"13.1 a", 0xF}});
  const std::map<std::string, Cleared> expected{
      {"cx16", {{"1.0 c", bits({13})}}},
      {"xsave", xsave},
      {"xsaves", {{"13.1 a", bits({3})}}},
      {"rdtscp", {{"2147483649.0 d", bits({27})}}},
      {"ssse3", with_avx_family({{"1.0 c", bits({9, 19, 20})}})},
      {"sse4_1", with_avx_family({{"1.0 c", bits({19, 20})}})},
      {"sse4_2", with_avx_family({{"1.0 c", bits({20})}})},
      {"popcnt", {{"1.0 c", bits({23})}}},
      {"aes", {{"1.0 c", bits({25})}, {"7.0 c", bits({9})}}},
      {"pclmulqdq", {{"1.0 c", bits({1})}, {"7.0 c", bits({10})}}},
      {"rdrand", {{"1.0 c", bits({30})}}},
      {"rdseed", {{"7.0 b", bits({18})}}},
      {"sha_ni", {{"7.0 b", bits({29})}}},
      {"gfni", {{"7.0 c", bits({8})}}},
      {"smap", {{"7.0 b", bits({20})}}},
  };
  const auto all = make_cpuid(host(), {0, 2}, Ring0Support{});
  EXPECT_EQ(ring0_features().size(), expected.size());
  for (const Ring0Feature& f : ring0_features()) {
    SCOPED_TRACE(f.name);
    Ring0Support s;
    s.*f.runs = false;
    auto it = expected.find(f.name);
    ASSERT_NE(it, expected.end()) << "no expectation for " << f.name;
    EXPECT_EQ(cleared(all, make_cpuid(host(), {0, 2}, s)), it->second);
  }
}

TEST(CpuidProfile, FeaturesAreProbedAfterWhatTheyNeed) {
  std::vector<bool Ring0Support::*> seen;
  for (const Ring0Feature& f : ring0_features()) {
    if (f.needs != nullptr) {
      EXPECT_NE(std::find(seen.begin(), seen.end(), f.needs), seen.end()) << f.name;
    }
    EXPECT_EQ(f.code.back(), 0xF4) << f.name << ": a probe ends in hlt";
    seen.push_back(f.runs);
  }
}

TEST(CpuidProfile, LinuxIsToldWhatItSeesAnywayButCannotRun) {
  Ring0Support s;
  s.ssse3 = s.popcnt = s.rdtscp = false;
  // KVM shows SSSE3, SSE4.1, SSE4.2, POPCNT, AVX and SMAP whatever the
  // table says; RDTSCP it hides.
  s.shown_anyway = {{1, 0, Reg::ecx, bits({9, 19, 20, 23, 28})}, {7, 0, Reg::ebx, bits({20})}};
  EXPECT_EQ(linux_clearcpuid(s), "ssse3,sse4_1,sse4_2,popcnt,avx");
  EXPECT_TRUE(s.shows_anyway({7, 0, Reg::ebx, bits({20})}));
  EXPECT_FALSE(s.shows_anyway({7, 0, Reg::ecx, bits({20})}));

  Ring0Support runs_all;
  runs_all.shown_anyway = s.shown_anyway;
  EXPECT_EQ(linux_clearcpuid(runs_all), "");
  s.shown_anyway.clear();
  EXPECT_EQ(linux_clearcpuid(s), "");
}

TEST(CpuidProfile, MissingNamesWhatRingZeroCannotRun) {
  Ring0Support s;
  EXPECT_EQ(s.missing(), "");
  s.smap = s.sse2_moves = false;
  EXPECT_EQ(s.missing(), "smap, SSE2 register moves (x86-64 cannot hide them)");
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
