// dvmm_rx: a stream of frames (FCS already checked: tuser marks the bad
// ones) covering every drop reason of the documented decision order
// (rtl/dvmm_rx.sv header), duplicates and gaps in the sequence, ACK-only
// frames, fast-path and queued IPIs and other messages, with and without
// room in the host queue. For each frame the reference predicts the one
// decision: which event pulses, whether the ack is taken, accept or
// reject, the DMA request, and the exact bytes committed to the queue.
#include <array>
#include <deque>
#include <string>
#include <vector>

#include "Vdvmm_rx.h"
#include "axis.hpp"
#include "ref.hpp"

using namespace dvmm::fpga::tb;
namespace dp = dvmm::dataplane;

namespace {

constexpr uint16_t kLocal = 1;
constexpr int kNodes = 4;
constexpr uint32_t kCluster = 0xC0FF'EE00;
constexpr uint32_t kBitmapVcpus = 8;
const MacAddress kMac{0x02, 0x00, 0x5E, 0x00, 0x00, 0x01};
const MacAddress kPeerMac{0x02, 0x00, 0x5E, 0x00, 0x00, 0x02};

// Event pulses as a bit set.
constexpr uint32_t kHost = 1u << 0;
constexpr uint32_t kIpi = 1u << 1;
constexpr uint32_t kAck = 1u << 2;
constexpr uint32_t kBadFcs = 1u << 3;
constexpr uint32_t kEthertype = 1u << 4;
constexpr uint32_t kDstMac = 1u << 5;
constexpr uint32_t kCluster_ = 1u << 6;
constexpr uint32_t kMalformed = 1u << 7;
constexpr uint32_t kDuplicate = 1u << 8;
constexpr uint32_t kOutOfOrder = 1u << 9;
constexpr uint32_t kQueueFull = 1u << 10;

struct Decision {
  uint32_t events = 0;
  bool ack_valid = false;
  uint32_t ack_node = 0, ack_value = 0;
  bool accept = false, reject = false;
  bool ipi = false;
  uint32_t ipi_vcpu = 0, ipi_vector = 0;
  bool commit = false;
  Bytes committed;  // with commit
  std::string what;
};

bool operator==(const Decision& a, const Decision& b) {
  return a.events == b.events && a.ack_valid == b.ack_valid &&
         (!a.ack_valid || (a.ack_node == b.ack_node && a.ack_value == b.ack_value)) &&
         a.accept == b.accept && a.reject == b.reject && a.ipi == b.ipi &&
         (!a.ipi || (a.ipi_vcpu == b.ipi_vcpu && a.ipi_vector == b.ipi_vector)) &&
         a.commit == b.commit && (!a.commit || a.committed == b.committed);
}

std::string show(const Decision& d) {
  return "events " + std::to_string(d.events) + " ack " + std::to_string(d.ack_valid) + "/" +
         std::to_string(d.ack_node) + "/" + std::to_string(d.ack_value) + " acc " +
         std::to_string(d.accept) + " rej " + std::to_string(d.reject) + " ipi " +
         std::to_string(d.ipi) + "/" + std::to_string(d.ipi_vcpu) + "/" +
         std::to_string(d.ipi_vector) + " commit " + std::to_string(d.commit) + " " +
         hex(d.committed);
}

// Link state (expected sequence numbers), the host queue and the DMA port
// as the module sees them; records what each decision did.
class World : public Component {
 public:
  World(Vdvmm_rx& t, Rng& rng, const AxisSource& src) : t_(t), rng_(rng), src_(src) {
    expected.fill(1);
  }
  void drive() override {
    // Room for the frame being received, as planned for it.
    const size_t k = src_.packets_sent();
    t_.q_free = k < room.size() && room[k] ? 64 : 2;
    t_.ipi_ready = rng_.chance(60) ? 1 : 0;
  }
  void settle() override { t_.rx_expected = expected[t_.rx_node % kNodes]; }
  void sample() override {
    if (t_.q_wr_en) {
      for (int lane = 0; lane < 8; ++lane) {
        if ((t_.q_wr_keep >> lane) & 1)
          pending_.push_back(static_cast<uint8_t>(t_.q_wr_data >> (8 * lane)));
      }
    }
    Decision d;
    d.events = (t_.ev_host ? kHost : 0u) | (t_.ev_ipi ? kIpi : 0u) | (t_.ev_ack ? kAck : 0u) |
               (t_.ev_bad_fcs ? kBadFcs : 0u) | (t_.ev_ethertype ? kEthertype : 0u) |
               (t_.ev_dst_mac ? kDstMac : 0u) | (t_.ev_cluster ? kCluster_ : 0u) |
               (t_.ev_malformed ? kMalformed : 0u) | (t_.ev_duplicate ? kDuplicate : 0u) |
               (t_.ev_out_of_order ? kOutOfOrder : 0u) | (t_.ev_queue_full ? kQueueFull : 0u);
    if (!t_.ev_frame) {
      // Only a decision may act (a stalled IPI request waits silently).
      stray |= d.events != 0 || t_.rx_accept || t_.rx_reject || t_.ack_valid || t_.q_commit ||
               t_.q_rollback || (t_.ipi_valid && t_.ipi_ready);
      return;
    }
    d.ack_valid = t_.ack_valid;
    d.ack_node = t_.ack_node;
    d.ack_value = t_.ack_value;
    d.accept = t_.rx_accept;
    d.reject = t_.rx_reject;
    d.ipi = t_.ipi_valid && t_.ipi_ready;
    d.ipi_vcpu = t_.ipi_vcpu;
    d.ipi_vector = t_.ipi_vector;
    d.commit = t_.q_commit;
    stray |= t_.q_commit == t_.q_rollback;  // exactly one of them ends every frame
    if (d.commit) d.committed = pending_;
    pending_.clear();
    if (d.accept) expected[t_.rx_node % kNodes] = expected[t_.rx_node % kNodes] + 1;
    decisions.push_back(std::move(d));
  }
  std::array<uint32_t, kNodes> expected{};
  std::vector<bool> room;
  std::deque<Decision> decisions;
  bool stray = false;

 private:
  Vdvmm_rx& t_;
  Rng& rng_;
  const AxisSource& src_;
  Bytes pending_;
};

}  // namespace

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  Checker chk;
  Rng rng(seed_from_env(10));
  Sim<Vdvmm_rx> sim("rx");
  auto& t = sim.top();
  t.local_node = kLocal;
  t.local_mac = mac_to_u64(kMac);
  t.cluster_id = kCluster;
  t.bitmap_vcpus = kBitmapVcpus;
  AxisSource src(t.s_tdata, t.s_tkeep, t.s_tlast, t.s_tvalid, t.s_tready, rng, 25);
  src.set_tuser(t.s_tuser);
  World w(t, rng, src);
  sim.add(src);
  sim.add(w);
  reset(sim);

  // The reference's view of the link state while generating.
  std::array<uint32_t, kNodes> exp{};
  exp.fill(1);
  std::deque<Decision> want;
  constexpr int kFrames = 6000;
  for (int i = 0; i < kFrames; ++i) {
    const bool room = !rng.chance(10);
    w.room.push_back(room);
    const uint16_t src_node = static_cast<uint16_t>(rng.chance(50) ? 0 : rng.uniform(2, 3));
    dp::Message m;
    m.header.src_node = src_node;
    m.header.dst_node = kLocal;
    m.header.cluster_id = kCluster;
    m.header.ack = static_cast<uint32_t>(rng.uniform(0, 1000));
    const auto kind = rng.uniform(0, 99);
    bool ipi_fast = false;
    uint32_t vcpu = 0;
    uint8_t vector = 0;
    if (kind < 15) {
      m.header.type = dp::MessageType::kAck;
      m.header.flags = dp::kFlagAckOnly;
      m.payload = dp::AckPayload{};
    } else if (kind < 55) {
      vcpu = static_cast<uint32_t>(rng.uniform(0, 11));
      vector = rng.byte();
      static constexpr uint8_t kModes[] = {0, 0, 0, 1, 4, 5};
      const uint8_t mode = kModes[rng.uniform(0, 5)];
      const auto flags = static_cast<uint8_t>(rng.chance(15) ? 2 : 0);
      m.payload = dp::IpiPayload{vcpu, vector, mode, flags, 0, 3, -1, 0};
      ipi_fast = (mode == 0 || mode == 1) && flags == 0 && vcpu < kBitmapVcpus;
    } else if (kind < 75) {
      dp::DsmDataPayload p;
      p.data.resize(rng.uniform(1, 84));
      for (auto& b : p.data) b = rng.byte();
      m.payload = std::move(p);
    } else {
      m.payload = dp::IoResponsePayload{rng.uniform(0, ~0ull), rng.uniform(0, ~0ull)};
    }
    const bool is_ack = kind < 15;
    // Sequence: in order mostly, else a duplicate or a gap.
    const auto sq = rng.uniform(0, 9);
    uint32_t& e = exp[src_node];
    if (!is_ack)
      m.header.seq = sq < 7            ? e
                     : sq < 9 && e > 1 ? e - static_cast<uint32_t>(rng.uniform(1, e - 1))
                                       : e + static_cast<uint32_t>(rng.uniform(1, 5));
    Bytes msg(dp::kMaxMessageSize);
    msg.resize(dp::encode(m, msg));
    Bytes f = encode_wire(m, kMac, kPeerMac);
    bool tuser = false;

    Decision d;
    // Flaws, each a drop reason (at most one per frame).
    const auto flaw = rng.uniform(0, 39);
    auto set16be = [&](size_t at, uint16_t v) {
      f[at] = static_cast<uint8_t>(v >> 8);
      f[at + 1] = static_cast<uint8_t>(v);
    };
    switch (flaw) {
      case 0:
        tuser = true;
        d.events = kBadFcs;
        break;
      case 1:
        f.resize(rng.uniform(1, 15));
        d.events = kMalformed;
        break;
      case 2:
        set16be(12, 0x86DD);
        d.events = kEthertype;
        break;
      case 3:
        f[5] ^= 0x10;
        d.events = kDstMac;
        break;
      case 4:
        set16be(14, static_cast<uint16_t>(rng.uniform(129, 2000)));
        d.events = kMalformed;
        break;
      case 5:
        set16be(14, static_cast<uint16_t>(rng.uniform(0, 23)));
        d.events = kMalformed;
        break;
      case 6:
        f.resize(16 + msg.size() - rng.uniform(1, 8));
        d.events = kMalformed;
        break;  // truncated
      case 7:
        f[16] ^= 0x01;
        d.events = kMalformed;
        break;  // magic
      case 8:
        f[17] = 2;
        d.events = kMalformed;
        break;  // version
      case 9:
        f[16 + 22] = 1;
        d.events = kMalformed;
        break;  // reserved
      case 10:
        f[16 + 20] ^= 0x04;
        d.events = kMalformed;
        break;  // payload_len
      case 11:
        f[16 + 16] ^= 0x01;
        d.events = kCluster_;
        break;
      case 12:
        f[16 + 4] = kLocal;
        d.events = kMalformed;
        break;  // from itself
      case 13:
        f[16 + 4] = 9;
        d.events = kMalformed;
        break;  // unknown node
      case 14:
        f[16 + 6] = 2;
        d.events = kMalformed;
        break;  // not for us
      case 15:
        f[16 + 3] ^= is_ack ? 0x01 : 0x02;
        d.events = kMalformed;
        break;  // flags
      case 16:
        if (is_ack) {
          f[16 + 8] = 5;  // a sequenced ACK
        } else {
          f[16 + 2] = rng.chance(50) ? 0 : 16;  // unknown type
        }
        d.events = kMalformed;
        break;
      default:
        break;
    }
    if (d.events == 0) {
      if (is_ack) {
        d.events = kAck;
        d.ack_valid = true;
      } else {
        d.ack_valid = true;
        if (m.header.seq != e) {
          d.reject = true;
          d.events = m.header.seq < e ? kDuplicate : kOutOfOrder;
        } else if (ipi_fast) {
          d.events = kIpi;
          d.accept = true;
          d.ipi = true;
          d.ipi_vcpu = vcpu;
          d.ipi_vector = vector;
          ++e;
        } else if (room) {
          d.events = kHost;
          d.accept = true;
          d.commit = true;
          d.committed = msg;
          ++e;
        } else {
          d.events = kQueueFull;
        }
      }
      d.ack_node = src_node;
      d.ack_value = m.header.ack;
    }
    BeatPacket beats = to_beats(f);
    beats.back().user = tuser;
    src.send_beats(beats);
    want.push_back(std::move(d));
  }

  const bool done = sim.run_until([&] { return w.decisions.size() == kFrames; }, 2'000'000);
  sim.steps(5);
  chk.check(done, "timeout: " + std::to_string(w.decisions.size()) + " decisions");
  chk.check(!w.stray, "an action outside a decision, or commit and rollback together");
  // Every outcome must have been exercised.
  std::array<uint32_t, 11> seen{};
  for (const Decision& d : want) {
    for (size_t b = 0; b < seen.size(); ++b) seen[b] += (d.events >> b) & 1;
  }
  std::printf("outcomes (host ipi ack fcs ethertype dstmac cluster malformed dup ooo full):");
  for (const uint32_t n : seen) {
    std::printf(" %u", n);
    chk.check(n > 10, "an outcome was hardly exercised");
  }
  std::printf("\n");
  size_t i = 0;
  for (const Decision& got : w.decisions) {
    if (i >= want.size()) break;
    chk.check(got == want[i],
              "frame " + std::to_string(i) + ": got " + show(got) + "; want " + show(want[i]));
    ++i;
  }
  return chk.finish("tb_rx");
}
