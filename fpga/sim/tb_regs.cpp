// dvmm_regs: the AXI-Lite register file against a C++ model of the
// documented map (rtl/dvmm_regs.sv header): reset values, random writes
// with random WSTRB to every register and table word (and to unmapped
// addresses, which must read 0 and change nothing), reads back, the
// configuration outputs and table read ports, the counters (random event
// pulses, then clear), the host-ring indices (TXR_PROD and RXR_CONS held
// at 0 while disabled; TXR_CONS and RXR_PROD read from the front end),
// all through an AXI-Lite master with random channel delays and response
// back-pressure.
#include <map>
#include <vector>

#include "Vdvmm_regs.h"
#include "axil.hpp"
#include "engine_regs.hpp"
#include "harness.hpp"

using namespace dvmm::fpga::tb;

namespace {

constexpr uint32_t kNodes = 4;
constexpr uint32_t kApics = 16;
constexpr uint32_t kCounters = reg::kNumCounters;

// Writable words and their implemented bits.
std::map<uint32_t, uint32_t> writable() {
  std::map<uint32_t, uint32_t> m{
      {reg::kLocalNode, 0xFFFF}, {reg::kLocalMacLo, ~0u},  {reg::kLocalMacHi, 0xFFFF},
      {reg::kClusterId, ~0u},    {reg::kRetxTimeout, ~0u}, {reg::kAckDelay, ~0u},
      {reg::kBitmapLo, ~0u},     {reg::kBitmapHi, ~0u},    {reg::kBitmapVcpus, ~0u},
      {reg::kTxrBaseLo, ~0u},    {reg::kTxrBaseHi, ~0u},   {reg::kTxrSize, 0xFFFF},
      {reg::kRxrBaseLo, ~0u},    {reg::kRxrBaseHi, ~0u},   {reg::kRxrSlots, 0xFFFF},
      {reg::kRingWbLo, ~0u},     {reg::kRingWbHi, ~0u}};
  for (uint32_t n = 0; n < kNodes; ++n) {
    m[reg::node_mac_lo(n)] = ~0u;
    m[reg::node_mac_hi(n)] = 0x8000'FFFF;
  }
  for (uint32_t a = 0; a < kApics; ++a) {
    m[reg::apic_entry(a)] = 0x8000'FFFF;
    m[reg::apic_vcpu(a)] = ~0u;
    m[reg::apic_ldr(a)] = ~0u;
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  Checker chk;
  Rng rng(seed_from_env(14));
  Sim<Vdvmm_regs> sim("regs");
  auto& t = sim.top();
  AxilMaster<Vdvmm_regs> axil(t, rng, chk);
  sim.add(axil);
  t.events = 0;
  t.status = 0x5A5A'0001;
  reset(sim);

  auto settle = [&] {
    while (!axil.idle()) sim.step();
  };
  auto read = [&](uint32_t addr) {
    uint32_t v = 0xDEAD'BEEF;
    axil.read(addr, [&](uint32_t x) { v = x; });
    settle();
    return v;
  };

  // Reset values (the table contents are undefined; only valid bits clear).
  std::map<uint32_t, uint32_t> model;
  for (const auto& [a, mask] : writable()) model[a] = 0;
  model[reg::kRetxTimeout] = 1000;
  model[reg::kAckDelay] = 64;
  chk.check(read(reg::kId) == 0xD7E0'0002u, "ID");
  chk.check(read(reg::kControl) == 0, "CONTROL after reset");
  chk.check(read(reg::kParams) == (kApics << 16 | 8u << 8 | kNodes), "PARAMS");
  chk.check(read(reg::kParams2) == (256u << 16 | 128u), "PARAMS2");
  chk.check(read(reg::kStatus) == 0x5A5A'0001u, "STATUS");
  chk.check(read(reg::kRetxTimeout) == 1000 && read(reg::kAckDelay) == 64, "timer defaults");
  for (uint32_t n = 0; n < kNodes; ++n)
    chk.check((read(reg::node_mac_hi(n)) >> 31) == 0, "node valid after reset");
  for (uint32_t a = 0; a < kApics; ++a)
    chk.check((read(reg::apic_entry(a)) >> 31) == 0, "APIC valid after reset");
  // Table words first written whole, so the model knows them.
  for (const auto& [a, mask] : writable()) {
    const auto v = static_cast<uint32_t>(rng.uniform(0, 0xFFFF'FFFF)) & mask;
    axil.write(a, v);
    model[a] = v;
  }
  settle();

  const auto keys = writable();
  std::vector<uint32_t> addrs;
  for (const auto& [a, m] : keys) addrs.push_back(a);
  const std::vector<uint32_t> unmapped{
      0x044, 0x0FC, 0x200, 0x7FC, 0x800 + 8 * kNodes, 0x1000 + 16 * kApics, 0x100C, 0x2000, 0x3FFC};
  for (int round = 0; round < 3000; ++round) {
    const auto r = rng.uniform(0, 9);
    if (r < 6) {
      const uint32_t a = addrs[rng.uniform(0, addrs.size() - 1)];
      const auto v = static_cast<uint32_t>(rng.uniform(0, 0xFFFF'FFFF));
      const auto strb = static_cast<uint8_t>(rng.uniform(0, 15));
      uint32_t bytes = 0;
      for (int b = 0; b < 4; ++b) {
        if ((strb >> b) & 1) bytes |= 0xFFu << (8 * b);
      }
      axil.write(a, v, strb);
      model[a] = ((model[a] & ~bytes) | (v & bytes)) & keys.at(a);
    } else if (r < 7) {
      const uint32_t a = unmapped[rng.uniform(0, unmapped.size() - 1)];
      axil.write(a, static_cast<uint32_t>(rng.uniform(0, 0xFFFF'FFFF)));
      axil.read(a, [&chk, a](uint32_t v) {
        chk.check(v == 0, "unmapped address " + std::to_string(a) + " reads non-zero");
      });
    } else {
      const uint32_t a = addrs[rng.uniform(0, addrs.size() - 1)];
      const uint32_t want = model[a];
      axil.read(a, [&chk, a, want](uint32_t v) {
        chk.check(v == want, "read " + std::to_string(a) + ": " + std::to_string(v) + " want " +
                                 std::to_string(want));
      });
    }
    if (round % 50 == 49) {
      settle();
      // Configuration outputs and table read ports.
      chk.check(t.local_node == model[reg::kLocalNode], "local_node output");
      chk.check(t.local_mac == (uint64_t{model[reg::kLocalMacHi]} << 32 | model[reg::kLocalMacLo]),
                "local_mac output");
      chk.check(
          t.cluster_id == model[reg::kClusterId] && t.retx_timeout == model[reg::kRetxTimeout] &&
              t.ack_delay == model[reg::kAckDelay] && t.bitmap_vcpus == model[reg::kBitmapVcpus],
          "configuration outputs");
      chk.check(t.bitmap_base == (uint64_t{model[reg::kBitmapHi]} << 32 | model[reg::kBitmapLo]),
                "bitmap_base output");
      chk.check(t.txr_base == (uint64_t{model[reg::kTxrBaseHi]} << 32 | model[reg::kTxrBaseLo]) &&
                    t.rxr_base == (uint64_t{model[reg::kRxrBaseHi]} << 32 | model[reg::kRxrBaseLo]) &&
                    t.ring_wb == (uint64_t{model[reg::kRingWbHi]} << 32 | model[reg::kRingWbLo]) &&
                    t.txr_size == model[reg::kTxrSize] && t.rxr_slots == model[reg::kRxrSlots],
                "ring configuration outputs");
      for (uint32_t n = 0; n < kNodes; ++n) {
        t.node_a_idx = static_cast<uint8_t>(n);
        t.node_b_idx = static_cast<uint8_t>(n);
        t.eval();
        chk.check(t.node_a_valid == (model[reg::node_mac_hi(n)] >> 31), "node_a_valid port");
        chk.check(t.node_b_mac == ((uint64_t{model[reg::node_mac_hi(n)] & 0xFFFF} << 32) |
                                   model[reg::node_mac_lo(n)]),
                  "node_b_mac port");
      }
      for (uint32_t a = 0; a < kApics; ++a) {
        t.apic_idx = static_cast<uint8_t>(a);
        t.eval();
        chk.check(t.apic_valid == (model[reg::apic_entry(a)] >> 31) &&
                      t.apic_node == (model[reg::apic_entry(a)] & 0xFFFF) &&
                      t.apic_vcpu == model[reg::apic_vcpu(a)] &&
                      t.apic_ldr == model[reg::apic_ldr(a)],
                  "APIC table port");
      }
    }
  }
  settle();

  // Ring indices: the host's are held at 0 while disabled, the front
  // end's are read through.
  axil.write(reg::kTxrProd, 77);
  axil.write(reg::kRxrCons, 55);
  settle();
  chk.check(read(reg::kTxrProd) == 0 && read(reg::kRxrCons) == 0 && t.txr_prod == 0 &&
                t.rxr_cons == 0,
            "TXR_PROD / RXR_CONS written while disabled");
  t.txr_cons = 0x1234'5678;
  t.rxr_prod = 0x9ABC'DEF0;
  chk.check(read(reg::kTxrCons) == 0x1234'5678u && read(reg::kRxrProd) == 0x9ABC'DEF0u,
            "TXR_CONS / RXR_PROD read through");

  // Enable via CONTROL, and counters.
  axil.write(reg::kControl, 1);
  settle();
  chk.check(t.enable == 1 && read(reg::kControl) == 1, "enable");
  axil.write(reg::kTxrProd, 77);
  axil.write(reg::kRxrCons, 0x55, 0x1);
  settle();
  chk.check(read(reg::kTxrProd) == 77 && read(reg::kRxrCons) == 0x55 && t.txr_prod == 77 &&
                t.rxr_cons == 0x55,
            "TXR_PROD / RXR_CONS written while enabled");
  std::vector<uint32_t> counts(kCounters, 0);
  for (int i = 0; i < 20000; ++i) {
    uint32_t ev = 0;
    for (uint32_t c = 0; c < kCounters; ++c) {
      if (rng.chance(c * 5)) {
        ev |= 1u << c;
        ++counts[c];
      }
    }
    t.events = ev;
    sim.step();
  }
  t.events = 0;
  for (uint32_t c = 0; c < kCounters; ++c) {
    chk.check(read(reg::counter(c)) == counts[c], "counter " + std::to_string(c));
  }
  axil.write(reg::kControl, 0x3);  // stay enabled, clear counters
  settle();
  sim.steps(2);
  for (uint32_t c = 0; c < kCounters; ++c) chk.check(read(reg::counter(c)) == 0, "counter cleared");
  chk.check(t.enable == 1, "clearing counters kept enable");
  axil.write(reg::kControl, 0x0, 0x2);  // byte lane 1 only: CONTROL untouched
  settle();
  chk.check(t.enable == 1, "a write without lane 0 changed CONTROL");
  axil.write(reg::kControl, 0);
  settle();
  chk.check(read(reg::kTxrProd) == 0 && read(reg::kRxrCons) == 0,
            "TXR_PROD / RXR_CONS not back to 0 when disabled");
  return chk.finish("tb_regs");
}
