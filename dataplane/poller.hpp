// The adaptive polling loop a node's dataplane thread runs.
//
// A blocking wake-up costs ~25 µs here (idle vCPUs halt into the outer
// hypervisor), a busy-poll iteration well under one: so the loop spins
// while there is traffic and for spin_ns after the last work, then sleeps
// in poll(2) on the transport's rx_wait_fd() and an internal eventfd (for
// stop() and wake()), with a timeout up to the caller's next deadline
// (e.g. a retransmission timer). Several nodes can then share a 2-core
// machine; busy_poll (a dedicated core, production) never sleeps.
//
// Threading: run() on the dataplane thread; stop(), wake() and counters()
// from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>

#include "dataplane/transport.hpp"
#include "host/common/result.hpp"

namespace dvmm::dataplane {

class AdaptivePoller {
 public:
  struct Config {
    uint64_t spin_ns = 50'000;  // busy-poll this long after the last work
    bool busy_poll = false;     // dedicated core: never sleep
  };

  struct Counters {
    uint64_t iterations = 0;  // calls of work()
    uint64_t sleeps = 0;      // times the loop blocked in poll(2)
    uint64_t wakeups = 0;     // sleeps ended by a readable fd (frames, wake(), stop())
    uint64_t timeouts = 0;    // sleeps ended by the next deadline
  };

  AdaptivePoller(Transport& transport, Config config);
  ~AdaptivePoller();
  AdaptivePoller(const AdaptivePoller&) = delete;
  AdaptivePoller& operator=(const AdaptivePoller&) = delete;

  // Runs until stop(). work() does one round of polling and dispatch and
  // returns how many items it handled (0 = idle). next_deadline() returns
  // the next absolute time (MonotonicClock ns) at which work() must run
  // even without traffic, or nullopt; when it has passed, the loop keeps
  // spinning (work() is expected to handle the expired timer).
  // Errors: the eventfd could not be created, or poll(2) failed.
  Status run(const std::function<size_t()>& work,
             const std::function<std::optional<uint64_t>()>& next_deadline);

  // Makes run() return promptly (also when called before run()). The
  // poller can run again after a stop only if reset() was called.
  void stop();
  void reset() { stop_.store(false, std::memory_order_relaxed); }
  // Makes run() call work() soon: for a thread that queued something the
  // dataplane must send. Costs a system call only when the poller sleeps.
  void wake();

  Counters counters() const;

 private:
  void signal();

  Transport& transport_;
  const Config config_;
  int event_fd_ = -1;
  int event_fd_errno_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> wake_pending_{false};
  std::atomic<uint64_t> iterations_{0}, sleeps_{0}, wakeups_{0}, timeouts_{0};
};

}  // namespace dvmm::dataplane
