// The cluster configuration: one VM (memory, kernel, command line, vCPU
// count), the nodes that run it (id, dataplane address, which vCPUs each
// runs) and the transport between them. Read from TOML; every mistake is
// reported with the file, the key and what to write instead.
//
//   [vm]
//   vcpus = 4
//   memory = "256M"            # QEMU -m syntax; a plain number is MiB
//   kernel = "smp-test"        # path (relative to this file) or the bundled "smp-test";
//                              # a multiboot kernel, Linux bzImage or PVH ELF
//   initrd = "initrd.cpio.gz"  # optional, Linux only (relative to this file)
//   cmdline = ""
//   linux_entry = "pvh"        # how a bzImage is entered: "pvh" (unpacked on the host)
//                              # or "boot-params" (Linux's 64-bit boot protocol)
//
//   [cluster]
//   id = 1                     # 32-bit cluster id carried in every frame
//   transport = "shm"          # "shm" (one host), "udp", "dpdk" or "fpga"
//   memory = "dsm"             # guest RAM: "shared" tmpfs file (one host only) or "dsm";
//                              # default "shared" with the shm and fpga transports, "dsm"
//                              # otherwise; fpga requires "shared" (no DSM pages through
//                              # the engine)
//   key_file = "cluster.key"   # optional: authenticate every frame with this shared key
//                              # (64 hex digits, chmod 600; relative to this file)
//
//   [dpdk]                     # transport = "dpdk" only
//   eal_args = ["--no-huge", "--no-pci", "-m", "256", "--no-shconf"]
//                              # every node's EAL arguments, passed through untouched
//                              # except that {node} and {instance} are replaced
//   network = "host"           # "host": each node's port is what its EAL arguments
//                              # make (a NIC, net_memif, ...); "namespaces": `dvmm run`
//                              # puts each node in its own network namespace, all joined
//                              # by veth pairs to one bridge, and gives each node a
//                              # net_af_packet port on its veth (one host, as if many)
//   mtu = 9000                 # namespaces: the veths' MTU; host: set on the port (0: keep)
//   port = 0                   # DPDK port id of the node's port
//   mbufs = 4096               # mbuf pool size
//   polling = "adaptive"       # or "busy": the poller never sleeps (a dedicated core)
//
//   [fpga]                     # transport = "fpga" only (docs/fpga.md)
//   device = "sim"             # "sim": the Verilated engine in each node process;
//                              # "xrt": an Alveo card through XRT
//   wire = "shm"               # sim: what joins the engines' Ethernet ports ("shm" or "udp")
//   retransmit_timeout_cycles = 2000   # engine cycles without progress before go-back-N
//   ack_delay_cycles = 16      # cycles a standalone ACK waits for a piggyback ride
//   sim_cycle_ns = 4000        # sim: wall time one cycle stands for while the engine
//                              # waits on those timers (4 µs: 8 ms timeout, 64 µs ack delay)
//   xrt_device = 0             # xrt: card index
//   xclbin = "dvmm.xclbin"     # xrt: the bitstream (relative to this file)
//
//   [[node]]
//   id = 0                     # dense from 0; node 0 is the I/O home and runs vCPU 0
//   vcpus = [0, 1]
//   address = "127.0.0.1:7100" # udp: host:port this node receives on
//   mac = "02:00:00:00:00:01"  # dpdk, fpga: this node's MAC (default 02:d7:<cluster id>:<node id>)
//   eal_args = ["--vdev=net_memif0,role=server"]  # dpdk: appended to [dpdk] eal_args
#pragma once

#include <array>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "host/boot/kernel_loader.hpp"
#include "host/common/result.hpp"

namespace dvmm::cluster {

enum class TransportKind { kShm, kUdp, kDpdk, kFpga };
// Where the nodes' DPDK ports come from (see [dpdk] network above).
enum class DpdkNetwork { kHost, kNamespaces };
// How guest RAM is shared: one tmpfs file mapped by every node (nodes on
// one host), or the distributed shared memory protocol (nothing shared).
enum class MemoryMode { kShared, kDsm };

struct NodeConfig {
  uint16_t id = 0;
  std::vector<uint32_t> vcpus;
  std::string host;   // from address; empty when the transport needs none
  uint16_t port = 0;
  std::array<uint8_t, 6> mac{};        // dpdk, fpga: from mac, or the default
  std::vector<std::string> eal_args;   // dpdk: this node's own EAL arguments
};

struct DpdkSettings {
  std::vector<std::string> eal_args;
  DpdkNetwork network = DpdkNetwork::kHost;
  uint16_t mtu = 0;  // 0: keep the port's (namespaces: 9000 unless set)
  uint16_t port_id = 0;
  uint32_t mbufs = 4096;
  bool busy_poll = false;
};

enum class FpgaDeviceKind { kSim, kXrt };
// What carries the co-simulated engines' Ethernet frames between nodes.
enum class FpgaWire { kShm, kUdp };

struct FpgaSettings {
  FpgaDeviceKind device = FpgaDeviceKind::kSim;
  FpgaWire wire = FpgaWire::kShm;
  uint32_t retransmit_timeout_cycles = 2000;
  uint32_t ack_delay_cycles = 16;
  uint32_t sim_cycle_ns = 4000;
  uint32_t xrt_device = 0;
  std::string xclbin;  // resolved against the configuration's directory
};

struct ClusterConfig {
  std::string source;  // file name, for messages
  // [vm]
  unsigned vcpus = 1;
  uint64_t memory_bytes = 256ull << 20;
  std::string kernel;  // empty or "smp-test": the bundled guest
  std::string initrd;  // Linux kernels only; empty = none
  std::string cmdline;
  boot::LinuxEntry linux_entry = boot::LinuxEntry::kPvh;
  // [cluster]
  uint32_t cluster_id = 1;
  TransportKind transport = TransportKind::kShm;
  MemoryMode memory = MemoryMode::kShared;  // default: shared for shm, dsm otherwise
  DpdkSettings dpdk;                         // [dpdk], transport = "dpdk" only
  FpgaSettings fpga;                         // [fpga], transport = "fpga" only
  std::string key_file;                      // empty: frames are not authenticated
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

// The EAL arguments node `id` starts DPDK with: [dpdk] eal_args, then the
// node's own, with {node} and {instance} replaced; with network =
// "namespaces" also the net_af_packet port on the node's veth.
std::vector<std::string> node_eal_args(const ClusterConfig& config, uint16_t id,
                                       const std::string& instance);

// The interface a node's port is bound to in network = "namespaces" (in
// the node's own namespace, so every node uses the same name).
inline constexpr const char* kNamespaceInterface = "dvmm0";

}  // namespace dvmm::cluster
