// The DPDK transport's factory. The implementation lives in dataplane/dpdk/
// (eal.cpp: EAL lifetime; frame.cpp: Ethernet encapsulation;
// transport_init.cpp: setup; transport_datapath.cpp: the hot path), built
// as the dvmm_dpdk library only where libdpdk-dev is installed.
#include "dataplane/dpdk_transport.hpp"

#include "dataplane/dpdk/transport_impl.hpp"

namespace dvmm::dataplane {

Result<std::unique_ptr<Transport>> make_dpdk_transport(const DpdkTransportConfig& config) {
  return dpdk::DpdkTransportImpl::open(config);
}

}  // namespace dvmm::dataplane
