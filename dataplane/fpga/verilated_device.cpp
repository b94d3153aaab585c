#include "dataplane/fpga/verilated_device.hpp"

#include <verilated.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <string>

#include "Vdvmm_card_top.h"
#include "dataplane/fpga/axi4_memory_slave.hpp"
#include "dataplane/fpga/engine_map.hpp"
#include "dataplane/fpga/host_rings.hpp"
#include "dataplane/fpga/sim_host_memory.hpp"

namespace dvmm::dataplane::fpga {
namespace {

// Frames taken from the wire per rx_burst, and at most this many waiting
// for s_rx (the rest stay in the wire transport).
constexpr size_t kWireBurst = 16;
constexpr size_t kMaxRxWaiting = 256;
// An AXI-Lite access completes in a few cycles; more means the RTL is
// broken, and the access gives up rather than hang the node.
constexpr int kAxilMaxCycles = 64;

// Every model of this process lives in one Verilator context, created on
// first use and never destroyed: with one context per model, Verilator
// 5.006 deadlocks destroying the second model (its scope registry), and a
// context must outlive its models anyway, also those destroyed at exit.
// Models of one context must not be evaluated concurrently: a node has one,
// a test drives several from one thread.
VerilatedContext& shared_context() {
  static VerilatedContext* ctx = [] {
    auto* c = new VerilatedContext;
    c->commandArgs(0, static_cast<const char**>(nullptr));
    return c;
  }();
  return *ctx;
}

// One 64-bit beat of a byte packet, lane 0 first.
struct Beat {
  uint64_t data = 0;
  uint8_t keep = 0;
  bool last = false;
};

Beat beat_at(const std::vector<uint8_t>& packet, size_t pos) {
  Beat b;
  const size_t n = std::min<size_t>(8, packet.size() - pos);
  for (size_t i = 0; i < n; ++i) b.data |= uint64_t{packet[pos + i]} << (8 * i);
  b.keep = static_cast<uint8_t>((1u << n) - 1);
  b.last = pos + 8 >= packet.size();
  return b;
}

void append_beat(std::vector<uint8_t>& packet, uint64_t data, uint8_t keep) {
  for (int lane = 0; lane < 8 && ((keep >> lane) & 1) != 0; ++lane) {
    packet.push_back(static_cast<uint8_t>(data >> (8 * lane)));
  }
}

// A packet fed into an AXI-Stream input, beat by beat.
struct InQueue {
  std::deque<std::vector<uint8_t>> packets;
  size_t pos = 0;  // byte offset of the current beat in packets.front()
  bool valid() const { return !packets.empty(); }
  // Puts the current beat on the port's signals; returns tvalid.
  bool drive(uint64_t& tdata, uint8_t& tkeep, uint8_t& tlast, uint8_t& tvalid) const {
    tvalid = valid() ? 1 : 0;
    if (!valid()) return false;
    const Beat b = beat_at(packets.front(), pos);
    tdata = b.data;
    tkeep = b.keep;
    tlast = b.last ? 1 : 0;
    return true;
  }
  void advance() {
    pos += 8;
    if (pos >= packets.front().size()) {
      packets.pop_front();
      pos = 0;
    }
  }
};

}  // namespace

struct VerilatedFpgaDevice::Impl final : RegisterPort {
  VerilatedDeviceConfig cfg;
  std::unique_ptr<Vdvmm_card_top> top;
  SimHostMemory memory;                    // the rings, the writeback word, the bitmaps
  std::unique_ptr<Axi4MemorySlave> slave;  // serves the card's AXI4 master from `memory`
  std::unique_ptr<HostRings> rings;

  InQueue rx;
  std::vector<uint8_t> tx_cur;  // m_axis_tx frame being collected
  std::unique_ptr<RxFrame[]> staging;
  bool for_host = false;  // a message or a bitmap byte landed: return to the driver

  // AXI-Lite: the channels still to hand over, and the response.
  bool aw_pending = false, w_pending = false, ar_pending = false;
  bool b_done = false, r_done = false;
  uint32_t r_data = 0;

  DmaWindow bitmaps{};

  uint64_t tail = 0;  // busy cycles left (see kTailCycles)
  bool idle = true;   // STATUS.links_idle, as last read
  bool status_stale = false;
  uint64_t paced_ns = 0;  // wall time up to which paced cycles were clocked
  Stats stats;

  ~Impl() override {
    if (top) top->final();
  }

  // One clock cycle: drive the inputs, let the model settle, record the
  // transfers that happen at this rising edge, then the edge. Returns
  // whether a port transferred anything (the engine did work).
  bool cycle() {
    Vdvmm_card_top& t = *top;
    const bool rx_v = rx.drive(t.s_axis_rx_tdata, t.s_axis_rx_tkeep, t.s_axis_rx_tlast,
                               t.s_axis_rx_tvalid);
    t.m_axis_tx_tready = 1;
    t.s_axi_control_awvalid = aw_pending ? 1 : 0;
    t.s_axi_control_wvalid = w_pending ? 1 : 0;
    t.s_axi_control_arvalid = ar_pending ? 1 : 0;
    t.s_axi_control_bready = 1;
    t.s_axi_control_rready = 1;
    slave->drive();
    t.eval();

    bool moved = slave->sample();
    if (rx_v && t.s_axis_rx_tready) {
      rx.advance();
      moved = true;
    }
    if (t.m_axis_tx_tvalid) {
      append_beat(tx_cur, t.m_axis_tx_tdata, t.m_axis_tx_tkeep);
      if (t.m_axis_tx_tlast) send_frame();
      moved = true;
    }
    if (t.s_axi_control_awvalid && t.s_axi_control_awready) aw_pending = false;
    if (t.s_axi_control_wvalid && t.s_axi_control_wready) w_pending = false;
    if (t.s_axi_control_bvalid) b_done = true;
    if (t.s_axi_control_arvalid && t.s_axi_control_arready) ar_pending = false;
    if (t.s_axi_control_rvalid) {
      r_done = true;
      r_data = t.s_axi_control_rdata;
    }

    t.ap_clk = 1;
    t.eval();
    t.ap_clk = 0;  // the falling edge is evaluated with the next cycle's inputs
    ++stats.cycles;
    if (moved) tail = kTailCycles;
    return moved;
  }

  // The engine's frame goes to the node its destination MAC names.
  void send_frame() {
    std::vector<uint8_t> frame = std::exchange(tx_cur, {});
    const auto& macs = cfg.node_macs;
    auto it = frame.size() >= 6 ? std::find_if(macs.begin(), macs.end(),
                                               [&](const Mac& m) {
                                                 return std::equal(m.begin(), m.end(), frame.begin());
                                               })
                                : macs.end();
    if (it == macs.end()) {
      ++stats.wire_dropped;
      return;
    }
    const TxFrame f{static_cast<NodeId>(it - macs.begin()), frame};
    if (cfg.wire->tx_burst({&f, 1}) == 0) {
      cfg.wire->tx_flush();
      if (cfg.wire->tx_burst({&f, 1}) == 0) {
        // The wire's queue is full: as a lost frame, the engine resends it.
        ++stats.wire_dropped;
        return;
      }
    }
    ++stats.wire_tx_frames;
    cfg.wire->tx_flush();
  }

  // Every write of the engine's into host memory passes here: a bitmap byte
  // or an RX slot's header is something for the driver.
  void landed(uint64_t addr) {
    if (addr >= bitmaps.device_address && addr - bitmaps.device_address < bitmaps.bytes) {
      ++stats.dma_writes;
      for_host = true;
    } else if (rings && rings->is_rx_header(addr)) {
      for_host = true;
    }
  }

  void pull_wire(size_t& work) {
    while (rx.packets.size() < kMaxRxWaiting) {
      const size_t n = cfg.wire->rx_burst({staging.get(), kWireBurst});
      for (size_t i = 0; i < n; ++i) {
        const RxFrame& f = staging[i];
        if (f.len == 0) continue;
        rx.packets.emplace_back(f.data, f.data + f.len);
        ++stats.wire_rx_frames;
      }
      work += n;
      if (n != 0) tail = kTailCycles;
      if (n < kWireBurst) break;
    }
  }

  // STATUS: the links' idle bit for the driver; while the rings are busy
  // (a message being collected or written, a read in flight) the engine is
  // not waiting on anything but its own clock, so it stays busy-clocked.
  void refresh_status(uint64_t now_ns) {
    const bool was_idle = idle;
    const uint32_t s = read32(reg::kStatus);
    idle = (s & reg::kStatusLinksIdle) != 0;
    if ((s & reg::kStatusRingsBusy) != 0) tail = kTailCycles;
    status_stale = false;
    if (was_idle && !idle) paced_ns = now_ns;  // the timers start now
  }

  uint32_t read32(uint32_t addr) override {
    top->s_axi_control_araddr = static_cast<uint16_t>(addr);
    ar_pending = true;
    r_done = false;
    for (int i = 0; i < kAxilMaxCycles && !r_done; ++i) cycle();
    ar_pending = false;
    return r_done ? r_data : 0;
  }

  void write32(uint32_t addr, uint32_t value) override {
    top->s_axi_control_awaddr = static_cast<uint16_t>(addr);
    top->s_axi_control_wdata = value;
    top->s_axi_control_wstrb = 0xF;
    aw_pending = w_pending = true;
    b_done = false;
    for (int i = 0; i < kAxilMaxCycles && !b_done; ++i) cycle();
    aw_pending = w_pending = false;
    status_stale = true;
  }
};

Result<std::unique_ptr<VerilatedFpgaDevice>> VerilatedFpgaDevice::create(
    const VerilatedDeviceConfig& config) {
  if (config.wire == nullptr) return Error::format("fpga sim device: no wire transport");
  if (config.cycle_ns == 0) return Error::format("fpga sim device: cycle_ns must be > 0");
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.cfg = config;
  // Instance names must differ within the context.
  static std::atomic<unsigned> instances{0};
  const std::string name = "dvmm_card" + std::to_string(instances.fetch_add(1));
  m.top = std::make_unique<Vdvmm_card_top>(&shared_context(), name.c_str());
  m.slave = std::make_unique<Axi4MemorySlave>(DVMM_AXI4_PINS(*m.top, m_axi_gmem_), m.memory);
  m.slave->on_violation = [&m](const std::string&) { ++m.stats.axi_violations; };
  m.memory.on_write = [&m](uint64_t addr) { m.landed(addr); };
  m.staging = std::make_unique<RxFrame[]>(kWireBurst);
  Vdvmm_card_top& t = *m.top;
  t.ap_clk = 0;
  t.ap_rst_n = 0;
  for (int i = 0; i < 4; ++i) m.cycle();
  t.ap_rst_n = 1;
  m.cycle();
  // The engine comes out of reset disabled: the rings can be programmed.
  m.rings = DVMM_TRY(HostRings::create(
      m, [&m](size_t bytes) { return m.memory.allocate(bytes); }, config.rings));
  return std::unique_ptr<VerilatedFpgaDevice>(new VerilatedFpgaDevice(std::move(impl)));
}

VerilatedFpgaDevice::VerilatedFpgaDevice(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VerilatedFpgaDevice::~VerilatedFpgaDevice() = default;

uint32_t VerilatedFpgaDevice::read32(uint32_t addr) { return impl_->read32(addr); }

void VerilatedFpgaDevice::write32(uint32_t addr, uint32_t value) {
  impl_->write32(addr, value);
  // Clearing enable resets the engine's ring indices: the driver's follow.
  if (addr == reg::kControl && (value & reg::kControlEnable) == 0) (void)impl_->rings->stop();
}

Result<DmaWindow> VerilatedFpgaDevice::dma_window(size_t bytes) {
  Impl& m = *impl_;
  if (m.bitmaps.host == nullptr) {
    m.bitmaps = DVMM_TRY(m.memory.allocate(bytes));
  } else if (bytes > m.bitmaps.bytes) {
    return Error::format("fpga sim device: the DMA window is {} bytes, {} asked", m.bitmaps.bytes,
                         bytes);
  }
  return m.bitmaps;
}

void VerilatedFpgaDevice::push_descriptor(std::span<const uint8_t> descriptor) {
  impl_->rings->push(descriptor);
}

size_t VerilatedFpgaDevice::descriptors_waiting() const { return impl_->rings->waiting(); }

size_t VerilatedFpgaDevice::pop_message(std::span<uint8_t> out) { return impl_->rings->pop(out); }

size_t VerilatedFpgaDevice::service(uint64_t now_ns) {
  Impl& m = *impl_;
  size_t work = 0;
  // Doorbells first: the AXI-Lite writes clock the model, and the rings'
  // reads and writes that follow keep it busy.
  if (m.rings->kick()) ++work;
  m.pull_wire(work);
  m.for_host = false;
  uint64_t budget = kMaxCyclesPerService;
  for (;;) {
    // Busy: clock until kTailCycles pass without a transfer.
    while (m.tail > 0 && budget > 0 && !m.for_host) {
      --budget;
      --m.tail;
      m.status_stale = true;
      if (m.cycle()) ++work;
    }
    if (budget == 0 || m.for_host) break;
    if (m.status_stale) m.refresh_status(now_ns);
    if (m.tail > 0) continue;  // the status read saw a transfer, or the rings are busy
    if (m.idle) break;
    // Paced: the cycles wall time owes the engine's timers.
    uint64_t due = (now_ns - std::min(now_ns, m.paced_ns)) / m.cfg.cycle_ns;
    if (due == 0) break;
    if (due > kMaxPacedCatchUp) {
      due = kMaxPacedCatchUp;
      m.paced_ns = now_ns;
    } else {
      m.paced_ns += due * m.cfg.cycle_ns;
    }
    for (uint64_t i = 0; i < due && m.tail == 0 && budget > 0; ++i, --budget) {
      ++m.stats.paced_cycles;
      if (m.cycle()) ++work;
    }
    m.status_stale = true;
  }
  return work;
}

std::optional<uint64_t> VerilatedFpgaDevice::next_service_ns() const {
  const Impl& m = *impl_;
  if (m.tail > 0 || m.rx.valid() || m.status_stale || m.rings->kick_pending()) return 0;
  if (!m.idle) return m.paced_ns + kPacedBatchCycles * m.cfg.cycle_ns;
  return std::nullopt;
}

bool VerilatedFpgaDevice::links_idle() const { return impl_->idle && !impl_->status_stale; }

Transport* VerilatedFpgaDevice::wire() { return impl_->cfg.wire; }

VerilatedFpgaDevice::Stats VerilatedFpgaDevice::stats() const {
  Stats s = impl_->stats;
  s.dma_outside = impl_->memory.faults();
  return s;
}

}  // namespace dvmm::dataplane::fpga
