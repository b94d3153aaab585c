#include "host/devices/fw_cfg.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "host/devices/bus.hpp"
#include "tests/unit/devices/fakes.hpp"

namespace dvmm {
namespace {

using test::inb;
using test::outw;

class FwCfgTest : public ::testing::Test {
 protected:
  FwCfg fw{4, 256ull << 20};

  std::vector<uint8_t> read_item(uint16_t key, size_t n) {
    outw(fw, 0, key);
    std::vector<uint8_t> out;
    for (size_t i = 0; i < n; ++i) out.push_back(inb(fw, 1));
    return out;
  }
  uint64_t read_le(uint16_t key, size_t n) {
    auto b = read_item(key, n);
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | b[i];
    return v;
  }
  static uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
    return static_cast<uint32_t>(b[at]) << 24 | static_cast<uint32_t>(b[at + 1]) << 16 |
           static_cast<uint32_t>(b[at + 2]) << 8 | b[at + 3];
  }
  static uint16_t be16(const std::vector<uint8_t>& b, size_t at) {
    return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
  }
};

TEST_F(FwCfgTest, SignatureThenZeros) {
  EXPECT_EQ(read_item(FwCfg::kSignature, 6), (std::vector<uint8_t>{'Q', 'E', 'M', 'U', 0, 0}));
}

TEST_F(FwCfgTest, IdSaysTraditionalInterfaceOnly) { EXPECT_EQ(read_le(FwCfg::kId, 4), 1u); }

TEST_F(FwCfgTest, CpuCountsAndRamSize) {
  EXPECT_EQ(read_le(FwCfg::kNbCpus, 2), 4u);
  EXPECT_EQ(read_le(FwCfg::kMaxCpus, 2), 4u);
  EXPECT_EQ(read_le(FwCfg::kRamSize, 8), 256ull << 20);
  FwCfg big(2, 5ull << 30, 8);
  outw(big, 0, FwCfg::kMaxCpus);
  EXPECT_EQ(inb(big, 1), 8);
  outw(big, 0, FwCfg::kRamSize);
  std::vector<uint8_t> ram;
  for (int i = 0; i < 8; ++i) ram.push_back(inb(big, 1));
  EXPECT_EQ(ram, (std::vector<uint8_t>{0, 0, 0, 0x40, 1, 0, 0, 0}));  // 5 GiB, little-endian
}

TEST_F(FwCfgTest, SelectingResetsTheOffset) {
  outw(fw, 0, FwCfg::kSignature);
  EXPECT_EQ(inb(fw, 1), 'Q');
  EXPECT_EQ(inb(fw, 1), 'E');
  outw(fw, 0, FwCfg::kSignature);
  EXPECT_EQ(inb(fw, 1), 'Q');
}

TEST_F(FwCfgTest, UnknownSelectorReadsZero) {
  EXPECT_EQ(read_item(0x1234, 3), (std::vector<uint8_t>{0, 0, 0}));
}

TEST_F(FwCfgTest, WriteChannelBitIsIgnoredAndDataWritesToo) {
  EXPECT_EQ(read_item(FwCfg::kSignature | FwCfg::kWriteChannel, 1)[0], 'Q');
  outw(fw, 0, FwCfg::kSignature);
  test::outb(fw, 1, 'X');
  EXPECT_EQ(inb(fw, 1), 'Q');  // the write neither changed data nor moved the offset
}

TEST_F(FwCfgTest, EmptyFileDir) {
  EXPECT_EQ(read_item(FwCfg::kFileDir, 4), (std::vector<uint8_t>{0, 0, 0, 0}));
}

TEST_F(FwCfgTest, FilesGetSelectorsAndDirectoryEntries) {
  auto a = fw.add_file("etc/alpha", {1, 2, 3});
  auto b = fw.add_file("opt/org.example/beta", std::vector<uint8_t>(300, 7));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, 0x0020);
  EXPECT_EQ(*b, 0x0021);

  const std::vector<uint8_t> dir = read_item(FwCfg::kFileDir, 4 + 2 * 64);
  EXPECT_EQ(be32(dir, 0), 2u);
  // Entry 0.
  EXPECT_EQ(be32(dir, 4), 3u);
  EXPECT_EQ(be16(dir, 8), 0x0020);
  EXPECT_EQ(be16(dir, 10), 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&dir[12])), "etc/alpha");
  for (size_t i = 12 + 9; i < 4 + 64; ++i) EXPECT_EQ(dir[i], 0) << i;  // NUL padded
  // Entry 1.
  EXPECT_EQ(be32(dir, 68), 300u);
  EXPECT_EQ(be16(dir, 72), 0x0021);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&dir[76])), "opt/org.example/beta");

  EXPECT_EQ(read_item(0x0020, 4), (std::vector<uint8_t>{1, 2, 3, 0}));
  EXPECT_EQ(read_item(0x0021, 1)[0], 7);
}

TEST_F(FwCfgTest, RejectsBadFileNames) {
  EXPECT_FALSE(fw.add_file("", {}).ok());
  EXPECT_FALSE(fw.add_file(std::string(56, 'n'), {}).ok());
  EXPECT_TRUE(fw.add_file(std::string(55, 'n'), {}).ok());
  ASSERT_TRUE(fw.add_file("etc/x", {}).ok());
  auto dup = fw.add_file("etc/x", {1});
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("etc/x"), std::string::npos);
  EXPECT_EQ(read_le(FwCfg::kFileDir, 4) , 0x02000000u);  // big-endian 2 read as LE
}

TEST_F(FwCfgTest, AddItemSetsAndReplaces) {
  fw.add_item(0x8003, {9, 8});  // architecture-specific key
  EXPECT_EQ(read_item(0x8003, 3), (std::vector<uint8_t>{9, 8, 0}));
  fw.add_item(FwCfg::kNbCpus, {2, 0});
  EXPECT_EQ(read_le(FwCfg::kNbCpus, 2), 2u);
}

TEST_F(FwCfgTest, WorksThroughThePortBus) {
  Bus pio("pio");
  auto dev = std::make_shared<FwCfg>(1, 64ull << 20);
  ASSERT_TRUE(pio.insert(FwCfg::kDefaultBase, FwCfg::kLength, dev, "fw_cfg").ok());
  const uint8_t sel[2] = {0x05, 0x00};
  ASSERT_TRUE(pio.write(0x510, sel));
  uint8_t b[1] = {};
  ASSERT_TRUE(pio.read(0x511, b));
  EXPECT_EQ(b[0], 1);
  uint8_t w[2] = {};
  EXPECT_FALSE(pio.read(0x511, w));  // a 16-bit read at the data port leaves the range
}

}  // namespace
}  // namespace dvmm
