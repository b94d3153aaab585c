#include "host/cluster/cluster_config.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

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
  auto v = n->value<int64_t>();
  if (!n->is_integer() || !v) {
    return Error::format("{}: {}.{} must be an integer", at(source, *n), where, key);
  }
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

Status parse_vm(const toml::table& root, ClusterConfig& c, const std::string& src) {
  const toml::table* vm = root["vm"].as_table();
  if (vm == nullptr) return Error::format("{}: missing [vm] table (vcpus, memory, kernel)", src);
  DVMM_TRY(check_keys(*vm, {"vcpus", "memory", "kernel", "cmdline"}, "[vm]", src));
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
  c.cmdline = DVMM_TRY(get_string(*vm, "cmdline", "", "vm", src));
  return {};
}

Status parse_cluster(const toml::table& root, ClusterConfig& c, const std::string& src) {
  const toml::table* cl = root["cluster"].as_table();
  if (cl == nullptr) return {};  // all defaults
  DVMM_TRY(check_keys(*cl, {"id", "transport", "memory"}, "[cluster]", src));
  c.cluster_id = DVMM_TRY(get_int<uint32_t>(*cl, "id", 0, UINT32_MAX, 1, "cluster", src));
  std::string transport = DVMM_TRY(get_string(*cl, "transport", "shm", "cluster", src));
  if (transport == "shm") {
    c.transport = TransportKind::kShm;
  } else if (transport == "udp") {
    c.transport = TransportKind::kUdp;
  } else {
    return Error::format("{}: cluster.transport = \"{}\" is not a transport: use \"shm\" or \"udp\"",
                         at(src, *cl->get("transport")), transport);
  }
  // Nodes that talk over shm are on one host and can share a file; with any
  // other transport they are not declared to, so DSM is the default.
  const char* fallback = c.transport == TransportKind::kShm ? "shared" : "dsm";
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
    DVMM_TRY(check_keys(*t, {"id", "vcpus", "address"}, "[[node]]", src));
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
      auto idx = v.value<int64_t>();
      if (!v.is_integer() || !idx || *idx < 0) {
        return Error::format("{}: node {}: vcpus must list vCPU indices (integers >= 0)",
                             at(src, v), node.id);
      }
      node.vcpus.push_back(static_cast<uint32_t>(*idx));
    }
    std::string where = fmt::format("{}: node {}", at(src, n), node.id);
    if (const toml::node* a = t->get("address")) {
      if (!a->is_string()) return Error::format("{}: address must be a string \"host:port\"", where);
      DVMM_TRY(parse_address(std::string(*a->value<std::string_view>()), node, where));
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
  if (c.transport == TransportKind::kUdp) {
    for (const NodeConfig& n : c.nodes) {
      if (n.host.empty()) {
        return Error::format("{}: node {} needs address = \"host:port\" for the udp transport", src,
                             n.id);
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
  DVMM_TRY(check_keys(root, {"vm", "cluster", "node"}, "the top level", c.source));
  DVMM_TRY(parse_vm(root, c, c.source));
  DVMM_TRY(parse_cluster(root, c, c.source));
  DVMM_TRY(parse_nodes(root, c, c.source));
  if (!c.bundled_kernel() && std::filesystem::path(c.kernel).is_relative()) {
    c.kernel = (std::filesystem::path(c.source).parent_path() / c.kernel).string();
  }
  return c;
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
