#include "tools/dvmm-bench/endpoint_pair.hpp"

#include <unistd.h>

#include <atomic>

#include <fmt/format.h>

#include "dataplane/shm_transport.hpp"
#include "dataplane/udp_transport.hpp"

namespace dvmm::bench {
namespace {

using dataplane::ShmTransport;
using dataplane::UdpTransport;

Result<EndpointPair> make_shm_pair() {
  // Unique per process and per pair: concurrent benchmark runs (and test
  // runs) must never share rings.
  static std::atomic<unsigned> serial{0};
  EndpointPair p;
  p.kind = "shm";
  p.shm_path = fmt::format("/dev/shm/dvmm-bench-{}-{}", getpid(), serial++);
  // A stale file of the same geometry would deliver an old run's frames.
  DVMM_TRY(ShmTransport::unlink(p.shm_path));
  dataplane::ShmTransportConfig c;
  c.path = p.shm_path;
  c.node_count = 2;
  c.cluster_id = 0xBE7C;
  c.local = 0;
  p.initiator = DVMM_TRY(dataplane::make_shm_transport(c));
  c.local = 1;
  p.echo = DVMM_TRY(dataplane::make_shm_transport(c));
  // Both ends have the file mapped now and the doorbell sockets are
  // abstract (no file): removing the path at once means nothing is left in
  // /dev/shm even if the benchmark is killed with SIGKILL.
  DVMM_TRY(ShmTransport::unlink(p.shm_path));
  p.detail = fmt::format("ring file {} (removed once mapped)", p.shm_path);
  return p;
}

Result<EndpointPair> make_udp_pair() {
  EndpointPair p;
  p.kind = "udp";
  // Distinct loopback addresses per node, as a cluster on one host uses;
  // port 0: the kernel picks free ports, so parallel runs never collide.
  dataplane::UdpTransportConfig c;
  c.nodes = {{0, "127.0.0.1", 0}, {1, "127.0.0.2", 0}};
  c.local = 0;
  p.initiator = DVMM_TRY(dataplane::make_udp_transport(c));
  c.local = 1;
  p.echo = DVMM_TRY(dataplane::make_udp_transport(c));
  auto& a = dynamic_cast<UdpTransport&>(*p.initiator);
  auto& b = dynamic_cast<UdpTransport&>(*p.echo);
  DVMM_TRY(a.set_peer_port(1, b.local_port()));
  DVMM_TRY(b.set_peer_port(0, a.local_port()));
  p.detail = fmt::format("127.0.0.1:{} <-> 127.0.0.2:{}", a.local_port(), b.local_port());
  return p;
}

}  // namespace

bool is_known_transport(std::string_view kind) { return kind == "shm" || kind == "udp"; }

Status check_transports(const std::vector<std::string>& kinds) {
  if (kinds.empty()) return Error::format("no transport given (known: {})", kKnownTransports);
  for (const std::string& t : kinds) {
    if (!is_known_transport(t)) {
      return Error::format("unknown transport '{}' (known: {}; this mode measures no dpdk or "
                           "fpga transport yet)",
                           t, kKnownTransports);
    }
  }
  return {};
}

EndpointPair::~EndpointPair() {
  if (!shm_path.empty()) (void)dataplane::ShmTransport::unlink(shm_path);
}

Result<EndpointPair> make_endpoint_pair(std::string_view kind) {
  if (kind == "shm") return make_shm_pair();
  if (kind == "udp") return make_udp_pair();
  return Error::format("unknown transport '{}' (known: {})", kind, kKnownTransports);
}

}  // namespace dvmm::bench
