// Fuzzes the cluster configuration reader (host/cluster/cluster_config.hpp):
// parse_cluster_config on arbitrary text, then, for a configuration it
// accepts, the promises callers rely on: nodes dense from 0, every vCPU on
// exactly one node, vCPU 0 on node 0; and node_eal_args for every node.
//
// The reader resolves udp host names with getaddrinfo. A fuzzer must not
// send DNS queries (no network here, and each would stall a run), so this
// binary interposes getaddrinfo with one that resolves numeric addresses
// only; the parser's own logic around it runs unchanged.
#include <dlfcn.h>
#include <netdb.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_input.hpp"
#include "host/cluster/cluster_config.hpp"

namespace {

using dvmm::fuzz::fail;

using GetaddrinfoFn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);

}  // namespace

// Interposes the C library's getaddrinfo for this binary (the executable's
// definition wins over libc's, and over ASan's interceptor, which is weak);
// the real one is found with RTLD_NEXT and called with AI_NUMERICHOST,
// which never touches the network: a name fails with EAI_NONAME, as an
// unknown host would.
extern "C" int getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                           addrinfo** res) {
  static const auto real = reinterpret_cast<GetaddrinfoFn>(dlsym(RTLD_NEXT, "getaddrinfo"));
  if (real == nullptr) return EAI_FAIL;
  addrinfo numeric{};
  if (hints != nullptr) numeric = *hints;
  numeric.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
  return real(node, service, &numeric, res);
}

namespace {

void check(const dvmm::cluster::ClusterConfig& c) {
  if (c.nodes.empty()) fail("accepted a configuration without nodes");
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    if (c.nodes[i].id != i) fail("node ids are not dense from 0");
  }
  if (c.vcpus == 0 || c.vcpu_node.size() != c.vcpus) fail("vcpu_node does not cover the vCPUs");
  if (c.vcpu_node[0] != 0) fail("vCPU 0 is not on node 0");
  size_t placed = 0;
  for (const auto& n : c.nodes) {
    for (uint32_t v : n.vcpus) {
      if (v >= c.vcpus || c.vcpu_node[v] != n.id) fail("a node lists a vCPU placed elsewhere");
      ++placed;
    }
  }
  if (placed != c.vcpus) fail("a vCPU is placed twice or not at all");
  for (const auto& n : c.nodes) (void)dvmm::cluster::node_eal_args(c, n.id, "fuzz");
  (void)dvmm::cluster::transport_name(c.transport);
  (void)dvmm::cluster::memory_mode_name(c.memory);
}

std::vector<dvmm::fuzz::Seed> seeds() {
  auto seed = [](std::string_view name, std::string_view text) {
    return dvmm::fuzz::Seed{std::string(name), std::vector<uint8_t>(text.begin(), text.end())};
  };
  return {
      seed("minimal.toml", "[vm]\n[[node]]\nid = 0\nvcpus = [0]\n"),
      seed("shm.toml",
           "[vm]\nvcpus = 2\nmemory = \"128M\"\nkernel = \"smp-test\"\ncmdline = \"x\"\n"
           "[cluster]\nid = 3\ntransport = \"shm\"\nmemory = \"dsm\"\n"
           "[[node]]\nid = 0\nvcpus = [0]\n[[node]]\nid = 1\nvcpus = [1]\n"),
      seed("udp.toml",
           "[vm]\nvcpus = 3\nmemory = 256\nkernel = \"guest.elf\"\n"
           "[cluster]\ntransport = \"udp\"\n"
           "[[node]]\nid = 0\nvcpus = [0, 2]\naddress = \"127.0.0.1:7100\"\n"
           "[[node]]\nid = 1\nvcpus = [1]\naddress = \"[::1]:7101\"\n"),
      seed("dpdk-host.toml",
           "[vm]\nvcpus = 2\n[cluster]\ntransport = \"dpdk\"\n"
           "[dpdk]\neal_args = [\"--no-huge\", \"--file-prefix=n{node}-{instance}\"]\n"
           "mtu = 9000\nport = 0\nmbufs = 4096\npolling = \"busy\"\n"
           "[[node]]\nid = 0\nvcpus = [0]\nmac = \"02:00:00:00:00:01\"\n"
           "eal_args = [\"--vdev=net_memif0,role=server\"]\n"
           "[[node]]\nid = 1\nvcpus = [1]\neal_args = [\"--vdev=net_memif0,role=client\"]\n"),
      seed("dpdk-namespaces.toml",
           "[vm]\nvcpus = 2\n[cluster]\nid = 258\ntransport = \"dpdk\"\n"
           "[dpdk]\nnetwork = \"namespaces\"\npolling = \"adaptive\"\n"
           "[[node]]\nid = 1\nvcpus = [1]\n[[node]]\nid = 0\nvcpus = [0]\n"),
  };
}

void run(dvmm::fuzz::Input& in) {
  const std::span<const uint8_t> bytes = in.rest();
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  dvmm::Result<dvmm::cluster::ClusterConfig> c =
      dvmm::cluster::parse_cluster_config(text, "/fuzz/cluster.toml");
  if (c.ok()) check(*c);
}

}  // namespace

DVMM_FUZZ_TARGET(seeds, run)
