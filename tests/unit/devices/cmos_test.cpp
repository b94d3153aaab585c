#include "host/devices/cmos.hpp"

#include <gtest/gtest.h>

#include <cstdint>

#include "tests/unit/devices/fakes.hpp"

namespace dvmm {
namespace {

using test::inb;
using test::outb;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;
constexpr int64_t kLeapDay = 1709214307;  // 2024-02-29 13:45:07 UTC, a Thursday

class CmosTest : public ::testing::Test {
 protected:
  int64_t now = kLeapDay;
  Cmos cmos{256 * kMiB, [this] { return now; }};

  uint8_t reg(uint8_t index) {
    outb(cmos, 0, index);
    return inb(cmos, 1);
  }
  void set_reg(uint8_t index, uint8_t value) {
    outb(cmos, 0, index);
    outb(cmos, 1, value);
  }
  uint16_t word(uint8_t index) { return static_cast<uint16_t>(reg(index) | reg(index + 1) << 8); }
};

TEST_F(CmosTest, TimeInBcd24HourByDefault) {
  EXPECT_EQ(reg(0x0B), 0x02);
  EXPECT_EQ(reg(0x00), 0x07);
  EXPECT_EQ(reg(0x02), 0x45);
  EXPECT_EQ(reg(0x04), 0x13);
  EXPECT_EQ(reg(0x06), 0x05);  // Thursday (Sunday = 1)
  EXPECT_EQ(reg(0x07), 0x29);
  EXPECT_EQ(reg(0x08), 0x02);
  EXPECT_EQ(reg(0x09), 0x24);
  EXPECT_EQ(reg(0x32), 0x20);  // century
}

TEST_F(CmosTest, TimeFollowsTheClock) {
  now = 946684799;  // 1999-12-31 23:59:59
  EXPECT_EQ(reg(0x09), 0x99);
  EXPECT_EQ(reg(0x32), 0x19);
  now += 1;
  EXPECT_EQ(reg(0x00), 0x00);
  EXPECT_EQ(reg(0x04), 0x00);
  EXPECT_EQ(reg(0x07), 0x01);
  EXPECT_EQ(reg(0x08), 0x01);
  EXPECT_EQ(reg(0x09), 0x00);
  EXPECT_EQ(reg(0x32), 0x20);
}

TEST_F(CmosTest, BinaryMode) {
  set_reg(0x0B, 0x06);  // binary, 24-hour
  EXPECT_EQ(reg(0x0B), 0x06);
  EXPECT_EQ(reg(0x00), 7);
  EXPECT_EQ(reg(0x02), 45);
  EXPECT_EQ(reg(0x04), 13);
  EXPECT_EQ(reg(0x07), 29);
  EXPECT_EQ(reg(0x09), 24);
  EXPECT_EQ(reg(0x32), 20);
}

TEST_F(CmosTest, TwelveHourMode) {
  set_reg(0x0B, 0x00);  // BCD, 12-hour
  EXPECT_EQ(reg(0x04), 0x81);  // 1 PM
  now = kLeapDay - 13 * 3600;  // 00:45:07
  EXPECT_EQ(reg(0x04), 0x12);  // 12 AM
  set_reg(0x0B, 0x04);  // binary, 12-hour
  now = kLeapDay - 1 * 3600;   // 12:45:07
  EXPECT_EQ(reg(0x04), 0x80 | 12);
}

TEST_F(CmosTest, StatusRegisters) {
  EXPECT_EQ(reg(0x0A), 0x26);  // UIP clear
  EXPECT_EQ(reg(0x0C), 0x00);
  EXPECT_EQ(reg(0x0D), 0x80);
  set_reg(0x0D, 0x00);  // read-only
  EXPECT_EQ(reg(0x0D), 0x80);
  set_reg(0x0A, 0xA6);  // UIP is not writable
  EXPECT_EQ(reg(0x0A), 0x26);
}

TEST_F(CmosTest, IndexIgnoresNmiBitAndReadsAsFf) {
  outb(cmos, 0, 0x80 | 0x0D);
  EXPECT_EQ(inb(cmos, 1), 0x80);
  EXPECT_EQ(inb(cmos, 0), 0xFF);
}

TEST_F(CmosTest, NvramStoresBytes) {
  set_reg(0x40, 0x5A);
  set_reg(0x7F, 0xA5);
  EXPECT_EQ(reg(0x40), 0x5A);
  EXPECT_EQ(reg(0x7F), 0xA5);
  set_reg(0x01, 0x30);  // seconds alarm is storage too
  EXPECT_EQ(reg(0x01), 0x30);
}

TEST_F(CmosTest, WritingTimeAdjustsTheOffset) {
  set_reg(0x02, 0x30);  // minutes := 30
  EXPECT_EQ(reg(0x02), 0x30);
  EXPECT_EQ(reg(0x04), 0x13);
  now += 60;  // the clock keeps running from the new time
  EXPECT_EQ(reg(0x02), 0x31);
  set_reg(0x09, 0x28);  // year 2028 (also a leap year)
  EXPECT_EQ(reg(0x09), 0x28);
  EXPECT_EQ(reg(0x08), 0x02);
  EXPECT_EQ(reg(0x07), 0x29);
  set_reg(0x0B, 0x00);
  set_reg(0x04, 0x88);  // 8 PM in 12-hour BCD
  set_reg(0x0B, 0x02);
  EXPECT_EQ(reg(0x04), 0x20);
}

// Found by fuzz/devices_fuzz: Linux sets the clock field by field under
// SET; moving from February to March 31 wrote day 31 while the month was
// still February, which became March 3 and stayed so.
TEST_F(CmosTest, SetHoldsTheClockAndTakesTheDateWhole) {
  set_reg(0x0B, 0x82);  // SET, 24-hour, BCD
  set_reg(0x00, 0x00);
  set_reg(0x07, 0x31);  // day 31: no date while the month is February
  EXPECT_EQ(reg(0x07), 0x31);
  set_reg(0x08, 0x03);
  now += 10;  // held: the update cycle is inhibited
  EXPECT_EQ(reg(0x00), 0x00);
  set_reg(0x0B, 0x02);  // SET off: the clock runs from 2024-03-31 13:45:00
  EXPECT_EQ(reg(0x07), 0x31);
  EXPECT_EQ(reg(0x08), 0x03);
  EXPECT_EQ(reg(0x06), 0x01);  // a Sunday
  now += 5;
  EXPECT_EQ(reg(0x00), 0x05);
}

// Found by fuzz/devices_fuzz while checking the SET sequence: an
// out-of-range field was carried into the date, so each write of month
// 0xFF (BCD 165) moved the clock 13 years on, without bound.
TEST_F(CmosTest, OutOfRangeFieldsAreClamped) {
  for (int i = 0; i < 1000; ++i) set_reg(0x08, 0xFF);
  EXPECT_EQ(reg(0x08), 0x12);
  EXPECT_EQ(reg(0x09), 0x24);
  EXPECT_EQ(reg(0x32), 0x20);
  set_reg(0x02, 0x99);
  EXPECT_EQ(reg(0x02), 0x59);
  set_reg(0x07, 0x00);
  EXPECT_EQ(reg(0x07), 0x01);
}

TEST_F(CmosTest, MemoryFieldsFor256MiB) {
  EXPECT_EQ(word(0x15), 640);
  EXPECT_EQ(word(0x17), 0xFFFF);  // 255 MiB in KiB, capped
  EXPECT_EQ(word(0x30), 0xFFFF);
  EXPECT_EQ(word(0x34), (256 - 16) * 16);  // 64 KiB units
  EXPECT_EQ(reg(0x5B), 0);
  EXPECT_EQ(reg(0x5C), 0);
  EXPECT_EQ(reg(0x5D), 0);
}

TEST(CmosMemoryTest, SmallRam) {
  Cmos cmos(8 * kMiB, [] { return int64_t{0}; });
  EXPECT_EQ(cmos.read_register(0x17) | cmos.read_register(0x18) << 8, 7 * 1024);
  EXPECT_EQ(cmos.read_register(0x30) | cmos.read_register(0x31) << 8, 7 * 1024);
  EXPECT_EQ(cmos.read_register(0x34) | cmos.read_register(0x35) << 8, 0);
}

TEST(CmosMemoryTest, RamAboveTheLowLimitIsReportedAbove4G) {
  Cmos cmos(4 * kGiB, [] { return int64_t{0}; }, 3 * kGiB);
  EXPECT_EQ(cmos.read_register(0x34) | cmos.read_register(0x35) << 8, (3072 - 16) * 16);
  // 1 GiB above 4 GiB = 0x4000 units of 64 KiB.
  EXPECT_EQ(cmos.read_register(0x5B), 0x00);
  EXPECT_EQ(cmos.read_register(0x5C), 0x40);
  EXPECT_EQ(cmos.read_register(0x5D), 0x00);
}

TEST(CmosMemoryTest, FieldsAreCapped) {
  Cmos cmos(3 * kGiB + 2048 * kGiB, [] { return int64_t{0}; }, 3 * kGiB);
  EXPECT_EQ(cmos.read_register(0x34) | cmos.read_register(0x35) << 8, 0xBF00);
  EXPECT_EQ(cmos.read_register(0x5B), 0xFF);  // 2 TiB / 64 KiB = 2^25: capped to 24 bits
  EXPECT_EQ(cmos.read_register(0x5C), 0xFF);
  EXPECT_EQ(cmos.read_register(0x5D), 0xFF);
}

TEST(CmosMemoryTest, ChecksumCoversBytes10To2D) {
  Cmos cmos(64 * kMiB, [] { return int64_t{0}; });
  unsigned sum = 0;
  for (uint8_t i = 0x10; i <= 0x2D; ++i) sum += cmos.read_register(i);
  EXPECT_EQ(static_cast<unsigned>(cmos.read_register(0x2E)), (sum >> 8) & 0xFF);
  EXPECT_EQ(static_cast<unsigned>(cmos.read_register(0x2F)), sum & 0xFF);
  EXPECT_NE(sum, 0u);
}

TEST(CmosTimeTest, BeforeTheEpoch) {
  Cmos cmos(16 * kMiB, [] { return int64_t{-3600}; });  // 1969-12-31 23:00:00
  EXPECT_EQ(cmos.read_register(0x04), 0x23);
  EXPECT_EQ(cmos.read_register(0x07), 0x31);
  EXPECT_EQ(cmos.read_register(0x08), 0x12);
  EXPECT_EQ(cmos.read_register(0x09), 0x69);
  EXPECT_EQ(cmos.read_register(0x32), 0x19);
  EXPECT_EQ(cmos.read_register(0x06), 0x04);  // Wednesday
}

}  // namespace
}  // namespace dvmm
