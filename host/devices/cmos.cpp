#include "host/devices/cmos.hpp"

#include <algorithm>
#include <utility>

#include "host/devices/io_access.hpp"

namespace dvmm {

namespace {

constexpr uint8_t kSeconds = 0x00;
constexpr uint8_t kMinutes = 0x02;
constexpr uint8_t kHours = 0x04;
constexpr uint8_t kWeekday = 0x06;
constexpr uint8_t kDay = 0x07;
constexpr uint8_t kMonth = 0x08;
constexpr uint8_t kYear = 0x09;
constexpr uint8_t kRegA = 0x0A;
constexpr uint8_t kRegB = 0x0B;
constexpr uint8_t kRegC = 0x0C;
constexpr uint8_t kRegD = 0x0D;
constexpr uint8_t kCentury = 0x32;

constexpr uint8_t kRegBSet = 0x80;
constexpr uint8_t kRegBBinary = 0x04;
constexpr uint8_t kRegB24Hour = 0x02;
constexpr uint8_t kRegDValid = 0x80;
constexpr uint8_t kPm = 0x80;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

Cmos::Cmos(uint64_t ram_bytes, std::function<int64_t()> unix_seconds, uint64_t low_ram_limit)
    : unix_seconds_(std::move(unix_seconds)) {
  regs_[kRegA] = 0x26;  // 32.768 kHz time base, 1024 Hz periodic rate
  regs_[kRegB] = kRegB24Hour;

  const uint64_t below = std::min(ram_bytes, low_ram_limit);
  const uint64_t above = ram_bytes - below;
  auto put16 = [this](uint8_t at, uint64_t v) {
    regs_[at] = static_cast<uint8_t>(v & 0xFF);
    regs_[at + 1u] = static_cast<uint8_t>((v >> 8) & 0xFF);
  };
  put16(0x15, 640);
  const uint64_t ext_kib = below > kMiB ? std::min<uint64_t>((below - kMiB) / kKiB, 0xFFFF) : 0;
  put16(0x17, ext_kib);
  put16(0x30, ext_kib);
  const uint64_t ext16 =
      below > 16 * kMiB ? std::min<uint64_t>((below - 16 * kMiB) / (64 * kKiB), 0xFFFF) : 0;
  put16(0x34, ext16);
  const uint64_t high = std::min<uint64_t>(above / (64 * kKiB), 0xFFFFFF);
  regs_[0x5B] = static_cast<uint8_t>(high & 0xFF);
  regs_[0x5C] = static_cast<uint8_t>((high >> 8) & 0xFF);
  regs_[0x5D] = static_cast<uint8_t>((high >> 16) & 0xFF);

  unsigned sum = 0;
  for (unsigned i = 0x10; i <= 0x2D; ++i) sum += regs_[i];
  regs_[0x2E] = static_cast<uint8_t>((sum >> 8) & 0xFF);
  regs_[0x2F] = static_cast<uint8_t>(sum & 0xFF);
}

void Cmos::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = offset + i == 1 ? read_locked(index_) : 0xFF;  // the index port is write-only
  }
}

void Cmos::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); ++i) {
    if (offset + i == 0) {
      index_ = data[i] & 0x7F;
    } else {
      write_locked(index_, data[i]);
    }
  }
}

uint8_t Cmos::read_register(uint8_t index) {
  std::lock_guard lock(mu_);
  return read_locked(index & 0x7F);
}

void Cmos::write_register(uint8_t index, uint8_t value) {
  std::lock_guard lock(mu_);
  write_locked(index & 0x7F, value);
}

uint8_t Cmos::encode_locked(unsigned v) const {
  return (regs_[kRegB] & kRegBBinary) != 0 ? static_cast<uint8_t>(v) : to_bcd(v);
}

unsigned Cmos::decode_locked(uint8_t v) const {
  return (regs_[kRegB] & kRegBBinary) != 0 ? v : from_bcd(v);
}

uint8_t Cmos::read_locked(uint8_t index) {
  const bool is_time = index <= kYear || index == kCentury;
  const bool is_alarm = index == 0x01 || index == 0x03 || index == 0x05;
  if (is_time && !is_alarm) {
    const DateTime t = guest_time_locked();
    switch (index) {
      case kSeconds:
        return encode_locked(t.second);
      case kMinutes:
        return encode_locked(t.minute);
      case kHours:
        if ((regs_[kRegB] & kRegB24Hour) != 0) return encode_locked(t.hour);
        return static_cast<uint8_t>(encode_locked(t.hour % 12 == 0 ? 12 : t.hour % 12) |
                                    (t.hour >= 12 ? kPm : 0));
      case kWeekday:
        return encode_locked(t.weekday + 1);
      case kDay:
        return encode_locked(t.day);
      case kMonth:
        return encode_locked(t.month);
      case kYear:
        return encode_locked(static_cast<unsigned>(((t.year % 100) + 100) % 100));
      default:  // century
        return encode_locked(static_cast<unsigned>(floor_div(t.year, 100) % 100));
    }
  }
  switch (index) {
    case kRegA:
      return regs_[kRegA] & 0x7F;  // UIP never set
    case kRegC:
      return 0;
    case kRegD:
      return kRegDValid;
    default:
      return regs_[index];
  }
}

void Cmos::write_locked(uint8_t index, uint8_t value) {
  const bool is_alarm = index == 0x01 || index == 0x03 || index == 0x05;
  if ((index <= kYear && !is_alarm) || index == kCentury) {
    if (index == kWeekday) return;  // derived from the date
    if (held_) {
      set_time_field_locked(*held_, index, value);
      return;
    }
    const int64_t host = unix_seconds_();
    DateTime t = to_date_time(host + offset_s_);
    set_time_field_locked(t, index, value);
    offset_s_ = to_unix_seconds(t) - host;
    return;
  }
  switch (index) {
    case kRegA:
      regs_[kRegA] = value & 0x7F;
      return;
    case kRegB:
      if ((value & kRegBSet) != 0 && !held_) {
        held_ = guest_time_locked();
      } else if ((value & kRegBSet) == 0 && held_) {
        // The clock starts again from the date the registers hold.
        offset_s_ = to_unix_seconds(*held_) - unix_seconds_();
        held_.reset();
      }
      regs_[kRegB] = value;
      return;
    case kRegC:
    case kRegD:
      return;  // read-only
    default:
      regs_[index] = value;  // alarms and NVRAM
      return;
  }
}

Cmos::DateTime Cmos::guest_time_locked() const {
  if (!held_) return to_date_time(unix_seconds_() + offset_s_);
  // The held fields as written; only the weekday, which the guest cannot
  // write, follows from them.
  DateTime t = *held_;
  t.weekday = to_date_time(to_unix_seconds(t)).weekday;
  return t;
}

void Cmos::set_time_field_locked(DateTime& t, uint8_t index, uint8_t value) const {
  const auto field = [this](uint8_t v, unsigned lo, unsigned hi) {
    return std::clamp(decode_locked(v), lo, hi);
  };
  switch (index) {
    case kSeconds:
      t.second = field(value, 0, 59);
      break;
    case kMinutes:
      t.minute = field(value, 0, 59);
      break;
    case kHours:
      if ((regs_[kRegB] & kRegB24Hour) != 0) {
        t.hour = field(value, 0, 23);
      } else {
        t.hour = decode_locked(value & 0x7F) % 12 + ((value & kPm) != 0 ? 12 : 0);
      }
      break;
    case kDay:
      t.day = field(value, 1, 31);
      break;
    case kMonth:
      t.month = field(value, 1, 12);
      break;
    case kYear:
      t.year = floor_div(t.year, 100) * 100 + field(value, 0, 99);
      break;
    default:  // century
      t.year = static_cast<int64_t>(field(value, 0, 99)) * 100 + ((t.year % 100) + 100) % 100;
      break;
  }
}

// Calendar conversions after H. Hinnant, "chrono-Compatible Low-Level Date
// Algorithms" (proleptic Gregorian, no time zones: the RTC keeps UTC).
Cmos::DateTime Cmos::to_date_time(int64_t unix_seconds) {
  const int64_t days = floor_div(unix_seconds, 86400);
  const int64_t secs = unix_seconds - days * 86400;
  const int64_t z = days + 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  DateTime t{};
  t.year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  t.month = static_cast<unsigned>(month);
  t.day = static_cast<unsigned>(day);
  t.hour = static_cast<unsigned>(secs / 3600);
  t.minute = static_cast<unsigned>(secs / 60 % 60);
  t.second = static_cast<unsigned>(secs % 60);
  t.weekday = static_cast<unsigned>(((days + 4) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
  return t;
}

int64_t Cmos::to_unix_seconds(const DateTime& t) {
  const int64_t m = t.month;
  const int64_t y = t.year - (m <= 2 ? 1 : 0);
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + static_cast<int64_t>(t.day) - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  return days * 86400 + static_cast<int64_t>(t.hour) * 3600 + static_cast<int64_t>(t.minute) * 60 +
         static_cast<int64_t>(t.second);
}

}  // namespace dvmm
