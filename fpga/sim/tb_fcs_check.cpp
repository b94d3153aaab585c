// dvmm_fcs_check: random frames with their FCS, a third of them with one
// bit flipped (in the data or the FCS), in with valid gaps and out under
// back-pressure. Each output frame must be the input without its last four
// bytes, with tuser set exactly on the corrupted ones; frames of four bytes
// or fewer (nothing but FCS) come out empty and flagged.
#include <algorithm>

#include "Vdvmm_fcs_check.h"
#include "axis.hpp"
#include "ref.hpp"

using namespace dvmm::fpga::tb;

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  Checker chk;
  Rng rng(seed_from_env(3));
  Sim<Vdvmm_fcs_check> sim("fcs_check");
  auto& t = sim.top();
  AxisSource src(t.s_tdata, t.s_tkeep, t.s_tlast, t.s_tvalid, t.s_tready, rng, 25);
  AxisSink sink(t.m_tdata, t.m_tkeep, t.m_tlast, t.m_tvalid, t.m_tready, &t.m_tuser, rng, 25, chk,
                "fcs_check out");
  sim.add(src);
  sim.add(sink);
  reset(sim);

  struct Expect {
    Bytes data;
    bool bad;
  };
  std::deque<Expect> expected;
  constexpr int kFrames = 3000;
  for (int i = 0; i < kFrames; ++i) {
    Bytes f(i < 32 ? static_cast<size_t>(i % 16) : rng.uniform(1, 300));
    for (auto& b : f) b = rng.byte();
    Bytes wire = with_fcs(f);
    bool bad = false;
    if (i < 8) {
      // Runts: the FCS alone, or part of it.
      wire.resize(static_cast<size_t>(i % 4 + 1));
      bad = true;
    } else if (rng.chance(33)) {
      const size_t at = rng.uniform(0, wire.size() - 1);
      wire[at] = static_cast<uint8_t>(wire[at] ^ (1u << rng.uniform(0, 7)));
      bad = true;
    }
    if (wire.size() <= 4) bad = true;  // nothing before the FCS
    // What comes out: the bytes before the FCS, as they were sent.
    const Bytes data(wire.begin(),
                     wire.end() - static_cast<long>(std::min<size_t>(wire.size(), 4)));
    expected.push_back(Expect{data, bad});
    src.send(wire);
  }
  const bool done = sim.run_until([&] { return sink.packets().size() == kFrames; }, 2'000'000);
  chk.check(done, "timeout: not every frame came out");
  size_t n = 0;
  for (const Packet& p : sink.packets()) {
    if (n >= expected.size()) break;
    chk.check(p.bytes == expected[n].data, "frame " + std::to_string(n) + " data differs: got " +
                                               hex(p.bytes) + " want " + hex(expected[n].data));
    chk.check(p.user == expected[n].bad, "frame " + std::to_string(n) + " tuser " +
                                             std::to_string(p.user) + ", want " +
                                             std::to_string(expected[n].bad));
    ++n;
  }
  return chk.finish("tb_fcs_check");
}
