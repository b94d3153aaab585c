// Ethernet encapsulation of dvmm frames, as the DPDK backend (and later the
// FPGA engine) puts them on the wire. Pure byte code: no DPDK, no EAL, so it
// is unit-tested on its own.
//
// Layout (network byte order for the two 16-bit fields, like every Ethernet
// field):
//   0   dst MAC   6 bytes   the destination node's MAC
//   6   src MAC   6 bytes   the sending node's MAC
//   12  EtherType u16       0x88B5 (IEEE 802 local experimental, kEtherType)
//   14  length    u16       bytes of dvmm frame that follow
//   16  the dvmm frame (message.hpp: 24-byte header + payload)
//   ..  zero padding up to the 60-byte Ethernet minimum
//
// Why a length field: a NIC pads frames shorter than 60 bytes (a 24-byte
// ack becomes 46 bytes of payload) and the dvmm codec rejects trailing
// bytes, so the receiver must know where the frame ends. The encoder pads
// short frames itself so that the bytes on the wire do not depend on the
// NIC. The length also catches a frame the kernel truncated (af_packet
// cuts frames larger than its ring slot to the slot size).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dataplane/transport.hpp"

namespace dvmm::dataplane::dpdk {

using MacAddress = std::array<uint8_t, 6>;

constexpr size_t kEthHeaderSize = 14;                   // dst, src, EtherType
constexpr size_t kEncapHeaderSize = kEthHeaderSize + 2;  // + length
constexpr size_t kEthMinFrame = 60;                     // without the 4-byte FCS
// Largest encapsulated frame: what an mbuf must hold for kMaxFrameSize.
constexpr size_t kMaxEncapFrame = kEncapHeaderSize + kMaxFrameSize;

// Bytes the encapsulation of a `payload`-byte dvmm frame takes on the wire.
constexpr size_t encap_size(size_t payload) {
  const size_t n = kEncapHeaderSize + payload;
  return n < kEthMinFrame ? kEthMinFrame : n;
}

// Writes the encapsulation of `frame` into `out` (header, frame, padding).
// Returns the bytes written, or 0 if `out` is smaller than
// encap_size(frame.size()) or the frame is larger than kMaxFrameSize.
size_t encode_frame(std::span<uint8_t> out, const MacAddress& dst, const MacAddress& src,
                    std::span<const uint8_t> frame);

enum class DecodeStatus : uint8_t {
  kOk,
  kTooShort,         // not even the 16-byte header
  kWrongEtherType,   // not 0x88B5: another protocol on the same link
  kTruncated,        // length says more bytes than arrived
  kOversize,         // length above kMaxFrameSize
};
const char* to_string(DecodeStatus s);

struct DecodedFrame {
  MacAddress dst{};
  MacAddress src{};
  std::span<const uint8_t> frame;  // the dvmm frame, padding removed
};

// Parses one received Ethernet frame (as the PMD hands it over: no FCS).
DecodeStatus decode_frame(std::span<const uint8_t> in, DecodedFrame& out);

// The same checks on the 16-byte header alone, for a frame of `total`
// bytes whose body is read separately (a multi-segment mbuf): `len` gets
// the dvmm frame's length.
struct DecodedHeader {
  MacAddress dst{};
  MacAddress src{};
  uint16_t len = 0;
};
DecodeStatus decode_header(std::span<const uint8_t> header, size_t total, DecodedHeader& out);

// MAC -> node lookup for received frames. A sorted array of 48-bit keys:
// clusters are small, a lookup is a few compares and allocates nothing.
class MacTable {
 public:
  // Fails (returns false) on a duplicate MAC or node id.
  bool add(NodeId node, const MacAddress& mac);
  bool lookup(const MacAddress& mac, NodeId& node) const;
  // The MAC of a node (nullptr if unknown): used on TX, indexed by node id.
  const MacAddress* mac_of(NodeId node) const {
    return node < by_node_.size() && by_node_[node].known ? &by_node_[node].mac : nullptr;
  }

 private:
  struct Entry {
    uint64_t key;
    NodeId node;
  };
  struct Slot {
    bool known = false;
    MacAddress mac{};
  };
  std::vector<Entry> by_mac_;  // sorted by key
  std::vector<Slot> by_node_;
};

uint64_t mac_key(const MacAddress& mac);
bool is_zero(const MacAddress& mac);
// A unicast address (group bit clear) that is not all-zero.
bool is_unicast(const MacAddress& mac);

}  // namespace dvmm::dataplane::dpdk
