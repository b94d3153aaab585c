// The host side of the engine's host rings (docs/fpga.md "Host rings";
// the card's side is fpga/rtl/dvmm_host_rings.sv): descriptors go into a
// TX ring in host memory, received messages come out of an RX ring, and
// the engine is told through its registers. Both devices drive the engine
// through this class, the XRT one over XRT host-only buffers and xrt::ip
// registers, the co-simulated one over a memory model served to the
// Verilated AXI4 master, so the co-simulation runs the card's ring code.
//
// TX ring: 64-bit words. A descriptor is a length word (its bytes) and its
// beats; the host writes the words, then the doorbell TXR_PROD (words
// written). The engine's consumer index comes back in the writeback word,
// so finding room costs no register read. Descriptors that do not fit wait
// here, in order, until the engine has taken enough.
//
// RX ring: slots of 2 * MAX_MSG_BYTES bytes; slot i's header word
// ([15:0] length, [31:16] low 16 bits of i + 1) is written after the
// message (at offset 64), so a header with the expected tag means a whole
// message. Slots go back to the engine with one RXR_CONS write per kick().
//
// Threading: none (the device's owner serialises). Nothing here throws or
// blocks; push() and pop() touch only memory, kick() writes at most two
// registers.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "dataplane/fpga/fpga_device.hpp"

namespace dvmm::dataplane::fpga {

struct HostRingGeometry {
  uint32_t tx_words = 4096;  // 32 KiB: some 400 descriptors of a 64-byte message
  uint32_t rx_slots = 256;   // 64 KiB at MAX_MSG_BYTES 128
};

class HostRings {
 public:
  using Geometry = HostRingGeometry;
  // Host memory for the rings: zeroed, 4 KiB aligned (DmaWindow).
  using Allocate = std::function<Result<DmaWindow>(size_t bytes)>;

  // Reads MAX_MSG_BYTES (PARAMS2), allocates the rings and the writeback
  // word, and programs the ring registers. CONTROL.enable must be clear.
  static Result<std::unique_ptr<HostRings>> create(RegisterPort& regs, const Allocate& allocate,
                                                   Geometry geometry = {});

  // Queues a descriptor (docs/fpga.md "Descriptors"); visible to the engine
  // after the next kick(). Empty or longer than MAX_MSG_BYTES + 8: dropped
  // and counted (refused()); FpgaLink never sends such.
  void push(std::span<const uint8_t> descriptor);
  // Descriptors pushed that the engine has not taken yet.
  size_t waiting() const;
  // The next received message, as FpgaDevice::pop_message().
  size_t pop(std::span<uint8_t> out);
  // Moves waiting descriptors into freed ring space and rings the
  // doorbells that are due (TXR_PROD, RXR_CONS). Returns whether it wrote
  // a register.
  bool kick();
  // kick() has work: a doorbell is due, or a waiting descriptor now fits.
  bool kick_pending() const;
  // CONTROL.enable was just cleared: waits (bounded) for STATUS.busy to
  // fall, so no write of the engine's is still in flight, then starts both
  // rings again from index 0 on zeroed memory. Queued descriptors are
  // dropped, as the engine drops its own. Error: the engine stayed busy.
  Status stop();

  // Is this device address an RX slot's header word (the co-simulation
  // wakes its driver when a message lands)?
  bool is_rx_header(uint64_t device_address) const;
  uint64_t refused() const { return refused_; }

 private:
  HostRings(RegisterPort& regs, DmaWindow memory, Geometry g, uint32_t max_msg_bytes);
  uint32_t tx_consumed() const;
  uint32_t room() const;  // free TX ring words
  bool write_descriptor(std::span<const uint8_t> d);
  void program();

  RegisterPort& regs_;
  DmaWindow mem_;
  Geometry geo_;
  uint32_t max_msg_bytes_;
  size_t slot_bytes_;
  uint64_t* tx_ = nullptr;  // TX ring words
  uint8_t* rx_ = nullptr;   // RX slots
  uint64_t* wb_ = nullptr;  // writeback: [31:0] TXR_CONS, [63:32] RXR_PROD
  uint64_t tx_device_ = 0, rx_device_ = 0, wb_device_ = 0;

  uint32_t tx_prod_ = 0;              // words written
  uint32_t tx_doorbell_ = 0;          // TXR_PROD as last written
  uint32_t rx_cons_ = 0;              // slots taken
  uint32_t rx_doorbell_ = 0;          // RXR_CONS as last written
  mutable std::deque<uint32_t> ends_; // per descriptor in the ring: the index after its last word
  std::deque<std::vector<uint8_t>> backlog_;  // waiting for room, in order
  uint64_t refused_ = 0;
};

}  // namespace dvmm::dataplane::fpga
