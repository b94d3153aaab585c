// Userspace local APIC, one per vCPU (the VM has no KVM in-kernel irqchip,
// so that an IPI can reach a vCPU living in another node process).
//
// Implements the xAPIC register page (Intel SDM vol. 3A, ch. 11 "Advanced
// Programmable Interrupt Controller") at offsets within the 4 KiB page at
// IA32_APIC_BASE, and the x2APIC MSRs 0x800-0x8FF (SDM 11.12). The model is
// a plain state machine: it knows nothing of KVM, threads or nodes. Sending
// an IPI hands an InterruptMessage to the ApicBus; whoever routes it calls
// accept() on the target LAPIC (possibly on another node).
//
// Thread safety: every public member takes the internal mutex, because
// accept() is called from other vCPU threads and from device threads while
// the owning vCPU thread accesses registers.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>

#include "host/common/clock.hpp"
#include "host/devices/interrupts.hpp"

namespace dvmm {

// What other APICs need to know about this one to match destinations. A
// node keeps one per vCPU, local or remote (the remote vCPU proxy).
struct ApicAddressing {
  uint32_t apic_id = 0;       // xAPIC: 8-bit ID (bits 31:24 of the ID register); x2APIC: 32-bit
  uint32_t ldr = 0;           // logical destination register, as read (xAPIC: bits 31:24 hold the ID)
  uint32_t dfr = 0xFFFFFFFF;  // destination format: 0xFFFFFFFF flat, 0x0FFFFFFF cluster
  bool x2apic = false;        // x2APIC mode enabled in IA32_APIC_BASE
  bool software_enabled = false;  // SVR bit 8
  // IA32_APIC_BASE bit 11. A hardware-disabled APIC is not a target of any
  // destination (a software-disabled one still is: it takes NMI/INIT/SIPI).
  bool enabled = true;

  bool operator==(const ApicAddressing&) const = default;
};

// True when an APIC with this addressing is a target of msg's destination
// field (physical ID, broadcast, or logical flat/cluster/x2APIC-cluster
// match). Shorthands are the router's business and are ignored here.
bool destination_matches(const ApicAddressing& apic, const InterruptMessage& msg);

class Lapic {
 public:
  static constexpr uint64_t kDefaultBase = 0xFEE00000;
  static constexpr uint64_t kPageSize = 0x1000;
  // The timer's input clock before the divide configuration. 1 GHz makes
  // one tick one nanosecond at divide-by-1 (QEMU uses the same).
  static constexpr uint64_t kTimerFrequencyHz = 1'000'000'000;
  static constexpr uint32_t kVersion = 0x00050014;  // version 0x14, 6 LVT entries (max LVT 5)

  // IA32_APIC_BASE bits
  static constexpr uint64_t kApicBaseBsp = 1u << 8;
  static constexpr uint64_t kApicBaseX2apic = 1u << 10;
  static constexpr uint64_t kApicBaseEnable = 1u << 11;

  Lapic(uint32_t apic_id, bool is_bsp, ApicBus& bus, const Clock& clock);

  // --- register access from the owning vCPU -------------------------------
  // xAPIC MMIO: offset within the 4 KiB page. Only 4-byte aligned accesses
  // to defined registers have effect; others read as zero / are ignored
  // (and set ESR "illegal register address" where the SDM says so).
  void mmio_read(uint64_t offset, std::span<uint8_t> data);
  void mmio_write(uint64_t offset, std::span<const uint8_t> data);

  // x2APIC MSRs 0x800-0x8FF. Return false when the access must raise #GP:
  // x2APIC mode not enabled, undefined or read-only/write-only register,
  // reserved bits set.
  bool msr_read(uint32_t msr, uint64_t& value);
  bool msr_write(uint32_t msr, uint64_t value);

  // IA32_APIC_BASE (MSR 0x1B). set_apic_base returns false (#GP) for an
  // illegal transition, e.g. x2APIC enabled while the APIC is disabled, or
  // x2APIC -> xAPIC without going through disabled.
  uint64_t apic_base() const;
  bool set_apic_base(uint64_t value);

  // --- delivery into this APIC (any thread) ---------------------------------
  // Accepts a message whose destination already matched this APIC. Fixed and
  // lowest-priority: set IRR (and TMR for level-triggered); illegal vectors
  // (< 16) set ESR "receive illegal vector" and are dropped. NMI, INIT and
  // SIPI are latched for the vCPU loop (take_*). INIT level de-assert is
  // ignored. SIPI is latched only while the CPU waits for it (set by the
  // vCPU loop through set_waiting_for_sipi). A software-disabled APIC drops
  // fixed/lowest-priority (SDM 11.4.7.2); a hardware-disabled one takes
  // nothing but ExtINT. ExtINT (the 8259's INTR path) bypasses IRR/ISR/PPR:
  // pending_vector() reports it first and acknowledge() hands it out
  // without setting ISR, since the guest EOIs the PIC, not the LAPIC.
  void accept(const InterruptMessage& msg);

  // --- for the owning vCPU loop ---------------------------------------------
  // Highest-priority vector in IRR whose priority class beats the PPR, if
  // any. Does not change state.
  std::optional<uint8_t> pending_vector() const;
  // The CPU takes the interrupt: moves the highest deliverable IRR vector to
  // ISR and returns it (nullopt when nothing is deliverable).
  std::optional<uint8_t> acknowledge();
  bool take_nmi();
  // True once per INIT received; resets the APIC (ID and IA32_APIC_BASE
  // kept) and puts it in wait-for-SIPI in the same critical section, so a
  // SIPI that races with the vCPU loop's own set_waiting_for_sipi(true) is
  // not lost.
  bool take_init();
  // The SIPI vector, once. Taking it ends wait-for-SIPI, so the second SIPI
  // of INIT-SIPI-SIPI does not restart a CPU that already started.
  std::optional<uint8_t> take_sipi();
  void set_waiting_for_sipi(bool waiting);

  // Timer: fires an expired timer into IRR (LVT timer vector, unless masked)
  // and re-arms a periodic one. Returns the next deadline in ns of the Clock,
  // or nullopt when the timer is stopped.
  std::optional<uint64_t> poll_timer();

  // Anything for the vCPU loop to act on: deliverable vector, NMI, INIT, SIPI.
  bool has_work() const;

  ApicAddressing addressing() const;
  uint32_t id() const;
  int task_priority() const;  // TPR, for lowest-priority arbitration

  // Called (with the mutex released) whenever ID, LDR, DFR, SVR enable or
  // x2APIC mode changes, so the router and other nodes can update their view.
  void set_addressing_observer(std::function<void(const ApicAddressing&)> observer);

  // Error counters for the stats output (guest mistakes, never fatal).
  struct Counters {
    uint64_t illegal_vector_sent = 0;
    uint64_t illegal_vector_received = 0;
    uint64_t illegal_register = 0;
  };
  Counters counters() const;

 private:
  // Effects of a register access that must run with mu_ released: the bus
  // may call straight back into this LAPIC (accept() of a self-IPI), and the
  // observer may take the router's lock.
  struct Deferred {
    std::optional<InterruptMessage> ipi;
    std::optional<uint8_t> eoi_vector;
    std::optional<ApicAddressing> addressing;
    std::function<void(const ApicAddressing&)> observer;
  };
  void run_deferred(Deferred& d);
  void note_addressing_locked(Deferred& d);
  ApicAddressing addressing_locked() const;

  void reset_locked();  // power-on / INIT state (ID, APIC base and event latches kept)
  bool hw_enabled_locked() const { return (apic_base_ & kApicBaseEnable) != 0; }
  bool x2apic_locked() const { return (apic_base_ & kApicBaseX2apic) != 0; }
  bool sw_enabled_locked() const;
  uint32_t ppr_locked() const;
  std::optional<uint8_t> pending_vector_locked() const;

  // Register file shared by both interfaces, by xAPIC offset. Return false
  // for an access the mode does not allow (xAPIC: reserved offset; x2APIC:
  // #GP). x2APIC-only details (64-bit ICR, SELF IPI) live in msr_*.
  bool read_register_locked(uint32_t offset, bool x2, uint32_t& value);
  bool write_register_locked(uint32_t offset, bool x2, uint32_t value, Deferred& d);

  void accept_locked(const InterruptMessage& msg);
  void set_irr_locked(uint8_t vector, bool level_triggered);
  void local_interrupt_locked(uint8_t vector);  // LVT sources: timer, error
  void record_error_locked(uint32_t esr_bit);
  void eoi_locked(Deferred& d);
  // Builds the message for an ICR write; false when nothing is sent
  // (illegal vector, reserved delivery mode).
  bool build_ipi_locked(uint32_t icr_low, uint32_t icr_high, bool x2, InterruptMessage& out);

  // Timer.
  uint64_t timer_divisor_locked() const;
  uint32_t timer_current_count_locked(uint64_t now) const;
  // Fires an expiry that is due at `now` and re-arms a periodic timer;
  // returns the next deadline.
  std::optional<uint64_t> timer_catch_up_locked(uint64_t now);

  mutable std::mutex mu_;
  ApicBus& bus_;
  const Clock& clock_;
  const uint32_t initial_id_;  // the x2APIC ID (CPUID initial APIC ID)
  // Register state (all guarded by mu_).
  uint64_t apic_base_;
  uint32_t id_;  // xAPIC mode: bits 7:0 are the ID register's bits 31:24
  uint32_t tpr_ = 0;
  uint32_t ldr_ = 0;  // xAPIC LDR as read (x2APIC LDR is derived from id_)
  uint32_t dfr_ = 0xFFFFFFFF;
  uint32_t svr_ = 0xFF;
  uint32_t esr_ = 0;         // latched by writes to ESR
  uint32_t esr_pending_ = 0; // errors since the last ESR write
  uint32_t icr_high_ = 0;
  uint32_t icr_low_ = 0;
  std::array<uint32_t, 8> irr_{};
  std::array<uint32_t, 8> isr_{};
  std::array<uint32_t, 8> tmr_{};
  std::array<uint32_t, 6> lvt_{};  // timer, thermal, perf, LINT0, LINT1, error (no CMCI)
  // An ExtINT (8259 PIC) vector: bypasses IRR/ISR/PPR, see accept_locked.
  std::optional<uint8_t> extint_vector_;
  uint32_t timer_initial_ = 0;
  uint32_t timer_divide_ = 0;      // divide configuration register as written
  uint64_t timer_start_ns_ = 0;    // when the current count-down started...
  uint32_t timer_start_count_ = 0; // ...and from which count
  bool timer_running_ = false;
  bool nmi_pending_ = false;
  bool init_pending_ = false;
  bool waiting_for_sipi_ = false;
  std::optional<uint8_t> sipi_vector_;
  Counters counters_{};
  std::function<void(const ApicAddressing&)> observer_;
  ApicAddressing reported_;  // last addressing handed to the observer
};

}  // namespace dvmm
