// The protocol-stack ping-pong (see ping_pong.hpp): an I/O request from
// node 0 answered by an I/O response from node 1, both through a
// ReliableLink, exactly the round trip of a vCPU's port access forwarded
// to the I/O home (minus the device emulation). Every message carries the
// cumulative ACK of the other direction, so in a steady ping-pong the link
// sends no ACK-only frames.
#include <array>
#include <variant>

#include "dataplane/message.hpp"
#include "dataplane/reliable_link.hpp"
#include "host/common/clock.hpp"
#include "tools/dvmm-bench/bench_clock.hpp"
#include "tools/dvmm-bench/ping_pong.hpp"

namespace dvmm::bench {
namespace {

using dataplane::ControlCode;
using dataplane::ControlPayload;
using dataplane::IoRequestPayload;
using dataplane::IoResponsePayload;
using dataplane::Message;
using dataplane::NodeId;
using dataplane::ReliableLink;
using dataplane::Transport;

constexpr NodeId kInitiatorNode = 0;
constexpr NodeId kEchoNode = 1;
// After the stop, the echo side waits this long at most for the ACK of its
// last response (the initiator's delayed ACK, 50 µs by default).
constexpr uint64_t kAckDrainNs = 50'000'000;

ReliableLink::Config link_config(const PhaseSpec& spec, NodeId local, NodeId peer) {
  ReliableLink::Config c;
  c.cluster_id = spec.tag;
  c.local = local;
  c.peers = {peer};
  return c;
}

Message io_request(uint64_t id) {
  Message m;
  m.header.dst_node = kEchoNode;
  IoRequestPayload p;
  p.request_id = id;
  p.vcpu = 0;
  p.space = dataplane::IoSpace::kPort;
  p.size = 4;
  p.is_write = 1;
  p.address = 0x510;  // any port: nothing is emulated
  p.data = id;
  m.payload = p;
  return m;
}

Message io_response(NodeId dst, uint64_t id) {
  Message m;
  m.header.dst_node = dst;
  m.payload = IoResponsePayload{id, 0};
  return m;
}

Message stop_message() {
  Message m;
  m.header.dst_node = kEchoNode;
  ControlPayload c;
  c.code = ControlCode::kStop;
  m.payload = c;
  return m;
}

size_t encoded_size(const Message& m) {
  std::array<uint8_t, dataplane::kMaxMessageSize> buf{};
  return dataplane::encode(m, buf);
}

}  // namespace

MessageSizes reliable_message_sizes() {
  return MessageSizes{encoded_size(io_request(1)), encoded_size(io_response(0, 1))};
}

Result<PhaseResult> run_reliable_initiator(Transport& t, const PhaseSpec& spec, Progress& progress,
                                           const std::function<bool()>& echo_finished) {
  MonotonicClock clock;
  ReliableLink link(t, clock, link_config(spec, kInitiatorNode, kEchoNode));
  PhaseResult r;
  // The link retransmits by itself: no resend here.
  AnswerWait wait(spec, echo_finished, t.name(), {});
  uint64_t awaited = 0;
  bool answered = false;
  // Built once: poll() takes a std::function, and constructing one per
  // call would add an allocation to every poll.
  const std::function<void(const Message&)> deliver = [&](const Message& m) {
    const auto* resp = std::get_if<IoResponsePayload>(&m.payload);
    if (resp != nullptr && resp->request_id == awaited) {
      answered = true;
    } else {
      ++r.stray;
    }
  };

  Message req;
  DVMM_TRY(measure_round_trips(
      spec, progress, wait, r,
      [&](uint64_t id) {
        awaited = id;
        answered = false;
        req = io_request(id);
      },
      [&] { return link.send(std::move(req)); },
      [&](uint64_t) {
        if (link.poll(deliver) == 0) return Polled::kNothing;
        return answered ? Polled::kAnswer : Polled::kOther;
      }));

  // The stop is reliable itself; keep polling so that it (and the ACK of
  // the last response) actually goes out until the echo side confirms.
  DVMM_TRY(link.send(stop_message()));
  for (;;) {
    (void)link.poll(deliver);
    if (echo_finished()) break;
    if (now_ns() >= spec.deadline_ns + kStopGraceNs) {
      return Error::format("{}: the echo process did not confirm the end of the phase", t.name());
    }
  }
  r.retransmitted = link.counters().retransmitted;
  return r;
}

Result<EchoResult> run_reliable_echo(Transport& t, const PhaseSpec& spec) {
  MonotonicClock clock;
  ReliableLink link(t, clock, link_config(spec, kEchoNode, kInitiatorNode));
  EchoResult e;
  bool stop = false;
  std::optional<Error> failure;
  const std::function<void(const Message&)> deliver = [&](const Message& m) {
    if (const auto* req = std::get_if<IoRequestPayload>(&m.payload)) {
      Status s = link.send(io_response(m.header.src_node, req->request_id));
      if (!s.ok()) {
        failure = s.take_error();
        return;
      }
      ++e.echoed;
    } else if (const auto* c = std::get_if<ControlPayload>(&m.payload)) {
      stop = stop || c->code == ControlCode::kStop;
    }
  };

  uint32_t idle = 0;
  while (!stop) {
    if (link.poll(deliver) > 0) {
      if (failure) return *failure;
      continue;
    }
    if (echo_overdue(spec, idle)) {
      return Error::format("{}: no stop message from the initiator before the deadline", t.name());
    }
  }
  // Leave only when the last response is acknowledged: otherwise it would
  // be retransmitted into the next phase (where it is ignored, but counted).
  const uint64_t until = now_ns() + kAckDrainNs;
  while (!link.all_acknowledged() && now_ns() < until) (void)link.poll(deliver);
  e.retransmitted = link.counters().retransmitted;
  return e;
}

}  // namespace dvmm::bench
