#include "dataplane/poller.hpp"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "dataplane/shm_transport.hpp"
#include "host/common/clock.hpp"

namespace dvmm::dataplane {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A transport with nothing behind it: an eventfd the test can make
// readable, and counts of the sleep protocol calls.
class StubTransport final : public Transport {
 public:
  StubTransport() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~StubTransport() override { close(fd_); }
  const char* name() const override { return "stub"; }
  NodeId local_node() const override { return 0; }
  size_t max_frame_size() const override { return kMaxFrameSize; }
  size_t tx_burst(std::span<const TxFrame> f) override { return f.size(); }
  void tx_flush() override {}
  size_t rx_burst(std::span<RxFrame>) override { return 0; }
  int rx_wait_fd() const override { return fd_; }
  bool prepare_to_sleep() override {
    ++prepares;
    return allow_sleep.load();
  }
  void after_wakeup() override {
    ++after;
    uint64_t v = 0;
    (void)!read(fd_, &v, sizeof(v));
  }
  Counters counters() const override { return {}; }
  void make_readable() {
    const uint64_t one = 1;
    (void)!write(fd_, &one, sizeof(one));
  }

  std::atomic<bool> allow_sleep{true};
  std::atomic<int> prepares{0};
  std::atomic<int> after{0};

 private:
  int fd_;
};

// Waits (bounded, sleeping) until pred() holds.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 3s) {
  const auto end = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Runs the poller on its own thread; stops and joins it on every path.
class PollerThread {
 public:
  PollerThread(AdaptivePoller& p, std::function<size_t()> work,
               std::function<std::optional<uint64_t>()> deadline = {})
      : poller_(p), thread_([this, w = std::move(work), d = std::move(deadline)] {
          status_ok_ = poller_.run(w, d).ok();
          done_ = true;
        }) {}
  ~PollerThread() { stop(); }
  void stop() {
    poller_.stop();
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return done_; }
  bool ok() const { return status_ok_; }

 private:
  AdaptivePoller& poller_;
  std::atomic<bool> done_{false};
  std::atomic<bool> status_ok_{false};
  std::thread thread_;
};

TEST(AdaptivePoller, SleepsWhenIdle) {
  StubTransport t;
  AdaptivePoller p(t, {.spin_ns = 20'000, .busy_poll = false});
  std::atomic<uint64_t> calls{0};
  PollerThread th(p, [&] {
    ++calls;
    return size_t{0};
  });
  ASSERT_TRUE(eventually([&] { return p.counters().sleeps >= 1; }));
  // Asleep with no deadline: work() is not being called any more.
  const uint64_t before = calls.load();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(calls.load(), before);
  EXPECT_EQ(p.counters().sleeps, 1u);
  th.stop();
  EXPECT_TRUE(th.ok());
  EXPECT_EQ(t.after.load(), t.prepares.load());  // every armed sleep disarmed
}

TEST(AdaptivePoller, WakesWhenTheTransportFdBecomesReadable) {
  StubTransport t;
  AdaptivePoller p(t, {.spin_ns = 10'000, .busy_poll = false});
  std::atomic<uint64_t> calls{0};
  PollerThread th(p, [&] {
    ++calls;
    return size_t{0};
  });
  ASSERT_TRUE(eventually([&] { return p.counters().sleeps >= 1; }));
  const uint64_t before = calls.load();
  t.make_readable();
  ASSERT_TRUE(eventually([&] { return calls.load() > before; }, 2s));
  EXPECT_GE(p.counters().wakeups, 1u);
  // And it goes back to sleep after spinning.
  EXPECT_TRUE(eventually([&] { return p.counters().sleeps >= 2; }));
}

TEST(AdaptivePoller, WakesOnShmFrameArrival) {
  const std::string path = "/dev/shm/dvmm-poller-test-" + std::to_string(getpid());
  (void)ShmTransport::unlink(path);
  struct Cleanup {
    std::string p;
    ~Cleanup() { (void)ShmTransport::unlink(p); }
  } cleanup{path};
  ShmTransportConfig c{path, 0, 2, ShmTransport::kMinRingBytes, 1};
  auto rx = make_shm_transport(c);
  ASSERT_TRUE(rx.ok()) << rx.error().message;
  c.local = 1;
  auto tx = make_shm_transport(c);
  ASSERT_TRUE(tx.ok()) << tx.error().message;

  AdaptivePoller p(**rx, {});
  std::atomic<int> frames{0};
  auto buf = std::make_unique<RxFrame[]>(4);
  PollerThread th(p, [&] {
    const size_t n = (*rx)->rx_burst(std::span<RxFrame>(buf.get(), 4));
    frames += static_cast<int>(n);
    return n;
  });
  ASSERT_TRUE(eventually([&] { return p.counters().sleeps >= 1; }));
  const uint8_t b[3] = {1, 2, 3};
  const TxFrame f{0, b};
  ASSERT_EQ((*tx)->tx_burst(std::span<const TxFrame>(&f, 1)), 1u);
  (*tx)->tx_flush();
  ASSERT_TRUE(eventually([&] { return frames.load() == 1; }, 2s));
  EXPECT_GE(p.counters().wakeups, 1u);
  EXPECT_EQ(dynamic_cast<ShmTransport&>(**tx).doorbells_sent(), 1u);
}

TEST(AdaptivePoller, WakeRunsWorkAgain) {
  StubTransport t;
  AdaptivePoller p(t, {.spin_ns = 10'000, .busy_poll = false});
  std::atomic<uint64_t> calls{0};
  PollerThread th(p, [&] {
    ++calls;
    return size_t{0};
  });
  ASSERT_TRUE(eventually([&] { return p.counters().sleeps >= 1; }));
  const uint64_t before = calls.load();
  p.wake();
  ASSERT_TRUE(eventually([&] { return calls.load() > before; }, 2s));
  EXPECT_GE(p.counters().wakeups, 1u);
}

TEST(AdaptivePoller, StopEndsRunPromptly) {
  StubTransport t;
  AdaptivePoller p(t, {});
  PollerThread th(p, [] { return size_t{0}; });
  ASSERT_TRUE(eventually([&] { return p.counters().sleeps >= 1; }));
  const auto t0 = Clock::now();
  th.stop();
  EXPECT_LT(Clock::now() - t0, 500ms);
  EXPECT_TRUE(th.done());
  EXPECT_TRUE(th.ok());
}

TEST(AdaptivePoller, StopBeforeRunReturnsAtOnce) {
  StubTransport t;
  AdaptivePoller p(t, {});
  p.stop();
  EXPECT_TRUE(p.run([] { return size_t{0}; }, {}).ok());
  EXPECT_EQ(p.counters().iterations, 0u);
}

TEST(AdaptivePoller, SleepEndsAtTheNextDeadline) {
  StubTransport t;
  AdaptivePoller p(t, {.spin_ns = 10'000, .busy_poll = false});
  const MonotonicClock clock;
  // Armed before run(): a timer armed later by another thread would need
  // wake() to shorten a sleep already in progress.
  std::atomic<uint64_t> deadline{clock.now_ns() + 5'000'000};
  std::atomic<int> timer_fired{0};
  PollerThread th(
      p,
      [&] {
        // The work function handles the expired timer and arms the next.
        if (deadline.load() != 0 && clock.now_ns() >= deadline.load()) {
          ++timer_fired;
          deadline = clock.now_ns() + 5'000'000;  // 5 ms
          return size_t{1};
        }
        return size_t{0};
      },
      [&]() -> std::optional<uint64_t> {
        const uint64_t d = deadline.load();
        return d == 0 ? std::nullopt : std::optional<uint64_t>(d);
      });
  ASSERT_TRUE(eventually([&] { return timer_fired.load() >= 3; }, 3s));
  EXPECT_GE(p.counters().timeouts, 2u);
}

TEST(AdaptivePoller, TransportVetoingTheSleepKeepsPolling) {
  StubTransport t;
  t.allow_sleep = false;
  AdaptivePoller p(t, {.spin_ns = 0, .busy_poll = false});
  PollerThread th(p, [] {
    // Without the veto this would sleep at once; yield the core meanwhile.
    std::this_thread::sleep_for(100us);
    return size_t{0};
  });
  ASSERT_TRUE(eventually([&] { return t.prepares.load() >= 5; }));
  EXPECT_EQ(p.counters().sleeps, 0u);
  EXPECT_EQ(t.after.load(), 0);
}

TEST(AdaptivePoller, BusyPollNeverSleeps) {
  StubTransport t;
  AdaptivePoller p(t, {.spin_ns = 0, .busy_poll = true});
  PollerThread th(p, [] { return size_t{0}; });
  // Long enough that an adaptive poller would have slept many times.
  std::this_thread::sleep_for(30ms);
  th.stop();
  EXPECT_TRUE(th.ok());
  EXPECT_GT(p.counters().iterations, 100u);
  EXPECT_EQ(p.counters().sleeps, 0u);
  EXPECT_EQ(t.prepares.load(), 0);
}

}  // namespace
}  // namespace dvmm::dataplane
