// The co-simulation FpgaDevice: the Verilated card kernel (dvmm_card_top:
// the engine behind its host-ring front end) in this process, clocked by
// whoever calls service() (the node's dataplane poller). Its AXI4 master
// is served from host memory of this process (SimHostMemory through
// Axi4MemorySlave), where the driver's HostRings keep the rings, exactly
// as on a card; its Ethernet ports are joined to the other nodes' engines
// by a software wire: every frame the engine puts on m_axis_tx (FCS
// included) becomes the payload of one frame of an ordinary dvmm Transport
// (shm, udp, or the fake one in tests), sent to the node whose MAC the
// frame is addressed to; every frame that transport receives goes into
// s_axis_rx.
//
// Clocking: the model costs about a microsecond of CPU per cycle, so it is
// clocked only while there is work, never spun unboundedly:
//   - busy: from each doorbell or received frame until kTailCycles cycles
//     pass without a transfer on any port and STATUS shows the rings quiet,
//     as fast as it goes; a frame goes on the wire as soon as its last beat
//     is out, and service() returns as soon as a message header or a bitmap
//     byte has landed in host memory (the next call goes on clocking), so
//     neither waits for the tail;
//   - paced: while STATUS.links_idle is clear (a message unacknowledged, an
//     ACK owed), the engine's timers (RETX_TIMEOUT, ACK_DELAY, in cycles)
//     must advance with wall time: one cycle per cycle_ns of wall time,
//     clocked in catch-up batches when service() runs;
//   - idle otherwise: not clocked at all, and next_service_ns() is nullopt,
//     so the poller can sleep on the wire's rx_wait_fd().
// A window-full stall on the descriptor stream is not work (the rings'
// busy bit leaves it out): it waits paced for the ACK.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/fpga/fpga_device.hpp"
#include "dataplane/fpga/host_rings.hpp"
#include "dataplane/transport.hpp"

namespace dvmm::dataplane::fpga {

using Mac = std::array<uint8_t, 6>;

struct VerilatedDeviceConfig {
  // Carries the engines' frames; not owned, must outlive the device. Its
  // local node is this engine's node.
  Transport* wire = nullptr;
  // MAC of every node, by node id: a frame on m_tx goes to the node its
  // destination MAC belongs to (frames to other MACs are dropped, counted).
  std::vector<Mac> node_macs;
  // Wall time one engine cycle stands for while the engine waits on its
  // timers (see the top of the file).
  uint64_t cycle_ns = 4000;
  // The host rings' sizes (tests make them small to wrap and fill them).
  HostRingGeometry rings;
};

class VerilatedFpgaDevice final : public FpgaDevice {
 public:
  // Busy clocking continues this many cycles after the last transfer: the
  // engine's longest internal path (descriptor beat to first frame beat)
  // is 12 cycles (docs/fpga.md "Latency").
  static constexpr uint64_t kTailCycles = 16;
  // Bounds one service() call (it returns, the poller calls again).
  static constexpr uint64_t kMaxCyclesPerService = 4096;
  // While paced, service() is wanted again after this many cycles' worth
  // of wall time: fewer wake-ups than one per cycle, timers late by at
  // most this much.
  static constexpr uint64_t kPacedBatchCycles = 4;
  // A poller that was away longer than this many cycles' worth of wall
  // time does not catch up: the engine's clock slips, as if it had been
  // paused with its host, instead of spinning through a retransmit
  // timeout that only measured the host being descheduled.
  static constexpr uint64_t kMaxPacedCatchUp = 32;

  struct Stats {
    uint64_t cycles = 0;          // clocked in all
    uint64_t paced_cycles = 0;    // of them, to advance the timers
    uint64_t wire_tx_frames = 0;  // m_tx frames put on the wire
    uint64_t wire_rx_frames = 0;  // wire frames fed to s_rx
    uint64_t wire_dropped = 0;    // m_tx frames to no known MAC, or the wire refused them
    uint64_t dma_writes = 0;      // pending-bitmap bytes written
    uint64_t dma_outside = 0;     // host-memory accesses outside every buffer (an IOMMU fault)
    uint64_t axi_violations = 0;  // AXI4 protocol errors of the engine's master
  };

  static Result<std::unique_ptr<VerilatedFpgaDevice>> create(const VerilatedDeviceConfig& config);
  ~VerilatedFpgaDevice() override;
  VerilatedFpgaDevice(const VerilatedFpgaDevice&) = delete;
  VerilatedFpgaDevice& operator=(const VerilatedFpgaDevice&) = delete;

  const char* name() const override { return "sim"; }
  uint32_t read32(uint32_t addr) override;
  void write32(uint32_t addr, uint32_t value) override;
  Result<DmaWindow> dma_window(size_t bytes) override;
  void push_descriptor(std::span<const uint8_t> descriptor) override;
  size_t descriptors_waiting() const override;
  size_t pop_message(std::span<uint8_t> out) override;
  size_t service(uint64_t now_ns) override;
  std::optional<uint64_t> next_service_ns() const override;
  bool links_idle() const override;
  Transport* wire() override;

  Stats stats() const;

 private:
  struct Impl;
  explicit VerilatedFpgaDevice(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dvmm::dataplane::fpga
