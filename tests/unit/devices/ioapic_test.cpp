#include "host/devices/ioapic.hpp"

#include <gtest/gtest.h>

#include "tests/unit/devices/fakes.hpp"

namespace dvmm {
namespace {

using test::inl;
using test::outl;

class IoapicTest : public ::testing::Test {
 protected:
  test::RecordingApicBus bus;
  Ioapic ioapic{bus, 3};

  uint32_t read_reg(uint8_t index) {
    outl(ioapic, Ioapic::kIoRegSel, index);
    return inl(ioapic, Ioapic::kIoWin);
  }
  void write_reg(uint8_t index, uint32_t value) {
    outl(ioapic, Ioapic::kIoRegSel, index);
    outl(ioapic, Ioapic::kIoWin, value);
  }
  void program(unsigned pin, uint64_t entry) {
    write_reg(static_cast<uint8_t>(0x11 + 2 * pin), static_cast<uint32_t>(entry >> 32));
    write_reg(static_cast<uint8_t>(0x10 + 2 * pin), static_cast<uint32_t>(entry));
  }
};

constexpr uint64_t kLevel = Ioapic::kLevelTrigger;
constexpr uint64_t dest(uint8_t apic) { return static_cast<uint64_t>(apic) << 56; }

TEST_F(IoapicTest, IdVersionArbitration) {
  EXPECT_EQ(read_reg(0x00), 3u << 24);
  EXPECT_EQ(read_reg(0x01), 0x00170020u);
  EXPECT_EQ(read_reg(0x02), 3u << 24);
  write_reg(0x00, 0x0A000000);
  EXPECT_EQ(read_reg(0x00), 0x0A000000u);
  EXPECT_EQ(read_reg(0x02), 0x0A000000u);
  write_reg(0x01, 0xFFFFFFFF);  // read-only
  EXPECT_EQ(read_reg(0x01), 0x00170020u);
  // IOREGSEL reads back.
  outl(ioapic, Ioapic::kIoRegSel, 0x21);
  EXPECT_EQ(inl(ioapic, Ioapic::kIoRegSel), 0x21u);
}

TEST_F(IoapicTest, EntriesResetMaskedAndRoundTrip) {
  for (unsigned pin = 0; pin < Ioapic::kNumPins; ++pin) {
    EXPECT_EQ(read_reg(static_cast<uint8_t>(0x10 + 2 * pin)), 0x00010000u) << pin;
    EXPECT_EQ(read_reg(static_cast<uint8_t>(0x11 + 2 * pin)), 0u) << pin;
  }
  program(23, dest(0x12) | Ioapic::kMasked | 0x9A5);
  EXPECT_EQ(ioapic.redirection_entry(23), dest(0x12) | Ioapic::kMasked | 0x9A5);
  EXPECT_EQ(read_reg(0x10 + 46), 0x000109A5u);
  EXPECT_EQ(read_reg(0x11 + 46), 0x12000000u);
  // Registers past the last entry read as zero.
  EXPECT_EQ(read_reg(0x40), 0u);
}

TEST_F(IoapicTest, DeliveryStatusAndRemoteIrrAreReadOnly) {
  program(5, Ioapic::kMasked | Ioapic::kDeliveryStatus | Ioapic::kRemoteIrr | kLevel | 0x30);
  EXPECT_EQ(ioapic.redirection_entry(5), Ioapic::kMasked | kLevel | 0x30);
}

TEST_F(IoapicTest, EdgeDeliversOnRisingEdgeOnly) {
  program(4, dest(2) | 0x31);
  ioapic.set_irq(4, true);
  ASSERT_EQ(bus.delivered.size(), 1u);
  const InterruptMessage& m = bus.delivered[0];
  EXPECT_EQ(m.vector, 0x31);
  EXPECT_EQ(m.destination, 2u);
  EXPECT_EQ(m.mode, DeliveryMode::kFixed);
  EXPECT_FALSE(m.logical);
  EXPECT_FALSE(m.level_triggered);
  EXPECT_EQ(m.source_cpu, -1);
  ioapic.set_irq(4, true);  // still high: no edge
  EXPECT_EQ(bus.delivered.size(), 1u);
  ioapic.set_irq(4, false);
  EXPECT_EQ(bus.delivered.size(), 1u);
  ioapic.set_irq(4, true);
  EXPECT_EQ(bus.delivered.size(), 2u);
  EXPECT_EQ(ioapic.redirection_entry(4) & Ioapic::kRemoteIrr, 0u);
}

TEST_F(IoapicTest, EdgeWhileMaskedIsLost) {
  program(4, Ioapic::kMasked | 0x31);
  ioapic.set_irq(4, true);
  ioapic.set_irq(4, false);
  program(4, 0x31);
  EXPECT_TRUE(bus.delivered.empty());
  ioapic.set_irq(4, true);
  EXPECT_EQ(bus.delivered.size(), 1u);
}

TEST_F(IoapicTest, EncodesModeDestinationModeAndLogicalDestination) {
  program(7, dest(0x0F) | (1u << 11) | (1u << 8) | 0x45);  // lowest priority, logical
  ioapic.set_irq(7, true);
  ASSERT_EQ(bus.delivered.size(), 1u);
  EXPECT_EQ(bus.delivered[0].mode, DeliveryMode::kLowestPriority);
  EXPECT_TRUE(bus.delivered[0].logical);
  EXPECT_EQ(bus.delivered[0].destination, 0x0Fu);
  EXPECT_EQ(bus.delivered[0].vector, 0x45);
}

TEST_F(IoapicTest, LevelSetsRemoteIrrAndRedeliversAfterEoiWhileAsserted) {
  program(10, dest(1) | kLevel | 0x40);
  ioapic.set_irq(10, true);
  ASSERT_EQ(bus.delivered.size(), 1u);
  EXPECT_TRUE(bus.delivered[0].level_triggered);
  EXPECT_NE(ioapic.redirection_entry(10) & Ioapic::kRemoteIrr, 0u);

  // Asserted again (or still): Remote IRR holds it back.
  ioapic.set_irq(10, true);
  EXPECT_EQ(bus.delivered.size(), 1u);

  // An EOI for another vector changes nothing.
  ioapic.handle_eoi(0x41);
  EXPECT_EQ(bus.delivered.size(), 1u);
  EXPECT_NE(ioapic.redirection_entry(10) & Ioapic::kRemoteIrr, 0u);

  // EOI while the line is still asserted: delivered again.
  ioapic.handle_eoi(0x40);
  EXPECT_EQ(bus.delivered.size(), 2u);
  EXPECT_NE(ioapic.redirection_entry(10) & Ioapic::kRemoteIrr, 0u);

  // Deasserted, then EOI: Remote IRR clears, nothing delivered.
  ioapic.set_irq(10, false);
  ioapic.handle_eoi(0x40);
  EXPECT_EQ(bus.delivered.size(), 2u);
  EXPECT_EQ(ioapic.redirection_entry(10) & Ioapic::kRemoteIrr, 0u);

  // A new assertion delivers at once.
  ioapic.set_irq(10, true);
  EXPECT_EQ(bus.delivered.size(), 3u);
}

TEST_F(IoapicTest, EoiRegisterClearsRemoteIrr) {
  program(11, kLevel | 0x50);
  ioapic.set_irq(11, true);
  ioapic.set_irq(11, false);
  ASSERT_NE(ioapic.redirection_entry(11) & Ioapic::kRemoteIrr, 0u);
  outl(ioapic, Ioapic::kEoi, 0x50);
  EXPECT_EQ(ioapic.redirection_entry(11) & Ioapic::kRemoteIrr, 0u);
}

TEST_F(IoapicTest, UnmaskingAnAssertedLevelEntryDelivers) {
  program(9, Ioapic::kMasked | kLevel | 0x60);
  ioapic.set_irq(9, true);
  EXPECT_TRUE(bus.delivered.empty());
  program(9, kLevel | 0x60);
  ASSERT_EQ(bus.delivered.size(), 1u);
  EXPECT_EQ(bus.delivered[0].vector, 0x60);
}

TEST_F(IoapicTest, ActiveLowInvertsThePin) {
  // Pin idle low: an active-low entry sees it asserted as soon as unmasked.
  program(16, kLevel | Ioapic::kPolarityLow | 0x70);
  ASSERT_EQ(bus.delivered.size(), 1u);
  // Driving it high deasserts it: the EOI does not re-deliver.
  ioapic.set_irq(16, true);
  ioapic.handle_eoi(0x70);
  EXPECT_EQ(bus.delivered.size(), 1u);
  ioapic.set_irq(16, false);
  EXPECT_EQ(bus.delivered.size(), 2u);
}

TEST_F(IoapicTest, SwitchingToEdgeClearsRemoteIrr) {
  program(12, kLevel | 0x80);
  ioapic.set_irq(12, true);
  ASSERT_NE(ioapic.redirection_entry(12) & Ioapic::kRemoteIrr, 0u);
  program(12, Ioapic::kMasked | 0x80);
  EXPECT_EQ(ioapic.redirection_entry(12) & Ioapic::kRemoteIrr, 0u);
}

TEST_F(IoapicTest, BusIsCalledWithoutTheLockHeld) {
  // The bus EOIs from inside deliver (as a LAPIC on the same thread could):
  // with the IOAPIC's mutex held this would deadlock.
  program(13, kLevel | 0x90);
  int reentries = 0;
  bus.on_deliver = [&](const InterruptMessage& m) {
    if (reentries++ == 0) ioapic.handle_eoi(m.vector);
  };
  ioapic.set_irq(13, true);
  EXPECT_EQ(bus.delivered.size(), 2u);  // the EOI re-delivered the still-asserted line
  EXPECT_NE(ioapic.redirection_entry(13) & Ioapic::kRemoteIrr, 0u);
}

TEST_F(IoapicTest, IgnoresPinsOutOfRange) {
  ioapic.set_irq(24, true);
  ioapic.set_irq(1000, true);
  EXPECT_TRUE(bus.delivered.empty());
}

TEST_F(IoapicTest, ByteWritesMergeIntoTheWindow) {
  outl(ioapic, Ioapic::kIoRegSel, 0x10);
  test::outb(ioapic, Ioapic::kIoWin, 0x77);  // vector byte only
  EXPECT_EQ(read_reg(0x10), 0x00010077u);
  test::outb(ioapic, Ioapic::kIoWin + 2, 0x00);  // clear the mask byte
  EXPECT_EQ(read_reg(0x10), 0x00000077u);
}

}  // namespace
}  // namespace dvmm
