#include "tools/dvmm-bench/restart_audit.hpp"

#include <algorithm>
#include <limits>

namespace dvmm::bench {

ToRestartingAudit audit_to_restarting(const RestartLog& log, uint64_t sent, uint32_t window) {
  ToRestartingAudit a;
  constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  // Per id: the last incarnation that delivered it (kNone: none did).
  std::vector<uint32_t> by(sent, kNone);
  uint64_t high = 0;  // one past the highest id delivered so far
  uint32_t current = kNone;
  uint64_t previous = 0;  // the current incarnation's last id
  bool first = true;      // nothing delivered by the current incarnation yet
  uint64_t redelivered_here = 0;
  const uint64_t n = log.size();
  for (uint64_t i = 0; i < n; ++i) {
    // One writer at a time: an incarnation's entries are consecutive.
    const uint32_t inc = log.incarnation_at(i);
    const uint64_t id = log.id_at(i);
    if (inc != current) {
      current = inc;
      first = true;
      redelivered_here = 0;
    }
    ++a.delivered;
    if (id >= sent || by[id] == inc) {
      ++a.doubled;
      continue;
    }
    const bool in_order = first ? id <= high : id == previous + 1;
    if (!in_order) ++a.misordered;
    if (by[id] != kNone) {
      ++a.redelivered;
      if (++redelivered_here > window) ++a.doubled;
    }
    by[id] = inc;
    previous = id;
    first = false;
    high = std::max(high, id + 1);
  }
  a.lost = static_cast<uint64_t>(std::count(by.begin(), by.end(), kNone));
  return a;
}

uint64_t DeliveryProgress::update(const RestartLog& log) {
  const uint64_t n = log.size();
  for (; read_ < n; ++read_) high_ = std::max(high_, log.id_at(read_) + 1);
  return high_;
}

void FromRestartingTally::on(const RestartLog& log, uint32_t incarnation, uint64_t number) {
  ++delivered_;
  // The incarnation comes off the wire: bounded before it sizes anything.
  if (incarnation >= log.incarnations()) {
    ++doubled_;
    return;
  }
  if (incarnation >= next_.size()) next_.resize(incarnation + 1, 0);
  if (incarnation >= count_.size()) count_.resize(incarnation + 1, 0);
  // R counts a message as sent before it calls send(), so the count is
  // already there when S delivers it.
  if (number >= log.sent(incarnation) || number < next_[incarnation]) {
    ++doubled_;
    return;
  }
  if (incarnation < newest_ || number != next_[incarnation]) ++misordered_;
  newest_ = std::max(newest_, incarnation);
  next_[incarnation] = number + 1;
  ++count_[incarnation];
}

FromRestartingTally::Counts FromRestartingTally::finish(const RestartLog& log,
                                                        uint32_t incarnations) const {
  Counts c;
  c.delivered = delivered_;
  c.doubled = doubled_;
  c.misordered = misordered_;
  for (uint32_t i = 0; i < incarnations && i < log.incarnations(); ++i) {
    const uint64_t sent = log.sent(i);
    const uint64_t got = i < count_.size() ? count_[i] : 0;
    const uint64_t acked = log.acknowledged(i);
    c.sent += sent;
    c.died += sent - std::min(sent, got);
    c.lost += acked > got ? acked - got : 0;
  }
  return c;
}

}  // namespace dvmm::bench
