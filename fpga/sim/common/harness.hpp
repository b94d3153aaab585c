// Testbench harness shared by every Verilator testbench of fpga/rtl: a
// clocked simulation that drives and samples registered components each
// cycle, a checker that counts failures, and a seeded random source.
//
// One cycle (Sim::step):
//   1. every component drives its inputs (valid/ready/data) for the cycle;
//   2. the model settles (combinational ready/valid paths included), the
//      components answer combinational reads, and the model settles again;
//   3. every component samples the handshakes that fire at this edge;
//   4. the rising edge, then the falling edge.
// Sampling before the edge sees exactly what the RTL sees at the edge, so
// a handshake counted here is a transfer the RTL performed.
#pragma once

#include <verilated.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#ifdef DVMM_FPGA_TRACE
#include <verilated_fst_c.h>
#endif

namespace dvmm::fpga::tb {

// Counts failed checks; a testbench exits non-zero if any failed. Stops
// printing after a few so one broken invariant does not flood the log.
class Checker {
 public:
  void check(bool ok, const std::string& what) {
    if (ok) return;
    if (++failures_ <= 20) std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
  int failures() const { return failures_; }
  int finish(const char* name) const {
    if (failures_ == 0) {
      std::printf("%s: PASS\n", name);
      return 0;
    }
    std::printf("%s: FAIL (%d checks failed)\n", name, failures_);
    return 1;
  }

 private:
  int failures_ = 0;
};

// Seed from DVMM_SEED (to reproduce a run), else a fixed default so CTest
// runs are deterministic. Printed so a failure names its seed.
inline uint64_t seed_from_env(uint64_t fallback) {
  const char* s = std::getenv("DVMM_SEED");
  const uint64_t seed = s != nullptr ? std::strtoull(s, nullptr, 0) : fallback;
  std::printf("seed %llu (set DVMM_SEED to change)\n", static_cast<unsigned long long>(seed));
  return seed;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  // True with probability percent/100.
  bool chance(unsigned percent) { return uniform(0, 99) < percent; }
  uint64_t uniform(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(gen_);
  }
  uint8_t byte() { return static_cast<uint8_t>(uniform(0, 255)); }

 private:
  std::mt19937_64 gen_;
};

// Something that takes part in every cycle.
class Component {
 public:
  virtual ~Component() = default;
  virtual void drive() = 0;  // before the edge: set the model's inputs
  // After the model settled on the driven inputs: answer combinational
  // requests (a table or RAM read port); the model settles again after.
  virtual void settle() {}
  virtual void sample() = 0;  // before the edge, after eval: record transfers
};

template <typename Top>
class Sim {
 public:
  explicit Sim(const char* name) : ctx_(std::make_unique<VerilatedContext>()) {
    ctx_->commandArgs(0, static_cast<const char**>(nullptr));
    top_ = std::make_unique<Top>(ctx_.get(), name);
#ifdef DVMM_FPGA_TRACE
    if (const char* path = std::getenv("DVMM_FPGA_FST")) {
      ctx_->traceEverOn(true);
      trace_ = std::make_unique<VerilatedFstC>();
      top_->trace(trace_.get(), 99);
      trace_->open(path);
      std::printf("tracing to %s\n", path);
    }
#endif
    top_->clk = 0;
    top_->eval();
  }
  ~Sim() {
#ifdef DVMM_FPGA_TRACE
    if (trace_) trace_->close();
#endif
    top_->final();
  }
  Sim(const Sim&) = delete;
  Sim& operator=(const Sim&) = delete;

  Top& top() {
    return *top_;
  }
  uint64_t cycle() const {
    return cycle_;
  }
  const uint64_t* cycle_ptr() const {
    return &cycle_;
  }
  void add(Component& c) {
    components_.push_back(&c);
  }
  // Called before the edge, after the components sampled (scoreboards).
  void on_cycle(std::function<void()> f) {
    hooks_.push_back(std::move(f));
  }

  void step() {
    for (Component* c : components_) c->drive();
    top_->eval();
    // Twice: a read port may depend on the answer of another (the APIC
    // entry's node selects the node table entry).
    for (int pass = 0; pass < 2; ++pass) {
      for (Component* c : components_) c->settle();
      top_->eval();
    }
    for (Component* c : components_) c->sample();
    for (auto& h : hooks_) h();
    top_->clk = 1;
    top_->eval();
    dump();
    top_->clk = 0;
    top_->eval();
    dump();
    ++cycle_;
  }
  void steps(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) step();
  }
  // Runs until done() or the cycle budget is spent; false on timeout.
  bool run_until(const std::function<bool()>& done, uint64_t max_cycles) {
    const uint64_t end = cycle_ + max_cycles;
    while (!done()) {
      if (cycle_ >= end) return false;
      step();
    }
    return true;
  }

 private:
  void dump() {
#ifdef DVMM_FPGA_TRACE
    if (trace_) trace_->dump(ctx_->time());
#endif
    ctx_->timeInc(1);
  }

  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Top> top_;
#ifdef DVMM_FPGA_TRACE
  std::unique_ptr<VerilatedFstC> trace_;
#endif
  std::vector<Component*> components_;
  std::vector<std::function<void()>> hooks_;
  uint64_t cycle_ = 0;
};

// Holds rst high for a few cycles (components idle meanwhile).
template <typename Top>
void reset(Sim<Top>& sim, unsigned cycles = 4) {
  sim.top().rst = 1;
  sim.steps(cycles);
  sim.top().rst = 0;
}

}  // namespace dvmm::fpga::tb
