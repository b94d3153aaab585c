#include "host/vmm/interrupt_router.hpp"

namespace dvmm {

namespace {

class CpuPort final : public ApicBus {
 public:
  CpuPort(InterruptRouter& router, int index) : router_(router), index_(index) {}
  void deliver(const InterruptMessage& msg) override {
    InterruptMessage stamped = msg;
    stamped.source_cpu = index_;
    router_.deliver(stamped);
  }
  void broadcast_eoi(uint8_t vector) override { router_.broadcast_eoi(vector); }

 private:
  InterruptRouter& router_;
  int index_;
};

}  // namespace

void InterruptRouter::add_cpu(int index, const ApicAddressing& addressing, Target target) {
  std::lock_guard lock(mu_);
  if (static_cast<size_t>(index) >= cpus_.size()) cpus_.resize(static_cast<size_t>(index) + 1);
  cpus_[static_cast<size_t>(index)] = Cpu{addressing, std::move(target)};
}

void InterruptRouter::update_addressing(int index, const ApicAddressing& addressing) {
  std::lock_guard lock(mu_);
  if (index >= 0 && static_cast<size_t>(index) < cpus_.size()) {
    cpus_[static_cast<size_t>(index)].addressing = addressing;
  }
}

void InterruptRouter::set_eoi_handler(std::function<void(uint8_t)> handler) {
  std::lock_guard lock(mu_);
  eoi_handler_ = std::move(handler);
}

std::unique_ptr<ApicBus> InterruptRouter::port_for_cpu(int index) {
  return std::make_unique<CpuPort>(*this, index);
}

void InterruptRouter::select_targets_locked(const InterruptMessage& msg, std::vector<int>& out) {
  const int n = static_cast<int>(cpus_.size());
  switch (msg.shorthand) {
    case DestShorthand::kSelf:
      if (msg.source_cpu >= 0 && msg.source_cpu < n) out.push_back(msg.source_cpu);
      return;
    case DestShorthand::kAllIncludingSelf:
    case DestShorthand::kAllExcludingSelf:
      for (int i = 0; i < n; ++i) {
        if (msg.shorthand == DestShorthand::kAllExcludingSelf && i == msg.source_cpu) continue;
        out.push_back(i);
      }
      return;
    case DestShorthand::kNone:
      for (int i = 0; i < n; ++i) {
        if (destination_matches(cpus_[static_cast<size_t>(i)].addressing, msg)) out.push_back(i);
      }
      return;
  }
}

void InterruptRouter::deliver(const InterruptMessage& msg) {
  // Targets are fixed once the VM runs (add_cpu happens before), so
  // pointers stay valid after the lock is dropped; copying the
  // std::functions would allocate on every IPI.
  std::vector<const Target*> chosen;
  {
    std::lock_guard lock(mu_);
    std::vector<int> targets;
    select_targets_locked(msg, targets);
    if (targets.empty()) {
      ++counters_.no_target;
      return;
    }
    if (msg.mode == DeliveryMode::kLowestPriority && targets.size() > 1) {
      // Lowest TPR wins; among equals, rotate so that repeated interrupts
      // spread over the candidates as a real chipset's arbitration would.
      size_t start = lowest_priority_rotor_++ % targets.size();
      int best = -1;
      int best_tpr = 0;
      for (size_t k = 0; k < targets.size(); ++k) {
        int i = targets[(start + k) % targets.size()];
        int tpr = cpus_[static_cast<size_t>(i)].target.task_priority();
        if (best < 0 || tpr < best_tpr) {
          best = i;
          best_tpr = tpr;
        }
      }
      targets.assign(1, best);
    }
    counters_.delivered += targets.size();
    const bool ipi = msg.source_cpu >= 0;
    for (int i : targets) {
      const Target& t = cpus_[static_cast<size_t>(i)].target;
      ++(ipi ? (t.remote ? counters_.ipis_remote : counters_.ipis_local)
             : (t.remote ? counters_.device_remote : counters_.device_local));
      chosen.push_back(&t);
    }
  }
  // Deliver outside the lock: a target may be the sender itself, whose LAPIC
  // observer re-enters update_addressing.
  for (const Target* t : chosen) t->deliver(msg);
}

void InterruptRouter::broadcast_eoi(uint8_t vector) {
  std::function<void(uint8_t)> handler;
  {
    std::lock_guard lock(mu_);
    handler = eoi_handler_;
  }
  if (handler) handler(vector);
}

InterruptRouter::Counters InterruptRouter::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

}  // namespace dvmm
