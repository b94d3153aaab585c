#include "host/devices/reset_ports.hpp"

#include <gtest/gtest.h>

#include "tests/unit/devices/fakes.hpp"

namespace dvmm {
namespace {

TEST(ResetControlTest, LinuxResetValuesReset) {
  int resets = 0;
  ResetControl rc([&] { ++resets; });
  test::outb(rc, 0, 0x06);  // the FADT's RESET_VALUE
  EXPECT_EQ(resets, 1);
  test::outb(rc, 0, 0x0E);  // reboot=pci, cold
  EXPECT_EQ(resets, 2);
  test::outb(rc, 0, 0x04);  // soft reset: the VM stops all the same
  EXPECT_EQ(resets, 3);
  EXPECT_EQ(rc.ignored_writes(), 0u);
}

TEST(ResetControlTest, SysRstAndFullRstAreStoredRstCpuIsNot) {
  int resets = 0;
  ResetControl rc([&] { ++resets; });
  EXPECT_EQ(test::inb(rc, 0), 0);
  test::outb(rc, 0, 0x02);  // Linux's reboot=pci: SYS_RST first...
  EXPECT_EQ(resets, 0);
  EXPECT_EQ(test::inb(rc, 0), 0x02);
  test::outb(rc, 0, 0x0A);
  EXPECT_EQ(test::inb(rc, 0), 0x0A);
  test::outb(rc, 0, 0x0E);  // ...then RST_CPU
  EXPECT_EQ(resets, 1);
  EXPECT_EQ(test::inb(rc, 0), 0x0A);  // RST_CPU reads 0
}

TEST(ResetControlTest, ReservedBitsAndBadAccesses) {
  int resets = 0;
  ResetControl rc([&] { ++resets; });
  test::outb(rc, 0, 0xF1);  // reserved bits only
  EXPECT_EQ(resets, 0);
  EXPECT_EQ(test::inb(rc, 0), 0);
  EXPECT_EQ(rc.ignored_writes(), 1u);
  test::outb(rc, 1, 0x06);  // no register at offset 1
  EXPECT_EQ(resets, 0);
  EXPECT_EQ(test::inb(rc, 1), 0xFF);
  // A wider access: byte 0 is the register, the rest reads all ones.
  EXPECT_EQ(test::in(rc, 0, 4), 0xFFFFFF00u);
  test::outl(rc, 0, 0x06);
  EXPECT_EQ(resets, 1);
  EXPECT_EQ(rc.ignored_writes(), 3u);
  test::out(rc, 0, 0, 0);  // an empty access does nothing
  EXPECT_EQ(rc.ignored_writes(), 3u);
}

TEST(KeyboardControllerResetTest, StatusHasNoDataPending) {
  KeyboardControllerReset kbc([] {});
  const uint8_t status = test::inb(kbc, 0);
  EXPECT_EQ(status, 0x14);
  EXPECT_EQ(status & 0x01, 0) << "OBF: nothing to read from port 0x60";
  EXPECT_EQ(status & 0x02, 0) << "IBF: kb_wait() must not wait";
  EXPECT_EQ(test::in(kbc, 0, 2), 0xFF14u);
}

TEST(KeyboardControllerResetTest, PulseResetLineResets) {
  int resets = 0;
  KeyboardControllerReset kbc([&] { ++resets; });
  test::outb(kbc, 0, 0xFE);
  EXPECT_EQ(resets, 1);
  test::outb(kbc, 0, 0xF0);  // pulses every output bit, reset included
  EXPECT_EQ(resets, 2);
  EXPECT_EQ(kbc.ignored_writes(), 0u);
}

TEST(KeyboardControllerResetTest, OtherCommandsAndBadAccessesDoNothing) {
  int resets = 0;
  KeyboardControllerReset kbc([&] { ++resets; });
  for (unsigned cmd : {0x20u, 0x60u, 0xAAu, 0xADu, 0xD1u, 0xFFu, 0xF1u, 0xEFu}) {
    test::outb(kbc, 0, static_cast<uint8_t>(cmd));
  }
  EXPECT_EQ(resets, 0);
  EXPECT_EQ(kbc.ignored_writes(), 8u);
  test::outb(kbc, 1, 0xFE);  // not the command port
  EXPECT_EQ(resets, 0);
  EXPECT_EQ(test::inb(kbc, 3), 0xFF);
  EXPECT_EQ(kbc.ignored_writes(), 9u);
  EXPECT_TRUE(KeyboardControllerReset::pulses_reset(0xFE));
  EXPECT_FALSE(KeyboardControllerReset::pulses_reset(0xFF));
}

}  // namespace
}  // namespace dvmm
