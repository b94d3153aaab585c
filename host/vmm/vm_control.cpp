#include "host/vmm/vm_control.hpp"

namespace dvmm {

void VmControl::request_stop(StopReason reason) {
  std::vector<std::function<void()>> wakers;
  {
    std::lock_guard lock(mu_);
    if (stop_.load(std::memory_order_relaxed)) return;
    reason_ = std::move(reason);
    stop_.store(true, std::memory_order_release);
    wakers = wakers_;
  }
  cv_.notify_all();
  for (auto& w : wakers) w();
}

StopReason VmControl::wait() const {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return stop_.load(std::memory_order_relaxed); });
  return reason_;
}

void VmControl::add_waker(std::function<void()> waker) {
  std::lock_guard lock(mu_);
  wakers_.push_back(std::move(waker));
}

}  // namespace dvmm
