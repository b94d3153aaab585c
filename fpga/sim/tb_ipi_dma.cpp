// dvmm_ipi_dma: random (vCPU, vector) requests with random valid, the DMA
// port under random back-pressure. Every request becomes one byte write,
// in order, at bitmap_base + 256 * vcpu + vector, and the FIFO accepts
// exactly DEPTH requests when the port is blocked.
#include <deque>
#include <utility>

#include "Vdvmm_ipi_dma.h"
#include "harness.hpp"

using namespace dvmm::fpga::tb;

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  Checker chk;
  Rng rng(seed_from_env(12));
  Sim<Vdvmm_ipi_dma> sim("ipi_dma");
  auto& t = sim.top();
  constexpr uint64_t kBase = 0x0000'7F00'1234'0000ull;
  t.bitmap_base = kBase;
  t.req_valid = 0;
  t.m_dma_ready = 0;
  reset(sim);

  // Blocked port: exactly DEPTH (4) requests fit.
  int accepted = 0;
  for (int i = 0; i < 10; ++i) {
    t.req_valid = 1;
    t.req_vcpu = 0;
    t.req_vector = 0;
    t.eval();
    accepted += t.req_ready;
    sim.step();
  }
  chk.check(accepted == 4, "FIFO depth with a blocked port: " + std::to_string(accepted));
  t.req_valid = 0;
  t.m_dma_ready = 1;
  sim.steps(10);
  chk.check(!t.m_dma_valid, "FIFO not drained");

  std::deque<std::pair<uint32_t, uint32_t>> sent;
  size_t got = 0;
  for (int cycle = 0; cycle < 200'000; ++cycle) {
    const bool offer = rng.chance(50);
    const auto vcpu = static_cast<uint32_t>(rng.uniform(0, 0xFFFF'FFFF));
    const auto vector = static_cast<uint32_t>(rng.uniform(0, 255));
    t.req_valid = offer;
    t.req_vcpu = vcpu;
    t.req_vector = static_cast<uint8_t>(vector);
    t.m_dma_ready = rng.chance(40) ? 1 : 0;
    t.eval();
    if (t.m_dma_valid && t.m_dma_ready) {
      if (sent.empty()) {
        chk.check(false, "write without a request");
      } else {
        const auto [v, vec] = sent.front();
        sent.pop_front();
        chk.check(t.m_dma_addr == kBase + 256ull * v + vec,
                  "write " + std::to_string(got) + " address");
        ++got;
      }
    }
    if (offer && t.req_ready) sent.emplace_back(vcpu, vector);
    sim.step();
  }
  chk.check(got > 50'000, "too few writes");
  return chk.finish("tb_ipi_dma");
}
