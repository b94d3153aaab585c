// Host memory as the engine's AXI4 master sees it, for a Verilated model:
// an AXI4 slave (64-bit data, no IDs: every transaction in order) that
// serves the master's reads and writes from a HostMemory. Used by the
// co-simulation device (verilated_device.cpp, answering at once) and by
// the front end's testbench (fpga/sim/tb_host_rings.cpp, with random
// stalls and gaps on every channel), so both exercise the same model.
//
// It also checks the master's side of the protocol (INCR bursts of
// full-width beats, no 4 KiB crossing, WLAST on the burst's last beat,
// address and data held while stalled) and reports violations through
// on_violation.
//
// One cycle: drive() sets the slave's outputs before the model is
// evaluated; sample(), after evaluation and before the clock edge, records
// the handshakes that happen at the edge.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <random>
#include <string>

namespace dvmm::dataplane::fpga {

// What the slave reads and writes. false: nothing there (answered with
// SLVERR, as an IOMMU would fault the access).
class HostMemory {
 public:
  virtual ~HostMemory() = default;
  virtual bool read64(uint64_t addr, uint64_t& data) = 0;
  // Writes the bytes of data whose bit in strb is set (byte i = bits 8i+7:8i).
  virtual bool write64(uint64_t addr, uint64_t data, uint8_t strb) = 0;
};

// The master's signals, bound by reference to a Verilated model's ports
// (Verilator holds 1-8 bit ports in uint8_t, 33-64 bit ones in uint64_t).
struct Axi4Pins {
  const uint64_t& awaddr;
  const uint8_t& awlen;
  const uint8_t& awsize;
  const uint8_t& awburst;
  const uint8_t& awvalid;
  uint8_t& awready;
  const uint64_t& wdata;
  const uint8_t& wstrb;
  const uint8_t& wlast;
  const uint8_t& wvalid;
  uint8_t& wready;
  uint8_t& bresp;
  uint8_t& bvalid;
  const uint8_t& bready;
  const uint64_t& araddr;
  const uint8_t& arlen;
  const uint8_t& arsize;
  const uint8_t& arburst;
  const uint8_t& arvalid;
  uint8_t& arready;
  uint64_t& rdata;
  uint8_t& rresp;
  uint8_t& rlast;
  uint8_t& rvalid;
  const uint8_t& rready;
};

// Binds Axi4Pins to the ports `<prefix>awaddr` ... of a Verilated model.
#define DVMM_AXI4_PINS(top, prefix)                                                              \
  ::dvmm::dataplane::fpga::Axi4Pins {                                                            \
    (top).prefix##awaddr, (top).prefix##awlen, (top).prefix##awsize, (top).prefix##awburst,      \
        (top).prefix##awvalid, (top).prefix##awready, (top).prefix##wdata, (top).prefix##wstrb,  \
        (top).prefix##wlast, (top).prefix##wvalid, (top).prefix##wready, (top).prefix##bresp,    \
        (top).prefix##bvalid, (top).prefix##bready, (top).prefix##araddr, (top).prefix##arlen,   \
        (top).prefix##arsize, (top).prefix##arburst, (top).prefix##arvalid,                      \
        (top).prefix##arready, (top).prefix##rdata, (top).prefix##rresp, (top).prefix##rlast,    \
        (top).prefix##rvalid, (top).prefix##rready                                               \
  }

class Axi4MemorySlave {
 public:
  // Chances, in percent, of holding a ready low or a valid back in a cycle.
  struct Stalls {
    unsigned aw = 0, w = 0, ar = 0, r = 0, b = 0;
  };
  // A write or a read as it was accepted (for scoreboards).
  struct Access {
    uint64_t addr = 0;
    unsigned beats = 0;
  };

  Axi4MemorySlave(Axi4Pins pins, HostMemory& memory) : p_(pins), mem_(memory) {}

  // Random stalls from rng (not owned); without, every channel is always
  // ready and answers in the next cycle.
  void set_stalls(std::mt19937_64* rng, Stalls stalls) {
    rng_ = rng;
    stalls_ = stalls;
  }
  std::function<void(const std::string&)> on_violation;
  // Called at each AW handshake (before its data), e.g. to check ordering.
  std::function<void(const Access&)> on_write_address;

  void drive();
  // Returns whether any channel transferred in this cycle.
  bool sample();

  // Writes accepted (AW) whose B response has not been taken yet.
  size_t writes_outstanding() const { return writes_outstanding_; }
  // Reads accepted whose last beat has not been taken yet.
  size_t reads_outstanding() const { return reads_.size(); }
  uint64_t error_responses() const { return error_responses_; }

 private:
  struct Burst {
    uint64_t addr;
    unsigned beats;
    unsigned done = 0;
    bool error = false;
  };
  struct WBeat {
    uint64_t data;
    uint8_t strb;
    bool last;
  };
  bool stall(unsigned percent);
  void check_burst(const char* channel, uint64_t addr, unsigned beats, uint8_t size, uint8_t burst);
  void retire_writes();
  void violation(const std::string& what);

  Axi4Pins p_;
  HostMemory& mem_;
  std::mt19937_64* rng_ = nullptr;
  Stalls stalls_;

  std::deque<Burst> aw_;     // accepted write bursts waiting for their data
  std::deque<WBeat> w_;      // data beats not yet matched with an address
  std::deque<uint8_t> b_;    // responses to give
  std::deque<Burst> reads_;  // accepted read bursts
  size_t writes_outstanding_ = 0;
  uint64_t error_responses_ = 0;
  // What was offered while stalled last cycle (must be held).
  bool aw_held_ = false, w_held_ = false, ar_held_ = false;
  uint64_t aw_addr_ = 0, w_data_ = 0, ar_addr_ = 0;
  uint8_t aw_len_ = 0, w_strb_ = 0, w_last_ = 0, ar_len_ = 0;
  // Our own valids, held once raised until taken.
  bool b_up_ = false, r_up_ = false;
};

}  // namespace dvmm::dataplane::fpga
