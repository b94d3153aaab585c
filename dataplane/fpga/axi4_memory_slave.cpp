#include "dataplane/fpga/axi4_memory_slave.hpp"

#include <fmt/format.h>

namespace dvmm::dataplane::fpga {
namespace {

constexpr uint8_t kOkay = 0;
constexpr uint8_t kSlvErr = 2;
constexpr uint8_t kSize8 = 3;  // AxSIZE: 8-byte beats
constexpr uint8_t kIncr = 1;   // AxBURST

}  // namespace

bool Axi4MemorySlave::stall(unsigned percent) {
  if (rng_ == nullptr || percent == 0) return false;
  return std::uniform_int_distribution<unsigned>(0, 99)(*rng_) < percent;
}

void Axi4MemorySlave::violation(const std::string& what) {
  if (on_violation) on_violation("AXI4 master: " + what);
}

void Axi4MemorySlave::drive() {
  p_.awready = stall(stalls_.aw) ? 0 : 1;
  p_.wready = stall(stalls_.w) ? 0 : 1;
  p_.arready = stall(stalls_.ar) ? 0 : 1;
  // A valid, once raised, stays with its payload until taken.
  if (!b_up_ && !b_.empty() && !stall(stalls_.b)) b_up_ = true;
  p_.bvalid = b_up_ ? 1 : 0;
  p_.bresp = b_up_ ? b_.front() : kOkay;
  if (!r_up_ && !reads_.empty() && !stall(stalls_.r)) {
    r_up_ = true;
    const Burst& r = reads_.front();
    uint64_t data = 0;
    const bool ok = !r.error && mem_.read64(r.addr + 8ull * r.done, data);
    p_.rdata = ok ? data : 0;
    p_.rresp = ok ? kOkay : kSlvErr;
    if (!ok) ++error_responses_;
    p_.rlast = r.done + 1 == r.beats ? 1 : 0;
  }
  p_.rvalid = r_up_ ? 1 : 0;
}

void Axi4MemorySlave::check_burst(const char* channel, uint64_t addr, unsigned beats,
                                  uint8_t size, uint8_t burst) {
  if (size != kSize8 || burst != kIncr) {
    violation(fmt::format("{} burst at {:#x}: size {} burst {} (want 8-byte INCR)", channel, addr,
                          size, burst));
  }
  if (addr % 8 != 0) violation(fmt::format("{} burst at {:#x}: not 8-byte aligned", channel, addr));
  if ((addr & 0xFFF) + 8ull * beats > 0x1000) {
    violation(fmt::format("{} burst at {:#x} of {} beats crosses a 4 KiB boundary", channel, addr,
                          beats));
  }
}

// Matches data beats with their bursts, in order, and writes them.
void Axi4MemorySlave::retire_writes() {
  while (!aw_.empty() && !w_.empty()) {
    Burst& b = aw_.front();
    const WBeat beat = w_.front();
    w_.pop_front();
    if (!mem_.write64(b.addr + 8ull * b.done, beat.data, beat.strb)) b.error = true;
    ++b.done;
    const bool last = b.done == b.beats;
    if (beat.last != last) {
      violation(fmt::format("write burst at {:#x}: WLAST {} on beat {} of {}", b.addr,
                            beat.last ? "set" : "clear", b.done, b.beats));
    }
    if (last || beat.last) {
      if (b.error) ++error_responses_;
      b_.push_back(b.error ? kSlvErr : kOkay);
      aw_.pop_front();
    }
  }
}

bool Axi4MemorySlave::sample() {
  bool moved = false;
  // Held while stalled: address channels and write data.
  if (aw_held_ && !(p_.awvalid && p_.awaddr == aw_addr_ && p_.awlen == aw_len_))
    violation("AW changed or withdrawn while stalled");
  if (w_held_ && !(p_.wvalid && p_.wdata == w_data_ && p_.wstrb == w_strb_ && p_.wlast == w_last_))
    violation("W changed or withdrawn while stalled");
  if (ar_held_ && !(p_.arvalid && p_.araddr == ar_addr_ && p_.arlen == ar_len_))
    violation("AR changed or withdrawn while stalled");
  aw_held_ = p_.awvalid && !p_.awready;
  w_held_ = p_.wvalid && !p_.wready;
  ar_held_ = p_.arvalid && !p_.arready;
  aw_addr_ = p_.awaddr;
  aw_len_ = p_.awlen;
  w_data_ = p_.wdata;
  w_strb_ = p_.wstrb;
  w_last_ = p_.wlast;
  ar_addr_ = p_.araddr;
  ar_len_ = p_.arlen;

  if (p_.awvalid && p_.awready) {
    const unsigned beats = p_.awlen + 1u;
    check_burst("write", p_.awaddr, beats, p_.awsize, p_.awburst);
    if (on_write_address) on_write_address(Access{p_.awaddr, beats});
    aw_.push_back(Burst{p_.awaddr, beats});
    ++writes_outstanding_;
    moved = true;
  }
  if (p_.wvalid && p_.wready) {
    w_.push_back(WBeat{p_.wdata, p_.wstrb, p_.wlast != 0});
    moved = true;
  }
  retire_writes();
  if (p_.arvalid && p_.arready) {
    const unsigned beats = p_.arlen + 1u;
    check_burst("read", p_.araddr, beats, p_.arsize, p_.arburst);
    reads_.push_back(Burst{p_.araddr, beats});
    moved = true;
  }
  if (p_.bvalid && p_.bready) {
    b_.pop_front();
    b_up_ = false;
    --writes_outstanding_;
    moved = true;
  }
  if (p_.rvalid && p_.rready) {
    if (++reads_.front().done == reads_.front().beats) reads_.pop_front();
    r_up_ = false;
    moved = true;
  }
  return moved;
}

}  // namespace dvmm::dataplane::fpga
