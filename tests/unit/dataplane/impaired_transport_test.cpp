// ImpairedTransport over a perfect fake network: each fault does what it
// says to whole frames, and the reliability layer on top still delivers
// every message exactly once, in order.
#include "dataplane/impaired_transport.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/fake_transport.hpp"
#include "dataplane/reliable_link.hpp"

namespace dvmm::dataplane {
namespace {

struct Pair {
  ManualClock clock;
  FakeNetwork net{clock, FakeNetwork::Config{}};
  Transport& a = net.endpoint(0);
  Transport& b = net.endpoint(1);

  void send_numbers(uint32_t from, uint32_t count) {
    for (uint32_t k = from; k < from + count; ++k) {
      uint8_t bytes[4];
      std::memcpy(bytes, &k, 4);
      const TxFrame f{1, bytes};
      ASSERT_EQ(a.tx_burst(std::span<const TxFrame>(&f, 1)), 1u);
      a.tx_flush();
    }
  }
};

std::vector<uint32_t> receive_all(Transport& t, int polls) {
  std::vector<uint32_t> got;
  auto rx = std::make_unique<RxFrame[]>(8);
  for (int i = 0; i < polls; ++i) {
    const size_t n = t.rx_burst(std::span<RxFrame>(rx.get(), 8));
    for (size_t j = 0; j < n; ++j) {
      uint32_t k = 0;
      std::memcpy(&k, rx[j].data, 4);
      got.push_back(k);
    }
  }
  return got;
}

TEST(ImpairedTransport, DropsDuplicatesAndReordersWholeFrames) {
  {
    Pair p;
    ImpairedTransport t(p.b, Impairments{.drop = 1.0});
    p.send_numbers(0, 5);
    EXPECT_TRUE(receive_all(t, 4).empty());
    EXPECT_EQ(t.stats().dropped, 5u);
  }
  {
    Pair p;
    ImpairedTransport t(p.b, Impairments{.duplicate = 1.0});
    p.send_numbers(0, 3);
    EXPECT_EQ(receive_all(t, 4), (std::vector<uint32_t>{0, 0, 1, 1, 2, 2}));
  }
  {
    // Every frame that finds nothing held is held: 0 waits behind 1, then 2
    // behind 3; with nothing after it, 4 comes out after kMaxHoldPolls.
    Pair p;
    ImpairedTransport t(p.b, Impairments{.reorder = 1.0});
    p.send_numbers(0, 5);
    EXPECT_EQ(receive_all(t, 1), (std::vector<uint32_t>{1, 0, 3, 2}));
    EXPECT_FALSE(t.prepare_to_sleep()) << "a held frame must keep the poller awake";
    EXPECT_EQ(receive_all(t, ImpairedTransport::kMaxHoldPolls + 1), (std::vector<uint32_t>{4}));
    EXPECT_EQ(t.stats().reordered, 3u);
  }
}

TEST(ImpairedTransport, ReliableLinkStaysExactlyOnceAndInOrder) {
  ManualClock clock;
  FakeNetwork net(clock, FakeNetwork::Config{});
  ImpairedTransport a(net.endpoint(0), Impairments{0.1, 0.1, 0.1, 3});
  ImpairedTransport b(net.endpoint(1), Impairments{0.1, 0.1, 0.1, 4});
  ReliableLink la(a, clock, ReliableLink::Config{.cluster_id = 1, .local = 0, .peers = {1}});
  ReliableLink lb(b, clock, ReliableLink::Config{.cluster_id = 1, .local = 1, .peers = {0}});
  constexpr uint64_t kCount = 5000;
  uint64_t next = 0;
  for (uint64_t k = 0; k < kCount; ++k) {
    Message m;
    m.header.dst_node = 1;
    m.payload = HeartbeatPayload{k};
    ASSERT_TRUE(la.send(std::move(m)).ok());
  }
  for (int step = 0; step < 200'000 && !(next == kCount && la.all_acknowledged()); ++step) {
    la.poll([](const Message&) {});
    lb.poll([&](const Message& m) {
      const auto* hb = std::get_if<HeartbeatPayload>(&m.payload);
      ASSERT_NE(hb, nullptr);
      ASSERT_EQ(hb->sent_ns, next) << "lost, duplicated or reordered";
      ++next;
    });
    clock.advance(20'000);
  }
  EXPECT_EQ(next, kCount);
  EXPECT_TRUE(la.all_acknowledged());
  EXPECT_GT(b.stats().dropped, 0u);
  EXPECT_GT(b.stats().duplicated, 0u);
  EXPECT_GT(b.stats().reordered, 0u);
  EXPECT_GT(lb.counters().duplicates, 0u);
  EXPECT_GT(lb.counters().out_of_order, 0u);
}

}  // namespace
}  // namespace dvmm::dataplane
