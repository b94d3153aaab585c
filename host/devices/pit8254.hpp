// Intel 8254 programmable interval timer (Intel 8254 data sheet, order
// 231164) at ports 0x40-0x43, input clock 1.193182 MHz, plus the PC's
// system control port B (port 0x61) for channel 2's gate and output.
//
// Ports (offsets from 0x40):
//   0-2  RW  channel 0-2 count (access per the channel's RW mode)
//   3    W   control word: bits 7:6 SC channel (11 = read-back), 5:4 RW
//            (00 counter latch, 01 LSB, 10 MSB, 11 LSB then MSB), 3:1 mode,
//            0 BCD. Read-back (SC=11): bit 5 = 0 latches the counts, bit 4 =
//            0 latches the status, bits 3:1 select channels 2, 1, 0.
//            Status byte: 7 OUT, 6 null count, 5:4 RW, 3:1 mode, 0 BCD.
// Port 0x61 (a separate 1-byte view, port61()):
//   bit 0 RW channel 2 gate, bit 1 RW speaker data enable, bits 3:2 RW
//   (parity/IOCHK enables, stored only), bit 4 R refresh toggle (flips every
//   15.085 us), bit 5 R channel 2 OUT, bits 7:6 R 0.
//
// No thread: a channel's count is derived from the Clock (the elapsed time
// since the count was loaded, in 1.193182 MHz ticks). Modes:
//   0  interrupt on terminal count: OUT low, high after N ticks; gate low
//      pauses counting.
//   2  rate generator: period N, OUT low for the last tick of each period.
//   3  square wave: period N, OUT high for (N+1)/2 ticks then low; the
//      counter reads as decrementing by 2 (as QEMU, odd N approximated).
//   1, 5 (hardware-triggered one-shot / strobe) count from the load like 0
//      and 4 (as QEMU does; channels 0 and 1 have no gate edge to trigger
//      them) and restart on a rising gate; 4 (software strobe) is a
//      one-shot whose OUT is low for the one tick at terminal count.
//   6 and 7 are modes 2 and 3 (the data sheet's "X10", "X11").
// Gate low stops modes 2 and 3 (OUT high) and a rising gate restarts them.
// A new count takes effect at once (the data sheet lets modes 2 and 3
// finish the current period; nothing relies on that).
//
// IRQ: channel 0's OUT drives the interrupt line (ISA IRQ 0). Its rising
// edges are delivered as pulses, set_irq(line, true) then set_irq(line,
// false), by poll(): the VMM sleeps until next_irq_deadline_ns() and calls
// poll(), which pulses at most once per call (missed periods coalesce, as a
// late tick would on hardware). The optional deadline handler is called,
// with the mutex released, after a port access changed the deadline, so
// that the timer loop can re-arm early.
//
// Thread safety and lock order: every public member takes the internal
// mutex; the IrqSink is called with it held (lock order: Pit -> IrqSink), so
// the sink must not call back into the PIT.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "host/common/clock.hpp"
#include "host/devices/bus_device.hpp"
#include "host/devices/interrupts.hpp"

namespace dvmm {

class Pit8254 final : public BusDevice, public std::enable_shared_from_this<Pit8254> {
 public:
  static constexpr uint64_t kDefaultBase = 0x40;
  static constexpr uint64_t kLength = 4;
  static constexpr uint64_t kPort61 = 0x61;
  static constexpr uint64_t kPort61Length = 1;
  static constexpr unsigned kDefaultIrq = 0;
  static constexpr uint64_t kFrequencyHz = 1'193'182;

  // clock: the time base of the counts. irq/irq_line: channel 0's output.
  // deadline_changed: optional, see above.
  Pit8254(const Clock& clock, IrqSink& irq, unsigned irq_line = kDefaultIrq,
          std::function<void()> deadline_changed = {});

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // The port 0x61 view (1 byte). Shares ownership of the PIT when it is
  // owned by a std::shared_ptr; otherwise the PIT must outlive the bus.
  std::shared_ptr<BusDevice> port61();
  uint8_t read_port61();
  void write_port61(uint8_t value);

  // When channel 0 next raises its output (an absolute Clock time in ns), or
  // nullopt when it will not without a new programming. May be in the past:
  // then poll() is due.
  std::optional<uint64_t> next_irq_deadline_ns() const;
  // Pulses the IRQ line if channel 0's deadline has passed.
  void poll();

  // Tick <-> ns conversion at kFrequencyHz (ns_to_ticks rounds down,
  // ticks_to_ns rounds up so that ns_to_ticks(ticks_to_ns(t)) >= t).
  static uint64_t ns_to_ticks(uint64_t ns);
  static uint64_t ticks_to_ns(uint64_t ticks);

 private:
  enum class Access : uint8_t { kLsb = 1, kMsb = 2, kWord0 = 3, kWord1 = 4 };

  struct Channel {
    uint32_t count = 0x10000;  // reload value in binary: 1..0x10000 (BCD: 1..10000)
    uint8_t mode = 0;
    bool bcd = false;
    uint8_t rw = 3;  // 1 LSB, 2 MSB, 3 LSB then MSB
    Access read_state = Access::kWord0;
    Access write_state = Access::kWord0;
    uint8_t write_latch = 0;
    bool count_latched = false;
    Access latch_state = Access::kWord0;
    uint16_t latched_count = 0;
    bool status_latched = false;
    uint8_t status = 0;
    bool null_count = true;
    bool gate = true;
    bool armed = false;          // a count was loaded after the control word
    bool running = false;        // counting (armed, and the gate allows it)
    uint64_t start_ns = 0;       // when counting last (re)started
    uint64_t elapsed_base = 0;   // ticks counted before start_ns (gate pauses)
    std::optional<uint64_t> next_irq_tick;  // channel 0: elapsed tick of the next IRQ
  };

  class Port61View final : public BusDevice {
   public:
    explicit Port61View(Pit8254& pit) : pit_(pit) {}
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

   private:
    Pit8254& pit_;
  };

  uint64_t elapsed_locked(const Channel& c, uint64_t now) const;
  uint16_t current_count_locked(const Channel& c, uint64_t now) const;
  bool out_locked(const Channel& c, uint64_t now) const;
  uint8_t status_locked(const Channel& c, uint64_t now) const;
  void latch_count_locked(Channel& c, uint64_t now);
  void load_count_locked(Channel& c, uint16_t raw, uint64_t now);
  void restart_locked(Channel& c, uint64_t now);
  void set_gate_locked(Channel& c, bool gate, uint64_t now);
  void write_control_locked(uint8_t value, uint64_t now);
  void write_count_locked(Channel& c, uint8_t value, uint64_t now);
  uint8_t read_count_locked(Channel& c, uint64_t now);
  std::optional<uint64_t> deadline_locked() const;

  const Clock& clock_;
  IrqSink& irq_;
  const unsigned irq_line_;
  const std::function<void()> deadline_changed_;
  Port61View port61_view_{*this};

  mutable std::mutex mu_;
  Channel channels_[3];
  uint8_t port61_ = 0;  // bits 3:0 as written (bit 0 mirrors channel 2's gate)
};

}  // namespace dvmm
