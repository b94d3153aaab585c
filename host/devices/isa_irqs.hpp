// The PC's ISA interrupt wiring: each ISA line goes to both interrupt
// controllers, the 8259 pin of the same number and the IOAPIC GSI the MADT
// announces (IRQ 0 is wired to GSI 2, the override every PC chipset and
// QEMU have).
#pragma once

#include "host/devices/interrupts.hpp"
#include "host/devices/ioapic.hpp"
#include "host/devices/pic8259.hpp"

namespace dvmm {

class IsaIrqs final : public IrqSink {
 public:
  IsaIrqs(Pic8259& pic, Ioapic& ioapic) : pic_(pic), ioapic_(ioapic) {}
  void set_irq(unsigned line, bool level) override {
    pic_.set_irq(line, level);
    ioapic_.set_irq(line == 0 ? 2 : line, level);
  }

 private:
  Pic8259& pic_;
  Ioapic& ioapic_;
};

}  // namespace dvmm
