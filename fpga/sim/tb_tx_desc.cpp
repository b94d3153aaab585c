// dvmm_tx_desc: random RAW and IPI descriptors (valid and each kind of
// invalid one) in with valid gaps, against a random APIC table and a link
// model that grants window space at random. Every message committed to the
// retransmit ring must be the next one the reference predicts: raw
// messages with src/dst/seq/ack/cluster overwritten, IPI messages byte for
// byte as dataplane's encode() builds them, one per target from the
// reference expansion (ipi_ref.hpp); and the event counts must match.
#include <array>
#include <deque>
#include <map>

#include "Vdvmm_tx_desc.h"
#include "axis.hpp"
#include "ipi_ref.hpp"
#include "ref.hpp"

using namespace dvmm::fpga::tb;
namespace dp = dvmm::dataplane;

namespace {

constexpr uint16_t kLocal = 1;
constexpr uint32_t kCluster = 0x0BAD'F00D;
constexpr int kNodes = 4;  // node 3 has no MAC
constexpr uint32_t kApics = 16;
constexpr uint32_t kWindow = 8;
constexpr uint32_t kMaxBytes = 128;
constexpr int kBeatBits = 4;  // log2(128 / 8)
constexpr int kSlotBits = 3;

bool node_remote(uint16_t n) {
  return n < 3 && n != kLocal;
}

// The APIC and node tables, answering the module's read ports.
class Tables : public Component {
 public:
  Tables(Vdvmm_tx_desc& t, std::array<ApicEntry, kApics>& apic) : t_(t), apic_(apic) {}
  void drive() override {}
  void settle() override {
    t_.node_valid = t_.node_idx < 3 ? 1 : 0;
    const ApicEntry& e = apic_[t_.apic_idx];
    t_.apic_valid = e.valid ? 1 : 0;
    t_.apic_node = e.node;
    t_.apic_vcpu = e.vcpu;
    t_.apic_ldr = e.ldr;
  }
  void sample() override {}

 private:
  Vdvmm_tx_desc& t_;
  std::array<ApicEntry, kApics>& apic_;
};

struct Commit {
  uint16_t node;
  uint32_t seq;
  Bytes bytes;
};

// Link state and retransmit ring: sequence numbers, window space granted
// at random and freed at random (acks), and the ring's memory.
class Ring : public Component {
 public:
  Ring(Vdvmm_tx_desc& t, Rng& rng) : t_(t), rng_(rng) { next_.fill(1); }
  void drive() override {
    // Acks free window slots now and then.
    for (auto& o : outstanding_) {
      if (o > 0 && rng_.chance(8)) --o;
    }
    grant_ = rng_.chance(75);
  }
  void settle() override {
    const auto n = t_.alloc_node;
    t_.alloc_space = (grant_ && outstanding_[n] < kWindow) ? 1 : 0;
    t_.alloc_seq = next_[n];
    t_.alloc_slot = slot_[n];
  }
  void sample() override {
    if (t_.buf_wr_en) mem_[t_.buf_wr_addr] = t_.buf_wr_data;
    if (t_.len_wr_en) len_[t_.len_wr_addr] = t_.len_wr_data;
    if (!t_.alloc_commit) return;
    const auto n = t_.alloc_node;
    const uint32_t base = (uint32_t{n} << kSlotBits | slot_[n]) << kBeatBits;
    const uint16_t len = len_[uint32_t{n} << kSlotBits | slot_[n]];
    Commit c{n, next_[n], {}};
    for (uint32_t i = 0; i < len; ++i) {
      c.bytes.push_back(static_cast<uint8_t>(mem_[base + i / 8] >> (8 * (i % 8))));
    }
    commits.push_back(std::move(c));
    ++outstanding_[n];
    next_[n] = next_[n] == 0xFFFF'FFFFu ? 1 : next_[n] + 1;
    slot_[n] = static_cast<uint8_t>((slot_[n] + 1) % kWindow);
  }
  std::deque<Commit> commits;

 private:
  Vdvmm_tx_desc& t_;
  Rng& rng_;
  bool grant_ = false;
  std::array<uint32_t, kNodes> next_{};
  std::array<uint8_t, kNodes> slot_{};
  std::array<uint32_t, kNodes> outstanding_{};
  std::map<uint32_t, uint64_t> mem_;
  std::map<uint32_t, uint16_t> len_;
};

class Events : public Component {
 public:
  explicit Events(Vdvmm_tx_desc& t) : t_(t) {}
  void drive() override {}
  void sample() override {
    desc += t_.ev_desc;
    bad += t_.ev_bad_desc;
    no_target += t_.ev_no_target;
  }
  uint64_t desc = 0, bad = 0, no_target = 0;

 private:
  Vdvmm_tx_desc& t_;
};

void put32(Bytes& b, size_t at, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  Checker chk;
  Rng rng(seed_from_env(7));
  Sim<Vdvmm_tx_desc> sim("tx_desc");
  auto& t = sim.top();
  t.local_node = kLocal;
  t.cluster_id = kCluster;

  std::array<ApicEntry, kApics> apic{};
  for (uint32_t a = 0; a < kApics; ++a) {
    apic[a] = ApicEntry{rng.chance(85), static_cast<uint16_t>(rng.uniform(0, kNodes - 1)),
                        static_cast<uint32_t>(rng.uniform(0, 40)),
                        (1u << (24 + rng.uniform(0, 7))) |
                            (static_cast<uint32_t>(rng.uniform(0, 1)) << 16) |
                            (1u << rng.uniform(0, 15))};
  }
  AxisSource src(t.s_desc_tdata, t.s_desc_tkeep, t.s_desc_tlast, t.s_desc_tvalid, t.s_desc_tready,
                 rng, 30);
  Tables tables(t, apic);
  Ring ring(t, rng);
  Events ev(t);
  sim.add(src);
  sim.add(tables);
  sim.add(ring);
  sim.add(ev);
  reset(sim);

  struct Expect {
    uint16_t node;
    Bytes bytes;  // seq (bytes 8-11) filled in at comparison
  };
  std::deque<Expect> expected;
  uint64_t n_desc = 0, n_bad = 0, n_no_target = 0;

  constexpr int kDescs = 4000;
  for (int i = 0; i < kDescs; ++i) {
    ++n_desc;
    const auto kind = rng.uniform(0, 99);
    if (kind < 40) {
      // RAW: mostly valid; too short, too long, a hole, a bad node.
      // Mostly a remote node (0 or 2); sometimes itself or node 3 (bad).
      const auto dst = static_cast<uint16_t>(rng.chance(85) ? rng.uniform(0, 1) * 2
                                                            : rng.uniform(0, kNodes - 1));
      size_t len = rng.uniform(24, kMaxBytes);
      const auto flaw = rng.uniform(0, 19);
      if (flaw == 0) len = rng.uniform(1, 23);
      if (flaw == 1) len = rng.uniform(kMaxBytes + 1, kMaxBytes + 40);
      Bytes msg(len);
      for (auto& b : msg) b = rng.byte();
      BeatPacket p = raw_descriptor(dst, msg);
      bool bad = flaw <= 1 || !node_remote(dst);
      if (flaw == 2 && p.size() > 2) {
        p[1].keep = 0x7F;  // a hole before the end
        bad = true;
      }
      src.send_beats(p);
      if (bad) {
        ++n_bad;
        continue;
      }
      Bytes want = msg;
      put32(want, 4, uint32_t{kLocal} | (uint32_t{dst} << 16));
      put32(want, 12, 0);
      put32(want, 16, kCluster);
      expected.push_back(Expect{dst, want});
    } else if (kind < 95) {
      IpiDesc d;
      d.vector = rng.byte();
      static constexpr uint8_t kModes[] = {0, 0, 0, 1, 4, 5, 6, 7};
      d.mode = kModes[rng.uniform(0, 7)];
      d.flags = static_cast<uint8_t>(rng.uniform(0, 15));
      d.shorthand = static_cast<uint8_t>(rng.uniform(0, 9) < 6 ? 0 : rng.uniform(1, 3));
      const auto dr = rng.uniform(0, 9);
      d.destination = dr < 6   ? static_cast<uint32_t>(rng.uniform(0, 20))
                      : dr < 7 ? 0xFFu
                      : dr < 8 ? 0xFFFF'FFFFu
                               : static_cast<uint32_t>(rng.uniform(0, 0x1FFFF));
      d.source_vcpu = rng.chance(20) ? -1 : static_cast<int32_t>(rng.uniform(0, 40));
      BeatPacket p = ipi_descriptor(d);
      bool bad = false;
      switch (rng.uniform(0, 24)) {
        case 0:
          p[0].data = (p[0].data & ~0xFF'0000ull) | (uint64_t{2} << 16);
          bad = true;
          break;
        case 1:
          p[0].data = (p[0].data & ~0xFF'0000ull) | (uint64_t{9} << 16);
          bad = true;
          break;
        case 2:
          p[0].data |= uint64_t{0x10} << 24;
          bad = true;
          break;
        case 3:
          p[0].data = (p[0].data & ~0xFF'0000'0000ull) | (uint64_t{4} << 32);
          bad = true;
          break;
        case 4:
          p[1].data = (p[1].data & 0xFFFF'FFFFull) | (uint64_t{0xFFFF'FFFE} << 32);
          bad = true;
          break;
        case 5:
          p[1].last = false;
          p.push_back(AxisBeat{0, 0xFF, true, false});
          bad = true;
          break;
        case 6:
          p.resize(1);
          p[0].last = true;
          bad = true;
          break;
        default:
          break;
      }
      src.send_beats(p);
      if (bad) {
        ++n_bad;
        continue;
      }
      const auto targets = ipi_targets(d, apic, node_remote);
      if (targets.empty()) ++n_no_target;
      for (const uint32_t a : targets) {
        dp::Message m;
        m.header.src_node = kLocal;
        m.header.dst_node = apic[a].node;
        m.header.cluster_id = kCluster;
        m.payload = dp::IpiPayload{apic[a].vcpu, d.vector,      d.mode,        d.flags,
                                   d.shorthand,  d.destination, d.source_vcpu, 0};
        Bytes want(dp::kMaxMessageSize);
        want.resize(dp::encode(m, want));
        expected.push_back(Expect{apic[a].node, want});
      }
    } else {
      ++n_bad;  // unknown kind, one or several beats
      BeatPacket p{AxisBeat{rng.uniform(3, 255), 0xFF, false, false},
                   AxisBeat{rng.uniform(0, ~0ull), 0xFF, true, false}};
      if (rng.chance(50)) {
        p.resize(1);
        p[0].last = true;
      }
      src.send_beats(p);
    }
  }

  size_t checked = 0;
  const bool done = sim.run_until(
      [&] {
        while (!ring.commits.empty()) {
          Commit c = std::move(ring.commits.front());
          ring.commits.pop_front();
          if (expected.empty()) {
            chk.check(false, "unexpected commit");
            continue;
          }
          Expect e = std::move(expected.front());
          expected.pop_front();
          put32(e.bytes, 8, c.seq);
          chk.check(c.node == e.node && c.bytes == e.bytes,
                    "commit " + std::to_string(checked) + " node " + std::to_string(c.node) +
                        " got " + hex(c.bytes) + " want node " + std::to_string(e.node) + " " +
                        hex(e.bytes));
          ++checked;
        }
        return src.idle() && expected.empty() && t.s_desc_tready;
      },
      2'000'000);
  sim.steps(10);
  chk.check(done, "timeout: " + std::to_string(expected.size()) + " messages not committed");
  chk.check(ring.commits.empty(), "extra commits at the end");
  chk.check(ev.desc == n_desc,
            "ev_desc " + std::to_string(ev.desc) + " want " + std::to_string(n_desc));
  chk.check(ev.bad == n_bad,
            "ev_bad_desc " + std::to_string(ev.bad) + " want " + std::to_string(n_bad));
  chk.check(ev.no_target == n_no_target, "ev_no_target " + std::to_string(ev.no_target) + " want " +
                                             std::to_string(n_no_target));
  std::printf("%zu messages committed, %llu bad descriptors, %llu IPIs without target\n", checked,
              static_cast<unsigned long long>(n_bad), static_cast<unsigned long long>(n_no_target));
  return chk.finish("tb_tx_desc");
}
