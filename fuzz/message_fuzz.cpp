// Fuzzes the wire codec (dataplane/message.hpp): the input is one received
// frame, as any transport hands it to the reliability layer.
//
// Besides the sanitizers, one property: the codec accepts only canonical
// frames (every reserved field zero, every length exact), so a frame that
// decodes must encode back to exactly the same bytes. A difference means
// decode() accepted something encode() cannot produce, i.e. a field it
// failed to validate.
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "dataplane/message.hpp"
#include "fuzz/fuzz_input.hpp"

namespace {

using namespace dvmm::dataplane;

std::vector<uint8_t> encoded(const Message& m) {
  std::vector<uint8_t> out(kMaxEncodedSize);
  out.resize(encode(m, out));
  return out;
}

Message with(Payload p, uint32_t seq = 7) {
  Message m;
  m.header.src_node = 1;
  m.header.dst_node = 0;
  m.header.seq = seq;
  m.header.ack = 3;
  m.header.cluster_id = 1;
  m.payload = std::move(p);
  return m;
}

std::vector<dvmm::fuzz::Seed> seeds() {
  Message ack = with(AckPayload{}, 0);
  ack.header.flags = kFlagAckOnly;

  IpiPayload ipi;
  ipi.target_vcpu = 1;
  ipi.vector = 0x40;
  ipi.flags = 0x01;
  ipi.destination = 2;

  IoRequestPayload io;
  io.request_id = 9;
  io.space = IoSpace::kPort;
  io.size = 1;
  io.is_write = 1;
  io.address = 0x3F8;
  io.data = 'A';

  ApicUpdatePayload upd;
  upd.vcpu = 1;
  upd.apic_id = 1;
  upd.ldr = 0x02000000;
  upd.flags = 0x06;
  upd.update_id = 4;

  ControlPayload stop;
  stop.code = ControlCode::kStop;
  stop.status = 3;

  DsmRequestPayload req;
  req.page = 0x100;
  req.request_id = 5;
  req.access = DsmAccess::kWrite;

  DsmForwardPayload fwd;
  fwd.page = 0x100;
  fwd.request_id = 5;
  fwd.requester = 2;
  fwd.action = DsmAction::kDowngrade;
  fwd.flags = kDsmForwardSendData;

  // A chunk in the middle of the page, and a grant without bytes.
  DsmDataPayload chunk;
  chunk.page = 0x100;
  chunk.request_id = 5;
  chunk.chunk_offset = 1024;
  chunk.data.assign(64, 0xA5);
  DsmDataPayload zero;
  zero.page = 0x101;
  zero.flags = kDsmDataZero;

  // What ReliableLink sends: the incarnation trailer behind the payload
  // (a data frame to a known receiver, an ACK introducing its sender).
  auto stamped = [](Message m, uint64_t dst_incarnation) {
    m.header.flags |= kFlagIncarnation;
    m.header.src_incarnation = 0x1'8A2B'3C4D'5E6Full;
    m.header.dst_incarnation = dst_incarnation;
    return m;
  };

  return {
      {"ack", encoded(ack)},
      {"ipi", encoded(with(ipi))},
      {"io-request", encoded(with(io))},
      {"io-response", encoded(with(IoResponsePayload{9, 0x60}))},
      {"eoi", encoded(with(EoiPayload{0x30, {}}))},
      {"apic-update", encoded(with(upd))},
      {"apic-update-ack", encoded(with(ApicUpdateAckPayload{4}))},
      {"clock", encoded(with(ClockPayload{1, 1000, 2000}))},
      {"heartbeat", encoded(with(HeartbeatPayload{123}))},
      {"control-stop", encoded(with(stop))},
      {"dsm-request", encoded(with(req))},
      {"dsm-forward", encoded(with(fwd))},
      {"dsm-data-chunk", encoded(with(chunk))},
      {"dsm-data-zero", encoded(with(zero))},
      {"dsm-ack", encoded(with(DsmAckPayload{0x100, 5}))},
      {"dsm-done", encoded(with(DsmDonePayload{0x100, 5}))},
      {"ipi-incarnation", encoded(stamped(with(ipi), 0x1'8A2B'3C4D'0001ull))},
      {"ack-incarnation-hello", encoded(stamped(ack, 0))},
  };
}

void run(dvmm::fuzz::Input& in) {
  const std::span<const uint8_t> frame = in.rest();
  dvmm::Result<Message> m = decode(frame);
  if (!m.ok()) return;
  (void)message_type_name(m->header.type);

  std::array<uint8_t, kMaxEncodedSize> out{};
  const size_t len = encode(*m, out);
  if (len == 0) dvmm::fuzz::fail("a decoded message does not encode");
  if (len != frame.size() || !std::equal(frame.begin(), frame.end(), out.begin())) {
    dvmm::fuzz::fail("decode then encode changed the frame");
  }
}

}  // namespace

DVMM_FUZZ_TARGET(seeds, run)
