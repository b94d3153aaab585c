#include "host/devices/pic8259.hpp"

#include <optional>
#include <utility>

namespace dvmm {

namespace {
constexpr unsigned kCascadeIrq = 2;
}  // namespace

// --- one chip --------------------------------------------------------------

int Pic8259::Chip::priority(uint8_t mask) const {
  if (mask == 0) return 8;
  int p = 0;
  while ((mask & (1u << ((p + priority_add) & 7))) == 0) ++p;
  return p;
}

int Pic8259::Chip::pending_irq() const {
  const int p = priority(static_cast<uint8_t>(irr & ~imr));
  if (p == 8) return -1;
  // In special mask mode masked in-service levels do not block; in special
  // fully nested mode the master lets further slave requests through.
  uint8_t in_service = isr;
  if (special_mask) in_service &= static_cast<uint8_t>(~imr);
  if (special_fully_nested && is_master) in_service &= static_cast<uint8_t>(~(1u << kCascadeIrq));
  if (p < priority(in_service)) return (p + priority_add) & 7;
  return -1;
}

void Pic8259::Chip::set_input(unsigned irq, bool level) {
  const auto bit = static_cast<uint8_t>(1u << irq);
  if ((elcr & bit) != 0) {  // level-triggered: IRR follows the input
    irr = level ? (irr | bit) : (irr & ~bit);
    last_irr = level ? (last_irr | bit) : (last_irr & ~bit);
    return;
  }
  if (level) {
    if ((last_irr & bit) == 0) irr |= bit;  // rising edge
    last_irr |= bit;
  } else {
    last_irr &= static_cast<uint8_t>(~bit);
  }
}

void Pic8259::Chip::intack(unsigned irq) {
  const auto bit = static_cast<uint8_t>(1u << irq);
  if (auto_eoi) {
    if (rotate_on_auto_eoi) priority_add = static_cast<uint8_t>((irq + 1) & 7);
  } else {
    isr |= bit;
  }
  // A level-triggered request stays in IRR while its input is asserted.
  if ((elcr & bit) == 0) irr &= static_cast<uint8_t>(~bit);
}

void Pic8259::Chip::init_reset() {
  // ICW1 resets everything but the ELCR; level requests stay pending.
  last_irr = 0;
  irr &= elcr;
  imr = 0;
  isr = 0;
  priority_add = 0;
  irq_base = 0;
  read_isr = false;
  poll = false;
  special_mask = false;
  init_state = 0;
  auto_eoi = false;
  rotate_on_auto_eoi = false;
  special_fully_nested = false;
  init4 = false;
  single_mode = false;
}

void Pic8259::Chip::write(uint64_t port, uint8_t value) {
  if (port == 0) {
    if ((value & 0x10) != 0) {  // ICW1
      init_reset();
      init_state = 1;
      init4 = (value & 0x01) != 0;
      single_mode = (value & 0x02) != 0;
    } else if ((value & 0x08) != 0) {  // OCW3
      if ((value & 0x04) != 0) poll = true;
      if ((value & 0x02) != 0) read_isr = (value & 0x01) != 0;
      if ((value & 0x40) != 0) special_mask = (value & 0x20) != 0;
    } else {  // OCW2
      const unsigned cmd = value >> 5;
      switch (cmd) {
        case 0:  // clear rotate in AEOI mode
        case 4:  // set rotate in AEOI mode
          rotate_on_auto_eoi = cmd == 4;
          break;
        case 1:    // non-specific EOI
        case 5: {  // rotate on non-specific EOI
          const int p = priority(isr);
          if (p != 8) {
            const unsigned irq = static_cast<unsigned>(p + priority_add) & 7;
            isr &= static_cast<uint8_t>(~(1u << irq));
            if (cmd == 5) priority_add = static_cast<uint8_t>((irq + 1) & 7);
          }
          break;
        }
        case 3:  // specific EOI
          isr &= static_cast<uint8_t>(~(1u << (value & 7)));
          break;
        case 6:  // set priority: IRQ (value & 7) becomes the lowest
          priority_add = static_cast<uint8_t>((value + 1) & 7);
          break;
        case 7: {  // rotate on specific EOI
          const unsigned irq = value & 7u;
          isr &= static_cast<uint8_t>(~(1u << irq));
          priority_add = static_cast<uint8_t>((irq + 1) & 7);
          break;
        }
        default:  // 2: no operation
          break;
      }
    }
    return;
  }
  switch (init_state) {
    case 0:  // OCW1
      imr = value;
      break;
    case 1:  // ICW2
      irq_base = value & 0xF8;
      init_state = single_mode ? (init4 ? 3 : 0) : 2;
      break;
    case 2:  // ICW3: the cascade wiring is fixed
      init_state = init4 ? 3 : 0;
      break;
    default:  // ICW4
      special_fully_nested = (value & 0x10) != 0;
      auto_eoi = (value & 0x02) != 0;
      init_state = 0;
      break;
  }
}

uint8_t Pic8259::Chip::read(uint64_t port) {
  if (poll) {  // the poll byte: bit 7 = request, bits 2:0 = its IRQ; acknowledges it
    poll = false;
    const int irq = pending_irq();
    if (irq < 0) return 0;
    intack(static_cast<unsigned>(irq));
    return static_cast<uint8_t>(0x80 | irq);
  }
  if (port == 0) return read_isr ? isr : irr;
  return imr;
}

// --- the pair --------------------------------------------------------------

Pic8259::Pic8259(std::function<void(bool)> output_handler)
    : output_handler_(std::move(output_handler)) {
  chips_[0].is_master = true;
  chips_[0].elcr_mask = 0xF8;
  chips_[1].elcr_mask = 0xDE;
}

std::shared_ptr<BusDevice> Pic8259::view(View& v) {
  // Aliasing: the view shares ownership of the whole Pic8259. Without a
  // shared owner the pointer is non-owning (see the header).
  return std::shared_ptr<BusDevice>(weak_from_this().lock(), &v);
}

std::shared_ptr<BusDevice> Pic8259::master() { return view(master_view_); }
std::shared_ptr<BusDevice> Pic8259::slave() { return view(slave_view_); }
std::shared_ptr<BusDevice> Pic8259::elcr() { return view(elcr_view_); }

void Pic8259::set_irq(unsigned line, bool level) {
  if (line > 15 || line == kCascadeIrq) return;
  std::optional<bool> changed;
  {
    std::lock_guard lock(mu_);
    chips_[line / 8].set_input(line % 8, level);
    update_cascade_locked();
    changed = output_change_locked();
  }
  notify(changed);
}

bool Pic8259::output_pending() const {
  std::lock_guard lock(mu_);
  return chips_[0].pending_irq() >= 0;
}

uint8_t Pic8259::acknowledge() {
  uint8_t vector = 0;
  std::optional<bool> changed;
  {
    std::lock_guard lock(mu_);
    Chip& m = chips_[0];
    Chip& s = chips_[1];
    const int irq = m.pending_irq();
    if (irq < 0) {
      vector = static_cast<uint8_t>(m.irq_base + 7);  // spurious on the master
    } else {
      if (irq == static_cast<int>(kCascadeIrq)) {
        const int irq2 = s.pending_irq();
        if (irq2 >= 0) {
          s.intack(static_cast<unsigned>(irq2));
          vector = static_cast<uint8_t>(s.irq_base + irq2);
        } else {
          vector = static_cast<uint8_t>(s.irq_base + 7);  // spurious on the slave
        }
        update_cascade_locked();
      } else {
        vector = static_cast<uint8_t>(m.irq_base + irq);
      }
      m.intack(static_cast<unsigned>(irq));
    }
    changed = output_change_locked();
  }
  notify(changed);
  return vector;
}

uint8_t Pic8259::imr(unsigned chip) const {
  std::lock_guard lock(mu_);
  return chips_[chip & 1].imr;
}
uint8_t Pic8259::irr(unsigned chip) const {
  std::lock_guard lock(mu_);
  return chips_[chip & 1].irr;
}
uint8_t Pic8259::isr(unsigned chip) const {
  std::lock_guard lock(mu_);
  return chips_[chip & 1].isr;
}

uint8_t Pic8259::read_port(View::Kind kind, uint64_t offset) {
  uint8_t value = 0;
  std::optional<bool> changed;
  {
    std::lock_guard lock(mu_);
    if (kind == View::Kind::kElcr) {
      value = chips_[offset & 1].elcr;
    } else {
      // A poll read acknowledges, so the outputs may change.
      value = chips_[kind == View::Kind::kMaster ? 0 : 1].read(offset & 1);
      update_cascade_locked();
    }
    changed = output_change_locked();
  }
  notify(changed);
  return value;
}

void Pic8259::write_port(View::Kind kind, uint64_t offset, uint8_t value) {
  std::optional<bool> changed;
  {
    std::lock_guard lock(mu_);
    if (kind == View::Kind::kElcr) {
      Chip& c = chips_[offset & 1];
      c.elcr = value & c.elcr_mask;
    } else {
      chips_[kind == View::Kind::kMaster ? 0 : 1].write(offset & 1, value);
      update_cascade_locked();
    }
    changed = output_change_locked();
  }
  notify(changed);
}

void Pic8259::update_cascade_locked() {
  chips_[0].set_input(kCascadeIrq, chips_[1].pending_irq() >= 0);
}

std::optional<bool> Pic8259::output_change_locked() {
  const bool level = chips_[0].pending_irq() >= 0;
  if (level == output_level_) return std::nullopt;
  output_level_ = level;
  return level;
}

void Pic8259::notify(std::optional<bool> changed) {
  if (changed.has_value() && output_handler_) output_handler_(*changed);
}

void Pic8259::View::read(uint64_t offset, std::span<uint8_t> data) {
  for (size_t i = 0; i < data.size(); ++i) data[i] = pic_.read_port(kind_, offset + i);
}

void Pic8259::View::write(uint64_t offset, std::span<const uint8_t> data) {
  for (size_t i = 0; i < data.size(); ++i) pic_.write_port(kind_, offset + i, data[i]);
}

}  // namespace dvmm
