// dvmm_tx_framer: the ring holds a random dvmm message per slot (with
// random garbage after its end); random data and ACK frames are scheduled
// with random gaps and taken out under back-pressure. Every frame must be,
// byte for byte, what frame.cpp's encode_frame makes of message.cpp's
// encode() of that message with the scheduled seq and ack (for ACKs: a
// kAck header with kFlagAckOnly), and the event pulses must count them.
#include <array>
#include <deque>

#include "Vdvmm_tx_framer.h"
#include "axis.hpp"
#include "ref.hpp"

using namespace dvmm::fpga::tb;
namespace dp = dvmm::dataplane;

namespace {

constexpr int kNodes = 4;
constexpr uint32_t kWindow = 8;
constexpr int kBeatBits = 4;  // MAX_MSG_BYTES 128
constexpr int kSlotBits = 3;
constexpr uint16_t kLocal = 2;
constexpr uint32_t kCluster = 0x1234'5678;
const MacAddress kLocalMac{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

MacAddress mac_of(uint32_t node) {
  return {0x02, 0x00, 0x5E, 0x00, 0x01, static_cast<uint8_t>(node)};
}

struct Sched {
  uint8_t node;
  bool ack_only;
  uint32_t seq, ack;
  uint8_t slot;
};

// Ring (registered read), lengths (asynchronous), node MACs and the
// scheduler's offers.
class World : public Component {
 public:
  World(Vdvmm_tx_framer& t, Rng& rng) : t_(t), rng_(rng) {}
  void drive() override {
    t_.buf_rd_data = rd_next_;
    offer_ = !queue.empty() && !rng_.chance(30);
    t_.sched_valid = offer_;
    if (offer_) {
      const Sched& s = queue.front();
      t_.sched_node = s.node;
      t_.sched_ack_only = s.ack_only;
      t_.sched_seq = s.seq;
      t_.sched_slot = s.slot;
      t_.sched_ack = s.ack;
    }
  }
  void settle() override {
    t_.len_rd_data = len[t_.len_rd_addr];
    t_.node_mac = mac_to_u64(mac_of(t_.node_idx));
  }
  void sample() override {
    rd_next_ = ring[t_.buf_rd_addr];
    if (offer_ && t_.sched_take) {
      taken.push_back(queue.front());
      queue.pop_front();
    }
    ev_data += t_.ev_data;
    ev_ack += t_.ev_ack;
  }
  std::array<uint64_t, (1u << (2 + kSlotBits + kBeatBits))> ring{};
  std::array<uint16_t, (1u << (2 + kSlotBits))> len{};
  std::deque<Sched> queue, taken;
  uint64_t ev_data = 0, ev_ack = 0;

 private:
  Vdvmm_tx_framer& t_;
  Rng& rng_;
  bool offer_ = false;
  uint64_t rd_next_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  Checker chk;
  Rng rng(seed_from_env(9));
  Sim<Vdvmm_tx_framer> sim("tx_framer");
  auto& t = sim.top();
  t.local_node = kLocal;
  t.local_mac = mac_to_u64(kLocalMac);
  t.cluster_id = kCluster;
  World w(t, rng);
  AxisSink sink(t.m_tdata, t.m_tkeep, t.m_tlast, t.m_tvalid, t.m_tready, nullptr, rng, 30, chk,
                "framer out");
  sim.add(w);
  sim.add(sink);

  // A message per (node, slot), garbage after it.
  std::array<dp::Message, kNodes * kWindow> msgs{};
  for (uint32_t n = 0; n < kNodes; ++n) {
    for (uint32_t s = 0; s < kWindow; ++s) {
      dp::Message m;
      m.header.src_node = kLocal;
      m.header.dst_node = static_cast<uint16_t>(n);
      m.header.cluster_id = kCluster;
      if (rng.chance(50)) {
        dp::DsmDataPayload p;
        p.page = rng.uniform(0, 1u << 20);
        p.data.resize(rng.uniform(1, 84));
        for (auto& b : p.data) b = rng.byte();
        m.payload = std::move(p);
      } else if (rng.chance(50)) {
        m.payload = dp::HeartbeatPayload{rng.uniform(0, ~0ull)};
      } else {
        m.payload = dp::IpiPayload{static_cast<uint32_t>(rng.uniform(0, 63)),  rng.byte(), 0, 4, 0,
                                   static_cast<uint32_t>(rng.uniform(0, 255)), -1,         0};
      }
      Bytes enc(dp::kMaxMessageSize);
      enc.resize(dp::encode(m, enc));
      const uint32_t idx = n << kSlotBits | s;
      w.len[idx] = static_cast<uint16_t>(enc.size());
      for (uint32_t b = 0; b < (1u << kBeatBits); ++b) {
        uint64_t word = rng.uniform(0, ~0ull);  // garbage beyond the message
        for (uint32_t i = 0; i < 8; ++i) {
          if (b * 8 + i < enc.size()) {
            word &= ~(uint64_t{0xFF} << (8 * i));
            word |= uint64_t{enc[b * 8 + i]} << (8 * i);
          }
        }
        w.ring[idx << kBeatBits | b] = word;
      }
      msgs[idx] = m;
    }
  }

  t.rst = 1;
  sim.steps(4);
  t.rst = 0;
  constexpr int kFrames = 5000;
  uint64_t n_ack = 0;
  for (int i = 0; i < kFrames; ++i) {
    const bool ack_only = rng.chance(25);
    n_ack += ack_only;
    w.queue.push_back(Sched{static_cast<uint8_t>(rng.uniform(0, kNodes - 1)), ack_only,
                            ack_only ? 0u : static_cast<uint32_t>(rng.uniform(1, 0xFFFF'FFFF)),
                            static_cast<uint32_t>(rng.uniform(0, 0xFFFF'FFFF)),
                            static_cast<uint8_t>(rng.uniform(0, kWindow - 1))});
  }
  // Phases: no back-pressure (full rate), then heavy.
  const bool done = sim.run_until(
      [&] {
        sink.set_stall(sink.packets().size() < 1000 ? 0 : 40);
        return sink.packets().size() == kFrames;
      },
      1'000'000);
  sim.steps(5);
  chk.check(done, "timeout: frames missing");
  chk.check(w.taken.size() == kFrames, "not every offer was taken");
  size_t i = 0;
  for (const Packet& p : sink.packets()) {
    if (i >= w.taken.size()) break;
    const Sched& s = w.taken[i];
    dp::Message m;
    if (s.ack_only) {
      m.header.type = dp::MessageType::kAck;
      m.header.flags = dp::kFlagAckOnly;
      m.header.src_node = kLocal;
      m.header.dst_node = s.node;
      m.header.cluster_id = kCluster;
      m.payload = dp::AckPayload{};
    } else {
      m = msgs[uint32_t{s.node} << kSlotBits | s.slot];
      m.header.seq = s.seq;
    }
    m.header.ack = s.ack;
    const Bytes want = encode_wire(m, mac_of(s.node), kLocalMac);
    chk.check(p.bytes == want,
              "frame " + std::to_string(i) + " got " + hex(p.bytes) + " want " + hex(want));
    ++i;
  }
  chk.check(w.ev_ack == n_ack && w.ev_data == kFrames - n_ack, "event counts");
  return chk.finish("tb_tx_framer");
}
