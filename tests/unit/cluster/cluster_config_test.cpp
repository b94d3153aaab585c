#include "host/cluster/cluster_config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <span>

namespace dvmm::cluster {
namespace {

constexpr const char* kTwoNodes = R"(
[vm]
vcpus = 4
memory = "128M"
cmdline = "quiet"

[cluster]
id = 7
transport = "udp"

[[node]]
id = 1
vcpus = [2, 3]
address = "127.0.0.2:7100"

[[node]]
id = 0
vcpus = [0, 1]
address = "127.0.0.1:7100"
)";

TEST(ClusterConfig, ParsesAValidConfig) {
  auto c = parse_cluster_config(kTwoNodes, "/etc/dvmm/test.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->vcpus, 4u);
  EXPECT_EQ(c->memory_bytes, 128ull << 20);
  EXPECT_EQ(c->cmdline, "quiet");
  EXPECT_EQ(c->cluster_id, 7u);
  EXPECT_EQ(c->transport, TransportKind::kUdp);
  EXPECT_EQ(c->memory, MemoryMode::kDsm) << "nodes not declared to share a host default to DSM";
  ASSERT_EQ(c->nodes.size(), 2u);
  EXPECT_EQ(c->nodes[1].host, "127.0.0.2");
  EXPECT_EQ(c->nodes[1].port, 7100);
  EXPECT_EQ(c->vcpu_node, (std::vector<uint16_t>{0, 0, 1, 1}));
  EXPECT_TRUE(c->bundled_kernel());
}

TEST(ClusterConfig, RelativeKernelIsResolvedAgainstTheConfigDirectory) {
  std::string text = kTwoNodes;
  text.replace(text.find("cmdline"), 0, "kernel = \"guests/k.elf\"\n");
  auto c = parse_cluster_config(text, "/etc/dvmm/test.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->kernel, "/etc/dvmm/guests/k.elf");
}

struct BadConfig {
  const char* name;
  std::string text;
  const char* expect;
};

std::string replace(std::string text, const std::string& from, const std::string& to) {
  size_t pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return text.replace(pos, from.size(), to);
}

// Each config is refused with an error naming the file and saying `expect`.
void expect_all_rejected(std::span<const BadConfig> cases) {
  for (const BadConfig& bad : cases) {
    auto c = parse_cluster_config(bad.text, "/etc/dvmm/test.toml");
    ASSERT_FALSE(c.ok()) << bad.name;
    EXPECT_NE(c.error().message.find(bad.expect), std::string::npos)
        << bad.name << ": " << c.error().message;
    EXPECT_NE(c.error().message.find("test.toml"), std::string::npos) << bad.name;
  }
}

TEST(ClusterConfig, RejectsMistakesWithPreciseErrors) {
  const std::string base = kTwoNodes;
  const BadConfig cases[] = {
      {"syntax", "[vm\nvcpus = 1", "test.toml:1"},
      {"unknown top-level key", base + "\n[extra]\n", "unknown key 'extra'"},
      {"unknown vm key", replace(base, "cmdline", "cmdlin"), "unknown key 'cmdlin' in [vm]"},
      {"unknown node key", replace(base, "vcpus = [2, 3]", "vcpu = [2, 3]"), "unknown key 'vcpu'"},
      {"vcpu twice", replace(base, "vcpus = [2, 3]", "vcpus = [1, 3]"), "vCPU 1 is placed twice"},
      {"vcpu nowhere", replace(base, "vcpus = [2, 3]", "vcpus = [3]"), "vCPU 2 is placed on no node"},
      {"vcpu out of range", replace(base, "vcpus = [2, 3]", "vcpus = [2, 3, 9]"),
       "lists vCPU 9 but the VM has only 4"},
      {"duplicate node id", replace(base, "id = 1\n", "id = 0\n"), "node id 0 is declared twice"},
      {"no node 0", replace(replace(base, "id = 0\n", "id = 2\n"), "id = 1\n", "id = 3\n"),
       "there is no node 0"},
      {"gap in ids", replace(base, "id = 1\n", "id = 2\n"), "node 1 is missing"},
      {"unresolvable address", replace(base, "127.0.0.2:7100", "no-such-host.invalid:7100"),
       "cannot be resolved"},
      {"address without port", replace(base, "127.0.0.2:7100", "127.0.0.2"), "host:port"},
      {"bad port", replace(base, "127.0.0.2:7100", "127.0.0.2:99999"), "no valid port"},
      {"udp without address", replace(base, "address = \"127.0.0.2:7100\"\n", ""),
       "needs address"},
      {"bad transport", replace(base, "\"udp\"", "\"carrier-pigeon\""), "is not a transport"},
      {"bad memory mode", replace(base, "transport = \"udp\"", "transport = \"udp\"\nmemory = \"psychic\""),
       "is not a memory mode"},
      {"bad memory", replace(base, "\"128M\"", "\"lots\""), "is not a size"},
      {"memory out of range", replace(base, "\"128M\"", "\"8G\""), "out of range"},
      {"vcpus out of range", replace(base, "vcpus = 4", "vcpus = 0"), "vm.vcpus = 0 is out of range"},
      {"vcpu0 elsewhere",
       replace(replace(base, "vcpus = [2, 3]", "vcpus = [0, 3]"), "vcpus = [0, 1]", "vcpus = [2, 1]"),
       "vCPU 0 (the bootstrap processor) must run on node 0"},
      {"no nodes", "[vm]\nvcpus = 1\n", "no [[node]] tables"},
      // Found by cluster_config_fuzz: a float too large for an integer was
      // converted (undefined behaviour); a huge index wrapped to a small one.
      {"float for an integer", replace(base, "id = 7", "id = 2.2e99"), "cluster.id must be an integer"},
      {"huge vcpu index", replace(base, "vcpus = [2, 3]", "vcpus = [2, 4294967299]"),
       "vcpus must list vCPU indices"},
      {"no vm", "[[node]]\nid = 0\nvcpus = [0]\n", "missing [vm]"},
      {"bad linux entry", replace(base, "cmdline", "linux_entry = \"bzimage\"\ncmdline"),
       "vm.linux_entry: unknown Linux entry \"bzimage\": use \"pvh\""},
      {"linux entry not a string", replace(base, "cmdline", "linux_entry = 1\ncmdline"),
       "vm.linux_entry must be a string"},
  };
  expect_all_rejected(cases);
}

TEST(ClusterConfig, LinuxEntryIsPvhUnlessBootParamsIsChosen) {
  auto c = parse_cluster_config(kTwoNodes, "test.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->linux_entry, boot::LinuxEntry::kPvh);
  const std::string text =
      replace(kTwoNodes, "cmdline", "linux_entry = \"boot-params\"\ncmdline");
  auto bp = parse_cluster_config(text, "test.toml");
  ASSERT_TRUE(bp.ok()) << bp.error().message;
  EXPECT_EQ(bp->linux_entry, boot::LinuxEntry::kBootParams);
}

TEST(ClusterConfig, ShippedExamplesAreValid) {
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(DVMM_CONFIGS_DIR)) {
    if (entry.path().extension() != ".toml") continue;
    auto c = load_cluster_config(entry.path().string());
    EXPECT_TRUE(c.ok()) << entry.path() << ": " << (c.ok() ? "" : c.error().message);
    ++seen;
  }
  EXPECT_GE(seen, 4);
}

TEST(ClusterConfig, ShmDefaultsToSharedMemoryAndDsmCanBeChosen) {
  std::string shm = replace(kTwoNodes, "\"udp\"", "\"shm\"");
  auto c = parse_cluster_config(shm, "test.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->memory, MemoryMode::kShared);
  auto d = parse_cluster_config(replace(shm, "transport = \"shm\"", "transport = \"shm\"\nmemory = \"dsm\""),
                                "test.toml");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->memory, MemoryMode::kDsm);
}

constexpr const char* kDpdkNamespaces = R"(
[vm]
vcpus = 2

[cluster]
id = 0x1234
transport = "dpdk"

[dpdk]
eal_args = ["--no-huge", "--file-prefix=dvmm-{instance}-{node}"]
network = "namespaces"

[[node]]
id = 0
vcpus = [0]
eal_args = ["-m", "256"]

[[node]]
id = 1
vcpus = [1]
mac = "02:00:00:00:00:0B"
)";

TEST(ClusterConfig, DpdkSectionDefaultsAndEalArguments) {
  auto c = parse_cluster_config(kDpdkNamespaces, "test.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->transport, TransportKind::kDpdk);
  EXPECT_EQ(c->memory, MemoryMode::kDsm);
  EXPECT_EQ(c->dpdk.network, DpdkNetwork::kNamespaces);
  EXPECT_EQ(c->dpdk.mtu, 9000) << "veths default to jumbo frames: a page in one frame";
  EXPECT_EQ(c->dpdk.mbufs, 4096u);
  EXPECT_FALSE(c->dpdk.busy_poll);
  // Node 0 gets the default MAC (cluster id and node id in it), node 1 its own.
  EXPECT_EQ(c->nodes[0].mac, (std::array<uint8_t, 6>{0x02, 0xd7, 0x12, 0x34, 0, 0}));
  EXPECT_EQ(c->nodes[1].mac, (std::array<uint8_t, 6>{0x02, 0, 0, 0, 0, 0x0b}));
  EXPECT_EQ(node_eal_args(*c, 0, "4660-99"),
            (std::vector<std::string>{"--no-huge", "--file-prefix=dvmm-4660-99-0", "-m", "256",
                                      "--vdev=net_af_packet0,iface=dvmm0,blocksz=8192,framesz=8192"}));
  EXPECT_EQ(node_eal_args(*c, 1, "x").back(),
            "--vdev=net_af_packet0,iface=dvmm0,blocksz=8192,framesz=8192");

  auto host = parse_cluster_config(
      replace(replace(kDpdkNamespaces, "\"namespaces\"", "\"host\"\npolling = \"busy\""),
              "[\"-m\", \"256\"]", "[\"--vdev=net_memif0,role=server\"]"),
      "test.toml");
  ASSERT_TRUE(host.ok()) << host.error().message;
  EXPECT_EQ(host->dpdk.mtu, 0) << "a host port keeps its MTU unless told";
  EXPECT_TRUE(host->dpdk.busy_poll);
  EXPECT_EQ(node_eal_args(*host, 0, "i").back(), "--vdev=net_memif0,role=server");
}

TEST(ClusterConfig, DpdkMistakesAreNamed) {
  const std::string base = kDpdkNamespaces;
  const BadConfig cases[] = {
      {"dpdk table without dpdk", replace(base, "\"dpdk\"", "\"udp\""), "[dpdk] is set but"},
      {"unknown dpdk key", replace(base, "network =", "netwrok ="), "unknown key 'netwrok' in [dpdk]"},
      {"bad network", replace(base, "\"namespaces\"", "\"wifi\""), "dpdk.network = \"wifi\""},
      {"bad polling", replace(base, "network =", "polling = \"lazy\"\nnetwork ="), "dpdk.polling"},
      {"mtu too small", replace(base, "network =", "mtu = 100\nnetwork ="), "too small"},
      {"mtu 0 in namespaces", replace(base, "network =", "mtu = 0\nnetwork ="),
       "cannot be used with network = \"namespaces\""},
      {"eal_args not a list", replace(base, "[\"--no-huge\", \"--file-prefix=dvmm-{instance}-{node}\"]", "\"--no-huge\""),
       "must be a list of strings"},
      {"eal_args with a number", replace(base, "[\"-m\", \"256\"]", "[\"-m\", 256]"),
       "list strings only"},
      {"bad mac", replace(base, "02:00:00:00:00:0B", "02:00:00:00:0B"), "is not a MAC address"},
      {"multicast mac", replace(base, "02:00:00:00:00:0B", "01:00:5e:00:00:01"), "multicast"},
      {"duplicate mac", replace(base, "02:00:00:00:00:0B", "02:d7:12:34:00:00"),
       "the same MAC as another node"},
      {"port in namespaces", replace(base, "[\"-m\", \"256\"]", "[\"--vdev=net_memif0\"]"),
       "gives every node its own net_af_packet port"},
  };
  expect_all_rejected(cases);
  auto udp_mac = parse_cluster_config(
      replace(kTwoNodes, "address = \"127.0.0.2:7100\"", "address = \"127.0.0.2:7100\"\nmac = \"02:00:00:00:00:01\""),
      "test.toml");
  ASSERT_FALSE(udp_mac.ok());
  EXPECT_NE(udp_mac.error().message.find("mac is for the dpdk and fpga transports"), std::string::npos)
      << udp_mac.error().message;
}

constexpr const char* kFpga = R"(
[vm]
vcpus = 4

[cluster]
id = 5
transport = "fpga"

[[node]]
id = 0
vcpus = [0, 1]

[[node]]
id = 1
vcpus = [2, 3]
mac = "02:00:5e:10:00:01"
)";

// The fpga transport: shared memory by default, [fpga] defaults, MACs as
// for dpdk.
TEST(ClusterConfig, FpgaDefaultsAndSettings) {
  auto c = parse_cluster_config(kFpga, "/etc/dvmm/test.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->transport, TransportKind::kFpga);
  EXPECT_EQ(c->memory, MemoryMode::kShared);
  EXPECT_EQ(c->fpga.device, FpgaDeviceKind::kSim);
  EXPECT_EQ(c->fpga.wire, FpgaWire::kShm);
  EXPECT_EQ(c->fpga.retransmit_timeout_cycles, 2000u);
  EXPECT_EQ(c->fpga.ack_delay_cycles, 16u);
  EXPECT_EQ(c->fpga.sim_cycle_ns, 4000u);
  EXPECT_EQ(c->nodes[0].mac, (std::array<uint8_t, 6>{0x02, 0xd7, 0, 5, 0, 0}));
  EXPECT_EQ(c->nodes[1].mac, (std::array<uint8_t, 6>{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}));

  auto x = parse_cluster_config(replace(kFpga, "[[node]]\nid = 0",
                                        "[fpga]\ndevice = \"xrt\"\nxclbin = \"hw/dvmm.xclbin\"\n"
                                        "retransmit_timeout_cycles = 4000\nack_delay_cycles = 64\n\n"
                                        "[[node]]\nid = 0"),
                                "/etc/dvmm/test.toml");
  ASSERT_TRUE(x.ok()) << x.error().message;
  EXPECT_EQ(x->fpga.device, FpgaDeviceKind::kXrt);
  EXPECT_EQ(x->fpga.xclbin, "/etc/dvmm/hw/dvmm.xclbin");
  EXPECT_EQ(x->fpga.retransmit_timeout_cycles, 4000u);
  EXPECT_EQ(x->fpga.ack_delay_cycles, 64u);
}

TEST(ClusterConfig, FpgaMistakesAreNamed) {
  const std::string base = kFpga;
  auto with_fpga = [&](const std::string& lines) {
    return replace(base, "[[node]]\nid = 0", "[fpga]\n" + lines + "\n\n[[node]]\nid = 0");
  };
  const BadConfig cases[] = {
      {"dsm", replace(base, "transport = \"fpga\"", "transport = \"fpga\"\nmemory = \"dsm\""),
       "cannot be used with transport = \"fpga\""},
      {"fpga table without fpga", replace(with_fpga("device = \"sim\""), "\"fpga\"\n", "\"shm\"\n"),
       "[fpga] is set but"},
      {"unknown fpga key", with_fpga("wires = \"shm\""), "unknown key 'wires' in [fpga]"},
      {"bad device", with_fpga("device = \"asic\""), "fpga.device = \"asic\""},
      {"bad wire", with_fpga("wire = \"dpdk\""), "fpga.wire = \"dpdk\""},
      {"ack delay too long", with_fpga("ack_delay_cycles = 1500"), "under half"},
      {"udp wire without address", with_fpga("wire = \"udp\""), "fpga transport's udp wire"},
      {"duplicate mac", replace(base, "02:00:5e:10:00:01", "02:d7:00:05:00:00"),
       "the same MAC as another node"},
      {"eal_args", replace(base, "mac = ", "eal_args = []\nmac = "), "eal_args is for the dpdk"},
  };
  expect_all_rejected(cases);
}

TEST(ClusterConfig, MissingFile) {
  auto c = load_cluster_config("/nonexistent/cluster.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("/nonexistent/cluster.toml"), std::string::npos);
}

}  // namespace
}  // namespace dvmm::cluster
