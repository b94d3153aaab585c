// The host side of the FPGA offload engine (docs/fpga.md), as one
// interface with two implementations: the Verilated RTL in this process
// (co-simulation, verilated_device.hpp) and a card through XRT
// (xrt_device.hpp). FpgaLink drives either through this interface only.
//
// What a device offers is what the card kernel (fpga/rtl/dvmm_card_top.sv)
// offers a host: the AXI-Lite register file, descriptors in and messages
// out (both through the host rings, host_rings.hpp, the same code on both
// devices), and host memory the engine writes the pending-interrupt
// bitmaps into. The Ethernet side belongs to the device: a card's MAC, or
// the co-simulation's software wire.
//
// Threading: none. One thread at a time (FpgaLink serialises).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "host/common/result.hpp"

namespace dvmm::dataplane {
class Transport;
}

namespace dvmm::dataplane::fpga {

// Host memory the engine may read and write: `host` is where the driver
// sees it, `device_address` what the engine is told (BITMAP_LO/HI, the ring
// bases). Zeroed, 4 KiB aligned, owned by the device, valid as long as it
// lives.
struct DmaWindow {
  uint64_t* host = nullptr;
  uint64_t device_address = 0;
  size_t bytes = 0;
};

// The engine's AXI-Lite registers (byte address, 32-bit data). Synchronous.
class RegisterPort {
 public:
  virtual ~RegisterPort() = default;
  virtual uint32_t read32(uint32_t addr) = 0;
  virtual void write32(uint32_t addr, uint32_t value) = 0;
};

class FpgaDevice : public RegisterPort {
 public:
  // "sim" or "xrt", for messages and statistics.
  virtual const char* name() const = 0;

  // The pending-bitmap memory (one window per device; a second call
  // returns the same window if it is large enough, else an error).
  virtual Result<DmaWindow> dma_window(size_t bytes) = 0;

  // Queues one descriptor (docs/fpga.md "Descriptors": the bytes of its
  // beats, lane 0 first; the last beat is partial when the size is not a
  // multiple of 8). The engine sees it from the next service() and takes
  // it when it has window space.
  virtual void push_descriptor(std::span<const uint8_t> descriptor) = 0;
  // Descriptors queued and not yet taken by the engine.
  virtual size_t descriptors_waiting() const = 0;

  // Copies the next message of the host receive queue into out and returns
  // its length, or 0 when none is waiting. A message longer than out is
  // dropped and reported as its length with nothing copied (cannot happen
  // with out of MAX_MSG_BYTES).
  virtual size_t pop_message(std::span<uint8_t> out) = 0;

  // Lets the engine make progress up to time now_ns (MonotonicClock ns):
  // the model is clocked while it has work, and its timers are paced to
  // wall time; a card needs nothing. Returns how much happened (beats and
  // frames moved; 0 = nothing).
  virtual size_t service(uint64_t now_ns) = 0;
  // When service() must run next without outside events (nullopt: only
  // after a descriptor is pushed or a frame arrives on the wire).
  virtual std::optional<uint64_t> next_service_ns() const = 0;
  // STATUS as of the last service(): links idle (nothing unacknowledged, no
  // ACK owed) and the rings quiet.
  virtual bool links_idle() const = 0;

  // The transport the engine's Ethernet ports are joined to, whose receive
  // fd the node's poller sleeps on (co-simulation); nullptr for a card.
  virtual Transport* wire() = 0;
};

}  // namespace dvmm::dataplane::fpga
