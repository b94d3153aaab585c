// What a vCPU does with instructions KVM's emulator gives up on: the
// instructions dvmm executes itself, the exceptions it raises, and the
// errors for the rest.
#include "host/vmm/emulation_failure.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <vector>

namespace dvmm {
namespace {

using Kind = EmulationResult::Kind;

// Guest RAM identity-mapped from linear address 0, plus a read-only page.
class FakeTarget final : public EmulationTarget {
 public:
  static constexpr uint64_t kReadOnlyPage = 0x3000;
  std::vector<uint8_t> mem = std::vector<uint8_t>(0x10000, 0);
  std::map<uint32_t, uint64_t> msrs{{0x10, 0x1122334455667788}, {0xC0000103, 3}};

  std::optional<uint64_t> translate(uint64_t linear, bool write) override {
    if (linear >= mem.size() + 0x10000) return std::nullopt;  // unmapped
    if (write && (linear & ~0xFFFull) == kReadOnlyPage) return std::nullopt;
    return linear;  // beyond mem: mapped but not RAM (MMIO)
  }
  uint8_t* ram(uint64_t gpa, uint64_t len) override {
    return gpa + len <= mem.size() ? mem.data() + gpa : nullptr;
  }
  uint32_t mxcsr = 0x1F80;
  std::optional<uint32_t> read_mxcsr() override { return mxcsr; }
  bool write_mxcsr(uint32_t value) override {
    mxcsr = value;
    return true;
  }
  std::optional<uint64_t> read_msr(uint32_t index) override {
    auto it = msrs.find(index);
    if (it == msrs.end()) return std::nullopt;
    return it->second;
  }
  void put(uint64_t at, uint64_t v) { std::memcpy(mem.data() + at, &v, 8); }
  uint64_t get(uint64_t at) const {
    uint64_t v;
    std::memcpy(&v, mem.data() + at, 8);
    return v;
  }
};

kvm_sregs long_mode() {
  kvm_sregs s{};
  s.cs.l = 1;
  s.gs.base = 0x8000;
  return s;
}

struct Outcome {
  EmulationResult result;
  kvm_regs regs;
};

Outcome emulate(std::vector<uint8_t> bytes, kvm_regs regs, FakeTarget& t,
            kvm_sregs sregs = long_mode()) {
  EmulationResult r = emulate_failed_instruction(bytes, regs, sregs, t);
  return {r, regs};
}

kvm_regs at_rip(uint64_t rip) {
  kvm_regs r{};
  r.rip = rip;
  r.rflags = 2;
  return r;
}

TEST(EmulationFailure, Int3RaisesTheBreakpointTrapAfterTheInstruction) {
  FakeTarget t;
  Outcome a = emulate({0xCC, 0x90}, at_rip(0x1000), t);
  EXPECT_EQ(a.result.kind, Kind::kInject);
  EXPECT_EQ(a.result.vector, 3);
  EXPECT_EQ(a.regs.rip, 0x1001u);
  Outcome b = emulate({0xCD, 0x03}, at_rip(0x1000), t);
  EXPECT_EQ(b.result.vector, 3);
  EXPECT_EQ(b.regs.rip, 0x1002u);
  EXPECT_EQ(emulate({0xCD, 0x80}, at_rip(0x1000), t).result.kind, Kind::kFail);
}

TEST(EmulationFailure, Cmpxchg16bSucceedsAndFailsAsTheCpu) {
  FakeTarget t;
  t.put(0x2020, 0xAAAA);
  t.put(0x2028, 0xBBBB);
  kvm_regs r = at_rip(0x1000);
  r.rbp = 0x2000;
  r.rax = 0xAAAA;
  r.rdx = 0xBBBB;
  r.rbx = 0x1111;
  r.rcx = 0x2222;
  // lock cmpxchg16b [rbp+0x20]: equal, so RCX:RBX is stored and ZF set.
  Outcome ok = emulate({0xF0, 0x48, 0x0F, 0xC7, 0x4D, 0x20}, r, t);
  ASSERT_EQ(ok.result.kind, Kind::kDone) << ok.result.what;
  EXPECT_EQ(ok.regs.rip, 0x1006u);
  EXPECT_TRUE(ok.regs.rflags & 0x40);
  EXPECT_EQ(t.get(0x2020), 0x1111u);
  EXPECT_EQ(t.get(0x2028), 0x2222u);
  // Again with the old comparand: not equal, memory loaded into RDX:RAX.
  Outcome miss = emulate({0xF0, 0x48, 0x0F, 0xC7, 0x4D, 0x20}, r, t);
  ASSERT_EQ(miss.result.kind, Kind::kDone);
  EXPECT_FALSE(miss.regs.rflags & 0x40);
  EXPECT_EQ(miss.regs.rax, 0x1111u);
  EXPECT_EQ(miss.regs.rdx, 0x2222u);
  EXPECT_EQ(t.get(0x2020), 0x1111u);
}

TEST(EmulationFailure, Cmpxchg16bAddressing) {
  FakeTarget t;
  kvm_regs r = at_rip(0x1000);
  r.rsi = 0x100;
  r.r9 = 0x10;
  // cmpxchg16b gs:[rsi + r9*4 + 0x40] (SIB with REX.X, GS base 0x8000).
  Outcome sib = emulate({0x65, 0x4A, 0x0F, 0xC7, 0x4C, 0x8E, 0x40}, r, t);
  ASSERT_EQ(sib.result.kind, Kind::kDone) << sib.result.what;
  EXPECT_TRUE(sib.regs.rflags & 0x40);  // zeroes compared equal to RDX:RAX = 0
  EXPECT_EQ(sib.regs.rip, 0x1007u);
  // cmpxchg16b [rip + 0xFF8]: relative to the next instruction (0x1008).
  t.put(0x2000, 5);
  Outcome rel = emulate({0x48, 0x0F, 0xC7, 0x0D, 0xF8, 0x0F, 0x00, 0x00}, r, t);
  ASSERT_EQ(rel.result.kind, Kind::kDone) << rel.result.what;
  EXPECT_FALSE(rel.regs.rflags & 0x40);
  EXPECT_EQ(rel.regs.rax, 5u);
}

TEST(EmulationFailure, Cmpxchg8bUsesTheLowHalves) {
  FakeTarget t;
  t.put(0x2000, 0x0000000700000006);
  kvm_regs r = at_rip(0x1000);
  r.rdi = 0x2000;
  r.rax = 0xFFFFFFFF00000006;  // only EAX compares
  r.rdx = 7;
  r.rbx = 8;
  r.rcx = 9;
  Outcome ok = emulate({0xF0, 0x0F, 0xC7, 0x0F}, r, t);  // lock cmpxchg8b [rdi]
  ASSERT_EQ(ok.result.kind, Kind::kDone) << ok.result.what;
  EXPECT_TRUE(ok.regs.rflags & 0x40);
  EXPECT_EQ(t.get(0x2000), 0x0000000900000008u);
}

TEST(EmulationFailure, Cmpxchg16bFaultsAsTheCpu) {
  FakeTarget t;
  kvm_regs r = at_rip(0x1000);
  r.rdi = 0x2008;  // misaligned
  Outcome gp = emulate({0x48, 0x0F, 0xC7, 0x0F}, r, t);
  EXPECT_EQ(gp.result.kind, Kind::kInject);
  EXPECT_EQ(gp.result.vector, 13);
  EXPECT_TRUE(gp.result.has_error_code);
  EXPECT_EQ(gp.regs.rip, 0x1000u) << "#GP is a fault: RIP stays";
  Outcome ud = emulate({0x48, 0x0F, 0xC7, 0xC8}, r, t);  // register operand
  EXPECT_EQ(ud.result.kind, Kind::kInject);
  EXPECT_EQ(ud.result.vector, 6);
  r.rdi = FakeTarget::kReadOnlyPage;
  EXPECT_EQ(emulate({0x48, 0x0F, 0xC7, 0x0F}, r, t).result.kind, Kind::kFail);
  r.rdi = 0x18000;  // mapped, not RAM
  Outcome mmio = emulate({0x48, 0x0F, 0xC7, 0x0F}, r, t);
  EXPECT_EQ(mmio.result.kind, Kind::kFail);
  EXPECT_NE(mmio.result.what.find("not RAM"), std::string::npos);
  kvm_sregs protected32{};
  EXPECT_EQ(emulate({0x0F, 0xC7, 0x0F}, r, t, protected32).result.kind, Kind::kFail);
}

TEST(EmulationFailure, RdtscpReadsTheGuestTscAndAux) {
  FakeTarget t;
  Outcome r = emulate({0x0F, 0x01, 0xF9}, at_rip(0x1000), t);
  ASSERT_EQ(r.result.kind, Kind::kDone);
  EXPECT_EQ(r.regs.rax, 0x55667788u);
  EXPECT_EQ(r.regs.rdx, 0x11223344u);
  EXPECT_EQ(r.regs.rcx, 3u);
  EXPECT_EQ(r.regs.rip, 0x1003u);
}

TEST(EmulationFailure, ClacAndStacChangeOnlyTheAlignmentFlag) {
  FakeTarget t;
  kvm_regs r = at_rip(0x1000);
  r.rflags = 0x40246;
  Outcome clac = emulate({0x0F, 0x01, 0xCA}, r, t);
  ASSERT_EQ(clac.result.kind, Kind::kDone);
  EXPECT_EQ(clac.regs.rflags, 0x246u);
  EXPECT_EQ(clac.regs.rip, 0x1003u);
  Outcome stac = emulate({0x0F, 0x01, 0xCB}, clac.regs, t);
  EXPECT_EQ(stac.regs.rflags, 0x40246u);
}

TEST(EmulationFailure, PopcntCountsAndSetsOnlyZf) {
  FakeTarget t;
  kvm_regs r = at_rip(0x1000);
  r.rdi = 0xF0F0F0F0F0F0F0F0;
  r.rax = 0xFFFF;
  r.rflags = 0x8D7;  // CF PF AF SF OF set: popcnt clears them
  Outcome q = emulate({0xF3, 0x48, 0x0F, 0xB8, 0xC7}, r, t);  // popcnt rax, rdi
  ASSERT_EQ(q.result.kind, Kind::kDone) << q.result.what;
  EXPECT_EQ(q.regs.rax, 32u);
  EXPECT_EQ(q.regs.rflags, 0x2u);
  EXPECT_EQ(q.regs.rip, 0x1005u);
  Outcome d = emulate({0xF3, 0x0F, 0xB8, 0xC7}, r, t);  // popcnt eax, edi: low 32 bits only
  EXPECT_EQ(d.regs.rax, 16u);
  r.rdi = 0;
  r.r9 = 0xFFFFFFFF00000000;
  Outcome w = emulate({0x66, 0xF3, 0x41, 0x0F, 0xB8, 0xC1}, r, t);  // popcnt ax, r9w
  EXPECT_EQ(w.regs.rax, 0u) << "16-bit: upper bits of RAX kept, count 0";
  EXPECT_TRUE(w.regs.rflags & 0x40);
  t.put(0x2000, 0x7);
  r.rsi = 0x2000;
  Outcome m = emulate({0xF3, 0x4C, 0x0F, 0xB8, 0x16}, r, t);  // popcnt r10, [rsi]
  ASSERT_EQ(m.result.kind, Kind::kDone) << m.result.what;
  EXPECT_EQ(m.regs.r10, 3u);
}

TEST(EmulationFailure, FwaitWithNothingPendingIsANop) {
  FakeTarget t;
  kvm_regs r = at_rip(0x1000);
  r.rax = 7;
  Outcome w = emulate({0x9B, 0x65, 0x48, 0xC7}, r, t);
  ASSERT_EQ(w.result.kind, Kind::kDone);
  EXPECT_EQ(w.regs.rip, 0x1001u);
  EXPECT_EQ(w.regs.rax, 7u);
  EXPECT_EQ(w.regs.rflags, 2u);
}

TEST(EmulationFailure, LdmxcsrAndStmxcsrMoveMxcsrThroughRam) {
  FakeTarget t;
  kvm_regs r = at_rip(0x1000);
  r.rsp = 0x2000;
  t.put(0x2000, 0x00009FC000000000);  // [rsp+4] = 0x9FC0
  Outcome ld = emulate({0x0F, 0xAE, 0x54, 0x24, 0x04}, r, t);  // ldmxcsr [rsp+4]
  ASSERT_EQ(ld.result.kind, Kind::kDone) << ld.result.what;
  EXPECT_EQ(t.mxcsr, 0x9FC0u);
  EXPECT_EQ(ld.regs.rip, 0x1005u);
  t.mxcsr = 0x1F80;
  Outcome st = emulate({0x0F, 0xAE, 0x5C, 0x24, 0x08}, r, t);  // stmxcsr [rsp+8]
  ASSERT_EQ(st.result.kind, Kind::kDone) << st.result.what;
  EXPECT_EQ(t.get(0x2008) & 0xFFFFFFFF, 0x1F80u);
  t.put(0x2000, 0x0001000000000000);  // reserved bit 16
  Outcome gp = emulate({0x0F, 0xAE, 0x54, 0x24, 0x04}, r, t);
  EXPECT_EQ(gp.result.kind, Kind::kInject);
  EXPECT_EQ(gp.result.vector, 13);
  EXPECT_EQ(t.mxcsr, 0x1F80u);
  r.rsp = FakeTarget::kReadOnlyPage;
  EXPECT_EQ(emulate({0x0F, 0xAE, 0x1C, 0x24}, r, t).result.kind, Kind::kFail);  // stmxcsr to RO
}

TEST(EmulationFailure, AnythingElseStopsWithTheBytes) {
  FakeTarget t;
  Outcome ud2 = emulate({0x0F, 0x0B}, at_rip(0x1000), t);
  EXPECT_EQ(ud2.result.kind, Kind::kFail);
  EXPECT_NE(ud2.result.what.find("0f 0b"), std::string::npos);
  Outcome xrstors = emulate({0x48, 0x0F, 0xC7, 0x1F}, at_rip(0x1000), t);
  EXPECT_EQ(xrstors.result.kind, Kind::kFail);
  EXPECT_NE(xrstors.result.what.find("noxsave"), std::string::npos);
  EXPECT_EQ(emulate({}, at_rip(0x1000), t).result.what, "an instruction KVM did not report");
  // Prefixes alone, or truncated encodings, are not misread.
  EXPECT_EQ(emulate({0xF0, 0xF0, 0xF0}, at_rip(0x1000), t).result.kind, Kind::kFail);
  EXPECT_EQ(emulate({0x48, 0x0F}, at_rip(0x1000), t).result.kind, Kind::kFail);
  EXPECT_EQ(emulate({0x48, 0x0F, 0xC7, 0x4C}, at_rip(0x1000), t).result.kind, Kind::kFail);
}

}  // namespace
}  // namespace dvmm
