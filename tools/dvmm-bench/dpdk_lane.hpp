// A dpdk transport under test. A process can start DPDK's EAL once and
// never hand it to a forked child, and the benchmark process measures
// several transports and forks an echo process per transport, so it never
// starts an EAL itself; both DPDK ends are forked instead:
//
//   dvmm-bench (parent: sets the phases, collects the samples; no EAL)
//     └─ initiator process (node 0: EAL, its end, run_echo_phase as the
//        parent does for shm/udp; streams each phase's samples back)
//          └─ echo process (node 1: EAL, its end, echo_child_main)
//
// The echo process is forked by the initiator process before either
// starts its EAL, and opens its end first (the memif server, which the
// client then connects to). For dpdk-afpacket the parent creates the veth
// namespaces (bench_netns.hpp) and each process enters its own before
// starting its EAL. Both processes keep the CPU plan: the initiator on
// plan.initiator_cpu, the echo process on plan.echo_cpu (dvmm's EAL start
// gives the thread its affinity back, see dataplane/dpdk/eal.cpp).
//
// Every wait is bounded; both processes die with their parent
// (PR_SET_PDEATHSIG), and the parent's destructor kills the initiator
// process before it removes the namespaces.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "host/common/result.hpp"
#include "tools/dvmm-bench/bench_netns.hpp"
#include "tools/dvmm-bench/cpu_plan.hpp"
#include "tools/dvmm-bench/forked_child.hpp"
#include "tools/dvmm-bench/ping_pong.hpp"
#include "tools/dvmm-bench/progress.hpp"

namespace dvmm::bench {

class DpdkLane {
 public:
  // in_child: as start_echo_endpoint's (closes what the new process
  // inherited from processes forked earlier). Needs root and DPDK.
  static Result<std::unique_ptr<DpdkLane>> start(const std::string& kind, const CpuPlan& plan,
                                                 const std::function<void()>& in_child);
  ~DpdkLane();
  DpdkLane(const DpdkLane&) = delete;
  DpdkLane& operator=(const DpdkLane&) = delete;

  // One phase, run by the initiator process; blocks until it reports.
  Result<PhaseResult> run_phase(const PhaseSpec& spec, Progress& progress,
                                uint64_t& echo_retransmitted);

  ForkedChild& child() { return initiator_; }
  // Both ports, for the output.
  const std::string& detail() const { return detail_; }

 private:
  DpdkLane() = default;

  std::unique_ptr<VethNamespaces> netns_;  // first: removed after the processes are gone
  ForkedChild initiator_;
  std::string kind_;
  std::string detail_;
};

}  // namespace dvmm::bench
