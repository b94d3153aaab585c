// The engine's register map as the testbenches use it (the RTL's is in
// rtl/dvmm_regs.sv and docs/fpga.md; these must agree).
#pragma once

#include <cstdint>

namespace dvmm::fpga::tb::reg {

constexpr uint32_t kId = 0x000;
constexpr uint32_t kControl = 0x004;
constexpr uint32_t kParams = 0x008;
constexpr uint32_t kParams2 = 0x00C;
constexpr uint32_t kStatus = 0x010;
constexpr uint32_t kLocalNode = 0x020;
constexpr uint32_t kLocalMacLo = 0x024;
constexpr uint32_t kLocalMacHi = 0x028;
constexpr uint32_t kClusterId = 0x02C;
constexpr uint32_t kRetxTimeout = 0x030;
constexpr uint32_t kAckDelay = 0x034;
constexpr uint32_t kBitmapLo = 0x038;
constexpr uint32_t kBitmapHi = 0x03C;
constexpr uint32_t kBitmapVcpus = 0x040;
constexpr uint32_t kTxrBaseLo = 0x050;
constexpr uint32_t kTxrBaseHi = 0x054;
constexpr uint32_t kTxrSize = 0x058;
constexpr uint32_t kTxrProd = 0x05C;
constexpr uint32_t kTxrCons = 0x060;
constexpr uint32_t kRxrBaseLo = 0x064;
constexpr uint32_t kRxrBaseHi = 0x068;
constexpr uint32_t kRxrSlots = 0x06C;
constexpr uint32_t kRxrProd = 0x070;
constexpr uint32_t kRxrCons = 0x074;
constexpr uint32_t kRingWbLo = 0x078;
constexpr uint32_t kRingWbHi = 0x07C;
constexpr uint32_t counter(uint32_t i) {
  return 0x100 + 4 * i;
}
constexpr uint32_t node_mac_lo(uint32_t n) {
  return 0x800 + 8 * n;
}
constexpr uint32_t node_mac_hi(uint32_t n) {
  return 0x804 + 8 * n;
}
constexpr uint32_t apic_entry(uint32_t a) {
  return 0x1000 + 16 * a;
}
constexpr uint32_t apic_vcpu(uint32_t a) {
  return 0x1004 + 16 * a;
}
constexpr uint32_t apic_ldr(uint32_t a) {
  return 0x1008 + 16 * a;
}
constexpr uint32_t kValid = 1u << 31;

// Counter indices (dvmm_pkg::CNT_*).
enum Counter : uint32_t {
  kTxDesc = 0,
  kTxData = 1,
  kTxTimeout = 2,
  kTxAck = 3,
  kTxBadDesc = 4,
  kTxNoTarget = 5,
  kRxFrame = 6,
  kRxHost = 7,
  kRxIpi = 8,
  kRxAck = 9,
  kRxBadFcs = 10,
  kRxEthertype = 11,
  kRxDstMac = 12,
  kRxCluster = 13,
  kRxMalformed = 14,
  kRxDuplicate = 15,
  kRxOutOfOrder = 16,
  kRxQueueFull = 17,
  kNumCounters = 18,
};

// Descriptor kinds (dvmm_pkg::DESC_*).
constexpr uint8_t kDescRaw = 1;
constexpr uint8_t kDescIpi = 2;

}  // namespace dvmm::fpga::tb::reg
