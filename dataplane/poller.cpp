#include "dataplane/poller.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "host/common/clock.hpp"

namespace dvmm::dataplane {
namespace {

// Tells the core (and an SMT sibling) that this is a spin-wait: saves
// power and avoids the memory-order mis-speculation flush on loop exit.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

void bump(std::atomic<uint64_t>& c) {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

AdaptivePoller::AdaptivePoller(Transport& transport, Config config)
    : transport_(transport), config_(config) {
  // No exceptions: a failure here (fd limit) is reported by run().
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) event_fd_errno_ = errno;
}

AdaptivePoller::~AdaptivePoller() {
  if (event_fd_ >= 0) close(event_fd_);
}

void AdaptivePoller::signal() {
  if (event_fd_ < 0) return;
  const uint64_t one = 1;
  // EAGAIN only if the counter is near 2^64: it is readable then anyway.
  (void)!write(event_fd_, &one, sizeof(one));
}

void AdaptivePoller::stop() {
  stop_.store(true, std::memory_order_seq_cst);
  signal();
}

void AdaptivePoller::wake() {
  // Pairs with run(): it sets sleeping_ and then takes wake_pending_, we
  // set wake_pending_ and then read sleeping_ (all seq_cst), so either it
  // sees our request and skips the sleep, or we see it asleep and signal.
  wake_pending_.store(true, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst)) signal();
}

AdaptivePoller::Counters AdaptivePoller::counters() const {
  Counters c;
  c.iterations = iterations_.load(std::memory_order_relaxed);
  c.sleeps = sleeps_.load(std::memory_order_relaxed);
  c.wakeups = wakeups_.load(std::memory_order_relaxed);
  c.timeouts = timeouts_.load(std::memory_order_relaxed);
  return c;
}

Status AdaptivePoller::run(const std::function<size_t()>& work,
                           const std::function<std::optional<uint64_t>()>& next_deadline) {
  if (event_fd_ < 0) return Error::from_errno("adaptive poller: eventfd", event_fd_errno_);
  const MonotonicClock clock;
  // 0 = not idle (or idle for less than one iteration): the clock is read
  // only on idle iterations, never while work keeps coming.
  uint64_t idle_since = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    // A wake() from before this work() call is served by it.
    if (wake_pending_.load(std::memory_order_relaxed)) {
      wake_pending_.store(false, std::memory_order_relaxed);
    }
    const size_t n = work();
    bump(iterations_);
    if (n != 0) {
      idle_since = 0;
      continue;
    }
    if (config_.busy_poll) {
      cpu_relax();
      continue;
    }
    const uint64_t now = clock.now_ns();
    if (idle_since == 0) idle_since = now;
    if (now - idle_since < config_.spin_ns) {
      cpu_relax();
      continue;
    }

    // Idle for spin_ns: sleep until a frame, wake()/stop() or the deadline.
    timespec ts{};
    timespec* timeout = nullptr;
    if (const std::optional<uint64_t> deadline = next_deadline ? next_deadline() : std::nullopt) {
      if (*deadline <= now) {
        cpu_relax();  // a timer is due: work() must run, not sleep
        continue;
      }
      const uint64_t wait = *deadline - now;
      ts.tv_sec = static_cast<time_t>(wait / 1'000'000'000u);
      ts.tv_nsec = static_cast<long>(wait % 1'000'000'000u);
      timeout = &ts;
    }
    sleeping_.store(true, std::memory_order_seq_cst);
    if (wake_pending_.exchange(false, std::memory_order_seq_cst) ||
        stop_.load(std::memory_order_seq_cst) || !transport_.prepare_to_sleep()) {
      // Work arrived while deciding (prepare_to_sleep() == false means the
      // transport is disarmed already).
      sleeping_.store(false, std::memory_order_relaxed);
      idle_since = 0;
      continue;
    }
    bump(sleeps_);
    // A transport without an fd (-1) is ignored by poll: then only the
    // deadline, wake() and stop() end the sleep.
    pollfd fds[2] = {{transport_.rx_wait_fd(), POLLIN, 0}, {event_fd_, POLLIN, 0}};
    const int r = ppoll(fds, 2, timeout, nullptr);
    const int err = errno;
    sleeping_.store(false, std::memory_order_relaxed);
    transport_.after_wakeup();
    if (r < 0 && err != EINTR) return Error::from_errno("adaptive poller: ppoll", err);
    if (r > 0) bump(wakeups_);
    if (r == 0) bump(timeouts_);
    if ((fds[1].revents & POLLIN) != 0) {
      uint64_t v = 0;
      (void)!read(event_fd_, &v, sizeof(v));
    }
    // Traffic tends to come in bursts: spin again before the next sleep.
    idle_since = 0;
  }
  return {};
}

}  // namespace dvmm::dataplane
