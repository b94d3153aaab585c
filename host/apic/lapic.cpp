// Userspace local APIC model: xAPIC MMIO page and x2APIC MSRs over one
// register file, IRR/ISR/TMR with TPR/PPR priority, EOI (with broadcast to
// the IOAPIC for level-triggered vectors), ICR -> InterruptMessage, LVT
// timer (one-shot / periodic), ESR, IA32_APIC_BASE mode transitions and
// destination matching for the router.
//
// Register layout: Intel SDM vol. 3A, table 11-1 (xAPIC offsets) and table
// 11-6 (x2APIC MSR = 0x800 + offset / 16). Section numbers in comments refer
// to SDM vol. 3A chapter 11.
#include "host/apic/lapic.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

namespace dvmm {

namespace {

// xAPIC register offsets (table 11-1).
constexpr uint32_t kRegId = 0x020;
constexpr uint32_t kRegVersion = 0x030;
constexpr uint32_t kRegTpr = 0x080;
constexpr uint32_t kRegApr = 0x090;
constexpr uint32_t kRegPpr = 0x0A0;
constexpr uint32_t kRegEoi = 0x0B0;
constexpr uint32_t kRegRrd = 0x0C0;
constexpr uint32_t kRegLdr = 0x0D0;
constexpr uint32_t kRegDfr = 0x0E0;
constexpr uint32_t kRegSvr = 0x0F0;
constexpr uint32_t kRegIsr = 0x100;  // 8 registers, 0x100-0x170
constexpr uint32_t kRegTmr = 0x180;  // 0x180-0x1F0
constexpr uint32_t kRegIrr = 0x200;  // 0x200-0x270
constexpr uint32_t kRegEsr = 0x280;
constexpr uint32_t kRegIcrLow = 0x300;
constexpr uint32_t kRegIcrHigh = 0x310;
constexpr uint32_t kRegLvtTimer = 0x320;  // 6 LVTs: timer, thermal, perf, LINT0, LINT1, error
constexpr uint32_t kRegLvtError = 0x370;
constexpr uint32_t kRegTimerInitial = 0x380;
constexpr uint32_t kRegTimerCurrent = 0x390;
constexpr uint32_t kRegTimerDivide = 0x3E0;
constexpr uint32_t kRegSelfIpi = 0x3F0;  // x2APIC only
// LVT CMCI (0x2F0) is absent: kVersion advertises 6 LVT entries.

constexpr uint32_t kX2apicMsrFirst = 0x800;
constexpr uint32_t kX2apicMsrLast = 0x8FF;

constexpr uint32_t kSvrWritable = 0x13FF;  // vector, enable (8), focus (9), suppress EOI bcast (12)
constexpr uint32_t kSvrEnable = 1u << 8;
constexpr uint32_t kSvrSuppressEoiBroadcast = 1u << 12;

constexpr uint32_t kIcrLowWritable = 0x000CCFFF;  // 19:18, 15:14, 11:0; bit 12 (status) reads 0

constexpr uint32_t kLvtMasked = 1u << 16;
constexpr size_t kLvtTimerIndex = 0;
constexpr size_t kLvtErrorIndex = 5;
// Writable bits per LVT (figure 11-8). Delivery status and remote IRR are
// read-only and never set by this model.
constexpr std::array<uint32_t, 6> kLvtWritable = {
    0x000700FF,  // timer: vector, mask, mode 18:17
    0x000107FF,  // thermal: vector, delivery mode, mask
    0x000107FF,  // performance counters
    0x0001A7FF,  // LINT0: + polarity (13), trigger (15)
    0x0001A7FF,  // LINT1
    0x000100FF,  // error: vector, mask
};

// ESR bits (figure 11-9).
constexpr uint32_t kEsrSendIllegalVector = 1u << 5;
constexpr uint32_t kEsrReceiveIllegalVector = 1u << 6;
constexpr uint32_t kEsrIllegalRegister = 1u << 7;

// Timer modes, LVT timer bits 18:17.
constexpr uint32_t kTimerOneShot = 0;
constexpr uint32_t kTimerPeriodic = 1;

// IA32_APIC_BASE: bits 7:0 and 9 are reserved, as are the bits above the
// architectural MAXPHYADDR of 52 (the model does not know the guest's).
constexpr uint64_t kApicBaseReserved = 0xFFF00000000002FFull;

uint32_t timer_mode(uint32_t lvt_timer) { return (lvt_timer >> 17) & 3; }
bool timer_mode_counts(uint32_t mode) { return mode == kTimerOneShot || mode == kTimerPeriodic; }

uint32_t x2apic_ldr(uint32_t id) { return ((id >> 4) << 16) | (1u << (id & 0xF)); }

// Highest set bit of a 256-bit vector register, or -1.
int highest_bit(const std::array<uint32_t, 8>& reg) {
  for (int i = 7; i >= 0; --i) {
    uint32_t w = reg[static_cast<size_t>(i)];
    if (w != 0) return i * 32 + static_cast<int>(std::bit_width(w)) - 1;
  }
  return -1;
}

bool test_bit(const std::array<uint32_t, 8>& reg, uint8_t v) {
  return (reg[v >> 5] >> (v & 31)) & 1u;
}
void set_bit(std::array<uint32_t, 8>& reg, uint8_t v) { reg[v >> 5] |= 1u << (v & 31); }
void clear_bit(std::array<uint32_t, 8>& reg, uint8_t v) { reg[v >> 5] &= ~(1u << (v & 31)); }

bool is_read_only(uint32_t offset) {
  return offset == kRegVersion || offset == kRegPpr || offset == kRegApr || offset == kRegRrd ||
         offset == kRegTimerCurrent || (offset >= kRegIsr && offset < kRegEsr);
}

}  // namespace

bool destination_matches(const ApicAddressing& apic, const InterruptMessage& msg) {
  if (!apic.enabled) return false;
  // The message's format decides how the destination is read (11.12.9:
  // x2APIC destinations are 32 bits, xAPIC destinations 8).
  if (msg.x2apic) {
    if (msg.destination == 0xFFFFFFFF) return true;
    if (!msg.logical) return msg.destination == apic.apic_id;
    // Cluster model only (11.12.10): cluster in 31:16, member bitmap in 15:0.
    const uint32_t ldr = apic.x2apic ? apic.ldr : x2apic_ldr(apic.apic_id);
    return (msg.destination >> 16) == (ldr >> 16) && (msg.destination & ldr & 0xFFFF) != 0;
  }
  const uint32_t dest = msg.destination & 0xFF;
  if (dest == 0xFF) return true;  // broadcast, physical and logical (11.6.2.2)
  if (!msg.logical) return dest == apic.apic_id;
  if (apic.x2apic) {
    // An 8-bit logical destination (an IOAPIC without interrupt remapping)
    // seen by an x2APIC: read it as cluster 0, as KVM does.
    return (apic.ldr >> 16) == 0 && (apic.ldr & dest & 0xFFFF) != 0;
  }
  const uint32_t logical_id = apic.ldr >> 24;
  switch (apic.dfr >> 28) {
    case 0xF:  // flat: 8-bit member bitmap
      return (logical_id & dest) != 0;
    case 0x0: {  // cluster: cluster number 7:4 (15 = all clusters), members 3:0
      const uint32_t cluster = dest >> 4;
      return (cluster == 0xF || cluster == (logical_id >> 4)) && (dest & logical_id & 0xF) != 0;
    }
    default:  // undefined model: no logical match
      return false;
  }
}

Lapic::Lapic(uint32_t apic_id, bool is_bsp, ApicBus& bus, const Clock& clock)
    : bus_(bus),
      clock_(clock),
      initial_id_(apic_id),
      apic_base_(kDefaultBase | kApicBaseEnable | (is_bsp ? kApicBaseBsp : 0)),
      id_(apic_id) {
  reset_locked();
  reported_ = addressing_locked();
}

// --- helpers (mu_ held) ----------------------------------------------------

void Lapic::reset_locked() {
  // Power-on state (11.4.7.1). ID, IA32_APIC_BASE and the event latches for
  // the vCPU loop (NMI/INIT/SIPI) are not register state and are kept.
  tpr_ = 0;
  ldr_ = 0;
  dfr_ = 0xFFFFFFFF;
  svr_ = 0xFF;
  esr_ = 0;
  esr_pending_ = 0;
  icr_low_ = 0;
  icr_high_ = 0;
  irr_.fill(0);
  isr_.fill(0);
  tmr_.fill(0);
  lvt_.fill(kLvtMasked);
  extint_vector_.reset();
  timer_initial_ = 0;
  timer_divide_ = 0;
  timer_start_ns_ = 0;
  timer_start_count_ = 0;
  timer_running_ = false;
}

bool Lapic::sw_enabled_locked() const { return (svr_ & kSvrEnable) != 0; }

ApicAddressing Lapic::addressing_locked() const {
  ApicAddressing a;
  const bool x2 = x2apic_locked();
  a.apic_id = id_;
  a.ldr = x2 ? x2apic_ldr(id_) : ldr_;
  a.dfr = dfr_;
  a.x2apic = x2;
  a.software_enabled = sw_enabled_locked();
  a.enabled = hw_enabled_locked();
  return a;
}

void Lapic::note_addressing_locked(Deferred& d) {
  ApicAddressing now = addressing_locked();
  if (now == reported_) return;
  reported_ = now;
  d.addressing = now;
  // Copied so that it runs unlocked; happens only when the guest
  // reprograms addressing, never on the interrupt path.
  d.observer = observer_;
}

void Lapic::run_deferred(Deferred& d) {
  if (d.addressing && d.observer) d.observer(*d.addressing);
  if (d.ipi) bus_.deliver(*d.ipi);
  if (d.eoi_vector) bus_.broadcast_eoi(*d.eoi_vector);
}

uint32_t Lapic::ppr_locked() const {
  // 11.8.3.1: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4]:0.
  const int isrv = highest_bit(isr_);
  const uint32_t isr_class = isrv < 0 ? 0 : static_cast<uint32_t>(isrv) & 0xF0;
  return (tpr_ & 0xF0) >= isr_class ? (tpr_ & 0xFF) : isr_class;
}

std::optional<uint8_t> Lapic::pending_vector_locked() const {
  // An ExtINT comes from the 8259 through the INTR path: the APIC's
  // priority logic does not apply to it.
  if (extint_vector_) return extint_vector_;
  const int v = highest_bit(irr_);
  if (v < 0) return std::nullopt;
  if ((static_cast<uint32_t>(v) & 0xF0) <= (ppr_locked() & 0xF0)) return std::nullopt;
  return static_cast<uint8_t>(v);
}

void Lapic::record_error_locked(uint32_t esr_bit) {
  esr_pending_ |= esr_bit;
  // 11.5.3: an error also raises the LVT error interrupt. Its own vector
  // being illegal would be another error: just don't deliver it.
  const uint32_t lvt = lvt_[kLvtErrorIndex];
  const uint8_t vector = static_cast<uint8_t>(lvt & 0xFF);
  if ((lvt & kLvtMasked) == 0 && vector >= 16) set_irr_locked(vector, false);
}

void Lapic::set_irr_locked(uint8_t vector, bool level_triggered) {
  set_bit(irr_, vector);
  // TMR records the trigger mode of the last accepted interrupt of this
  // vector (11.8.4): EOI broadcasts only for level-triggered ones.
  if (level_triggered) {
    set_bit(tmr_, vector);
  } else {
    clear_bit(tmr_, vector);
  }
}

void Lapic::local_interrupt_locked(uint8_t vector) {
  // ESR bit 6 also covers "an interrupt generated locally from the LVT".
  if (vector < 16) {
    ++counters_.illegal_vector_received;
    record_error_locked(kEsrReceiveIllegalVector);
    return;
  }
  set_irr_locked(vector, false);
}

void Lapic::accept_locked(const InterruptMessage& msg) {
  switch (msg.mode) {
    case DeliveryMode::kExtInt:
      // The 8259's INTR path. Unlike a fixed interrupt it is not tracked in
      // IRR/ISR: the guest's handler EOIs the PIC, never the LAPIC, so an
      // ISR bit would stay set and block its own priority class forever.
      // It is taken even when the APIC is software- or hardware-disabled,
      // which is how legacy (PIC-only) guests get their interrupts (QEMU's
      // apic_accept_pic_intr does the same).
      extint_vector_ = msg.vector;
      return;
    default:
      break;
  }
  if (!hw_enabled_locked()) return;  // 11.4.3: a globally disabled APIC takes nothing
  switch (msg.mode) {
    case DeliveryMode::kFixed:
    case DeliveryMode::kLowestPriority:
      // 11.4.7.2: a software-disabled APIC "responds normally to INIT, NMI,
      // SMI and SIPI" -- fixed interrupts are not among them and are
      // dropped (KVM's __apic_accept_irq does the same). IRR/ISR contents
      // from before the disable are kept and stay deliverable.
      if (!sw_enabled_locked()) return;
      if (msg.vector < 16) {
        ++counters_.illegal_vector_received;
        record_error_locked(kEsrReceiveIllegalVector);
        return;
      }
      set_irr_locked(msg.vector, msg.level_triggered);
      return;
    case DeliveryMode::kNmi:
      nmi_pending_ = true;
      return;
    case DeliveryMode::kInit:
      // INIT level de-assert only synchronises arbitration IDs on old
      // systems; it does not reset anything (11.6.1).
      if (msg.level_triggered && !msg.assert_level) return;
      init_pending_ = true;
      return;
    case DeliveryMode::kStartup:
      // A SIPI outside wait-for-SIPI is ignored (SDM 9.4.4.1); the first
      // one wins until the vCPU takes it.
      if (waiting_for_sipi_ && !sipi_vector_) sipi_vector_ = msg.vector;
      return;
    case DeliveryMode::kSmi:  // no SMM in this VMM
    case DeliveryMode::kExtInt:
      return;
  }
}

bool Lapic::build_ipi_locked(uint32_t icr_low, uint32_t icr_high, bool x2,
                             InterruptMessage& out) {
  const uint32_t mode = (icr_low >> 8) & 7;
  // 011 and 111 are reserved in the ICR (figure 11-12): nothing is sent.
  if (mode == 3 || mode == 7) return false;
  out.vector = static_cast<uint8_t>(icr_low & 0xFF);
  out.mode = static_cast<DeliveryMode>(mode);
  out.logical = (icr_low & (1u << 11)) != 0;
  out.assert_level = (icr_low & (1u << 14)) != 0;
  out.level_triggered = (icr_low & (1u << 15)) != 0;
  out.shorthand = static_cast<DestShorthand>((icr_low >> 18) & 3);
  out.destination = x2 ? icr_high : (icr_high >> 24);
  out.x2apic = x2;
  out.source_cpu = -1;  // the router's per-CPU port knows who sends
  if ((out.mode == DeliveryMode::kFixed || out.mode == DeliveryMode::kLowestPriority) &&
      out.vector < 16) {
    ++counters_.illegal_vector_sent;
    record_error_locked(kEsrSendIllegalVector);
    return false;
  }
  return true;
}

void Lapic::eoi_locked(Deferred& d) {
  const int v = highest_bit(isr_);
  if (v < 0) return;  // EOI with nothing in service: no effect
  const uint8_t vector = static_cast<uint8_t>(v);
  clear_bit(isr_, vector);
  // 11.8.5: level-triggered vectors get an EOI message to the IOAPICs,
  // unless SVR bit 12 suppresses it (the guest then EOIs the IOAPIC itself).
  if (test_bit(tmr_, vector) && (svr_ & kSvrSuppressEoiBroadcast) == 0) d.eoi_vector = vector;
}

// --- timer -----------------------------------------------------------------

uint64_t Lapic::timer_divisor_locked() const {
  // Divide configuration bits 3,1:0 (figure 11-10): 0b111 is divide by 1,
  // otherwise 2^(value + 1).
  const uint32_t v = ((timer_divide_ >> 1) & 4) | (timer_divide_ & 3);
  return uint64_t{1} << ((v + 1) & 7);
}

uint32_t Lapic::timer_current_count_locked(uint64_t now) const {
  if (!timer_running_) return 0;
  // One tick is `divisor` input clocks of 1 ns (kTimerFrequencyHz = 1 GHz).
  const uint64_t ticks = (now > timer_start_ns_ ? now - timer_start_ns_ : 0) /
                         timer_divisor_locked();
  if (ticks < timer_start_count_) return static_cast<uint32_t>(timer_start_count_ - ticks);
  if (timer_mode(lvt_[kLvtTimerIndex]) != kTimerPeriodic || timer_initial_ == 0) return 0;
  // Periodic: reloaded from the initial count at every expiry.
  return static_cast<uint32_t>(timer_initial_ - (ticks - timer_start_count_) % timer_initial_);
}

std::optional<uint64_t> Lapic::timer_catch_up_locked(uint64_t now) {
  if (!timer_running_) return std::nullopt;
  const uint32_t lvt = lvt_[kLvtTimerIndex];
  const uint32_t mode = timer_mode(lvt);
  if (!timer_mode_counts(mode)) {  // TSC-deadline (unsupported) / reserved: stopped
    timer_running_ = false;
    return std::nullopt;
  }
  const uint64_t div = timer_divisor_locked();
  const uint64_t deadline = timer_start_ns_ + uint64_t{timer_start_count_} * div;
  if (now < deadline) return deadline;
  // Expired. Several missed periods fire once: they would coalesce in IRR
  // on hardware too, as the guest had not taken the first one.
  if ((lvt & kLvtMasked) == 0) local_interrupt_locked(static_cast<uint8_t>(lvt & 0xFF));
  if (mode == kTimerOneShot || timer_initial_ == 0) {
    timer_running_ = false;
    return std::nullopt;
  }
  const uint64_t period = uint64_t{timer_initial_} * div;
  timer_start_ns_ = deadline + (now - deadline) / period * period;
  timer_start_count_ = timer_initial_;
  return timer_start_ns_ + period;
}

// --- register file ---------------------------------------------------------

bool Lapic::read_register_locked(uint32_t offset, bool x2, uint32_t& value) {
  value = 0;
  if (offset >= kRegIsr && offset < kRegEsr) {
    const size_t i = (offset & 0x70) >> 4;
    if (offset < kRegTmr) {
      value = isr_[i];
    } else if (offset < kRegIrr) {
      value = tmr_[i];
    } else {
      value = irr_[i];
    }
    return true;
  }
  if (offset >= kRegLvtTimer && offset <= kRegLvtError) {
    value = lvt_[(offset - kRegLvtTimer) >> 4];
    return true;
  }
  switch (offset) {
    case kRegId:
      value = x2 ? id_ : (id_ & 0xFF) << 24;
      return true;
    case kRegVersion:
      value = kVersion;
      return true;
    case kRegTpr:
      value = tpr_;
      return true;
    case kRegApr:  // arbitration priority: not modelled, reads 0
    case kRegRrd:  // remote read: never used by a guest that isn't a 82489DX
    case kRegEoi:  // write-only; an xAPIC read returns 0
      return !x2;
    case kRegPpr:
      value = ppr_locked();
      return true;
    case kRegLdr:
      value = x2 ? x2apic_ldr(id_) : ldr_;
      return true;
    case kRegDfr:
      value = dfr_;
      return !x2;  // no DFR in x2APIC mode
    case kRegSvr:
      value = svr_;
      return true;
    case kRegEsr:
      value = esr_;
      return true;
    case kRegIcrLow:
      value = icr_low_;  // delivery status (bit 12) is never set: sends are instant
      return true;
    case kRegIcrHigh:
      value = icr_high_;
      return !x2;
    case kRegTimerInitial:
      value = timer_initial_;
      return true;
    case kRegTimerCurrent:
      value = timer_current_count_locked(clock_.now_ns());
      return true;
    case kRegTimerDivide:
      value = timer_divide_;
      return true;
    default:  // reserved, SELF IPI (write-only), CMCI (absent)
      return false;
  }
}

bool Lapic::write_register_locked(uint32_t offset, bool x2, uint32_t value, Deferred& d) {
  // Read-only registers: an xAPIC write is ignored, an x2APIC WRMSR #GPs.
  if (is_read_only(offset) || (x2 && (offset == kRegId || offset == kRegLdr))) return !x2;

  if (offset >= kRegLvtTimer && offset <= kRegLvtError) {
    const size_t i = (offset - kRegLvtTimer) >> 4;
    uint32_t v = value & kLvtWritable[i];
    // 11.4.7.2: while software-disabled the mask bits stay set.
    if (!sw_enabled_locked()) v |= kLvtMasked;
    if (i == kLvtTimerIndex) {
      const uint64_t now = clock_.now_ns();
      // An expiry that fell before this write belongs to the old LVT value
      // (e.g. it stays masked if the write unmasks).
      timer_catch_up_locked(now);
      const uint32_t old_mode = timer_mode(lvt_[i]);
      const uint32_t new_mode = timer_mode(v);
      // 11.5.4.1: switching to or from TSC-deadline mode disarms the timer.
      if (old_mode != new_mode && !(timer_mode_counts(old_mode) && timer_mode_counts(new_mode))) {
        timer_running_ = false;
        timer_initial_ = 0;
      }
    }
    lvt_[i] = v;
    return true;
  }

  switch (offset) {
    case kRegId:  // xAPIC only (x2APIC handled above): ID in bits 31:24
      id_ = value >> 24;
      return true;
    case kRegTpr:
      tpr_ = value & 0xFF;
      return true;
    case kRegEoi:
      eoi_locked(d);
      return true;
    case kRegLdr:  // xAPIC only
      ldr_ = value & 0xFF000000;
      return true;
    case kRegDfr:
      if (x2) return false;
      dfr_ = value | 0x0FFFFFFF;  // model in 31:28, the rest reads as ones
      return true;
    case kRegSvr: {
      timer_catch_up_locked(clock_.now_ns());  // a pending expiry sees the old masks
      svr_ = value & kSvrWritable;
      if (!sw_enabled_locked()) {
        for (uint32_t& lvt : lvt_) lvt |= kLvtMasked;
      }
      return true;
    }
    case kRegEsr:
      // A write makes the errors collected since the previous write
      // readable and starts collecting anew (11.5.3).
      esr_ = esr_pending_;
      esr_pending_ = 0;
      return true;
    case kRegIcrLow: {  // xAPIC: the 32-bit write of the low half sends
      icr_low_ = value & kIcrLowWritable;
      InterruptMessage msg;
      if (build_ipi_locked(icr_low_, icr_high_, false, msg)) d.ipi = msg;
      return true;
    }
    case kRegIcrHigh:
      if (x2) return false;
      icr_high_ = value & 0xFF000000;
      return true;
    case kRegTimerInitial: {
      const uint64_t now = clock_.now_ns();
      timer_catch_up_locked(now);
      // 11.5.4.1: ignored in TSC-deadline mode.
      if (!timer_mode_counts(timer_mode(lvt_[kLvtTimerIndex]))) return true;
      timer_initial_ = value;
      timer_running_ = value != 0;  // writing 0 stops the timer
      timer_start_ns_ = now;
      timer_start_count_ = value;
      return true;
    }
    case kRegTimerDivide: {
      const uint64_t now = clock_.now_ns();
      timer_catch_up_locked(now);
      // A new divisor mid-count: continue from the current count at the
      // new rate (up to one old tick is lost, as on a re-synchronised
      // hardware divider).
      const uint32_t current = timer_current_count_locked(now);
      timer_divide_ = value & 0xB;
      if (timer_running_) {
        timer_start_ns_ = now;
        timer_start_count_ = current;
      }
      return true;
    }
    default:
      return false;
  }
}

// --- public: register access -------------------------------------------------

void Lapic::mmio_read(uint64_t offset, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), uint8_t{0});
  std::lock_guard lock(mu_);
  // The page is there only in xAPIC mode (11.12.2: x2APIC turns it off).
  if (!hw_enabled_locked() || x2apic_locked()) return;
  if (data.size() != 4 || offset % 16 != 0 || offset >= kPageSize) {
    ++counters_.illegal_register;
    return;
  }
  uint32_t value = 0;
  if (!read_register_locked(static_cast<uint32_t>(offset), false, value)) {
    ++counters_.illegal_register;
    record_error_locked(kEsrIllegalRegister);
    return;
  }
  std::memcpy(data.data(), &value, sizeof(value));
}

void Lapic::mmio_write(uint64_t offset, std::span<const uint8_t> data) {
  Deferred d;
  {
    std::lock_guard lock(mu_);
    if (!hw_enabled_locked() || x2apic_locked()) return;
    if (data.size() != 4 || offset % 16 != 0 || offset >= kPageSize) {
      ++counters_.illegal_register;
      return;
    }
    uint32_t value = 0;
    std::memcpy(&value, data.data(), sizeof(value));
    if (!write_register_locked(static_cast<uint32_t>(offset), false, value, d)) {
      ++counters_.illegal_register;
      record_error_locked(kEsrIllegalRegister);
    }
    note_addressing_locked(d);
  }
  run_deferred(d);
}

bool Lapic::msr_read(uint32_t msr, uint64_t& value) {
  value = 0;
  std::lock_guard lock(mu_);
  if (msr < kX2apicMsrFirst || msr > kX2apicMsrLast || !hw_enabled_locked() ||
      !x2apic_locked()) {
    ++counters_.illegal_register;
    return false;
  }
  const uint32_t offset = (msr - kX2apicMsrFirst) << 4;
  if (offset == kRegIcrLow) {  // one 64-bit register, destination in 63:32
    value = (uint64_t{icr_high_} << 32) | icr_low_;
    return true;
  }
  uint32_t v = 0;
  if (!read_register_locked(offset, true, v)) {
    ++counters_.illegal_register;
    return false;
  }
  value = v;
  return true;
}

bool Lapic::msr_write(uint32_t msr, uint64_t value) {
  Deferred d;
  bool ok = true;
  {
    std::lock_guard lock(mu_);
    if (msr < kX2apicMsrFirst || msr > kX2apicMsrLast || !hw_enabled_locked() ||
        !x2apic_locked()) {
      ++counters_.illegal_register;
      return false;
    }
    const uint32_t offset = (msr - kX2apicMsrFirst) << 4;
    const uint32_t low = static_cast<uint32_t>(value);
    if (offset == kRegIcrLow) {
      icr_low_ = low & kIcrLowWritable;
      icr_high_ = static_cast<uint32_t>(value >> 32);
      InterruptMessage msg;
      if (build_ipi_locked(icr_low_, icr_high_, true, msg)) d.ipi = msg;
    } else if ((value >> 32) != 0) {
      ok = false;  // bits 63:32 are reserved in every register but the ICR
    } else if (offset == kRegSelfIpi) {
      // Vector in 7:0, the rest reserved. A self-IPI never leaves this
      // APIC, so it is accepted here instead of going round the router.
      if ((low & ~0xFFu) != 0) {
        ok = false;
      } else {
        InterruptMessage msg;
        msg.vector = static_cast<uint8_t>(low);
        msg.shorthand = DestShorthand::kSelf;
        msg.x2apic = true;
        accept_locked(msg);
      }
    } else if ((offset == kRegEoi || offset == kRegEsr) && low != 0) {
      ok = false;  // table 11-6: WRMSR of a non-zero value #GPs
    } else {
      ok = write_register_locked(offset, true, low, d);
    }
    if (!ok) ++counters_.illegal_register;
    note_addressing_locked(d);
  }
  run_deferred(d);
  return ok;
}

uint64_t Lapic::apic_base() const {
  std::lock_guard lock(mu_);
  return apic_base_;
}

bool Lapic::set_apic_base(uint64_t value) {
  Deferred d;
  {
    std::lock_guard lock(mu_);
    if ((value & kApicBaseReserved) != 0) return false;
    const bool old_en = hw_enabled_locked();
    const bool old_x2 = x2apic_locked();
    const bool new_en = (value & kApicBaseEnable) != 0;
    const bool new_x2 = (value & kApicBaseX2apic) != 0;
    // 11.12.5, figure 11-27: EXTD without EN is invalid; disabled -> x2APIC
    // and x2APIC -> xAPIC must go through xAPIC / disabled respectively.
    if (new_x2 && !new_en) return false;
    if (new_x2 && !old_en) return false;
    if (old_x2 && new_en && !new_x2) return false;
    if (old_en && !new_en) reset_locked();  // 11.4.3: disabling resets (ID kept)
    // The x2APIC ID is the initial APIC ID, whatever the guest wrote to the
    // xAPIC ID register (11.12.5.1).
    if (!old_x2 && new_x2) id_ = initial_id_;
    // The BSP flag is the platform's, not the guest's, to change.
    apic_base_ = (value & ~kApicBaseBsp) | (apic_base_ & kApicBaseBsp);
    note_addressing_locked(d);
  }
  run_deferred(d);
  return true;
}

// --- public: delivery and the vCPU loop --------------------------------------

void Lapic::accept(const InterruptMessage& msg) {
  std::lock_guard lock(mu_);
  accept_locked(msg);
}

std::optional<uint8_t> Lapic::pending_vector() const {
  std::lock_guard lock(mu_);
  return pending_vector_locked();
}

std::optional<uint8_t> Lapic::acknowledge() {
  std::lock_guard lock(mu_);
  std::optional<uint8_t> v = pending_vector_locked();
  if (!v) return std::nullopt;
  if (extint_vector_) {
    extint_vector_.reset();  // the PIC tracks in-service itself
    return v;
  }
  clear_bit(irr_, *v);
  set_bit(isr_, *v);
  return v;
}

bool Lapic::take_nmi() {
  std::lock_guard lock(mu_);
  return std::exchange(nmi_pending_, false);
}

bool Lapic::take_init() {
  Deferred d;
  {
    std::lock_guard lock(mu_);
    if (!init_pending_) return false;
    init_pending_ = false;
    // 11.4.7.3: INIT resets the APIC like power-on except the ID (and
    // IA32_APIC_BASE, which INIT does not touch: x2APIC mode survives).
    reset_locked();
    waiting_for_sipi_ = true;
    note_addressing_locked(d);
  }
  run_deferred(d);
  return true;
}

std::optional<uint8_t> Lapic::take_sipi() {
  std::lock_guard lock(mu_);
  std::optional<uint8_t> v = std::exchange(sipi_vector_, std::nullopt);
  if (v) waiting_for_sipi_ = false;
  return v;
}

void Lapic::set_waiting_for_sipi(bool waiting) {
  std::lock_guard lock(mu_);
  waiting_for_sipi_ = waiting;
}

std::optional<uint64_t> Lapic::poll_timer() {
  std::lock_guard lock(mu_);
  return timer_catch_up_locked(clock_.now_ns());
}

bool Lapic::has_work() const {
  std::lock_guard lock(mu_);
  return pending_vector_locked().has_value() || nmi_pending_ || init_pending_ ||
         sipi_vector_.has_value();
}

ApicAddressing Lapic::addressing() const {
  std::lock_guard lock(mu_);
  return addressing_locked();
}

uint32_t Lapic::id() const {
  std::lock_guard lock(mu_);
  return id_;
}

int Lapic::task_priority() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(tpr_);
}

void Lapic::set_addressing_observer(std::function<void(const ApicAddressing&)> observer) {
  std::lock_guard lock(mu_);
  observer_ = std::move(observer);
}

Lapic::Counters Lapic::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

}  // namespace dvmm
