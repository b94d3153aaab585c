// CMOS RAM and real-time clock (Motorola MC146818A data sheet; the PC/AT
// CMOS layout, as QEMU's hw/rtc/mc146818rtc.c and hw/i386/pc.c fill it).
//
// Ports (offsets from 0x70):
//   0  W  index: bits 6:0 register, bit 7 NMI disable (ignored); reads 0xFF
//   1  RW data of the indexed register
// Registers:
//   0x00 seconds  0x01 seconds alarm  0x02 minutes  0x03 minutes alarm
//   0x04 hours (12-hour mode: bit 7 = PM)  0x05 hours alarm
//   0x06 day of week (1 = Sunday)  0x07 day of month  0x08 month
//   0x09 year (2 digits)  0x32 century
//   0x0A register A: bit 7 UIP (always 0: the time is read atomically),
//        6:4 divider, 3:0 rate (reset 0x26)
//   0x0B register B: bit 7 SET, 6 PIE, 5 AIE, 4 UIE, 3 SQWE, 2 DM (1 =
//        binary, 0 = BCD), 1 24/12 (1 = 24-hour), 0 DSE (reset 0x02)
//   0x0C register C: interrupt flags, read as 0 (no RTC interrupt here)
//   0x0D register D: 0x80 (VRT: the battery is good)
//   0x0E-0x7F NVRAM, initialised with:
//     0x15/0x16 base memory in KiB (640)
//     0x17/0x18 and 0x30/0x31 memory above 1 MiB in KiB (max 0xFFFF)
//     0x34/0x35 memory above 16 MiB (below 4 GiB) in 64 KiB units (max 0xFFFF)
//     0x5B/0x5C/0x5D memory above 4 GiB in 64 KiB units
//     0x2E/0x2F checksum of 0x10-0x2D (big-endian)
//
// The time registers show the host's UTC time (from the injected clock)
// plus an offset. While register B's SET bit is on, the update cycle is
// inhibited (data sheet): the time registers hold still, writes go to them
// alone, and clearing SET starts the clock from the date they hold, so a
// date written field by field (Linux's mc146818_set_time, hwclock
// --systohc) is taken whole even when a partial one is not a date (day 31
// written while the month is still February). With SET off, a write to a
// time register changes the offset so that the written field reads back.
// A value outside its field's range (minute 75, month 0, BCD 0xFF) is
// clamped into it: the chip would store it and count strangely, and
// carrying it into the date would let a guest move the clock without
// bound. Alarms, periodic and update interrupts are not implemented
// (registers B/C store the enables, nothing fires).
//
// Thread safety: every public member takes the internal mutex.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>

#include "host/devices/bus_device.hpp"

namespace dvmm {

class Cmos final : public BusDevice {
 public:
  static constexpr uint64_t kDefaultBase = 0x70;
  static constexpr uint64_t kLength = 2;
  // Guest RAM above this address is announced as memory above 4 GiB (it is
  // mapped there, above the 32-bit MMIO hole).
  static constexpr uint64_t kDefaultLowRamLimit = 0xC0000000;

  // ram_bytes: all guest RAM. unix_seconds: the wall clock (UTC seconds
  // since 1970), injected so that tests are deterministic.
  Cmos(uint64_t ram_bytes, std::function<int64_t()> unix_seconds,
       uint64_t low_ram_limit = kDefaultLowRamLimit);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Register access without the index port, for tests and firmware setup.
  uint8_t read_register(uint8_t index);
  void write_register(uint8_t index, uint8_t value);

 private:
  struct DateTime {
    int64_t year;
    unsigned month, day, hour, minute, second, weekday;  // weekday 0 = Sunday
  };
  static DateTime to_date_time(int64_t unix_seconds);
  static int64_t to_unix_seconds(const DateTime& t);

  uint8_t read_locked(uint8_t index);
  void write_locked(uint8_t index, uint8_t value);
  // The guest's date now: the held registers while SET is on.
  DateTime guest_time_locked() const;
  // Sets one time field of t from a register write, clamped to its range.
  void set_time_field_locked(DateTime& t, uint8_t index, uint8_t value) const;
  uint8_t encode_locked(unsigned v) const;
  unsigned decode_locked(uint8_t v) const;

  const std::function<int64_t()> unix_seconds_;

  std::mutex mu_;
  uint8_t index_ = 0;
  int64_t offset_s_ = 0;  // guest time - host time
  // The time registers while SET holds them; empty while the clock runs.
  std::optional<DateTime> held_;
  std::array<uint8_t, 128> regs_{};
};

}  // namespace dvmm
