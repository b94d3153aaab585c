// The DPDK transport's hot path: bursts and the sleep/wake hooks. Nothing
// here allocates, throws or blocks (see dataplane/dpdk_transport.hpp).
#include <poll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "dataplane/dpdk/transport_impl.hpp"

namespace dvmm::dataplane::dpdk {
namespace {

// Counters written by one thread and read by any: a relaxed load+store is
// a plain mov on x86, unlike fetch_add's locked instruction.
void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace

// --- Tx ----------------------------------------------------------------------

size_t DpdkTransportImpl::tx_burst(std::span<const TxFrame> frames) {
  tx_lock();
  size_t taken = 0;
  for (const TxFrame& f : frames) {
    const MacAddress* dst = f.dst != local_ ? macs_.mac_of(f.dst) : nullptr;
    if (dst == nullptr || f.bytes.size() > max_frame_) {
      bump(counters_.tx_dropped);
      ++taken;
      continue;
    }
    if (tx_n_ == kTxBufferFrames) {
      tx_drain_locked();
      if (tx_n_ == kTxBufferFrames) break;  // the PMD's ring is full: caller keeps the rest
    }
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) break;  // every mbuf in flight: as good as a full ring
    const size_t n = encap_size(f.bytes.size());
    // Cannot fail: the pool's data room holds kMaxEncapFrame.
    auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(n)));
    (void)encode_frame(std::span<uint8_t>(p, n), *dst, local_mac_, f.bytes);
    if (tx_n_ == 0) tx_oldest_tsc_.store(rte_rdtsc(), std::memory_order_relaxed);
    tx_buf_[tx_n_++] = m;
    bump(counters_.tx_frames);
    bump(counters_.tx_bytes, f.bytes.size());
    ++taken;
    if (tx_n_ >= kBurst) tx_drain_locked();  // a full burst: hand it over now
  }
  tx_pending_.store(tx_n_, std::memory_order_relaxed);
  tx_unlock();
  return taken;
}

void DpdkTransportImpl::tx_flush() {
  tx_lock();
  if (tx_n_ != 0) tx_drain_locked();
  tx_pending_.store(tx_n_, std::memory_order_relaxed);
  tx_unlock();
}

void DpdkTransportImpl::tx_drain_locked() {
  const uint16_t sent = rte_eth_tx_burst(port_, 0, tx_buf_, tx_n_);
  if (sent == tx_n_) {
    tx_n_ = 0;
    return;
  }
  // Ring full: keep the rest, oldest first, and restart the drain timer.
  std::memmove(tx_buf_, tx_buf_ + sent, sizeof(rte_mbuf*) * (tx_n_ - sent));
  tx_n_ = static_cast<uint16_t>(tx_n_ - sent);
  tx_oldest_tsc_.store(rte_rdtsc(), std::memory_order_relaxed);
}

// The l2fwd-style safety net, run from the poller thread: frames nobody
// flushed leave after kTxDrainUs. try-lock: never wait for a sender.
void DpdkTransportImpl::maybe_timer_drain() {
  if (tx_pending_.load(std::memory_order_relaxed) == 0) return;
  if (rte_rdtsc() - tx_oldest_tsc_.load(std::memory_order_relaxed) < drain_tsc_) return;
  if (!tx_try_lock()) return;
  if (tx_n_ != 0) tx_drain_locked();
  tx_pending_.store(tx_n_, std::memory_order_relaxed);
  tx_unlock();
}

// --- Rx ----------------------------------------------------------------------

uint16_t DpdkTransportImpl::refill_stash() {
  stash_pos_ = 0;
  stash_n_ = rte_eth_rx_burst(port_, 0, stash_, kBurst);
  return stash_n_;
}

// Validates one received frame and copies its dvmm frame into `out`.
// Returns false (counted) for anything that is not ours.
bool DpdkTransportImpl::take_one(rte_mbuf* m, RxFrame& out) {
  const uint32_t total = rte_pktmbuf_pkt_len(m);
  DecodedHeader h;
  const auto* hdr = static_cast<const uint8_t*>(
      total >= kEncapHeaderSize ? rte_pktmbuf_read(m, 0, kEncapHeaderSize, header_tmp_) : nullptr);
  const DecodeStatus st = hdr == nullptr
                              ? DecodeStatus::kTooShort
                              : decode_header(std::span<const uint8_t>(hdr, kEncapHeaderSize),
                                              total, h);
  if (st != DecodeStatus::kOk) {
    bump(st == DecodeStatus::kWrongEtherType ? drop_not_ours_ : drop_malformed_);
    return false;
  }
  if (h.dst != local_mac_) {
    bump(drop_wrong_dst_);
    return false;
  }
  NodeId src = 0;
  if (!macs_.lookup(h.src, src) || src == local_) {
    bump(drop_unknown_src_);
    return false;
  }
  // Usually one segment (a pointer into it); memif chains segments for
  // frames above its 2 KiB buffers, and then rte_pktmbuf_read copies.
  const void* body = rte_pktmbuf_read(m, kEncapHeaderSize, h.len, out.data);
  if (body == nullptr) {
    bump(drop_malformed_);
    return false;
  }
  if (body != out.data) std::memcpy(out.data, body, h.len);
  out.src = src;
  out.len = h.len;
  return true;
}

size_t DpdkTransportImpl::rx_burst(std::span<RxFrame> out) {
  maybe_timer_drain();
  size_t got = 0;
  uint64_t bytes = 0, dropped = 0;
  while (got < out.size()) {
    if (stash_pos_ == stash_n_ && refill_stash() == 0) break;
    const uint16_t first = stash_pos_;
    while (stash_pos_ < stash_n_ && got < out.size()) {
      if (take_one(stash_[stash_pos_], out[got])) {
        bytes += out[got].len;
        ++got;
      } else {
        ++dropped;
      }
      ++stash_pos_;
    }
    rte_pktmbuf_free_bulk(stash_ + first, static_cast<unsigned>(stash_pos_ - first));
    if (stash_pos_ == stash_n_ && stash_n_ < kBurst) break;  // the ring is empty
  }
  if (got != 0) {
    bump(counters_.rx_frames, got);
    bump(counters_.rx_bytes, bytes);
    sleep_ns_ = kMinSleepNs;  // traffic: the next idle sleep starts short
  }
  if (dropped != 0) bump(counters_.rx_dropped, dropped);
  return got;
}

// --- Sleep and wake-up -------------------------------------------------------

void DpdkTransportImpl::drain_wait_fd() {
  switch (wake_) {
    case WakeMode::kRxInterrupt: {
      // The PMD's fd may be blocking: read only what poll says is there.
      pollfd p{wait_fd_, POLLIN, 0};
      uint64_t v = 0;
      if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0) (void)!read(wait_fd_, &v, sizeof(v));
      break;
    }
    case WakeMode::kKernelSocket: {
      // Each queued copy is 1 byte (the filter's snap length) and the
      // buffer is the kernel's minimum: a few iterations at most.
      uint8_t b = 0;
      for (int i = 0; i < 256; ++i) {
        if (recv(wait_fd_, &b, 1, MSG_DONTWAIT | MSG_TRUNC) < 0) break;
      }
      break;
    }
    case WakeMode::kTimer: {
      const itimerspec off{};
      (void)timerfd_settime(wait_fd_, 0, &off, nullptr);
      uint64_t v = 0;
      (void)!read(wait_fd_, &v, sizeof(v));  // non-blocking; EAGAIN if it never fired
      break;
    }
  }
}

bool DpdkTransportImpl::prepare_to_sleep() {
  if (stash_pos_ < stash_n_) return false;
  // Frames queued without a tx_flush must not wait for our wake-up.
  maybe_timer_drain();
  if (tx_pending_.load(std::memory_order_relaxed) != 0 && tx_try_lock()) {
    if (tx_n_ != 0) tx_drain_locked();
    tx_pending_.store(tx_n_, std::memory_order_relaxed);
    tx_unlock();
  }
  switch (wake_) {
    case WakeMode::kRxInterrupt:
      // Arm first, then look: a frame that arrives in between either is
      // in the ring now or raises the interrupt.
      (void)rte_eth_dev_rx_intr_enable(port_, 0);
      if (refill_stash() != 0) {
        (void)rte_eth_dev_rx_intr_disable(port_, 0);
        return false;
      }
      return true;
    case WakeMode::kKernelSocket:
      // The kernel hands each frame to the PMD's socket (ETH_P_ALL taps
      // come first) and then to ours: after draining ours, a frame not
      // yet in the ring will still make ours readable.
      drain_wait_fd();
      return refill_stash() == 0;
    case WakeMode::kTimer: {
      if (refill_stash() != 0) return false;
      itimerspec t{};
      t.it_value.tv_sec = static_cast<time_t>(sleep_ns_ / 1'000'000'000u);
      t.it_value.tv_nsec = static_cast<long>(sleep_ns_ % 1'000'000'000u);
      (void)timerfd_settime(wait_fd_, 0, &t, nullptr);
      // Still idle at the next wake-up: sleep longer then.
      sleep_ns_ = std::min(sleep_ns_ * 2, max_sleep_ns_);
      return true;
    }
  }
  return true;
}

void DpdkTransportImpl::after_wakeup() {
  drain_wait_fd();
  if (wake_ == WakeMode::kRxInterrupt) (void)rte_eth_dev_rx_intr_disable(port_, 0);
}

}  // namespace dvmm::dataplane::dpdk
