// Ethernet encapsulation of dvmm frames (dataplane/dpdk/frame.hpp): pure
// byte code, no EAL.
#include "dataplane/dpdk/frame.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "dataplane/message.hpp"

namespace dvmm::dataplane::dpdk {
namespace {

const MacAddress kA{0x02, 0, 0, 0, 0, 0x01};
const MacAddress kB{0x02, 0, 0, 0, 0, 0x02};

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + 3);
  return v;
}

std::vector<uint8_t> encode(const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out(encap_size(payload.size()), 0xEE);
  EXPECT_EQ(encode_frame(out, kB, kA, payload), out.size());
  return out;
}

TEST(DpdkFrame, LayoutIsEthernetThenLengthThenFrame) {
  const auto payload = pattern(100);
  const auto f = encode(payload);
  ASSERT_EQ(f.size(), kEncapHeaderSize + 100);
  EXPECT_EQ(0, std::memcmp(f.data(), kB.data(), 6));      // dst
  EXPECT_EQ(0, std::memcmp(f.data() + 6, kA.data(), 6));  // src
  EXPECT_EQ(f[12], 0x88);                                 // EtherType, big-endian
  EXPECT_EQ(f[13], 0xB5);
  EXPECT_EQ(f[14], 0);  // length 100, big-endian
  EXPECT_EQ(f[15], 100);
  EXPECT_EQ(0, std::memcmp(f.data() + 16, payload.data(), payload.size()));
  EXPECT_EQ(kEtherType, 0x88B5);
}

TEST(DpdkFrame, ShortFramesArePaddedWithZerosToTheEthernetMinimum) {
  const auto payload = pattern(24);  // an ack: header only
  const auto f = encode(payload);
  ASSERT_EQ(f.size(), kEthMinFrame);
  for (size_t i = kEncapHeaderSize + 24; i < f.size(); ++i) EXPECT_EQ(f[i], 0) << i;
  EXPECT_EQ(encap_size(0), kEthMinFrame);
  EXPECT_EQ(encap_size(kEthMinFrame - kEncapHeaderSize), kEthMinFrame);
  EXPECT_EQ(encap_size(kEthMinFrame - kEncapHeaderSize + 1), kEthMinFrame + 1);
}

TEST(DpdkFrame, RoundTripStripsPaddingForEverySize) {
  for (const size_t n : {size_t{0}, size_t{1}, size_t{24}, size_t{44}, size_t{45}, size_t{88},
                         size_t{1498}, size_t{4120}, kMaxFrameSize}) {
    const auto payload = pattern(n);
    auto f = encode(payload);
    // A NIC may pad further (or add bytes we do not know about): the
    // length field still finds the end.
    f.resize(f.size() + 7, 0xAA);
    DecodedFrame d;
    ASSERT_EQ(decode_frame(f, d), DecodeStatus::kOk) << n;
    EXPECT_EQ(d.dst, kB);
    EXPECT_EQ(d.src, kA);
    ASSERT_EQ(d.frame.size(), n);
    EXPECT_TRUE(std::equal(d.frame.begin(), d.frame.end(), payload.begin())) << n;
  }
}

TEST(DpdkFrame, EncodeRefusesOversizeFramesAndSmallBuffers) {
  const auto big = pattern(kMaxFrameSize + 1);
  std::vector<uint8_t> out(kMaxEncapFrame + 64);
  EXPECT_EQ(encode_frame(out, kB, kA, big), 0u);
  const auto p = pattern(100);
  std::vector<uint8_t> small(kEncapHeaderSize + 99);
  EXPECT_EQ(encode_frame(small, kB, kA, p), 0u);
  std::vector<uint8_t> tiny(kEthMinFrame - 1);
  EXPECT_EQ(encode_frame(tiny, kB, kA, pattern(1)), 0u);  // padding needs room too
}

TEST(DpdkFrame, MalformedFramesAreRejectedWithTheirReason) {
  const auto good = encode(pattern(200));
  DecodedFrame d;

  // Shorter than the header: nothing, a bare Ethernet header, one byte short.
  EXPECT_EQ(decode_frame({}, d), DecodeStatus::kTooShort);
  EXPECT_EQ(decode_frame(std::span(good.data(), kEthHeaderSize), d), DecodeStatus::kTooShort);
  EXPECT_EQ(decode_frame(std::span(good.data(), kEncapHeaderSize - 1), d),
            DecodeStatus::kTooShort);

  // Another protocol (IPv4, or 0x88B5's byte-swapped twin).
  for (const uint16_t type : {uint16_t{0x0800}, uint16_t{0xB588}, uint16_t{0x86DD}}) {
    auto f = good;
    f[12] = static_cast<uint8_t>(type >> 8);
    f[13] = static_cast<uint8_t>(type);
    EXPECT_EQ(decode_frame(f, d), DecodeStatus::kWrongEtherType) << type;
  }

  // Truncated: the length claims more than arrived (af_packet cut it).
  EXPECT_EQ(decode_frame(std::span(good.data(), good.size() - 1), d), DecodeStatus::kTruncated);
  {
    auto f = good;
    f[14] = 0x01;  // 200 -> 456
    EXPECT_EQ(decode_frame(f, d), DecodeStatus::kTruncated);
  }

  // A length above any dvmm frame, even with the bytes present.
  {
    std::vector<uint8_t> f(kEncapHeaderSize + 0xFFFF, 0);
    std::copy(good.begin(), good.begin() + 14, f.begin());
    f[14] = 0xFF;
    f[15] = 0xFF;
    EXPECT_EQ(decode_frame(f, d), DecodeStatus::kOversize);
    const uint16_t just_over = kMaxFrameSize + 1;
    f[14] = static_cast<uint8_t>(just_over >> 8);
    f[15] = static_cast<uint8_t>(just_over);
    EXPECT_EQ(decode_frame(f, d), DecodeStatus::kOversize);
  }
  for (const auto s : {DecodeStatus::kOk, DecodeStatus::kTooShort, DecodeStatus::kWrongEtherType,
                       DecodeStatus::kTruncated, DecodeStatus::kOversize}) {
    EXPECT_STRNE(to_string(s), "?");
  }
}

TEST(DpdkFrame, DecodeHeaderChecksAgainstTheWholeFrameLength) {
  const auto f = encode(pattern(3000));
  DecodedHeader h;
  const std::span<const uint8_t> hdr(f.data(), kEncapHeaderSize);
  EXPECT_EQ(decode_header(hdr, f.size(), h), DecodeStatus::kOk);
  EXPECT_EQ(h.len, 3000);
  EXPECT_EQ(decode_header(hdr, f.size() - 1, h), DecodeStatus::kTruncated);
  EXPECT_EQ(decode_header(hdr, kEncapHeaderSize - 1, h), DecodeStatus::kTooShort);
}

TEST(DpdkFrame, MacTableMapsBothWaysAndRefusesDuplicates) {
  MacTable t;
  const MacAddress c{0x02, 0, 0, 0, 1, 0};
  EXPECT_TRUE(t.add(3, kA));
  EXPECT_TRUE(t.add(0, kB));
  EXPECT_TRUE(t.add(7, c));
  EXPECT_FALSE(t.add(4, kA)) << "same MAC for two nodes";
  EXPECT_FALSE(t.add(3, MacAddress{0x02, 9, 9, 9, 9, 9})) << "node listed twice";
  NodeId n = 99;
  ASSERT_TRUE(t.lookup(kA, n));
  EXPECT_EQ(n, 3);
  ASSERT_TRUE(t.lookup(c, n));
  EXPECT_EQ(n, 7);
  EXPECT_FALSE(t.lookup(MacAddress{0x02, 0, 0, 0, 0, 0x03}, n));
  ASSERT_NE(t.mac_of(0), nullptr);
  EXPECT_EQ(*t.mac_of(0), kB);
  EXPECT_EQ(t.mac_of(1), nullptr);
  EXPECT_EQ(t.mac_of(100), nullptr);
}

TEST(DpdkFrame, MacClassification) {
  EXPECT_TRUE(is_unicast(kA));
  EXPECT_FALSE(is_unicast(MacAddress{}));
  EXPECT_TRUE(is_zero(MacAddress{}));
  EXPECT_FALSE(is_unicast(MacAddress{0x01, 0, 0x5e, 0, 0, 1}));  // multicast
  EXPECT_FALSE(is_unicast(MacAddress{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(mac_key(kA), 0x020000000001u);
}

}  // namespace
}  // namespace dvmm::dataplane::dpdk
