// dvmm_rx_queue: packets written beat by beat, each then committed or
// rolled back (as dvmm_rx does one cycle after the last beat), read out
// under random back-pressure. The host must see exactly the committed
// packets, in order, byte for byte; `free` must track the occupancy, and
// the writer never overfills the queue.
#include <algorithm>
#include <deque>

#include "Vdvmm_rx_queue.h"
#include "axis.hpp"
#include "ref.hpp"

using namespace dvmm::fpga::tb;

namespace {

constexpr uint32_t kBeats = 64;

// Writes packets when `free` says they fit, then commits or rolls back.
class Writer : public Component {
 public:
  Writer(Vdvmm_rx_queue& t, Rng& rng, Checker& chk) : t_(t), rng_(rng), chk_(chk) {}
  void drive() override {
    t_.wr_en = 0;
    t_.commit = 0;
    t_.rollback = 0;
    if (ending_) {
      commit_now_ = keep_;
      t_.commit = keep_;
      t_.rollback = !keep_;
      return;
    }
    if (beats_.empty() && rng_.chance(30) && written_ < kPackets) {
      Bytes p(rng_.uniform(1, 120));
      for (auto& b : p) b = rng_.byte();
      if (t_.free >= (p.size() + 7) / 8) {
        cur_ = p;
        beats_ = to_beats(p);
        std::reverse(beats_.begin(), beats_.end());
        keep_ = rng_.chance(70);
      }
    }
    if (!beats_.empty() && !rng_.chance(20)) {
      const AxisBeat b = beats_.back();
      t_.wr_en = 1;
      t_.wr_data = b.data;
      t_.wr_keep = b.keep;
      t_.wr_last = b.last;
    }
  }
  void sample() override {
    if (ending_) {
      if (commit_now_) committed.push_back(cur_);
      ending_ = false;
      ++written_;
      return;
    }
    if (t_.wr_en) {
      beats_.pop_back();
      if (beats_.empty()) ending_ = true;
    }
  }
  static constexpr int kPackets = 6000;
  std::deque<Bytes> committed;
  int written_ = 0;

 private:
  Vdvmm_rx_queue& t_;
  Rng& rng_;
  Checker& chk_;
  Bytes cur_;
  BeatPacket beats_;
  bool keep_ = false, ending_ = false, commit_now_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  Checker chk;
  Rng rng(seed_from_env(11));
  Sim<Vdvmm_rx_queue> sim("rx_queue");
  auto& t = sim.top();
  Writer w(t, rng, chk);
  AxisSink host(t.m_tdata, t.m_tkeep, t.m_tlast, t.m_tvalid, t.m_tready, nullptr, rng, 50, chk,
                "rx_queue out");
  reset(sim);  // before the writer joins: it must not write during reset
  sim.add(w);
  sim.add(host);
  chk.check(t.free == kBeats, "free after reset");
  size_t n = 0;
  uint64_t full_seen = 0;
  const bool done = sim.run_until(
      [&] {
        full_seen += t.free < 16;
        // Phases of a slow and a fast host.
        host.set_stall((sim.cycle() / 5000) % 2 == 0 ? 85 : 10);
        while (!host.packets().empty() && !w.committed.empty()) {
          chk.check(host.packets().front().bytes == w.committed.front(),
                    "packet " + std::to_string(n) + " differs");
          host.packets().pop_front();
          w.committed.pop_front();
          ++n;
        }
        chk.check(host.packets().empty(), "a packet that was not committed came out");
        return w.written_ == Writer::kPackets && w.committed.empty();
      },
      3'000'000);
  sim.steps(3);
  chk.check(done, "timeout: packets missing");
  chk.check(t.free == kBeats && !t.m_tvalid, "queue not empty at the end");
  chk.check(full_seen > 100, "the queue never ran nearly full");
  std::printf("%zu packets delivered\n", n);
  return chk.finish("tb_rx_queue");
}
