// ACPI fixed-hardware power management registers (ACPI 6.5 section 4.8):
// the PM1a event and control registers and the power management timer, in
// one 12-byte I/O block laid out as QEMU's PIIX4 PM has it (0x600 in dvmm;
// host/boot/acpi.hpp has the FADT that points at it).
//
// Block (offsets from the base):
//   0-1  PM1_STS  status, write 1 to clear (writing 0 leaves a bit alone):
//          0 TMR_STS  the timer's bit 23 changed        4 BM_STS
//          5 GBL_STS  8 PWRBTN_STS  9 SLPBTN_STS  10 RTC_STS
//          14 PCIEXP_WAKE_STS  15 WAK_STS
//        Only TMR_STS ever becomes set here: there is no firmware to raise
//        GBL_STS, no fixed power or sleep button, no RTC alarm, no wake.
//   2-3  PM1_EN   enable: 0 TMR_EN, 5 GBL_EN, 8 PWRBTN_EN, 9 SLPBTN_EN,
//        10 RTC_EN, 14 PCIEXP_WAKE_DIS; these bits read back as written
//        (ACPICA checks that GBL_EN sticks), the others read 0
//   4-5  PM1_CNT  control:
//          0 SCI_EN   reads 1, writes ignored: the FADT has no SMI command
//                     port, so the hardware is always in ACPI mode
//          1 BM_RLD   read/write, no effect
//          2 GBL_RLS  write-only (reads 0): would signal the firmware; none
//          9 ignored  read/write (ACPICA preserves it)
//          12:10 SLP_TYP  read/write
//          13 SLP_EN  write-only (reads 0): writing 1 enters the sleep state
//                     SLP_TYP names. The S5 type the DSDT gives (\_S5)
//                     calls on_power_off; any other type is not a state the
//                     DSDT offers, so nothing happens (counted)
//          3-8, 14-15 reserved: read 0, writes ignored
//   6-7  nothing: reads all ones, writes ignored (counted), as unclaimed ports
//   8-11 PM_TMR   24-bit counter at 3.579545 MHz from the injected clock,
//        bits 31:24 read 0; read-only (writes counted)
//
// Access widths: any width at any offset in the block; a wide or unaligned
// access is split into its bytes (the timer is sampled once per access, so
// a 4-byte read is one consistent value), as the registers sit on the LPC
// bus and are byte-addressable.
//
// SCI: a level on line `sci_line` of the IrqSink, high while SCI_EN (always)
// and some status bit is set with its enable bit (TMR, GBL, PWRBTN, SLPBTN,
// RTC), set_irq called only on change. TMR_STS is latched when a PM1 or
// timer access finds that bit 23 of the count changed since the last check,
// not by a timer of its own: no asynchronous overflow SCI (Linux never sets
// TMR_EN; its clocksource reads the counter).
//
// Thread safety: every public member takes the internal mutex. The IrqSink
// is called with it held (lock order: AcpiPm -> IrqSink); on_power_off is
// called with it released, on the writing vCPU's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "host/common/clock.hpp"
#include "host/devices/bus_device.hpp"
#include "host/devices/interrupts.hpp"

namespace dvmm {

class AcpiPm final : public BusDevice {
 public:
  static constexpr uint64_t kDefaultBase = 0x600;
  static constexpr uint64_t kLength = 12;
  // Register offsets from the base.
  static constexpr uint64_t kStatus = 0;
  static constexpr uint64_t kEnable = 2;
  static constexpr uint64_t kControl = 4;
  static constexpr uint64_t kTimer = 8;

  static constexpr uint64_t kTimerHz = 3'579'545;
  static constexpr uint32_t kTimerMask = 0xFFFFFF;  // 24 bits (FADT TMR_VAL_EXT clear)

  // PM1_STS / PM1_EN bits.
  static constexpr uint16_t kTmrSts = 1u << 0;
  static constexpr uint16_t kBmSts = 1u << 4;
  static constexpr uint16_t kGblSts = 1u << 5;
  static constexpr uint16_t kPwrBtnSts = 1u << 8;
  static constexpr uint16_t kSlpBtnSts = 1u << 9;
  static constexpr uint16_t kRtcSts = 1u << 10;
  static constexpr uint16_t kPciExpWakeSts = 1u << 14;
  static constexpr uint16_t kWakSts = 1u << 15;
  static constexpr uint16_t kStatusBits =
      kTmrSts | kBmSts | kGblSts | kPwrBtnSts | kSlpBtnSts | kRtcSts | kPciExpWakeSts | kWakSts;
  static constexpr uint16_t kPciExpWakeDis = 1u << 14;
  static constexpr uint16_t kEnableBits =
      kTmrSts | kGblSts | kPwrBtnSts | kSlpBtnSts | kRtcSts | kPciExpWakeDis;
  // Status bits that raise the SCI when enabled (same positions in PM1_EN).
  static constexpr uint16_t kSciSources = kTmrSts | kGblSts | kPwrBtnSts | kSlpBtnSts | kRtcSts;

  // PM1_CNT bits.
  static constexpr uint16_t kSciEn = 1u << 0;
  static constexpr uint16_t kBmRld = 1u << 1;
  static constexpr uint16_t kGblRls = 1u << 2;
  static constexpr uint16_t kCntIgnored = 1u << 9;
  static constexpr unsigned kSlpTypShift = 10;
  static constexpr uint16_t kSlpTypMask = 7u << kSlpTypShift;
  static constexpr uint16_t kSlpEn = 1u << 13;
  // What a control read can return besides SCI_EN.
  static constexpr uint16_t kControlStored = kBmRld | kCntIgnored | kSlpTypMask;

  // Guest accesses the hardware ignores, for --stats and tests.
  struct Counters {
    uint64_t ignored_writes = 0;      // to the timer, to offsets 6-7, beyond the block
    uint64_t unsupported_sleeps = 0;  // SLP_EN with a SLP_TYP other than S5
    uint64_t reserved_bits = 0;       // writes setting reserved PM1_EN / PM1_CNT bits
  };

  // s5_sleep_type: the SLP_TYP value of the DSDT's \_S5 (0-7). on_power_off
  // runs when the guest writes SLP_EN with it.
  AcpiPm(const Clock& clock, IrqSink& irqs, unsigned sci_line, uint8_t s5_sleep_type,
         std::function<void()> on_power_off);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  Counters counters() const;

 private:
  // Ticks of the 3.579545 MHz timer since construction (not masked).
  uint64_t ticks_locked() const;
  // Latches TMR_STS if bit 23 of the count changed since the last check.
  void sample_timer_locked(uint64_t ticks);
  uint8_t read_byte_locked(uint64_t offset, uint64_t ticks) const;
  // Returns true when the write asked for S5.
  bool write_byte_locked(uint64_t offset, uint8_t value);
  void update_sci_locked();

  const Clock& clock_;
  IrqSink& irqs_;
  const unsigned sci_line_;
  const uint8_t s5_sleep_type_;
  const std::function<void()> on_power_off_;
  const uint64_t start_ns_;

  mutable std::mutex mu_;
  uint16_t status_ = 0;
  uint16_t enable_ = 0;
  uint16_t control_ = 0;       // the kControlStored bits
  uint64_t timer_period_ = 0;  // ticks >> 23 at the last check
  bool sci_level_ = false;
  Counters counters_;
};

}  // namespace dvmm
