// dvmm_link_state against a cycle-level C++ model of the documented
// go-back-N rules (the file header of rtl/dvmm_link_state.sv): random
// allocations, framer takes, cumulative acks (plausible, stale and
// bogus), in-order and rejected receptions, with short timeouts so that
// retransmissions and delayed ACKs happen all the time. Every output is
// compared every cycle. Sequence numbers start at 0xFFFFFFF0, so every
// link wraps (skipping 0) early on.
#include <array>

#include "Vdvmm_link_state.h"
#include "harness.hpp"

using namespace dvmm::fpga::tb;

namespace {

constexpr int kNodes = 4;
constexpr uint32_t kWindow = 8;
constexpr uint32_t kFirst = 0xFFFF'FFF0u;

uint32_t inc(uint32_t s) {
  return s == 0xFFFF'FFFFu ? 1 : s + 1;
}
uint32_t dec(uint32_t s) {
  return s == 1 ? 0xFFFF'FFFFu : s - 1;
}
uint32_t dist(uint32_t a, uint32_t b) {
  return b >= a ? b - a : b - a - 1;
}

struct Link {
  uint32_t next = kFirst, unacked = kFirst, send = kFirst;
  uint32_t next_slot = 0, unacked_slot = 0, send_slot = 0;
  uint32_t rto = 0;
  uint32_t rx_next = kFirst;
  bool ack_pend = false, ack_now = false;
  uint32_t ack_cnt = 0;
};

struct Model {
  std::array<Link, kNodes> l{};
  int rr = 0;

  struct Sched {
    bool valid = false;
    int node = 0;
    bool ack_only = true;
    uint32_t seq = 0, slot = 0, ack = 0;
  };
  Sched sched(uint32_t ack_delay) const {
    Sched s;
    for (int i = 0; i < kNodes; ++i) {
      const int n = (rr + i) % kNodes;
      const Link& k = l[static_cast<size_t>(n)];
      const bool data = k.send != k.next;
      const bool due = k.ack_pend && (k.ack_now || k.ack_cnt >= ack_delay);
      if (data || due) {
        s.valid = true;
        s.node = n;
        break;
      }
    }
    const Link& k = l[static_cast<size_t>(s.node)];
    s.ack_only = k.send == k.next;
    s.seq = s.ack_only ? 0 : k.send;
    s.slot = k.send_slot;
    s.ack = k.rx_next == kFirst ? 0 : dec(k.rx_next);
    return s;
  }
  bool idle() const {
    for (const Link& k : l) {
      if (k.unacked != k.next || k.ack_pend) return false;
    }
    return true;
  }

  struct In {
    int alloc_node = 0;
    bool commit = false;
    bool take = false;
    bool ack_valid = false;
    int ack_node = 0;
    uint32_t ack_value = 0;
    int rx_node = 0;
    bool accept = false, reject = false;
    uint32_t rto_limit = 0, ack_delay = 0;
  };
  // Advances one cycle; returns whether a link timed out (went back N).
  bool step(const In& in) {
    const Sched s = sched(in.ack_delay);
    bool timeout = false;
    if (in.take) rr = (s.node + 1) % kNodes;
    for (int n = 0; n < kNodes; ++n) {
      Link& k = l[static_cast<size_t>(n)];
      const Link old = k;
      bool touched = false;
      if (in.commit && in.alloc_node == n) {
        k.next = inc(old.next);
        k.next_slot = (old.next_slot + 1) % kWindow;
      }
      if (in.take && s.node == n) {
        touched = true;
        if (!s.ack_only) {
          k.send = inc(old.send);
          k.send_slot = (old.send_slot + 1) % kWindow;
          if (old.send == old.unacked) k.rto = 0;
        }
        k.ack_pend = false;
        k.ack_now = false;
        k.ack_cnt = 0;
      }
      if (in.ack_valid && in.ack_node == n && in.ack_value != 0 && old.unacked != old.next) {
        const uint32_t d = dist(old.unacked, in.ack_value);
        if (d < dist(old.unacked, old.next)) {
          touched = true;
          k.unacked = inc(in.ack_value);
          k.unacked_slot = (old.unacked_slot + d + 1) % kWindow;
          k.rto = 0;
          if (dist(old.unacked, k.send) <= d) {
            k.send = k.unacked;
            k.send_slot = k.unacked_slot;
          }
        }
      }
      if (in.accept && in.rx_node == n) {
        k.rx_next = inc(old.rx_next);
        if (!k.ack_pend) {
          k.ack_pend = true;
          k.ack_cnt = 0;
        }
      }
      if (in.reject && in.rx_node == n) {
        k.ack_pend = true;
        k.ack_now = true;
      }
      if (old.unacked == old.next) {
        k.rto = 0;
      } else if (!touched) {
        if (old.rto >= in.rto_limit) {
          k.send = old.unacked;
          k.send_slot = old.unacked_slot;
          k.rto = 0;
          if (old.send != old.unacked) timeout = true;
        } else {
          k.rto = old.rto + 1;
        }
      }
      if (old.ack_pend && !touched && old.ack_cnt < in.ack_delay) k.ack_cnt = old.ack_cnt + 1;
    }
    return timeout;
  }
};

class Driver : public Component {
 public:
  Driver(Vdvmm_link_state& t, Rng& rng, Checker& chk) : t_(t), rng_(rng), chk_(chk) {}
  void drive() override {
    if (rng_.chance(1)) in_.rto_limit = static_cast<uint32_t>(rng_.uniform(10, 80));
    if (rng_.chance(1)) in_.ack_delay = static_cast<uint32_t>(rng_.uniform(0, 30));
    in_.alloc_node = static_cast<int>(rng_.uniform(0, kNodes - 1));
    in_.ack_valid = rng_.chance(12);
    in_.ack_node = static_cast<int>(rng_.uniform(0, kNodes - 1));
    const Link& k = m_.l[static_cast<size_t>(in_.ack_node)];
    const auto r = rng_.uniform(0, 9);
    if (r < 6) {
      // Something in [unacked - 1, next - 1]: fresh or stale.
      uint32_t v = dec(k.unacked);
      for (uint64_t i = rng_.uniform(0, dist(k.unacked, k.next)); i > 0; --i) v = inc(v);
      in_.ack_value = v;
    } else if (r < 8) {
      in_.ack_value = static_cast<uint32_t>(rng_.uniform(0, 0xFFFF'FFFF));  // bogus
    } else {
      in_.ack_value = r == 8 ? 0 : inc(k.next);  // none, or never sent
    }
    in_.rx_node = static_cast<int>(rng_.uniform(0, kNodes - 1));
    const auto rx = rng_.uniform(0, 99);
    in_.accept = rx < 10;
    in_.reject = rx >= 10 && rx < 14;
    t_.retx_timeout = in_.rto_limit;
    t_.ack_delay = in_.ack_delay;
    t_.alloc_node = static_cast<uint8_t>(in_.alloc_node);
    t_.ack_valid = in_.ack_valid;
    t_.ack_node = static_cast<uint8_t>(in_.ack_node);
    t_.ack_value = in_.ack_value;
    t_.rx_node = static_cast<uint8_t>(in_.rx_node);
    t_.rx_accept = in_.accept;
    t_.rx_reject = in_.reject;
    commit_roll_ = rng_.chance(35);
    take_roll_ = rng_.chance(60);
  }
  void settle() override {
    in_.commit = t_.alloc_space && commit_roll_;
    in_.take = t_.sched_valid && take_roll_;
    t_.alloc_commit = in_.commit;
    t_.sched_take = in_.take;
  }
  void sample() override {
    const Link& a = m_.l[static_cast<size_t>(in_.alloc_node)];
    chk_.check(t_.alloc_space == (dist(a.unacked, a.next) < kWindow), "alloc_space");
    chk_.check(t_.alloc_seq == a.next && t_.alloc_slot == a.next_slot, "alloc_seq/slot");
    chk_.check(t_.rx_expected == m_.l[static_cast<size_t>(in_.rx_node)].rx_next, "rx_expected");
    const Model::Sched s = m_.sched(in_.ack_delay);
    chk_.check(t_.sched_valid == s.valid, "sched_valid");
    if (s.valid) {
      chk_.check(t_.sched_node == s.node && t_.sched_ack_only == s.ack_only &&
                     t_.sched_seq == s.seq && t_.sched_ack == s.ack &&
                     (s.ack_only || t_.sched_slot == s.slot),
                 "schedule differs at cycle " + std::to_string(cycle_));
    }
    chk_.check(t_.idle == m_.idle(), "idle");
    const bool timeout = m_.step(in_);
    chk_.check(t_.ev_timeout == timeout, "ev_timeout at cycle " + std::to_string(cycle_));
    timeouts += timeout;
    takes += in_.take && !s.ack_only;
    acks += in_.take && s.ack_only;
    ++cycle_;
  }
  void start() {
    in_.rto_limit = 40;
    in_.ack_delay = 8;
  }
  uint64_t timeouts = 0, takes = 0, acks = 0;

 private:
  Vdvmm_link_state& t_;
  Rng& rng_;
  Checker& chk_;
  Model m_;
  Model::In in_;
  bool commit_roll_ = false, take_roll_ = false;
  uint64_t cycle_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  Checker chk;
  Rng rng(seed_from_env(8));
  Sim<Vdvmm_link_state> sim("link_state");
  auto& t = sim.top();
  t.rst = 1;
  t.retx_timeout = 40;
  t.ack_delay = 8;
  sim.steps(4);
  t.rst = 0;
  Driver d(t, rng, chk);
  d.start();
  sim.add(d);
  sim.steps(300'000);
  chk.check(d.timeouts > 100 && d.takes > 1000 && d.acks > 1000, "scenario too tame");
  std::printf("%llu data frames taken, %llu ACK frames, %llu timeouts\n",
              static_cast<unsigned long long>(d.takes), static_cast<unsigned long long>(d.acks),
              static_cast<unsigned long long>(d.timeouts));
  return chk.finish("tb_link_state");
}
