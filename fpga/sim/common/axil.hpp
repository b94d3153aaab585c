// AXI-Lite master for the testbenches: one transaction at a time, with
// random delays between the address and data channels and random
// back-pressure on the responses. Accesses the model's s_axil_* ports.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>

#include "harness.hpp"

namespace dvmm::fpga::tb {

template <typename Top>
class AxilMaster : public Component {
 public:
  AxilMaster(Top& top, Rng& rng, Checker& chk) : top_(top), rng_(rng), chk_(chk) {}

  void write(uint32_t addr, uint32_t data, uint8_t strb = 0xF) {
    ops_.push_back(Op{true, addr, data, strb, nullptr});
  }
  void read(uint32_t addr, std::function<void(uint32_t)> done) {
    ops_.push_back(Op{false, addr, 0, 0, std::move(done)});
  }
  bool idle() const { return ops_.empty(); }

  void drive() override {
    Top& t = top_;
    t.s_axil_awvalid = 0;
    t.s_axil_wvalid = 0;
    t.s_axil_arvalid = 0;
    t.s_axil_bready = rng_.chance(30) ? 0 : 1;
    t.s_axil_rready = rng_.chance(30) ? 0 : 1;
    if (ops_.empty()) return;
    const Op& op = ops_.front();
    if (op.write) {
      // The two channels start independently, each held once raised.
      aw_up_ = aw_up_ || (!aw_done_ && !rng_.chance(40));
      w_up_ = w_up_ || (!w_done_ && !rng_.chance(40));
      t.s_axil_awvalid = aw_up_ ? 1 : 0;
      t.s_axil_awaddr = static_cast<uint16_t>(op.addr);
      t.s_axil_wvalid = w_up_ ? 1 : 0;
      t.s_axil_wdata = op.data;
      t.s_axil_wstrb = op.strb;
    } else {
      ar_up_ = ar_up_ || (!ar_done_ && !rng_.chance(40));
      t.s_axil_arvalid = ar_up_ ? 1 : 0;
      t.s_axil_araddr = static_cast<uint16_t>(op.addr);
    }
  }

  void sample() override {
    Top& t = top_;
    if (ops_.empty()) return;
    Op& op = ops_.front();
    if (op.write) {
      if (t.s_axil_awvalid && t.s_axil_awready) aw_done_ = true, aw_up_ = false;
      if (t.s_axil_wvalid && t.s_axil_wready) w_done_ = true, w_up_ = false;
      if (t.s_axil_bvalid && t.s_axil_bready) {
        chk_.check(aw_done_ && w_done_, "axil: write response before address and data");
        chk_.check(t.s_axil_bresp == 0, "axil: write response not OKAY");
        finish();
      }
    } else {
      if (t.s_axil_arvalid && t.s_axil_arready) ar_done_ = true, ar_up_ = false;
      if (t.s_axil_rvalid && t.s_axil_rready) {
        chk_.check(ar_done_, "axil: read data before the address");
        chk_.check(t.s_axil_rresp == 0, "axil: read response not OKAY");
        if (op.done) op.done(t.s_axil_rdata);
        finish();
      }
    }
  }

 private:
  struct Op {
    bool write;
    uint32_t addr;
    uint32_t data;
    uint8_t strb;
    std::function<void(uint32_t)> done;
  };
  void finish() {
    ops_.pop_front();
    aw_up_ = w_up_ = ar_up_ = false;
    aw_done_ = w_done_ = ar_done_ = false;
  }

  Top& top_;
  Rng& rng_;
  Checker& chk_;
  std::deque<Op> ops_;
  bool aw_up_ = false, w_up_ = false, ar_up_ = false;
  bool aw_done_ = false, w_done_ = false, ar_done_ = false;
};

}  // namespace dvmm::fpga::tb
