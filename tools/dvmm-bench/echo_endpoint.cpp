#include "tools/dvmm-bench/echo_endpoint.hpp"

#include <fmt/format.h>

#include "tools/dvmm-bench/echo_child.hpp"

namespace dvmm::bench {
namespace {

// How long the echo process may take to say it is ready (it is blocked in
// recv and needs one wake-up: milliseconds at worst on a loaded machine).
constexpr int kReadyTimeoutMs = 5000;
constexpr int kReportTimeoutMs = 2000;

}  // namespace

Result<EchoEndpoint> start_echo_endpoint(const std::string& kind, const CpuPlan& plan,
                                         const std::function<void()>& in_child) {
  EchoEndpoint ep;
  ep.pair = DVMM_TRY(make_endpoint_pair(kind));
  EndpointPair& pair = ep.pair;
  const int cpu = plan.echo_cpu;
  ep.child = DVMM_TRY(ForkedChild::start([&pair, &in_child, cpu](int fd) {
    // In the child: drop what belongs to the parent (its end of this
    // transport, whatever the caller names).
    pair.initiator.reset();
    in_child();
    return echo_child_main(fd, *pair.echo, cpu);
  }));
  pair.echo.reset();  // the child's end
  return ep;
}

Result<PhaseResult> run_echo_phase(EchoEndpoint& ep, const PhaseSpec& spec, Progress& progress,
                                   uint64_t& echo_retransmitted) {
  const int fd = ep.child.control_fd();
  DVMM_TRY(send_control(fd, to_command(spec)));
  const EchoReport ready = DVMM_TRY(recv_control<EchoReport>(fd, kReadyTimeoutMs));
  if (ready.kind != EchoReport::kReady) {
    return Error::format("{} echo process: not ready for the phase", ep.pair.kind);
  }
  progress.set_label(fmt::format("{} {} {} B", ep.pair.kind, layer_name(spec.layer), spec.size));
  Result<PhaseResult> measured =
      run_initiator(*ep.pair.initiator, spec, progress, [fd] { return control_readable(fd); });
  if (!measured.ok()) {
    // The echo process's own account, if it left one, says more.
    Result<EchoReport> why = recv_control<EchoReport>(fd, 0);
    if (why.ok() && why->kind == EchoReport::kFailed) {
      return Error::format("{} echo process failed: {}", ep.pair.kind, why->error);
    }
    if (!why.ok()) {
      return Error::format("{} (echo process pid {}: {})", measured.error().message,
                           ep.child.pid(), why.error().message);
    }
    return measured.take_error();
  }
  PhaseResult r = std::move(*measured);
  const EchoReport done = DVMM_TRY(recv_control<EchoReport>(fd, kReportTimeoutMs));
  if (done.kind != EchoReport::kDone) {
    return Error::format("{} echo process failed: {}", ep.pair.kind,
                         done.kind == EchoReport::kFailed ? done.error : "unexpected report");
  }
  echo_retransmitted = done.retransmitted;
  return r;
}

}  // namespace dvmm::bench
