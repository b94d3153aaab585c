#include "host/devices/pit8254.hpp"

#include <utility>

namespace dvmm {

namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kRefreshToggleNs = 15'085;  // port 0x61 bit 4 period / 2

uint32_t bcd16_to_binary(uint16_t v) {
  return ((v >> 12) & 0xFu) * 1000 + ((v >> 8) & 0xFu) * 100 + ((v >> 4) & 0xFu) * 10 + (v & 0xFu);
}

uint16_t binary_to_bcd16(uint32_t v) {
  return static_cast<uint16_t>(((v / 1000) % 10) << 12 | ((v / 100) % 10) << 8 |
                               ((v / 10) % 10) << 4 | (v % 10));
}

bool periodic(uint8_t mode) { return mode == 2 || mode == 3; }
bool gate_triggered(uint8_t mode) { return mode == 1 || mode == 5; }

}  // namespace

Pit8254::Pit8254(const Clock& clock, IrqSink& irq, unsigned irq_line,
                 std::function<void()> deadline_changed)
    : clock_(clock), irq_(irq), irq_line_(irq_line), deadline_changed_(std::move(deadline_changed)) {
  channels_[2].gate = false;  // port 0x61 bit 0 is clear at reset
}

uint64_t Pit8254::ns_to_ticks(uint64_t ns) {
  return (ns / kNsPerSecond) * kFrequencyHz + (ns % kNsPerSecond) * kFrequencyHz / kNsPerSecond;
}

uint64_t Pit8254::ticks_to_ns(uint64_t ticks) {
  return (ticks / kFrequencyHz) * kNsPerSecond +
         ((ticks % kFrequencyHz) * kNsPerSecond + kFrequencyHz - 1) / kFrequencyHz;
}

// --- port access -------------------------------------------------------------

void Pit8254::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  const uint64_t now = clock_.now_ns();
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t port = offset + i;
    data[i] = port < 3 ? read_count_locked(channels_[port], now) : 0;  // control: write-only
  }
}

void Pit8254::write(uint64_t offset, std::span<const uint8_t> data) {
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    const uint64_t now = clock_.now_ns();
    const std::optional<uint64_t> before = deadline_locked();
    for (size_t i = 0; i < data.size(); ++i) {
      const uint64_t port = offset + i;
      if (port < 3) {
        write_count_locked(channels_[port], data[i], now);
      } else if (port == 3) {
        write_control_locked(data[i], now);
      }
    }
    changed = deadline_locked() != before;
  }
  if (changed && deadline_changed_) deadline_changed_();
}

std::shared_ptr<BusDevice> Pit8254::port61() {
  return std::shared_ptr<BusDevice>(weak_from_this().lock(), &port61_view_);
}

uint8_t Pit8254::read_port61() {
  std::lock_guard lock(mu_);
  const uint64_t now = clock_.now_ns();
  uint8_t v = port61_ & 0x0F;
  if (((now / kRefreshToggleNs) & 1) != 0) v |= 0x10;
  if (out_locked(channels_[2], now)) v |= 0x20;
  return v;
}

void Pit8254::write_port61(uint8_t value) {
  std::lock_guard lock(mu_);
  port61_ = value & 0x0F;
  set_gate_locked(channels_[2], (value & 1) != 0, clock_.now_ns());
}

void Pit8254::Port61View::read(uint64_t /*offset*/, std::span<uint8_t> data) {
  const uint8_t v = pit_.read_port61();
  for (uint8_t& b : data) b = v;
}

void Pit8254::Port61View::write(uint64_t /*offset*/, std::span<const uint8_t> data) {
  if (!data.empty()) pit_.write_port61(data[0]);
}

// --- IRQ ---------------------------------------------------------------------

std::optional<uint64_t> Pit8254::next_irq_deadline_ns() const {
  std::lock_guard lock(mu_);
  return deadline_locked();
}

std::optional<uint64_t> Pit8254::deadline_locked() const {
  const Channel& c = channels_[0];
  if (!c.running || !c.next_irq_tick) return std::nullopt;
  if (*c.next_irq_tick <= c.elapsed_base) return c.start_ns;
  return c.start_ns + ticks_to_ns(*c.next_irq_tick - c.elapsed_base);
}

void Pit8254::poll() {
  std::lock_guard lock(mu_);
  Channel& c = channels_[0];
  if (!c.running || !c.next_irq_tick) return;
  const uint64_t now = clock_.now_ns();
  const uint64_t d = elapsed_locked(c, now);
  if (d < *c.next_irq_tick) return;
  irq_.set_irq(irq_line_, true);
  irq_.set_irq(irq_line_, false);
  if (periodic(c.mode)) {
    c.next_irq_tick = (d / c.count + 1) * c.count;  // missed periods coalesce
  } else {
    c.next_irq_tick.reset();  // one-shot: OUT stays high until reprogrammed
  }
}

// --- channel state -----------------------------------------------------------

uint64_t Pit8254::elapsed_locked(const Channel& c, uint64_t now) const {
  if (!c.running) return c.elapsed_base;
  return c.elapsed_base + ns_to_ticks(now > c.start_ns ? now - c.start_ns : 0);
}

uint16_t Pit8254::current_count_locked(const Channel& c, uint64_t now) const {
  const uint32_t modulus = c.bcd ? 10000 : 0x10000;
  uint64_t value = 0;
  if (!c.armed) {
    value = c.count;
  } else {
    const uint64_t d = elapsed_locked(c, now);
    switch (c.mode) {
      case 2:
        value = c.count - d % c.count;
        break;
      case 3:
        value = c.count - (2 * d) % c.count;
        break;
      default:  // one-shot modes keep decrementing (wrapping) after terminal count
        value = (c.count + modulus - d % modulus) % modulus;
        break;
    }
  }
  value %= modulus;  // a full count (0x10000 / 10000) reads as 0
  const auto v = static_cast<uint32_t>(value);
  return c.bcd ? binary_to_bcd16(v) : static_cast<uint16_t>(v);
}

bool Pit8254::out_locked(const Channel& c, uint64_t now) const {
  if (!c.armed) return c.mode != 0;  // the control word sets OUT low in mode 0, high otherwise
  if (periodic(c.mode) && !c.gate) return true;
  const uint64_t d = elapsed_locked(c, now);
  switch (c.mode) {
    case 0:
    case 1:
      return d >= c.count;
    case 2:
      return d % c.count != c.count - 1;
    case 3:
      return d % c.count < (c.count + 1) / 2;
    default:  // 4, 5: low for the one tick at terminal count
      return d != c.count;
  }
}

uint8_t Pit8254::status_locked(const Channel& c, uint64_t now) const {
  return static_cast<uint8_t>((out_locked(c, now) ? 0x80 : 0) | (c.null_count ? 0x40 : 0) |
                              (c.rw << 4) | (c.mode << 1) | (c.bcd ? 1 : 0));
}

void Pit8254::latch_count_locked(Channel& c, uint64_t now) {
  if (c.count_latched) return;  // a second latch before the read is ignored
  c.latched_count = current_count_locked(c, now);
  c.count_latched = true;
  c.latch_state = c.rw == 3 ? Access::kWord0 : static_cast<Access>(c.rw);
}

void Pit8254::restart_locked(Channel& c, uint64_t now) {
  c.start_ns = now;
  c.elapsed_base = 0;
  c.running = c.armed && (c.gate || gate_triggered(c.mode));
  c.next_irq_tick = c.count;  // used while running (deadline_locked checks)
}

void Pit8254::load_count_locked(Channel& c, uint16_t raw, uint64_t now) {
  const uint32_t full = c.bcd ? 10000 : 0x10000;
  const uint32_t v = c.bcd ? bcd16_to_binary(raw) : raw;
  c.count = v == 0 ? full : v;
  c.armed = true;
  c.null_count = false;
  restart_locked(c, now);
}

void Pit8254::set_gate_locked(Channel& c, bool gate, uint64_t now) {
  if (gate == c.gate) return;
  c.gate = gate;
  if (!c.armed) return;
  if (c.mode == 0 || c.mode == 4) {
    // The gate pauses and resumes counting.
    if (!gate) {
      c.elapsed_base = elapsed_locked(c, now);
      c.running = false;
    } else {
      c.start_ns = now;
      c.running = true;
    }
    return;
  }
  // Modes 1, 5 (trigger) and 2, 3 (reload) restart on a rising gate; modes
  // 2 and 3 stop while the gate is low.
  if (gate) {
    restart_locked(c, now);
  } else if (periodic(c.mode)) {
    c.running = false;
    c.next_irq_tick.reset();
  }
}

void Pit8254::write_control_locked(uint8_t value, uint64_t now) {
  const unsigned sc = value >> 6;
  if (sc == 3) {  // read-back
    for (unsigned i = 0; i < 3; ++i) {
      if ((value & (2u << i)) == 0) continue;
      Channel& c = channels_[i];
      if ((value & 0x20) == 0) latch_count_locked(c, now);
      if ((value & 0x10) == 0 && !c.status_latched) {
        c.status = status_locked(c, now);
        c.status_latched = true;
      }
    }
    return;
  }
  Channel& c = channels_[sc];
  const auto rw = static_cast<uint8_t>((value >> 4) & 3);
  if (rw == 0) {  // counter latch command
    latch_count_locked(c, now);
    return;
  }
  uint8_t mode = (value >> 1) & 7;
  if (mode >= 6) mode = static_cast<uint8_t>(mode - 4);
  c.rw = rw;
  c.mode = mode;
  c.bcd = (value & 1) != 0;
  c.read_state = c.write_state = rw == 3 ? Access::kWord0 : static_cast<Access>(rw);
  c.count_latched = false;
  c.status_latched = false;
  c.null_count = true;
  // The control word resets the counter logic: nothing counts until a new
  // count is written.
  c.armed = false;
  c.running = false;
  c.next_irq_tick.reset();
}

void Pit8254::write_count_locked(Channel& c, uint8_t value, uint64_t now) {
  switch (c.write_state) {
    case Access::kLsb:
      load_count_locked(c, value, now);
      break;
    case Access::kMsb:
      load_count_locked(c, static_cast<uint16_t>(value << 8), now);
      break;
    case Access::kWord0:
      c.write_latch = value;
      c.write_state = Access::kWord1;
      if (c.mode == 0) {  // mode 0: the first byte stops the count
        c.elapsed_base = elapsed_locked(c, now);
        c.running = false;
        c.armed = false;
        c.next_irq_tick.reset();
      }
      break;
    case Access::kWord1:
      load_count_locked(c, static_cast<uint16_t>(c.write_latch | value << 8), now);
      c.write_state = Access::kWord0;
      break;
  }
}

uint8_t Pit8254::read_count_locked(Channel& c, uint64_t now) {
  if (c.status_latched) {
    c.status_latched = false;
    return c.status;
  }
  if (c.count_latched) {
    const uint16_t v = c.latched_count;
    switch (c.latch_state) {
      case Access::kLsb:
        c.count_latched = false;
        return static_cast<uint8_t>(v);
      case Access::kMsb:
        c.count_latched = false;
        return static_cast<uint8_t>(v >> 8);
      case Access::kWord0:
        c.latch_state = Access::kWord1;
        return static_cast<uint8_t>(v);
      case Access::kWord1:
        c.count_latched = false;
        return static_cast<uint8_t>(v >> 8);
    }
  }
  const uint16_t v = current_count_locked(c, now);
  switch (c.read_state) {
    case Access::kLsb:
      return static_cast<uint8_t>(v);
    case Access::kMsb:
      return static_cast<uint8_t>(v >> 8);
    case Access::kWord0:
      c.read_state = Access::kWord1;
      return static_cast<uint8_t>(v);
    case Access::kWord1:
      c.read_state = Access::kWord0;
      return static_cast<uint8_t>(v >> 8);
  }
  return 0;
}

}  // namespace dvmm
