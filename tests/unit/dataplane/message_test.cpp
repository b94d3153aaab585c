// The wire codec: round trips, the exact byte layout (golden frames), every
// rejection decode() promises, and a randomized robustness loop.
#include "dataplane/message.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace dvmm::dataplane {
namespace {

using ::testing::HasSubstr;
using Bytes = std::vector<uint8_t>;

// ---- helpers -------------------------------------------------------------------

// Field-by-field views for comparison. Reserved arrays are left out (arrays
// don't compare with ==); decode guarantees they are zero, and tests of
// their own check that.
auto tie_fields(const AckPayload&) {
  return std::tuple<>();
}
auto tie_fields(const IpiPayload& p) {
  return std::tie(p.target_vcpu, p.vector, p.delivery_mode, p.flags, p.shorthand, p.destination,
                  p.source_vcpu, p.reserved);
}
auto tie_fields(const IoRequestPayload& p) {
  return std::tie(p.request_id, p.vcpu, p.space, p.size, p.is_write, p.reserved, p.address, p.data);
}
auto tie_fields(const IoResponsePayload& p) {
  return std::tie(p.request_id, p.data);
}
auto tie_fields(const EoiPayload& p) {
  return std::tie(p.vector);
}
auto tie_fields(const ApicUpdatePayload& p) {
  return std::tie(p.vcpu, p.apic_id, p.ldr, p.dfr, p.flags, p.update_id);
}
auto tie_fields(const ApicUpdateAckPayload& p) {
  return std::tie(p.update_id);
}
auto tie_fields(const ClockPayload& p) {
  return std::tie(p.probe_id, p.t_sender, p.t_receiver);
}
auto tie_fields(const HeartbeatPayload& p) {
  return std::tie(p.sent_ns);
}
auto tie_fields(const ControlPayload& p) {
  return std::tie(p.code, p.status);
}
auto tie_fields(const DsmRequestPayload& p) {
  return std::tie(p.page, p.request_id, p.access);
}
auto tie_fields(const DsmForwardPayload& p) {
  return std::tie(p.page, p.request_id, p.requester, p.action, p.flags, p.acks, p.reserved);
}
auto tie_fields(const DsmDataPayload& p) {
  return std::tie(p.page, p.request_id, p.chunk_offset, p.flags, p.reserved, p.acks, p.data);
}
auto tie_fields(const DsmAckPayload& p) {
  return std::tie(p.page, p.request_id);
}
auto tie_fields(const DsmDonePayload& p) {
  return std::tie(p.page, p.request_id);
}

bool same_payload(const Payload& a, const Payload& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&]<typename P>(const P& pa) { return tie_fields(pa) == tie_fields(std::get<P>(b)); }, a);
}

bool same_header(const MessageHeader& a, const MessageHeader& b) {
  return std::tie(a.version, a.type, a.flags, a.src_node, a.dst_node, a.seq, a.ack, a.cluster_id,
                  a.src_incarnation, a.dst_incarnation) ==
         std::tie(b.version, b.type, b.flags, b.src_node, b.dst_node, b.seq, b.ack, b.cluster_id,
                  b.src_incarnation, b.dst_incarnation);
}

Bytes encode_vec(const Message& m) {
  Bytes out(kMaxEncodedSize);
  const size_t n = encode(m, out);
  out.resize(n);
  return out;
}

MessageHeader sample_header(uint32_t salt) {
  MessageHeader h;
  h.flags = 0;
  h.src_node = static_cast<NodeId>(0x0102 + salt);
  h.dst_node = static_cast<NodeId>(0xA0B0 - salt);
  h.seq = 0x11223344u + salt;
  h.ack = 0xFEDCBA98u - salt;
  h.cluster_id = 0xC0FFEE00u | salt;
  return h;
}

Message make(Payload p, uint32_t salt = 0) {
  Message m{sample_header(salt), std::move(p)};
  m.header.type = static_cast<MessageType>(m.payload.index() + 1);
  return m;
}

// One valid message of every type, with every field non-zero where allowed
// and multi-byte fields that differ in every byte (so a swapped or dropped
// byte shows).
std::vector<Message> samples() {
  std::vector<Message> v;
  v.push_back(make(AckPayload{}, 1));
  v.push_back(make(IpiPayload{.target_vcpu = 0x01020304,
                              .vector = 0xEC,
                              .delivery_mode = 6,
                              .flags = 0x0D,
                              .shorthand = 3,
                              .destination = 0x0A0B0C0D,
                              .source_vcpu = 0x7EADBEEF},
                   2));
  v.push_back(make(IoRequestPayload{.request_id = 0x0102030405060708ull,
                                    .vcpu = 0x11121314,
                                    .space = IoSpace::kMmio,
                                    .size = 8,
                                    .is_write = 1,
                                    .address = 0xFEE0'0000'1234'5678ull,
                                    .data = 0x8877665544332211ull},
                   3));
  v.push_back(make(
      IoResponsePayload{.request_id = 0xF1F2F3F4F5F6F7F8ull, .data = 0x0123456789ABCDEFull}, 4));
  v.push_back(make(EoiPayload{.vector = 0x31}, 5));
  v.push_back(make(ApicUpdatePayload{.vcpu = 0x21222324,
                                     .apic_id = 0x31323334,
                                     .ldr = 0x41424344,
                                     .dfr = 0x51525354,
                                     .flags = 0x07,
                                     .update_id = 0x61626364},
                   6));
  v.push_back(make(ApicUpdateAckPayload{.update_id = 0x71727374}, 7));
  v.push_back(make(ClockPayload{.probe_id = 0x8182838485868788ull,
                                .t_sender = 0x9192939495969798ull,
                                .t_receiver = 0xA1A2A3A4A5A6A7A8ull},
                   8));
  v.push_back(make(HeartbeatPayload{.sent_ns = 0xB1B2B3B4B5B6B7B8ull}, 9));
  v.push_back(make(ControlPayload{.code = ControlCode::kStop, .status = -12345678}, 10));
  v.push_back(make(DsmRequestPayload{.page = 0x0102030405060708ull,
                                     .request_id = 0x11121314,
                                     .access = DsmAccess::kWrite},
                   11));
  v.push_back(make(DsmForwardPayload{.page = 0x2122232425262728ull,
                                     .request_id = 0x31323334,
                                     .requester = 0x4142,
                                     .action = DsmAction::kInvalidate,
                                     .flags = kDsmForwardSendData,
                                     .acks = 0x5152},
                   12));
  DsmDataPayload data{.page = 0x6162636465666768ull,
                      .request_id = 0x71727374,
                      .chunk_offset = 0x0F00,
                      .acks = 0x8182,
                      .data = {0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8}};
  v.push_back(make(data, 13));
  v.push_back(make(DsmAckPayload{.page = 0x9192939495969798ull, .request_id = 0xA1A2A3A4}, 14));
  v.push_back(make(DsmDonePayload{.page = 0xB1B2B3B4B5B6B7B8ull, .request_id = 0xC1C2C3C4}, 15));
  return v;
}

// Wire sizes as documented in message.hpp, indexed by type - 1. Written
// out here, independently of the codec, so a size change fails a test.
// DSM data's is its fixed part; its chunk follows.
constexpr size_t kDocumentedSize[] = {0, 20, 32, 16, 4, 24, 4, 24, 8, 8, 16, 20, 20, 12, 12};
constexpr size_t kDsmDataIndex = 13 - 1;
constexpr unsigned kFirstUnknownType = 16;
static_assert(std::size(kDocumentedSize) == std::variant_size_v<Payload>);

// The payload_len of m: the documented size, plus the chunk for DSM data.
size_t payload_size(const Message& m) {
  const size_t fixed = kDocumentedSize[m.payload.index()];
  if (const auto* d = std::get_if<DsmDataPayload>(&m.payload)) return fixed + d->data.size();
  return fixed;
}

std::string error_of(const Bytes& frame) {
  auto r = decode(frame);
  return r.ok() ? std::string("<decoded>") : r.error().message;
}

// ---- per-type parameterized tests ------------------------------------------------

class PerType : public ::testing::TestWithParam<size_t> {
 protected:
  Message msg() const { return samples().at(GetParam()); }
};

std::string type_param_name(const ::testing::TestParamInfo<size_t>& info) {
  std::string n = message_type_name(static_cast<MessageType>(info.param + 1));
  for (char& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(AllTypes, PerType,
                         ::testing::Range<size_t>(0, std::variant_size_v<Payload>),
                         type_param_name);

TEST_P(PerType, RoundTripPreservesEveryField) {
  const Message m = msg();
  const Bytes frame = encode_vec(m);
  ASSERT_EQ(frame.size(), kHeaderSize + payload_size(m));
  EXPECT_EQ(frame[2], GetParam() + 1) << "type byte";
  EXPECT_EQ(frame[20] | frame[21] << 8, payload_size(m)) << "payload_len";

  auto r = decode(frame);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(same_header(r->header, m.header));
  EXPECT_EQ(r->payload.index(), GetParam());
  EXPECT_TRUE(same_payload(r->payload, m.payload));
  EXPECT_EQ(encode_vec(*r), frame);
}

TEST_P(PerType, EveryTruncationIsRejected) {
  const Bytes frame = encode_vec(msg());
  for (size_t len = 0; len < frame.size(); ++len) {
    // An exactly-sized copy, so a read past the end would touch memory that
    // isn't part of the frame (and trips a sanitizer build).
    const Bytes cut(frame.begin(), frame.begin() + static_cast<ptrdiff_t>(len));
    auto r = decode(cut);
    ASSERT_FALSE(r.ok()) << "length " << len;
    if (len < kHeaderSize) {
      EXPECT_EQ(r.error().message,
                "frame of " + std::to_string(len) + " bytes is shorter than the 24-byte header");
    } else {
      EXPECT_THAT(r.error().message, HasSubstr("is truncated")) << "length " << len;
    }
  }
}

TEST_P(PerType, TrailingBytesAreRejected) {
  Bytes frame = encode_vec(msg());
  for (size_t extra = 1; extra <= 3; ++extra) {
    frame.push_back(0);
    EXPECT_EQ(error_of(frame), "frame has " + std::to_string(extra) + " trailing bytes");
  }
}

TEST_P(PerType, PayloadLenMismatchIsRejected) {
  const Message m = msg();
  const size_t size = kDocumentedSize[GetParam()];
  if (GetParam() == kDsmDataIndex) {
    // Variable length: payload_len must lie in the fixed size .. fixed size
    // + a page, and then agree with chunk_len (checked in its own tests).
    for (size_t wrong : {size - 1, size_t{0}, size + kDsmPageSize + 1, size_t{0xFFFF}}) {
      Bytes frame = encode_vec(m);
      frame[20] = static_cast<uint8_t>(wrong);
      frame[21] = static_cast<uint8_t>(wrong >> 8);
      EXPECT_EQ(error_of(frame), "payload_len " + std::to_string(wrong) +
                                     " is out of range for the DSM data payload (20-4116)");
    }
    return;
  }
  for (size_t wrong : {size + 1, size + 100, size == 0 ? size_t{0xFFFF} : size - 1}) {
    Bytes frame = encode_vec(m);
    frame[20] = static_cast<uint8_t>(wrong);
    frame[21] = static_cast<uint8_t>(wrong >> 8);
    EXPECT_EQ(error_of(frame), "payload_len " + std::to_string(wrong) + " does not match " +
                                   message_type_name(m.header.type) + " payload size " +
                                   std::to_string(size));
  }
}

TEST_P(PerType, EncodeIntoTooSmallBufferWritesNothing) {
  const Message m = msg();
  const size_t full = kHeaderSize + payload_size(m);
  for (size_t len = 0; len < full; ++len) {
    Bytes buf(full + 8, 0xA5);
    EXPECT_EQ(encode(m, std::span<uint8_t>(buf.data(), len)), 0u) << "length " << len;
    EXPECT_EQ(buf, Bytes(full + 8, 0xA5)) << "length " << len;
  }
  // Exactly enough: writes exactly `full` bytes and nothing after them.
  Bytes buf(full + 8, 0xA5);
  ASSERT_EQ(encode(m, std::span<uint8_t>(buf.data(), full)), full);
  for (size_t i = full; i < buf.size(); ++i) EXPECT_EQ(buf[i], 0xA5);
}

// ---- golden frames ------------------------------------------------------------------

TEST(MessageGolden, IpiFrameLayout) {
  Message m;
  m.header.flags = kFlagAckOnly;
  m.header.src_node = 0x0003;
  m.header.dst_node = 0x0102;
  m.header.seq = 0x11223344;
  m.header.ack = 0xA0B0C0D0;
  m.header.cluster_id = 0xDEADBEEF;
  m.payload = IpiPayload{.target_vcpu = 5,
                         .vector = 0xEC,
                         .delivery_mode = 1,
                         .flags = 0x0B,
                         .shorthand = 2,
                         .destination = 0x01020304,
                         .source_vcpu = -1};
  const Bytes expected = {
      // header
      0xD7, 0x01, 0x02, 0x01,  // magic, version, type IPI, flags
      0x03, 0x00,              // src_node
      0x02, 0x01,              // dst_node
      0x44, 0x33, 0x22, 0x11,  // seq
      0xD0, 0xC0, 0xB0, 0xA0,  // ack
      0xEF, 0xBE, 0xAD, 0xDE,  // cluster_id
      0x14, 0x00,              // payload_len 20
      0x00, 0x00,              // reserved
      // IPI payload
      0x05, 0x00, 0x00, 0x00,  // target_vcpu
      0xEC, 0x01, 0x0B, 0x02,  // vector, delivery_mode, flags, shorthand
      0x04, 0x03, 0x02, 0x01,  // destination
      0xFF, 0xFF, 0xFF, 0xFF,  // source_vcpu -1
      0x00, 0x00, 0x00, 0x00,  // reserved
  };
  EXPECT_EQ(encode_vec(m), expected);

  auto r = decode(expected);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->header.type, MessageType::kIpi);
  EXPECT_EQ(r->header.flags, kFlagAckOnly);
  EXPECT_EQ(r->header.src_node, 3);
  EXPECT_EQ(r->header.dst_node, 0x0102);
  EXPECT_EQ(r->header.seq, 0x11223344u);
  EXPECT_EQ(r->header.ack, 0xA0B0C0D0u);
  EXPECT_EQ(r->header.cluster_id, 0xDEADBEEFu);
  const auto& ipi = std::get<IpiPayload>(r->payload);
  EXPECT_EQ(ipi.target_vcpu, 5u);
  EXPECT_EQ(ipi.vector, 0xEC);
  EXPECT_EQ(ipi.delivery_mode, 1);
  EXPECT_EQ(ipi.flags, 0x0B);
  EXPECT_EQ(ipi.shorthand, 2);
  EXPECT_EQ(ipi.destination, 0x01020304u);
  EXPECT_EQ(ipi.source_vcpu, -1);
}

TEST(MessageGolden, IoRequestAndControlPayloadLayout) {
  Message io;
  io.payload = IoRequestPayload{.request_id = 0x0102030405060708ull,
                                .vcpu = 0x0A0B0C0D,
                                .space = IoSpace::kPort,
                                .size = 2,
                                .is_write = 1,
                                .address = 0x3F8,
                                .data = 0xBEEF};
  const Bytes io_payload = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // request_id
                            0x0D, 0x0C, 0x0B, 0x0A,                          // vcpu
                            0x00, 0x02, 0x01, 0x00,  // space, size, is_write, reserved
                            0xF8, 0x03, 0,    0,    0,    0,    0,    0,   // address
                            0xEF, 0xBE, 0,    0,    0,    0,    0,    0};  // data
  Bytes frame = encode_vec(io);
  ASSERT_EQ(frame.size(), kHeaderSize + io_payload.size());
  EXPECT_EQ(Bytes(frame.begin() + kHeaderSize, frame.end()), io_payload);

  Message ctl;
  ctl.payload = ControlPayload{.code = ControlCode::kStop, .status = -2};
  const Bytes ctl_payload = {0x03, 0x00, 0x00, 0x00, 0xFE, 0xFF, 0xFF, 0xFF};
  frame = encode_vec(ctl);
  ASSERT_EQ(frame.size(), kHeaderSize + ctl_payload.size());
  EXPECT_EQ(Bytes(frame.begin() + kHeaderSize, frame.end()), ctl_payload);
}

// ---- encode -------------------------------------------------------------------------

TEST(MessageEncode, TypeAndVersionComeFromTheCodecNotTheCaller) {
  Message m = make(HeartbeatPayload{.sent_ns = 42});
  m.header.type = MessageType::kIpi;  // stale: the payload decides
  m.header.version = 7;
  const Bytes frame = encode_vec(m);
  ASSERT_EQ(frame.size(), kHeaderSize + 8);
  EXPECT_EQ(frame[1], kWireVersion);
  EXPECT_EQ(frame[2], static_cast<uint8_t>(MessageType::kHeartbeat));
  auto r = decode(frame);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->header.type, MessageType::kHeartbeat);
  EXPECT_EQ(r->header.version, kWireVersion);
}

TEST(MessageEncode, AckHasNoPayloadAndMayCarryTheAckOnlyFlag) {
  Message m = make(AckPayload{});
  m.header.flags = kFlagAckOnly;
  m.header.ack = 99;
  const Bytes frame = encode_vec(m);
  ASSERT_EQ(frame.size(), kHeaderSize);
  EXPECT_EQ(frame[20], 0);
  EXPECT_EQ(frame[21], 0);
  auto r = decode(frame);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(std::holds_alternative<AckPayload>(r->payload));
  EXPECT_EQ(r->header.flags, kFlagAckOnly);
  EXPECT_EQ(r->header.ack, 99u);
}

TEST(MessageEncode, MaxMessageSizeHoldsEveryType) {
  for (const Message& m : samples()) {
    std::vector<uint8_t> buf(kMaxMessageSize);
    EXPECT_GT(encode(m, buf), 0u) << message_type_name(m.header.type);
  }
}

// ---- header rejections ------------------------------------------------------------------

Bytes ipi_frame() {
  return encode_vec(samples()[1]);
}

TEST(MessageDecode, EmptyAndShortFrames) {
  EXPECT_EQ(error_of({}), "frame of 0 bytes is shorter than the 24-byte header");
  EXPECT_EQ(error_of(Bytes(10, 0xD7)), "frame of 10 bytes is shorter than the 24-byte header");
}

TEST(MessageDecode, BadMagic) {
  Bytes f = ipi_frame();
  f[0] = 0x12;
  EXPECT_EQ(error_of(f), "bad magic 0x12");
  f[0] = 0x00;
  EXPECT_EQ(error_of(f), "bad magic 0x0");
}

TEST(MessageDecode, WrongVersion) {
  for (uint8_t v : std::initializer_list<uint8_t>{0, 2, 255}) {
    Bytes f = ipi_frame();
    f[1] = v;
    EXPECT_EQ(error_of(f),
              "wire version " + std::to_string(v) + " is not supported (this node speaks 1)");
  }
}

TEST(MessageDecode, UnknownType) {
  for (uint8_t t : std::initializer_list<uint8_t>{0, kFirstUnknownType, 77, 255}) {
    Bytes f = ipi_frame();
    f[2] = t;
    EXPECT_EQ(error_of(f), "unknown message type " + std::to_string(t));
  }
}

TEST(MessageDecode, ReservedHeaderFieldMustBeZero) {
  Bytes f = ipi_frame();
  f[22] = 0x01;
  EXPECT_EQ(error_of(f), "reserved header field is 0x1");
  f[22] = 0x00;
  f[23] = 0x80;
  EXPECT_EQ(error_of(f), "reserved header field is 0x8000");
}

TEST(MessageDecode, UndefinedHeaderFlagsAreRejected) {
  for (uint8_t bit = 2; bit < 8; ++bit) {
    Bytes f = ipi_frame();
    f[3] = static_cast<uint8_t>(1u << bit);
    EXPECT_THAT(error_of(f), HasSubstr("header flags")) << "bit " << int{bit};
  }
}

TEST(MessageDecode, ChecksRunInTheDocumentedOrder) {
  // Everything wrong at once: the magic is reported first, then each
  // problem in turn as the earlier ones are fixed.
  Bytes f = ipi_frame();
  f[0] = 0x00;     // magic
  f[1] = 9;        // version
  f[22] = 1;       // reserved
  f.push_back(0);  // trailing
  EXPECT_THAT(error_of(f), HasSubstr("bad magic"));
  f[0] = kWireMagic;
  EXPECT_THAT(error_of(f), HasSubstr("wire version 9"));
  f[1] = kWireVersion;
  EXPECT_THAT(error_of(f), HasSubstr("trailing"));
  f.pop_back();
  EXPECT_THAT(error_of(f), HasSubstr("reserved header field"));
  f[22] = 0;
  EXPECT_EQ(error_of(f), "<decoded>");
}

// ---- the incarnation trailer --------------------------------------------------------------

Message with_trailer(Message m, uint64_t src, uint64_t dst) {
  m.header.flags |= kFlagIncarnation;
  m.header.src_incarnation = src;
  m.header.dst_incarnation = dst;
  return m;
}

TEST(MessageGolden, IncarnationTrailerFollowsThePayload) {
  Message m = make(HeartbeatPayload{.sent_ns = 0x0102030405060708ull});
  m = with_trailer(m, 0x1112131415161718ull, 0x2122232425262728ull);
  const Bytes frame = encode_vec(m);
  ASSERT_EQ(frame.size(), kHeaderSize + 8 + kIncarnationSize);
  EXPECT_EQ(frame[3], kFlagIncarnation);
  EXPECT_EQ(frame[20], 8) << "payload_len does not count the trailer";
  const Bytes trailer(frame.end() - kIncarnationSize, frame.end());
  EXPECT_EQ(trailer, (Bytes{0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,    // src
                            0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21}));  // dst
  auto r = decode(frame);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(same_header(r->header, m.header));
  EXPECT_TRUE(same_payload(r->payload, m.payload));

  // Without the flag the fields are not sent, and decode leaves them 0.
  m.header.flags = 0;
  const Bytes plain = encode_vec(m);
  EXPECT_EQ(plain.size(), kHeaderSize + 8);
  r = decode(plain);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->header.src_incarnation, 0u);
  EXPECT_EQ(r->header.dst_incarnation, 0u);
}

TEST(MessageGolden, AnAckOnlyFrameMayCarryTheTrailerAndAnUnknownReceiver) {
  Message m = make(AckPayload{});
  m.header.flags = kFlagAckOnly;
  m = with_trailer(m, 7, 0);
  const Bytes frame = encode_vec(m);
  ASSERT_EQ(frame.size(), kHeaderSize + kIncarnationSize);
  auto r = decode(frame);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->header.flags, kFlagAckOnly | kFlagIncarnation);
  EXPECT_EQ(r->header.src_incarnation, 7u);
  EXPECT_EQ(r->header.dst_incarnation, 0u);
}

TEST(MessageDecode, TheTrailerMustBeThereExactlyWhenFlagged) {
  const Message m = with_trailer(samples()[1], 5, 6);
  const Bytes full = encode_vec(m);
  Bytes f = full;
  f[3] &= static_cast<uint8_t>(~kFlagIncarnation);  // trailer without its flag
  EXPECT_EQ(error_of(f), "frame has 16 trailing bytes");
  f = full;
  f.resize(f.size() - 1);
  EXPECT_THAT(error_of(f), HasSubstr("truncated"));
  f = encode_vec(samples()[1]);
  f[3] |= kFlagIncarnation;  // flag without its trailer
  EXPECT_THAT(error_of(f), HasSubstr("truncated"));
}

TEST(MessageDecode, SourceIncarnationZeroIsRejectedAndNotEncoded) {
  Bytes f = encode_vec(with_trailer(samples()[1], 5, 6));
  std::fill(f.end() - kIncarnationSize, f.end() - 8, uint8_t{0});
  EXPECT_EQ(error_of(f), "source incarnation is 0");
  Bytes buf(kMaxEncodedSize, 0xA5);
  EXPECT_EQ(encode(with_trailer(samples()[1], 0, 6), buf), 0u);
}

TEST(MessageEncode, AWholePageWithTheTrailerIsTheLargestFrame) {
  DsmDataPayload d{.page = 1, .request_id = 2, .data = Bytes(kDsmPageSize, 0x5A)};
  const Message m = with_trailer(make(d), 1, 2);
  Bytes buf(kMaxEncodedSize);
  EXPECT_EQ(encode(m, buf), kMaxEncodedSize);
  buf.resize(kMaxEncodedSize - 1);
  EXPECT_EQ(encode(m, buf), 0u) << "one byte short";
}

// ---- payload rejections --------------------------------------------------------------------

// Each reserved payload byte (offset within the payload), per type: non-zero
// anywhere in it is rejected.
TEST(MessageDecode, ReservedPayloadBytesMustBeZero) {
  const struct {
    size_t sample;
    std::vector<size_t> offsets;
  } cases[] = {
      {1, {16, 17, 18, 19}},  // IPI reserved u32
      {2, {15}},              // I/O request reserved u8
      {4, {1, 2, 3}},         // EOI reserved[3]
      {5, {17, 18, 19}},      // APIC update reserved[3]
      {9, {1, 2, 3}},         // control reserved[3]
      {10, {13, 14, 15}},     // DSM request reserved[3]
      {11, {18, 19}},         // DSM forward reserved u16
      {12, {17}},             // DSM data reserved u8
  };
  for (const auto& c : cases) {
    const Message m = samples()[c.sample];
    for (size_t off : c.offsets) {
      for (uint8_t value : std::initializer_list<uint8_t>{0x01, 0x80}) {
        Bytes f = encode_vec(m);
        f[kHeaderSize + off] = value;
        EXPECT_THAT(error_of(f), HasSubstr("reserved field"))
            << message_type_name(m.header.type) << " offset " << off;
      }
    }
  }
}

TEST(MessageDecode, ReservedStructFieldsAreRejectedToo) {
  // A sender that leaves garbage in a reserved struct member produces a
  // frame the receiver refuses (encode writes what it is given).
  IpiPayload ipi;
  ipi.reserved = 7;
  EXPECT_EQ(error_of(encode_vec(make(ipi))),
            "reserved field at offset 16 of the IPI payload is not zero");
  EoiPayload eoi;
  eoi.reserved[2] = 1;
  EXPECT_EQ(error_of(encode_vec(make(eoi))),
            "reserved field at offset 1 of the EOI payload is not zero");
}

Message ipi_with(void (*edit)(IpiPayload&)) {
  IpiPayload p = std::get<IpiPayload>(samples()[1].payload);
  edit(p);
  return make(p);
}

TEST(MessageDecode, IpiDeliveryModes) {
  for (uint8_t mode : std::initializer_list<uint8_t>{0, 1, 4, 5, 6, 7}) {
    IpiPayload p;
    p.delivery_mode = mode;
    EXPECT_EQ(error_of(encode_vec(make(p))), "<decoded>") << "mode " << int{mode};
  }
  IpiPayload p;
  p.delivery_mode = 2;
  EXPECT_EQ(error_of(encode_vec(make(p))), "IPI delivery mode 2 (SMI) is not supported");
  p.delivery_mode = 3;
  EXPECT_EQ(error_of(encode_vec(make(p))), "IPI delivery mode 3 is reserved");
  for (uint8_t mode : std::initializer_list<uint8_t>{8, 0x80, 0xFF}) {
    p.delivery_mode = mode;
    EXPECT_THAT(error_of(encode_vec(make(p))), HasSubstr("is out of range (0-7)"));
  }
}

TEST(MessageDecode, IpiFlagsShorthandAndSource) {
  EXPECT_EQ(error_of(encode_vec(ipi_with([](IpiPayload& p) { p.flags = 0x0F; }))), "<decoded>");
  for (uint8_t f : std::initializer_list<uint8_t>{0x10, 0x20, 0x40, 0x80}) {
    IpiPayload p;
    p.flags = f;
    EXPECT_THAT(error_of(encode_vec(make(p))), HasSubstr("IPI flags"));
  }
  EXPECT_EQ(error_of(encode_vec(ipi_with([](IpiPayload& p) { p.shorthand = 3; }))), "<decoded>");
  EXPECT_EQ(error_of(encode_vec(ipi_with([](IpiPayload& p) { p.shorthand = 4; }))),
            "IPI destination shorthand 4 is out of range (0-3)");
  EXPECT_EQ(error_of(encode_vec(ipi_with([](IpiPayload& p) { p.source_vcpu = -1; }))), "<decoded>");
  EXPECT_EQ(error_of(encode_vec(ipi_with([](IpiPayload& p) { p.source_vcpu = -2; }))),
            "IPI source vCPU -2 is invalid (-1 means a device)");
  EXPECT_THAT(error_of(encode_vec(ipi_with([](IpiPayload& p) { p.source_vcpu = INT32_MIN; }))),
              HasSubstr("IPI source vCPU"));
}

TEST(MessageDecode, IoRequestFields) {
  auto io = [](auto edit) {
    IoRequestPayload p;
    edit(p);
    return error_of(encode_vec(make(p)));
  };
  for (uint8_t s : std::initializer_list<uint8_t>{1, 2, 4, 8}) {
    EXPECT_EQ(io([&](IoRequestPayload& p) { p.size = s; }), "<decoded>") << int{s};
  }
  for (uint8_t s : std::initializer_list<uint8_t>{0, 3, 5, 16, 255}) {
    EXPECT_EQ(io([&](IoRequestPayload& p) { p.size = s; }),
              "I/O size " + std::to_string(s) + " is not 1, 2, 4 or 8");
  }
  EXPECT_EQ(io([](IoRequestPayload& p) { p.address = 0xFFFF; }), "<decoded>");
  EXPECT_EQ(io([](IoRequestPayload& p) { p.address = 0x10000; }),
            "I/O port 0x10000 out of range (max 0xffff)");
  EXPECT_EQ(io([](IoRequestPayload& p) { p.address = 0x12345; }),
            "I/O port 0x12345 out of range (max 0xffff)");
  // MMIO addresses are guest-physical: any 64-bit value is well-formed.
  EXPECT_EQ(io([](IoRequestPayload& p) {
              p.space = IoSpace::kMmio;
              p.address = ~0ull;
            }),
            "<decoded>");
  EXPECT_EQ(io([](IoRequestPayload& p) { p.space = static_cast<IoSpace>(7); }),
            "I/O space 7 is unknown (0 = port, 1 = MMIO)");
  EXPECT_EQ(io([](IoRequestPayload& p) { p.space = static_cast<IoSpace>(2); }),
            "I/O space 2 is unknown (0 = port, 1 = MMIO)");
  EXPECT_EQ(io([](IoRequestPayload& p) { p.is_write = 2; }), "I/O is_write 2 is not 0 or 1");
}

TEST(MessageDecode, ApicUpdateFlags) {
  ApicUpdatePayload p;
  p.flags = 0x07;
  EXPECT_EQ(error_of(encode_vec(make(p))), "<decoded>");
  p.flags = 0x08;
  EXPECT_EQ(error_of(encode_vec(make(p))),
            "APIC update flags 0x8 set undefined bits (defined: 0x7)");
}

TEST(MessageDecode, ControlCodes) {
  for (ControlCode c : {ControlCode::kReady, ControlCode::kStart, ControlCode::kStop}) {
    EXPECT_EQ(error_of(encode_vec(make(ControlPayload{.code = c}))), "<decoded>");
  }
  for (uint8_t c : std::initializer_list<uint8_t>{0, 4, 9, 255}) {
    EXPECT_EQ(error_of(encode_vec(make(ControlPayload{.code = static_cast<ControlCode>(c)}))),
              "control code " + std::to_string(c) + " unknown");
  }
}

// ---- DSM payloads --------------------------------------------------------------------------

Bytes payload_of(const Message& m) {
  const Bytes frame = encode_vec(m);
  return Bytes(frame.begin() + static_cast<ptrdiff_t>(kHeaderSize), frame.end());
}

TEST(MessageGolden, DsmFixedPayloadLayouts) {
  Message m;
  m.payload = DsmRequestPayload{.page = 0x0000'0001'0002'0003ull,
                                .request_id = 0x0A0B0C0D,
                                .access = DsmAccess::kWrite};
  EXPECT_EQ(payload_of(m), (Bytes{0x03, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00,  // page
                                  0x0D, 0x0C, 0x0B, 0x0A,                          // request_id
                                  0x01, 0x00, 0x00, 0x00}));  // access write, reserved[3]

  m.payload = DsmForwardPayload{.page = 0x1234,
                                .request_id = 7,
                                .requester = 0x0302,
                                .action = DsmAction::kDowngrade,
                                .flags = kDsmForwardSendData,
                                .acks = 0x0605};
  EXPECT_EQ(payload_of(m), (Bytes{0x34, 0x12, 0, 0, 0, 0, 0, 0,  // page
                                  0x07, 0x00, 0x00, 0x00,        // request_id
                                  0x02, 0x03,                    // requester
                                  0x01, 0x01,                    // action downgrade, flags send data
                                  0x05, 0x06,                    // acks
                                  0x00, 0x00}));                 // reserved

  m.payload = DsmAckPayload{.page = 0x0102030405060708ull, .request_id = 0x11223344};
  const Bytes ack = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x44, 0x33, 0x22, 0x11};
  EXPECT_EQ(payload_of(m), ack);
  m.payload = DsmDonePayload{.page = 0x0102030405060708ull, .request_id = 0x11223344};
  EXPECT_EQ(payload_of(m), ack);
  EXPECT_EQ(encode_vec(m)[2], static_cast<uint8_t>(MessageType::kDsmDone));
}

TEST(MessageGolden, DsmDataFrameCarriesItsChunkAfterTheFixedPart) {
  Message m;
  m.header.src_node = 1;
  m.header.dst_node = 2;
  m.header.seq = 3;
  m.header.ack = 4;
  m.header.cluster_id = 5;
  m.payload = DsmDataPayload{.page = 0x42,
                             .request_id = 9,
                             .chunk_offset = 0x0FFC,
                             .acks = 3,
                             .data = {0xDE, 0xAD, 0xBE, 0xEF}};
  const Bytes expected = {
      0xD7, 0x01, 0x0D, 0x00,  // magic, version, type DSM data, flags
      0x01, 0x00, 0x02, 0x00,  // src, dst
      0x03, 0x00, 0x00, 0x00,  // seq
      0x04, 0x00, 0x00, 0x00,  // ack
      0x05, 0x00, 0x00, 0x00,  // cluster_id
      0x18, 0x00, 0x00, 0x00,  // payload_len 24 = 20 + 4, reserved
      0x42, 0, 0, 0, 0, 0, 0, 0,  // page
      0x09, 0x00, 0x00, 0x00,     // request_id
      0xFC, 0x0F, 0x04, 0x00,     // chunk_offset 4092, chunk_len 4
      0x00, 0x00, 0x03, 0x00,     // flags, reserved, acks 3
      0xDE, 0xAD, 0xBE, 0xEF,     // the chunk
  };
  EXPECT_EQ(encode_vec(m), expected);
  auto r = decode(expected);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& got = std::get<DsmDataPayload>(r->payload);
  EXPECT_EQ(got.page, 0x42u);
  EXPECT_EQ(got.chunk_offset, 0x0FFC);
  EXPECT_EQ(got.acks, 3);
  EXPECT_EQ(got.data, (Bytes{0xDE, 0xAD, 0xBE, 0xEF})) << "chunk_len 4 from the wire";

  // A zero page and a grant carry no bytes at all.
  for (uint8_t flag : {kDsmDataZero, kDsmDataNone}) {
    m.payload = DsmDataPayload{.page = 0x42, .request_id = 9, .flags = flag, .acks = 2};
    const Bytes f = encode_vec(m);
    ASSERT_EQ(f.size(), kHeaderSize + kDsmDataFixedSize);
    EXPECT_EQ(f[20], kDsmDataFixedSize);
    EXPECT_EQ(f[kHeaderSize + 16], flag);
    EXPECT_EQ(error_of(f), "<decoded>");
  }
}

TEST(MessageEncode, AWholePageIsTheLargestMessage) {
  DsmDataPayload d{.page = 1, .request_id = 2, .data = Bytes(kDsmPageSize)};
  for (size_t i = 0; i < kDsmPageSize; ++i) d.data[i] = static_cast<uint8_t>(i * 7 + 1);
  const Message m = make(d);
  const Bytes frame = encode_vec(m);
  ASSERT_EQ(frame.size(), kMaxMessageSize);
  EXPECT_EQ(kMaxMessageSize, 24u + 20u + 4096u);
  EXPECT_EQ(frame[20] | frame[21] << 8, 20 + 4096);
  auto r = decode(frame);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(same_payload(r->payload, m.payload));
  EXPECT_EQ(std::get<DsmDataPayload>(r->payload).data, d.data);
}

TEST(MessageEncode, AChunkLongerThanAPageDoesNotEncode) {
  DsmDataPayload d{.data = Bytes(kDsmPageSize + 1, 0x11)};
  Bytes buf(kMaxMessageSize + 64, 0xA5);
  EXPECT_EQ(encode(make(d), buf), 0u);
  EXPECT_EQ(buf, Bytes(kMaxMessageSize + 64, 0xA5));
}

Message dsm_data(void (*edit)(DsmDataPayload&)) {
  DsmDataPayload d = std::get<DsmDataPayload>(samples()[kDsmDataIndex].payload);
  edit(d);
  return make(d);
}

TEST(MessageDecode, DsmDataChunkLenMustAgreeWithPayloadLen) {
  // payload_len in range, frame length consistent with it, but chunk_len
  // says otherwise.
  Bytes f = encode_vec(samples()[kDsmDataIndex]);  // chunk_len 8, payload_len 28
  f.push_back(0x77);
  f[20] = 29;
  EXPECT_EQ(error_of(f), "DSM data chunk_len 8 disagrees with payload_len 29 (20 fixed + 9)");
  f.resize(f.size() - 2);
  f[20] = 27;
  EXPECT_EQ(error_of(f), "DSM data chunk_len 8 disagrees with payload_len 27 (20 fixed + 7)");
  // Only the fixed part: a chunk_len of 8 with nothing behind it.
  f.resize(kHeaderSize + kDsmDataFixedSize);
  f[20] = 20;
  EXPECT_EQ(error_of(f), "DSM data chunk_len 8 disagrees with payload_len 20 (20 fixed + 0)");
}

TEST(MessageDecode, DsmDataChunksStayInsideThePage) {
  // The sample's chunk is 8 bytes.
  EXPECT_EQ(error_of(encode_vec(dsm_data([](DsmDataPayload& d) { d.chunk_offset = 4088; }))),
            "<decoded>");
  EXPECT_EQ(error_of(encode_vec(dsm_data([](DsmDataPayload& d) { d.chunk_offset = 4089; }))),
            "DSM data chunk 4089+8 runs past the 4096-byte page");
  EXPECT_EQ(error_of(encode_vec(dsm_data([](DsmDataPayload& d) {
              d.chunk_offset = 0xFFFF;
              d.data.resize(1);
            }))),
            "DSM data chunk 65535+1 runs past the 4096-byte page");
  EXPECT_EQ(error_of(encode_vec(dsm_data([](DsmDataPayload& d) {
              d.chunk_offset = 0;
              d.data = Bytes(kDsmPageSize, 1);
            }))),
            "<decoded>");
  EXPECT_EQ(error_of(encode_vec(dsm_data([](DsmDataPayload& d) { d.data.clear(); }))),
            "DSM data chunk is empty");
}

TEST(MessageDecode, DsmDataFlags) {
  // Zero page or grant: no bytes, offset 0.
  EXPECT_EQ(error_of(encode_vec(dsm_data([](DsmDataPayload& d) { d.flags = kDsmDataZero; }))),
            "DSM data without bytes (flags 0x1) has chunk 3840+8, not 0+0");
  EXPECT_EQ(error_of(encode_vec(dsm_data([](DsmDataPayload& d) {
              d.flags = kDsmDataNone;
              d.data.clear();
            }))),
            "DSM data without bytes (flags 0x2) has chunk 3840+0, not 0+0");
  EXPECT_EQ(error_of(encode_vec(dsm_data([](DsmDataPayload& d) {
              d.flags = kDsmDataZero | kDsmDataNone;
              d.chunk_offset = 0;
              d.data.clear();
            }))),
            "DSM data cannot be both a zero page and no data");
  for (uint8_t bit = 2; bit < 8; ++bit) {
    DsmDataPayload d{.flags = static_cast<uint8_t>(1u << bit)};
    EXPECT_THAT(error_of(encode_vec(make(d))), HasSubstr("DSM data flags")) << int{bit};
  }
}

TEST(MessageDecode, DsmRequestAndForwardEnums) {
  DsmRequestPayload r{.access = static_cast<DsmAccess>(2)};
  EXPECT_EQ(error_of(encode_vec(make(r))), "DSM request access 2 is unknown (0 = read, 1 = write)");
  for (uint8_t a : std::initializer_list<uint8_t>{0, 3, 255}) {
    DsmForwardPayload f{.action = static_cast<DsmAction>(a), .flags = kDsmForwardSendData};
    EXPECT_EQ(error_of(encode_vec(make(f))),
              "DSM forward action " + std::to_string(a) +
                  " is unknown (1 = downgrade, 2 = invalidate)");
  }
  DsmForwardPayload f{.action = DsmAction::kInvalidate, .flags = 0};
  EXPECT_EQ(error_of(encode_vec(make(f))), "<decoded>") << "an invalidation may send no data";
  f.action = DsmAction::kDowngrade;
  EXPECT_EQ(error_of(encode_vec(make(f))), "DSM forward downgrade must send data");
  f.flags = 0x03;
  EXPECT_EQ(error_of(encode_vec(make(f))),
            "DSM forward flags 0x3 set undefined bits (defined: 0x1)");
}

// ---- names -------------------------------------------------------------------------------

TEST(MessageTypeName, EveryTypeHasADistinctName) {
  std::set<std::string> names;
  for (unsigned t = 1; t <= std::variant_size_v<Payload>; ++t) {
    const std::string n = message_type_name(static_cast<MessageType>(t));
    EXPECT_NE(n, "unknown") << t;
    names.insert(n);
  }
  EXPECT_EQ(names.size(), std::variant_size_v<Payload>);
  EXPECT_STREQ(message_type_name(MessageType::kIpi), "IPI");
  EXPECT_STREQ(message_type_name(MessageType::kIoRequest), "I/O request");
  EXPECT_STREQ(message_type_name(static_cast<MessageType>(0)), "unknown");
  EXPECT_STREQ(message_type_name(MessageType::kDsmData), "DSM data");
  EXPECT_STREQ(message_type_name(static_cast<MessageType>(kFirstUnknownType)), "unknown");
  EXPECT_STREQ(message_type_name(static_cast<MessageType>(255)), "unknown");
}

// ---- randomized robustness ---------------------------------------------------------------

// A random message that satisfies every decode() rule.
Message random_valid(std::mt19937_64& rng) {
  auto u = [&]<typename T>(T) { return static_cast<T>(rng()); };
  Message m;
  m.header.flags = static_cast<uint8_t>(rng() & kFlagAckOnly);
  m.header.src_node = u(NodeId{});
  m.header.dst_node = u(NodeId{});
  m.header.seq = u(uint32_t{});
  m.header.ack = u(uint32_t{});
  m.header.cluster_id = u(uint32_t{});
  if (rng() % 2 == 0) {
    m.header.flags |= kFlagIncarnation;
    m.header.src_incarnation = rng() | 1;
    m.header.dst_incarnation = rng() % 4 == 0 ? 0 : rng();
  }
  static constexpr uint8_t kModes[] = {0, 1, 4, 5, 6, 7};
  static constexpr uint8_t kSizes[] = {1, 2, 4, 8};
  switch (rng() % std::variant_size_v<Payload>) {
    case 0:
      m.payload = AckPayload{};
      break;
    case 1:
      m.payload = IpiPayload{.target_vcpu = u(uint32_t{}),
                             .vector = u(uint8_t{}),
                             .delivery_mode = kModes[rng() % 6],
                             .flags = static_cast<uint8_t>(rng() & 0x0F),
                             .shorthand = static_cast<uint8_t>(rng() & 3),
                             .destination = u(uint32_t{}),
                             .source_vcpu = static_cast<int32_t>(rng() % 0x7FFFFFFF) - 1};
      break;
    case 2: {
      const bool port = rng() & 1;
      m.payload = IoRequestPayload{.request_id = rng(),
                                   .vcpu = u(uint32_t{}),
                                   .space = port ? IoSpace::kPort : IoSpace::kMmio,
                                   .size = kSizes[rng() % 4],
                                   .is_write = static_cast<uint8_t>(rng() & 1),
                                   .address = port ? rng() & 0xFFFF : rng(),
                                   .data = rng()};
      break;
    }
    case 3:
      m.payload = IoResponsePayload{.request_id = rng(), .data = rng()};
      break;
    case 4:
      m.payload = EoiPayload{.vector = u(uint8_t{})};
      break;
    case 5:
      m.payload = ApicUpdatePayload{.vcpu = u(uint32_t{}),
                                    .apic_id = u(uint32_t{}),
                                    .ldr = u(uint32_t{}),
                                    .dfr = u(uint32_t{}),
                                    .flags = static_cast<uint8_t>(rng() & 7),
                                    .update_id = u(uint32_t{})};
      break;
    case 6:
      m.payload = ApicUpdateAckPayload{.update_id = u(uint32_t{})};
      break;
    case 7:
      m.payload = ClockPayload{.probe_id = rng(), .t_sender = rng(), .t_receiver = rng()};
      break;
    case 8:
      m.payload = HeartbeatPayload{.sent_ns = rng()};
      break;
    case 9:
      m.payload =
          ControlPayload{.code = static_cast<ControlCode>(1 + rng() % 3), .status = u(int32_t{})};
      break;
    case 10:
      m.payload = DsmRequestPayload{.page = rng(),
                                    .request_id = u(uint32_t{}),
                                    .access = static_cast<DsmAccess>(rng() & 1)};
      break;
    case 11: {
      const bool downgrade = rng() & 1;
      m.payload = DsmForwardPayload{
          .page = rng(),
          .request_id = u(uint32_t{}),
          .requester = u(uint16_t{}),
          .action = downgrade ? DsmAction::kDowngrade : DsmAction::kInvalidate,
          .flags = static_cast<uint8_t>(downgrade ? kDsmForwardSendData : rng() & 1),
          .acks = u(uint16_t{})};
      break;
    }
    case 12: {
      DsmDataPayload d{.page = rng(), .request_id = u(uint32_t{}), .acks = u(uint16_t{})};
      switch (rng() % 4) {
        case 0:
          d.flags = kDsmDataZero;
          break;
        case 1:
          d.flags = kDsmDataNone;
          break;
        default: {
          // Mostly short chunks (the loops run many times), sometimes a page.
          const size_t len = rng() % 16 == 0 ? 1 + rng() % kDsmPageSize : 1 + rng() % 64;
          d.chunk_offset = static_cast<uint16_t>(rng() % (kDsmPageSize - len + 1));
          d.data.resize(len);
          for (auto& b : d.data) b = static_cast<uint8_t>(rng());
          break;
        }
      }
      m.payload = d;
      break;
    }
    case 13:
      m.payload = DsmAckPayload{.page = rng(), .request_id = u(uint32_t{})};
      break;
    default:
      m.payload = DsmDonePayload{.page = rng(), .request_id = u(uint32_t{})};
      break;
  }
  m.header.type = static_cast<MessageType>(m.payload.index() + 1);
  return m;
}

TEST(MessageFuzz, RandomValidMessagesRoundTrip) {
  std::mt19937_64 rng(0xD7D7'0001);
  for (int i = 0; i < 20000; ++i) {
    const Message m = random_valid(rng);
    const Bytes frame = encode_vec(m);
    ASSERT_FALSE(frame.empty());
    auto r = decode(frame);
    ASSERT_TRUE(r.ok()) << "iteration " << i << ": " << r.error().message;
    ASSERT_TRUE(same_header(r->header, m.header)) << "iteration " << i;
    ASSERT_TRUE(same_payload(r->payload, m.payload)) << "iteration " << i;
  }
}

// Mutated and random frames: decode never crashes or reads out of bounds,
// and whatever it accepts re-encodes to exactly the bytes it was given (so
// no field is silently normalised, dropped or misread).
TEST(MessageFuzz, MutatedFramesNeverCrashAndAcceptedOnesReEncodeExactly) {
  std::mt19937_64 rng(0x5EED'1234);
  size_t accepted = 0;
  size_t rejected = 0;
  for (int i = 0; i < 200000; ++i) {
    Bytes f;
    switch (rng() % 5) {
      case 0:  // entirely random bytes, random length (mostly short: they're many)
        f.resize(rng() % 8 == 0 ? rng() % (kMaxMessageSize + 8) : rng() % 96);
        for (auto& b : f) b = static_cast<uint8_t>(rng());
        break;
      case 1: {  // random bytes behind a plausible header
        const auto type = static_cast<uint8_t>(1 + rng() % (kFirstUnknownType + 1));
        size_t len = type < kFirstUnknownType ? kDocumentedSize[type - 1] : rng() % 40;
        if (type == kDsmDataIndex + 1) {
          // A chunk_len that agrees with payload_len, so the flags and
          // chunk checks get random input too.
          const size_t chunk = rng() % 80;
          len += chunk;
          f.resize(kHeaderSize + len);
          for (auto& b : f) b = static_cast<uint8_t>(rng());
          f[kHeaderSize + 14] = static_cast<uint8_t>(chunk);
          f[kHeaderSize + 15] = 0;
        }
        if (f.empty()) {
          f.resize(kHeaderSize + len);
          for (auto& b : f) b = static_cast<uint8_t>(rng());
        }
        f[0] = kWireMagic;
        f[1] = kWireVersion;
        f[2] = type;
        f[3] &= kFlagAckOnly;
        f[20] = static_cast<uint8_t>(len);
        f[21] = 0;
        f[22] = f[23] = 0;
        break;
      }
      default: {  // a valid frame with a few bytes or bits changed, maybe resized
        f = encode_vec(random_valid(rng));
        const unsigned edits = 1 + static_cast<unsigned>(rng() % 3);
        for (unsigned e = 0; e < edits; ++e) {
          const size_t at = rng() % f.size();
          if (rng() & 1) {
            f[at] = static_cast<uint8_t>(f[at] ^ (1u << (rng() % 8)));
          } else {
            f[at] = static_cast<uint8_t>(rng());
          }
        }
        if (rng() % 8 == 0) f.resize(rng() % (f.size() + 4));
        break;
      }
    }
    f.shrink_to_fit();
    auto r = decode(f);
    if (!r.ok()) {
      ++rejected;
      ASSERT_FALSE(r.error().message.empty());
      continue;
    }
    ++accepted;
    ASSERT_EQ(encode_vec(*r), f) << "iteration " << i;
  }
  // Both paths must actually be exercised for the loop to mean anything.
  EXPECT_GT(accepted, 20000u);
  EXPECT_GT(rejected, 20000u);
}

}  // namespace
}  // namespace dvmm::dataplane
