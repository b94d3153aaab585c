#include "host/cluster/namespace_network.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "host/cluster/cluster_config.hpp"

namespace dvmm::cluster {

namespace {

constexpr const char* kNetnsDir = "/run/netns";
constexpr const char* kBridge = "br0";

std::string mac_text(const std::array<uint8_t, 6>& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                     m[5]);
}

// Runs `ip args...` and returns its combined output on failure.
Status run_ip(const std::vector<std::string>& args) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Error::format("pipe: {}", std::strerror(errno));
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(out[0]);
    close(out[1]);
    return Error::format("fork for `ip`: {}", std::strerror(err));
  }
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    std::vector<char*> argv;
    std::string ip = "ip";
    argv.push_back(ip.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp("ip", argv.data());
    _exit(errno == ENOENT ? 127 : 126);
  }
  close(out[1]);
  std::string output;
  char buf[512];
  for (;;) {
    const ssize_t n = read(out[0], buf, sizeof(buf));
    if (n > 0) {
      output.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string command = "ip";
  for (const auto& a : args) command += " " + a;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    return Error::format("`{}`: the ip command is not installed (Debian package iproute2)",
                         command);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return Error::format("`{}` failed: {}", command, output.empty() ? "no output" : output);
  }
  return {};
}

// "dvmm-<cluster id>-<pid>-..." -> pid, or 0 if the name is no launcher's.
pid_t launcher_pid(const std::string& name) {
  if (name.rfind("dvmm-", 0) != 0) return 0;
  const char* p = name.c_str() + 5;
  char* end = nullptr;
  std::strtoul(p, &end, 10);
  if (end == p || *end != '-') return 0;
  p = end + 1;
  const long pid = std::strtol(p, &end, 10);
  if (end == p || *end != '-' || pid <= 0) return 0;
  return static_cast<pid_t>(pid);
}

}  // namespace

std::string NamespaceNetwork::node_namespace(const std::string& instance, uint16_t node) {
  return fmt::format("dvmm-{}-n{}", instance, node);
}

std::string NamespaceNetwork::switch_namespace(const std::string& instance) {
  return fmt::format("dvmm-{}-sw", instance);
}

Status NamespaceNetwork::add_namespace(const std::string& name) {
  DVMM_TRY(run_ip({"netns", "add", name}));
  created_.push_back(name);
  return run_ip({"-n", name, "link", "set", "lo", "up"});
}

Result<std::unique_ptr<NamespaceNetwork>> NamespaceNetwork::create(
    const std::string& instance, const std::vector<std::array<uint8_t, 6>>& macs, uint16_t mtu) {
  if (geteuid() != 0) {
    return Error::format(
        "dpdk.network = \"namespaces\" needs root (network namespaces need CAP_SYS_ADMIN, veths "
        "CAP_NET_ADMIN, af_packet CAP_NET_RAW): run dvmm as root, or use network = \"host\" with "
        "ports you set up yourself");
  }
  std::unique_ptr<NamespaceNetwork> net(new NamespaceNetwork);
  auto fail = [&](const Error& e) {
    return Error::format("setting up the namespaces of cluster instance {}: {}", instance,
                         e.message);
  };
  const std::string sw = switch_namespace(instance);
  const std::string mtu_text = std::to_string(mtu);
  if (auto s = net->add_namespace(sw); !s) return fail(s.error());
  if (auto s = run_ip({"-n", sw, "link", "add", kBridge, "type", "bridge"}); !s) {
    return fail(s.error());
  }
  for (size_t id = 0; id < macs.size(); ++id) {
    const std::string ns = node_namespace(instance, static_cast<uint16_t>(id));
    const std::string port = fmt::format("n{}", id);
    if (auto s = net->add_namespace(ns); !s) return fail(s.error());
    for (const auto& cmd : std::vector<std::vector<std::string>>{
             {"link", "add", kNamespaceInterface, "address", mac_text(macs[id]), "mtu", mtu_text,
              "netns", ns, "type", "veth", "peer", "name", port, "mtu", mtu_text, "netns", sw},
             {"-n", sw, "link", "set", port, "master", kBridge},
             {"-n", sw, "link", "set", port, "up"},
             // Both ends up before any DPDK process starts: af_packet reports
             // the link up even while the peer is down.
             {"-n", ns, "link", "set", kNamespaceInterface, "up"},
         }) {
      if (auto s = run_ip(cmd); !s) return fail(s.error());
    }
  }
  // The bridge takes the smallest MTU of its ports, all `mtu` by now.
  if (auto s = run_ip({"-n", sw, "link", "set", kBridge, "up"}); !s) return fail(s.error());
  return net;
}

NamespaceNetwork::~NamespaceNetwork() {
  // Deleting a namespace destroys its interfaces, and a veth's peer with it.
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) (void)run_ip({"netns", "del", *it});
}

size_t NamespaceNetwork::remove_stale() {
  DIR* d = opendir(kNetnsDir);
  if (d == nullptr) return 0;
  std::vector<std::string> stale;
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    const pid_t pid = launcher_pid(name);
    if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(name);
  }
  closedir(d);
  size_t removed = 0;
  for (const auto& n : stale) {
    if (run_ip({"netns", "del", n})) ++removed;
  }
  return removed;
}

std::string enter_network_namespace(const std::string& name) {
  const std::string path = fmt::format("{}/{}", kNetnsDir, name);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fmt::format("open {}: {}", path, std::strerror(errno));
  const int r = setns(fd, CLONE_NEWNET);
  const int err = errno;
  close(fd);
  if (r != 0) return fmt::format("setns({}): {}", name, std::strerror(err));
  return {};
}

}  // namespace dvmm::cluster
