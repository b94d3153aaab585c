// Fuzzes the Ethernet encapsulation of dvmm frames (dataplane/dpdk/frame.hpp),
// what the DPDK backend applies to every frame a PMD receives. No EAL: the
// codec is plain byte code.
//
// Input: u16 `total` (the frame length a multi-segment mbuf would report;
// only its header is in the first segment), then the Ethernet frame.
// Properties: decode_frame and decode_header agree when the header is
// whole; an accepted frame lies inside the input and re-encodes to the
// same header and body; the MAC table never maps a MAC to two nodes.
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "dataplane/dpdk/frame.hpp"
#include "dataplane/message.hpp"
#include "fuzz/fuzz_input.hpp"

namespace {

using namespace dvmm::dataplane;
using namespace dvmm::dataplane::dpdk;
using dvmm::fuzz::fail;

void check(std::span<const uint8_t> in, size_t total) {
  DecodedFrame f;
  const DecodeStatus s = decode_frame(in, f);
  (void)to_string(s);

  // The same header judged with the body elsewhere.
  DecodedHeader h;
  const DecodeStatus hs = decode_header(in.first(std::min(in.size(), kEncapHeaderSize)), total, h);
  (void)to_string(hs);
  if (total == in.size() && hs != s) fail("decode_header and decode_frame disagree");
  if (hs == DecodeStatus::kOk && h.len > total - kEncapHeaderSize) {
    fail("decode_header accepted a length past the frame");
  }

  if (s != DecodeStatus::kOk) return;
  if (f.frame.size() > kMaxFrameSize) fail("accepted an oversize frame");
  if (f.frame.data() < in.data() || f.frame.data() + f.frame.size() > in.data() + in.size()) {
    fail("the decoded frame lies outside the input");
  }
  // Re-encoding gives back the header and body; padding is ours (zeroes),
  // so only the bytes up to the body's end must match.
  std::vector<uint8_t> out(encap_size(f.frame.size()));
  const size_t n = encode_frame(out, f.dst, f.src, f.frame);
  if (n != out.size()) fail("an accepted frame does not re-encode");
  const size_t used = kEncapHeaderSize + f.frame.size();
  if (!std::equal(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(used), in.begin())) {
    fail("decode then encode changed the frame");
  }
  // What the transport does next with the body: the dvmm codec (its own
  // target fuzzes it harder; this checks the hand-over).
  (void)decode(f.frame);
}

// The MAC table from the addresses in the input: lookups must give back
// what add() accepted.
void check_macs(std::span<const uint8_t> in) {
  MacTable table;
  std::vector<std::pair<MacAddress, NodeId>> added;
  for (size_t at = 0; at + 8 <= in.size() && added.size() < 64; at += 8) {
    MacAddress mac;
    std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(at), 6, mac.begin());
    const auto node = static_cast<NodeId>((in[at + 6] | in[at + 7] << 8) % 1024);
    (void)is_unicast(mac);
    if (table.add(node, mac)) added.emplace_back(mac, node);
  }
  for (const auto& [mac, node] : added) {
    NodeId found = 0;
    if (!table.lookup(mac, found) || found != node) fail("MAC table lost an entry");
    const MacAddress* back = table.mac_of(node);
    if (back == nullptr || *back != mac) fail("MAC table mac_of disagrees with add");
  }
}

std::vector<dvmm::fuzz::Seed> seeds() {
  const MacAddress a{0x02, 0xd7, 0, 1, 0, 0};
  const MacAddress b{0x02, 0xd7, 0, 1, 0, 1};
  auto seed = [&](std::span<const uint8_t> body, bool truncate) {
    std::vector<uint8_t> eth(encap_size(body.size()));
    eth.resize(encode_frame(eth, b, a, body));
    dvmm::fuzz::Output o;
    o.u16(static_cast<uint16_t>(eth.size()));
    if (truncate) eth.resize(eth.size() / 2);
    o.bytes(eth);
    return o.data();
  };
  // An ack (padded to the Ethernet minimum) and a DSM chunk (no padding),
  // with the incarnation trailer as a ReliableLink sends them.
  Message ack;
  ack.header.flags = kFlagAckOnly | kFlagIncarnation;
  ack.header.src_node = 0;
  ack.header.dst_node = 1;
  ack.header.cluster_id = 1;
  ack.header.src_incarnation = 0x1000;
  ack.header.dst_incarnation = 0x2000;
  ack.payload = AckPayload{};
  std::array<uint8_t, kMaxEncodedSize> buf{};
  const size_t ack_len = encode(ack, buf);
  const std::vector<uint8_t> ack_bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(ack_len));

  Message data = ack;
  data.header.flags = kFlagIncarnation;
  data.header.seq = 1;
  DsmDataPayload d;
  d.page = 3;
  d.chunk_offset = 0;
  d.data.assign(200, 0x5A);
  data.payload = std::move(d);
  const size_t data_len = encode(data, buf);
  const std::vector<uint8_t> data_bytes(buf.begin(),
                                        buf.begin() + static_cast<std::ptrdiff_t>(data_len));

  std::vector<uint8_t> ipv4 = seed(ack_bytes, false);
  ipv4[2 + 12] = 0x08;  // EtherType 0x0800: another protocol on the link
  ipv4[2 + 13] = 0x00;
  return {
      {"ack-padded", seed(ack_bytes, false)},
      {"dsm-chunk", seed(data_bytes, false)},
      {"multi-segment", seed(data_bytes, true)},
      {"ipv4", ipv4},
  };
}

void run(dvmm::fuzz::Input& in) {
  const size_t claimed = in.u16();
  const std::span<const uint8_t> frame = in.rest();
  // A segmented mbuf reports at least the bytes its first segment holds.
  check(frame, std::max(claimed, frame.size()));
  check(frame, frame.size());
  check_macs(frame);
}

}  // namespace

DVMM_FUZZ_TARGET(seeds, run)
