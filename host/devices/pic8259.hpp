// A pair of cascaded Intel 8259A programmable interrupt controllers (Intel
// 8259A data sheet, order 231468; the PC/AT wiring): the master at ports
// 0x20-0x21 takes IRQ 0-7, the slave at 0xA0-0xA1 takes IRQ 8-15 and drives
// the master's IRQ 2. The edge/level control registers (ELCR, as on the
// PIIX/ICH) sit at 0x4D0 (master) and 0x4D1 (slave).
//
// Ports of one chip (offset from its base):
//   0 W  ICW1 (bit 4 set): bit 0 IC4 (ICW4 follows), bit 1 SNGL (no ICW3),
//        bit 3 LTIM (ignored: triggering comes from the ELCR)
//        OCW2 (bits 4:3 = 00): bits 7:5 R SL EOI, bits 2:0 level:
//          001 non-specific EOI, 011 specific EOI, 101 rotate on
//          non-specific EOI, 111 rotate on specific EOI, 110 set priority,
//          100/000 set/clear rotate in automatic EOI mode, 010 no-op
//        OCW3 (bits 4:3 = 01): bit 2 P poll, bits 1:0 RR RIS (10 read IRR,
//          11 read ISR), bits 6:5 ESMM SMM (special mask mode)
//   0 R  IRR or ISR as OCW3 selected (or the poll byte after OCW3.P)
//   1 W  OCW1 = IMR, or ICW2 (vector base, bits 7:3), ICW3, ICW4 (bit 1
//        AEOI, bit 4 SFNM) during initialisation
//   1 R  IMR
// ELCR (one byte per chip): bit n = 1 makes IRQ n level-triggered; IRQ 0, 1,
// 2 (master) and 8, 13 (slave) are always edge (masks 0xF8 / 0xDE).
//
// The model follows QEMU's hw/intc/i8259.c, which guests have exercised for
// two decades: edge detection via last_irr, priority rotation, special mask
// and special fully nested modes, automatic EOI, poll mode, spurious IRQ 7 /
// 15 vectors from acknowledge() when nothing is pending. ISA IRQ 2 is the
// cascade input and cannot be driven from outside (set_irq(2, ...) is
// ignored).
//
// One object models both chips; master(), slave() and elcr() return the
// three BusDevice views (2 ports each) to register. The object should be
// owned by a std::shared_ptr (std::make_shared), so that the views keep it
// alive; otherwise the views do not own it and it must outlive the buses.
//
// INTR output: output_pending() tells whether the master asserts INTR;
// acknowledge() is the INTA cycle (returns the vector, moves IRR -> ISR).
// The optional output handler is called, with the mutex released, each time
// the output changes, with the new level; since calls from two threads can
// arrive out of order, a consumer re-reads output_pending() when called.
//
// Thread safety: every public member takes the internal mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "host/devices/bus_device.hpp"
#include "host/devices/interrupts.hpp"

namespace dvmm {

class Pic8259 final : public IrqSink, public std::enable_shared_from_this<Pic8259> {
 public:
  static constexpr uint64_t kMasterBase = 0x20;
  static constexpr uint64_t kSlaveBase = 0xA0;
  static constexpr uint64_t kElcrBase = 0x4D0;
  static constexpr uint64_t kLength = 2;  // of each of the three views

  explicit Pic8259(std::function<void(bool level)> output_handler = {});

  // The BusDevice views: 2 ports each (master at 0x20, slave at 0xA0, ELCR
  // at 0x4D0).
  std::shared_ptr<BusDevice> master();
  std::shared_ptr<BusDevice> slave();
  std::shared_ptr<BusDevice> elcr();

  // IrqSink: ISA IRQ 0-15 (2 is the cascade and ignored; > 15 ignored).
  void set_irq(unsigned line, bool level) override;

  // True while the master asserts INTR (an unmasked request of higher
  // priority than any in service).
  bool output_pending() const;
  // The INTA cycle: the vector of the highest-priority request, which moves
  // from IRR to ISR (unless automatic EOI). With nothing pending returns the
  // spurious vector (IRQ 7 of the master, or IRQ 15 if the slave lost its
  // request after the master saw it).
  uint8_t acknowledge();

  // Register state for tests and dumps. chip 0 = master, 1 = slave.
  uint8_t imr(unsigned chip) const;
  uint8_t irr(unsigned chip) const;
  uint8_t isr(unsigned chip) const;

 private:
  struct Chip {
    bool is_master = false;
    uint8_t last_irr = 0;  // input levels, for edge detection
    uint8_t irr = 0;
    uint8_t imr = 0;
    uint8_t isr = 0;
    uint8_t priority_add = 0;  // the lowest-priority IRQ + 1 (rotation)
    uint8_t irq_base = 0;
    uint8_t elcr = 0;
    uint8_t elcr_mask = 0;
    uint8_t init_state = 0;  // 0 ready, 1 expects ICW2, 2 ICW3, 3 ICW4
    bool read_isr = false;
    bool poll = false;
    bool special_mask = false;
    bool auto_eoi = false;
    bool rotate_on_auto_eoi = false;
    bool special_fully_nested = false;
    bool init4 = false;
    bool single_mode = false;

    int priority(uint8_t mask) const;  // 8 when mask is empty
    int pending_irq() const;           // -1 when INT is low
    void set_input(unsigned irq, bool level);
    void intack(unsigned irq);
    void init_reset();
    void write(uint64_t port, uint8_t value);
    uint8_t read(uint64_t port);
  };

  // One BusDevice view onto a chip's ports or onto the ELCR pair.
  class View final : public BusDevice {
   public:
    enum class Kind { kMaster, kSlave, kElcr };
    View(Pic8259& pic, Kind kind) : pic_(pic), kind_(kind) {}
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

   private:
    Pic8259& pic_;
    Kind kind_;
  };

  std::shared_ptr<BusDevice> view(View& v);
  uint8_t read_port(View::Kind kind, uint64_t offset);
  void write_port(View::Kind kind, uint64_t offset, uint8_t value);
  // Propagates the slave's INT to master IRQ 2.
  void update_cascade_locked();
  // The new INTR level if it differs from the last one reported.
  std::optional<bool> output_change_locked();
  // Calls the output handler on a change, after the caller released the mutex.
  void notify(std::optional<bool> changed);

  const std::function<void(bool)> output_handler_;
  View master_view_{*this, View::Kind::kMaster};
  View slave_view_{*this, View::Kind::kSlave};
  View elcr_view_{*this, View::Kind::kElcr};

  mutable std::mutex mu_;
  Chip chips_[2];
  bool output_level_ = false;  // last INTR level reported to the handler
};

}  // namespace dvmm
