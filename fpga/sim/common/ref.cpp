#include "ref.hpp"

#include <cstdio>

namespace dvmm::fpga::tb {

uint32_t crc32(std::span<const uint8_t> bytes) {
  uint32_t crc = 0xFFFF'FFFFu;
  for (const uint8_t b : bytes) {
    for (int i = 0; i < 8; ++i) {
      const uint32_t in = (b >> i) & 1u;
      const uint32_t fb = (crc ^ in) & 1u;
      crc >>= 1;
      if (fb != 0) crc ^= 0xEDB8'8320u;
    }
  }
  return ~crc;
}

Bytes with_fcs(std::span<const uint8_t> frame) {
  Bytes out(frame.begin(), frame.end());
  const uint32_t fcs = crc32(frame);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(fcs >> (8 * i)));
  return out;
}

bool fcs_ok(std::span<const uint8_t> frame_with_fcs) {
  if (frame_with_fcs.size() < 4) return false;
  const size_t n = frame_with_fcs.size() - 4;
  const uint32_t fcs = crc32(frame_with_fcs.first(n));
  for (size_t i = 0; i < 4; ++i) {
    if (frame_with_fcs[n + i] != static_cast<uint8_t>(fcs >> (8 * i))) return false;
  }
  return true;
}

uint64_t mac_to_u64(const MacAddress& mac) {
  uint64_t v = 0;
  for (size_t i = 0; i < mac.size(); ++i) v |= uint64_t{mac[i]} << (8 * i);
  return v;
}

Bytes encode_wire(const dataplane::Message& msg, const MacAddress& dst, const MacAddress& src) {
  std::vector<uint8_t> body(dataplane::kMaxMessageSize);
  const size_t n = dataplane::encode(msg, body);
  body.resize(n);
  Bytes out(dataplane::dpdk::encap_size(n));
  dataplane::dpdk::encode_frame(out, dst, src, body);
  return out;
}

std::optional<WireFrame> decode_wire(std::span<const uint8_t> frame, std::string* why) {
  dataplane::dpdk::DecodedFrame f;
  const auto s = dataplane::dpdk::decode_frame(frame, f);
  if (s != dataplane::dpdk::DecodeStatus::kOk) {
    if (why != nullptr) *why = dataplane::dpdk::to_string(s);
    return std::nullopt;
  }
  auto m = dataplane::decode(f.frame);
  if (!m.ok()) {
    if (why != nullptr) *why = m.error().message;
    return std::nullopt;
  }
  return WireFrame{f.dst, f.src, *m};
}

std::string hex(std::span<const uint8_t> bytes) {
  std::string s;
  char buf[4];
  for (const uint8_t b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    s += buf;
  }
  return s;
}

BeatPacket to_beats(const Bytes& packet) {
  BeatPacket beats;
  for (size_t i = 0; i < packet.size(); i += 8) {
    AxisBeat b;
    for (size_t lane = 0; lane < 8 && i + lane < packet.size(); ++lane) {
      b.data |= uint64_t{packet[i + lane]} << (8 * lane);
      b.keep = static_cast<uint8_t>(b.keep | (1u << lane));
    }
    b.last = i + 8 >= packet.size();
    beats.push_back(b);
  }
  return beats;
}

}  // namespace dvmm::fpga::tb
