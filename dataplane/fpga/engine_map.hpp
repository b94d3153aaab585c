// The FPGA engine's host interface as the driver sees it: register map,
// counter indices and descriptor kinds. The RTL's own definitions are in
// fpga/rtl/dvmm_regs.sv and dvmm_pkg.sv, the reference in docs/fpga.md
// ("Register map", "Descriptors"); these must agree with both.
#pragma once

#include <cstdint>

namespace dvmm::dataplane::fpga {

// 32-bit registers, byte addresses on the AXI-Lite port.
namespace reg {
constexpr uint32_t kId = 0x000;            // RO: kEngineId
constexpr uint32_t kControl = 0x004;       // bit 0 enable, bit 1 clear counters
constexpr uint32_t kParams = 0x008;        // [7:0] NODES, [15:8] WINDOW, [31:16] APICS
constexpr uint32_t kParams2 = 0x00C;       // [15:0] MAX_MSG_BYTES, [31:16] RXQ_BEATS
constexpr uint32_t kStatus = 0x010;        // bit 0: links idle
constexpr uint32_t kLocalNode = 0x020;
constexpr uint32_t kLocalMacLo = 0x024;    // MAC bytes 0-3, byte 0 in [7:0]
constexpr uint32_t kLocalMacHi = 0x028;    // MAC bytes 4-5 in [15:0]
constexpr uint32_t kClusterId = 0x02C;
constexpr uint32_t kRetxTimeout = 0x030;   // cycles
constexpr uint32_t kAckDelay = 0x034;      // cycles
constexpr uint32_t kBitmapLo = 0x038;      // pending-bitmap base, 32-byte aligned
constexpr uint32_t kBitmapHi = 0x03C;
constexpr uint32_t kBitmapVcpus = 0x040;   // vCPUs that have a bitmap
constexpr uint32_t counter(uint32_t i) { return 0x100 + 4 * i; }
constexpr uint32_t node_mac_lo(uint32_t n) { return 0x800 + 8 * n; }
constexpr uint32_t node_mac_hi(uint32_t n) { return 0x804 + 8 * n; }  // [31] valid
constexpr uint32_t apic_entry(uint32_t a) { return 0x1000 + 16 * a; } // [15:0] node, [31] valid
constexpr uint32_t apic_vcpu(uint32_t a) { return 0x1004 + 16 * a; }
constexpr uint32_t apic_ldr(uint32_t a) { return 0x1008 + 16 * a; }
constexpr uint32_t kValid = 1u << 31;
constexpr uint32_t kControlEnable = 1u << 0;
constexpr uint32_t kControlClearCounters = 1u << 1;
constexpr uint32_t kStatusLinksIdle = 1u << 0;
}  // namespace reg

constexpr uint32_t kEngineId = 0xD7E0'0001;  // engine id, register map version 1

// Event counters (dvmm_pkg::CNT_*), 32 bits each, wrapping.
enum class EngineCounter : uint32_t {
  kTxDesc = 0,        // descriptors accepted
  kTxData = 1,        // data frames sent, retransmissions included
  kTxTimeout = 2,     // go-back-N rewinds
  kTxAck = 3,         // standalone ACK frames
  kTxBadDesc = 4,     // descriptors dropped as malformed
  kTxNoTarget = 5,    // IPI descriptors with no remote target
  kRxFrame = 6,       // frames received (all)
  kRxHost = 7,        // messages to the host queue
  kRxIpi = 8,         // IPIs into a pending bitmap
  kRxAck = 9,         // ACK-only frames
  kRxBadFcs = 10,     // dropped: FCS mismatch
  kRxEthertype = 11,  // dropped: not EtherType 0x88B5
  kRxDstMac = 12,     // dropped: not for LOCAL_MAC
  kRxCluster = 13,    // dropped: another CLUSTER_ID
  kRxMalformed = 14,  // dropped: length, header, flags or node checks
  kRxDuplicate = 15,  // dropped: already delivered
  kRxOutOfOrder = 16, // dropped: ahead of the expected sequence number
  kRxQueueFull = 17,  // dropped, not acknowledged: host queue full
};
constexpr uint32_t kEngineCounters = 18;

// Stable names of the counters, in index order (statistics JSON keys).
constexpr const char* kEngineCounterNames[kEngineCounters] = {
    "tx_desc",   "tx_data",      "tx_timeout",  "tx_ack",       "tx_bad_desc",
    "tx_no_target", "rx_frame",  "rx_host",     "rx_ipi",       "rx_ack",
    "rx_bad_fcs", "rx_ethertype", "rx_dst_mac", "rx_cluster",   "rx_malformed",
    "rx_duplicate", "rx_out_of_order", "rx_queue_full"};

// Descriptor kinds (beat 0, byte 0).
constexpr uint8_t kDescRaw = 1;
constexpr uint8_t kDescIpi = 2;
// A RAW descriptor is one 8-byte control beat, then the encoded message.
constexpr size_t kDescControlBytes = 8;

// Pending bitmaps: 256 bits (four little-endian u64) per vCPU.
constexpr size_t kBitmapBytesPerVcpu = 32;

}  // namespace dvmm::dataplane::fpga
