#include "host/devices/pic8259.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "host/devices/bus.hpp"
#include "tests/unit/devices/fakes.hpp"

namespace dvmm {
namespace {

using test::inb;
using test::outb;

class PicTest : public ::testing::Test {
 protected:
  std::vector<bool> output_calls;
  std::shared_ptr<Pic8259> pic =
      std::make_shared<Pic8259>([this](bool level) { output_calls.push_back(level); });
  std::shared_ptr<BusDevice> master = pic->master();
  std::shared_ptr<BusDevice> slave = pic->slave();

  // The sequence Linux's init_8259A() writes: vectors 0x30 / 0x38.
  void init_like_linux() {
    outb(*master, 0, 0x11);  // ICW1: edge, cascade, ICW4
    outb(*master, 1, 0x30);  // ICW2
    outb(*master, 1, 0x04);  // ICW3: slave on IRQ 2
    outb(*master, 1, 0x01);  // ICW4: 8086 mode, normal EOI
    outb(*slave, 0, 0x11);
    outb(*slave, 1, 0x38);
    outb(*slave, 1, 0x02);
    outb(*slave, 1, 0x01);
  }
  uint8_t read_irr(BusDevice& chip) {
    outb(chip, 0, 0x0A);
    return inb(chip, 0);
  }
  uint8_t read_isr(BusDevice& chip) {
    outb(chip, 0, 0x0B);
    return inb(chip, 0);
  }
};

TEST_F(PicTest, MaskProbeReadsBack) {
  init_like_linux();
  outb(*slave, 1, 0xFF);
  outb(*master, 1, 0xFB);
  EXPECT_EQ(inb(*master, 1), 0xFB);
  EXPECT_EQ(inb(*slave, 1), 0xFF);
  EXPECT_EQ(pic->imr(0), 0xFB);
}

TEST_F(PicTest, InitSequenceConsumesIcwsAndClearsMask) {
  outb(*master, 1, 0x55);
  outb(*master, 0, 0x11);
  EXPECT_EQ(inb(*master, 1), 0x00);  // ICW1 clears IMR
  outb(*master, 1, 0x20);  // ICW2
  outb(*master, 1, 0x04);  // ICW3
  outb(*master, 1, 0x01);  // ICW4
  EXPECT_EQ(inb(*master, 1), 0x00);  // none of them landed in IMR
  outb(*master, 1, 0xA5);
  EXPECT_EQ(inb(*master, 1), 0xA5);
}

TEST_F(PicTest, EdgeRequestAcknowledgeAndEoi) {
  init_like_linux();
  outb(*master, 1, 0xFD);  // only IRQ 1
  outb(*slave, 1, 0xFF);
  pic->set_irq(1, true);
  EXPECT_TRUE(pic->output_pending());
  EXPECT_EQ(read_irr(*master), 0x02);
  EXPECT_EQ(pic->acknowledge(), 0x31);
  EXPECT_FALSE(pic->output_pending());
  EXPECT_EQ(read_irr(*master), 0x00);
  EXPECT_EQ(read_isr(*master), 0x02);
  // The line stays high: no new edge, no new request.
  pic->set_irq(1, true);
  EXPECT_EQ(read_irr(*master), 0x00);
  outb(*master, 0, 0x20);  // non-specific EOI
  EXPECT_EQ(read_isr(*master), 0x00);
  EXPECT_FALSE(pic->output_pending());
  pic->set_irq(1, false);
  pic->set_irq(1, true);
  EXPECT_TRUE(pic->output_pending());
  EXPECT_EQ(output_calls, (std::vector<bool>{true, false, true}));
}

TEST_F(PicTest, MaskedRequestWaitsInIrr) {
  init_like_linux();
  outb(*master, 1, 0xFF);
  pic->set_irq(3, true);
  EXPECT_FALSE(pic->output_pending());
  EXPECT_EQ(read_irr(*master), 0x08);
  outb(*master, 1, 0xF7);
  EXPECT_TRUE(pic->output_pending());
  EXPECT_EQ(pic->acknowledge(), 0x33);
}

TEST_F(PicTest, PriorityAndNesting) {
  init_like_linux();
  outb(*master, 1, 0x00);
  pic->set_irq(3, true);
  pic->set_irq(1, true);
  EXPECT_EQ(pic->acknowledge(), 0x31);  // IRQ 1 beats IRQ 3
  // IRQ 3 is of lower priority than IRQ 1 in service: INTR stays low.
  EXPECT_FALSE(pic->output_pending());
  // IRQ 0 is higher: it nests.
  pic->set_irq(0, true);
  EXPECT_TRUE(pic->output_pending());
  EXPECT_EQ(pic->acknowledge(), 0x30);
  EXPECT_EQ(pic->isr(0), 0x03);
  outb(*master, 0, 0x20);  // non-specific EOI ends the highest (IRQ 0)
  EXPECT_EQ(pic->isr(0), 0x02);
  EXPECT_FALSE(pic->output_pending());
  outb(*master, 0, 0x61);  // specific EOI for IRQ 1
  EXPECT_EQ(pic->isr(0), 0x00);
  EXPECT_TRUE(pic->output_pending());
  EXPECT_EQ(pic->acknowledge(), 0x33);
}

TEST_F(PicTest, NonSpecificEoiKeepsFixedPriorityRotateEoiRotates) {
  init_like_linux();
  outb(*master, 1, 0x00);
  pic->set_irq(1, true);
  EXPECT_EQ(pic->acknowledge(), 0x31);
  outb(*master, 0, 0x20);  // plain EOI: IRQ 0 stays the highest
  pic->set_irq(3, true);
  pic->set_irq(0, true);
  EXPECT_EQ(pic->acknowledge(), 0x30);
  outb(*master, 0, 0xA0);  // rotate on non-specific EOI: IRQ 0 becomes the lowest
  pic->set_irq(0, false);
  pic->set_irq(0, true);
  EXPECT_EQ(pic->acknowledge(), 0x33);  // IRQ 3 now beats IRQ 0
  outb(*master, 0, 0x20);
  outb(*master, 0, 0xC7);  // set priority: IRQ 7 lowest, so IRQ 0 highest again
  pic->set_irq(5, true);
  EXPECT_EQ(pic->acknowledge(), 0x30);
}

TEST_F(PicTest, SlaveCascadesThroughIrq2) {
  init_like_linux();
  outb(*master, 1, 0xFB);  // only the cascade
  outb(*slave, 1, 0xFB);   // only IRQ 10
  pic->set_irq(10, true);
  EXPECT_TRUE(pic->output_pending());
  EXPECT_EQ(pic->acknowledge(), 0x3A);
  EXPECT_EQ(pic->isr(1), 0x04);
  EXPECT_EQ(pic->isr(0), 0x04);
  EXPECT_FALSE(pic->output_pending());
  outb(*slave, 0, 0x20);
  outb(*master, 0, 0x20);
  EXPECT_EQ(pic->isr(1), 0x00);
  EXPECT_EQ(pic->isr(0), 0x00);
  // Masking the cascade on the master hides slave requests.
  outb(*master, 1, 0xFF);
  pic->set_irq(10, false);
  pic->set_irq(10, true);
  EXPECT_FALSE(pic->output_pending());
  EXPECT_EQ(pic->irr(1), 0x04);
}

TEST_F(PicTest, SpuriousVectorWhenNothingPending) {
  init_like_linux();
  EXPECT_EQ(pic->acknowledge(), 0x37);
  EXPECT_EQ(pic->isr(0), 0x00);
}

TEST_F(PicTest, CascadeLineCannotBeDrivenFromOutside) {
  init_like_linux();
  outb(*master, 1, 0x00);
  pic->set_irq(2, true);
  EXPECT_FALSE(pic->output_pending());
  pic->set_irq(16, true);
  EXPECT_FALSE(pic->output_pending());
}

TEST_F(PicTest, ElcrLevelModeKeepsRequestWhileAsserted) {
  init_like_linux();
  auto elcr = pic->elcr();
  outb(*elcr, 0, 0xFF);
  outb(*elcr, 1, 0xFF);
  EXPECT_EQ(inb(*elcr, 0), 0xF8);  // IRQ 0-2 always edge
  EXPECT_EQ(inb(*elcr, 1), 0xDE);  // IRQ 8 and 13 always edge
  outb(*master, 1, 0xF7);          // IRQ 3 (level now)
  pic->set_irq(3, true);
  EXPECT_EQ(pic->acknowledge(), 0x33);
  EXPECT_EQ(pic->irr(0) & 0x08, 0x08);  // still asserted
  EXPECT_FALSE(pic->output_pending());  // but in service
  outb(*master, 0, 0x20);
  EXPECT_TRUE(pic->output_pending());   // level: requests again
  pic->set_irq(3, false);
  EXPECT_FALSE(pic->output_pending());
  EXPECT_EQ(pic->irr(0) & 0x08, 0x00);
}

TEST_F(PicTest, AutoEoiLeavesIsrClear) {
  outb(*master, 0, 0x11);
  outb(*master, 1, 0x40);
  outb(*master, 1, 0x04);
  outb(*master, 1, 0x03);  // ICW4: AEOI
  outb(*master, 1, 0x00);
  pic->set_irq(4, true);
  EXPECT_EQ(pic->acknowledge(), 0x44);
  EXPECT_EQ(pic->isr(0), 0x00);
}

TEST_F(PicTest, PollModeReturnsAndAcknowledgesRequest) {
  init_like_linux();
  outb(*master, 1, 0x00);
  pic->set_irq(5, true);
  outb(*master, 0, 0x0C);  // OCW3 poll
  EXPECT_EQ(inb(*master, 0), 0x85);
  EXPECT_EQ(pic->isr(0), 0x20);
  outb(*master, 0, 0x0C);
  EXPECT_EQ(inb(*master, 0), 0x00);  // nothing more
}

TEST_F(PicTest, ViewsShareOwnershipAndWorkOnABus) {
  Bus pio("pio");
  ASSERT_TRUE(pio.insert(Pic8259::kMasterBase, Pic8259::kLength, pic->master(), "master").ok());
  ASSERT_TRUE(pio.insert(Pic8259::kSlaveBase, Pic8259::kLength, pic->slave(), "slave").ok());
  ASSERT_TRUE(pio.insert(Pic8259::kElcrBase, Pic8259::kLength, pic->elcr(), "elcr").ok());
  std::weak_ptr<Pic8259> weak = pic;
  pic.reset();
  master.reset();
  slave.reset();
  ASSERT_FALSE(weak.expired());  // the bus keeps it alive
  const uint8_t mask[1] = {0xEE};
  ASSERT_TRUE(pio.write(0xA1, mask));
  uint8_t got[1] = {};
  ASSERT_TRUE(pio.read(0xA1, got));
  EXPECT_EQ(got[0], 0xEE);
  EXPECT_EQ(weak.lock()->imr(1), 0xEE);
}

}  // namespace
}  // namespace dvmm
