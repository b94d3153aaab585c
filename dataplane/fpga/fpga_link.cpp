#include "dataplane/fpga/fpga_link.hpp"

#include <algorithm>
#include <bit>

#include "dataplane/fpga/engine_map.hpp"

namespace dvmm::dataplane::fpga {
namespace {

uint32_t mac_lo(const std::array<uint8_t, 6>& m) {
  return uint32_t{m[0]} | (uint32_t{m[1]} << 8) | (uint32_t{m[2]} << 16) | (uint32_t{m[3]} << 24);
}
uint32_t mac_hi(const std::array<uint8_t, 6>& m) { return uint32_t{m[4]} | (uint32_t{m[5]} << 8); }

uint64_t counter(const FpgaLink::EngineCounters& c, EngineCounter i) {
  return c[static_cast<size_t>(i)];
}

}  // namespace

FpgaLink::FpgaLink(std::unique_ptr<FpgaDevice> device, const Clock& clock, Config config)
    : device_(std::move(device)), clock_(clock), config_(std::move(config)) {}

FpgaLink::~FpgaLink() = default;

Result<std::unique_ptr<FpgaLink>> FpgaLink::create(std::unique_ptr<FpgaDevice> device,
                                                   const Clock& clock, Config config) {
  if (config.local >= config.node_macs.size()) {
    return Error::format("fpga link: node {} has no MAC (the cluster has {} nodes)", config.local,
                         config.node_macs.size());
  }
  std::unique_ptr<FpgaLink> link(new FpgaLink(std::move(device), clock, std::move(config)));
  DVMM_TRY(link->bring_up());
  return link;
}

// docs/fpga.md "Register map": everything is written with the datapath
// held in reset (CONTROL.enable clear), then enabled; the counters start
// from zero.
Status FpgaLink::bring_up() {
  FpgaDevice& d = *device_;
  const uint32_t id = d.read32(reg::kId);
  if (id != kEngineId) {
    return Error::format("fpga {} device: ID register reads {:#010x}, not a dvmm engine ({:#010x})",
                         d.name(), id, kEngineId);
  }
  d.write32(reg::kControl, 0);
  const uint32_t params = d.read32(reg::kParams);
  const uint32_t params2 = d.read32(reg::kParams2);
  const uint32_t nodes = params & 0xFF;
  const uint32_t apics = params >> 16;
  max_msg_bytes_ = params2 & 0xFFFF;
  if (config_.node_macs.size() > nodes) {
    return Error::format("fpga {} device: the cluster has {} nodes but the engine was built for at "
                         "most {} (RTL parameter NODES)",
                         d.name(), config_.node_macs.size(), nodes);
  }
  const auto& mac = config_.node_macs[config_.local];
  d.write32(reg::kLocalNode, config_.local);
  d.write32(reg::kLocalMacLo, mac_lo(mac));
  d.write32(reg::kLocalMacHi, mac_hi(mac));
  d.write32(reg::kClusterId, config_.cluster_id);
  d.write32(reg::kRetxTimeout, config_.retransmit_timeout_cycles);
  d.write32(reg::kAckDelay, config_.ack_delay_cycles);

  const auto vcpus = static_cast<uint32_t>(config_.vcpu_node.size());
  bitmaps_ = DVMM_TRY(d.dma_window(std::max<size_t>(vcpus, 1) * kBitmapBytesPerVcpu));
  d.write32(reg::kBitmapLo, static_cast<uint32_t>(bitmaps_.device_address));
  d.write32(reg::kBitmapHi, static_cast<uint32_t>(bitmaps_.device_address >> 32));
  d.write32(reg::kBitmapVcpus, vcpus);
  for (uint32_t v = 0; v < vcpus; ++v) {
    if (config_.vcpu_node[v] == config_.local) local_vcpus_.push_back(v);
  }

  for (uint32_t n = 0; n < nodes; ++n) {
    const bool known = n < config_.node_macs.size();
    d.write32(reg::node_mac_lo(n), known ? mac_lo(config_.node_macs[n]) : 0);
    d.write32(reg::node_mac_hi(n), known ? (mac_hi(config_.node_macs[n]) | reg::kValid) : 0);
  }
  // Only RAW descriptors are sent (see the header), so the APIC table is
  // programmed for completeness (APIC ID = vCPU index, LDR unknown until
  // the guest sets it): it is what the engine's IPI descriptors would use.
  for (uint32_t a = 0; a < apics; ++a) {
    const bool known = a < vcpus;
    d.write32(reg::apic_entry(a), known ? (config_.vcpu_node[a] | reg::kValid) : 0);
    d.write32(reg::apic_vcpu(a), known ? a : 0);
    d.write32(reg::apic_ldr(a), 0);
  }
  d.write32(reg::kControl, reg::kControlEnable | reg::kControlClearCounters);
  rx_buf_.resize(std::max<size_t>(max_msg_bytes_, kHeaderSize));
  return {};
}

Status FpgaLink::send(Message msg) {
  const NodeId dst = msg.header.dst_node;
  if (dst >= config_.node_macs.size() || dst == config_.local) {
    return Error::format("fpga link: no link to node {}", dst);
  }
  // The engine fills in src_node, dst_node, seq, ack and cluster_id itself.
  msg.header.src_node = config_.local;
  msg.header.cluster_id = config_.cluster_id;
  std::vector<uint8_t> desc(kDescControlBytes + kMaxMessageSize);
  const size_t len = encode(msg, std::span(desc).subspan(kDescControlBytes));
  if (len == 0) {
    return Error::format("fpga link: a {} message to node {} does not encode",
                         message_type_name(msg.header.type), dst);
  }
  if (len > max_msg_bytes_) {
    return Error::format("fpga link: a {} message of {} bytes exceeds the engine's largest ({} "
                         "bytes, MAX_MSG_BYTES): DSM pages cannot use the fpga transport",
                         message_type_name(msg.header.type), len, max_msg_bytes_);
  }
  desc.resize(kDescControlBytes + len);
  desc[0] = kDescRaw;
  desc[2] = static_cast<uint8_t>(dst);
  desc[3] = static_cast<uint8_t>(dst >> 8);
  std::function<void()> wake;
  {
    std::lock_guard lock(queue_mu_);
    queued_.push_back(std::move(desc));
    ++queued_seq_;
    wake = wake_;
  }
  sent_.fetch_add(1, std::memory_order_relaxed);
  if (wake) wake();
  return {};
}

size_t FpgaLink::poll(const std::function<void(const Message&)>& deliver) {
  std::vector<std::vector<uint8_t>> batch;
  uint64_t seq = 0;
  {
    std::lock_guard lock(queue_mu_);
    batch.swap(queued_);
    seq = queued_seq_;
  }
  size_t work = batch.size();
  std::vector<Message> received;
  {
    std::lock_guard lock(device_mu_);
    for (const auto& d : batch) device_->push_descriptor(d);
    work += device_->service(clock_.now_ns());
    while (const size_t n = device_->pop_message(rx_buf_)) {
      ++work;
      Result<Message> m = n <= rx_buf_.size() ? decode(std::span(rx_buf_.data(), n))
                                              : Result<Message>(Error::format("{} bytes", n));
      if (!m) {
        // The engine checked the header; a payload it cannot judge (an
        // enum out of range, say) is still refused here.
        malformed_host_.fetch_add(1, std::memory_order_relaxed);
        last_rejection_ = "host queue: " + m.error().message;
        continue;
      }
      received.push_back(std::move(*m));
    }
    if (device_->links_idle() && device_->descriptors_waiting() == 0) {
      idle_as_of_.store(seq, std::memory_order_release);
    }
  }
  // Queue first, bitmaps after: an IPI that overtook messages sent before
  // it (docs/fpga.md "Ordering") at least does not overtake those already
  // here.
  for (const Message& m : received) {
    delivered_.fetch_add(1, std::memory_order_relaxed);
    deliver(m);
  }
  return work + drain_bitmaps(deliver);
}

// docs/fpga.md "Pending bitmaps": the engine sets one byte per vector to
// 0x01, the host takes eight vectors at a time with an atomic exchange of
// their word with 0 (atomic with respect to the device's byte writes).
size_t FpgaLink::drain_bitmaps(const std::function<void(const Message&)>& deliver) {
  size_t n = 0;
  for (uint32_t v : local_vcpus_) {
    uint64_t* words = bitmaps_.host + v * (kBitmapBytesPerVcpu / 8);
    for (uint32_t w = 0; w < kBitmapBytesPerVcpu / 8; ++w) {
      if (__atomic_load_n(&words[w], __ATOMIC_RELAXED) == 0) continue;
      uint64_t bytes = __atomic_exchange_n(&words[w], 0, __ATOMIC_ACQUIRE);
      while (bytes != 0) {
        const auto lane = static_cast<uint32_t>(std::countr_zero(bytes)) / 8;
        bytes &= ~(uint64_t{0xFF} << (8 * lane));
        Message m;
        m.header.type = MessageType::kIpi;
        m.header.src_node = config_.local;  // the bitmap does not say
        m.header.dst_node = config_.local;
        m.header.cluster_id = config_.cluster_id;
        IpiPayload p;
        p.target_vcpu = v;
        p.vector = static_cast<uint8_t>(w * 8 + lane);
        p.source_vcpu = -1;
        m.payload = p;
        ++n;
        bitmap_ipis_.fetch_add(1, std::memory_order_relaxed);
        delivered_.fetch_add(1, std::memory_order_relaxed);
        deliver(m);
      }
    }
  }
  return n;
}

std::optional<uint64_t> FpgaLink::next_timer_ns() const {
  {
    std::lock_guard lock(queue_mu_);
    if (!queued_.empty()) return 0;
  }
  std::lock_guard lock(device_mu_);
  return device_->next_service_ns();
}

bool FpgaLink::all_acknowledged() const {
  std::lock_guard lock(queue_mu_);
  return idle_as_of_.load(std::memory_order_acquire) == queued_seq_;
}

void FpgaLink::set_wake(std::function<void()> wake) {
  std::lock_guard lock(queue_mu_);
  wake_ = std::move(wake);
}

// The engine's counters are 32 bits and wrap: widened by adding the
// difference since the previous read.
void FpgaLink::refresh_counters_locked() const {
  for (uint32_t i = 0; i < kEngineCounters; ++i) {
    const uint32_t now = device_->read32(reg::counter(i));
    counters_[i] += static_cast<uint32_t>(now - raw_counters_[i]);
    raw_counters_[i] = now;
  }
}

FpgaLink::EngineCounters FpgaLink::engine_counters() const {
  std::lock_guard lock(device_mu_);
  refresh_counters_locked();
  return counters_;
}

LinkCounters FpgaLink::counters() const {
  const EngineCounters e = engine_counters();
  using C = EngineCounter;
  LinkCounters c;
  c.sent = sent_.load(std::memory_order_relaxed);
  c.delivered = delivered_.load(std::memory_order_relaxed);
  // Every descriptor is RAW: one first transmission each.
  const uint64_t data = counter(e, C::kTxData), first = counter(e, C::kTxDesc);
  c.retransmitted = data > first ? data - first : 0;
  c.duplicates = counter(e, C::kRxDuplicate);
  c.out_of_order = counter(e, C::kRxOutOfOrder);
  c.malformed = counter(e, C::kRxMalformed) + counter(e, C::kRxBadFcs) +
                counter(e, C::kTxBadDesc) + malformed_host_.load(std::memory_order_relaxed);
  c.foreign = counter(e, C::kRxCluster) + counter(e, C::kRxDstMac) + counter(e, C::kRxEthertype);
  c.acks_sent = counter(e, C::kTxAck);
  return c;
}

std::string FpgaLink::last_rejection() const {
  const EngineCounters e = engine_counters();
  std::lock_guard lock(device_mu_);
  std::string engine;
  const std::pair<EngineCounter, const char*> reasons[] = {
      {EngineCounter::kRxBadFcs, "bad FCS"},
      {EngineCounter::kRxMalformed, "malformed"},
      {EngineCounter::kRxCluster, "another cluster id"},
      {EngineCounter::kRxDstMac, "another destination MAC"},
      {EngineCounter::kRxEthertype, "another EtherType"},
      {EngineCounter::kTxBadDesc, "descriptors refused"}};
  for (const auto& [i, what] : reasons) {
    if (counter(e, i) != 0) engine += fmt::format("{}{} {}", engine.empty() ? "" : ", ", what, counter(e, i));
  }
  std::string s = last_rejection_;
  if (!engine.empty()) s += (s.empty() ? "" : "; ") + ("engine drops so far: " + engine);
  return s;
}

}  // namespace dvmm::dataplane::fpga
