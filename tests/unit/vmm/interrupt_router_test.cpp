#include "host/vmm/interrupt_router.hpp"

#include <gtest/gtest.h>

#include <map>

namespace dvmm {
namespace {

// Four vCPUs with APIC IDs 0..3, flat logical IDs 1 << i; records what each
// one is handed.
class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 4; ++i) {
      ApicAddressing a;
      a.apic_id = static_cast<uint32_t>(i);
      a.ldr = (1u << i) << 24;
      a.dfr = 0xFFFFFFFF;
      a.software_enabled = true;
      router.add_cpu(i, a,
                     InterruptRouter::Target{
                         [this, i](const InterruptMessage& m) { received[i].push_back(m.vector); },
                         [this, i] { return tpr[i]; }});
    }
  }
  int count(int cpu) const {
    auto it = received.find(cpu);
    return it == received.end() ? 0 : static_cast<int>(it->second.size());
  }

  InterruptRouter router;
  std::map<int, std::vector<uint8_t>> received;
  int tpr[4] = {0, 0, 0, 0};
};

TEST_F(RouterTest, PhysicalDestinationReachesOneCpu) {
  InterruptMessage m;
  m.vector = 0x40;
  m.destination = 2;
  router.deliver(m);
  EXPECT_EQ(count(0) + count(1) + count(3), 0);
  ASSERT_EQ(count(2), 1);
  EXPECT_EQ(received[2][0], 0x40);
}

TEST_F(RouterTest, ShorthandsUseTheSender) {
  auto port = router.port_for_cpu(1);
  InterruptMessage m;
  m.vector = 0x41;
  m.shorthand = DestShorthand::kSelf;
  port->deliver(m);
  EXPECT_EQ(count(1), 1);
  EXPECT_EQ(count(0) + count(2) + count(3), 0);

  m.shorthand = DestShorthand::kAllExcludingSelf;
  port->deliver(m);
  EXPECT_EQ(count(0), 1);
  EXPECT_EQ(count(1), 1);
  EXPECT_EQ(count(2), 1);
  EXPECT_EQ(count(3), 1);

  m.shorthand = DestShorthand::kAllIncludingSelf;
  port->deliver(m);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(count(i), 2) << i;
}

TEST_F(RouterTest, LogicalFlatMulticast) {
  InterruptMessage m;
  m.vector = 0x42;
  m.logical = true;
  m.destination = 0b1010;  // CPUs 1 and 3
  router.deliver(m);
  EXPECT_EQ(count(0), 0);
  EXPECT_EQ(count(1), 1);
  EXPECT_EQ(count(2), 0);
  EXPECT_EQ(count(3), 1);
}

TEST_F(RouterTest, LowestPriorityPicksExactlyOneWithLowestTpr) {
  tpr[0] = 0x20;
  tpr[1] = 0x10;
  tpr[2] = 0x30;
  tpr[3] = 0x10;
  InterruptMessage m;
  m.vector = 0x43;
  m.mode = DeliveryMode::kLowestPriority;
  m.logical = true;
  m.destination = 0x0F;
  for (int k = 0; k < 10; ++k) router.deliver(m);
  EXPECT_EQ(count(0), 0);
  EXPECT_EQ(count(2), 0);
  EXPECT_EQ(count(1) + count(3), 10);
  // Equal priorities share the load.
  EXPECT_GT(count(1), 0);
  EXPECT_GT(count(3), 0);
}

TEST_F(RouterTest, AddressingUpdatesChangeMatching) {
  ApicAddressing a;
  a.apic_id = 7;
  a.software_enabled = true;
  router.update_addressing(3, a);
  InterruptMessage m;
  m.vector = 0x44;
  m.destination = 7;
  router.deliver(m);
  EXPECT_EQ(count(3), 1);
  m.destination = 3;
  router.deliver(m);
  EXPECT_EQ(count(3), 1);
  EXPECT_EQ(router.counters().no_target, 1u);
}

TEST_F(RouterTest, CountsIpisAndDeviceInterruptsByWhereTheTargetRuns) {
  InterruptRouter r;
  for (int i = 0; i < 2; ++i) {
    ApicAddressing a;
    a.apic_id = static_cast<uint32_t>(i);
    a.software_enabled = true;
    r.add_cpu(i, a, InterruptRouter::Target{[](const InterruptMessage&) {}, [] { return 0; }, i == 1});
  }
  InterruptMessage ipi;
  ipi.source_cpu = 0;
  ipi.destination = 1;
  r.deliver(ipi);  // to the remote vCPU
  ipi.shorthand = DestShorthand::kSelf;
  r.deliver(ipi);  // to itself
  InterruptMessage device;  // source_cpu -1: the IOAPIC
  device.destination = 0xFF;
  r.deliver(device);  // broadcast: both
  const auto c = r.counters();
  EXPECT_EQ(c.ipis_remote, 1u);
  EXPECT_EQ(c.ipis_local, 1u);
  EXPECT_EQ(c.device_local, 1u);
  EXPECT_EQ(c.device_remote, 1u);
  EXPECT_EQ(c.delivered, 4u);
  EXPECT_EQ(c.no_target, 0u);
}

TEST_F(RouterTest, EoiGoesToHandler) {
  int seen = -1;
  router.set_eoi_handler([&](uint8_t v) { seen = v; });
  router.broadcast_eoi(0x55);
  EXPECT_EQ(seen, 0x55);
}

}  // namespace
}  // namespace dvmm
