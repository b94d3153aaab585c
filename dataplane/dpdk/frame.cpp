#include "dataplane/dpdk/frame.hpp"

#include <algorithm>
#include <cstring>

#include "dataplane/message.hpp"

namespace dvmm::dataplane::dpdk {
namespace {

void put_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

uint16_t get_be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

}  // namespace

size_t encode_frame(std::span<uint8_t> out, const MacAddress& dst, const MacAddress& src,
                    std::span<const uint8_t> frame) {
  if (frame.size() > kMaxFrameSize) return 0;
  const size_t n = encap_size(frame.size());
  if (out.size() < n) return 0;
  uint8_t* p = out.data();
  std::memcpy(p, dst.data(), 6);
  std::memcpy(p + 6, src.data(), 6);
  put_be16(p + 12, kEtherType);
  put_be16(p + 14, static_cast<uint16_t>(frame.size()));
  if (!frame.empty()) std::memcpy(p + kEncapHeaderSize, frame.data(), frame.size());
  const size_t used = kEncapHeaderSize + frame.size();
  // Zero padding: never leak old buffer contents onto the wire.
  if (used < n) std::memset(p + used, 0, n - used);
  return n;
}

const char* to_string(DecodeStatus s) {
  switch (s) {
    case DecodeStatus::kOk: return "ok";
    case DecodeStatus::kTooShort: return "shorter than the 16-byte header";
    case DecodeStatus::kWrongEtherType: return "not EtherType 0x88B5";
    case DecodeStatus::kTruncated: return "truncated (length field exceeds the bytes received)";
    case DecodeStatus::kOversize: return "length field above the largest dvmm frame";
  }
  return "?";
}

DecodeStatus decode_header(std::span<const uint8_t> header, size_t total, DecodedHeader& out) {
  if (header.size() < kEncapHeaderSize || total < kEncapHeaderSize) return DecodeStatus::kTooShort;
  const uint8_t* p = header.data();
  if (get_be16(p + 12) != kEtherType) return DecodeStatus::kWrongEtherType;
  const uint16_t len = get_be16(p + 14);
  if (len > kMaxFrameSize) return DecodeStatus::kOversize;
  if (len > total - kEncapHeaderSize) return DecodeStatus::kTruncated;
  std::memcpy(out.dst.data(), p, 6);
  std::memcpy(out.src.data(), p + 6, 6);
  out.len = len;
  return DecodeStatus::kOk;
}

DecodeStatus decode_frame(std::span<const uint8_t> in, DecodedFrame& out) {
  DecodedHeader h;
  const DecodeStatus s = decode_header(in, in.size(), h);
  if (s != DecodeStatus::kOk) return s;
  out.dst = h.dst;
  out.src = h.src;
  out.frame = in.subspan(kEncapHeaderSize, h.len);
  return DecodeStatus::kOk;
}

uint64_t mac_key(const MacAddress& mac) {
  uint64_t k = 0;
  for (const uint8_t b : mac) k = (k << 8) | b;
  return k;
}

bool is_zero(const MacAddress& mac) {
  return mac_key(mac) == 0;
}

bool is_unicast(const MacAddress& mac) {
  return (mac[0] & 0x01) == 0 && !is_zero(mac);
}

bool MacTable::add(NodeId node, const MacAddress& mac) {
  const uint64_t key = mac_key(mac);
  const auto it = std::lower_bound(by_mac_.begin(), by_mac_.end(), key,
                                   [](const Entry& e, uint64_t k) { return e.key < k; });
  if (it != by_mac_.end() && it->key == key) return false;
  if (node < by_node_.size() && by_node_[node].known) return false;
  by_mac_.insert(it, Entry{key, node});
  if (node >= by_node_.size()) by_node_.resize(size_t{node} + 1);
  by_node_[node] = Slot{true, mac};
  return true;
}

bool MacTable::lookup(const MacAddress& mac, NodeId& node) const {
  const uint64_t key = mac_key(mac);
  const auto it = std::lower_bound(by_mac_.begin(), by_mac_.end(), key,
                                   [](const Entry& e, uint64_t k) { return e.key < k; });
  if (it == by_mac_.end() || it->key != key) return false;
  node = it->node;
  return true;
}

}  // namespace dvmm::dataplane::dpdk
