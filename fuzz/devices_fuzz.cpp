// Fuzzes the platform device models (host/devices) through the buses a
// vCPU's exits reach them by: a port I/O bus with the UART, both 8259s and
// their ELCR, the PIT and port 0x61, CMOS/RTC, fw_cfg, debug-exit, the ACPI
// PM block (SCI on ISA IRQ 9) and the reset ports 0xCF9 and 0x64, and an
// MMIO bus with the IOAPIC, wired together as machine.cpp wires them (ISA
// lines to the PIC and the IOAPIC, IRQ 0 to GSI 2). The input is a program
// of guest accesses, interrupt lines, time steps, console input, INTA
// cycles and EOIs. Time is a ManualClock.
//
// The guest owns every byte here, so anything it does must leave the
// models answering: no crash, no hang, no sanitizer report. Accesses are
// 1, 2 or 4 bytes on ports and 1 to 8 bytes on MMIO (a KVM MMIO exit may
// have any length up to 8). Beyond that: PM1 control's SCI_EN always reads
// 1 (the FADT has no SMI port), and the PM timer never runs backwards by
// less than a wrap.
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "fuzz/fuzz_input.hpp"
#include "host/common/clock.hpp"
#include "host/devices/acpi_pm.hpp"
#include "host/devices/bus.hpp"
#include "host/devices/cmos.hpp"
#include "host/devices/debug_exit.hpp"
#include "host/devices/fw_cfg.hpp"
#include "host/devices/interrupts.hpp"
#include "host/devices/io_access.hpp"
#include "host/devices/ioapic.hpp"
#include "host/devices/isa_irqs.hpp"
#include "host/devices/pic8259.hpp"
#include "host/devices/pit8254.hpp"
#include "host/devices/reset_ports.hpp"
#include "host/devices/uart16550.hpp"

namespace {

using namespace dvmm;
using dvmm::fuzz::Input;
using dvmm::fuzz::Output;

constexpr size_t kMaxOps = 8192;

// The ports the devices answer on; an access picks one of these most of
// the time, since a random 16-bit port is nearly always unmapped. New ports
// go at the end, so that the seeds' port indices keep their meaning.
constexpr std::array<uint16_t, 34> kPorts = {
    0x20, 0x21,  0xA0,  0xA1,  0x4D0, 0x4D1, 0x40,  0x41,  0x42,  0x43,  0x61,  0x70,
    0x71, 0x3F8, 0x3F9, 0x3FA, 0x3FB, 0x3FC, 0x3FD, 0x3FE, 0x3FF, 0x510, 0x511, 0xF4,
    0xF5, 0xF7,  0x600, 0x602, 0x604, 0x605, 0x606, 0x608, 0xCF9, 0x64};
constexpr uint8_t kPm1StatusIndex = 26, kPm1EnableIndex = 27, kPm1ControlIndex = 28,
                  kPmTimerIndex = 31, kResetControlIndex = 32, kKbcIndex = 33;
constexpr uint64_t kAcpiPmBase = 0x600;
constexpr unsigned kSciLine = 9;
constexpr uint8_t kS5SleepType = 5;

// Counts what the IOAPIC sends; remembers level-triggered vectors so the
// program can EOI them.
class CountingApicBus final : public ApicBus {
 public:
  void deliver(const InterruptMessage& msg) override {
    ++delivered;
    if (msg.level_triggered) last_level_vector = msg.vector;
  }
  void broadcast_eoi(uint8_t) override {}
  uint64_t delivered = 0;
  uint8_t last_level_vector = 0;
};

enum Op : uint8_t {
  kPortWrite,   // port, size u8, value u32
  kPortRead,    // port, size u8
  kMmioWrite,   // offset u16, size u8, value u64
  kMmioRead,    // offset u16, size u8
  kIrqLine,     // line u8, level u8
  kAdvance,     // ns u32 (then the PIT's timer loop runs)
  kInta,        // the CPU takes the PIC's interrupt
  kConsole,     // len u8, bytes
  kEoi,         // vector u8 (0: the last level-triggered one delivered)
  kRtcSet,      // sec, min, hour, day, month, year, century u8: set and read back
  kNumOps,
};

void run(Input& in) {
  ManualClock clock;
  clock.set(in.u32());
  int64_t host_seconds = static_cast<int64_t>(in.u32());  // the RTC's wall clock
  const uint64_t ram = (uint64_t{1} + in.u8() % 8u) << 30;  // 1-8 GiB: above 4 GiB too

  CountingApicBus apic_bus;
  auto ioapic = std::make_shared<Ioapic>(apic_bus, in.u8());
  bool intr = false;
  auto pic = std::make_shared<Pic8259>([&intr](bool level) { intr = level; });
  IsaIrqs isa(*pic, *ioapic);
  uint64_t console_bytes = 0;
  auto uart = std::make_shared<Uart16550>(isa, Uart16550::kCom1Irq,
                                          [&console_bytes](uint8_t) { ++console_bytes; });
  auto pit = std::make_shared<Pit8254>(clock, isa);
  auto cmos = std::make_shared<Cmos>(ram, [&host_seconds] { return host_seconds; });
  auto fw_cfg = std::make_shared<FwCfg>(1u + in.u8(), ram);
  (void)fw_cfg->add_file("etc/dvmm-fuzz", {1, 2, 3, 4, 5});
  uint32_t exit_value = 0;
  auto debug_exit = std::make_shared<DebugExit>([&exit_value](uint32_t v) { exit_value = v; });
  uint64_t power_offs = 0, resets = 0;
  auto acpi_pm =
      std::make_shared<AcpiPm>(clock, isa, kSciLine, kS5SleepType, [&power_offs] { ++power_offs; });
  auto reset_control = std::make_shared<ResetControl>([&resets] { ++resets; });
  auto kbc = std::make_shared<KeyboardControllerReset>([&resets] { ++resets; });

  Bus pio("pio");
  Bus mmio("mmio");
  // Registration cannot fail (fixed, disjoint ranges); a failure would be
  // a harness bug, so it is not ignored.
  bool ok = pio.insert(0x3F8, Uart16550::kLength, uart, "uart").ok() &&
            pio.insert(0x20, 2, pic->master(), "pic master").ok() &&
            pio.insert(0xA0, 2, pic->slave(), "pic slave").ok() &&
            pio.insert(0x4D0, 2, pic->elcr(), "elcr").ok() &&
            pio.insert(0x40, Pit8254::kLength, pit, "pit").ok() &&
            pio.insert(0x61, 1, pit->port61(), "port 0x61").ok() &&
            pio.insert(0x70, Cmos::kLength, cmos, "cmos").ok() &&
            pio.insert(0x510, FwCfg::kLength, fw_cfg, "fw_cfg").ok() &&
            pio.insert(0xF4, DebugExit::kLength, debug_exit, "debug exit").ok() &&
            pio.insert(kAcpiPmBase, AcpiPm::kLength, acpi_pm, "acpi pm").ok() &&
            pio.insert(ResetControl::kDefaultBase, ResetControl::kLength, reset_control, "0xcf9")
                .ok() &&
            pio.insert(KeyboardControllerReset::kDefaultBase, KeyboardControllerReset::kLength, kbc,
                       "0x64")
                .ok() &&
            mmio.insert(Ioapic::kDefaultBase, Ioapic::kLength, ioapic, "ioapic").ok();
  if (!ok) dvmm::fuzz::fail("device registration failed");

  auto port = [&in]() -> uint64_t {
    const uint8_t sel = in.u8();
    return sel < kPorts.size() ? kPorts[sel] : in.u16();
  };
  auto port_size = [&in]() -> size_t { return size_t{1} << (in.u8() % 3); };
  auto mmio_size = [&in]() -> size_t { return 1 + in.u8() % 8u; };
  // Mostly the IOAPIC's registers, sometimes anywhere in or just outside
  // its page.
  auto mmio_addr = [&in]() -> uint64_t {
    const uint16_t off = in.u16();
    return (off & 0x8000) != 0 ? Ioapic::kDefaultBase + (off & 0x4F)
                               : Ioapic::kDefaultBase - 0x10 + (off & 0x1FFF);
  };

  std::array<uint8_t, 8> buf{};
  auto acpi_pm_control = [&]() -> uint16_t {
    std::array<uint8_t, 2> v{};
    (void)pio.read(kAcpiPmBase + AcpiPm::kControl, v);
    return static_cast<uint16_t>(v[0] | v[1] << 8);
  };
  auto pm_timer = [&]() -> uint32_t {
    std::array<uint8_t, 4> v{};
    (void)pio.read(kAcpiPmBase + AcpiPm::kTimer, v);
    return static_cast<uint32_t>(load_le(v));
  };
  uint32_t last_timer = pm_timer();
  uint64_t timer_ns = clock.now_ns();
  for (size_t ops = 0; ops < kMaxOps && !in.empty(); ++ops) {
    switch (static_cast<Op>(in.u8() % kNumOps)) {
      case kPortWrite: {
        const uint64_t addr = port();
        const size_t n = port_size();
        const uint32_t v = in.u32();
        for (size_t i = 0; i < n; ++i) buf[i] = static_cast<uint8_t>(v >> (8 * i));
        (void)pio.write(addr, std::span<const uint8_t>(buf.data(), n));
        break;
      }
      case kPortRead: {
        const uint64_t addr = port();
        (void)pio.read(addr, std::span<uint8_t>(buf.data(), port_size()));
        break;
      }
      case kMmioWrite: {
        const uint64_t addr = mmio_addr();
        const size_t n = mmio_size();
        const uint64_t v = in.u64();
        for (size_t i = 0; i < n; ++i) buf[i] = static_cast<uint8_t>(v >> (8 * i));
        (void)mmio.write(addr, std::span<const uint8_t>(buf.data(), n));
        break;
      }
      case kMmioRead: {
        const uint64_t addr = mmio_addr();
        (void)mmio.read(addr, std::span<uint8_t>(buf.data(), mmio_size()));
        break;
      }
      case kIrqLine: {
        const unsigned line = in.u8() % 26u;  // 16 ISA lines, and a few past them
        isa.set_irq(line, in.boolean());
        break;
      }
      case kAdvance:
        clock.advance(in.u32());
        host_seconds += 1;
        (void)pit->next_irq_deadline_ns();
        pit->poll();
        break;
      case kInta:
        if (pic->output_pending()) (void)pic->acknowledge();
        break;
      case kConsole: {
        (void)uart->enqueue_input(in.bytes(in.u8()));
        (void)uart->input_space();
        break;
      }
      case kEoi: {
        const uint8_t v = in.u8();
        ioapic->handle_eoi(v == 0 ? apic_bus.last_level_vector : v);
        break;
      }
      case kRtcSet: {
        // hwclock --systohc as Linux's mc146818_set_time does it: SET on,
        // the fields one by one, SET off. Whatever the date was before, a
        // valid date written this way must read back as written.
        const std::array<uint8_t, 7> regs = {0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32};
        constexpr std::array<unsigned, 7> kMin = {0, 0, 0, 1, 1, 0, 19};
        constexpr std::array<unsigned, 7> kSpan = {60, 60, 24, 31, 12, 100, 2};
        std::array<unsigned, 7> field{};
        std::array<uint8_t, 7> value{};
        auto cmos_out = [&](uint8_t index, uint8_t v) {
          buf[0] = index;
          (void)pio.write(0x70, std::span<const uint8_t>(buf.data(), 1));
          buf[0] = v;
          (void)pio.write(0x71, std::span<const uint8_t>(buf.data(), 1));
        };
        auto cmos_in = [&](uint8_t index) {
          buf[0] = index;
          (void)pio.write(0x70, std::span<const uint8_t>(buf.data(), 1));
          (void)pio.read(0x71, std::span<uint8_t>(buf.data(), 1));
          return buf[0];
        };
        const uint8_t reg_b = cmos->read_register(0x0B);
        const bool binary = (reg_b & 0x04) != 0;
        for (size_t i = 0; i < regs.size(); ++i) field[i] = kMin[i] + in.u8() % kSpan[i];
        // A valid date: the day within its month (24-hour mode is forced below).
        const unsigned year = field[6] * 100 + field[5];
        const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        const unsigned days = kDays[field[4] - 1] + (field[4] == 2 && leap ? 1 : 0);
        field[3] = 1 + (field[3] - 1) % days;
        for (size_t i = 0; i < regs.size(); ++i) {
          value[i] = binary ? static_cast<uint8_t>(field[i]) : to_bcd(field[i]);
        }
        cmos_out(0x0B, static_cast<uint8_t>(reg_b | 0x80 | 0x02));
        for (size_t i = 0; i < regs.size(); ++i) cmos_out(regs[i], value[i]);
        cmos_out(0x0B, static_cast<uint8_t>((reg_b | 0x02) & 0x7F));
        for (size_t i = 0; i < regs.size(); ++i) {
          if (cmos_in(regs[i]) != value[i]) dvmm::fuzz::fail("RTC time set under SET reads back wrong");
        }
        break;
      }
      case kNumOps:
        break;
    }
    // The FADT has no SMI command port: the hardware is always in ACPI mode.
    if ((acpi_pm_control() & AcpiPm::kSciEn) == 0) dvmm::fuzz::fail("PM1 control lost SCI_EN");
    // Time only moves forwards: the 24-bit timer advances by what the clock did.
    const uint32_t timer = pm_timer();
    const uint64_t ns = clock.now_ns() - timer_ns;
    const uint64_t expect = static_cast<uint64_t>(static_cast<unsigned __int128>(ns) *
                                                  AcpiPm::kTimerHz / 1'000'000'000u);
    if (ns < 1'000'000'000 && ((timer - last_timer) & AcpiPm::kTimerMask) > expect + 1) {
      dvmm::fuzz::fail("PM timer advanced more than the clock");
    }
    last_timer = timer;
    timer_ns = clock.now_ns();
  }
  // Read back the state a dump would show.
  for (unsigned pin = 0; pin < Ioapic::kNumPins; ++pin) (void)ioapic->redirection_entry(pin);
  for (unsigned chip = 0; chip < 2; ++chip) {
    (void)pic->imr(chip);
    (void)pic->irr(chip);
    (void)pic->isr(chip);
  }
  for (unsigned r = 0; r < 128; ++r) (void)cmos->read_register(static_cast<uint8_t>(r));
  (void)acpi_pm->counters();
  (void)reset_control->ignored_writes();
  (void)kbc->ignored_writes();
}

// Seeds: the set-up sequences guests really perform.
std::vector<dvmm::fuzz::Seed> seeds() {
  auto prologue = [](Output& o) {
    o.u32(1000).u32(1700000000).u8(0).u8(0).u8(1);  // clock, RTC time, 1 GiB, IOAPIC id 0, 2 CPUs
  };
  auto outb = [](Output& o, uint8_t port_index, uint8_t v) {
    o.u8(kPortWrite).u8(port_index).u8(0).u32(v);
  };
  auto inb = [](Output& o, uint8_t port_index) { o.u8(kPortRead).u8(port_index).u8(0); };
  std::vector<dvmm::fuzz::Seed> out;
  {
    // 8259 initialisation as Linux does it, then IRQ 4 from the UART.
    Output o;
    prologue(o);
    outb(o, 0, 0x11); outb(o, 1, 0x20); outb(o, 1, 0x04); outb(o, 1, 0x01);
    outb(o, 2, 0x11); outb(o, 3, 0x28); outb(o, 3, 0x02); outb(o, 3, 0x01);
    outb(o, 1, 0xEF); outb(o, 3, 0xFF);
    outb(o, 14, 0x01);  // UART IER: rx data
    o.u8(kConsole).u8(3).text("hi\n");
    o.u8(kInta);
    inb(o, 13); inb(o, 15);
    outb(o, 0, 0x20);  // EOI
    out.push_back({"pic-uart", o.data()});
  }
  {
    // PIT channel 0 periodic at 1 kHz, time passes, read-back command.
    Output o;
    prologue(o);
    outb(o, 9, 0x34); outb(o, 6, 0xA9); outb(o, 6, 0x04);
    o.u8(kAdvance).u32(1'000'000).u8(kAdvance).u32(3'000'000);
    outb(o, 9, 0xC2); inb(o, 6); inb(o, 6); inb(o, 6);
    outb(o, 10, 0x01); inb(o, 10);  // channel 2 gate through port 0x61
    out.push_back({"pit", o.data()});
  }
  {
    // RTC: read the date in BCD, switch to binary, set the year; NVRAM.
    Output o;
    prologue(o);
    for (const uint8_t reg : std::array<uint8_t, 8>{0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32, 0x0B}) {
      outb(o, 11, reg); inb(o, 12);
    }
    outb(o, 11, 0x0B); outb(o, 12, 0x06);
    outb(o, 11, 0x09); outb(o, 12, 99);
    outb(o, 11, 0x34); inb(o, 12);
    out.push_back({"cmos", o.data()});
  }
  {
    // hwclock --systohc: sec, min, hour, day 31, March, 2024.
    Output o;
    prologue(o);
    o.u8(kRtcSet).u8(0).u8(30).u8(12).u8(30).u8(2).u8(24).u8(1);
    out.push_back({"rtc-set", o.data()});
  }
  {
    // fw_cfg: signature, file directory; then debug-exit.
    Output o;
    prologue(o);
    o.u8(kPortWrite).u8(21).u8(1).u32(0x0000);
    for (int i = 0; i < 4; ++i) inb(o, 22);
    o.u8(kPortWrite).u8(21).u8(1).u32(0x0019);
    for (int i = 0; i < 12; ++i) inb(o, 22);
    o.u8(kPortWrite).u8(23).u8(2).u32(0x31);
    out.push_back({"fw-cfg-exit", o.data()});
  }
  {
    // IOAPIC: program pin 4 level-triggered, unmasked, raise it, EOI.
    Output o;
    prologue(o);
    auto mmio_w = [&o](uint8_t reg_off, uint32_t v) {
      o.u8(kMmioWrite).u16(static_cast<uint16_t>(0x8000 | reg_off)).u8(3).u64(v);
    };
    mmio_w(0x00, 0x18);
    mmio_w(0x10, 0x0000A031);  // vector 0x31, level, active high
    mmio_w(0x00, 0x19);
    mmio_w(0x10, 0x01000000);
    o.u8(kMmioRead).u16(0x8010).u8(3);
    o.u8(kIrqLine).u8(4).u8(1);
    o.u8(kEoi).u8(0);
    o.u8(kIrqLine).u8(4).u8(0);
    o.u8(kEoi).u8(0);
    out.push_back({"ioapic-level", o.data()});
  }
  {
    // ACPI as Linux uses it: clear PM1 status, enable GBL_EN, read the PM
    // timer, power off (SLP_TYP 5, then SLP_TYP 5 | SLP_EN), then both resets.
    Output o;
    prologue(o);
    o.u8(kPortWrite).u8(kPm1StatusIndex).u8(1).u32(0xFFFF);
    o.u8(kPortWrite).u8(kPm1EnableIndex).u8(1).u32(0x0020);
    o.u8(kPortRead).u8(kPm1EnableIndex).u8(1);
    o.u8(kPortRead).u8(kPmTimerIndex).u8(2);
    o.u8(kAdvance).u32(3'000'000);
    o.u8(kPortRead).u8(kPmTimerIndex).u8(2);
    o.u8(kPortRead).u8(kPm1ControlIndex).u8(1);
    o.u8(kPortWrite).u8(kPm1ControlIndex).u8(1).u32(0x1401);
    o.u8(kPortWrite).u8(kPm1ControlIndex).u8(1).u32(0x3401);
    o.u8(kPortRead).u8(kKbcIndex).u8(0);
    o.u8(kPortWrite).u8(kResetControlIndex).u8(0).u32(0x06);
    o.u8(kPortWrite).u8(kKbcIndex).u8(0).u32(0xFE);
    out.push_back({"acpi-pm-reset", o.data()});
  }
  return out;
}

}  // namespace

DVMM_FUZZ_TARGET(seeds, run)
