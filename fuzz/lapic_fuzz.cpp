// Fuzzes the local APIC model (host/apic/lapic.hpp) through the interfaces
// a vCPU reaches it by: xAPIC MMIO, x2APIC MSRs and IA32_APIC_BASE, plus
// interrupt messages arriving from elsewhere (accept) and the vCPU loop's
// side (acknowledge, NMI/INIT/SIPI latches, the timer). IPIs the guest sends
// come back to this LAPIC when their destination matches it, as the router
// would deliver them with a single vCPU. Time is a ManualClock.
//
// Every input is something a guest (or a remote node's message) can do,
// so every one must leave the model consistent: no crash, no sanitizer
// report, and a pending vector that acknowledge() then hands out.
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_input.hpp"
#include "host/apic/lapic.hpp"
#include "host/common/clock.hpp"
#include "host/devices/interrupts.hpp"

namespace {

using namespace dvmm;
using dvmm::fuzz::Input;
using dvmm::fuzz::Output;

constexpr size_t kMaxOps = 8192;
constexpr uint32_t kX2apicMsrFirst = 0x800;

// Sends the LAPIC's own IPIs back into it when they are aimed at it. The
// bus is called with the LAPIC's lock released, so re-entry is allowed;
// the depth bound stops a guest-built loop (none exists today, but a bug
// that made one should fail as a finding, not as a stack overflow).
class LoopbackBus final : public ApicBus {
 public:
  void deliver(const InterruptMessage& msg) override {
    ++sent;
    if (lapic == nullptr || depth > 4) return;
    const bool self = msg.shorthand == DestShorthand::kSelf ||
                      msg.shorthand == DestShorthand::kAllIncludingSelf;
    const bool others_only = msg.shorthand == DestShorthand::kAllExcludingSelf;
    if (!others_only && (self || destination_matches(lapic->addressing(), msg))) {
      ++depth;
      lapic->accept(msg);
      --depth;
    }
  }
  void broadcast_eoi(uint8_t) override { ++eois; }

  Lapic* lapic = nullptr;
  int depth = 0;
  uint64_t sent = 0;
  uint64_t eois = 0;
};

enum Op : uint8_t {
  kMmioWrite,   // reg u8 (bit 7: raw offset u16 follows), size u8, value u32
  kMmioRead,    // reg u8 [u16], size u8
  kMsrWrite,    // reg u8, value u64
  kMsrRead,     // reg u8
  kApicBase,    // bits u8
  kAccept,      // vector, mode, flags, shorthand u8; destination u32
  kAck,         // the CPU takes an interrupt
  kLatches,     // which u8: NMI, INIT, SIPI, wait-for-SIPI on/off
  kAdvance,     // ns u32, then the timer is polled
  kNumOps,
};

void run(Input& in) {
  ManualClock clock;
  clock.set(in.u32());
  LoopbackBus bus;
  const uint32_t id = in.u8();
  Lapic lapic(id, in.boolean(), bus, clock);
  bus.lapic = &lapic;
  uint64_t observed = 0;
  lapic.set_addressing_observer([&observed](const ApicAddressing&) { ++observed; });

  // Register offsets: usually a defined register's (16-byte aligned, below
  // 0x400), sometimes any offset, to reach the misaligned and reserved ones.
  auto mmio_offset = [&in]() -> uint64_t {
    const uint8_t reg = in.u8();
    return (reg & 0x80) != 0 ? in.u16() : uint64_t{reg & 0x3Fu} << 4;
  };
  auto mmio_size = [&in]() -> size_t {
    const uint8_t s = in.u8();
    return s < 0xC0 ? 4 : 1 + s % 8u;  // a KVM MMIO exit has 1 to 8 bytes
  };
  uint8_t buf[8] = {};

  for (size_t ops = 0; ops < kMaxOps && !in.empty(); ++ops) {
    switch (static_cast<Op>(in.u8() % kNumOps)) {
      case kMmioWrite: {
        const uint64_t offset = mmio_offset();
        const size_t n = mmio_size();
        const uint32_t v = in.u32();
        for (size_t i = 0; i < n; ++i) buf[i] = static_cast<uint8_t>(i < 4 ? v >> (8 * i) : 0);
        lapic.mmio_write(offset, std::span<const uint8_t>(buf, n));
        break;
      }
      case kMmioRead: {
        const uint64_t offset = mmio_offset();
        lapic.mmio_read(offset, std::span<uint8_t>(buf, mmio_size()));
        break;
      }
      case kMsrWrite: {
        const uint32_t msr = kX2apicMsrFirst + in.u8();
        (void)lapic.msr_write(msr, in.u64());
        break;
      }
      case kMsrRead: {
        uint64_t v = 0;
        (void)lapic.msr_read(kX2apicMsrFirst + in.u8(), v);
        break;
      }
      case kApicBase: {
        // The interesting bits: BSP (8), EXTD (10), EN (11), the base
        // address, and a reserved one (9).
        const uint8_t b = in.u8();
        uint64_t v = (b & 1) != 0 ? Lapic::kDefaultBase : 0xFED00000;
        if ((b & 2) != 0) v |= Lapic::kApicBaseBsp;
        if ((b & 4) != 0) v |= Lapic::kApicBaseX2apic;
        if ((b & 8) != 0) v |= Lapic::kApicBaseEnable;
        if ((b & 16) != 0) v |= 1u << 9;
        (void)lapic.set_apic_base(v);
        break;
      }
      case kAccept: {
        InterruptMessage m;
        m.vector = in.u8();
        m.mode = static_cast<DeliveryMode>(in.u8() % 8);  // reserved 3 included
        const uint8_t f = in.u8();
        m.logical = (f & 1) != 0;
        m.level_triggered = (f & 2) != 0;
        m.assert_level = (f & 4) != 0;
        m.x2apic = (f & 8) != 0;
        m.shorthand = static_cast<DestShorthand>(in.u8() % 4);
        m.destination = in.u32();
        m.source_cpu = (f & 16) != 0 ? 0 : -1;
        (void)destination_matches(lapic.addressing(), m);
        lapic.accept(m);
        break;
      }
      case kAck: {
        const std::optional<uint8_t> pending = lapic.pending_vector();
        const std::optional<uint8_t> taken = lapic.acknowledge();
        if (pending.has_value() != taken.has_value() || (pending && *pending != *taken)) {
          dvmm::fuzz::fail("acknowledge() disagrees with pending_vector()");
        }
        break;
      }
      case kLatches:
        switch (in.u8() % 5) {
          case 0: (void)lapic.take_nmi(); break;
          case 1: (void)lapic.take_init(); break;
          case 2: (void)lapic.take_sipi(); break;
          case 3: lapic.set_waiting_for_sipi(true); break;
          default: lapic.set_waiting_for_sipi(false); break;
        }
        break;
      case kAdvance:
        clock.advance(in.u32());
        (void)lapic.poll_timer();
        break;
      case kNumOps:
        break;
    }
  }
  (void)lapic.has_work();
  (void)lapic.id();
  (void)lapic.task_priority();
  (void)lapic.counters();
  (void)lapic.apic_base();
}

// xAPIC register offsets (SDM table 11-1), for the seeds.
constexpr uint8_t kRegId = 0x02, kRegTpr = 0x08, kRegEoi = 0x0B, kRegLdr = 0x0D, kRegDfr = 0x0E,
                  kRegSvr = 0x0F, kRegEsr = 0x28, kRegIcrLow = 0x30, kRegIcrHigh = 0x31,
                  kRegLvtTimer = 0x32, kRegTimerInit = 0x38, kRegTimerCur = 0x39,
                  kRegTimerDiv = 0x3E;

std::vector<dvmm::fuzz::Seed> seeds() {
  auto prologue = [](Output& o, uint8_t id) { o.u32(0).u8(id).u8(1); };
  auto w = [](Output& o, uint8_t reg, uint32_t v) { o.u8(kMmioWrite).u8(reg).u8(0).u32(v); };
  auto r = [](Output& o, uint8_t reg) { o.u8(kMmioRead).u8(reg).u8(0); };
  std::vector<dvmm::fuzz::Seed> out;
  {
    // Linux's xAPIC bring-up, then a self-IPI through the ICR and its EOI.
    Output o;
    prologue(o, 0);
    w(o, kRegSvr, 0x1FF);
    w(o, kRegDfr, 0xFFFFFFFF);
    w(o, kRegLdr, 0x01000000);
    w(o, kRegTpr, 0);
    r(o, kRegId);
    w(o, kRegIcrHigh, 0);
    w(o, kRegIcrLow, 0x00044041);  // self shorthand, fixed, vector 0x41
    o.u8(kAck);
    w(o, kRegEoi, 0);
    w(o, kRegEsr, 0);
    r(o, kRegEsr);
    out.push_back({"xapic-self-ipi", o.data()});
  }
  {
    // Periodic timer, time passes, the interrupt is taken.
    Output o;
    prologue(o, 1);
    w(o, kRegSvr, 0x1FF);
    w(o, kRegTimerDiv, 0x0B);
    w(o, kRegLvtTimer, 0x20030);
    w(o, kRegTimerInit, 100000);
    o.u8(kAdvance).u32(50000);
    r(o, kRegTimerCur);
    o.u8(kAdvance).u32(250000).u8(kAck);
    out.push_back({"timer-periodic", o.data()});
  }
  {
    // Switch to x2APIC, program through MSRs, send an IPI with the 64-bit ICR.
    Output o;
    prologue(o, 2);
    o.u8(kApicBase).u8(1 | 2 | 8 | 4);
    o.u8(kMsrWrite).u8(0x0F).u64(0x1FF);
    o.u8(kMsrRead).u8(0x0D);
    o.u8(kMsrWrite).u8(0x30).u64((uint64_t{2} << 32) | 0x4050);
    o.u8(kMsrWrite).u8(0x3F).u64(0x60);  // SELF IPI
    o.u8(kAck).u8(kAck);
    o.u8(kMsrWrite).u8(0x0B).u64(0);
    out.push_back({"x2apic", o.data()});
  }
  {
    // INIT and SIPI from another CPU, and an NMI.
    Output o;
    prologue(o, 3);
    o.u8(kAccept).u8(0).u8(5).u8(4).u8(0).u32(3);
    o.u8(kLatches).u8(1);
    o.u8(kAccept).u8(0x08).u8(6).u8(4).u8(0).u32(3);
    o.u8(kLatches).u8(2);
    o.u8(kAccept).u8(2).u8(4).u8(4).u8(0).u32(3);
    o.u8(kLatches).u8(0);
    out.push_back({"init-sipi-nmi", o.data()});
  }
  return out;
}

}  // namespace

DVMM_FUZZ_TARGET(seeds, run)
