#include "dataplane/fpga/host_rings.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>

#include "dataplane/fpga/engine_map.hpp"

namespace dvmm::dataplane::fpga {
namespace {

// stop() polls STATUS this often before giving up: a transaction in flight
// ends within a few host-memory round trips, far below this many reads.
constexpr int kStopPolls = 10'000;
constexpr size_t kPage = 4096;

size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

// Ring words of a descriptor of n bytes: its length word and its beats.
uint32_t ring_words(size_t n) { return static_cast<uint32_t>(1 + (n + 7) / 8); }

struct Layout {
  size_t rx = 0, wb = 0, bytes = 0;
};

Layout layout(const HostRings::Geometry& g, size_t slot_bytes) {
  Layout l;
  l.rx = align_up(size_t{g.tx_words} * 8, kPage);       // slot-aligned: slots are <= 4 KiB
  l.wb = align_up(l.rx + size_t{g.rx_slots} * slot_bytes, 64);
  l.bytes = align_up(l.wb + 8, kPage);
  return l;
}

// Waits (bounded) for STATUS.busy to fall with CONTROL.enable clear.
Status wait_quiet(RegisterPort& regs) {
  for (int polls = 0; (regs.read32(reg::kStatus) & reg::kStatusRingsBusy) != 0;) {
    if (++polls == kStopPolls) {
      return Error::format("fpga host rings: the engine still has host-memory transfers in flight "
                           "after {} STATUS reads with CONTROL.enable clear",
                           kStopPolls);
    }
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<HostRings>> HostRings::create(RegisterPort& regs, const Allocate& allocate,
                                                     Geometry g) {
  const uint32_t max_msg = regs.read32(reg::kParams2) & 0xFFFF;
  if (!std::has_single_bit(max_msg) || max_msg < 64 || max_msg > 2048) {
    return Error::format("fpga host rings: the engine reports MAX_MSG_BYTES {} (PARAMS2), not a "
                         "power of 2 in 64..2048: is the bitstream a dvmm_card_top?",
                         max_msg);
  }
  if (!std::has_single_bit(g.tx_words) || g.tx_words < 16 || g.tx_words > 32768 ||
      !std::has_single_bit(g.rx_slots) || g.rx_slots > 32768) {
    return Error::format("fpga host rings: {} TX words and {} RX slots: both must be powers of 2, "
                         "16..32768 words and 1..32768 slots",
                         g.tx_words, g.rx_slots);
  }
  if (g.tx_words < ring_words(max_msg + kTxrHeaderBytes)) {
    return Error::format("fpga host rings: a TX ring of {} words cannot hold the largest "
                         "descriptor ({} words at MAX_MSG_BYTES {}): make it larger",
                         g.tx_words, ring_words(max_msg + kTxrHeaderBytes), max_msg);
  }
  // A previous user's transfers must be over before the bases change.
  DVMM_TRY(wait_quiet(regs));
  const Layout l = layout(g, rx_slot_bytes(max_msg));
  const DmaWindow mem = DVMM_TRY(allocate(l.bytes));
  if (mem.bytes < l.bytes || mem.device_address % kPage != 0) {
    return Error::format("fpga host rings: the device gave {} bytes at {:#x}; {} bytes, 4 KiB "
                         "aligned, are needed",
                         mem.bytes, mem.device_address, l.bytes);
  }
  std::unique_ptr<HostRings> r(new HostRings(regs, mem, g, max_msg));
  r->program();
  return r;
}

HostRings::HostRings(RegisterPort& regs, DmaWindow memory, Geometry g, uint32_t max_msg_bytes)
    : regs_(regs),
      mem_(memory),
      geo_(g),
      max_msg_bytes_(max_msg_bytes),
      slot_bytes_(rx_slot_bytes(max_msg_bytes)) {
  const Layout l = layout(g, slot_bytes_);
  auto* base = reinterpret_cast<uint8_t*>(mem_.host);
  tx_ = mem_.host;
  rx_ = base + l.rx;
  wb_ = reinterpret_cast<uint64_t*>(base + l.wb);
  tx_device_ = mem_.device_address;
  rx_device_ = mem_.device_address + l.rx;
  wb_device_ = mem_.device_address + l.wb;
}

// docs/fpga.md "Host rings": bases, sizes, writeback; the indices start at
// 0 on both sides when CONTROL.enable is set.
void HostRings::program() {
  regs_.write32(reg::kTxrBaseLo, static_cast<uint32_t>(tx_device_));
  regs_.write32(reg::kTxrBaseHi, static_cast<uint32_t>(tx_device_ >> 32));
  regs_.write32(reg::kTxrSize, geo_.tx_words);
  regs_.write32(reg::kRxrBaseLo, static_cast<uint32_t>(rx_device_));
  regs_.write32(reg::kRxrBaseHi, static_cast<uint32_t>(rx_device_ >> 32));
  regs_.write32(reg::kRxrSlots, geo_.rx_slots);
  regs_.write32(reg::kRingWbLo, static_cast<uint32_t>(wb_device_));
  regs_.write32(reg::kRingWbHi, static_cast<uint32_t>(wb_device_ >> 32));
}

// The engine's TXR_CONS, from the writeback word (it may lag the register,
// which only makes the room found smaller).
uint32_t HostRings::tx_consumed() const {
  return static_cast<uint32_t>(__atomic_load_n(wb_, __ATOMIC_ACQUIRE));
}

uint32_t HostRings::room() const { return geo_.tx_words - (tx_prod_ - tx_consumed()); }

bool HostRings::write_descriptor(std::span<const uint8_t> d) {
  if (room() < ring_words(d.size())) return false;
  const uint32_t mask = geo_.tx_words - 1;
  uint32_t p = tx_prod_;
  tx_[p++ & mask] = d.size();
  for (size_t i = 0; i < d.size(); i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, d.data() + i, std::min<size_t>(8, d.size() - i));
    tx_[p++ & mask] = w;
  }
  tx_prod_ = p;
  ends_.push_back(p);
  return true;
}

void HostRings::push(std::span<const uint8_t> descriptor) {
  if (descriptor.empty() || descriptor.size() > max_msg_bytes_ + kTxrHeaderBytes) {
    ++refused_;
    return;
  }
  // In order: nothing overtakes a descriptor that is waiting for room.
  if (backlog_.empty() && write_descriptor(descriptor)) return;
  backlog_.emplace_back(descriptor.begin(), descriptor.end());
}

size_t HostRings::waiting() const {
  const uint32_t cons = tx_consumed();
  while (!ends_.empty() && static_cast<int32_t>(ends_.front() - cons) <= 0) ends_.pop_front();
  return ends_.size() + backlog_.size();
}

size_t HostRings::pop(std::span<uint8_t> out) {
  for (;;) {
    uint8_t* slot = rx_ + size_t{rx_cons_ & (geo_.rx_slots - 1)} * slot_bytes_;
    const uint64_t hdr = __atomic_load_n(reinterpret_cast<uint64_t*>(slot), __ATOMIC_ACQUIRE);
    if (((hdr >> 16) & 0xFFFF) != ((rx_cons_ + 1) & 0xFFFF)) return 0;
    const auto len = static_cast<size_t>(hdr & 0xFFFF);
    ++rx_cons_;
    if (len == 0) continue;  // the engine never writes one; skip rather than stop here
    if (len <= out.size() && len <= max_msg_bytes_) {
      std::memcpy(out.data(), slot + kRxrMessageOffset, len);
    }
    return len;
  }
}

bool HostRings::kick() {
  while (!backlog_.empty() && write_descriptor(backlog_.front())) backlog_.pop_front();
  bool wrote = false;
  if (tx_doorbell_ != tx_prod_) {
    // The words are in memory before the engine can see the new index.
    std::atomic_thread_fence(std::memory_order_release);
    regs_.write32(reg::kTxrProd, tx_prod_);
    tx_doorbell_ = tx_prod_;
    wrote = true;
  }
  if (rx_doorbell_ != rx_cons_) {
    regs_.write32(reg::kRxrCons, rx_cons_);
    rx_doorbell_ = rx_cons_;
    wrote = true;
  }
  return wrote;
}

bool HostRings::kick_pending() const {
  if (tx_doorbell_ != tx_prod_ || rx_doorbell_ != rx_cons_) return true;
  if (backlog_.empty()) return false;
  return room() >= ring_words(backlog_.front().size());
}

Status HostRings::stop() {
  DVMM_TRY(wait_quiet(regs_));
  // Zeroed RX headers: no tag of the previous run can match the new
  // indices. The writeback word restarts at 0 with the engine's indices.
  std::memset(rx_, 0, size_t{geo_.rx_slots} * slot_bytes_);
  __atomic_store_n(wb_, 0, __ATOMIC_RELEASE);
  tx_prod_ = tx_doorbell_ = 0;
  rx_cons_ = rx_doorbell_ = 0;
  ends_.clear();
  backlog_.clear();
  return {};
}

bool HostRings::is_rx_header(uint64_t device_address) const {
  return device_address >= rx_device_ &&
         device_address - rx_device_ < size_t{geo_.rx_slots} * slot_bytes_ &&
         (device_address - rx_device_) % slot_bytes_ == 0;
}

}  // namespace dvmm::dataplane::fpga
