// dvmm_fcs_insert: random frames of 1..300 bytes in with random valid
// gaps, out under random back-pressure; every output frame must be the
// input frame followed by its FCS from the reference CRC, byte for byte.
#include "Vdvmm_fcs_insert.h"
#include "axis.hpp"
#include "ref.hpp"

using namespace dvmm::fpga::tb;

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  Checker chk;
  Rng rng(seed_from_env(2));
  Sim<Vdvmm_fcs_insert> sim("fcs_insert");
  auto& t = sim.top();
  AxisSource src(t.s_tdata, t.s_tkeep, t.s_tlast, t.s_tvalid, t.s_tready, rng, 30);
  AxisSink sink(t.m_tdata, t.m_tkeep, t.m_tlast, t.m_tvalid, t.m_tready, nullptr, rng, 30, chk,
                "fcs_insert out");
  sim.add(src);
  sim.add(sink);
  reset(sim);

  std::deque<Bytes> expected;
  constexpr int kFrames = 3000;
  for (int i = 0; i < kFrames; ++i) {
    // Every residue of the length mod 8 matters: short lengths are common.
    Bytes f(i < 64 ? static_cast<size_t>(i % 16 + 1) : rng.uniform(1, 300));
    for (auto& b : f) b = rng.byte();
    expected.push_back(with_fcs(f));
    src.send(f);
  }
  // Phases: no back-pressure, heavy back-pressure, none again.
  const bool done = sim.run_until(
      [&] {
        const size_t got = sink.packets().size();
        sink.set_stall(got < 1000 ? 0 : got < 2000 ? 60 : 10);
        src.set_gap(got < 1000 ? 0 : 30);
        return got == kFrames;
      },
      2'000'000);
  chk.check(done, "timeout: not every frame came out");
  size_t n = 0;
  for (const Packet& p : sink.packets()) {
    if (n >= expected.size()) break;
    chk.check(p.bytes == expected[n], "frame " + std::to_string(n) + " differs: got " +
                                          hex(p.bytes) + " want " + hex(expected[n]));
    ++n;
  }
  return chk.finish("tb_fcs_insert");
}
