// The FPGA engine's host interface as the driver sees it: register map,
// counter indices and descriptor kinds. The RTL's own definitions are in
// fpga/rtl/dvmm_regs.sv and dvmm_pkg.sv, the reference in docs/fpga.md
// ("Register map", "Descriptors"); these must agree with both.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dvmm::dataplane::fpga {

// 32-bit registers, byte addresses on the AXI-Lite port.
namespace reg {
constexpr uint32_t kId = 0x000;            // RO: kEngineId
constexpr uint32_t kControl = 0x004;       // bit 0 enable, bit 1 clear counters
constexpr uint32_t kParams = 0x008;        // [7:0] NODES, [15:8] WINDOW, [31:16] APICS
constexpr uint32_t kParams2 = 0x00C;       // [15:0] MAX_MSG_BYTES, [31:16] RXQ_BEATS
constexpr uint32_t kStatus = 0x010;        // bit 0 links idle, 1 rings busy, 8-10 ring errors
constexpr uint32_t kLocalNode = 0x020;
constexpr uint32_t kLocalMacLo = 0x024;    // MAC bytes 0-3, byte 0 in [7:0]
constexpr uint32_t kLocalMacHi = 0x028;    // MAC bytes 4-5 in [15:0]
constexpr uint32_t kClusterId = 0x02C;
constexpr uint32_t kRetxTimeout = 0x030;   // cycles
constexpr uint32_t kAckDelay = 0x034;      // cycles
constexpr uint32_t kBitmapLo = 0x038;      // pending-bitmap base (256 bytes a vCPU)
constexpr uint32_t kBitmapHi = 0x03C;
constexpr uint32_t kBitmapVcpus = 0x040;   // vCPUs that have a bitmap
// Host rings (docs/fpga.md "Host rings"). Indices are free-running 32-bit
// counts; TXR_PROD and RXR_CONS read 0 and ignore writes while
// CONTROL.enable is clear.
constexpr uint32_t kTxrBaseLo = 0x050;     // descriptor ring, 128-byte aligned
constexpr uint32_t kTxrBaseHi = 0x054;
constexpr uint32_t kTxrSize = 0x058;       // [15:0] 64-bit words, power of 2 >= 16; 0 = off
constexpr uint32_t kTxrProd = 0x05C;       // doorbell: words written
constexpr uint32_t kTxrCons = 0x060;       // RO: words taken
constexpr uint32_t kRxrBaseLo = 0x064;     // receive ring, 2 * MAX_MSG_BYTES aligned
constexpr uint32_t kRxrBaseHi = 0x068;
constexpr uint32_t kRxrSlots = 0x06C;      // [15:0] slots, power of 2; 0 = off
constexpr uint32_t kRxrProd = 0x070;       // RO: slots filled
constexpr uint32_t kRxrCons = 0x074;       // slots returned
constexpr uint32_t kRingWbLo = 0x078;      // writeback word {RXR_PROD, TXR_CONS}, 8-byte aligned; 0 = none
constexpr uint32_t kRingWbHi = 0x07C;
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
constexpr uint32_t kStatusRingsBusy = 1u << 1;     // a ring transfer to make or in flight
constexpr uint32_t kStatusRingIndexError = 1u << 8;
constexpr uint32_t kStatusRingGeometryError = 1u << 9;
constexpr uint32_t kStatusRingMemoryError = 1u << 10;
constexpr uint32_t kStatusRingErrors = 7u << 8;
}  // namespace reg

constexpr uint32_t kEngineId = 0xD7E0'0002;  // engine id, register map version 2

// The card kernel (fpga/rtl/dvmm_card_top.sv): the name XRT opens it by.
constexpr const char* kKernelName = "dvmm_card_top";

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

// Pending bitmaps: one byte per vector (0x01 = pending), 256 per vCPU.
constexpr size_t kBitmapBytesPerVcpu = 256;

// Host-ring layout (dvmm_host_rings.sv).
constexpr size_t kTxrHeaderBytes = 8;       // a descriptor's length word
constexpr size_t kRxrMessageOffset = 64;    // a message's offset in its slot
// RX slot stride: 2 * MAX_MSG_BYTES; slot header [15:0] length, [31:16] tag.
constexpr size_t rx_slot_bytes(uint32_t max_msg_bytes) { return 2 * size_t{max_msg_bytes}; }

}  // namespace dvmm::dataplane::fpga
