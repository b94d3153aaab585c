// The whole engine: three dvmm_engine instances (nodes 0-2 of one
// cluster) joined by a software Ethernet switch that drops, duplicates,
// reorders and corrupts frames, and injects frames the receivers must
// filter out. Every host port sees random valid gaps or back-pressure.
//
// Scoreboard, against references that do not share code with the RTL:
//   - every frame on the wire: FCS from the reference CRC, and the bytes
//     before it equal to what dataplane's own codecs (message.cpp encode,
//     frame.cpp encode_frame) produce for the decoded message;
//   - every raw message and every IPI that is not for the fast path
//     arrives in its destination's host queue exactly once, in order per
//     link, with the header the reliability layer owns filled in;
//   - every fast-path IPI becomes exactly one pending-bitmap write of the
//     documented byte; IPI targets (multicast expansion)
//     come from a reference model of the APIC table;
//   - the counters: descriptors, bad descriptors, IPIs without a target,
//     frames received and each injected drop reason, exactly.
// Sequence numbers start at 0xFFFFFF00, so every link wraps past 2^32-1
// (to 1, skipping 0) during the run. At the end every engine is disabled
// and enabled again (CONTROL.enable), as a host does to reprogram it: the
// links must restart from FIRST_SEQ and carry traffic as before.
// First, on an idle and unimpaired cluster, the engine's latencies are
// measured and printed as one JSON line (FPGA_LATENCY_JSON ...).
#include <algorithm>
#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include "Vdvmm_engine.h"
#include "axil.hpp"
#include "axis.hpp"
#include "descriptors.hpp"
#include "engine_regs.hpp"
#include "ipi_ref.hpp"
#include "ref.hpp"

using namespace dvmm::fpga::tb;
namespace dp = dvmm::dataplane;

namespace {

constexpr int kNodes = 3;              // engines (the RTL is built for 4 nodes)
constexpr uint32_t kVcpus = 12;        // vCPU v: node v % kNodes, APIC ID v
constexpr uint32_t kApics = 16;        // RTL APICS
constexpr uint32_t kBitmapVcpus = 10;  // vCPUs 10, 11: IPIs go to the host queue
constexpr uint32_t kCluster = 0xC1A5'7E00;
constexpr uint32_t kRetxTimeout = 600;       // cycles
constexpr uint32_t kAckDelay = 40;           // cycles
constexpr double kTargetMhz = 250.0;         // clock the latency is quoted at
constexpr uint32_t kFirstSeq = 0xFFFF'FF00;  // the RTL's FIRST_SEQ (CMakeLists)

// Wire sequence numbers skip 0 (reliable_link.cpp): steps from a to b,
// and whether a comes after b (within half the space).
uint32_t seq_dist(uint32_t a, uint32_t b) {
  return b >= a ? b - a : b - a - 1;
}
bool seq_after(uint32_t a, uint32_t b) {
  return a != b && seq_dist(b, a) < 0x8000'0000u;
}

MacAddress mac_of(int node) {
  return {0x02, 0x00, 0x5E, 0x10, 0x00, static_cast<uint8_t>(node)};
}
uint64_t bitmap_base(int node) {
  return (static_cast<uint64_t>(node) + 1) << 36;
}
int node_of_vcpu(uint32_t v) {
  return static_cast<int>(v % kNodes);
}
uint32_t ldr_of(uint32_t v) {
  return (1u << (v % 8)) << 24;
}  // xAPIC flat model

// Accepts pending-bitmap writes under random back-pressure.
class DmaSink : public Component {
 public:
  struct Write {
    uint64_t addr;  // the byte set to 0x01
    uint64_t cycle;
  };
  DmaSink(Vdvmm_engine& t, Rng& rng, const uint64_t* cycle) : t_(t), rng_(rng), cycle_(cycle) {}
  void set_stall(unsigned p) { stall_ = p; }
  void drive() override { t_.m_dma_ready = rng_.chance(stall_) ? 0 : 1; }
  void sample() override {
    if (t_.m_dma_valid && t_.m_dma_ready)
      writes.push_back(Write{t_.m_dma_addr, *cycle_});
  }
  std::deque<Write> writes;

 private:
  Vdvmm_engine& t_;
  Rng& rng_;
  const uint64_t* cycle_;
  unsigned stall_ = 0;
};

struct Engine {
  Engine(int node, Rng& rng, Checker& chk)
      : id(node),
        sim(("engine" + std::to_string(node)).c_str()),
        axil(sim.top(), rng, chk),
        desc(sim.top().s_desc_tdata, sim.top().s_desc_tkeep, sim.top().s_desc_tlast,
             sim.top().s_desc_tvalid, sim.top().s_desc_tready, rng, 0),
        tx(sim.top().m_tx_tdata, sim.top().m_tx_tkeep, sim.top().m_tx_tlast, sim.top().m_tx_tvalid,
           sim.top().m_tx_tready, nullptr, rng, 0, chk, "engine" + std::to_string(node) + " m_tx"),
        rx(sim.top().s_rx_tdata, sim.top().s_rx_tkeep, sim.top().s_rx_tlast, sim.top().s_rx_tvalid,
           sim.top().s_rx_tready, rng, 0),
        host(sim.top().m_host_tdata, sim.top().m_host_tkeep, sim.top().m_host_tlast,
             sim.top().m_host_tvalid, sim.top().m_host_tready, nullptr, rng, 0, chk,
             "engine" + std::to_string(node) + " m_host"),
        dma(sim.top(), rng, sim.cycle_ptr()) {
    for (Component* c : std::initializer_list<Component*>{&axil, &desc, &tx, &rx, &host, &dma})
      sim.add(*c);
    desc.set_clock(sim.cycle_ptr());
    rx.set_clock(sim.cycle_ptr());
    tx.set_clock(sim.cycle_ptr());
    host.set_clock(sim.cycle_ptr());
  }
  void impair(bool on) {
    desc.set_gap(on ? 30 : 0);
    rx.set_gap(on ? 20 : 0);
    tx.set_stall(on ? 20 : 0);
    host.set_stall(on ? 30 : 0);
    dma.set_stall(on ? 30 : 0);
  }
  int id;
  Sim<Vdvmm_engine> sim;
  AxilMaster<Vdvmm_engine> axil;
  AxisSource desc;
  AxisSink tx;
  AxisSource rx;
  AxisSink host;
  DmaSink dma;
};

// What a host queue must receive, in order, per link.
struct HostExpect {
  dp::Message msg;  // payload; the header is checked field by field
};

struct Counts {
  uint64_t desc = 0, bad_desc = 0, no_target = 0;      // per sender
  uint64_t rx_frames = 0, bad_fcs = 0, ethertype = 0;  // per receiver
  uint64_t dst_mac = 0, cluster = 0, malformed = 0;
  uint64_t host = 0, ipi = 0;
};

class Bench {
 public:
  explicit Bench(uint64_t seed) : rng_(seed) {
    for (int n = 0; n < kNodes; ++n) engines_.push_back(std::make_unique<Engine>(n, rng_, chk_));
  }

  int run();

 private:
  void step();
  void configure();
  void carry(int from, const Packet& p);
  void deliver(int to, const Bytes& frame_no_fcs, bool corrupt);
  void check_host(int node, const Packet& p);
  void check_dma(int node, const DmaSink::Write& w);
  bool all_delivered() const;
  bool run_until(const std::function<bool()>& done, uint64_t max_cycles);
  uint32_t read_reg(int node, uint32_t addr);
  void send_raw(int from, int to, const dp::Message& msg);
  void send_ipi(int from, const IpiDesc& d);
  IpiDesc random_ipi(int from);
  void send_bad(int from);
  void inject(int to);
  dp::Message random_message();
  void measure_latency();
  void restart();

  Rng rng_;
  Checker chk_;
  std::vector<std::unique_ptr<Engine>> engines_;
  bool impaired_ = false;
  // Reorder buffer per receiver: a frame held back, and since when.
  std::array<std::optional<std::pair<Bytes, uint64_t>>, kNodes> held_{};
  std::array<std::array<std::deque<HostExpect>, kNodes>, kNodes> host_expect_{};  // [src][dst]
  std::array<std::array<uint32_t, kNodes>, kNodes> last_seq_{};
  std::map<std::tuple<int, uint32_t, uint32_t>, int64_t> bitmap_expect_;  // (node, vcpu, vector)
  std::array<Counts, kNodes> counts_{};
  uint64_t dropped_ = 0, duplicated_ = 0, reordered_ = 0;
  // Latency probes: first data frame each engine sent since reset of the
  // probe, and the cycles of the last host-queue packet and bitmap write.
  std::array<std::optional<uint64_t>, kNodes> first_tx_cycle_{};
  std::array<uint64_t, kNodes> last_host_cycle_{};
  std::array<uint64_t, kNodes> last_dma_cycle_{};
  // Per link [from][to]: the last ack carried, the highest seq sent.
  std::array<std::array<uint32_t, kNodes>, kNodes> ack_seen_{};
  std::array<std::array<uint32_t, kNodes>, kNodes> max_seq_{};
  uint64_t piggybacked_ = 0;  // data frames that carried an ack
  // Links restarted (CONTROL.enable cleared and set) that have not sent yet.
  std::array<std::array<bool, kNodes>, kNodes> fresh_link_{};
  int fresh_checked_ = 0;
  bool saw_last_seq_ = false;  // a frame with seq 2^32-1 went by
  bool wrapped_ = false;       // ... and later one with seq 1
};

uint32_t Bench::read_reg(int node, uint32_t addr) {
  uint32_t value = 0;
  bool done = false;
  engines_[static_cast<size_t>(node)]->axil.read(addr, [&](uint32_t v) {
    value = v;
    done = true;
  });
  for (int i = 0; i < 200 && !done; ++i) step();
  chk_.check(done, "AXI-Lite read timed out");
  return value;
}

void Bench::configure() {
  for (auto& e : engines_) {
    auto& m = e->axil;
    const auto mac = mac_to_u64(mac_of(e->id));
    m.write(reg::kLocalNode, static_cast<uint32_t>(e->id));
    m.write(reg::kLocalMacLo, static_cast<uint32_t>(mac));
    m.write(reg::kLocalMacHi, static_cast<uint32_t>(mac >> 32));
    m.write(reg::kClusterId, kCluster);
    m.write(reg::kRetxTimeout, kRetxTimeout);
    m.write(reg::kAckDelay, kAckDelay);
    m.write(reg::kBitmapLo, static_cast<uint32_t>(bitmap_base(e->id)));
    m.write(reg::kBitmapHi, static_cast<uint32_t>(bitmap_base(e->id) >> 32));
    m.write(reg::kBitmapVcpus, kBitmapVcpus);
    for (int n = 0; n < kNodes; ++n) {
      const auto nm = mac_to_u64(mac_of(n));
      m.write(reg::node_mac_lo(static_cast<uint32_t>(n)), static_cast<uint32_t>(nm));
      m.write(reg::node_mac_hi(static_cast<uint32_t>(n)),
              static_cast<uint32_t>(nm >> 32) | reg::kValid);
    }
    for (uint32_t v = 0; v < kVcpus; ++v) {
      // Byte-wise writes of the node word check WSTRB on the way.
      m.write(reg::apic_entry(v), static_cast<uint32_t>(node_of_vcpu(v)), 0x3);
      m.write(reg::apic_entry(v), reg::kValid, 0x8);
      m.write(reg::apic_vcpu(v), v);
      m.write(reg::apic_ldr(v), ldr_of(v));
    }
    m.write(reg::kControl, 0x3);  // enable, clear counters
  }
  while (true) {
    bool idle = true;
    for (auto& e : engines_) idle = idle && e->axil.idle();
    if (idle) break;
    step();
  }
  for (auto& e : engines_) {
    chk_.check(read_reg(e->id, reg::kId) == 0xD7E0'0002u, "ID register");
    chk_.check(read_reg(e->id, reg::apic_entry(5)) == (reg::kValid | 2u), "APIC entry readback");
    chk_.check(read_reg(e->id, reg::node_mac_hi(1)) ==
                   (reg::kValid | static_cast<uint32_t>(mac_to_u64(mac_of(1)) >> 32)),
               "node MAC readback");
  }
}

void Bench::step() {
  for (auto& e : engines_) e->sim.step();
  const uint64_t now = engines_[0]->sim.cycle();
  for (auto& e : engines_) {
    while (!e->tx.packets().empty()) {
      carry(e->id, e->tx.packets().front());
      e->tx.packets().pop_front();
    }
    while (!e->host.packets().empty()) {
      check_host(e->id, e->host.packets().front());
      e->host.packets().pop_front();
    }
    while (!e->dma.writes.empty()) {
      check_dma(e->id, e->dma.writes.front());
      e->dma.writes.pop_front();
    }
  }
  // A held-back frame goes out after the next one, or after a while.
  for (int n = 0; n < kNodes; ++n) {
    auto& h = held_[static_cast<size_t>(n)];
    if (h && now - h->second > 80) {
      deliver(n, h->first, false);
      h.reset();
    }
  }
}

void Bench::carry(int from, const Packet& p) {
  chk_.check(fcs_ok(p.bytes), "engine " + std::to_string(from) + " sent a frame with a bad FCS");
  if (p.bytes.size() < 64) {
    chk_.check(false, "frame shorter than 64 bytes with FCS");
    return;
  }
  const Bytes frame(p.bytes.begin(), p.bytes.end() - 4);
  std::string why;
  const auto w = decode_wire(frame, &why);
  chk_.check(w.has_value(), "engine " + std::to_string(from) + " frame does not decode: " + why +
                                " " + hex(frame));
  if (!w) return;
  // Byte for byte what dataplane's codecs make of the same message.
  chk_.check(encode_wire(w->msg, w->dst, w->src) == frame,
             "frame differs from encode_frame(encode(msg)): " + hex(frame));
  const auto& h = w->msg.header;
  chk_.check(h.src_node == from && h.cluster_id == kCluster, "frame header src/cluster");
  chk_.check(h.dst_node < kNodes && h.dst_node != from, "frame header dst");
  if (h.dst_node >= kNodes) return;
  chk_.check(w->src == mac_of(from) && w->dst == mac_of(h.dst_node), "frame MACs");
  const bool is_ack = std::holds_alternative<dp::AckPayload>(w->msg.payload);
  chk_.check(is_ack == (h.flags == dp::kFlagAckOnly) && is_ack == (h.seq == 0),
             "ACK frame flags/seq");

  const int to = h.dst_node;
  // Cumulative acks only move forward, and never past what the peer sent.
  auto& ack_seen = ack_seen_[static_cast<size_t>(from)][static_cast<size_t>(to)];
  if (ack_seen != 0) {
    chk_.check(h.ack == ack_seen || seq_after(h.ack, ack_seen), "cumulative ack went backwards");
  }
  const uint32_t peer_max = max_seq_[static_cast<size_t>(to)][static_cast<size_t>(from)];
  if (h.ack != 0) {
    chk_.check(peer_max != 0 && (h.ack == peer_max || seq_after(peer_max, h.ack)),
               "ack for a sequence number never sent");
  }
  ack_seen = h.ack;
  if (!is_ack) {
    auto& ms = max_seq_[static_cast<size_t>(from)][static_cast<size_t>(to)];
    if (ms == 0 || seq_after(h.seq, ms)) ms = h.seq;
    if (h.ack != 0) ++piggybacked_;
    if (h.seq == 0xFFFF'FFFFu) saw_last_seq_ = true;
    if (h.seq == 1 && saw_last_seq_) wrapped_ = true;
  }
  auto& fresh = fresh_link_[static_cast<size_t>(from)][static_cast<size_t>(to)];
  if (fresh && !is_ack) {
    chk_.check(h.seq == kFirstSeq, "first frame after a restart has seq " + std::to_string(h.seq));
    fresh = false;
    ++fresh_checked_;
  }
  auto& first = first_tx_cycle_[static_cast<size_t>(from)];
  if (!is_ack && !first) first = p.first_cycle;
  if (!impaired_) {
    deliver(to, frame, false);
    return;
  }
  if (rng_.chance(4)) {
    ++dropped_;
    return;
  }
  const int copies = rng_.chance(4) ? 2 : 1;
  if (copies == 2) ++duplicated_;
  for (int c = 0; c < copies; ++c) {
    auto& held = held_[static_cast<size_t>(to)];
    if (!held && rng_.chance(4)) {
      // Held back until the next frame to the same receiver overtakes it.
      ++reordered_;
      held = std::make_pair(frame, engines_[0]->sim.cycle());
      continue;
    }
    deliver(to, frame, rng_.chance(2));
    if (held) {
      deliver(to, held->first, false);
      held.reset();
    }
  }
}

// Appends the FCS and queues the frame on the receiver's port; corrupt
// flips one bit after the FCS was computed (an FCS drop).
void Bench::deliver(int to, const Bytes& frame_no_fcs, bool corrupt) {
  Bytes wire = with_fcs(frame_no_fcs);
  if (corrupt) {
    wire[rng_.uniform(0, wire.size() - 1)] ^= static_cast<uint8_t>(1u << rng_.uniform(0, 7));
    ++counts_[static_cast<size_t>(to)].bad_fcs;
  }
  ++counts_[static_cast<size_t>(to)].rx_frames;
  engines_[static_cast<size_t>(to)]->rx.send(wire);
}

void Bench::check_host(int node, const Packet& p) {
  auto& c = counts_[static_cast<size_t>(node)];
  ++c.host;
  last_host_cycle_[static_cast<size_t>(node)] = p.first_cycle;
  auto got = dp::decode(p.bytes);
  chk_.check(got.ok(), "engine " + std::to_string(node) + " host queue: message does not decode: " +
                           (got.ok() ? "" : got.error().message) + " " + hex(p.bytes));
  if (!got.ok()) return;
  const auto& h = got->header;
  chk_.check(h.src_node < kNodes && h.src_node != node && h.dst_node == node &&
                 h.cluster_id == kCluster && h.flags == 0 && h.seq != 0,
             "host queue: header fields");
  if (h.src_node >= kNodes) return;
  auto& last = last_seq_[h.src_node][static_cast<size_t>(node)];
  chk_.check(last == 0 || seq_after(h.seq, last),
             "host queue: sequence numbers not increasing on a link");
  last = h.seq;
  auto& q = host_expect_[h.src_node][static_cast<size_t>(node)];
  if (q.empty()) {
    chk_.check(false, "host queue: unexpected message (a duplicate?) " + hex(p.bytes));
    return;
  }
  dp::Message want = q.front().msg;
  q.pop_front();
  want.header = h;  // checked above; the payload must match byte for byte
  Bytes enc(dp::kMaxMessageSize);
  enc.resize(dp::encode(want, enc));
  chk_.check(enc == p.bytes, "host queue: message differs (lost or reordered?): got " +
                                 hex(p.bytes) + " want " + hex(enc));
}

void Bench::check_dma(int node, const DmaSink::Write& w) {
  ++counts_[static_cast<size_t>(node)].ipi;
  last_dma_cycle_[static_cast<size_t>(node)] = w.cycle;
  const uint64_t base = bitmap_base(node);
  // One byte per vector: base + 256 * vcpu + vector.
  const uint64_t off = w.addr - base;
  const bool addr_ok = w.addr >= base && off < 256ull * kBitmapVcpus;
  chk_.check(addr_ok, "bitmap write outside the bitmaps");
  if (!addr_ok) return;
  const auto vcpu = static_cast<uint32_t>(off / 256);
  const auto vector = static_cast<uint32_t>(off % 256);
  auto it = bitmap_expect_.find({node, vcpu, vector});
  chk_.check(it != bitmap_expect_.end() && it->second > 0,
             "unexpected or repeated bitmap write: node " + std::to_string(node) + " vcpu " +
                 std::to_string(vcpu) + " vector " + std::to_string(vector));
  if (it != bitmap_expect_.end()) --it->second;
}

bool Bench::all_delivered() const {
  for (const auto& e : engines_) {
    if (!e->desc.idle()) return false;
  }
  for (const auto& row : host_expect_) {
    for (const auto& q : row) {
      if (!q.empty()) return false;
    }
  }
  for (const auto& [k, n] : bitmap_expect_) {
    if (n != 0) return false;
  }
  return true;
}

dp::Message Bench::random_message() {
  dp::Message m;
  auto r64 = [&] { return rng_.uniform(0, ~uint64_t{0}); };
  auto r32 = [&] { return static_cast<uint32_t>(rng_.uniform(0, 0xFFFF'FFFF)); };
  switch (rng_.uniform(0, 7)) {
    case 0: {
      dp::IoRequestPayload p;
      p.request_id = r64();
      p.vcpu = r32();
      p.space = dp::IoSpace::kMmio;
      p.size = 8;
      p.is_write = 1;
      p.address = r64();
      p.data = r64();
      m.payload = p;
      break;
    }
    case 1:
      m.payload = dp::IoResponsePayload{r64(), r64()};
      break;
    case 2: {
      dp::EoiPayload p;
      p.vector = rng_.byte();
      m.payload = p;
      break;
    }
    case 3:
      m.payload = dp::ClockPayload{r64(), r64(), r64()};
      break;
    case 4:
      m.payload = dp::HeartbeatPayload{r64()};
      break;
    case 5:
      m.payload = dp::DsmAckPayload{r64(), r32()};
      break;
    case 6:
      m.payload = dp::ApicUpdateAckPayload{r32()};
      break;
    default: {
      // The largest: 24 + 20 + up to 84 bytes = MAX_MSG_BYTES (128).
      dp::DsmDataPayload p;
      p.page = r64() & 0xF'FFFF'FFFFull;
      p.request_id = r32();
      p.data.resize(rng_.uniform(1, 84));
      for (auto& b : p.data) b = rng_.byte();
      m.payload = std::move(p);
      break;
    }
  }
  // Garbage in the fields the engine owns: it must overwrite them.
  m.header.src_node = static_cast<uint16_t>(r32());
  m.header.dst_node = static_cast<uint16_t>(r32());
  m.header.seq = r32();
  m.header.ack = r32();
  m.header.cluster_id = r32();
  return m;
}

void Bench::send_raw(int from, int to, const dp::Message& msg) {
  Bytes enc(dp::kMaxMessageSize);
  enc.resize(dp::encode(msg, enc));
  chk_.check(dp::decode(enc).ok(), "testbench made an invalid message");
  engines_[static_cast<size_t>(from)]->desc.send_beats(
      raw_descriptor(static_cast<uint16_t>(to), enc));
  host_expect_[static_cast<size_t>(from)][static_cast<size_t>(to)].push_back(HostExpect{msg});
  ++counts_[static_cast<size_t>(from)].desc;
}

void Bench::send_ipi(int from, const IpiDesc& d) {
  engines_[static_cast<size_t>(from)]->desc.send_beats(ipi_descriptor(d));
  auto& c = counts_[static_cast<size_t>(from)];
  ++c.desc;
  std::vector<ApicEntry> table(kApics);
  for (uint32_t v = 0; v < kVcpus; ++v) {
    table[v] = ApicEntry{true, static_cast<uint16_t>(node_of_vcpu(v)), v, ldr_of(v)};
  }
  const auto targets = ipi_targets(d, table, [&](uint16_t n) { return n < kNodes && n != from; });
  if (targets.empty()) ++c.no_target;
  for (const uint32_t vcpu : targets) {
    const int node = node_of_vcpu(vcpu);
    const bool fast = (d.mode == 0 || d.mode == 1) && (d.flags & 2) == 0 && vcpu < kBitmapVcpus;
    if (fast) {
      ++bitmap_expect_[{node, vcpu, d.vector}];
    } else {
      dp::Message m;
      m.payload = dp::IpiPayload{vcpu,        d.vector,      d.mode,        d.flags,
                                 d.shorthand, d.destination, d.source_vcpu, 0};
      host_expect_[static_cast<size_t>(from)][static_cast<size_t>(node)].push_back(HostExpect{m});
    }
  }
}

IpiDesc Bench::random_ipi(int from) {
  IpiDesc d;
  d.vector = static_cast<uint8_t>(rng_.uniform(16, 255));
  static constexpr uint8_t kModes[] = {0, 0, 0, 0, 0, 0, 0, 1, 4, 5, 6, 7};
  d.mode = kModes[rng_.uniform(0, sizeof kModes - 1)];
  d.flags =
      static_cast<uint8_t>(rng_.chance(10) ? 2 : 0) | static_cast<uint8_t>(rng_.chance(50) ? 4 : 0);
  const auto sh = rng_.uniform(0, 9);
  d.shorthand = static_cast<uint8_t>(sh < 7 ? 0 : sh - 6);  // mostly none
  if (rng_.chance(30)) {
    d.flags |= 1;  // logical, xAPIC flat
    d.destination = rng_.byte();
  } else if (rng_.chance(20)) {
    d.flags |= 8;  // x2APIC physical
    d.destination = rng_.chance(15) ? 0xFFFF'FFFFu : static_cast<uint32_t>(rng_.uniform(0, 20));
  } else {
    d.destination = rng_.chance(15) ? 0xFFu : static_cast<uint32_t>(rng_.uniform(0, 14));
  }
  // A vCPU of the sending node, or a device.
  d.source_vcpu =
      rng_.chance(20)
          ? -1
          : static_cast<int32_t>(rng_.uniform(0, 3) * kNodes + static_cast<uint32_t>(from));
  return d;
}

void Bench::send_bad(int from) {
  auto& e = *engines_[static_cast<size_t>(from)];
  auto& c = counts_[static_cast<size_t>(from)];
  ++c.desc;
  ++c.bad_desc;
  switch (rng_.uniform(0, 3)) {
    case 0: {  // SMI is never forwarded
      IpiDesc d = random_ipi(from);
      d.mode = 2;
      e.desc.send_beats(ipi_descriptor(d));
      break;
    }
    case 1:  // unknown kind
      e.desc.send_beats(BeatPacket{AxisBeat{0x09, 0xFF, true, false}});
      break;
    case 2: {  // to itself
      Bytes enc(dp::kMaxMessageSize);
      enc.resize(dp::encode(random_message(), enc));
      e.desc.send_beats(raw_descriptor(static_cast<uint16_t>(from), enc));
      break;
    }
    default: {  // to node 3, whose MAC is not programmed
      Bytes enc(dp::kMaxMessageSize);
      enc.resize(dp::encode(random_message(), enc));
      e.desc.send_beats(raw_descriptor(3, enc));
      break;
    }
  }
}

// A frame with a good FCS that the receiver must drop, and why.
void Bench::inject(int to) {
  auto& c = counts_[static_cast<size_t>(to)];
  const int other = (to + 1) % kNodes;
  dp::Message m = random_message();
  m.header.src_node = static_cast<uint16_t>(other);
  m.header.dst_node = static_cast<uint16_t>(to);
  m.header.cluster_id = kCluster;
  m.header.seq = 1;
  m.header.ack = 0;
  Bytes f;
  switch (rng_.uniform(0, 3)) {
    case 0:
      f = encode_wire(m, mac_of(to), mac_of(other));
      f[12] = 0x08;  // IPv4
      f[13] = 0x00;
      ++c.ethertype;
      break;
    case 1:
      m.header.cluster_id = kCluster ^ 0x100;
      f = encode_wire(m, mac_of(to), mac_of(other));
      ++c.cluster;
      break;
    case 2:
      f = encode_wire(m, MacAddress{0x02, 0x00, 0x5E, 0x10, 0x00, 0x77}, mac_of(other));
      ++c.dst_mac;
      break;
    default:
      f = encode_wire(m, mac_of(to), mac_of(other));
      f[16] = 0xD8;  // magic
      ++c.malformed;
      break;
  }
  deliver(to, f, false);
}

void Bench::measure_latency() {
  auto& e0 = *engines_[0];
  auto& e1 = *engines_[1];
  auto& e2 = *engines_[2];
  // IPI, physical, to vCPU 1 on node 1: the fast path.
  first_tx_cycle_.fill(std::nullopt);
  IpiDesc d;
  d.vector = 0x41;
  d.destination = 1;
  d.source_vcpu = 0;
  send_ipi(0, d);
  const bool ipi_done = run_until([&] { return counts_[1].ipi == 1; }, 5000);
  chk_.check(ipi_done && first_tx_cycle_[0].has_value(), "latency IPI not delivered");
  const uint64_t ipi_tx_first = first_tx_cycle_[0].value_or(0) - e0.desc.first_accept_cycle();
  const uint64_t ipi_tx_last = first_tx_cycle_[0].value_or(0) - e0.desc.last_accept_cycle();
  const uint64_t ipi_rx = last_dma_cycle_[1] - e1.rx.last_accept_cycle();
  run_until([&] { return false; }, 500);  // let the ACKs settle

  // A 64-byte raw message (DSM data with a 20-byte chunk) to node 2.
  first_tx_cycle_.fill(std::nullopt);
  dp::Message m;
  dp::DsmDataPayload p;
  p.page = 7;
  p.data.assign(20, 0x5A);
  m.payload = p;
  send_raw(0, 2, m);
  const bool raw_done = run_until([&] { return counts_[2].host == 1; }, 5000);
  chk_.check(raw_done && first_tx_cycle_[0].has_value(), "latency raw message not delivered");
  const uint64_t raw_tx = first_tx_cycle_[0].value_or(0) - e0.desc.first_accept_cycle();
  const uint64_t raw_rx = last_host_cycle_[2] - e2.rx.last_accept_cycle();
  run_until([&] { return false; }, 500);

  const double ns = 1000.0 / kTargetMhz;
  std::printf(
      "FPGA_LATENCY_JSON {\"clock_mhz\": %.0f, "
      "\"ipi_desc_first_beat_to_tx_first_beat_cycles\": %llu, "
      "\"ipi_desc_last_beat_to_tx_first_beat_cycles\": %llu, "
      "\"ipi_rx_last_beat_to_bitmap_write_cycles\": %llu, "
      "\"raw64_desc_first_beat_to_tx_first_beat_cycles\": %llu, "
      "\"raw64_rx_last_beat_to_host_queue_first_beat_cycles\": %llu, "
      "\"ipi_tx_ns\": %.1f, \"ipi_rx_ns\": %.1f}\n",
      kTargetMhz, static_cast<unsigned long long>(ipi_tx_first),
      static_cast<unsigned long long>(ipi_tx_last), static_cast<unsigned long long>(ipi_rx),
      static_cast<unsigned long long>(raw_tx), static_cast<unsigned long long>(raw_rx),
      static_cast<double>(ipi_tx_first) * ns, static_cast<double>(ipi_rx) * ns);
  // Regression bounds: the pipeline is a fixed number of stages.
  chk_.check(ipi_tx_first <= 24 && ipi_rx <= 12 && raw_tx <= 40 && raw_rx <= 12,
             "engine latency above its bound");
}

bool Bench::run_until(const std::function<bool()>& done, uint64_t max_cycles) {
  for (uint64_t i = 0; i < max_cycles; ++i) {
    if (done()) return true;
    step();
  }
  return done();
}

// Clears and sets CONTROL.enable on every (idle) engine, as a host does to
// reprogram them: every link must start again from FIRST_SEQ with the
// tables kept, and traffic must flow as before.
void Bench::restart() {
  for (auto& e : engines_) {
    e->axil.write(reg::kControl, 0);
    e->axil.write(reg::kControl, 1);
  }
  run_until(
      [&] {
        for (auto& e : engines_) {
          if (!e->axil.idle()) return false;
        }
        return true;
      },
      1000);
  for (auto& row : last_seq_) row.fill(0);
  for (auto& row : ack_seen_) row.fill(0);
  for (auto& row : max_seq_) row.fill(0);
  for (int a = 0; a < kNodes; ++a) {
    for (int b = 0; b < kNodes; ++b)
      fresh_link_[static_cast<size_t>(a)][static_cast<size_t>(b)] = a != b;
  }
  for (int i = 0; i < 60; ++i) {
    const int n = i % kNodes;
    if (i % 2 == 0) {
      send_raw(n, (n + 1 + i / kNodes % (kNodes - 1)) % kNodes, random_message());
    } else {
      send_ipi(n, random_ipi(n));
    }
  }
  const bool done = run_until([&] { return all_delivered(); }, 200'000);
  chk_.check(done, "traffic after the restart was not delivered");
  chk_.check(fresh_checked_ >= 4, "too few links carried data after the restart");
  run_until([&] { return false; }, 2000);
}

int Bench::run() {
  configure();
  measure_latency();
  chk_.check(all_delivered(), "latency phase left messages undelivered");

  impaired_ = true;
  for (auto& e : engines_) e->impair(true);
  constexpr int kDescPerNode = 2500;
  std::array<int, kNodes> sent{};
  const bool done = run_until(
      [&] {
        // Phases of a slow host (the receive queue fills and drops) and
        // of a fast one.
        const bool slow = (engines_[0]->sim.cycle() / 20000) % 3 == 1;
        for (auto& e : engines_) e->host.set_stall(slow ? 92 : 30);
        for (int n = 0; n < kNodes; ++n) {
          auto& e = *engines_[static_cast<size_t>(n)];
          if (sent[static_cast<size_t>(n)] >= kDescPerNode || !e.desc.idle() || !rng_.chance(20))
            continue;
          ++sent[static_cast<size_t>(n)];
          const auto r = rng_.uniform(0, 99);
          if (r < 55) {
            const int to = (n + 1 + static_cast<int>(rng_.uniform(0, kNodes - 2))) % kNodes;
            send_raw(n, to, random_message());
          } else if (r < 95) {
            send_ipi(n, random_ipi(n));
          } else if (r < 97) {
            send_bad(n);
          } else {
            inject(n);
          }
        }
        for (int n = 0; n < kNodes; ++n) {
          if (sent[static_cast<size_t>(n)] < kDescPerNode) return false;
        }
        return all_delivered();
      },
      3'000'000);
  chk_.check(done, "timeout: not everything was delivered");
  // Stop impairing and let the links go quiet.
  impaired_ = false;
  for (auto& e : engines_) e->impair(false);
  run_until([&] { return false; }, 3000);
  restart();

  std::array<uint64_t, reg::kNumCounters> total{};
  for (int n = 0; n < kNodes; ++n) {
    const std::string who = "engine " + std::to_string(n) + ": ";
    chk_.check((read_reg(n, reg::kStatus) & 1) == 1, who + "links not idle at the end");
    std::array<uint64_t, reg::kNumCounters> v{};
    for (uint32_t i = 0; i < reg::kNumCounters; ++i) {
      v[i] = read_reg(n, reg::counter(i));
      total[i] += v[i];
    }
    const Counts& c = counts_[static_cast<size_t>(n)];
    auto expect = [&](uint32_t idx, uint64_t want, const char* name) {
      chk_.check(v[idx] == want, who + name + " counter " + std::to_string(v[idx]) + ", want " +
                                     std::to_string(want));
    };
    expect(reg::kTxDesc, c.desc, "TX_DESC");
    expect(reg::kTxBadDesc, c.bad_desc, "TX_BAD_DESC");
    expect(reg::kTxNoTarget, c.no_target, "TX_NO_TARGET");
    expect(reg::kRxFrame, c.rx_frames, "RX_FRAME");
    expect(reg::kRxBadFcs, c.bad_fcs, "RX_BAD_FCS");
    expect(reg::kRxEthertype, c.ethertype, "RX_ETHERTYPE");
    expect(reg::kRxDstMac, c.dst_mac, "RX_DST_MAC");
    expect(reg::kRxCluster, c.cluster, "RX_CLUSTER");
    expect(reg::kRxMalformed, c.malformed, "RX_MALFORMED");
    expect(reg::kRxHost, c.host, "RX_HOST");
    expect(reg::kRxIpi, c.ipi, "RX_IPI");
  }
  chk_.check(dropped_ == 0 || total[reg::kTxTimeout] > 0, "frames were lost but nothing timed out");
  chk_.check(duplicated_ == 0 || total[reg::kRxDuplicate] > 0, "duplicates were not counted");
  chk_.check(piggybacked_ > 0, "no data frame carried an ack");
  chk_.check(wrapped_, "no link wrapped its sequence numbers past 2^32-1");
  std::printf(
      "cycles %llu; wire: %llu dropped, %llu duplicated, %llu reordered; engines: %llu data "
      "frames, %llu timeouts, %llu ACK frames, %llu duplicates, %llu out of order, %llu queue "
      "full, %llu host messages, %llu bitmap writes, %llu acks piggybacked\n",
      static_cast<unsigned long long>(engines_[0]->sim.cycle()),
      static_cast<unsigned long long>(dropped_), static_cast<unsigned long long>(duplicated_),
      static_cast<unsigned long long>(reordered_),
      static_cast<unsigned long long>(total[reg::kTxData]),
      static_cast<unsigned long long>(total[reg::kTxTimeout]),
      static_cast<unsigned long long>(total[reg::kTxAck]),
      static_cast<unsigned long long>(total[reg::kRxDuplicate]),
      static_cast<unsigned long long>(total[reg::kRxOutOfOrder]),
      static_cast<unsigned long long>(total[reg::kRxQueueFull]),
      static_cast<unsigned long long>(total[reg::kRxHost]),
      static_cast<unsigned long long>(total[reg::kRxIpi]),
      static_cast<unsigned long long>(piggybacked_));
  return chk_.finish("tb_engine");
}

}  // namespace

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  Bench bench(seed_from_env(6));
  return bench.run();
}
