// The DPDK Environment Abstraction Layer, once per process.
//
// rte_eal_init() may run only once in a process's life (a second call fails
// with EALREADY, and a failed call cannot be retried reliably), so the first
// eal_init() decides: its arguments start the EAL, and every later call
// either matches them (or passes none) and shares that EAL, or is refused.
// A failure is remembered and returned again.
//
// Fork: the EAL starts threads and maps memory that a child cannot use.
// Initialise it in the process that will run the dataplane, after any
// fork() (the tests fork first and start the EAL in each child).
#pragma once

#include <string>
#include <vector>

#include "host/common/result.hpp"

namespace dvmm::dataplane::dpdk {

// Starts the EAL with `args` (program name not included; passed through
// untouched, e.g. {"--no-huge","--no-pci","-m","256","--no-shconf",
// "--vdev=net_memif0,role=server,socket=/tmp/x.sock"}). Thread-safe.
Status eal_init(const std::vector<std::string>& args);

bool eal_initialized();

// The arguments the EAL was started with (empty before eal_init()).
std::vector<std::string> eal_args();

// The device strings ("NAME,k=v,...") of every --vdev in `args`, written
// "--vdev=DEV" or "--vdev DEV", in order: for error messages that name
// what failed to probe.
std::vector<std::string> vdev_args(const std::vector<std::string>& args);

}  // namespace dvmm::dataplane::dpdk
