#include "host/devices/bus.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace dvmm {
namespace {

// Records the offsets and widths it is accessed with; reads return the
// offset in every byte.
class ProbeDevice final : public BusDevice {
 public:
  void read(uint64_t offset, std::span<uint8_t> data) override {
    reads.push_back({offset, data.size()});
    for (uint8_t& b : data) b = static_cast<uint8_t>(offset);
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    writes.push_back({offset, data.size()});
    last_written = data.empty() ? 0 : data[0];
  }
  struct Access {
    uint64_t offset;
    size_t size;
  };
  std::vector<Access> reads;
  std::vector<Access> writes;
  uint8_t last_written = 0;
};

TEST(BusTest, RejectsEmptyRange) {
  Bus bus("test");
  Status s = bus.insert(0x100, 0, std::make_shared<ProbeDevice>(), "empty");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("empty"), std::string::npos);
}

TEST(BusTest, RejectsWrappingRange) {
  Bus bus("test");
  EXPECT_FALSE(bus.insert(0xFFFFFFFFFFFFFFF0ull, 0x20, std::make_shared<ProbeDevice>(), "wrap").ok());
}

TEST(BusTest, RejectsOverlaps) {
  Bus bus("test");
  ASSERT_TRUE(bus.insert(0x100, 0x10, std::make_shared<ProbeDevice>(), "a").ok());
  EXPECT_FALSE(bus.insert(0x100, 0x10, std::make_shared<ProbeDevice>(), "same").ok());
  EXPECT_FALSE(bus.insert(0x10F, 0x1, std::make_shared<ProbeDevice>(), "last byte").ok());
  EXPECT_FALSE(bus.insert(0xF0, 0x11, std::make_shared<ProbeDevice>(), "into start").ok());
  EXPECT_FALSE(bus.insert(0x80, 0x100, std::make_shared<ProbeDevice>(), "covers").ok());
  EXPECT_FALSE(bus.insert(0x108, 0x2, std::make_shared<ProbeDevice>(), "inside").ok());
  // Adjacent ranges on both sides are fine.
  EXPECT_TRUE(bus.insert(0xF0, 0x10, std::make_shared<ProbeDevice>(), "before").ok());
  EXPECT_TRUE(bus.insert(0x110, 0x10, std::make_shared<ProbeDevice>(), "after").ok());
}

TEST(BusTest, DispatchesWithOffsetFromBase) {
  Bus bus("test");
  auto a = std::make_shared<ProbeDevice>();
  auto b = std::make_shared<ProbeDevice>();
  ASSERT_TRUE(bus.insert(0x3F8, 8, a, "a").ok());
  ASSERT_TRUE(bus.insert(0x400, 4, b, "b").ok());

  uint8_t buf[2] = {0xAA, 0xAA};
  ASSERT_TRUE(bus.read(0x3FB, std::span<uint8_t>(buf, 1)));
  EXPECT_EQ(buf[0], 3);
  ASSERT_EQ(a->reads.size(), 1u);
  EXPECT_EQ(a->reads[0].offset, 3u);
  EXPECT_EQ(a->reads[0].size, 1u);

  const uint8_t w[2] = {0x5A, 0};
  ASSERT_TRUE(bus.write(0x402, std::span<const uint8_t>(w, 2)));
  ASSERT_EQ(b->writes.size(), 1u);
  EXPECT_EQ(b->writes[0].offset, 2u);
  EXPECT_EQ(b->writes[0].size, 2u);
  EXPECT_EQ(b->last_written, 0x5A);
  EXPECT_TRUE(a->writes.empty());
}

TEST(BusTest, UnhandledAccessLeavesDataUntouched) {
  Bus bus("test");
  ASSERT_TRUE(bus.insert(0x100, 4, std::make_shared<ProbeDevice>(), "a").ok());
  uint8_t buf[1] = {0xAA};
  EXPECT_FALSE(bus.read(0x104, std::span<uint8_t>(buf, 1)));
  EXPECT_FALSE(bus.read(0xFF, std::span<uint8_t>(buf, 1)));
  EXPECT_EQ(buf[0], 0xAA);
  const uint8_t w[1] = {1};
  EXPECT_FALSE(bus.write(0x200, std::span<const uint8_t>(w, 1)));
}

TEST(BusTest, RejectsAccessStraddlingRangeEnd) {
  Bus bus("test");
  auto a = std::make_shared<ProbeDevice>();
  ASSERT_TRUE(bus.insert(0x10, 4, a, "a").ok());
  ASSERT_TRUE(bus.insert(0x14, 4, std::make_shared<ProbeDevice>(), "next").ok());
  uint8_t buf[4] = {};
  EXPECT_FALSE(bus.read(0x12, std::span<uint8_t>(buf, 4)));  // 0x12..0x15 crosses into "next"
  EXPECT_TRUE(a->reads.empty());
  EXPECT_TRUE(bus.read(0x12, std::span<uint8_t>(buf, 2)));  // 0x12..0x13 fits
  EXPECT_TRUE(bus.read(0x10, std::span<uint8_t>(buf, 4)));
  const uint8_t w[4] = {};
  EXPECT_FALSE(bus.write(0x13, std::span<const uint8_t>(w, 2)));
}

}  // namespace
}  // namespace dvmm
