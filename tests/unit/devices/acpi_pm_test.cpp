#include "host/devices/acpi_pm.hpp"

#include <gtest/gtest.h>

#include <cstdint>

#include "host/common/clock.hpp"
#include "tests/unit/devices/fakes.hpp"

namespace dvmm {
namespace {

constexpr unsigned kSci = 9;
constexpr uint8_t kS5 = 5;
// Nanoseconds for n timer ticks, rounded up so that n ticks have passed.
constexpr uint64_t ns_for_ticks(uint64_t n) {
  return (n * 1'000'000'000 + AcpiPm::kTimerHz - 1) / AcpiPm::kTimerHz;
}

struct AcpiPmTest : ::testing::Test {
  ManualClock clock;
  test::RecordingIrqSink irqs;
  int power_offs = 0;
  AcpiPm pm{clock, irqs, kSci, kS5, [this] { ++power_offs; }};

  uint16_t inw(uint64_t off) { return static_cast<uint16_t>(test::in(pm, off, 2)); }
  void outw(uint64_t off, uint16_t v) { test::outw(pm, off, v); }
  uint16_t slp(unsigned type) { return static_cast<uint16_t>(type << AcpiPm::kSlpTypShift); }
};

TEST_F(AcpiPmTest, ResetState) {
  EXPECT_EQ(inw(AcpiPm::kStatus), 0);
  EXPECT_EQ(inw(AcpiPm::kEnable), 0);
  // SMI_CMD is 0 in the FADT: always in ACPI mode.
  EXPECT_EQ(inw(AcpiPm::kControl), AcpiPm::kSciEn);
  EXPECT_EQ(test::inl(pm, AcpiPm::kTimer), 0u);
  EXPECT_TRUE(irqs.calls.empty());
}

TEST_F(AcpiPmTest, SciEnCannotBeCleared) {
  outw(AcpiPm::kControl, 0);
  EXPECT_EQ(inw(AcpiPm::kControl) & AcpiPm::kSciEn, AcpiPm::kSciEn);
}

TEST_F(AcpiPmTest, S5PowersOffWithSlpEn) {
  // ACPICA's two writes: SLP_TYP first, then SLP_TYP | SLP_EN.
  outw(AcpiPm::kControl, AcpiPm::kSciEn | slp(kS5));
  EXPECT_EQ(power_offs, 0);
  EXPECT_EQ(inw(AcpiPm::kControl), AcpiPm::kSciEn | slp(kS5));
  outw(AcpiPm::kControl, AcpiPm::kSciEn | slp(kS5) | AcpiPm::kSlpEn);
  EXPECT_EQ(power_offs, 1);
  // SLP_EN is write-only.
  EXPECT_EQ(inw(AcpiPm::kControl) & AcpiPm::kSlpEn, 0);
  EXPECT_EQ(pm.counters().unsupported_sleeps, 0u);
}

TEST_F(AcpiPmTest, S5ThroughAByteWriteToTheHighByte) {
  test::outb(pm, AcpiPm::kControl + 1, static_cast<uint8_t>((slp(kS5) | AcpiPm::kSlpEn) >> 8));
  EXPECT_EQ(power_offs, 1);
}

TEST_F(AcpiPmTest, S5ThroughADwordWriteAtTheEnableRegister) {
  // Enable (2-3) and control (4-5) in one 32-bit access.
  test::outl(pm, AcpiPm::kEnable, static_cast<uint32_t>(slp(kS5) | AcpiPm::kSlpEn) << 16);
  EXPECT_EQ(power_offs, 1);
}

TEST_F(AcpiPmTest, OtherSleepTypesDoNothing) {
  for (unsigned type = 0; type < 8; ++type) {
    if (type == kS5) continue;
    outw(AcpiPm::kControl, static_cast<uint16_t>(slp(type) | AcpiPm::kSlpEn));
  }
  EXPECT_EQ(power_offs, 0);
  EXPECT_EQ(pm.counters().unsupported_sleeps, 7u);
  // SLP_TYP without SLP_EN is no request at all.
  outw(AcpiPm::kControl, slp(kS5));
  EXPECT_EQ(power_offs, 0);
  EXPECT_EQ(pm.counters().unsupported_sleeps, 7u);
}

TEST_F(AcpiPmTest, ControlReservedAndWriteOnlyBits) {
  outw(AcpiPm::kControl, 0xFFFF & ~AcpiPm::kSlpEn);
  // BM_RLD, the ignored bit 9 and SLP_TYP stick; GBL_RLS, reserved bits do not.
  EXPECT_EQ(inw(AcpiPm::kControl),
            AcpiPm::kSciEn | AcpiPm::kBmRld | AcpiPm::kCntIgnored | AcpiPm::kSlpTypMask);
  EXPECT_EQ(pm.counters().reserved_bits, 2u);  // one per byte with reserved bits set
  EXPECT_EQ(power_offs, 0);                    // SLP_TYP 7 was never combined with SLP_EN
}

TEST_F(AcpiPmTest, StatusIsWriteOneToClear) {
  clock.advance(ns_for_ticks(1u << 23));
  EXPECT_EQ(inw(AcpiPm::kStatus), AcpiPm::kTmrSts);
  outw(AcpiPm::kStatus, 0);  // writing 0 leaves it
  EXPECT_EQ(inw(AcpiPm::kStatus), AcpiPm::kTmrSts);
  test::outb(pm, AcpiPm::kStatus + 1, 0xFF);  // the other byte: still there
  EXPECT_EQ(inw(AcpiPm::kStatus), AcpiPm::kTmrSts);
  outw(AcpiPm::kStatus, AcpiPm::kTmrSts);
  EXPECT_EQ(inw(AcpiPm::kStatus), 0);
  // Not set again until bit 23 changes again.
  clock.advance(ns_for_ticks(1u << 22));
  EXPECT_EQ(inw(AcpiPm::kStatus), 0);
  clock.advance(ns_for_ticks(1u << 22));
  EXPECT_EQ(inw(AcpiPm::kStatus), AcpiPm::kTmrSts);
  outw(AcpiPm::kStatus, 0xFFFF);  // what ACPICA writes to clear everything
  EXPECT_EQ(inw(AcpiPm::kStatus), 0);
}

TEST_F(AcpiPmTest, EnableKeepsDefinedBitsOnly) {
  outw(AcpiPm::kEnable, AcpiPm::kGblSts);  // ACPICA checks that GBL_EN sticks
  EXPECT_EQ(inw(AcpiPm::kEnable), AcpiPm::kGblSts);
  outw(AcpiPm::kEnable, 0xFFFF);
  EXPECT_EQ(inw(AcpiPm::kEnable), AcpiPm::kEnableBits);
  EXPECT_EQ(pm.counters().reserved_bits, 2u);
  test::outb(pm, AcpiPm::kEnable, 0);  // clears the low byte only
  EXPECT_EQ(inw(AcpiPm::kEnable), AcpiPm::kEnableBits & 0xFF00);
}

TEST_F(AcpiPmTest, TimerCountsAt3579545HzAndWraps24Bits) {
  clock.advance(1'000'000'000);
  EXPECT_EQ(test::inl(pm, AcpiPm::kTimer), 3'579'545u);
  clock.advance(ns_for_ticks(AcpiPm::kTimerMask + 1));  // one full wrap later
  EXPECT_EQ(test::inl(pm, AcpiPm::kTimer), 3'579'545u);
  // Bits 31:24 read 0; the bytes read singly give the same count.
  clock.set(0);
  clock.advance(ns_for_ticks(0xABCDEF));
  const uint32_t whole = test::inl(pm, AcpiPm::kTimer);
  EXPECT_EQ(whole >> 24, 0u);
  EXPECT_EQ(whole, 0xABCDEFu);
  EXPECT_EQ(test::inb(pm, AcpiPm::kTimer), 0xEF);
  EXPECT_EQ(test::inb(pm, AcpiPm::kTimer + 1), 0xCD);
  EXPECT_EQ(test::inb(pm, AcpiPm::kTimer + 2), 0xAB);
  EXPECT_EQ(test::inb(pm, AcpiPm::kTimer + 3), 0x00);
}

TEST_F(AcpiPmTest, TimerDoesNotOverflowAfterHours) {
  clock.advance(10ull * 3600 * 1'000'000'000);  // 10 hours: 64-bit ns * Hz would wrap
  const uint64_t ticks = 10ull * 3600 * AcpiPm::kTimerHz;
  EXPECT_EQ(test::inl(pm, AcpiPm::kTimer), ticks & AcpiPm::kTimerMask);
}

TEST_F(AcpiPmTest, TimerIsReadOnly) {
  clock.advance(1000);
  const uint32_t before = test::inl(pm, AcpiPm::kTimer);
  test::outl(pm, AcpiPm::kTimer, 0);
  EXPECT_EQ(test::inl(pm, AcpiPm::kTimer), before);
  EXPECT_EQ(pm.counters().ignored_writes, 4u);  // one per byte
}

TEST_F(AcpiPmTest, HoleAndOffsetsBeyondTheBlock) {
  EXPECT_EQ(inw(6), 0xFFFF);
  test::outw(pm, 6, 0x1234);
  EXPECT_EQ(test::inb(pm, AcpiPm::kLength), 0xFF);
  EXPECT_EQ(test::inb(pm, 0x1000), 0xFF);
  test::outb(pm, 0x1000, 0);
  // An access that would wrap the offset space touches nothing.
  EXPECT_EQ(test::in(pm, UINT64_MAX, 4), 0xFFFFFFFFu);
  test::out(pm, UINT64_MAX, 8, 0xFFFFFFFFFFFFFFFFull);
  EXPECT_EQ(inw(AcpiPm::kStatus), 0);
  EXPECT_EQ(inw(AcpiPm::kEnable), 0);
  EXPECT_EQ(inw(AcpiPm::kControl), AcpiPm::kSciEn);
  EXPECT_EQ(power_offs, 0);
  EXPECT_EQ(pm.counters().ignored_writes, 2u + 1 + 8);
}

TEST_F(AcpiPmTest, EmptyAndWideAccesses) {
  test::out(pm, 0, 0, 0);
  uint8_t none[1] = {0x5A};
  pm.read(0, std::span<uint8_t>(none, 0));
  EXPECT_EQ(none[0], 0x5A);
  // An 8-byte read spans status, enable, control and the hole.
  EXPECT_EQ(test::in(pm, 0, 8), 0xFFFF'0001'0000'0000ull);
}

TEST_F(AcpiPmTest, SciFollowsEnabledStatus) {
  clock.advance(ns_for_ticks(1u << 23));
  EXPECT_EQ(inw(AcpiPm::kStatus), AcpiPm::kTmrSts);
  EXPECT_FALSE(irqs.level(kSci));  // TMR_EN clear
  outw(AcpiPm::kEnable, AcpiPm::kTmrSts);
  EXPECT_TRUE(irqs.level(kSci));
  outw(AcpiPm::kStatus, AcpiPm::kTmrSts);
  EXPECT_FALSE(irqs.level(kSci));
  EXPECT_EQ(irqs.rising_edges(kSci), 1);
  // Enabling a source whose status is clear raises nothing.
  outw(AcpiPm::kEnable, AcpiPm::kGblSts | AcpiPm::kPwrBtnSts);
  EXPECT_FALSE(irqs.level(kSci));
  // Only changes are reported.
  const size_t calls = irqs.calls.size();
  (void)inw(AcpiPm::kStatus);
  EXPECT_EQ(irqs.calls.size(), calls);
}

}  // namespace
}  // namespace dvmm
