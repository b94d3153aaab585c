// The pmd layer (see ping_pong.hpp): the floor under the dpdk transports,
// a ping-pong with DPDK's own burst calls and no dvmm code in the loop.
// It runs on the port a DpdkTransport opened (same PMD, same devargs, same
// queues), between phases of that transport: nothing else polls the port
// meanwhile, and frames of one layer are ignored by the other (another
// EtherType here, a phase tag in both).
//
// Frame: Ethernet header (EtherType kPmdEtherType), 2 bytes of zero where
// the dpdk transport has its length field, then the raw layer's body (u32
// magic, u32 tag, u64 sequence, filler) up to the requested size: on the
// wire byte for byte as long as the raw layer's frame of that size.
//
// Initiator: one mbuf holds the frame for the whole phase; each send takes a
// reference (rte_mbuf_refcnt_update) that the PMD's free after its copy
// drops again (af_packet and memif in copy mode copy in tx_burst), so
// nothing is allocated or copied by the application per round trip. Echo:
// each received mbuf goes back as it is with its MACs swapped.
#include <algorithm>
#include <cstring>

#include "dataplane/dpdk/dpdk_headers.hpp"
#include "dataplane/dpdk_transport.hpp"
#include "tools/dvmm-bench/bench_clock.hpp"
#include "tools/dvmm-bench/dpdk_endpoint.hpp"
#include "tools/dvmm-bench/ping_pong.hpp"

namespace dvmm::bench {
namespace {

constexpr uint16_t kPmdEtherType = 0x88B6;  // IEEE 802 local experimental 2 (dvmm uses 1)
constexpr uint32_t kPmdMagic = 0x4D505644;  // "DVPM"
constexpr uint64_t kStopSeq = UINT64_MAX;
constexpr uint16_t kBurst = 8;
constexpr size_t kEthHeader = sizeof(rte_ether_hdr);  // 14
constexpr size_t kBodyOffset = kEthHeader + 2;
constexpr size_t kMinEthFrame = 60;  // without the FCS
constexpr unsigned kEchoNode = 1;

uint8_t* data_of(rte_mbuf* m) { return static_cast<uint8_t*>(m->buf_addr) + m->data_off; }

struct Port {
  uint16_t id = 0;
  size_t max_frame = 0;  // the raw layer's largest frame on this port
};

Result<Port> port_of(dataplane::Transport& t) {
  auto* d = dynamic_cast<dataplane::DpdkTransport*>(&t);
  if (d == nullptr) return Error::format("the pmd layer needs a dpdk transport, not {}", t.name());
  return Port{d->port_info().port_id, t.max_frame_size()};
}

bool is_ours(rte_mbuf* m, uint32_t tag, uint64_t* seq) {
  if (rte_pktmbuf_data_len(m) < kBodyOffset + kMinRawFrame) return false;
  const uint8_t* p = data_of(m);
  uint16_t type_be;
  uint32_t magic, t;
  std::memcpy(&type_be, p + 12, 2);
  std::memcpy(&magic, p + kBodyOffset, 4);
  std::memcpy(&t, p + kBodyOffset + 4, 4);
  if (type_be != rte_cpu_to_be_16(kPmdEtherType) || magic != kPmdMagic || t != tag) return false;
  std::memcpy(seq, p + kBodyOffset + 8, 8);
  return true;
}

// The initiator's frame, in an mbuf of a small pool of its own (the
// transport's pool is the transport's).
class FrameMbuf {
 public:
  ~FrameMbuf() {
    if (m_ != nullptr) rte_pktmbuf_free(m_);
  }
  Status build(size_t body, uint32_t tag) {
    static rte_mempool* pool = nullptr;  // once per process; freed with the EAL
    if (pool == nullptr) {
      const auto room =
          static_cast<uint16_t>(RTE_PKTMBUF_HEADROOM + dataplane::kMaxFrameSize + kBodyOffset);
      pool = rte_pktmbuf_pool_create("dvmm_bench_pmd", 16, 0, 0, room,
                                     static_cast<int>(rte_socket_id()));
      if (pool == nullptr) {
        return Error::format("pmd layer: cannot create its mbuf pool: {}", rte_strerror(rte_errno));
      }
    }
    m_ = rte_pktmbuf_alloc(pool);
    const size_t len = std::max(kBodyOffset + body, kMinEthFrame);
    if (m_ == nullptr || rte_pktmbuf_append(m_, static_cast<uint16_t>(len)) == nullptr) {
      return Error::format("pmd layer: no mbuf for a {}-byte frame", len);
    }
    uint8_t* p = data_of(m_);
    for (size_t i = 0; i < len; ++i) p[i] = static_cast<uint8_t>(i);
    std::memcpy(p, kDpdkMacs[kEchoNode].data(), 6);
    std::memcpy(p + 6, kDpdkMacs[1 - kEchoNode].data(), 6);
    const uint16_t type_be = rte_cpu_to_be_16(kPmdEtherType);
    std::memcpy(p + 12, &type_be, 2);
    std::memset(p + kEthHeader, 0, 2);
    std::memcpy(p + kBodyOffset, &kPmdMagic, 4);
    std::memcpy(p + kBodyOffset + 4, &tag, 4);
    return {};
  }
  void set_seq(uint64_t seq) { std::memcpy(data_of(m_) + kBodyOffset + 8, &seq, 8); }
  // Sends the frame and keeps it: false when the PMD did not take it.
  bool send(uint16_t port) {
    rte_mbuf_refcnt_update(m_, 1);
    if (rte_eth_tx_burst(port, 0, &m_, 1) == 1) return true;
    rte_mbuf_refcnt_update(m_, -1);
    return false;
  }

  // After the phase: the PMD has dropped every reference it took, and
  // nothing else of the pool is in use (a PMD that returned the mbuf to its
  // pool regardless of its reference count would break this layer).
  Status check_references() const {
    const uint16_t refs = rte_mbuf_refcnt_read(m_);
    const unsigned in_use = rte_mempool_in_use_count(m_->pool);
    if (refs != 1 || in_use != 1) {
      return Error::format("pmd layer: the frame's mbuf has {} references and its pool {} mbufs "
                           "in use after the phase (expected 1 and 1)",
                           refs, in_use);
    }
    return {};
  }

 private:
  rte_mbuf* m_ = nullptr;
};

void free_all(rte_mbuf** m, uint16_t n) {
  for (uint16_t i = 0; i < n; ++i) rte_pktmbuf_free(m[i]);
}

}  // namespace

Result<PhaseResult> run_pmd_initiator(dataplane::Transport& t, const PhaseSpec& spec,
                                      Progress& progress,
                                      const std::function<bool()>& echo_finished) {
  const Port port = DVMM_TRY(port_of(t));
  if (spec.size < kMinRawFrame || spec.size > port.max_frame) {
    return Error::format("frame size {} out of range {}..{} for this port", spec.size,
                         kMinRawFrame, port.max_frame);
  }
  FrameMbuf frame;
  DVMM_TRY(frame.build(spec.size, spec.tag));
  rte_mbuf* rx[kBurst];

  PhaseResult r;
  AnswerWait wait(spec, echo_finished, "pmd layer", [&] { (void)frame.send(port.id); });
  DVMM_TRY(measure_round_trips(
      spec, progress, wait, r, [&](uint64_t seq) { frame.set_seq(seq); },
      [&]() -> Status {
        if (!frame.send(port.id)) return Error::format("pmd layer: rte_eth_tx_burst took no frame");
        return {};
      },
      [&](uint64_t seq) {
        const uint16_t n = rte_eth_rx_burst(port.id, 0, rx, kBurst);
        Polled p = n > 0 ? Polled::kOther : Polled::kNothing;
        for (uint16_t i = 0; i < n; ++i) {
          uint64_t got = 0;
          if (is_ours(rx[i], spec.tag, &got) && got == seq) {
            p = Polled::kAnswer;
          } else {
            ++r.stray;
          }
        }
        free_all(rx, n);
        return p;
      }));

  frame.set_seq(kStopSeq);
  DVMM_TRY(stop_until_confirmed(
      spec, echo_finished, [&] { (void)frame.send(port.id); },
      [&] { free_all(rx, rte_eth_rx_burst(port.id, 0, rx, kBurst)); }, "pmd layer"));
  DVMM_TRY(frame.check_references());
  return r;
}

Result<EchoResult> run_pmd_echo(dataplane::Transport& t, const PhaseSpec& spec) {
  const Port port = DVMM_TRY(port_of(t));
  rte_mbuf* rx[kBurst];
  rte_mbuf* out[kBurst];
  EchoResult e;
  uint32_t idle = 0;
  for (;;) {
    const uint16_t n = rte_eth_rx_burst(port.id, 0, rx, kBurst);
    if (n == 0) {
      if (echo_overdue(spec, idle)) {
        return Error::format("pmd layer: no stop frame from the initiator before the deadline");
      }
      continue;
    }
    uint16_t k = 0;
    bool stop = false;
    for (uint16_t i = 0; i < n; ++i) {
      uint64_t seq = 0;
      if (!stop && is_ours(rx[i], spec.tag, &seq)) {
        if (seq == kStopSeq) {
          stop = true;
        } else {
          uint8_t* p = data_of(rx[i]);
          uint8_t mac[6];
          std::memcpy(mac, p, 6);
          std::memcpy(p, p + 6, 6);
          std::memcpy(p + 6, mac, 6);
          out[k++] = rx[i];
          continue;
        }
      }
      rte_pktmbuf_free(rx[i]);
    }
    const uint16_t sent = k > 0 ? rte_eth_tx_burst(port.id, 0, out, k) : 0;
    e.echoed += sent;
    free_all(out + sent, static_cast<uint16_t>(k - sent));
    if (stop) return e;
  }
}

}  // namespace dvmm::bench
