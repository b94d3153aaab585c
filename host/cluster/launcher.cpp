#include "host/cluster/launcher.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "host/cluster/instance_files.hpp"
#include "host/cluster/namespace_network.hpp"

namespace dvmm::cluster {

namespace {

// How long the other nodes get to finish after node 0 exited, and how long
// node 0 gets to report after another node exited normally.
constexpr auto kGracePeriod = std::chrono::seconds(3);

struct Child {
  pid_t pid = -1;
  bool exited = false;
  int status = 0;  // waitpid status
};

std::string describe(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {} ({})", WTERMSIG(status),
                                              strsignal(WTERMSIG(status)));
  return "stopped";
}

// `network_namespace`: empty, or the namespace the node runs in.
pid_t spawn_node(const LaunchOptions& o, uint16_t id, const std::string& instance,
                 const std::string& network_namespace, const sigset_t& original_mask) {
  std::vector<std::string> args{o.self_exe, "--log-level", o.log_level, "node", o.config_path,
                                "--id", std::to_string(id), "--instance", instance};
  if (o.print_stats) args.emplace_back("--stats");
  if (!o.stats_json.empty()) {
    args.emplace_back("--stats-json");
    args.push_back(node_stats_path(o.stats_json, id));
  }
  pid_t pid = fork();
  if (pid != 0) return pid;
  // Child: die with the launcher, and start with the signal mask the
  // launcher itself was started with.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigprocmask(SIG_SETMASK, &original_mask, nullptr);
  if (!network_namespace.empty()) {
    if (std::string e = enter_network_namespace(network_namespace); !e.empty()) {
      std::fprintf(stderr, "dvmm: cannot start node %u in its network namespace: %s\n", id,
                   e.c_str());
      _exit(2);
    }
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  std::fprintf(stderr, "dvmm: cannot run node %u (%s): %s\n", id, argv[0], std::strerror(errno));
  _exit(2);
}

}  // namespace

std::string node_stats_path(const std::string& pattern, uint16_t id) {
  const std::string node = std::to_string(id);
  std::string path = pattern;
  const size_t at = path.find("{node}");
  if (at != std::string::npos) return path.replace(at, 6, node);
  return path + ".node" + node + ".json";
}

int launch_cluster(const ClusterConfig& config, const LaunchOptions& options) {
  const std::string instance = fmt::format("{}-{}", config.cluster_id, getpid());
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGCHLD);
  sigset_t original;
  sigprocmask(SIG_BLOCK, &handled, &original);

  // A leftover from a crashed run with a recycled pid would replay its frames.
  unlink(instance_ram_path(instance).c_str());
  unlink(instance_rings_path(instance).c_str());

  // Removed (namespaces, veths, bridge) when this function returns.
  std::unique_ptr<NamespaceNetwork> network;
  if (config.transport == TransportKind::kDpdk &&
      config.dpdk.network == DpdkNetwork::kNamespaces) {
    if (size_t n = NamespaceNetwork::remove_stale(); n > 0) {
      std::fprintf(stderr, "dvmm: removed %zu network namespace(s) left by dvmm runs that were "
                   "killed\n", n);
    }
    std::vector<std::array<uint8_t, 6>> macs;
    for (const NodeConfig& n : config.nodes) macs.push_back(n.mac);
    auto created = NamespaceNetwork::create(instance, macs, config.dpdk.mtu);
    if (!created) {
      sigprocmask(SIG_SETMASK, &original, nullptr);
      std::fprintf(stderr, "dvmm: %s\n", created.error().message.c_str());
      return 1;
    }
    network = std::move(*created);
  }

  std::vector<Child> nodes(config.nodes.size());
  for (const NodeConfig& n : config.nodes) {
    const std::string ns = network ? NamespaceNetwork::node_namespace(instance, n.id) : "";
    nodes[n.id].pid = spawn_node(options, n.id, instance, ns, original);
    if (nodes[n.id].pid < 0) {
      std::fprintf(stderr, "dvmm: fork for node %u: %s\n", n.id, std::strerror(errno));
      for (auto& c : nodes) {
        if (c.pid > 0) kill(c.pid, SIGKILL);
      }
      break;
    }
  }

  int result = -1;
  std::string failure;
  auto deadline = std::chrono::steady_clock::time_point::max();
  auto all_exited = [&] {
    for (const Child& c : nodes) {
      if (c.pid > 0 && !c.exited) return false;
    }
    return true;
  };
  auto terminate_all = [&](int sig) {
    for (const Child& c : nodes) {
      if (c.pid > 0 && !c.exited) kill(c.pid, sig);
    }
  };

  while (!all_exited()) {
    timespec tick{0, 100'000'000};
    int sig = sigtimedwait(&handled, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      // Ctrl-C reaches the nodes too (same process group); forward anyway
      // for a SIGTERM sent to the launcher alone.
      terminate_all(SIGTERM);
      if (result < 0) result = 128 + sig;
      deadline = std::min(deadline, std::chrono::steady_clock::now() + kGracePeriod);
    }
    for (;;) {
      int status = 0;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      for (size_t id = 0; id < nodes.size(); ++id) {
        Child& c = nodes[id];
        if (c.pid != pid) continue;
        c.exited = true;
        c.status = status;
        if (id == 0) {
          // The I/O home's status is the guest's (or says why it stopped).
          if (result < 0) {
            result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          }
          deadline = std::min(deadline, std::chrono::steady_clock::now() + kGracePeriod);
        } else if (!nodes[0].exited && failure.empty()) {
          if (WIFSIGNALED(status)) {
            failure = fmt::format("node {} (pid {}) {}", id, pid, describe(status));
            terminate_all(SIGTERM);
            deadline = std::min(deadline, std::chrono::steady_clock::now() + kGracePeriod);
          } else {
            // Usually node 0 told it to stop and exits itself right after;
            // if it does not, this exit is the failure to report.
            failure = fmt::format("node {} (pid {}) {} while node 0 was still running", id, pid,
                                  describe(status));
            deadline = std::min(deadline, std::chrono::steady_clock::now() + kGracePeriod);
          }
        }
      }
    }
    if (std::chrono::steady_clock::now() > deadline && !all_exited()) {
      terminate_all(SIGKILL);
      deadline = std::chrono::steady_clock::now() + kGracePeriod;
    }
  }
  sigprocmask(SIG_SETMASK, &original, nullptr);
  unlink(instance_ram_path(instance).c_str());
  unlink(instance_rings_path(instance).c_str());

  // A node that died by a signal is the failure, whatever node 0 said after.
  bool node0_clean = nodes[0].exited && WIFEXITED(nodes[0].status);
  if (!failure.empty() && (!node0_clean || failure.find("killed") != std::string::npos)) {
    std::fprintf(stderr, "dvmm: cluster stopped: %s\n", failure.c_str());
    return 1;
  }
  return result < 0 ? 1 : result;
}

}  // namespace dvmm::cluster
