#include "tools/dvmm-bench/bench_netns.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

extern char** environ;

namespace dvmm::bench {
namespace {

constexpr const char* kNetnsDir = "/run/netns";

// --- removal from a signal handler ------------------------------------------

// The namespaces alive in this process, as /run/netns paths, readable from
// a signal handler: a slot is filled before it is marked used, and marked
// unused before it is reused.
struct Slot {
  volatile sig_atomic_t used = 0;
  char path[128] = {};
};
constexpr int kSlots = 8;
Slot g_slots[kSlots];
volatile pid_t g_owner = 0;  // the process that made them (not its forked children)
int g_registered = 0;        // main thread only
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction g_saved[3];

void remove_on_signal(int sig) {
  if (getpid() == g_owner) {
    for (Slot& s : g_slots) {
      if (s.used == 0) continue;
      // `ip netns del`: the path is a bind mount of the namespace.
      (void)umount2(s.path, MNT_DETACH);
      (void)unlink(s.path);
    }
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  (void)sigaction(sig, &dfl, nullptr);
  (void)raise(sig);  // delivered, now fatal, when the handler returns
}

Status register_path(const std::string& name) {
  const std::string path = fmt::format("{}/{}", kNetnsDir, name);
  for (Slot& s : g_slots) {
    if (s.used != 0) continue;
    if (path.size() >= sizeof s.path) return Error::format("namespace name too long: {}", name);
    std::memcpy(s.path, path.c_str(), path.size() + 1);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    s.used = 1;
    if (g_registered++ == 0) {
      g_owner = getpid();
      struct sigaction sa {};
      sa.sa_handler = remove_on_signal;
      sigemptyset(&sa.sa_mask);
      for (int i = 0; i < 3; ++i) (void)sigaction(kSignals[i], &sa, &g_saved[i]);
    }
    return {};
  }
  return Error::format("more than {} benchmark namespaces at once", kSlots);
}

void unregister_path(const std::string& name) {
  const std::string path = fmt::format("{}/{}", kNetnsDir, name);
  for (Slot& s : g_slots) {
    if (s.used == 0 || path != s.path) continue;
    s.used = 0;
    if (--g_registered == 0) {
      for (int i = 0; i < 3; ++i) (void)sigaction(kSignals[i], &g_saved[i], nullptr);
    }
    return;
  }
}

// --- `ip` ---------------------------------------------------------------------

// Runs `ip args...`; on failure the error has its output, which goes to
// an anonymous file read once `ip` has exited (nothing to drain meanwhile).
Status ip(const std::vector<std::string>& args) {
  std::string command = "ip";
  for (const std::string& a : args) command += " " + a;
  const int out = memfd_create("dvmm-bench-ip", MFD_CLOEXEC);
  if (out < 0) return Error::from_errno("memfd_create");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out, STDERR_FILENO);
  std::vector<std::string> storage = args;
  storage.insert(storage.begin(), "ip");
  std::vector<char*> argv;
  for (std::string& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, "ip", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  if (rc == 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  std::string output(2048, '\0');
  const ssize_t n = rc == 0 ? pread(out, output.data(), output.size(), 0) : 0;
  close(out);
  if (rc != 0) return Error::format("`{}`: {} (is iproute2 installed?)", command, std::strerror(rc));
  output.resize(n > 0 ? static_cast<size_t>(n) : 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return Error::format("`{}` failed: {}", command, output.empty() ? "no output" : output);
  }
  return {};
}

std::string mac_text(const MacBytes& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                     m[5]);
}

// "dvmm-bench-<pid>-..." -> pid, or 0 for any other name.
pid_t owner_pid(const std::string& name) {
  const std::string prefix = VethNamespaces::kPrefix;
  if (name.rfind(prefix, 0) != 0) return 0;
  const char* p = name.c_str() + prefix.size();
  char* end = nullptr;
  const long pid = std::strtol(p, &end, 10);
  if (end == p || *end != '-' || pid <= 0) return 0;
  return static_cast<pid_t>(pid);
}

// A process that is gone, or a zombie nobody has reaped yet (a killed
// benchmark's parent may take its time; its namespaces are stale already).
bool process_gone(pid_t pid) {
  if (kill(pid, 0) != 0) return errno == ESRCH;
  FILE* f = std::fopen(fmt::format("/proc/{}/stat", pid).c_str(), "r");
  if (f == nullptr) return true;
  char line[512] = {};
  const bool read = std::fgets(line, sizeof line, f) != nullptr;
  std::fclose(f);
  const char* paren = read ? std::strrchr(line, ')') : nullptr;
  return paren != nullptr && paren[1] == ' ' && paren[2] == 'Z';
}

}  // namespace

Status VethNamespaces::add(const std::string& name) {
  DVMM_TRY(ip({"netns", "add", name}));
  names_[added_++] = name;
  if (Status s = register_path(name); !s.ok()) return s;
  return ip({"-n", name, "link", "set", "lo", "up"});
}

Result<std::unique_ptr<VethNamespaces>> VethNamespaces::create() {
  if (geteuid() != 0) {
    return Error::format("network namespaces need root (CAP_SYS_ADMIN, CAP_NET_ADMIN)");
  }
  const size_t stale = remove_stale();
  if (stale > 0) {
    std::fprintf(stderr, "dvmm-bench: removed %zu network namespace(s) left by killed runs\n",
                 stale);
  }
  static unsigned serial = 0;
  const std::string base = fmt::format("{}{}-{}", kPrefix, getpid(), serial++);
  std::unique_ptr<VethNamespaces> n(new VethNamespaces);
  // On an error the destructor removes what was made.
  DVMM_TRY(n->add(base + "a"));
  DVMM_TRY(n->add(base + "b"));
  const std::string mtu = std::to_string(kVethMtu);
  DVMM_TRY(ip({"link", "add", kVethNames[0], "address", mac_text(kDpdkMacs[0]), "mtu", mtu,
               "netns", n->names_[0], "type", "veth", "peer", "name", kVethNames[1], "address",
               mac_text(kDpdkMacs[1]), "mtu", mtu, "netns", n->names_[1]}));
  for (unsigned node = 0; node < 2; ++node) {
    // No IPv6 link-local address: no DAD, router solicitations or MLD
    // frames arriving in the middle of a measurement.
    DVMM_TRY(ip({"-n", n->names_[node], "link", "set", kVethNames[node], "addrgenmode", "none"}));
    // Both ends up before a DPDK process starts: af_packet reports the
    // link up even while the peer is down.
    DVMM_TRY(ip({"-n", n->names_[node], "link", "set", kVethNames[node], "up"}));
  }
  return n;
}

VethNamespaces::~VethNamespaces() {
  for (unsigned i = added_; i-- > 0;) {
    (void)ip({"netns", "del", names_[i]});
    unregister_path(names_[i]);
  }
}

size_t VethNamespaces::remove_stale() {
  DIR* d = opendir(kNetnsDir);
  if (d == nullptr) return 0;
  std::vector<std::string> stale;
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    const pid_t pid = owner_pid(name);
    if (pid > 0 && process_gone(pid)) stale.push_back(name);
  }
  closedir(d);
  size_t removed = 0;
  for (const std::string& name : stale) {
    if (ip({"netns", "del", name}).ok()) ++removed;
  }
  return removed;
}

Status enter_netns(const std::string& name) {
  const std::string path = fmt::format("{}/{}", kNetnsDir, name);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::from_errno(fmt::format("open {}", path));
  const int r = setns(fd, CLONE_NEWNET);
  const int err = errno;
  close(fd);
  if (r != 0) return Error::from_errno(fmt::format("setns({})", name), err);
  return {};
}

}  // namespace dvmm::bench
