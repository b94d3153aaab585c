// dvmm_crc32 against the bit-serial reference: random beats with every
// keep pattern (contiguous or not), chained over random packets, and the
// residue property the FCS checker relies on.
#include <memory>

#include "Vdvmm_crc32.h"
#include "harness.hpp"
#include "ref.hpp"

using namespace dvmm::fpga::tb;

namespace {

// The register (not complemented) after feeding the bytes, per the
// reference: crc32() returns its complement.
uint32_t reg_after(const Bytes& b) {
  return ~crc32(b);
}

}  // namespace

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  Checker chk;
  Rng rng(seed_from_env(1));
  auto ctx = std::make_unique<VerilatedContext>();
  auto m = std::make_unique<Vdvmm_crc32>(ctx.get());

  // One beat, any lane pattern: the lanes taken part, in lane order.
  for (int i = 0; i < 20000; ++i) {
    const uint32_t init = static_cast<uint32_t>(rng.uniform(0, 0xFFFF'FFFF));
    const uint64_t data = rng.uniform(0, ~uint64_t{0});
    const uint8_t keep = rng.byte();
    m->crc_in = init;
    m->data = data;
    m->keep = keep;
    m->eval();
    // Reference: start from `init` by running the serial CRC on the bytes
    // with the register preset.
    uint32_t crc = init;
    for (int lane = 0; lane < 8; ++lane) {
      if (((keep >> lane) & 1) == 0) continue;
      const auto byte = static_cast<uint8_t>(data >> (8 * lane));
      for (int b = 0; b < 8; ++b) {
        const uint32_t fb = (crc ^ (byte >> b)) & 1u;
        crc >>= 1;
        if (fb != 0) crc ^= 0xEDB8'8320u;
      }
    }
    chk.check(m->crc_out == crc, "single beat mismatch");
  }

  // Whole packets, chained beat by beat from the initial value, against
  // crc32(); and a packet followed by its FCS leaves the residue.
  for (int i = 0; i < 2000; ++i) {
    Bytes pkt(rng.uniform(1, 200));
    for (auto& b : pkt) b = rng.byte();
    const Bytes full = with_fcs(pkt);
    uint32_t reg = 0xFFFF'FFFFu;
    uint32_t reg_data = 0;
    size_t fed = 0;
    for (const AxisBeat& beat : to_beats(full)) {
      m->crc_in = reg;
      m->data = beat.data;
      m->keep = beat.keep;
      m->eval();
      reg = m->crc_out;
      fed += 8;
      if (fed == pkt.size()) reg_data = reg;
    }
    chk.check(reg == 0xDEBB'20E3u, "residue after data + FCS is not 0xDEBB20E3");
    if (pkt.size() % 8 == 0) chk.check(reg_data == reg_after(pkt), "chained CRC mismatch");
  }
  m->final();
  return chk.finish("tb_crc32");
}
