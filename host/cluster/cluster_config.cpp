#include "host/cluster/cluster_config.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "dataplane/authenticated_transport.hpp"
#include "host/vmm/machine.hpp"
#include "host/vmm/size_parse.hpp"

namespace dvmm::cluster {

namespace {

// Rejects keys the reader does not know: a typo must not silently fall
// back to a default.
Status check_keys(const toml::table& table, std::initializer_list<std::string_view> allowed,
                  const std::string& where, const std::string& source) {
  for (const auto& [key, value] : table) {
    bool known = false;
    for (std::string_view a : allowed) known = known || key.str() == a;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return Error::format("{}:{}: unknown key '{}' in {} (known keys: {})", source,
                           value.source().begin.line, key.str(), where, list);
    }
  }
  return {};
}

std::string at(const std::string& source, const toml::node& n) {
  return fmt::format("{}:{}", source, n.source().begin.line);
}

template <typename T>
Result<T> get_int(const toml::table& t, std::string_view key, T min, T max, T fallback,
                  const std::string& where, const std::string& source) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return fallback;
  // as_integer, not value<int64_t>: the latter converts a float such as
  // 2e99 to an integer, which is undefined behaviour (found by fuzzing).
  const auto* i = n->as_integer();
  if (i == nullptr) {
    return Error::format("{}: {}.{} must be an integer", at(source, *n), where, key);
  }
  const std::optional<int64_t> v = i->get();
  if (*v < static_cast<int64_t>(min) || *v > static_cast<int64_t>(max)) {
    return Error::format("{}: {}.{} = {} is out of range: choose {} to {}", at(source, *n), where,
                         key, *v, static_cast<int64_t>(min), static_cast<int64_t>(max));
  }
  return static_cast<T>(*v);
}

Result<std::string> get_string(const toml::table& t, std::string_view key, std::string fallback,
                               const std::string& where, const std::string& source) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return fallback;
  if (!n->is_string()) {
    return Error::format("{}: {}.{} must be a string", at(source, *n), where, key);
  }
  return std::string(*n->value<std::string_view>());
}

// "host:port", "[v6]:port". Resolves the host now, so an address that
// cannot be reached is reported before any node starts.
Status parse_address(const std::string& text, NodeConfig& node, const std::string& where) {
  std::string host;
  std::string port_text;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Error::format("{}: address '{}' is not [IPv6]:port", where, text);
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return Error::format("{}: address '{}' is not host:port (for example 127.0.0.1:7100)", where,
                           text);
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  unsigned long port = 0;
  try {
    size_t used = 0;
    port = std::stoul(port_text, &used);
    if (used != port_text.size()) port = 0;
  } catch (...) {
    port = 0;
  }
  if (port == 0 || port > 65535) {
    return Error::format("{}: address '{}' has no valid port (1-65535)", where, text);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* result = nullptr;
  int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &result);
  if (rc != 0) {
    return Error::format("{}: address '{}': host '{}' cannot be resolved ({})", where, text, host,
                         gai_strerror(rc));
  }
  freeaddrinfo(result);
  node.host = host;
  node.port = static_cast<uint16_t>(port);
  return {};
}

Result<std::vector<std::string>> get_string_list(const toml::table& t, std::string_view key,
                                                 const std::string& where,
                                                 const std::string& source) {
  std::vector<std::string> out;
  const toml::node* n = t.get(key);
  if (n == nullptr) return out;
  const toml::array* a = n->as_array();
  if (a == nullptr) {
    return Error::format("{}: {}.{} must be a list of strings, e.g. [\"--no-huge\", \"-m\", \"256\"]",
                         at(source, *n), where, key);
  }
  for (const toml::node& e : *a) {
    if (!e.is_string()) {
      return Error::format("{}: {}.{} must list strings only (quote numbers: \"256\")",
                           at(source, e), where, key);
    }
    out.emplace_back(*e.value<std::string_view>());
  }
  return out;
}

// "02:00:00:00:00:01": six hex bytes, unicast (a node's frames are
// addressed to it alone) and not all-zero.
Status parse_mac(const std::string& text, std::array<uint8_t, 6>& mac, const std::string& where) {
  unsigned b[6];
  char tail = 0;
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
                  &b[5], &tail) != 6 ||
      text.size() != 17) {
    return Error::format("{}: mac = \"{}\" is not a MAC address like \"02:00:00:00:00:01\"", where,
                         text);
  }
  for (size_t i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(b[i]);
  if ((mac[0] & 1) != 0) {
    return Error::format("{}: mac = \"{}\" is a multicast address (lowest bit of the first byte "
                         "set): use a unicast one such as \"02:00:00:00:00:01\"",
                         where, text);
  }
  if (std::all_of(mac.begin(), mac.end(), [](uint8_t x) { return x == 0; })) {
    return Error::format("{}: mac = \"{}\" is the zero address", where, text);
  }
  return {};
}

// A locally administered unicast MAC unique per cluster and node.
std::array<uint8_t, 6> default_mac(uint32_t cluster_id, uint16_t node) {
  return {0x02, 0xd7, static_cast<uint8_t>(cluster_id >> 8), static_cast<uint8_t>(cluster_id),
          static_cast<uint8_t>(node >> 8), static_cast<uint8_t>(node)};
}

Status parse_dpdk(const toml::table& root, ClusterConfig& c, const std::string& src) {
  const toml::node* node = root.get("dpdk");
  if (node == nullptr) return {};
  const toml::table* t = node->as_table();
  if (t == nullptr) return Error::format("{}: dpdk must be a table ([dpdk])", at(src, *node));
  if (c.transport != TransportKind::kDpdk) {
    return Error::format("{}: [dpdk] is set but cluster.transport is \"{}\": set transport = "
                         "\"dpdk\" or remove [dpdk]",
                         at(src, *node), transport_name(c.transport));
  }
  DVMM_TRY(check_keys(*t, {"eal_args", "network", "mtu", "port", "mbufs", "polling"}, "[dpdk]",
                      src));
  DpdkSettings& d = c.dpdk;
  d.eal_args = DVMM_TRY(get_string_list(*t, "eal_args", "dpdk", src));
  const std::string network = DVMM_TRY(get_string(*t, "network", "host", "dpdk", src));
  if (network == "host") {
    d.network = DpdkNetwork::kHost;
  } else if (network == "namespaces") {
    d.network = DpdkNetwork::kNamespaces;
  } else {
    return Error::format("{}: dpdk.network = \"{}\": use \"host\" (ports from the EAL arguments) "
                         "or \"namespaces\" (dvmm run joins per-node namespaces by veth pairs)",
                         at(src, *t->get("network")), network);
  }
  // A veth needs an MTU; a host port keeps its own unless told.
  const uint16_t mtu_default = d.network == DpdkNetwork::kNamespaces ? 9000 : 0;
  d.mtu = DVMM_TRY(get_int<uint16_t>(*t, "mtu", 0, 9000, mtu_default, "dpdk", src));
  if (d.mtu != 0 && d.mtu < 576) {
    return Error::format("{}: dpdk.mtu = {} is too small: choose 576 to 9000 (9000 carries a "
                         "4 KiB page in one frame), or 0 to keep the port's",
                         at(src, *t->get("mtu")), d.mtu);
  }
  if (d.network == DpdkNetwork::kNamespaces && d.mtu == 0) {
    return Error::format("{}: dpdk.mtu = 0 cannot be used with network = \"namespaces\": the "
                         "veths dvmm creates need an MTU (576 to 9000)",
                         at(src, *t->get("mtu")));
  }
  d.port_id = DVMM_TRY(get_int<uint16_t>(*t, "port", 0, 1023, 0, "dpdk", src));
  d.mbufs = DVMM_TRY(get_int<uint32_t>(*t, "mbufs", 1024, 1u << 20, 4096, "dpdk", src));
  const std::string polling = DVMM_TRY(get_string(*t, "polling", "adaptive", "dpdk", src));
  if (polling != "adaptive" && polling != "busy") {
    return Error::format("{}: dpdk.polling = \"{}\": use \"adaptive\" (spin while traffic flows, "
                         "then sleep) or \"busy\" (never sleep: one dedicated core per node)",
                         at(src, *t->get("polling")), polling);
  }
  d.busy_poll = polling == "busy";
  return {};
}

Status parse_fpga(const toml::table& root, ClusterConfig& c, const std::string& src) {
  const toml::node* node = root.get("fpga");
  if (node == nullptr) return {};
  const toml::table* t = node->as_table();
  if (t == nullptr) return Error::format("{}: fpga must be a table ([fpga])", at(src, *node));
  if (c.transport != TransportKind::kFpga) {
    return Error::format("{}: [fpga] is set but cluster.transport is \"{}\": set transport = "
                         "\"fpga\" or remove [fpga]",
                         at(src, *node), transport_name(c.transport));
  }
  DVMM_TRY(check_keys(*t, {"device", "wire", "retransmit_timeout_cycles", "ack_delay_cycles",
                           "sim_cycle_ns", "xrt_device", "xclbin"},
                      "[fpga]", src));
  FpgaSettings& f = c.fpga;
  const std::string device = DVMM_TRY(get_string(*t, "device", "sim", "fpga", src));
  if (device == "sim") {
    f.device = FpgaDeviceKind::kSim;
  } else if (device == "xrt") {
    f.device = FpgaDeviceKind::kXrt;
  } else {
    return Error::format("{}: fpga.device = \"{}\": use \"sim\" (the Verilated engine in each "
                         "node) or \"xrt\" (an Alveo card)",
                         at(src, *t->get("device")), device);
  }
  const std::string wire = DVMM_TRY(get_string(*t, "wire", "shm", "fpga", src));
  if (wire == "shm") {
    f.wire = FpgaWire::kShm;
  } else if (wire == "udp") {
    f.wire = FpgaWire::kUdp;
  } else {
    return Error::format("{}: fpga.wire = \"{}\": use \"shm\" or \"udp\" (what carries the "
                         "simulated engines' Ethernet frames)",
                         at(src, *t->get("wire")), wire);
  }
  f.retransmit_timeout_cycles = DVMM_TRY(get_int<uint32_t>(
      *t, "retransmit_timeout_cycles", 16, 1u << 30, f.retransmit_timeout_cycles, "fpga", src));
  f.ack_delay_cycles =
      DVMM_TRY(get_int<uint32_t>(*t, "ack_delay_cycles", 1, 1u << 20, f.ack_delay_cycles, "fpga", src));
  if (f.ack_delay_cycles * 2 > f.retransmit_timeout_cycles) {
    return Error::format("{}: fpga.ack_delay_cycles = {} must be under half of "
                         "retransmit_timeout_cycles = {}, or every ACK comes too late",
                         at(src, *t), f.ack_delay_cycles, f.retransmit_timeout_cycles);
  }
  f.sim_cycle_ns =
      DVMM_TRY(get_int<uint32_t>(*t, "sim_cycle_ns", 100, 1'000'000, f.sim_cycle_ns, "fpga", src));
  f.xrt_device = DVMM_TRY(get_int<uint32_t>(*t, "xrt_device", 0, 255, 0, "fpga", src));
  f.xclbin = DVMM_TRY(get_string(*t, "xclbin", "", "fpga", src));
  if (!f.xclbin.empty() && std::filesystem::path(f.xclbin).is_relative()) {
    f.xclbin = (std::filesystem::path(src).parent_path() / f.xclbin).string();
  }
  return {};
}

Status parse_vm(const toml::table& root, ClusterConfig& c, const std::string& src) {
  const toml::table* vm = root["vm"].as_table();
  if (vm == nullptr) return Error::format("{}: missing [vm] table (vcpus, memory, kernel)", src);
  DVMM_TRY(check_keys(*vm, {"vcpus", "memory", "kernel", "initrd", "cmdline", "linux_entry"},
                      "[vm]", src));
  c.vcpus = DVMM_TRY(get_int<unsigned>(*vm, "vcpus", 1, MachineConfig::kMaxVcpus, 1, "vm", src));
  if (const toml::node* m = vm->get("memory")) {
    std::string text;
    if (m->is_integer()) {
      text = std::to_string(*m->value<int64_t>());
    } else if (m->is_string()) {
      text = std::string(*m->value<std::string_view>());
    } else {
      return Error::format("{}: vm.memory must be a size such as \"256M\" or a number of MiB",
                           at(src, *m));
    }
    auto bytes = parse_memory_size(text);
    if (!bytes) return Error::format("{}: vm.{}", at(src, *m), bytes.error().message);
    c.memory_bytes = *bytes;
    if (c.memory_bytes < MachineConfig::kMinMemory || c.memory_bytes > MachineConfig::kMaxMemory ||
        c.memory_bytes % 4096 != 0) {
      return Error::format("{}: vm.memory {} MiB is out of range: choose {} MiB to {} MiB",
                           at(src, *m), c.memory_bytes >> 20, MachineConfig::kMinMemory >> 20,
                           MachineConfig::kMaxMemory >> 20);
    }
  }
  c.kernel = DVMM_TRY(get_string(*vm, "kernel", "", "vm", src));
  c.initrd = DVMM_TRY(get_string(*vm, "initrd", "", "vm", src));
  c.cmdline = DVMM_TRY(get_string(*vm, "cmdline", "", "vm", src));
  const std::string entry = DVMM_TRY(get_string(*vm, "linux_entry", "pvh", "vm", src));
  auto linux_entry = boot::parse_linux_entry(entry);
  if (!linux_entry) {
    return Error::format("{}: vm.linux_entry: {}", at(src, *vm->get("linux_entry")),
                         linux_entry.error().message);
  }
  c.linux_entry = *linux_entry;
  return {};
}

Status parse_cluster(const toml::table& root, ClusterConfig& c, const std::string& src) {
  const toml::table* cl = root["cluster"].as_table();
  if (cl == nullptr) return {};  // all defaults
  DVMM_TRY(check_keys(*cl, {"id", "transport", "memory", "key_file"}, "[cluster]", src));
  c.cluster_id = DVMM_TRY(get_int<uint32_t>(*cl, "id", 0, UINT32_MAX, 1, "cluster", src));
  std::string transport = DVMM_TRY(get_string(*cl, "transport", "shm", "cluster", src));
  if (transport == "shm") {
    c.transport = TransportKind::kShm;
  } else if (transport == "udp") {
    c.transport = TransportKind::kUdp;
  } else if (transport == "dpdk") {
    c.transport = TransportKind::kDpdk;
  } else if (transport == "fpga") {
    c.transport = TransportKind::kFpga;
  } else {
    return Error::format(
        "{}: cluster.transport = \"{}\" is not a transport: use \"shm\", \"udp\", \"dpdk\" or "
        "\"fpga\"",
                         at(src, *cl->get("transport")), transport);
  }
  if (const toml::node* k = cl->get("key_file")) {
    if (!k->is_string()) return Error::format("{}: cluster.key_file must be a path", at(src, *k));
    std::filesystem::path path(std::string(*k->value<std::string_view>()));
    if (path.is_relative()) path = std::filesystem::path(src).parent_path() / path;
    c.key_file = path.string();
    if (c.transport == TransportKind::kFpga) {
      return Error::format("{}: cluster.key_file cannot be used with transport = \"fpga\": the "
                           "engine does not authenticate frames",
                           at(src, *k));
    }
    // Checked now (readable, 64 hex digits, chmod 600) so that a bad key is
    // reported before any node starts.
    if (auto key = dataplane::ClusterKey::load(c.key_file); !key) {
      return Error::format("{}: cluster.key_file: {}", at(src, *k), key.error().message);
    }
  }
  // Nodes that talk over shm are on one host and can share a file; with any
  // other transport they are not declared to, so DSM is the default. The
  // fpga transport cannot carry DSM pages (below), so it shares.
  const bool one_host = c.transport == TransportKind::kShm || c.transport == TransportKind::kFpga;
  const char* fallback = one_host ? "shared" : "dsm";
  std::string memory = DVMM_TRY(get_string(*cl, "memory", fallback, "cluster", src));
  if (memory == "shared") {
    c.memory = MemoryMode::kShared;
  } else if (memory == "dsm") {
    c.memory = MemoryMode::kDsm;
  } else {
    return Error::format(
        "{}: cluster.memory = \"{}\" is not a memory mode: use \"shared\" (nodes on one host) or "
        "\"dsm\"",
        at(src, *cl->get("memory")), memory);
  }
  if (c.transport == TransportKind::kFpga && c.memory == MemoryMode::kDsm) {
    return Error::format(
        "{}: cluster.memory = \"dsm\" cannot be used with transport = \"fpga\": the FPGA engine "
        "carries messages of at most 128 bytes and DSM moves 4 KiB pages; use memory = \"shared\" "
        "(the nodes on one host, as the co-simulation runs them)",
        at(src, *cl->get("memory")));
  }
  return {};
}

Status parse_nodes(const toml::table& root, ClusterConfig& c, const std::string& src) {
  const toml::array* nodes = root["node"].as_array();
  if (nodes == nullptr || nodes->empty()) {
    return Error::format("{}: no [[node]] tables: declare at least node 0", src);
  }
  std::vector<NodeConfig> parsed;
  std::set<uint16_t> ids;
  for (const toml::node& n : *nodes) {
    const toml::table* t = n.as_table();
    if (t == nullptr) return Error::format("{}: 'node' must be an array of tables ([[node]])", at(src, n));
    DVMM_TRY(check_keys(*t, {"id", "vcpus", "address", "mac", "eal_args"}, "[[node]]", src));
    NodeConfig node;
    if (t->get("id") == nullptr) return Error::format("{}: [[node]] without an id", at(src, n));
    node.id = DVMM_TRY(get_int<uint16_t>(*t, "id", 0, 1023, 0, "node", src));
    if (!ids.insert(node.id).second) {
      return Error::format("{}: node id {} is declared twice", at(src, n), node.id);
    }
    const toml::array* vcpus = (*t)["vcpus"].as_array();
    if (vcpus == nullptr) {
      return Error::format("{}: node {} has no vcpus = [...] list", at(src, n), node.id);
    }
    for (const toml::node& v : *vcpus) {
      const auto* i = v.as_integer();
      const std::optional<int64_t> idx = i != nullptr ? std::optional<int64_t>(i->get()) : std::nullopt;
      if (!idx || *idx < 0 || *idx >= static_cast<int64_t>(MachineConfig::kMaxVcpus)) {
        return Error::format("{}: node {}: vcpus must list vCPU indices (integers 0 to {})",
                             at(src, v), node.id, MachineConfig::kMaxVcpus - 1);
      }
      node.vcpus.push_back(static_cast<uint32_t>(*idx));
    }
    std::string where = fmt::format("{}: node {}", at(src, n), node.id);
    if (const toml::node* a = t->get("address")) {
      if (!a->is_string()) return Error::format("{}: address must be a string \"host:port\"", where);
      DVMM_TRY(parse_address(std::string(*a->value<std::string_view>()), node, where));
    }
    const bool dpdk = c.transport == TransportKind::kDpdk;
    const bool ethernet = dpdk || c.transport == TransportKind::kFpga;
    if (!ethernet && t->get("mac") != nullptr) {
      return Error::format("{}: mac is for the dpdk and fpga transports, but cluster.transport is "
                           "\"{}\"",
                           where, transport_name(c.transport));
    }
    if (!dpdk && t->get("eal_args") != nullptr) {
      return Error::format("{}: eal_args is for the dpdk transport, but cluster.transport is \"{}\"",
                           where, transport_name(c.transport));
    }
    node.mac = default_mac(c.cluster_id, node.id);
    if (const toml::node* m = t->get("mac")) {
      if (!m->is_string()) return Error::format("{}: mac must be a string \"xx:xx:xx:xx:xx:xx\"", where);
      DVMM_TRY(parse_mac(std::string(*m->value<std::string_view>()), node.mac, where));
    }
    node.eal_args = DVMM_TRY(get_string_list(*t, "eal_args", "node", src));
    if (dpdk && c.dpdk.network == DpdkNetwork::kNamespaces && !node.eal_args.empty()) {
      for (const std::string& a : node.eal_args) {
        if (a.find("vdev") != std::string::npos) {
          return Error::format("{}: eal_args add a port ({}) but dpdk.network = \"namespaces\" "
                               "gives every node its own net_af_packet port: remove it, or use "
                               "network = \"host\"",
                               where, a);
        }
      }
    }
    parsed.push_back(std::move(node));
  }
  if (ids.count(0) == 0) {
    return Error::format("{}: there is no node 0: node 0 is the I/O home and must be declared", src);
  }
  for (size_t i = 0; i < parsed.size(); ++i) {
    if (ids.count(static_cast<uint16_t>(i)) == 0) {
      return Error::format("{}: node ids must be 0 to {} without gaps; node {} is missing", src,
                           parsed.size() - 1, i);
    }
  }
  c.nodes.resize(parsed.size());
  for (NodeConfig& n : parsed) c.nodes[n.id] = std::move(n);

  // Every vCPU on exactly one node.
  constexpr uint16_t kNowhere = 0xFFFF;
  c.vcpu_node.assign(c.vcpus, kNowhere);
  for (const NodeConfig& n : c.nodes) {
    for (uint32_t v : n.vcpus) {
      if (v >= c.vcpus) {
        return Error::format("{}: node {} lists vCPU {} but the VM has only {} vCPUs (0 to {})",
                             src, n.id, v, c.vcpus, c.vcpus - 1);
      }
      if (c.vcpu_node[v] != kNowhere) {
        return Error::format("{}: vCPU {} is placed twice: on node {} and on node {}", src, v,
                             c.vcpu_node[v], n.id);
      }
      c.vcpu_node[v] = n.id;
    }
  }
  for (unsigned v = 0; v < c.vcpus; ++v) {
    if (c.vcpu_node[v] == kNowhere) {
      return Error::format("{}: vCPU {} is placed on no node: add it to one node's vcpus list", src,
                           v);
    }
  }
  if (c.vcpu_node[0] != 0) {
    return Error::format("{}: vCPU 0 (the bootstrap processor) must run on node 0, not node {}",
                         src, c.vcpu_node[0]);
  }
  if (c.transport == TransportKind::kDpdk || c.transport == TransportKind::kFpga) {
    std::set<std::array<uint8_t, 6>> macs;
    for (const NodeConfig& n : c.nodes) {
      if (!macs.insert(n.mac).second) {
        return Error::format("{}: node {} has the same MAC as another node: give every node its "
                             "own mac",
                             src, n.id);
      }
    }
  }
  const bool udp_wire = c.transport == TransportKind::kFpga && c.fpga.wire == FpgaWire::kUdp &&
                        c.fpga.device == FpgaDeviceKind::kSim;
  if (c.transport == TransportKind::kUdp || udp_wire) {
    for (const NodeConfig& n : c.nodes) {
      if (n.host.empty()) {
        return Error::format("{}: node {} needs address = \"host:port\" for the {}", src, n.id,
                             udp_wire ? "fpga transport's udp wire" : "udp transport");
      }
    }
  }
  return {};
}

}  // namespace

const char* transport_name(TransportKind kind) {
  switch (kind) {
    case TransportKind::kShm: return "shm";
    case TransportKind::kUdp: return "udp";
    case TransportKind::kDpdk: return "dpdk";
    case TransportKind::kFpga: return "fpga";
  }
  return "?";
}

const char* memory_mode_name(MemoryMode mode) {
  return mode == MemoryMode::kShared ? "shared" : "dsm";
}

Result<ClusterConfig> parse_cluster_config(std::string_view text, std::string_view source) {
  ClusterConfig c;
  c.source = std::string(source);
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Error::format("{}:{}:{}: {}", source, e.source().begin.line, e.source().begin.column,
                         e.description());
  }
  DVMM_TRY(check_keys(root, {"vm", "cluster", "dpdk", "fpga", "node"}, "the top level", c.source));
  DVMM_TRY(parse_vm(root, c, c.source));
  DVMM_TRY(parse_cluster(root, c, c.source));
  DVMM_TRY(parse_dpdk(root, c, c.source));
  DVMM_TRY(parse_fpga(root, c, c.source));
  DVMM_TRY(parse_nodes(root, c, c.source));
  if (!c.bundled_kernel() && std::filesystem::path(c.kernel).is_relative()) {
    c.kernel = (std::filesystem::path(c.source).parent_path() / c.kernel).string();
  }
  if (!c.initrd.empty() && std::filesystem::path(c.initrd).is_relative()) {
    c.initrd = (std::filesystem::path(c.source).parent_path() / c.initrd).string();
  }
  return c;
}

std::vector<std::string> node_eal_args(const ClusterConfig& config, uint16_t id,
                                       const std::string& instance) {
  auto expand = [&](std::string a) {
    for (auto [key, value] : {std::pair<std::string_view, std::string>{"{node}", std::to_string(id)},
                              {"{instance}", instance}}) {
      for (size_t at = a.find(key); at != std::string::npos; at = a.find(key, at + value.size())) {
        a.replace(at, key.size(), value);
      }
    }
    return a;
  };
  std::vector<std::string> args;
  for (const std::string& a : config.dpdk.eal_args) args.push_back(expand(a));
  if (id < config.nodes.size()) {
    for (const std::string& a : config.nodes[id].eal_args) args.push_back(expand(a));
  }
  if (config.dpdk.network == DpdkNetwork::kNamespaces) {
    // framesz 8192: a received frame of up to 8110 bytes fits one ring slot
    // (dataplane/dpdk_transport.hpp), so a page travels in one frame at MTU 9000.
    args.push_back(fmt::format("--vdev=net_af_packet0,iface={},blocksz=8192,framesz=8192",
                               kNamespaceInterface));
  }
  return args;
}

Result<ClusterConfig> load_cluster_config(const std::string& path) {
  std::ifstream f(path);
  if (!f) {
    return Error::format("cannot open cluster configuration '{}': {}", path, std::strerror(errno));
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_cluster_config(ss.str(), path);
}

}  // namespace dvmm::cluster
