// dvmm_host_rings: the host-memory front end between a C++ host and the
// engine's three host streams. The module's AXI4 master is served by the
// same memory slave the co-simulation device uses (dataplane/fpga/
// axi4_memory_slave.hpp), here with random stalls and gaps on all five
// channels; the engine's side is an AXI-Stream sink (descriptors, random
// back-pressure), source (received messages, random gaps) and the bitmap
// request port. The host is written here from docs/fpga.md "Host rings",
// independently of the driver (dataplane/fpga/host_rings.cpp).
//
// Scoreboard:
//   - every descriptor the host puts in the TX ring comes out on s_desc
//     once, in order, byte for byte (tkeep on the last beat);
//   - every message from m_host appears once, in order, in the RX slot the
//     producer index names, and its header (tag, length) is written only
//     after the data's B responses; no slot the host still owns is written;
//   - every bitmap request becomes one single-byte write of 0x01 there;
//   - TXR_CONS / RXR_PROD and the writeback word agree at the end; busy
//     falls once everything is done.
// The TX ring is 64 words and the RX ring 8 slots, so both wrap hundreds
// of times; phases of a host that stops reading (the RX ring fills and
// m_host is held) and of an engine that stops taking descriptors (the TX
// ring fills) alternate with free-running ones. Then: CONTROL.enable
// cleared in the middle of traffic (transactions in flight complete, busy
// falls, the rings restart from index 0 and carry traffic again), and each
// error (descriptor length, producer overrun, geometry, error responses)
// sets its bit, halts the rings and is cleared by the next enable.
#include <cstring>
#include <deque>
#include <functional>
#include <random>

#include "Vdvmm_host_rings.h"
#include "axis.hpp"
#include "dataplane/fpga/axi4_memory_slave.hpp"
#include "harness.hpp"
#include "ref.hpp"

using namespace dvmm::fpga::tb;
namespace fpga = dvmm::dataplane::fpga;

namespace {

constexpr uint32_t kMaxMsg = 128;  // the RTL's MAX_MSG_BYTES (CMakeLists)
constexpr uint32_t kMaxDesc = kMaxMsg + 8;
constexpr uint64_t kBase = 0x0000'0042'0000'0000ull;  // host memory (64-bit addresses)
constexpr size_t kMemBytes = 64 * 1024;
constexpr uint64_t kTxRing = kBase;          // 128-byte aligned
constexpr uint32_t kTxWords = 64;
constexpr uint64_t kRxRing = kBase + 0x1000;  // 2 * MAX_MSG_BYTES aligned
constexpr uint32_t kRxSlots = 8;
constexpr uint32_t kSlotBytes = 2 * kMaxMsg;
constexpr uint64_t kWb = kBase + 0x2000;
constexpr uint64_t kBitmaps = kBase + 0x3000;
constexpr uint32_t kBitmapBytes = 16 * 256;
constexpr uint8_t kErrIndex = 1, kErrGeometry = 2, kErrResponse = 4;

class Memory : public fpga::HostMemory {
 public:
  bool read64(uint64_t addr, uint64_t& data) override {
    if (!inside(addr)) return false;
    std::memcpy(&data, &bytes[addr - kBase], 8);
    return true;
  }
  bool write64(uint64_t addr, uint64_t data, uint8_t strb) override {
    if (!inside(addr)) return false;
    if (on_write) on_write(addr, data, strb);
    for (unsigned i = 0; i < 8; ++i) {
      if ((strb >> i) & 1) bytes[addr - kBase + i] = static_cast<uint8_t>(data >> (8 * i));
    }
    return true;
  }
  uint64_t word(uint64_t addr) const {
    uint64_t w = 0;
    std::memcpy(&w, &bytes[addr - kBase], 8);
    return w;
  }
  void put(uint64_t addr, uint64_t w) { std::memcpy(&bytes[addr - kBase], &w, 8); }
  void clear(uint64_t addr, size_t n) { std::memset(&bytes[addr - kBase], 0, n); }

  std::vector<uint8_t> bytes = std::vector<uint8_t>(kMemBytes);
  std::function<void(uint64_t, uint64_t, uint8_t)> on_write;

 private:
  static bool inside(uint64_t addr) { return addr >= kBase && addr - kBase + 8 <= kMemBytes; }
};

class SlavePort : public Component {
 public:
  explicit SlavePort(fpga::Axi4MemorySlave& s) : s_(s) {}
  void drive() override { s_.drive(); }
  void sample() override { s_.sample(); }

 private:
  fpga::Axi4MemorySlave& s_;
};

// The engine's bitmap requests (its m_dma): byte addresses, valid held
// until ready.
class DmaSource : public Component {
 public:
  DmaSource(Vdvmm_host_rings& t, Rng& rng) : t_(t), rng_(rng) {}
  void drive() override {
    if (!holding_ && !queue.empty() && !rng_.chance(gap)) {
      cur_ = queue.front();
      holding_ = true;
    }
    t_.s_dma_valid = holding_ ? 1 : 0;
    t_.s_dma_addr = cur_;
  }
  void sample() override {
    if (!(holding_ && t_.s_dma_ready)) return;
    queue.pop_front();
    holding_ = false;
    accepted.push_back(cur_);
  }
  void reset() {
    queue.clear();
    holding_ = false;
  }
  std::deque<uint64_t> queue;
  std::deque<uint64_t> accepted;  // taken, not yet seen in memory
  unsigned gap = 0;

 private:
  Vdvmm_host_rings& t_;
  Rng& rng_;
  bool holding_ = false;
  uint64_t cur_ = 0;
};

// The host: rings in Memory, indices and geometry on the module's inputs
// (the register file's outputs on a card).
class Host : public Component {
 public:
  Host(Vdvmm_host_rings& t, Memory& mem, Rng& rng, Checker& chk)
      : t_(t), mem_(mem), rng_(rng), chk_(chk) {}

  void drive() override {
    t_.enable = enable ? 1 : 0;
    t_.txr_base = tx_base;
    t_.txr_size = static_cast<uint16_t>(tx_words);
    t_.txr_prod = enable ? prod_ : 0;  // the register file holds them at 0 while disabled
    t_.rxr_base = rx_base;
    t_.rxr_slots = static_cast<uint16_t>(kRxSlots);
    t_.rxr_cons = enable ? cons_ : 0;
    t_.wb_addr = kWb;
  }

  void sample() override {
    if (!enable) return;
    if (t_.s_host_tvalid && !t_.s_host_tready && t_.rxr_prod - cons_ == kRxSlots) ++rx_full_stalls;
    if (reading && rng_.chance(60)) take_message();
    if (!backlog.empty() && rng_.chance(50)) push_descriptor();
  }

  // Slot of RX index i, and whether the host still owns it.
  static uint64_t slot(uint32_t i) { return kRxRing + uint64_t{i % kRxSlots} * kSlotBytes; }
  uint32_t cons() const { return cons_; }

  // CONTROL.enable was cleared and the front end is quiet: the host's side
  // of the rings starts again from index 0, on zeroed memory.
  void restart() {
    prod_ = cons_ = 0;
    mem_.clear(kTxRing, kTxWords * 8);
    mem_.clear(kRxRing, kRxSlots * kSlotBytes);
    mem_.clear(kWb, 8);
    backlog.clear();
    expect_desc.clear();
    expect_msg.clear();
  }
  // Puts raw words in the ring and rings the doorbell (error tests).
  void push_words(std::initializer_list<uint64_t> words) {
    for (uint64_t w : words) mem_.put(kTxRing + 8ull * (prod_++ & (tx_words - 1)), w);
  }
  void set_prod(uint32_t p) { prod_ = p; }

  bool enable = false;
  bool reading = true;
  uint64_t tx_base = kTxRing;
  uint32_t tx_words = kTxWords;
  uint64_t rx_base = kRxRing;
  std::deque<Bytes> backlog;      // descriptors still to put in the ring
  std::deque<Bytes> expect_desc;  // in the ring, not yet out on s_desc
  std::deque<Bytes> expect_msg;   // sent on m_host, not yet read from the RX ring
  uint64_t rx_full_stalls = 0, tx_full = 0, taken = 0;

 private:
  void take_message() {
    const uint64_t hdr = mem_.word(slot(cons_));
    if (((hdr >> 16) & 0xFFFF) != ((cons_ + 1) & 0xFFFF)) return;
    const auto len = static_cast<uint32_t>(hdr & 0xFFFF);
    chk_.check(hdr >> 32 == 0, "RX header: reserved bits set");
    if (expect_msg.empty()) {
      chk_.check(false, "RX slot filled with no message sent");
      return;
    }
    const Bytes& want = expect_msg.front();
    const uint64_t at = slot(cons_) + 64 - kBase;
    const Bytes got(mem_.bytes.begin() + static_cast<long>(at),
                    mem_.bytes.begin() + static_cast<long>(at + std::min(len, kMaxMsg)));
    chk_.check(got == want, "RX slot " + std::to_string(cons_) + ": message of " +
                                std::to_string(len) + " bytes differs from the one sent (" +
                                std::to_string(want.size()) + " bytes)");
    expect_msg.pop_front();
    ++cons_;
    ++taken;
  }

  void push_descriptor() {
    const Bytes& d = backlog.front();
    const auto words = static_cast<uint32_t>(1 + (d.size() + 7) / 8);
    // The writeback says how far the engine got (it may lag TXR_CONS).
    const auto wb_cons = static_cast<uint32_t>(mem_.word(kWb));
    chk_.check(static_cast<int32_t>(wb_cons - t_.txr_cons) <= 0, "writeback ahead of TXR_CONS");
    if (tx_words - (prod_ - wb_cons) < words) {
      ++tx_full;
      return;
    }
    Bytes padded = d;
    padded.resize((words - 1) * 8, 0);
    uint32_t p = prod_;
    mem_.put(kTxRing + 8ull * (p++ & (tx_words - 1)), d.size());
    for (size_t i = 0; i < padded.size(); i += 8) {
      uint64_t w = 0;
      std::memcpy(&w, &padded[i], 8);
      mem_.put(kTxRing + 8ull * (p++ & (tx_words - 1)), w);
    }
    prod_ = p;  // the doorbell, after the words
    expect_desc.push_back(d);
    backlog.pop_front();
  }

  Vdvmm_host_rings& t_;
  Memory& mem_;
  Rng& rng_;
  Checker& chk_;
  uint32_t prod_ = 0, cons_ = 0;
};

class Bench {
 public:
  explicit Bench(uint64_t seed)
      : rng_(seed),
        slave_rng_(seed ^ 0x5A5A),
        sim_("host_rings"),
        slave_(DVMM_AXI4_PINS(sim_.top(), m_axi_), mem_),
        slave_port_(slave_),
        host_(sim_.top(), mem_, rng_, chk_),
        desc_(sim_.top().m_desc_tdata, sim_.top().m_desc_tkeep, sim_.top().m_desc_tlast,
              sim_.top().m_desc_tvalid, sim_.top().m_desc_tready, nullptr, rng_, 0, chk_,
              "m_desc"),
        msgs_(sim_.top().s_host_tdata, sim_.top().s_host_tkeep, sim_.top().s_host_tlast,
              sim_.top().s_host_tvalid, sim_.top().s_host_tready, rng_, 0),
        dma_(sim_.top(), rng_) {
    sim_.add(host_);
    sim_.add(slave_port_);
    sim_.add(desc_);
    sim_.add(msgs_);
    sim_.add(dma_);
    slave_.on_violation = [this](const std::string& what) { chk_.check(false, what); };
    slave_.on_write_address = [this](const fpga::Axi4MemorySlave::Access& a) { on_aw(a); };
    mem_.on_write = [this](uint64_t addr, uint64_t data, uint8_t strb) {
      on_write(addr, data, strb);
    };
  }

  int run();

 private:
  void on_aw(const fpga::Axi4MemorySlave::Access& a);
  void on_write(uint64_t addr, uint64_t data, uint8_t strb);
  void step();
  bool run_until(const std::function<bool()>& done, uint64_t max_cycles);
  void impair(bool on);
  void queue_traffic(int descs, int msgs, int dmas);
  bool delivered() const;
  void traffic(int n, const char* phase);
  bool quiesce();
  void restart();
  void check_error(uint8_t bit, const char* what);

  Rng rng_;
  std::mt19937_64 slave_rng_;
  Checker chk_;
  Sim<Vdvmm_host_rings> sim_;
  Memory mem_;
  fpga::Axi4MemorySlave slave_;
  SlavePort slave_port_;
  Host host_;
  AxisSink desc_;
  AxisSource msgs_;
  DmaSource dma_;
  uint64_t descs_out_ = 0, dma_writes_ = 0;
};

// Writes into the RX ring must be to a slot the engine owns, the header
// only after the data's B responses (none outstanding then).
void Bench::on_aw(const fpga::Axi4MemorySlave::Access& a) {
  if (!host_.enable || a.addr < kRxRing || a.addr >= kRxRing + kRxSlots * kSlotBytes) return;
  auto& t = sim_.top();
  const auto slot = static_cast<uint32_t>((a.addr - kRxRing) / kSlotBytes);
  chk_.check(slot == t.rxr_prod % kRxSlots, "RX write to slot " + std::to_string(slot) +
                                                " while the producer is at " +
                                                std::to_string(t.rxr_prod));
  chk_.check(t.rxr_prod - host_.cons() < kRxSlots, "RX write to a slot the host still owns");
  if ((a.addr - kRxRing) % kSlotBytes == 0) {
    chk_.check(a.beats == 1, "RX header write of more than one beat");
    chk_.check(slave_.writes_outstanding() == 0,
               "RX header written before the B response of the message's data");
  } else {
    chk_.check((a.addr - kRxRing) % kSlotBytes == 64, "RX data not at slot offset 64");
  }
}

void Bench::on_write(uint64_t addr, uint64_t data, uint8_t strb) {
  if (addr >= kBitmaps && addr < kBitmaps + kBitmapBytes) {
    const unsigned lane = static_cast<unsigned>(__builtin_ctz(strb));
    chk_.check(strb != 0 && (strb & (strb - 1)) == 0, "bitmap write of more than one byte");
    chk_.check(((data >> (8 * lane)) & 0xFF) == 1, "bitmap byte not 0x01");
    if (dma_.accepted.empty()) {
      chk_.check(false, "bitmap write nobody asked for");
      return;
    }
    chk_.check(addr + lane == dma_.accepted.front(), "bitmap write to the wrong byte");
    dma_.accepted.pop_front();
    ++dma_writes_;
  } else if (addr >= kTxRing && addr < kTxRing + kTxWords * 8) {
    chk_.check(false, "the engine wrote into the TX ring");
  }
}

void Bench::step() {
  sim_.step();
  auto& q = desc_.packets();
  while (!q.empty()) {
    if (host_.expect_desc.empty()) {
      chk_.check(false, "descriptor on s_desc that the host never wrote");
    } else {
      chk_.check(q.front().bytes == host_.expect_desc.front(),
                 "descriptor " + std::to_string(descs_out_) + " differs: " + hex(q.front().bytes));
      host_.expect_desc.pop_front();
    }
    ++descs_out_;
    q.pop_front();
  }
}

bool Bench::run_until(const std::function<bool()>& done, uint64_t max_cycles) {
  for (uint64_t i = 0; i < max_cycles; ++i) {
    if (done()) return true;
    step();
  }
  return done();
}

void Bench::impair(bool on) {
  slave_.set_stalls(on ? &slave_rng_ : nullptr,
                    on ? fpga::Axi4MemorySlave::Stalls{30, 30, 30, 40, 40}
                       : fpga::Axi4MemorySlave::Stalls{});
  desc_.set_stall(on ? 30 : 0);
  msgs_.set_gap(on ? 30 : 0);
  dma_.gap = on ? 50 : 0;
}

void Bench::queue_traffic(int descs, int msgs, int dmas) {
  for (int i = 0; i < descs; ++i) {
    Bytes d(rng_.uniform(1, kMaxDesc));
    for (auto& b : d) b = rng_.byte();
    host_.backlog.push_back(d);
  }
  for (int i = 0; i < msgs; ++i) {
    Bytes m(rng_.uniform(1, kMaxMsg));
    for (auto& b : m) b = rng_.byte();
    msgs_.send(m);
    host_.expect_msg.push_back(m);
  }
  for (int i = 0; i < dmas; ++i) dma_.queue.push_back(kBitmaps + rng_.uniform(0, kBitmapBytes - 1));
}

bool Bench::delivered() const {
  return host_.backlog.empty() && host_.expect_desc.empty() && host_.expect_msg.empty() &&
         dma_.queue.empty() && dma_.accepted.empty();
}

// n of each kind under random stalls, with phases of a host that does not
// read (RX ring full) and an engine that does not take descriptors (TX
// ring full).
void Bench::traffic(int n, const char* phase) {
  impair(true);
  queue_traffic(n, n, n / 3);
  const bool done = run_until(
      [&] {
        const uint64_t p = (sim_.cycle() / 3000) % 4;
        host_.reading = p != 1;
        desc_.set_stall(p == 2 ? 97 : 30);
        return delivered();
      },
      static_cast<uint64_t>(n) * 400);
  host_.reading = true;
  chk_.check(done, std::string(phase) + ": not everything was delivered (" +
                       std::to_string(host_.backlog.size() + host_.expect_desc.size()) +
                       " descriptors, " + std::to_string(host_.expect_msg.size()) +
                       " messages, " + std::to_string(dma_.queue.size() + dma_.accepted.size()) +
                       " bitmap writes left)");
  impair(false);
}

// Everything written, every response taken: busy must fall.
bool Bench::quiesce() {
  return run_until(
      [&] {
        return sim_.top().busy == 0 && slave_.writes_outstanding() == 0 &&
               slave_.reads_outstanding() == 0;
      },
      5000);
}

// CONTROL.enable cleared, the front end quiet, the host's rings reset,
// enable set again.
void Bench::restart() {
  host_.enable = false;
  desc_.reset();
  msgs_.reset();
  dma_.reset();
  step();  // enable low at the next edge
  chk_.check(quiesce(), "busy did not fall after enable was cleared");
  auto& t = sim_.top();
  chk_.check(t.txr_cons == 0 && t.rxr_prod == 0 && t.error == 0,
             "indices or errors not reset while disabled");
  host_.restart();
  host_.tx_base = kTxRing;
  host_.tx_words = kTxWords;
  host_.rx_base = kRxRing;
  host_.enable = true;
  step();
}

void Bench::check_error(uint8_t bit, const char* what) {
  const uint64_t before = descs_out_;
  const bool seen = run_until([&] { return (sim_.top().error & bit) != 0; }, 2000);
  chk_.check(seen, std::string(what) + ": error bit " + std::to_string(bit) + " not set");
  chk_.check(quiesce(), std::string(what) + ": the rings did not stop");
  chk_.check(descs_out_ == before, std::string(what) + ": a descriptor came out");
  restart();
}

int Bench::run() {
  auto& t = sim_.top();
  reset(sim_);
  host_.enable = true;
  step();

  traffic(3000, "traffic");
  chk_.check(host_.rx_full_stalls > 0, "the RX ring never filled (m_host never held by it)");
  chk_.check(host_.tx_full > 0, "the TX ring never filled");
  chk_.check(quiesce(), "busy did not fall after the traffic");
  chk_.check(t.error == 0, "an error bit is set after clean traffic: " + std::to_string(t.error));
  const uint64_t wb = mem_.word(kWb);
  chk_.check(static_cast<uint32_t>(wb) == t.txr_cons && (wb >> 32) == t.rxr_prod,
             "writeback differs from TXR_CONS/RXR_PROD");
  chk_.check(t.rxr_prod == host_.taken, "RXR_PROD is not the number of messages written");
  std::printf("traffic: %llu descriptors, %llu messages, %llu bitmap writes in %llu cycles; "
              "RX ring full %llu cycles, TX ring full %llu times\n",
              static_cast<unsigned long long>(descs_out_),
              static_cast<unsigned long long>(host_.taken),
              static_cast<unsigned long long>(dma_writes_),
              static_cast<unsigned long long>(sim_.cycle()),
              static_cast<unsigned long long>(host_.rx_full_stalls),
              static_cast<unsigned long long>(host_.tx_full));

  // enable cleared in the middle of traffic, with transactions in flight.
  impair(true);
  queue_traffic(200, 200, 50);
  run_until([] { return false; }, 700);
  chk_.check(t.busy == 1, "busy clear while traffic flows");
  restart();
  chk_.check(dma_.accepted.empty(), "a bitmap write taken before the restart was not written");
  traffic(300, "after a restart");

  // Errors: each stops the rings, the next enable clears it.
  host_.push_words({0});
  check_error(kErrIndex, "zero-length descriptor");
  host_.push_words({kMaxDesc + 1, 0, 0});
  check_error(kErrIndex, "descriptor longer than MAX_MSG_BYTES + 8");
  host_.set_prod(kTxWords + 1);
  check_error(kErrIndex, "producer more than the ring ahead");
  host_.tx_words = 48;
  check_error(kErrGeometry, "ring size not a power of 2");
  host_.tx_base = kTxRing + 8;
  check_error(kErrGeometry, "misaligned ring");
  host_.tx_base = kBase + kMemBytes;  // no memory there
  host_.push_words({16, 1, 2});
  check_error(kErrResponse, "descriptor read answered with an error");
  host_.rx_base = kBase + kMemBytes;
  msgs_.send(Bytes(40, 0xAB));
  check_error(kErrResponse, "message write answered with an error");
  chk_.check(slave_.error_responses() >= 2, "the slave gave no error responses");

  traffic(300, "after the errors");
  std::printf("cycles %llu\n", static_cast<unsigned long long>(sim_.cycle()));
  return chk_.finish("tb_host_rings");
}

}  // namespace

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  Bench bench(seed_from_env(21));
  return bench.run();
}
