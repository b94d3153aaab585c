// dvmm_sdp_ram (registered read, the block-RAM form the ring and the
// receive queue use): random writes and reads against a C++ array; a read
// returns the word as it was before a write to the same address in the
// same cycle (read-first), which the callers' protocols rely on.
#include <array>

#include "Vdvmm_sdp_ram.h"
#include "harness.hpp"

using namespace dvmm::fpga::tb;

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  Checker chk;
  Rng rng(seed_from_env(13));
  Sim<Vdvmm_sdp_ram> sim("sdp_ram");
  auto& t = sim.top();
  constexpr uint32_t kDepth = 256;
  std::array<uint64_t, kDepth> mem{};
  for (uint32_t a = 0; a < kDepth; ++a) {
    t.wr_en = 1;
    t.wr_addr = static_cast<uint8_t>(a);
    t.wr_data = 0;
    sim.step();
  }
  uint64_t expect = 0;
  bool have = false;
  for (int i = 0; i < 200'000; ++i) {
    const auto wa = static_cast<uint32_t>(rng.uniform(0, kDepth - 1));
    const auto ra = rng.chance(20) ? wa : static_cast<uint32_t>(rng.uniform(0, kDepth - 1));
    const uint64_t wd = rng.uniform(0, ~0ull);
    t.wr_en = rng.chance(50);
    t.wr_addr = static_cast<uint8_t>(wa);
    t.wr_data = wd;
    t.rd_addr = static_cast<uint8_t>(ra);
    t.eval();
    if (have) chk.check(t.rd_data == expect, "read data at step " + std::to_string(i));
    expect = mem[ra];  // before this cycle's write
    have = true;
    if (t.wr_en) mem[wa] = wd;
    sim.step();
  }
  return chk.finish("tb_sdp_ram");
}
