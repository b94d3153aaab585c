// I/O APIC (Intel 82093AA I/O Advanced Programmable Interrupt Controller
// data sheet, and the version-0x20 IOAPIC of the ICH/PCH data sheets, which
// adds the EOI register). 24 input pins (GSIs 0-23), MMIO at 0xFEC00000.
//
// MMIO window (offsets from the base):
//   0x00  IOREGSEL  index of the register IOWIN reaches (bits 7:0)
//   0x10  IOWIN     32-bit window onto the selected register
//   0x40  EOI       write a vector: clears Remote IRR of the level-triggered
//                   entries with that vector (version 0x20)
// Indirect registers:
//   0x00        ID           bits 27:24 IOAPIC ID (read/write)
//   0x01        version      0x00170020: max redirection entry 23, version 0x20 (read-only)
//   0x02        arbitration  bits 27:24 arbitration ID = the ID (read-only)
//   0x10+2n     redirection entry n, bits 31:0
//   0x11+2n     redirection entry n, bits 63:32
// Redirection entry:
//   7:0   vector
//   10:8  delivery mode (000 fixed, 001 lowest priority, 010 SMI, 100 NMI,
//         101 INIT, 111 ExtINT)
//   11    destination mode (0 physical, 1 logical)
//   12    delivery status (read-only, always 0 here: delivery is immediate)
//   13    pin polarity (0 active high, 1 active low)
//   14    Remote IRR (read-only; level-triggered: set when delivered,
//         cleared by the EOI of that vector)
//   15    trigger mode (0 edge, 1 level)
//   16    mask
//   63:56 destination (APIC ID, or logical destination)
// Entries reset to masked (0x10000).
//
// Pins: set_irq(gsi, level) gives the electrical level of the pin; an entry
// programmed active low treats a low pin as asserted (ISA devices are
// active high, so for them level == asserted). Edge-triggered: a rising edge
// of the asserted state on an unmasked entry delivers once; an edge while
// masked is lost (82093AA data sheet, "Interrupt Mask"). Level-triggered:
// while asserted, unmasked and Remote IRR clear, the entry delivers and sets
// Remote IRR; an EOI for its vector clears Remote IRR and delivers again if
// the pin is still asserted. Unmasking an asserted level entry delivers.
//
// Delivery is an InterruptMessage to the ApicBus. The bus is always called
// with the internal mutex released, because its implementation may call
// back (an EOI from a LAPIC reaches handle_eoi). Every public member takes
// the mutex, so the IOAPIC may be touched from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>

#include "host/devices/bus_device.hpp"
#include "host/devices/interrupts.hpp"

namespace dvmm {

class Ioapic final : public BusDevice, public IrqSink {
 public:
  static constexpr uint64_t kDefaultBase = 0xFEC00000;
  // The registers use 0x44 bytes; a 4 KiB page is what firmware tables and
  // other VMMs reserve.
  static constexpr uint64_t kLength = 0x1000;
  static constexpr unsigned kNumPins = 24;
  static constexpr uint32_t kVersion = 0x00170020;

  // MMIO offsets.
  static constexpr uint64_t kIoRegSel = 0x00;
  static constexpr uint64_t kIoWin = 0x10;
  static constexpr uint64_t kEoi = 0x40;

  // Indirect register indices.
  static constexpr uint8_t kRegId = 0x00;
  static constexpr uint8_t kRegVersion = 0x01;
  static constexpr uint8_t kRegArbitration = 0x02;
  static constexpr uint8_t kRegRedirBase = 0x10;

  // Redirection entry bits.
  static constexpr uint64_t kDeliveryStatus = 1ull << 12;
  static constexpr uint64_t kPolarityLow = 1ull << 13;
  static constexpr uint64_t kRemoteIrr = 1ull << 14;
  static constexpr uint64_t kLevelTrigger = 1ull << 15;
  static constexpr uint64_t kMasked = 1ull << 16;

  // id: the IOAPIC ID the MP table / MADT announce (bits 3:0 used).
  explicit Ioapic(ApicBus& bus, uint8_t id = 0);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // IrqSink: the level of pin `line` (a GSI). Lines >= 24 are ignored.
  void set_irq(unsigned line, bool level) override;

  // A LAPIC signalled EOI for a level-triggered vector (wire this to
  // ApicBus::broadcast_eoi).
  void handle_eoi(uint8_t vector);

  // For tests and state dumps.
  uint64_t redirection_entry(unsigned pin) const;

 private:
  // Messages collected under the mutex, delivered after it is released.
  struct Outbox {
    std::array<InterruptMessage, kNumPins> msgs;
    size_t count = 0;
  };

  uint32_t read_register_locked(uint8_t index) const;
  void write_register_locked(uint8_t index, uint32_t value, Outbox& out);
  bool asserted_locked(unsigned pin) const;
  // Level-triggered entry: deliver if asserted, unmasked and Remote IRR clear.
  void service_level_locked(unsigned pin, Outbox& out);
  void queue_locked(unsigned pin, Outbox& out) const;
  // Clears Remote IRR of the level entries with this vector, re-delivering.
  void eoi_locked(uint8_t vector, Outbox& out);
  void flush(const Outbox& out);

  ApicBus& bus_;

  mutable std::mutex mu_;
  uint8_t ioregsel_ = 0;
  uint8_t id_;
  std::array<uint64_t, kNumPins> redir_{};
  uint32_t pin_levels_ = 0;  // bit n: electrical level of pin n
};

}  // namespace dvmm
