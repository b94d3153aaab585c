#include "host/devices/acpi_pm.hpp"

#include <cstddef>
#include <cstdint>
#include <utility>

namespace dvmm {

namespace {

constexpr uint8_t low(uint16_t v) {
  return static_cast<uint8_t>(v & 0xFF);
}
constexpr uint8_t high(uint16_t v) {
  return static_cast<uint8_t>(v >> 8);
}
// v with its byte `which` (0 low, 1 high) replaced by b.
constexpr uint16_t with_byte(uint16_t v, unsigned which, uint8_t b) {
  const unsigned shift = which * 8;
  return static_cast<uint16_t>((v & ~(0xFFu << shift)) | (unsigned{b} << shift));
}
// The bits of a 16-bit register that byte `which` covers.
constexpr uint16_t byte_bits(uint16_t mask, unsigned which) {
  return static_cast<uint16_t>(mask & (0xFFu << (which * 8)));
}

// The timer toggles TMR_STS each time bit 23 of its count changes.
constexpr unsigned kTimerStatusBit = 23;

// Byte i of an access at offset; an access that would wrap around the
// offset space lands past the block (nothing there).
constexpr uint64_t byte_offset(uint64_t offset, size_t i) {
  return offset > UINT64_MAX - i ? AcpiPm::kLength : offset + i;
}

}  // namespace

AcpiPm::AcpiPm(const Clock& clock, IrqSink& irqs, unsigned sci_line, uint8_t s5_sleep_type,
               std::function<void()> on_power_off)
    : clock_(clock),
      irqs_(irqs),
      sci_line_(sci_line),
      s5_sleep_type_(static_cast<uint8_t>(s5_sleep_type & 7)),
      on_power_off_(std::move(on_power_off)),
      start_ns_(clock.now_ns()) {}

uint64_t AcpiPm::ticks_locked() const {
  const uint64_t elapsed = clock_.now_ns() - start_ns_;
  // In 128 bits: elapsed * kTimerHz passes 2^64 after 86 minutes.
  return static_cast<uint64_t>(static_cast<unsigned __int128>(elapsed) * kTimerHz / 1'000'000'000u);
}

void AcpiPm::sample_timer_locked(uint64_t ticks) {
  const uint64_t period = ticks >> kTimerStatusBit;
  if (period != timer_period_) {
    timer_period_ = period;
    status_ |= kTmrSts;
  }
}

uint8_t AcpiPm::read_byte_locked(uint64_t offset, uint64_t ticks) const {
  switch (offset) {
    case kStatus:
      return low(status_);
    case kStatus + 1:
      return high(status_);
    case kEnable:
      return low(enable_);
    case kEnable + 1:
      return high(enable_);
    case kControl:
      return low(static_cast<uint16_t>(control_ | kSciEn));
    case kControl + 1:
      return high(control_);
    case kTimer:
    case kTimer + 1:
    case kTimer + 2:
    case kTimer + 3: {
      const auto count = static_cast<uint32_t>(ticks & kTimerMask);
      return static_cast<uint8_t>(count >> (8 * (offset - kTimer)));
    }
    default:
      return 0xFF;  // 6-7 and beyond the block: nothing decodes them
  }
}

bool AcpiPm::write_byte_locked(uint64_t offset, uint8_t value) {
  switch (offset) {
    case kStatus:
    case kStatus + 1: {
      const unsigned which = static_cast<unsigned>(offset - kStatus);
      const uint16_t ones = with_byte(0, which, value);
      status_ = static_cast<uint16_t>(status_ & ~(ones & kStatusBits));
      return false;
    }
    case kEnable:
    case kEnable + 1: {
      const unsigned which = static_cast<unsigned>(offset - kEnable);
      const uint16_t bits = with_byte(0, which, value);
      if ((bits & ~kEnableBits) != 0) ++counters_.reserved_bits;
      enable_ =
          static_cast<uint16_t>((enable_ & ~byte_bits(kEnableBits, which)) | (bits & kEnableBits));
      return false;
    }
    case kControl:
    case kControl + 1: {
      const unsigned which = static_cast<unsigned>(offset - kControl);
      const uint16_t bits = with_byte(0, which, value);
      constexpr uint16_t kWritable = kControlStored | kSciEn | kGblRls | kSlpEn;
      if ((bits & ~kWritable) != 0) ++counters_.reserved_bits;
      // SCI_EN is fixed at 1 and GBL_RLS has no firmware to signal: both
      // are dropped; SLP_EN acts below and is never stored.
      control_ = static_cast<uint16_t>((control_ & ~byte_bits(kControlStored, which)) |
                                       (bits & kControlStored));
      if ((bits & kSlpEn) == 0) return false;
      const unsigned type = (control_ & kSlpTypMask) >> kSlpTypShift;
      if (type == s5_sleep_type_) return true;
      ++counters_.unsupported_sleeps;
      return false;
    }
    default:  // the read-only timer, 6-7, beyond the block
      ++counters_.ignored_writes;
      return false;
  }
}

void AcpiPm::update_sci_locked() {
  // SCI_EN is always set, so only the status and enable bits matter.
  const bool level = (status_ & enable_ & kSciSources) != 0;
  if (level == sci_level_) return;
  sci_level_ = level;
  irqs_.set_irq(sci_line_, level);
}

void AcpiPm::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  const uint64_t ticks = ticks_locked();
  sample_timer_locked(ticks);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = read_byte_locked(byte_offset(offset, i), ticks);
  update_sci_locked();
}

void AcpiPm::write(uint64_t offset, std::span<const uint8_t> data) {
  bool power_off = false;
  {
    std::lock_guard lock(mu_);
    sample_timer_locked(ticks_locked());
    for (size_t i = 0; i < data.size(); ++i) {
      power_off = write_byte_locked(byte_offset(offset, i), data[i]) || power_off;
    }
    update_sci_locked();
  }
  // Outside the lock: stopping the VM kicks every vCPU, and a vCPU may be
  // about to access this device.
  if (power_off && on_power_off_) on_power_off_();
}

AcpiPm::Counters AcpiPm::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

}  // namespace dvmm
