#include "tools/dvmm-bench/ping_pong.hpp"

#include <sched.h>

#include <array>

#include "dataplane/authenticated_transport.hpp"
#include "tools/dvmm-bench/bench_clock.hpp"

namespace dvmm::bench {

Result<bool> AnswerWait::check() {
  const uint64_t now = now_ns();
  if (now >= spec_.deadline_ns) return true;
  if (now - sent_ns_ >= kPeerCheckNs && echo_finished_()) {
    return Error::format("{}: the echo process stopped answering", who_);
  }
  if (spec_.yield_when_idle) sched_yield();
  if (resend_ && now - last_send_ns_ >= kResendNs) {
    resend_();
    ++resent_;
    last_send_ns_ = now;
  }
  return false;
}

Status stop_until_confirmed(const PhaseSpec& spec, const std::function<bool()>& echo_finished,
                            const std::function<void()>& send_stop,
                            const std::function<void()>& drain, const char* who) {
  uint64_t last_stop = 0;
  for (;;) {
    const uint64_t now = now_ns();
    if (echo_finished()) return {};
    if (now >= spec.deadline_ns + kStopGraceNs) {
      return Error::format("{}: the echo process did not confirm the end of the phase", who);
    }
    if (now - last_stop >= kResendNs / 4) {
      send_stop();
      last_stop = now;
    }
    drain();
    sched_yield();
  }
}

bool echo_overdue(const PhaseSpec& spec, uint32_t& idle) {
  if (++idle % kIdleCheckEvery != 0) return false;
  if (now_ns() >= spec.deadline_ns + kStopGraceNs) return true;
  if (spec.yield_when_idle) sched_yield();
  return false;
}

// Any fixed key: both ends of a phase must agree, nothing else matters.
const dataplane::ClusterKey& bench_key() {
  static const dataplane::ClusterKey key = [] {
    std::array<uint8_t, dataplane::ClusterKey::kSize> b{};
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(0xD7 ^ i);
    return dataplane::ClusterKey::from_bytes(b);
  }();
  return key;
}

const char* layer_name(Layer layer) {
  switch (layer) {
    case Layer::kRaw:
      return "raw";
    case Layer::kReliable:
      return "reliable";
    case Layer::kPmd:
      return "pmd";
    case Layer::kAuthenticated:
      return "authenticated";
  }
  return "?";
}

Result<PhaseResult> run_initiator(dataplane::Transport& transport, const PhaseSpec& spec,
                                  Progress& progress, const std::function<bool()>& echo_finished) {
  if (spec.layer == Layer::kRaw) return run_raw_initiator(transport, spec, progress, echo_finished);
  if (spec.layer == Layer::kPmd) return run_pmd_initiator(transport, spec, progress, echo_finished);
  if (spec.layer == Layer::kAuthenticated) {
    auto auth = DVMM_TRY(dataplane::AuthenticatedTransport::create(transport, bench_key()));
    return run_reliable_initiator(*auth, spec, progress, echo_finished);
  }
  return run_reliable_initiator(transport, spec, progress, echo_finished);
}

Result<EchoResult> run_echo(dataplane::Transport& transport, const PhaseSpec& spec) {
  if (spec.layer == Layer::kRaw) return run_raw_echo(transport, spec);
  if (spec.layer == Layer::kPmd) return run_pmd_echo(transport, spec);
  if (spec.layer == Layer::kAuthenticated) {
    auto auth = DVMM_TRY(dataplane::AuthenticatedTransport::create(transport, bench_key()));
    return run_reliable_echo(*auth, spec);
  }
  return run_reliable_echo(transport, spec);
}

}  // namespace dvmm::bench
