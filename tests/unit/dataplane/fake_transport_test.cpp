// The fake network itself: it must deliver what it is told to, impair
// traffic as configured (the protocol tests rely on it really dropping,
// duplicating and reordering), replay from a seed, and wake a sleeping
// poller through its eventfd.
#include "dataplane/fake_transport.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/dataplane/test_seed.hpp"

namespace dvmm::dataplane {
namespace {

constexpr NodeId kA = 1;
constexpr NodeId kB = 2;
constexpr NodeId kC = 3;

// The seed of the randomized tests; DVMM_TEST_SEED overrides it to replay
// or explore. Printed so a failure can be reproduced.
using test::test_seed;

// A frame that carries a 32-bit counter in its first bytes.
std::array<uint8_t, 16> counter_frame(uint32_t counter) {
  std::array<uint8_t, 16> f{};
  std::memcpy(f.data(), &counter, sizeof(counter));
  return f;
}

uint32_t counter_in(const RxFrame& f) {
  uint32_t c = 0;
  std::memcpy(&c, f.data, sizeof(c));
  return c;
}

// Sends counters [first, first + n) from `from` to `to`, flushing as the tx
// queue fills.
void send_counters(Transport& from, NodeId to, uint32_t first, uint32_t n) {
  for (uint32_t i = first; i < first + n; ++i) {
    const auto bytes = counter_frame(i);
    const TxFrame f{to, bytes};
    if (from.tx_burst({&f, 1}) == 0) {
      from.tx_flush();
      ASSERT_EQ(from.tx_burst({&f, 1}), 1u);
    }
  }
  from.tx_flush();
}

// Everything receivable at `to` now, as counters in arrival order.
std::vector<uint32_t> receive_all(Transport& to) {
  static std::array<RxFrame, 32> rx;  // 288 KiB: not on the stack
  std::vector<uint32_t> got;
  for (size_t n; (n = to.rx_burst(rx)) > 0;) {
    for (size_t i = 0; i < n; ++i) got.push_back(counter_in(rx[i]));
  }
  return got;
}

// Streams counters 0..n-1 from a to b, receiving as it goes (the receive
// queue is bounded).
std::vector<uint32_t> send_and_receive(Transport& a, Transport& b, uint32_t n) {
  std::vector<uint32_t> got;
  for (uint32_t i = 0; i < n; i += 500) {
    send_counters(a, b.local_node(), i, std::min(500u, n - i));
    for (uint32_t c : receive_all(b)) got.push_back(c);
  }
  return got;
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

TEST(FakeTransport, DeliversFramesOnFlushWithSourceAndBytes) {
  ManualClock clock;
  FakeNetwork net(clock, {});
  Transport& a = net.endpoint(kA);
  Transport& b = net.endpoint(kB);
  EXPECT_EQ(&net.endpoint(kA), &a);  // one endpoint per node
  EXPECT_STREQ(a.name(), "fake");
  EXPECT_EQ(b.local_node(), kB);

  const std::vector<uint8_t> one{1, 2, 3}, two(kMaxFrameSize, 0xAB);
  const std::array<TxFrame, 2> frames{TxFrame{kB, one}, TxFrame{kB, two}};
  ASSERT_EQ(a.tx_burst(frames), 2u);
  auto rx = std::make_unique<std::array<RxFrame, 4>>();
  EXPECT_EQ(b.rx_burst(*rx), 0u) << "nothing is on the wire before tx_flush";
  a.tx_flush();
  ASSERT_EQ(b.rx_burst(*rx), 2u);
  EXPECT_EQ((*rx)[0].src, kA);
  EXPECT_EQ((*rx)[0].len, 3u);
  EXPECT_EQ(std::memcmp((*rx)[0].data, one.data(), one.size()), 0);
  EXPECT_EQ((*rx)[1].len, kMaxFrameSize);
  EXPECT_EQ(std::memcmp((*rx)[1].data, two.data(), two.size()), 0);
  EXPECT_EQ(b.rx_burst(*rx), 0u);

  const Transport::Counters ca = a.counters(), cb = b.counters();
  EXPECT_EQ(ca.tx_frames, 2u);
  EXPECT_EQ(ca.tx_bytes, 3u + kMaxFrameSize);
  EXPECT_EQ(cb.rx_frames, 2u);
  EXPECT_EQ(cb.rx_bytes, 3u + kMaxFrameSize);
  EXPECT_EQ(ca.tx_dropped + cb.rx_dropped, 0u);
  EXPECT_EQ(net.stats().delivered, 2u);
}

TEST(FakeTransport, TakesAndCountsFramesToUnknownNodesOrOversize) {
  ManualClock clock;
  FakeNetwork net(clock, {.max_frame_size = 100});
  Transport& a = net.endpoint(kA);
  Transport& b = net.endpoint(kB);
  EXPECT_EQ(a.max_frame_size(), 100u);
  const std::vector<uint8_t> big(101, 1), ok(100, 2);
  const std::array<TxFrame, 3> frames{TxFrame{9, ok}, TxFrame{kB, big}, TxFrame{kB, ok}};
  EXPECT_EQ(a.tx_burst(frames), 3u) << "dropped frames are still taken";
  a.tx_flush();
  EXPECT_EQ(a.counters().tx_dropped, 2u);
  EXPECT_EQ(a.counters().tx_frames, 1u);
  EXPECT_EQ(receive_all(b).size(), 1u);
}

TEST(FakeTransport, TxQueueTakesAtMostItsCapacityUntilFlushed) {
  ManualClock clock;
  FakeNetwork net(clock, {.tx_queue_frames = 4});
  Transport& a = net.endpoint(kA);
  Transport& b = net.endpoint(kB);
  std::vector<std::array<uint8_t, 16>> bytes;
  for (uint32_t i = 0; i < 6; ++i) bytes.push_back(counter_frame(i));
  std::vector<TxFrame> frames;
  for (const auto& by : bytes) frames.push_back(TxFrame{kB, by});
  ASSERT_EQ(a.tx_burst(frames), 4u);
  EXPECT_EQ(a.tx_burst(std::span(frames).subspan(4)), 0u) << "queue full until flushed";
  a.tx_flush();
  ASSERT_EQ(a.tx_burst(std::span(frames).subspan(4)), 2u);
  a.tx_flush();
  EXPECT_EQ(receive_all(b), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5}));
}

TEST(FakeTransport, DropsRoughlyTheConfiguredFraction) {
  ManualClock clock;
  FakeNetwork net(clock, {.seed = test_seed(11), .impairments = {.drop = 0.10}});
  SCOPED_TRACE("seed " + std::to_string(net.seed()));
  Transport& a = net.endpoint(kA);
  Transport& b = net.endpoint(kB);
  constexpr uint32_t kN = 20000;
  const std::vector<uint32_t> got = send_and_receive(a, b, kN);
  const FakeNetwork::Stats s = net.stats();
  EXPECT_EQ(s.sent, kN);
  EXPECT_NEAR(static_cast<double>(s.dropped) / kN, 0.10, 0.01);
  EXPECT_EQ(got.size(), kN - s.dropped);
  // Drops alone neither reorder nor duplicate.
  for (size_t i = 1; i < got.size(); ++i) ASSERT_LT(got[i - 1], got[i]);
}

TEST(FakeTransport, DuplicatesRoughlyTheConfiguredFraction) {
  ManualClock clock;
  FakeNetwork net(clock, {.seed = test_seed(12), .impairments = {.duplicate = 0.10}});
  SCOPED_TRACE("seed " + std::to_string(net.seed()));
  Transport& a = net.endpoint(kA);
  Transport& b = net.endpoint(kB);
  constexpr uint32_t kN = 20000;
  const std::vector<uint32_t> got = send_and_receive(a, b, kN);
  const FakeNetwork::Stats s = net.stats();
  EXPECT_NEAR(static_cast<double>(s.duplicated) / kN, 0.10, 0.01);
  EXPECT_EQ(got.size(), kN + s.duplicated);
  EXPECT_EQ(std::set<uint32_t>(got.begin(), got.end()).size(), kN) << "every frame arrived";
}

TEST(FakeTransport, ReordersWithinTheConfiguredDepthAndLosesNothing) {
  ManualClock clock;
  FakeNetwork net(clock,
                  {.seed = test_seed(13), .impairments = {.reorder = 0.2, .reorder_depth = 4}});
  SCOPED_TRACE("seed " + std::to_string(net.seed()));
  Transport& a = net.endpoint(kA);
  Transport& b = net.endpoint(kB);
  constexpr uint32_t kN = 10000;
  std::vector<uint32_t> got;
  for (uint32_t i = 0; i < kN; i += 8) {
    send_counters(a, kB, i, 8);
    if (i % 64 == 0) {
      for (uint32_t c : receive_all(b)) got.push_back(c);
    }
  }
  // With time frozen, frames held at the very end wait for their hold time.
  clock.advance(FakeImpairments{}.reorder_max_hold_ns);
  for (uint32_t c : receive_all(b)) got.push_back(c);
  EXPECT_EQ(net.in_flight(), 0u);

  ASSERT_EQ(got.size(), kN);
  EXPECT_EQ(std::set<uint32_t>(got.begin(), got.end()).size(), kN);
  const uint64_t held = net.stats().reordered;
  EXPECT_NEAR(static_cast<double>(held) / kN, 0.2, 0.02);
  // A held frame arrives after the 1..4 frames that passed it (more when
  // several are held at once), never far later.
  size_t late = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const auto pos = static_cast<int64_t>(i), sent = static_cast<int64_t>(got[i]);
    if (pos > sent) ++late;
    EXPECT_LE(pos - sent, 4 * 4) << "frame " << got[i];
  }
  EXPECT_NEAR(static_cast<double>(late), static_cast<double>(held),
              0.1 * static_cast<double>(held));
}

TEST(FakeTransport, HeldFrameIsReleasedAfterItsMaximumHold) {
  ManualClock clock;
  FakeNetwork net(clock, {.impairments = {.reorder = 1.0, .reorder_max_hold_ns = 1000}});
  Transport& a = net.endpoint(kA);
  Transport& b = net.endpoint(kB);
  send_counters(a, kB, 7, 1);
  EXPECT_TRUE(receive_all(b).empty());
  EXPECT_EQ(net.next_arrival_ns(kB), 1000u);
  clock.advance(999);
  EXPECT_TRUE(receive_all(b).empty());
  clock.advance(1);
  EXPECT_EQ(receive_all(b), std::vector<uint32_t>{7});
  EXPECT_EQ(net.next_arrival_ns(kB), std::nullopt);
}

TEST(FakeTransport, DelayIsMeasuredOnTheInjectedClock) {
  ManualClock clock;
  clock.set(1'000'000);
  FakeNetwork net(clock, {.impairments = {.delay_ns = 5000}});
  Transport& a = net.endpoint(kA);
  Transport& b = net.endpoint(kB);
  send_counters(a, kB, 1, 1);
  EXPECT_EQ(net.next_arrival_ns(kB), 1'005'000u);
  clock.advance(4999);
  EXPECT_TRUE(b.prepare_to_sleep()) << "nothing receivable yet";
  EXPECT_TRUE(receive_all(b).empty());
  clock.advance(1);
  EXPECT_FALSE(b.prepare_to_sleep());
  EXPECT_EQ(receive_all(b), std::vector<uint32_t>{1});
}

// Sends a mixed, impaired stream and returns what arrived, in order.
std::vector<uint32_t> impaired_run(uint64_t seed) {
  ManualClock clock;
  FakeNetwork net(
      clock,
      {.seed = seed,
       .impairments = {
           .drop = 0.05, .duplicate = 0.05, .reorder = 0.05, .delay_ns = 100, .jitter_ns = 500}});
  Transport& a = net.endpoint(kA);
  Transport& b = net.endpoint(kB);
  std::vector<uint32_t> got;
  for (uint32_t i = 0; i < 2000; i += 4) {
    send_counters(a, kB, i, 4);
    clock.advance(100);
    for (uint32_t c : receive_all(b)) got.push_back(c);
  }
  clock.advance(10'000'000);
  for (uint32_t c : receive_all(b)) got.push_back(c);
  return got;
}

TEST(FakeTransport, SameSeedReplaysExactly) {
  const uint64_t seed = test_seed(14);
  SCOPED_TRACE("seed " + std::to_string(seed));
  const std::vector<uint32_t> first = impaired_run(seed);
  EXPECT_EQ(impaired_run(seed), first);
  EXPECT_NE(impaired_run(seed + 1), first);
}

TEST(FakeTransport, EventfdSignalsQueuedFramesUntilDrained) {
  ManualClock clock;
  FakeNetwork net(clock, {});
  Transport& a = net.endpoint(kA);
  Transport& b = net.endpoint(kB);
  const int fd = b.rx_wait_fd();
  ASSERT_GE(fd, 0);
  EXPECT_NE(fd, a.rx_wait_fd());
  EXPECT_FALSE(readable(fd));
  EXPECT_TRUE(b.prepare_to_sleep());

  const auto bytes = counter_frame(5);
  const TxFrame f{kB, bytes};
  ASSERT_EQ(a.tx_burst({&f, 1}), 1u);
  EXPECT_FALSE(readable(fd)) << "queued, not yet flushed";
  a.tx_flush();
  EXPECT_TRUE(readable(fd));
  EXPECT_FALSE(b.prepare_to_sleep()) << "a frame is waiting";
  EXPECT_FALSE(readable(a.rx_wait_fd()));

  b.after_wakeup();
  EXPECT_FALSE(readable(fd)) << "after_wakeup drains the eventfd";
  EXPECT_FALSE(b.prepare_to_sleep()) << "...but the frame is still there";
  EXPECT_EQ(receive_all(b), std::vector<uint32_t>{5});
  EXPECT_TRUE(b.prepare_to_sleep());
}

TEST(FakeTransport, InjectDeliversRawBytesAsIfFromAnyNode) {
  ManualClock clock;
  FakeNetwork net(clock, {.impairments = {.drop = 1.0}});  // injection bypasses impairments
  net.endpoint(kA);
  Transport& b = net.endpoint(kB);
  const std::vector<uint8_t> junk{0xFF, 0x00, 0x13};
  ASSERT_TRUE(net.inject(77, kB, junk).ok());
  EXPECT_FALSE(b.prepare_to_sleep());
  auto rx = std::make_unique<std::array<RxFrame, 2>>();
  ASSERT_EQ(b.rx_burst(*rx), 1u);
  EXPECT_EQ((*rx)[0].src, 77);
  EXPECT_EQ((*rx)[0].len, 3u);
  EXPECT_EQ(std::memcmp((*rx)[0].data, junk.data(), junk.size()), 0);
  EXPECT_EQ(net.stats().injected, 1u);

  const Status unknown = net.inject(kA, 42, junk);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("42"), std::string::npos);
  EXPECT_FALSE(net.inject(kA, kB, std::vector<uint8_t>(kMaxFrameSize + 1)).ok());
}

TEST(FakeTransport, LinkImpairmentsOverrideTheDefault) {
  ManualClock clock;
  FakeNetwork net(clock, {.impairments = {.drop = 1.0}});
  Transport& a = net.endpoint(kA);
  Transport& b = net.endpoint(kB);
  net.set_link_impairments(kA, kB, {});
  send_counters(a, kB, 0, 10);
  send_counters(b, kA, 0, 10);
  EXPECT_EQ(receive_all(b).size(), 10u);
  EXPECT_TRUE(receive_all(a).empty());

  net.clear_link_impairments(kA, kB);
  send_counters(a, kB, 0, 10);
  EXPECT_TRUE(receive_all(b).empty());
  net.set_impairments({});
  send_counters(a, kB, 0, 10);
  EXPECT_EQ(receive_all(b).size(), 10u);
}

TEST(FakeTransport, FullReceiveQueueDropsAndCounts) {
  ManualClock clock;
  FakeNetwork net(clock, {.rx_queue_frames = 8});
  Transport& a = net.endpoint(kA);
  Transport& b = net.endpoint(kB);
  send_counters(a, kB, 0, 10);
  EXPECT_EQ(b.counters().rx_dropped, 2u);
  EXPECT_EQ(net.stats().rx_overflow, 2u);
  EXPECT_EQ(receive_all(b), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(FakeTransport, TwoSenderThreadsAndASleepingReceiver) {
  MonotonicClock clock;
  // A receiver that falls behind (a loaded CI machine) must not lose frames.
  FakeNetwork net(clock, {.rx_queue_frames = 1 << 20});
  Transport& a = net.endpoint(kA);
  Transport& b = net.endpoint(kB);
  Transport& c = net.endpoint(kC);
  constexpr uint32_t kN = 5000;
  std::thread ta([&] { send_counters(a, kC, 0, kN); });
  std::thread tb([&] { send_counters(b, kC, 0, kN); });

  auto rx = std::make_unique<std::array<RxFrame, 32>>();
  std::array<uint32_t, 4> next{};
  bool in_order = true;
  uint32_t received = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (received < 2 * kN && std::chrono::steady_clock::now() < deadline) {
    const size_t n = c.rx_burst(*rx);
    for (size_t i = 0; i < n; ++i) {
      const RxFrame& f = (*rx)[i];
      in_order = in_order && counter_in(f) == next[f.src]++;
    }
    received += static_cast<uint32_t>(n);
    if (n == 0 && c.prepare_to_sleep()) {
      pollfd p{c.rx_wait_fd(), POLLIN, 0};
      ::poll(&p, 1, 100);
      c.after_wakeup();
    }
  }
  ta.join();
  tb.join();
  EXPECT_EQ(received, 2 * kN);
  EXPECT_TRUE(in_order) << "a clean link keeps each sender's order";
  EXPECT_EQ(next[kA], kN);
  EXPECT_EQ(next[kB], kN);
}

}  // namespace
}  // namespace dvmm::dataplane
