// dvmm-bench without DPDK (libdpdk-dev was not found at configure time):
// the transport mode reports the dpdk series as not built and never calls
// the rest; these answer with the same reason if something does.
#include "tools/dvmm-bench/dpdk_endpoint.hpp"
#include "tools/dvmm-bench/ping_pong.hpp"

namespace dvmm::bench {
namespace {

Error not_built() { return Error::format("{}", kDpdkNotBuilt); }

}  // namespace

bool dpdk_built() { return false; }

Result<std::unique_ptr<dataplane::Transport>> open_dpdk_endpoint(const DpdkEndpointSpec&) {
  return not_built();
}

std::string describe_dpdk_endpoint(dataplane::Transport&) { return "not built"; }

bool dpdk_link_up(dataplane::Transport&) { return false; }

Result<PhaseResult> run_pmd_initiator(dataplane::Transport&, const PhaseSpec&, Progress&,
                                      const std::function<bool()>&) {
  return not_built();
}

Result<EchoResult> run_pmd_echo(dataplane::Transport&, const PhaseSpec&) { return not_built(); }

}  // namespace dvmm::bench
