#include "host/memory/guest_ram.hpp"

#include <gtest/gtest.h>

#include <array>

namespace dvmm {
namespace {

TEST(GuestRam, StartsZeroedAndRoundTrips) {
  auto ram = GuestRam::create(64 * KiB);
  ASSERT_TRUE(ram.ok()) << ram.error().message;
  EXPECT_EQ(ram->size(), 64 * KiB);
  auto v = ram->read_obj<uint64_t>(GuestAddress{0x1000});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 0u);
  ASSERT_TRUE(ram->write_obj<uint32_t>(GuestAddress{0x2002}, 0xDEADBEEF).ok());
  EXPECT_EQ(*ram->read_obj<uint32_t>(GuestAddress{0x2002}), 0xDEADBEEFu);
  EXPECT_EQ(ram->host_base()[0x2002], 0xEF);
}

TEST(GuestRam, RejectsAccessesOutsideRam) {
  auto ram = GuestRam::create(8 * KiB);
  ASSERT_TRUE(ram.ok());
  std::array<uint8_t, 16> buf{};
  EXPECT_TRUE(ram->read(GuestAddress{8 * KiB - 16}, buf).ok());
  auto straddle = ram->read(GuestAddress{8 * KiB - 8}, buf);
  ASSERT_FALSE(straddle.ok());
  EXPECT_NE(straddle.error().message.find("outside guest RAM"), std::string::npos);
  EXPECT_FALSE(ram->write(GuestAddress{8 * KiB}, buf).ok());
  // An address near 2^64 must not wrap around the bounds check.
  EXPECT_FALSE(ram->read(GuestAddress{~0ull - 4}, buf).ok());
  EXPECT_FALSE(ram->contains(GuestAddress{4}, ~0ull));
}

TEST(GuestRam, RejectsBadSizes) {
  EXPECT_FALSE(GuestRam::create(0).ok());
  auto r = GuestRam::create(4097);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("multiple of 4 KiB"), std::string::npos);
}

TEST(GuestRam, MoveTransfersOwnership) {
  auto ram = GuestRam::create(4 * KiB);
  ASSERT_TRUE(ram.ok());
  GuestRam a = std::move(ram.value());
  ASSERT_TRUE(a.write_obj<uint8_t>(GuestAddress{1}, 7).ok());
  GuestRam b = std::move(a);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(*b.read_obj<uint8_t>(GuestAddress{1}), 7);
}

}  // namespace
}  // namespace dvmm
