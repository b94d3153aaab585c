#include "tools/dvmm-bench/ping_pong.hpp"

namespace dvmm::bench {

const char* layer_name(Layer layer) { return layer == Layer::kRaw ? "raw" : "reliable"; }

Result<PhaseResult> run_initiator(dataplane::Transport& transport, const PhaseSpec& spec,
                                  Progress& progress, const std::function<bool()>& echo_finished) {
  if (spec.layer == Layer::kRaw) return run_raw_initiator(transport, spec, progress, echo_finished);
  return run_reliable_initiator(transport, spec, progress, echo_finished);
}

Result<EchoResult> run_echo(dataplane::Transport& transport, const PhaseSpec& spec) {
  if (spec.layer == Layer::kRaw) return run_raw_echo(transport, spec);
  return run_reliable_echo(transport, spec);
}

}  // namespace dvmm::bench
