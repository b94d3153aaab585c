#include "host/vmm/size_parse.hpp"

#include <gtest/gtest.h>

#include "host/common/address.hpp"

namespace dvmm {
namespace {

TEST(ParseMemorySize, PlainNumberIsMebibytes) {
  auto r = parse_memory_size("512");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, 512 * MiB);
}

TEST(ParseMemorySize, Suffixes) {
  EXPECT_EQ(*parse_memory_size("64K"), 64 * KiB);
  EXPECT_EQ(*parse_memory_size("256M"), 256 * MiB);
  EXPECT_EQ(*parse_memory_size("2G"), 2 * GiB);
  EXPECT_EQ(*parse_memory_size("2g"), 2 * GiB);
  EXPECT_EQ(*parse_memory_size("1GiB"), 1 * GiB);
  EXPECT_EQ(*parse_memory_size("3GB"), 3 * GiB);
  EXPECT_EQ(*parse_memory_size("1T"), 1024 * GiB);
}

TEST(ParseMemorySize, RejectsGarbageWithAHint) {
  for (const char* bad : {"", "M", "12X", "1.5G", "-1", "12MM", "0x10"}) {
    auto r = parse_memory_size(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("K/M/G/T"), std::string::npos) << r.error().message;
  }
}

TEST(ParseMemorySize, RejectsOverflow) {
  auto r = parse_memory_size("99999999999999T");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too large"), std::string::npos);
}

}  // namespace
}  // namespace dvmm
