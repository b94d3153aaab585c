#include "host/devices/ioapic.hpp"

#include "host/devices/io_access.hpp"

namespace dvmm {

namespace {

constexpr uint64_t kReadOnlyBits = Ioapic::kDeliveryStatus | Ioapic::kRemoteIrr;

}  // namespace

Ioapic::Ioapic(ApicBus& bus, uint8_t id) : bus_(bus), id_(id & 0x0F) {
  redir_.fill(kMasked);
}

void Ioapic::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  // Byte lanes: an access may start inside a 32-bit register.
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t off = offset + i;
    uint32_t reg = 0;
    if (off >= kIoRegSel && off < kIoRegSel + 4) {
      reg = ioregsel_;
    } else if (off >= kIoWin && off < kIoWin + 4) {
      reg = read_register_locked(ioregsel_);
    }  // EOI is write-only; everything else reads as zero
    data[i] = static_cast<uint8_t>(reg >> (8 * (off & 3)));
  }
}

void Ioapic::write(uint64_t offset, std::span<const uint8_t> data) {
  Outbox out;
  {
    std::lock_guard lock(mu_);
    const uint64_t value = load_le(data);
    if (offset == kIoRegSel) {
      ioregsel_ = static_cast<uint8_t>(value);
    } else if (offset >= kIoWin && offset < kIoWin + 4) {
      // Partial writes merge into the current register value.
      uint32_t reg = read_register_locked(ioregsel_);
      const uint64_t lane = offset - kIoWin;
      for (size_t i = 0; i < data.size() && lane + i < 4; ++i) {
        const unsigned shift = static_cast<unsigned>(8 * (lane + i));
        reg = (reg & ~(0xFFu << shift)) | (static_cast<uint32_t>(data[i]) << shift);
      }
      write_register_locked(ioregsel_, reg, out);
    } else if (offset == kEoi) {
      eoi_locked(static_cast<uint8_t>(value), out);
    }
  }
  flush(out);
}

void Ioapic::set_irq(unsigned line, bool level) {
  if (line >= kNumPins) return;
  Outbox out;
  {
    std::lock_guard lock(mu_);
    const bool was = asserted_locked(line);
    const uint32_t bit = 1u << line;
    pin_levels_ = level ? (pin_levels_ | bit) : (pin_levels_ & ~bit);
    const bool now = asserted_locked(line);
    const uint64_t e = redir_[line];
    if ((e & kLevelTrigger) != 0) {
      service_level_locked(line, out);
    } else if (now && !was && (e & kMasked) == 0) {
      queue_locked(line, out);
    }
  }
  flush(out);
}

void Ioapic::handle_eoi(uint8_t vector) {
  Outbox out;
  {
    std::lock_guard lock(mu_);
    eoi_locked(vector, out);
  }
  flush(out);
}

void Ioapic::eoi_locked(uint8_t vector, Outbox& out) {
  for (unsigned pin = 0; pin < kNumPins; ++pin) {
    uint64_t& e = redir_[pin];
    if ((e & kLevelTrigger) == 0 || (e & kRemoteIrr) == 0 || (e & 0xFF) != vector) continue;
    e &= ~kRemoteIrr;
    service_level_locked(pin, out);
  }
}

uint64_t Ioapic::redirection_entry(unsigned pin) const {
  std::lock_guard lock(mu_);
  return pin < kNumPins ? redir_[pin] : 0;
}

uint32_t Ioapic::read_register_locked(uint8_t index) const {
  switch (index) {
    case kRegId:
    case kRegArbitration:
      return static_cast<uint32_t>(id_) << 24;
    case kRegVersion:
      return kVersion;
    default:
      break;
  }
  if (index >= kRegRedirBase && index < kRegRedirBase + 2 * kNumPins) {
    const uint64_t e = redir_[(index - kRegRedirBase) / 2u];
    return (index & 1) != 0 ? static_cast<uint32_t>(e >> 32) : static_cast<uint32_t>(e);
  }
  return 0;
}

void Ioapic::write_register_locked(uint8_t index, uint32_t value, Outbox& out) {
  if (index == kRegId) {
    id_ = static_cast<uint8_t>((value >> 24) & 0x0F);
    return;
  }
  if (index < kRegRedirBase || index >= kRegRedirBase + 2 * kNumPins) return;  // read-only / none
  const unsigned pin = (index - kRegRedirBase) / 2u;
  uint64_t& e = redir_[pin];
  if ((index & 1) != 0) {
    e = (e & 0xFFFFFFFFull) | (static_cast<uint64_t>(value) << 32);
  } else {
    e = (e & (0xFFFFFFFF00000000ull | kReadOnlyBits)) | (value & ~kReadOnlyBits & 0xFFFFFFFFull);
  }
  // Remote IRR only has a meaning for level-triggered entries; an entry
  // switched to edge loses it (what KVM does, and what Linux's workaround
  // for IOAPICs without an EOI register relies on).
  if ((e & kLevelTrigger) == 0) e &= ~kRemoteIrr;
  if ((e & kLevelTrigger) != 0) service_level_locked(pin, out);
}

bool Ioapic::asserted_locked(unsigned pin) const {
  const bool high = (pin_levels_ >> pin) & 1u;
  const bool active_low = (redir_[pin] & kPolarityLow) != 0;
  return high != active_low;
}

void Ioapic::service_level_locked(unsigned pin, Outbox& out) {
  uint64_t& e = redir_[pin];
  if ((e & (kMasked | kRemoteIrr)) != 0 || !asserted_locked(pin)) return;
  e |= kRemoteIrr;
  queue_locked(pin, out);
}

void Ioapic::queue_locked(unsigned pin, Outbox& out) const {
  const uint64_t e = redir_[pin];
  InterruptMessage m;
  m.vector = static_cast<uint8_t>(e & 0xFF);
  // Reserved encodings (3, 6) are passed through; the LAPIC side ignores them.
  m.mode = static_cast<DeliveryMode>((e >> 8) & 7);
  m.logical = (e & (1ull << 11)) != 0;
  m.level_triggered = (e & kLevelTrigger) != 0;
  m.assert_level = true;
  m.shorthand = DestShorthand::kNone;
  m.destination = static_cast<uint32_t>(e >> 56);
  m.x2apic = false;
  m.source_cpu = -1;
  if (out.count < out.msgs.size()) out.msgs[out.count++] = m;
}

void Ioapic::flush(const Outbox& out) {
  for (size_t i = 0; i < out.count; ++i) bus_.deliver(out.msgs[i]);
}

}  // namespace dvmm
