// The cluster configuration: one VM (memory, kernel, command line, vCPU
// count), the nodes that run it (id, dataplane address, which vCPUs each
// runs) and the transport between them. Read from TOML; every mistake is
// reported with the file, the key and what to write instead.
//
//   [vm]
//   vcpus = 4
//   memory = "256M"            # QEMU -m syntax; a plain number is MiB
//   kernel = "smp-test"        # path (relative to this file) or the bundled "smp-test"
//   cmdline = ""
//
//   [cluster]
//   id = 1                     # 32-bit cluster id carried in every frame
//   transport = "shm"          # "shm" (one host) or "udp"
//   memory = "dsm"             # guest RAM: "shared" tmpfs file (one host only) or "dsm";
//                              # default "shared" with the shm transport, "dsm" otherwise
//
//   [[node]]
//   id = 0                     # dense from 0; node 0 is the I/O home and runs vCPU 0
//   vcpus = [0, 1]
//   address = "127.0.0.1:7100" # udp: host:port this node receives on
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "host/common/result.hpp"

namespace dvmm::cluster {

enum class TransportKind { kShm, kUdp };
// How guest RAM is shared: one tmpfs file mapped by every node (nodes on
// one host), or the distributed shared memory protocol (nothing shared).
enum class MemoryMode { kShared, kDsm };

struct NodeConfig {
  uint16_t id = 0;
  std::vector<uint32_t> vcpus;
  std::string host;   // from address; empty when the transport needs none
  uint16_t port = 0;
};

struct ClusterConfig {
  std::string source;  // file name, for messages
  // [vm]
  unsigned vcpus = 1;
  uint64_t memory_bytes = 256ull << 20;
  std::string kernel;  // empty or "smp-test": the bundled guest
  std::string cmdline;
  // [cluster]
  uint32_t cluster_id = 1;
  TransportKind transport = TransportKind::kShm;
  MemoryMode memory = MemoryMode::kShared;  // default: shared for shm, dsm otherwise
  // [[node]], indexed by id
  std::vector<NodeConfig> nodes;
  // vCPU index -> node id
  std::vector<uint16_t> vcpu_node;

  bool bundled_kernel() const { return kernel.empty() || kernel == "smp-test"; }
};

// Parses and validates. `source` names the text in error messages and is
// the directory relative kernel paths are resolved against.
Result<ClusterConfig> parse_cluster_config(std::string_view text, std::string_view source);
Result<ClusterConfig> load_cluster_config(const std::string& path);

const char* transport_name(TransportKind kind);
const char* memory_mode_name(MemoryMode mode);

}  // namespace dvmm::cluster
