#include "host/devices/pit8254.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "tests/unit/devices/fakes.hpp"

namespace dvmm {
namespace {

using test::inb;
using test::outb;

constexpr uint64_t kCh0 = 0, kCh2 = 2, kControl = 3;

class PitTest : public ::testing::Test {
 protected:
  ManualClock clock;
  test::RecordingIrqSink irq;
  int deadline_changes = 0;
  std::shared_ptr<Pit8254> pit =
      std::make_shared<Pit8254>(clock, irq, 0, [this] { ++deadline_changes; });

  void load16(uint64_t channel, uint16_t count) {
    outb(*pit, channel, static_cast<uint8_t>(count & 0xFF));
    outb(*pit, channel, static_cast<uint8_t>(count >> 8));
  }
  uint16_t read16(uint64_t channel) {
    uint16_t lo = inb(*pit, channel);
    uint16_t hi = inb(*pit, channel);
    return static_cast<uint16_t>(lo | hi << 8);
  }
  void advance_ticks(uint64_t ticks) { clock.advance(Pit8254::ticks_to_ns(ticks)); }
  // Sets the clock to exactly `ticks` ticks after t0 (no accumulation of
  // rounding).
  void at_ticks(uint64_t t0, uint64_t ticks) { clock.set(t0 + Pit8254::ticks_to_ns(ticks)); }
  uint8_t status(unsigned channel) {
    outb(*pit, kControl, static_cast<uint8_t>(0xE0 | (2u << channel)));  // latch status only
    return inb(*pit, channel);
  }
};

TEST(PitConversionTest, TicksAndNanoseconds) {
  EXPECT_EQ(Pit8254::ns_to_ticks(1'000'000'000), 1'193'182u);
  EXPECT_EQ(Pit8254::ns_to_ticks(0), 0u);
  EXPECT_EQ(Pit8254::ns_to_ticks(838), 0u);  // one tick is 838.1 ns
  EXPECT_EQ(Pit8254::ns_to_ticks(839), 1u);
  EXPECT_EQ(Pit8254::ticks_to_ns(1), 839u);  // rounded up
  EXPECT_EQ(Pit8254::ticks_to_ns(1'193'182), 1'000'000'000u);
  for (uint64_t t : {1ull, 7ull, 11932ull, 65536ull, 123456789ull, 1ull << 40}) {
    EXPECT_GE(Pit8254::ns_to_ticks(Pit8254::ticks_to_ns(t)), t);
    EXPECT_LT(Pit8254::ns_to_ticks(Pit8254::ticks_to_ns(t) - 1), t);
  }
  // No overflow after a long uptime (about 500 years in ns).
  EXPECT_EQ(Pit8254::ns_to_ticks(16'000'000'000'000'000'000ull),
            16'000'000'000ull * 1'193'182ull);
}

TEST_F(PitTest, RateGeneratorCountsDownAndReloads) {
  clock.set(1'000'000);
  const uint64_t t0 = clock.now_ns();
  outb(*pit, kControl, 0x34);  // ch0, lo/hi, mode 2, binary
  load16(kCh0, 1000);
  EXPECT_EQ(read16(kCh0), 1000);
  at_ticks(t0, 1);
  EXPECT_EQ(read16(kCh0), 999);
  at_ticks(t0, 999);
  EXPECT_EQ(read16(kCh0), 1);
  at_ticks(t0, 1000);
  EXPECT_EQ(read16(kCh0), 1000);  // reloaded
  at_ticks(t0, 2500);
  EXPECT_EQ(read16(kCh0), 500);
}

TEST_F(PitTest, Channel0PeriodicIrqThroughPoll) {
  const uint64_t t0 = clock.now_ns();
  EXPECT_FALSE(pit->next_irq_deadline_ns().has_value());
  outb(*pit, kControl, 0x34);
  load16(kCh0, 11932);  // ~10 ms
  EXPECT_GE(deadline_changes, 1);
  auto d = pit->next_irq_deadline_ns();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, t0 + Pit8254::ticks_to_ns(11932));

  clock.set(*d - 1);
  pit->poll();
  EXPECT_TRUE(irq.calls.empty());

  clock.set(*d);
  pit->poll();
  ASSERT_EQ(irq.calls.size(), 2u);  // a pulse
  EXPECT_EQ(irq.calls[0], std::make_pair(0u, true));
  EXPECT_EQ(irq.calls[1], std::make_pair(0u, false));
  pit->poll();  // same instant: nothing more
  EXPECT_EQ(irq.calls.size(), 2u);
  EXPECT_EQ(*pit->next_irq_deadline_ns(), t0 + Pit8254::ticks_to_ns(2 * 11932));
}

TEST_F(PitTest, MissedPeriodsCoalesce) {
  const uint64_t t0 = clock.now_ns();
  outb(*pit, kControl, 0x34);
  load16(kCh0, 100);
  at_ticks(t0, 550);
  pit->poll();
  EXPECT_EQ(irq.rising_edges(0), 1);
  EXPECT_EQ(*pit->next_irq_deadline_ns(), t0 + Pit8254::ticks_to_ns(600));
  pit->poll();
  EXPECT_EQ(irq.rising_edges(0), 1);
}

TEST_F(PitTest, InterruptOnTerminalCountFiresOnce) {
  const uint64_t t0 = clock.now_ns();
  outb(*pit, kControl, 0x30);  // ch0, lo/hi, mode 0
  EXPECT_EQ(status(0) & 0x80, 0x00);  // OUT low after the control word
  load16(kCh0, 100);
  EXPECT_EQ(status(0) & 0x80, 0x00);
  at_ticks(t0, 99);
  EXPECT_EQ(status(0) & 0x80, 0x00);
  pit->poll();
  EXPECT_EQ(irq.rising_edges(0), 0);
  at_ticks(t0, 100);
  EXPECT_EQ(status(0) & 0x80, 0x80);
  pit->poll();
  EXPECT_EQ(irq.rising_edges(0), 1);
  EXPECT_FALSE(pit->next_irq_deadline_ns().has_value());
  at_ticks(t0, 150);
  pit->poll();
  EXPECT_EQ(irq.rising_edges(0), 1);
  EXPECT_EQ(read16(kCh0), 0xFFCE);  // keeps counting down past zero: 100 - 150
}

TEST_F(PitTest, ControlWordStopsTheChannelUntilACountIsWritten) {
  outb(*pit, kControl, 0x34);
  load16(kCh0, 100);
  ASSERT_TRUE(pit->next_irq_deadline_ns().has_value());
  outb(*pit, kControl, 0x34);
  EXPECT_FALSE(pit->next_irq_deadline_ns().has_value());
  EXPECT_EQ(status(0) & 0x40, 0x40);  // null count
  load16(kCh0, 100);
  EXPECT_TRUE(pit->next_irq_deadline_ns().has_value());
  EXPECT_EQ(status(0) & 0x40, 0x00);
}

TEST_F(PitTest, LatchFreezesTheCountUntilRead) {
  const uint64_t t0 = clock.now_ns();
  outb(*pit, kControl, 0x34);
  load16(kCh0, 1000);
  at_ticks(t0, 100);
  outb(*pit, kControl, 0x00);  // latch ch0
  at_ticks(t0, 300);
  outb(*pit, kControl, 0x00);  // a second latch before reading is ignored
  EXPECT_EQ(inb(*pit, kCh0), 900 & 0xFF);
  at_ticks(t0, 400);
  EXPECT_EQ(inb(*pit, kCh0), 900 >> 8);
  EXPECT_EQ(read16(kCh0), 600);  // live again
}

TEST_F(PitTest, LowAndHighByteOnlyAccessModes) {
  outb(*pit, kControl, 0x14);  // ch0, LSB only, mode 2
  outb(*pit, kCh0, 0x40);
  EXPECT_EQ(inb(*pit, kCh0), 0x40);
  EXPECT_EQ(inb(*pit, kCh0), 0x40);  // every read is the LSB
  outb(*pit, kControl, 0x24);        // ch0, MSB only, mode 2
  outb(*pit, kCh0, 0x12);
  EXPECT_EQ(inb(*pit, kCh0), 0x12);  // count 0x1200, MSB read
  EXPECT_EQ(*pit->next_irq_deadline_ns(), clock.now_ns() + Pit8254::ticks_to_ns(0x1200));
}

TEST_F(PitTest, ZeroMeansFullCount) {
  const uint64_t t0 = clock.now_ns();
  outb(*pit, kControl, 0x34);
  load16(kCh0, 0);
  EXPECT_EQ(*pit->next_irq_deadline_ns(), t0 + Pit8254::ticks_to_ns(65536));
  at_ticks(t0, 1);
  EXPECT_EQ(read16(kCh0), 0xFFFF);
}

TEST_F(PitTest, ReadBackLatchesStatusThenCount) {
  const uint64_t t0 = clock.now_ns();
  outb(*pit, kControl, 0x34);
  load16(kCh0, 500);
  at_ticks(t0, 20);
  outb(*pit, kControl, 0xC2);  // read-back ch0: count and status
  EXPECT_EQ(inb(*pit, kCh0), 0xB4);  // OUT high, lo/hi, mode 2, binary
  EXPECT_EQ(read16(kCh0), 480);
}

TEST_F(PitTest, SquareWaveOutputAndDoubleDecrement) {
  const uint64_t t0 = clock.now_ns();
  outb(*pit, kControl, 0x36);  // ch0, lo/hi, mode 3
  load16(kCh0, 100);
  at_ticks(t0, 10);
  EXPECT_EQ(read16(kCh0), 80);
  EXPECT_EQ(status(0) & 0x80, 0x80);
  at_ticks(t0, 49);
  EXPECT_EQ(status(0) & 0x80, 0x80);
  at_ticks(t0, 50);
  EXPECT_EQ(status(0) & 0x80, 0x00);
  at_ticks(t0, 100);
  EXPECT_EQ(status(0) & 0x80, 0x80);
  pit->poll();
  EXPECT_EQ(irq.rising_edges(0), 1);
}

TEST_F(PitTest, BcdCounting) {
  const uint64_t t0 = clock.now_ns();
  outb(*pit, kControl, 0x35);  // ch0, lo/hi, mode 2, BCD
  load16(kCh0, 0x1000);        // 1000 decimal
  EXPECT_EQ(*pit->next_irq_deadline_ns(), t0 + Pit8254::ticks_to_ns(1000));
  at_ticks(t0, 1);
  EXPECT_EQ(read16(kCh0), 0x0999);
}

TEST_F(PitTest, Port61GatesChannel2AndShowsItsOutput) {
  // Linux's PIT calibration: gate on, speaker off, ch2 mode 0, count 0xFFFF,
  // wait for OUT (port 0x61 bit 5).
  auto port61 = pit->port61();
  const uint64_t t0 = clock.now_ns();
  outb(*port61, 0, static_cast<uint8_t>((inb(*port61, 0) & ~0x02) | 0x01));
  EXPECT_EQ(inb(*port61, 0) & 0x03, 0x01);
  outb(*pit, kControl, 0xB0);
  load16(kCh2, 0xFFFF);
  EXPECT_EQ(inb(*port61, 0) & 0x20, 0x00);
  at_ticks(t0, 0xFFFE);
  EXPECT_EQ(inb(*port61, 0) & 0x20, 0x00);
  at_ticks(t0, 0xFFFF);
  EXPECT_EQ(inb(*port61, 0) & 0x20, 0x20);
  // Channel 2 never touches the IRQ line.
  pit->poll();
  EXPECT_TRUE(irq.calls.empty());
}

TEST_F(PitTest, GateLowPausesMode0) {
  auto port61 = pit->port61();
  outb(*port61, 0, 0x00);  // gate off
  outb(*pit, kControl, 0xB0);
  load16(kCh2, 1000);
  advance_ticks(500);
  EXPECT_EQ(read16(kCh2), 1000);  // not counting
  const uint64_t t1 = clock.now_ns();
  outb(*port61, 0, 0x01);
  at_ticks(t1, 300);
  EXPECT_EQ(read16(kCh2), 700);
  outb(*port61, 0, 0x00);  // pause at 700
  advance_ticks(5000);
  EXPECT_EQ(read16(kCh2), 700);
}

TEST_F(PitTest, GateRestartsRateGenerator) {
  auto port61 = pit->port61();
  outb(*port61, 0, 0x01);
  outb(*pit, kControl, 0xB4);  // ch2, lo/hi, mode 2
  load16(kCh2, 1000);
  advance_ticks(400);
  EXPECT_EQ(read16(kCh2), 600);
  outb(*port61, 0, 0x00);
  EXPECT_EQ(inb(*port61, 0) & 0x20, 0x20);  // gate low: OUT high
  outb(*port61, 0, 0x01);                   // rising gate reloads
  EXPECT_EQ(read16(kCh2), 1000);
}

TEST_F(PitTest, Port61ViewOwnsThePit) {
  auto port61 = pit->port61();
  std::weak_ptr<Pit8254> weak = pit;
  pit.reset();
  EXPECT_FALSE(weak.expired());
  outb(*port61, 0, 0x0F);
  EXPECT_EQ(inb(*port61, 0) & 0x0F, 0x0F);
}

}  // namespace
}  // namespace dvmm
