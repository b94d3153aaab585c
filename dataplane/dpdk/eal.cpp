#include "dataplane/dpdk/eal.hpp"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>

#include "dataplane/dpdk/dpdk_headers.hpp"

namespace dvmm::dataplane::dpdk {
namespace {

struct EalState {
  std::mutex mu;
  bool tried = false;
  std::optional<Error> failure;
  std::vector<std::string> args;
  // rte_eal_init keeps pointers into argv (and permutes it): the strings
  // live for the whole process, like a real main()'s argv.
  std::vector<std::string> argv_storage;
  std::vector<char*> argv;
};

EalState& state() {
  static EalState* s = new EalState;  // never destroyed: EAL threads may outlive statics
  return *s;
}

bool has_arg(const std::vector<std::string>& args, std::string_view a) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& s) {
    return s == a || s.rfind(std::string(a) + "=", 0) == 0;
  });
}

std::string join(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

// What to try, from what rte_errno says and what the arguments lack.
std::string hint(int err, const std::vector<std::string>& args) {
  std::string h;
  if (geteuid() != 0) {
    h += " DPDK here needs root (af_packet needs CAP_NET_RAW, memory setup CAP_IPC_LOCK): "
         "run as root.";
  }
  if (!has_arg(args, "--no-huge")) {
    h += " This host has no hugepages: pass --no-huge -m 256.";
  }
  if (!has_arg(args, "--no-pci")) h += " Pass --no-pci (no NIC is bound to a DPDK driver).";
  if (!has_arg(args, "--no-shconf") && !has_arg(args, "--file-prefix")) {
    h += " Give each DPDK process its own --file-prefix=NAME, or pass --no-shconf.";
  }
  if (err == EALREADY) h += " Another library in this process has already started the EAL.";
  if (h.empty()) {
    h = " Arguments known to work here: --no-huge --no-pci -m 256 --no-shconf "
        "--vdev=net_af_packet0,iface=IFACE,blocksz=8192,framesz=8192 (see the EAL log above).";
  }
  return h;
}

}  // namespace

std::vector<std::string> vdev_args(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--vdev=", 0) == 0) {
      out.push_back(a.substr(7));
    } else if (a == "--vdev" && i + 1 < args.size()) {
      out.push_back(args[++i]);
    }
  }
  return out;
}

Status eal_init(const std::vector<std::string>& args) {
  EalState& s = state();
  const std::lock_guard<std::mutex> lock(s.mu);
  if (s.tried) {
    if (s.failure) return *s.failure;
    if (!args.empty() && args != s.args) {
      return Error::format(
          "dpdk: the EAL is already running in this process with [{}]; it cannot be restarted "
          "with [{}] (pass the same EAL arguments, or none, for a second port)",
          join(s.args), join(args));
    }
    return {};
  }
  s.tried = true;
  s.args = args;
  s.argv_storage.reserve(args.size() + 1);
  s.argv_storage.emplace_back("dvmm");
  for (const auto& a : args) s.argv_storage.push_back(a);
  for (auto& a : s.argv_storage) s.argv.push_back(a.data());
  s.argv.push_back(nullptr);

  // rte_eal_init pins the calling thread to the main lcore (CPU 0 unless
  // -l says otherwise), and every thread it creates later (vCPUs, the
  // poller) would inherit that: several nodes on one host would then all run
  // on CPU 0. dvmm runs no lcore workers, so the thread gets its affinity
  // back; an operator who wants pinning sets it with taskset or cgroups.
  cpu_set_t affinity;
  const bool have_affinity =
      pthread_getaffinity_np(pthread_self(), sizeof(affinity), &affinity) == 0;
  const int r = rte_eal_init(static_cast<int>(s.argv_storage.size()), s.argv.data());
  if (have_affinity) (void)pthread_setaffinity_np(pthread_self(), sizeof(affinity), &affinity);
  if (r < 0) {
    const int err = rte_errno;
    s.failure = Error::format("dpdk: EAL initialisation failed with [{}]: {} (rte_errno {}).{}",
                              join(args), rte_strerror(err), err, hint(err, args));
    return *s.failure;
  }
  if (static_cast<size_t>(r) != args.size()) {
    // Not an error for the EAL, but everything we pass is meant for it.
    s.failure = Error::format(
        "dpdk: the EAL consumed only {} of the {} arguments [{}]; the rest are not EAL options",
        r, args.size(), join(args));
    return *s.failure;
  }
  return {};
}

bool eal_initialized() {
  EalState& s = state();
  const std::lock_guard<std::mutex> lock(s.mu);
  return s.tried && !s.failure;
}

std::vector<std::string> eal_args() {
  EalState& s = state();
  const std::lock_guard<std::mutex> lock(s.mu);
  return s.args;
}

}  // namespace dvmm::dataplane::dpdk
