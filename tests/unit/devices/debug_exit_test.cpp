#include "host/devices/debug_exit.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/devices/fakes.hpp"

namespace dvmm {
namespace {

TEST(DebugExitTest, QemuStatus) {
  EXPECT_EQ(DebugExit::qemu_status(0), 1u);
  EXPECT_EQ(DebugExit::qemu_status(0x10), 0x21u);
  EXPECT_EQ(DebugExit::qemu_status(0x31), 0x63u);
  static_assert(DebugExit::qemu_status(1) == 3);
}

TEST(DebugExitTest, WritesOfAnyWidthReportTheValue) {
  std::vector<uint32_t> exits;
  DebugExit dev([&](uint32_t v) { exits.push_back(v); });
  test::outb(dev, 0, 0x10);
  test::outw(dev, 0, 0x1234);
  test::outl(dev, 0, 0xDEADBEEF);
  test::outb(dev, 3, 0x7F);
  EXPECT_EQ(exits, (std::vector<uint32_t>{0x10, 0x1234, 0xDEADBEEF, 0x7F}));
}

TEST(DebugExitTest, ReadsReturnZero) {
  int calls = 0;
  DebugExit dev([&](uint32_t) { ++calls; });
  EXPECT_EQ(test::inl(dev, 0), 0u);
  EXPECT_EQ(test::inb(dev, 2), 0u);
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace dvmm
