// Unit tests of the userspace local APIC model (host/apic/lapic.cpp):
// register file in xAPIC and x2APIC mode, ICR decoding, destination
// matching, priorities, EOI, ESR, timer, INIT/SIPI and IA32_APIC_BASE.
#include "host/apic/lapic.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "host/common/clock.hpp"
#include "host/devices/interrupts.hpp"

namespace dvmm {
namespace {

// Register offsets (SDM vol. 3A table 11-1).
constexpr uint64_t kId = 0x20, kVer = 0x30, kTpr = 0x80, kPpr = 0xA0, kEoi = 0xB0, kLdr = 0xD0,
                   kDfr = 0xE0, kSvr = 0xF0, kIsr = 0x100, kTmr = 0x180, kIrr = 0x200,
                   kEsr = 0x280, kIcrLo = 0x300, kIcrHi = 0x310, kLvtTimer = 0x320,
                   kLvtThermal = 0x330, kLvtPerf = 0x340, kLvtLint0 = 0x350, kLvtLint1 = 0x360,
                   kLvtError = 0x370, kInitCount = 0x380, kCurCount = 0x390, kDivide = 0x3E0;
constexpr uint32_t kMsr = 0x800;
constexpr uint64_t kXapicBase = Lapic::kDefaultBase | Lapic::kApicBaseEnable;
constexpr uint64_t kX2apicBase = kXapicBase | Lapic::kApicBaseX2apic;

// Records what the LAPIC sends; optionally loops messages back into a LAPIC
// (as the router does for a self-IPI) to prove the bus is called unlocked.
class FakeBus final : public ApicBus {
 public:
  void deliver(const InterruptMessage& msg) override {
    sent.push_back(msg);
    if (loopback != nullptr) loopback->accept(msg);
  }
  void broadcast_eoi(uint8_t vector) override {
    eois.push_back(vector);
    if (loopback != nullptr) (void)loopback->addressing();  // would deadlock if locked
  }

  std::vector<InterruptMessage> sent;
  std::vector<uint8_t> eois;
  Lapic* loopback = nullptr;
};

uint32_t rd(Lapic& apic, uint64_t offset) {
  std::array<uint8_t, 4> b{0xAA, 0xAA, 0xAA, 0xAA};
  apic.mmio_read(offset, b);
  uint32_t v = 0;
  std::memcpy(&v, b.data(), sizeof(v));
  return v;
}

void wr(Lapic& apic, uint64_t offset, uint32_t value) {
  std::array<uint8_t, 4> b{};
  std::memcpy(b.data(), &value, sizeof(value));
  apic.mmio_write(offset, b);
}

bool bit_set(Lapic& apic, uint64_t base, uint8_t vector) {
  return (rd(apic, base + 0x10 * (vector / 32)) >> (vector % 32)) & 1u;
}

InterruptMessage fixed(uint8_t vector, bool level = false) {
  InterruptMessage m;
  m.vector = vector;
  m.mode = DeliveryMode::kFixed;
  m.level_triggered = level;
  return m;
}

InterruptMessage of_mode(DeliveryMode mode, uint8_t vector = 0) {
  InterruptMessage m;
  m.mode = mode;
  m.vector = vector;
  return m;
}

// Reads ESR the way software must: write, then read.
uint32_t esr(Lapic& apic) {
  wr(apic, kEsr, 0);
  return rd(apic, kEsr);
}

class LapicTest : public ::testing::Test {
 protected:
  void enable() { wr(apic, kSvr, 0x1FF); }
  void to_x2apic() { ASSERT_TRUE(apic.set_apic_base(kX2apicBase | Lapic::kApicBaseBsp)); }

  ManualClock clock;
  FakeBus bus;
  Lapic apic{1, true, bus, clock};
};

// --- power-on state -----------------------------------------------------------

TEST_F(LapicTest, PowerOnRegisters) {
  EXPECT_EQ(rd(apic, kId), 1u << 24);
  EXPECT_EQ(rd(apic, kVer), Lapic::kVersion);
  EXPECT_EQ(rd(apic, kSvr), 0xFFu);
  EXPECT_EQ(rd(apic, kDfr), 0xFFFFFFFFu);
  EXPECT_EQ(rd(apic, kLdr), 0u);
  EXPECT_EQ(rd(apic, kTpr), 0u);
  for (uint64_t off = kLvtTimer; off <= kLvtError; off += 0x10) EXPECT_EQ(rd(apic, off), 0x10000u);
  EXPECT_EQ(apic.apic_base(), 0xFEE00900u);
  EXPECT_EQ(apic.id(), 1u);
  EXPECT_FALSE(apic.has_work());

  Lapic ap(2, false, bus, clock);
  EXPECT_EQ(ap.apic_base(), 0xFEE00800u);
}

TEST_F(LapicTest, WritableBitsOfRegisters) {
  wr(apic, kSvr, 0xFFFFFFFF);
  EXPECT_EQ(rd(apic, kSvr), 0x13FFu);
  wr(apic, kDfr, 0x0);
  EXPECT_EQ(rd(apic, kDfr), 0x0FFFFFFFu);
  wr(apic, kLdr, 0xFFFFFFFF);
  EXPECT_EQ(rd(apic, kLdr), 0xFF000000u);
  wr(apic, kTpr, 0xFFFFFFFF);
  EXPECT_EQ(rd(apic, kTpr), 0xFFu);
  EXPECT_EQ(apic.task_priority(), 0xFF);
  wr(apic, kLvtTimer, 0xFFFFFFFF);
  EXPECT_EQ(rd(apic, kLvtTimer), 0x000700FFu);
  wr(apic, kLvtThermal, 0xFFFFFFFF);
  EXPECT_EQ(rd(apic, kLvtThermal), 0x000107FFu);
  wr(apic, kLvtPerf, 0xFFFFFFFF);
  EXPECT_EQ(rd(apic, kLvtPerf), 0x000107FFu);
  wr(apic, kLvtLint0, 0xFFFFFFFF);
  EXPECT_EQ(rd(apic, kLvtLint0), 0x0001A7FFu);
  wr(apic, kLvtLint1, 0xFFFFFFFF);
  EXPECT_EQ(rd(apic, kLvtLint1), 0x0001A7FFu);
  wr(apic, kLvtError, 0xFFFFFFFF);
  EXPECT_EQ(rd(apic, kLvtError), 0x000100FFu);
  wr(apic, kDivide, 0xFFFFFFFF);
  EXPECT_EQ(rd(apic, kDivide), 0xBu);
  wr(apic, kIcrHi, 0xFFFFFFFF);
  EXPECT_EQ(rd(apic, kIcrHi), 0xFF000000u);
  // Read-only registers ignore writes.
  wr(apic, kVer, 0);
  EXPECT_EQ(rd(apic, kVer), Lapic::kVersion);
  wr(apic, kPpr, 0xFF);
  EXPECT_EQ(rd(apic, kPpr), 0xFFu);  // TPR is 0xFF, PPR follows it, not the write
  wr(apic, kId, 0x07000000);
  EXPECT_EQ(rd(apic, kId), 0x07000000u);
  EXPECT_EQ(apic.id(), 7u);
}

// --- ICR ------------------------------------------------------------------------

struct IcrCase {
  uint32_t mode_bits;
  DeliveryMode mode;
};

class IcrModeTest : public LapicTest, public ::testing::WithParamInterface<IcrCase> {};

TEST_P(IcrModeTest, XapicDecodesEveryField) {
  const IcrCase c = GetParam();
  for (uint32_t shorthand = 0; shorthand < 4; ++shorthand) {
    for (uint32_t logical = 0; logical < 2; ++logical) {
      for (uint32_t trig = 0; trig < 2; ++trig) {
        for (uint32_t level = 0; level < 2; ++level) {
          bus.sent.clear();
          wr(apic, kIcrHi, 0x5A000000);
          const uint32_t low = 0x42 | (c.mode_bits << 8) | (logical << 11) | (level << 14) |
                               (trig << 15) | (shorthand << 18);
          wr(apic, kIcrLo, low);
          ASSERT_EQ(bus.sent.size(), 1u) << std::hex << low;
          const InterruptMessage& m = bus.sent[0];
          EXPECT_EQ(m.vector, 0x42);
          EXPECT_EQ(m.mode, c.mode);
          EXPECT_EQ(m.logical, logical == 1);
          EXPECT_EQ(m.assert_level, level == 1);
          EXPECT_EQ(m.level_triggered, trig == 1);
          EXPECT_EQ(m.shorthand, static_cast<DestShorthand>(shorthand));
          EXPECT_EQ(m.destination, 0x5Au);
          EXPECT_FALSE(m.x2apic);
          EXPECT_EQ(m.source_cpu, -1);
          // Read back: same bits, delivery status (12) clear.
          EXPECT_EQ(rd(apic, kIcrLo), low);
        }
      }
    }
  }
}

TEST_P(IcrModeTest, X2apicDecodesEveryField) {
  const IcrCase c = GetParam();
  to_x2apic();
  for (uint32_t shorthand = 0; shorthand < 4; ++shorthand) {
    for (uint32_t logical = 0; logical < 2; ++logical) {
      bus.sent.clear();
      const uint64_t low = 0x42 | (c.mode_bits << 8) | (logical << 11) | (1u << 14) | (1u << 15) |
                           (shorthand << 18);
      const uint64_t icr = (uint64_t{0x12345678} << 32) | low;
      ASSERT_TRUE(apic.msr_write(kMsr + 0x30, icr));
      ASSERT_EQ(bus.sent.size(), 1u);
      const InterruptMessage& m = bus.sent[0];
      EXPECT_EQ(m.vector, 0x42);
      EXPECT_EQ(m.mode, c.mode);
      EXPECT_EQ(m.logical, logical == 1);
      EXPECT_TRUE(m.assert_level);
      EXPECT_TRUE(m.level_triggered);
      EXPECT_EQ(m.shorthand, static_cast<DestShorthand>(shorthand));
      EXPECT_EQ(m.destination, 0x12345678u);
      EXPECT_TRUE(m.x2apic);
      uint64_t back = 0;
      ASSERT_TRUE(apic.msr_read(kMsr + 0x30, back));
      EXPECT_EQ(back, icr);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, IcrModeTest,
                         ::testing::Values(IcrCase{0, DeliveryMode::kFixed},
                                           IcrCase{1, DeliveryMode::kLowestPriority},
                                           IcrCase{2, DeliveryMode::kSmi},
                                           IcrCase{4, DeliveryMode::kNmi},
                                           IcrCase{5, DeliveryMode::kInit},
                                           IcrCase{6, DeliveryMode::kStartup}));

TEST_F(LapicTest, IcrReservedModesSendNothing) {
  wr(apic, kIcrLo, 0x40 | (3u << 8));
  wr(apic, kIcrLo, 0x40 | (7u << 8));
  EXPECT_TRUE(bus.sent.empty());
}

TEST_F(LapicTest, IcrHighWriteAloneSendsNothing) {
  wr(apic, kIcrHi, 0x01000000);
  EXPECT_TRUE(bus.sent.empty());
}

TEST_F(LapicTest, IcrReservedBitsAreNotStored) {
  wr(apic, kIcrLo, 0xFFFFFFFF & ~(7u << 8));  // fixed, vector 0xFF, every other bit set
  EXPECT_EQ(rd(apic, kIcrLo), 0x000CC8FFu);  // no status (12), no 13, 31:20
}

TEST_F(LapicTest, InitDeassertIsDecoded) {
  wr(apic, kIcrHi, 0x02000000);
  wr(apic, kIcrLo, 0x00008500);  // INIT, level-triggered, de-assert
  ASSERT_EQ(bus.sent.size(), 1u);
  EXPECT_EQ(bus.sent[0].mode, DeliveryMode::kInit);
  EXPECT_TRUE(bus.sent[0].level_triggered);
  EXPECT_FALSE(bus.sent[0].assert_level);
}

TEST_F(LapicTest, IllegalVectorIsNotSentAndSetsEsr) {
  enable();
  wr(apic, kIcrLo, 0x0F);  // fixed, vector 15
  wr(apic, kIcrLo, 0x100 | 0x03);  // lowest priority, vector 3
  EXPECT_TRUE(bus.sent.empty());
  EXPECT_EQ(esr(apic), 1u << 5);
  EXPECT_EQ(apic.counters().illegal_vector_sent, 2u);
  // NMI, INIT and SIPI carry no interrupt vector: vector 0 is fine.
  wr(apic, kIcrLo, 0x400);
  wr(apic, kIcrLo, 0x500);
  wr(apic, kIcrLo, 0x600);
  EXPECT_EQ(bus.sent.size(), 3u);
  EXPECT_EQ(esr(apic), 0u);
}

TEST_F(LapicTest, SelfShorthandDeliveredThroughBusUnlocked) {
  enable();
  bus.loopback = &apic;
  wr(apic, kIcrLo, 0x40000 | 0x66);  // self, fixed 0x66
  ASSERT_EQ(bus.sent.size(), 1u);
  EXPECT_EQ(bus.sent[0].shorthand, DestShorthand::kSelf);
  EXPECT_EQ(apic.pending_vector(), 0x66);
}

// --- destination matching -------------------------------------------------------

InterruptMessage dest(uint32_t d, bool logical, bool x2) {
  InterruptMessage m;
  m.destination = d;
  m.logical = logical;
  m.x2apic = x2;
  return m;
}

TEST(DestinationMatches, PhysicalXapic) {
  ApicAddressing a;
  a.apic_id = 3;
  EXPECT_TRUE(destination_matches(a, dest(3, false, false)));
  EXPECT_FALSE(destination_matches(a, dest(4, false, false)));
  EXPECT_TRUE(destination_matches(a, dest(0xFF, false, false)));
  // Only bits 7:0 of an xAPIC destination count.
  EXPECT_TRUE(destination_matches(a, dest(0x1203, false, false)));
  // An x2APIC ID beyond 8 bits is unreachable by an 8-bit destination.
  a.apic_id = 0x103;
  EXPECT_FALSE(destination_matches(a, dest(0x03, false, false)));
}

TEST(DestinationMatches, PhysicalX2apic) {
  ApicAddressing a;
  a.apic_id = 0x103;
  a.x2apic = true;
  a.ldr = (0x10u << 16) | (1u << 3);
  EXPECT_TRUE(destination_matches(a, dest(0x103, false, true)));
  EXPECT_FALSE(destination_matches(a, dest(0x03, false, true)));
  EXPECT_TRUE(destination_matches(a, dest(0xFFFFFFFF, false, true)));
  // 0xFF is an ordinary 32-bit ID in x2APIC format, not a broadcast.
  EXPECT_FALSE(destination_matches(a, dest(0xFF, false, true)));
}

TEST(DestinationMatches, LogicalFlat) {
  ApicAddressing a;
  a.apic_id = 2;
  a.ldr = 0x04000000;
  a.dfr = 0xFFFFFFFF;
  EXPECT_TRUE(destination_matches(a, dest(0x06, true, false)));
  EXPECT_TRUE(destination_matches(a, dest(0x04, true, false)));
  EXPECT_FALSE(destination_matches(a, dest(0x08, true, false)));
  EXPECT_FALSE(destination_matches(a, dest(0x02, true, false)));  // not the physical ID
  EXPECT_TRUE(destination_matches(a, dest(0xFF, true, false)));
  a.ldr = 0;  // broadcast still reaches an APIC without a logical ID
  EXPECT_TRUE(destination_matches(a, dest(0xFF, true, false)));
  EXPECT_FALSE(destination_matches(a, dest(0x7F, true, false)));
}

TEST(DestinationMatches, LogicalCluster) {
  ApicAddressing a;
  a.ldr = 0x21000000;  // cluster 2, member bit 0
  a.dfr = 0x0FFFFFFF;
  EXPECT_TRUE(destination_matches(a, dest(0x21, true, false)));
  EXPECT_TRUE(destination_matches(a, dest(0x23, true, false)));
  EXPECT_FALSE(destination_matches(a, dest(0x22, true, false)));  // other member
  EXPECT_FALSE(destination_matches(a, dest(0x31, true, false)));  // other cluster
  EXPECT_TRUE(destination_matches(a, dest(0xF1, true, false)));   // all clusters, member 0
  EXPECT_FALSE(destination_matches(a, dest(0xF2, true, false)));
  EXPECT_TRUE(destination_matches(a, dest(0xFF, true, false)));
  // The same LDR in the flat model is a different bitmap.
  a.dfr = 0xFFFFFFFF;
  EXPECT_TRUE(destination_matches(a, dest(0x01, true, false)));
  EXPECT_FALSE(destination_matches(a, dest(0x10, true, false)));
}

TEST(DestinationMatches, LogicalX2apicCluster) {
  ApicAddressing a;
  a.apic_id = 0x25;
  a.x2apic = true;
  a.ldr = 0x00020020;  // derived: cluster 2, bit 5
  EXPECT_TRUE(destination_matches(a, dest(0x00020020, true, true)));
  EXPECT_TRUE(destination_matches(a, dest(0x0002FFFF, true, true)));
  EXPECT_FALSE(destination_matches(a, dest(0x00020010, true, true)));
  EXPECT_FALSE(destination_matches(a, dest(0x00030020, true, true)));
  EXPECT_TRUE(destination_matches(a, dest(0xFFFFFFFF, true, true)));
}

TEST(DestinationMatches, DisabledApicNeverMatches) {
  ApicAddressing a;
  a.apic_id = 3;
  a.ldr = 0x01000000;
  a.enabled = false;
  EXPECT_FALSE(destination_matches(a, dest(3, false, false)));
  EXPECT_FALSE(destination_matches(a, dest(0xFF, false, false)));
  EXPECT_FALSE(destination_matches(a, dest(0x01, true, false)));
  EXPECT_FALSE(destination_matches(a, dest(0xFFFFFFFF, false, true)));
  // Software-disabled still matches (it takes INIT/SIPI/NMI).
  a.enabled = true;
  a.software_enabled = false;
  EXPECT_TRUE(destination_matches(a, dest(3, false, false)));
}

TEST_F(LapicTest, AddressingReflectsProgrammedRegisters) {
  wr(apic, kLdr, 0x08000000);
  wr(apic, kDfr, 0x0FFFFFFF);
  enable();
  ApicAddressing a = apic.addressing();
  EXPECT_EQ(a.apic_id, 1u);
  EXPECT_EQ(a.ldr, 0x08000000u);
  EXPECT_EQ(a.dfr, 0x0FFFFFFFu);
  EXPECT_TRUE(a.software_enabled);
  EXPECT_TRUE(a.enabled);
  EXPECT_FALSE(a.x2apic);
  EXPECT_TRUE(destination_matches(a, dest(0x08, true, false)));  // cluster 0, bit 3
  EXPECT_FALSE(destination_matches(a, dest(0x18, true, false)));
  ASSERT_TRUE(apic.set_apic_base(0xFEE00000));
  EXPECT_FALSE(destination_matches(apic.addressing(), dest(1, false, false)));
}

// --- priorities, acknowledge, EOI -----------------------------------------------

TEST_F(LapicTest, PriorityOrderingWithTpr) {
  enable();
  apic.accept(fixed(0x31));
  apic.accept(fixed(0x52));
  apic.accept(fixed(0x45));
  EXPECT_TRUE(bit_set(apic, kIrr, 0x31));
  EXPECT_TRUE(bit_set(apic, kIrr, 0x52));
  EXPECT_EQ(apic.pending_vector(), 0x52);
  EXPECT_EQ(apic.pending_vector(), 0x52);  // no side effect

  wr(apic, kTpr, 0x50);  // class 5 masks 0x52
  EXPECT_EQ(rd(apic, kPpr), 0x50u);
  EXPECT_EQ(apic.pending_vector(), std::nullopt);
  EXPECT_FALSE(apic.has_work());
  wr(apic, kTpr, 0x4F);
  EXPECT_EQ(apic.pending_vector(), 0x52);
  EXPECT_TRUE(apic.has_work());
  wr(apic, kTpr, 0);

  EXPECT_EQ(apic.acknowledge(), 0x52);
  EXPECT_FALSE(bit_set(apic, kIrr, 0x52));
  EXPECT_TRUE(bit_set(apic, kIsr, 0x52));
  EXPECT_EQ(rd(apic, kPpr), 0x50u);
  // 0x45 is of a lower class than the one in service.
  EXPECT_EQ(apic.pending_vector(), std::nullopt);
  EXPECT_EQ(apic.acknowledge(), std::nullopt);
  wr(apic, kEoi, 0);
  EXPECT_FALSE(bit_set(apic, kIsr, 0x52));
  EXPECT_EQ(apic.pending_vector(), 0x45);
  // Same class as the one in service does not preempt either.
  EXPECT_EQ(apic.acknowledge(), 0x45);
  apic.accept(fixed(0x4F));
  EXPECT_EQ(apic.pending_vector(), std::nullopt);
  wr(apic, kEoi, 0);
  EXPECT_EQ(apic.acknowledge(), 0x4F);
  wr(apic, kEoi, 0);
  EXPECT_EQ(apic.acknowledge(), 0x31);
}

TEST_F(LapicTest, PprFormula) {
  enable();
  apic.accept(fixed(0x20));
  ASSERT_EQ(apic.acknowledge(), 0x20);
  wr(apic, kTpr, 0x35);  // TPR class above ISR class: PPR = TPR
  EXPECT_EQ(rd(apic, kPpr), 0x35u);
  wr(apic, kTpr, 0x2C);  // same class: PPR = TPR
  EXPECT_EQ(rd(apic, kPpr), 0x2Cu);
  wr(apic, kTpr, 0x15);  // ISR class above: PPR = ISRV & 0xF0
  EXPECT_EQ(rd(apic, kPpr), 0x20u);
}

TEST_F(LapicTest, NestedAcknowledgeAndEoiOrder) {
  enable();
  apic.accept(fixed(0x31));
  ASSERT_EQ(apic.acknowledge(), 0x31);
  apic.accept(fixed(0x61));  // higher class preempts
  ASSERT_EQ(apic.pending_vector(), 0x61);
  ASSERT_EQ(apic.acknowledge(), 0x61);
  EXPECT_TRUE(bit_set(apic, kIsr, 0x31));
  EXPECT_TRUE(bit_set(apic, kIsr, 0x61));
  EXPECT_EQ(rd(apic, kPpr), 0x60u);
  apic.accept(fixed(0x35));
  EXPECT_EQ(apic.pending_vector(), std::nullopt);

  wr(apic, kEoi, 0);  // ends the highest in service
  EXPECT_FALSE(bit_set(apic, kIsr, 0x61));
  EXPECT_TRUE(bit_set(apic, kIsr, 0x31));
  EXPECT_EQ(rd(apic, kPpr), 0x30u);
  EXPECT_EQ(apic.pending_vector(), std::nullopt);  // 0x35 is class 3 too
  wr(apic, kEoi, 0);
  EXPECT_FALSE(bit_set(apic, kIsr, 0x31));
  EXPECT_EQ(apic.pending_vector(), 0x35);
  wr(apic, kEoi, 0);  // spurious EOI: harmless
  EXPECT_EQ(apic.pending_vector(), 0x35);
  EXPECT_TRUE(bus.eois.empty());
}

TEST_F(LapicTest, LowestPriorityAcceptedLikeFixed) {
  enable();
  InterruptMessage m = fixed(0x44);
  m.mode = DeliveryMode::kLowestPriority;
  apic.accept(m);
  EXPECT_EQ(apic.pending_vector(), 0x44);
}

TEST_F(LapicTest, LevelTriggeredEoiBroadcast) {
  enable();
  bus.loopback = &apic;  // broadcast_eoi must run unlocked
  apic.accept(fixed(0x70, true));
  EXPECT_TRUE(bit_set(apic, kTmr, 0x70));
  ASSERT_EQ(apic.acknowledge(), 0x70);
  wr(apic, kEoi, 0);
  ASSERT_EQ(bus.eois.size(), 1u);
  EXPECT_EQ(bus.eois[0], 0x70);

  // Edge-triggered: no broadcast; re-accepting edge clears the TMR bit.
  apic.accept(fixed(0x70, false));
  EXPECT_FALSE(bit_set(apic, kTmr, 0x70));
  ASSERT_EQ(apic.acknowledge(), 0x70);
  wr(apic, kEoi, 0);
  EXPECT_EQ(bus.eois.size(), 1u);
}

TEST_F(LapicTest, EoiBroadcastSuppressed) {
  wr(apic, kSvr, 0x11FF);  // enable + suppress EOI broadcast
  apic.accept(fixed(0x70, true));
  ASSERT_EQ(apic.acknowledge(), 0x70);
  wr(apic, kEoi, 0);
  EXPECT_FALSE(bit_set(apic, kIsr, 0x70));
  EXPECT_TRUE(bus.eois.empty());
}

// --- errors ---------------------------------------------------------------------

TEST_F(LapicTest, ReceivedIllegalVectorDroppedWithEsr) {
  enable();
  apic.accept(fixed(0x03));
  apic.accept(fixed(0x0F));
  EXPECT_EQ(apic.pending_vector(), std::nullopt);
  EXPECT_EQ(rd(apic, kIrr), 0u);
  EXPECT_EQ(esr(apic), 1u << 6);
  EXPECT_EQ(apic.counters().illegal_vector_received, 2u);
  apic.accept(fixed(0x10));  // 16 is the first legal vector
  EXPECT_EQ(apic.pending_vector(), 0x10);
}

TEST_F(LapicTest, EsrLatchesOnWrite) {
  enable();
  apic.accept(fixed(0x01));
  EXPECT_EQ(rd(apic, kEsr), 0u);  // not visible before a write
  wr(apic, kEsr, 0);
  EXPECT_EQ(rd(apic, kEsr), 0x40u);
  EXPECT_EQ(rd(apic, kEsr), 0x40u);  // reads don't clear
  wr(apic, kIcrLo, 0x01);            // send illegal vector
  EXPECT_EQ(rd(apic, kEsr), 0x40u);  // still the latched value
  wr(apic, kEsr, 0xFFFFFFFF);        // value written is irrelevant
  EXPECT_EQ(rd(apic, kEsr), 0x20u);
  wr(apic, kEsr, 0);
  EXPECT_EQ(rd(apic, kEsr), 0u);
}

TEST_F(LapicTest, IllegalRegisterAccess) {
  enable();
  EXPECT_EQ(rd(apic, 0x40), 0u);  // reserved offset
  EXPECT_EQ(esr(apic), 1u << 7);
  EXPECT_EQ(apic.counters().illegal_register, 1u);
  wr(apic, 0x3F0, 0x40);  // SELF IPI does not exist in xAPIC mode
  wr(apic, 0x2F0, 0x40);  // no CMCI LVT
  EXPECT_EQ(esr(apic), 1u << 7);
  EXPECT_EQ(apic.counters().illegal_register, 3u);
  EXPECT_EQ(apic.pending_vector(), std::nullopt);

  // Misaligned or not 32 bits: read as 0, ignored, counted.
  wr(apic, kTpr, 0x20);
  EXPECT_EQ(rd(apic, kTpr + 4), 0u);
  wr(apic, kTpr + 4, 0x30);
  std::array<uint8_t, 2> half{0x40, 0};
  apic.mmio_write(kTpr, half);
  std::array<uint8_t, 8> wide{};
  wide.fill(0xAA);
  apic.mmio_read(kVer, wide);
  EXPECT_EQ(wide, (std::array<uint8_t, 8>{}));
  EXPECT_EQ(rd(apic, kTpr), 0x20u);
  EXPECT_EQ(apic.counters().illegal_register, 7u);
}

TEST_F(LapicTest, ErrorRaisesLvtErrorInterrupt) {
  enable();
  wr(apic, kLvtError, 0xFE);  // unmasked, vector 0xFE
  apic.accept(fixed(0x02));
  EXPECT_EQ(apic.pending_vector(), 0xFE);
  EXPECT_FALSE(bit_set(apic, kTmr, 0xFE));
}

// --- software / hardware disable ------------------------------------------------

TEST_F(LapicTest, SoftwareDisabledDropsFixedKeepsNmiInitSipi) {
  // Power-on: SVR bit 8 clear.
  apic.accept(fixed(0x40));
  EXPECT_EQ(apic.pending_vector(), std::nullopt);
  apic.accept(of_mode(DeliveryMode::kNmi));
  apic.accept(of_mode(DeliveryMode::kInit));
  apic.set_waiting_for_sipi(true);
  apic.accept(of_mode(DeliveryMode::kStartup, 0x9A));
  EXPECT_TRUE(apic.take_nmi());
  EXPECT_FALSE(apic.take_nmi());
  EXPECT_TRUE(apic.take_init());
  EXPECT_EQ(apic.take_sipi(), 0x9A);

  // Interrupts in IRR before the disable stay deliverable.
  enable();
  apic.accept(fixed(0x40));
  wr(apic, kSvr, 0xFF);
  EXPECT_EQ(apic.pending_vector(), 0x40);
}

TEST_F(LapicTest, SoftwareDisableMasksLvts) {
  enable();
  wr(apic, kLvtTimer, 0x30);
  wr(apic, kLvtLint0, 0x700);
  EXPECT_EQ(rd(apic, kLvtTimer), 0x30u);
  wr(apic, kSvr, 0xFF);
  EXPECT_EQ(rd(apic, kLvtTimer), 0x10030u);
  EXPECT_EQ(rd(apic, kLvtLint0), 0x10700u);
  wr(apic, kLvtTimer, 0x31);  // can't unmask while disabled
  EXPECT_EQ(rd(apic, kLvtTimer), 0x10031u);
  enable();  // re-enabling does not unmask
  EXPECT_EQ(rd(apic, kLvtTimer), 0x10031u);
}

TEST_F(LapicTest, HardwareDisabledAcceptsNothing) {
  enable();
  ASSERT_TRUE(apic.set_apic_base(0xFEE00000));
  apic.set_waiting_for_sipi(true);
  apic.accept(fixed(0x40));
  apic.accept(of_mode(DeliveryMode::kNmi));
  apic.accept(of_mode(DeliveryMode::kInit));
  apic.accept(of_mode(DeliveryMode::kStartup, 0x10));
  EXPECT_FALSE(apic.has_work());
  EXPECT_FALSE(apic.take_nmi());
  EXPECT_FALSE(apic.take_init());
  EXPECT_EQ(apic.take_sipi(), std::nullopt);
  // The MMIO page is gone.
  EXPECT_EQ(rd(apic, kVer), 0u);
  wr(apic, kIcrLo, 0x40);
  EXPECT_TRUE(bus.sent.empty());
}

TEST_F(LapicTest, ExtIntBypassesIsrAndPriority) {
  // The 8259 path works with the APIC software-disabled (legacy guests).
  apic.accept(of_mode(DeliveryMode::kExtInt, 0x08));
  EXPECT_TRUE(apic.has_work());
  EXPECT_EQ(apic.pending_vector(), 0x08);
  EXPECT_EQ(apic.acknowledge(), 0x08);
  EXPECT_EQ(rd(apic, kIsr), 0u);
  EXPECT_EQ(rd(apic, kIrr), 0u);
  EXPECT_FALSE(apic.has_work());

  enable();
  wr(apic, kTpr, 0xF0);
  apic.accept(of_mode(DeliveryMode::kExtInt, 0x20));
  EXPECT_EQ(apic.acknowledge(), 0x20);  // TPR doesn't hold it back
  EXPECT_EQ(rd(apic, kPpr), 0xF0u);
}

// --- timer ----------------------------------------------------------------------

struct DivideCase {
  uint32_t config;
  uint64_t divisor;
};

class TimerDivideTest : public LapicTest, public ::testing::WithParamInterface<DivideCase> {};

TEST_P(TimerDivideTest, OneShot) {
  const DivideCase c = GetParam();
  enable();
  clock.set(5000);
  wr(apic, kDivide, c.config);
  wr(apic, kLvtTimer, 0x40);  // one-shot, vector 0x40
  wr(apic, kInitCount, 1000);
  EXPECT_EQ(rd(apic, kInitCount), 1000u);
  EXPECT_EQ(rd(apic, kCurCount), 1000u);
  const uint64_t deadline = 5000 + 1000 * c.divisor;
  EXPECT_EQ(apic.poll_timer(), deadline);

  clock.advance(250 * c.divisor + (c.divisor - 1));  // partial ticks don't count
  EXPECT_EQ(rd(apic, kCurCount), 750u);
  clock.set(deadline - 1);
  EXPECT_EQ(rd(apic, kCurCount), 1u);
  EXPECT_EQ(apic.poll_timer(), deadline);
  EXPECT_EQ(apic.pending_vector(), std::nullopt);

  clock.set(deadline);
  EXPECT_EQ(rd(apic, kCurCount), 0u);
  EXPECT_EQ(apic.poll_timer(), std::nullopt);
  EXPECT_EQ(apic.pending_vector(), 0x40);
  EXPECT_FALSE(bit_set(apic, kTmr, 0x40));
  // Fired once: acknowledging leaves nothing behind, and it stays stopped.
  ASSERT_EQ(apic.acknowledge(), 0x40);
  wr(apic, kEoi, 0);
  clock.advance(100000 * c.divisor);
  EXPECT_EQ(apic.poll_timer(), std::nullopt);
  EXPECT_EQ(apic.pending_vector(), std::nullopt);
  EXPECT_EQ(rd(apic, kCurCount), 0u);
  EXPECT_EQ(rd(apic, kInitCount), 1000u);
}

TEST_P(TimerDivideTest, Periodic) {
  const DivideCase c = GetParam();
  enable();
  wr(apic, kDivide, c.config);
  wr(apic, kLvtTimer, 0x20000 | 0x41);  // periodic
  wr(apic, kInitCount, 100);
  const uint64_t period = 100 * c.divisor;
  EXPECT_EQ(apic.poll_timer(), period);

  clock.set(75 * c.divisor);
  EXPECT_EQ(rd(apic, kCurCount), 25u);
  clock.set(period);
  EXPECT_EQ(apic.poll_timer(), 2 * period);
  EXPECT_EQ(apic.acknowledge(), 0x41);
  wr(apic, kEoi, 0);
  clock.set(period + 10 * c.divisor);
  EXPECT_EQ(rd(apic, kCurCount), 90u);  // reloaded from the initial count

  // Several periods missed: one interrupt, next deadline on the period grid.
  clock.set(6 * period + 30 * c.divisor);
  EXPECT_EQ(rd(apic, kCurCount), 70u);
  EXPECT_EQ(apic.poll_timer(), 7 * period);
  EXPECT_EQ(apic.acknowledge(), 0x41);
  EXPECT_EQ(apic.acknowledge(), std::nullopt);
  EXPECT_EQ(rd(apic, kCurCount), 70u);
  wr(apic, kEoi, 0);
}

INSTANTIATE_TEST_SUITE_P(AllDivisors, TimerDivideTest,
                         ::testing::Values(DivideCase{0x0, 2}, DivideCase{0x1, 4},
                                           DivideCase{0x2, 8}, DivideCase{0x3, 16},
                                           DivideCase{0x8, 32}, DivideCase{0x9, 64},
                                           DivideCase{0xA, 128}, DivideCase{0xB, 1}));

TEST_F(LapicTest, MaskedTimerCountsButDoesNotFire) {
  enable();
  wr(apic, kDivide, 0xB);
  wr(apic, kLvtTimer, 0x10000 | 0x20000 | 0x42);  // masked, periodic
  wr(apic, kInitCount, 50);
  clock.set(120);
  EXPECT_EQ(apic.poll_timer(), 150u);  // keeps counting
  EXPECT_EQ(apic.pending_vector(), std::nullopt);
  EXPECT_EQ(rd(apic, kCurCount), 30u);
  // Unmasking does not deliver the expiries that happened while masked.
  wr(apic, kLvtTimer, 0x20000 | 0x42);
  EXPECT_EQ(apic.pending_vector(), std::nullopt);
  clock.set(150);
  EXPECT_EQ(apic.poll_timer(), 200u);
  EXPECT_EQ(apic.pending_vector(), 0x42);
}

TEST_F(LapicTest, TimerStopsOnZeroAndInTscDeadlineMode) {
  enable();
  wr(apic, kDivide, 0xB);
  wr(apic, kLvtTimer, 0x43);
  wr(apic, kInitCount, 100);
  EXPECT_EQ(apic.poll_timer(), 100u);
  wr(apic, kInitCount, 0);
  EXPECT_EQ(apic.poll_timer(), std::nullopt);
  EXPECT_EQ(rd(apic, kCurCount), 0u);
  clock.set(1000);
  EXPECT_EQ(apic.pending_vector(), std::nullopt);

  wr(apic, kInitCount, 100);
  EXPECT_EQ(apic.poll_timer(), 1100u);
  wr(apic, kLvtTimer, 0x40000 | 0x43);  // TSC-deadline: unsupported, disarms
  EXPECT_EQ(apic.poll_timer(), std::nullopt);
  wr(apic, kInitCount, 100);  // ignored in TSC-deadline mode
  EXPECT_EQ(apic.poll_timer(), std::nullopt);
  EXPECT_EQ(rd(apic, kInitCount), 0u);
  clock.set(5000);
  EXPECT_EQ(apic.poll_timer(), std::nullopt);
  EXPECT_EQ(apic.pending_vector(), std::nullopt);
}

TEST_F(LapicTest, DivideChangeContinuesFromCurrentCount) {
  enable();
  wr(apic, kDivide, 0xB);  // /1
  wr(apic, kLvtTimer, 0x44);
  wr(apic, kInitCount, 1000);
  clock.set(400);
  EXPECT_EQ(rd(apic, kCurCount), 600u);
  wr(apic, kDivide, 0x0);  // /2
  EXPECT_EQ(rd(apic, kCurCount), 600u);
  EXPECT_EQ(apic.poll_timer(), 400u + 600u * 2);
  clock.set(800);
  EXPECT_EQ(rd(apic, kCurCount), 400u);
  clock.set(1600);
  EXPECT_EQ(apic.poll_timer(), std::nullopt);
  EXPECT_EQ(apic.pending_vector(), 0x44);
}

TEST_F(LapicTest, RestartingTimerDeliversPastExpiryFirst) {
  enable();
  wr(apic, kDivide, 0xB);
  wr(apic, kLvtTimer, 0x45);
  wr(apic, kInitCount, 100);
  clock.set(150);  // expired, not polled yet
  wr(apic, kInitCount, 100);
  EXPECT_EQ(apic.pending_vector(), 0x45);
  EXPECT_EQ(apic.poll_timer(), 250u);
}

TEST_F(LapicTest, TimerIllegalVectorSetsEsr) {
  enable();
  wr(apic, kDivide, 0xB);
  wr(apic, kLvtTimer, 0x05);
  wr(apic, kInitCount, 10);
  clock.set(10);
  EXPECT_EQ(apic.poll_timer(), std::nullopt);
  EXPECT_EQ(apic.pending_vector(), std::nullopt);
  EXPECT_EQ(esr(apic), 1u << 6);
}

// --- INIT / SIPI ----------------------------------------------------------------

TEST_F(LapicTest, InitResetsStateKeepsIdAndBase) {
  enable();
  wr(apic, kId, 0x07000000);
  wr(apic, kTpr, 0x20);
  wr(apic, kLdr, 0x04000000);
  wr(apic, kDfr, 0x0FFFFFFF);
  wr(apic, kLvtTimer, 0x30);
  wr(apic, kInitCount, 1000);
  apic.accept(fixed(0x50));
  apic.accept(fixed(0x60));
  ASSERT_EQ(apic.acknowledge(), 0x60);
  const uint64_t base = apic.apic_base();

  InterruptMessage init = of_mode(DeliveryMode::kInit);
  init.level_triggered = true;
  init.assert_level = true;
  apic.accept(init);
  EXPECT_TRUE(apic.has_work());
  EXPECT_TRUE(apic.take_init());
  EXPECT_FALSE(apic.take_init());

  EXPECT_EQ(rd(apic, kId), 0x07000000u);
  EXPECT_EQ(apic.apic_base(), base);
  EXPECT_EQ(rd(apic, kTpr), 0u);
  EXPECT_EQ(rd(apic, kLdr), 0u);
  EXPECT_EQ(rd(apic, kDfr), 0xFFFFFFFFu);
  EXPECT_EQ(rd(apic, kSvr), 0xFFu);
  EXPECT_EQ(rd(apic, kLvtTimer), 0x10000u);
  EXPECT_EQ(rd(apic, kInitCount), 0u);
  EXPECT_EQ(apic.poll_timer(), std::nullopt);
  EXPECT_FALSE(bit_set(apic, kIrr, 0x50));
  EXPECT_FALSE(bit_set(apic, kIsr, 0x60));
  EXPECT_EQ(apic.pending_vector(), std::nullopt);
  EXPECT_FALSE(apic.has_work());
}

TEST_F(LapicTest, InitDeassertIgnoredEdgeInitAccepted) {
  InterruptMessage deassert = of_mode(DeliveryMode::kInit);
  deassert.level_triggered = true;
  deassert.assert_level = false;
  apic.accept(deassert);
  EXPECT_FALSE(apic.take_init());
  InterruptMessage edge = of_mode(DeliveryMode::kInit);
  edge.level_triggered = false;
  edge.assert_level = false;
  apic.accept(edge);
  EXPECT_TRUE(apic.take_init());
}

TEST_F(LapicTest, SipiLatchedOnlyWhileWaiting) {
  apic.accept(of_mode(DeliveryMode::kStartup, 0x9A));
  EXPECT_EQ(apic.take_sipi(), std::nullopt);
  EXPECT_FALSE(apic.has_work());

  apic.set_waiting_for_sipi(true);
  apic.accept(of_mode(DeliveryMode::kStartup, 0x9A));
  apic.accept(of_mode(DeliveryMode::kStartup, 0x9B));  // first one wins
  EXPECT_TRUE(apic.has_work());
  EXPECT_EQ(apic.take_sipi(), 0x9A);
  EXPECT_EQ(apic.take_sipi(), std::nullopt);
  // Taking the SIPI ended the wait: the second SIPI of INIT-SIPI-SIPI is ignored.
  apic.accept(of_mode(DeliveryMode::kStartup, 0x9C));
  EXPECT_EQ(apic.take_sipi(), std::nullopt);

  apic.set_waiting_for_sipi(true);
  apic.set_waiting_for_sipi(false);
  apic.accept(of_mode(DeliveryMode::kStartup, 0x9D));
  EXPECT_EQ(apic.take_sipi(), std::nullopt);
}

TEST_F(LapicTest, TakeInitEntersWaitForSipi) {
  apic.accept(of_mode(DeliveryMode::kInit));
  ASSERT_TRUE(apic.take_init());
  apic.accept(of_mode(DeliveryMode::kStartup, 0x10));
  EXPECT_EQ(apic.take_sipi(), 0x10);
}

// --- IA32_APIC_BASE -------------------------------------------------------------

TEST_F(LapicTest, ApicBaseTransitions) {
  const uint64_t bsp = Lapic::kApicBaseBsp;
  EXPECT_FALSE(apic.set_apic_base(0xFEE00000 | Lapic::kApicBaseX2apic));  // EXTD without EN
  EXPECT_TRUE(apic.set_apic_base(kX2apicBase));                           // xAPIC -> x2APIC
  EXPECT_EQ(apic.apic_base(), kX2apicBase | bsp);  // BSP flag kept
  EXPECT_TRUE(apic.set_apic_base(kX2apicBase));    // no change
  EXPECT_FALSE(apic.set_apic_base(kXapicBase));    // x2APIC -> xAPIC
  EXPECT_EQ(apic.apic_base(), kX2apicBase | bsp);
  EXPECT_TRUE(apic.set_apic_base(0xFEE00000));     // x2APIC -> disabled
  EXPECT_FALSE(apic.set_apic_base(kX2apicBase));   // disabled -> x2APIC
  EXPECT_EQ(apic.apic_base(), 0xFEE00000u | bsp);
  EXPECT_TRUE(apic.set_apic_base(kXapicBase));     // disabled -> xAPIC
  EXPECT_EQ(apic.apic_base(), kXapicBase | bsp);
  // Reserved bits.
  EXPECT_FALSE(apic.set_apic_base(kXapicBase | 0x1));
  EXPECT_FALSE(apic.set_apic_base(kXapicBase | (1u << 9)));
  EXPECT_FALSE(apic.set_apic_base(kXapicBase | (uint64_t{1} << 52)));
  // Moving the page is accepted and stored; the BSP flag is not the guest's.
  EXPECT_TRUE(apic.set_apic_base(0xFED00000 | Lapic::kApicBaseEnable));
  EXPECT_EQ(apic.apic_base(), 0xFED00000u | Lapic::kApicBaseEnable | bsp);

  Lapic ap(2, false, bus, clock);
  EXPECT_TRUE(ap.set_apic_base(kXapicBase | bsp));
  EXPECT_EQ(ap.apic_base(), kXapicBase);
}

TEST_F(LapicTest, HardwareDisableResetsExceptId) {
  enable();
  wr(apic, kId, 0x09000000);
  wr(apic, kTpr, 0x30);
  wr(apic, kLdr, 0x02000000);
  apic.accept(fixed(0x50));
  ASSERT_TRUE(apic.set_apic_base(0xFEE00000));
  ASSERT_TRUE(apic.set_apic_base(kXapicBase));
  EXPECT_EQ(rd(apic, kId), 0x09000000u);
  EXPECT_EQ(rd(apic, kTpr), 0u);
  EXPECT_EQ(rd(apic, kLdr), 0u);
  EXPECT_EQ(rd(apic, kSvr), 0xFFu);
  EXPECT_EQ(apic.pending_vector(), std::nullopt);
}

// --- x2APIC MSRs ----------------------------------------------------------------

TEST_F(LapicTest, X2apicMsrsNeedX2apicMode) {
  uint64_t v = 0;
  EXPECT_FALSE(apic.msr_read(kMsr + 0x02, v));
  EXPECT_FALSE(apic.msr_write(kMsr + 0x08, 0x10));
  EXPECT_EQ(rd(apic, kTpr), 0u);
  to_x2apic();
  EXPECT_TRUE(apic.msr_read(kMsr + 0x02, v));
  EXPECT_FALSE(apic.msr_read(0x7FF, v));  // not an x2APIC MSR at all
  // The MMIO page is gone in x2APIC mode.
  EXPECT_EQ(rd(apic, kVer), 0u);
  wr(apic, kTpr, 0x20);
  ASSERT_TRUE(apic.msr_read(kMsr + 0x08, v));
  EXPECT_EQ(v, 0u);
}

TEST_F(LapicTest, X2apicIdAndDerivedLdr) {
  Lapic big(0x125, false, bus, clock);
  wr(big, kId, 0x05000000);  // xAPIC ID write (8 bits)
  ASSERT_TRUE(big.set_apic_base(kX2apicBase));
  uint64_t v = 0;
  ASSERT_TRUE(big.msr_read(kMsr + 0x02, v));
  EXPECT_EQ(v, 0x125u);  // the x2APIC ID is the initial APIC ID
  ASSERT_TRUE(big.msr_read(kMsr + 0x0D, v));
  EXPECT_EQ(v, (0x12u << 16) | (1u << 5));
  EXPECT_FALSE(big.msr_write(kMsr + 0x02, 7));  // read-only
  EXPECT_FALSE(big.msr_write(kMsr + 0x0D, 0));  // read-only
  ApicAddressing a = big.addressing();
  EXPECT_TRUE(a.x2apic);
  EXPECT_EQ(a.apic_id, 0x125u);
  EXPECT_EQ(a.ldr, 0x00120020u);
  EXPECT_TRUE(destination_matches(a, dest(0x00120020, true, true)));
  EXPECT_TRUE(destination_matches(a, dest(0x125, false, true)));
}

TEST_F(LapicTest, X2apicGpCases) {
  to_x2apic();
  uint64_t v = 0;
  EXPECT_FALSE(apic.msr_read(kMsr + 0x0E, v));   // DFR
  EXPECT_FALSE(apic.msr_write(kMsr + 0x0E, 0));
  EXPECT_FALSE(apic.msr_read(kMsr + 0x31, v));   // ICR high
  EXPECT_FALSE(apic.msr_write(kMsr + 0x31, 0));
  EXPECT_FALSE(apic.msr_read(kMsr + 0x09, v));   // APR
  EXPECT_FALSE(apic.msr_read(kMsr + 0x0C, v));   // RRD
  EXPECT_FALSE(apic.msr_read(kMsr + 0x0B, v));   // EOI is write-only
  EXPECT_FALSE(apic.msr_read(kMsr + 0x3F, v));   // SELF IPI is write-only
  EXPECT_FALSE(apic.msr_read(kMsr + 0x2F, v));   // no CMCI
  EXPECT_FALSE(apic.msr_read(kMsr + 0x04, v));   // undefined
  EXPECT_FALSE(apic.msr_write(kMsr + 0x03, 0));  // version is read-only
  EXPECT_FALSE(apic.msr_write(kMsr + 0x0A, 0));  // PPR
  EXPECT_FALSE(apic.msr_write(kMsr + 0x20, 0));  // IRR
  EXPECT_FALSE(apic.msr_write(kMsr + 0x39, 0));  // current count
  EXPECT_FALSE(apic.msr_write(kMsr + 0x0B, 1));  // EOI with non-zero value
  EXPECT_TRUE(apic.msr_write(kMsr + 0x0B, 0));
  EXPECT_FALSE(apic.msr_write(kMsr + 0x28, 1));  // ESR with non-zero value
  EXPECT_TRUE(apic.msr_write(kMsr + 0x28, 0));
  EXPECT_FALSE(apic.msr_write(kMsr + 0x08, uint64_t{1} << 32));  // reserved 63:32
  EXPECT_FALSE(apic.msr_write(kMsr + 0x3F, 0x140));  // SELF IPI reserved bits
  EXPECT_EQ(apic.counters().illegal_register, 18u);

  EXPECT_TRUE(apic.msr_write(kMsr + 0x08, 0x1F5));  // TPR: bits 7:0
  ASSERT_TRUE(apic.msr_read(kMsr + 0x08, v));
  EXPECT_EQ(v, 0xF5u);
  ASSERT_TRUE(apic.msr_read(kMsr + 0x03, v));
  EXPECT_EQ(v, Lapic::kVersion);
}

TEST_F(LapicTest, X2apicSelfIpiAndEoi) {
  to_x2apic();
  ASSERT_TRUE(apic.msr_write(kMsr + 0x0F, 0x1FF));  // SVR enable
  ASSERT_TRUE(apic.msr_write(kMsr + 0x3F, 0x55));
  EXPECT_TRUE(bus.sent.empty());  // handled locally
  EXPECT_EQ(apic.pending_vector(), 0x55);
  uint64_t v = 0;
  ASSERT_TRUE(apic.msr_read(kMsr + 0x22, v));  // IRR bits 95:64
  EXPECT_EQ(v, 1u << (0x55 - 64));
  ASSERT_EQ(apic.acknowledge(), 0x55);
  ASSERT_TRUE(apic.msr_read(kMsr + 0x12, v));  // ISR bits 95:64
  EXPECT_EQ(v, 1u << (0x55 - 64));
  ASSERT_TRUE(apic.msr_write(kMsr + 0x0B, 0));
  ASSERT_TRUE(apic.msr_read(kMsr + 0x12, v));
  EXPECT_EQ(v, 0u);
  // An illegal self-IPI vector is a receive error.
  ASSERT_TRUE(apic.msr_write(kMsr + 0x3F, 0x05));
  ASSERT_TRUE(apic.msr_write(kMsr + 0x28, 0));
  ASSERT_TRUE(apic.msr_read(kMsr + 0x28, v));
  EXPECT_EQ(v, 1u << 6);
}

TEST_F(LapicTest, X2apicTimerRegisters) {
  to_x2apic();
  ASSERT_TRUE(apic.msr_write(kMsr + 0x0F, 0x1FF));
  ASSERT_TRUE(apic.msr_write(kMsr + 0x3E, 0xB));
  ASSERT_TRUE(apic.msr_write(kMsr + 0x32, 0x46));
  ASSERT_TRUE(apic.msr_write(kMsr + 0x38, 500));
  clock.set(100);
  uint64_t v = 0;
  ASSERT_TRUE(apic.msr_read(kMsr + 0x39, v));
  EXPECT_EQ(v, 400u);
  clock.set(500);
  EXPECT_EQ(apic.poll_timer(), std::nullopt);
  EXPECT_EQ(apic.pending_vector(), 0x46);
}

// --- addressing observer --------------------------------------------------------

TEST_F(LapicTest, ObserverCalledOnAddressingChanges) {
  std::vector<ApicAddressing> seen;
  apic.set_addressing_observer([&](const ApicAddressing& a) {
    seen.push_back(a);
    EXPECT_EQ(apic.addressing(), a);  // runs with the LAPIC unlocked
  });
  wr(apic, kLdr, 0x02000000);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen.back().ldr, 0x02000000u);
  wr(apic, kLdr, 0x02000000);  // unchanged: no call
  wr(apic, kTpr, 0x10);        // not addressing
  EXPECT_EQ(seen.size(), 1u);
  wr(apic, kDfr, 0x0FFFFFFF);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen.back().dfr, 0x0FFFFFFFu);
  enable();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_TRUE(seen.back().software_enabled);
  wr(apic, kId, 0x04000000);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen.back().apic_id, 4u);
  to_x2apic();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_TRUE(seen.back().x2apic);
  EXPECT_EQ(seen.back().apic_id, 1u);
  EXPECT_EQ(seen.back().ldr, 0x2u);
  ASSERT_TRUE(apic.set_apic_base(0xFEE00000));
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_FALSE(seen.back().enabled);
  ASSERT_TRUE(apic.set_apic_base(kXapicBase));
  enable();
  wr(apic, kLdr, 0x08000000);
  const size_t before = seen.size();
  apic.accept(of_mode(DeliveryMode::kInit));
  ASSERT_TRUE(apic.take_init());  // reset clears LDR and SVR
  ASSERT_EQ(seen.size(), before + 1);
  EXPECT_EQ(seen.back().ldr, 0u);
  EXPECT_FALSE(seen.back().software_enabled);
}

}  // namespace
}  // namespace dvmm
