// The DPDK transport on real PMDs: net_memif between two forked processes,
// and net_af_packet over a veth pair whose ends live in two network
// namespaces the test creates (and removes on every path).
//
// The EAL can start only once per process and not survive a fork, so every
// test that starts it does so in forked children; the gtest process only
// supervises them. Each child reports through a pipe: lines of information
// (round trips) and, on failure, what went wrong; it exits 0 on success.
// Every wait is bounded (the children also have an alarm()), and loops
// that wait for a peer sleep between polls except while measuring.
//
// Needs root (DPDK's PMDs, network namespaces): skipped visibly otherwise.
#include "dataplane/dpdk_transport.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/dpdk/frame.hpp"
#include "dataplane/impaired_transport.hpp"
#include "dataplane/message.hpp"
#include "dataplane/reliable_link.hpp"
#include "host/common/clock.hpp"

namespace dvmm::dataplane {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Mac = std::array<uint8_t, 6>;

constexpr Mac kMac0{0x02, 0xd7, 0, 0, 0, 0x01};
constexpr Mac kMac1{0x02, 0xd7, 0, 0, 0, 0x02};
constexpr Mac kStranger{0x02, 0xd7, 0, 0, 0, 0x99};

bool is_root() {
  return geteuid() == 0;
}

// --- child processes ---------------------------------------------------------

// What a child writes back: info lines, and a failure text.
class Report {
 public:
  explicit Report(int fd) : fd_(fd) {}
  void info(const std::string& s) { write_all("I " + s + "\n"); }
  void write_all(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = write(fd_, s.data() + off, s.size() - off);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

 private:
  int fd_;
};

// A forked child running fn (which returns "" on success, else why it
// failed). Killed and reaped on every path out of the test.
class Child {
 public:
  Child(const std::function<std::string(Report&)>& fn, std::chrono::seconds alarm_after) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return;
    std::fflush(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      close(p[0]);
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
      alarm(static_cast<unsigned>(alarm_after.count()));
      Report r(p[1]);
      const std::string err = fn(r);
      if (!err.empty()) r.write_all("E " + err + "\n");
      std::fflush(nullptr);
      _exit(err.empty() ? 0 : 1);
    }
    close(p[1]);
    fd_ = p[0];
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0; }

  struct Outcome {
    bool ok = false;
    std::string text;  // everything the child reported, plus how it ended
  };

  // Reads the child's report until it contains `needle` (true), or the
  // child closes its end or `timeout` passes (false).
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto end = Clock::now() + timeout;
    while (text_.find(needle) == std::string::npos) {
      if (Clock::now() > end || !read_some(10)) return text_.find(needle) != std::string::npos;
    }
    return true;
  }

  // Collects the child's report until it exits, for at most `timeout`.
  Outcome wait(std::chrono::milliseconds timeout) {
    Outcome o;
    const auto end = Clock::now() + timeout;
    bool eof = false;
    int status = 0;
    bool exited = false;
    while (Clock::now() < end && !(eof && exited)) {
      if (!eof) {
        eof = !read_some(10);
      } else {
        std::this_thread::sleep_for(1ms);
      }
      if (!exited && waitpid(pid_, &status, WNOHANG) == pid_) {
        exited = true;
        pid_ = -1;
      }
    }
    o.text = text_;
    if (!exited) {
      o.text += "(child did not finish in time: killed)\n";
      return o;
    }
    if (WIFSIGNALED(status)) {
      o.text += fmt::format("(child killed by signal {}{})\n", WTERMSIG(status),
                            WTERMSIG(status) == SIGALRM ? ": its alarm() expired" : "");
      return o;
    }
    o.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return o;
  }

 private:
  // Appends what the child wrote within `ms`; false at end of file.
  bool read_some(int ms) {
    if (fd_eof_) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, ms) != 1) return true;
    char buf[4096];
    const ssize_t n = read(fd_, buf, sizeof(buf));
    if (n > 0) {
      text_.append(buf, static_cast<size_t>(n));
      return true;
    }
    fd_eof_ = true;
    return false;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  bool fd_eof_ = false;
  std::string text_;
};

// Info lines of a report, for the test log.
void print_info(const std::string& who, const std::string& text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(pos, nl - pos);
    if (line.rfind("I ", 0) == 0) std::printf("[   info   ] %s: %s\n", who.c_str(), line.c_str() + 2);
    pos = nl + 1;
  }
}

// --- shell commands (the namespace fixture) ---------------------------------

// Runs a command; returns its exit status and puts stdout+stderr in *out.
int run(const std::string& cmd, std::string* out = nullptr) {
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (f == nullptr) return -1;
  std::string s;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), f) != nullptr) s += buf;
  const int st = pclose(f);
  if (out != nullptr) *out = s;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Two network namespaces joined by a veth pair (v1 in a, v2 in b), named
// after our pid so that leftovers of a killed run are recognisable: every
// instance first removes the namespaces of test processes that are gone.
class VethPair {
 public:
  VethPair(unsigned mtu, const Mac& mac_a, const Mac& mac_b) {
    reap_stale();
    static int counter = 0;
    const std::string base = fmt::format("dvmm-t-{}-{}", getpid(), counter++);
    ns_a_ = base + "a";
    ns_b_ = base + "b";
    const std::vector<std::string> cmds = {
        "ip netns add " + ns_a_,
        "ip netns add " + ns_b_,
        fmt::format("ip link add v1 address {} netns {} type veth peer name v2 address {} netns {}",
                    mac_string(mac_a), ns_a_, mac_string(mac_b), ns_b_),
        fmt::format("ip -n {} link set lo up", ns_a_),
        fmt::format("ip -n {} link set lo up", ns_b_),
        fmt::format("ip -n {} link set v1 mtu {}", ns_a_, mtu),
        fmt::format("ip -n {} link set v2 mtu {}", ns_b_, mtu),
        // Both ends up before any DPDK process starts: af_packet reports
        // link up even while the peer is down.
        fmt::format("ip -n {} link set v1 up", ns_a_),
        fmt::format("ip -n {} link set v2 up", ns_b_),
    };
    for (const auto& c : cmds) {
      std::string out;
      if (run(c, &out) != 0) {
        error_ = fmt::format("`{}` failed: {}", c, out);
        return;
      }
    }
    ok_ = true;
  }
  ~VethPair() {
    // Deleting a namespace destroys its veth end, and with it the peer.
    if (!ns_a_.empty()) (void)run("ip netns del " + ns_a_);
    if (!ns_b_.empty()) (void)run("ip netns del " + ns_b_);
  }
  VethPair(const VethPair&) = delete;
  VethPair& operator=(const VethPair&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& ns_a() const { return ns_a_; }
  const std::string& ns_b() const { return ns_b_; }

  static bool exists(const std::string& ns) {
    struct stat st {};
    return stat(("/run/netns/" + ns).c_str(), &st) == 0;
  }

  static std::string mac_string(const Mac& m) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                       m[5]);
  }

 private:
  static void reap_stale() {
    DIR* d = opendir("/run/netns");
    if (d == nullptr) return;
    std::vector<std::string> stale;
    while (const dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.rfind("dvmm-t-", 0) != 0) continue;
      const long pid = std::strtol(n.c_str() + 7, nullptr, 10);
      if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(n);
    }
    closedir(d);
    for (const auto& n : stale) (void)run("ip netns del " + n);
  }

  bool ok_ = false;
  std::string error_;
  std::string ns_a_, ns_b_;
};

// In a child: moves this process into a namespace made by VethPair.
std::string enter_netns(const std::string& ns) {
  const int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fmt::format("open /run/netns/{}: {}", ns, std::strerror(errno));
  const int r = setns(fd, CLONE_NEWNET);
  const int err = errno;
  close(fd);
  if (r != 0) return fmt::format("setns({}): {}", ns, std::strerror(err));
  return {};
}

// --- configuration ----------------------------------------------------------

std::vector<std::string> eal(const std::string& vdev) {
  std::vector<std::string> a = {"--no-huge", "--no-pci", "-m", "256", "--no-shconf",
                                "--log-level=*:warning"};
  if (!vdev.empty()) a.push_back("--vdev=" + vdev);
  return a;
}

DpdkTransportConfig config(const std::string& vdev, NodeId local, const Mac& local_mac) {
  DpdkTransportConfig c;
  c.eal_args = eal(vdev);
  c.local = local;
  c.macs = {{NodeId{0}, local == 0 ? local_mac : kMac0}, {NodeId{1}, local == 1 ? local_mac : kMac1}};
  // Smaller than the default: two DPDK processes share this machine.
  c.mbufs = 2048;
  return c;
}

Result<std::unique_ptr<Transport>> open(const DpdkTransportConfig& c) {
  return make_dpdk_transport(c);
}

DpdkTransport& dpdk(Transport& t) {
  return static_cast<DpdkTransport&>(t);
}

std::string describe(Transport& t) {
  const auto& i = dpdk(t).port_info();
  return fmt::format("{} ({}), MAC {}, max frame {} ({}), wake-up {}", i.device, i.driver,
                     VethPair::mac_string(i.mac), i.max_frame_size, i.mtu_limit,
                     to_string(i.wake));
}

// Frame k of a test: `len` bytes, its number in the first 4, the rest a
// pattern derived from k, so loss, reordering and corruption all show.
std::vector<uint8_t> make_frame(uint32_t k, size_t len) {
  std::vector<uint8_t> v(len);
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<uint8_t>(k * 131u + i * 7u);
  if (len >= 4) std::memcpy(v.data(), &k, 4);
  return v;
}

const std::vector<uint8_t> kStop = {'D', 'V', 'M', 'M', 'S', 'T', 'O', 'P'};

bool is_stop(const RxFrame& f) {
  return f.len == kStop.size() && std::memcmp(f.data, kStop.data(), kStop.size()) == 0;
}

// Queues one frame, retrying while the Tx path is full (bounded).
bool send(Transport& t, NodeId dst, std::span<const uint8_t> bytes) {
  const TxFrame f{dst, bytes};
  const auto end = Clock::now() + 2s;
  while (t.tx_burst(std::span<const TxFrame>(&f, 1)) != 1) {
    t.tx_flush();
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(10us);
  }
  return true;
}

// The adaptive poller's loop, inline (spin a while, then sleep on the
// transport's fd): the echo server runs it, so sleeping and waking up are
// exercised as the node's dataplane thread does them.
struct SleepStats {
  uint64_t sleeps = 0, fd_wakeups = 0;
};

void idle(Transport& t, Clock::time_point& idle_since, SleepStats& s) {
  const auto now = Clock::now();
  if (idle_since == Clock::time_point{}) idle_since = now;
  // The poller's default spin: longer spins only steal the core the peer
  // needs on a loaded 2-core machine.
  if (now - idle_since < 50us) return;
  if (t.prepare_to_sleep()) {
    pollfd p{t.rx_wait_fd(), POLLIN, 0};
    ++s.sleeps;
    if (poll(&p, 1, 100) == 1) ++s.fd_wakeups;  // bounded: 100 ms
    t.after_wakeup();
  }
  idle_since = {};
}

// --- the two roles ----------------------------------------------------------

struct EchoExpect {
  bool check_injected_drops = false;  // the client injects malformed frames
};

// Echoes every frame back to its sender until the stop frame (echoed too).
std::string echo_server(Report& r, const DpdkTransportConfig& c, const EchoExpect& expect) {
  auto tr = open(c);
  if (!tr.ok()) return tr.error().message;
  Transport& t = **tr;
  r.info("server " + describe(t));
  auto rx = std::make_unique<RxFrame[]>(32);
  SleepStats sleeps;
  Clock::time_point idle_since{};
  bool stopped = false;
  const auto end = Clock::now() + 40s;
  while (!stopped && Clock::now() < end) {
    const size_t n = t.rx_burst(std::span<RxFrame>(rx.get(), 32));
    for (size_t i = 0; i < n; ++i) {
      if (!send(t, rx[i].src, std::span<const uint8_t>(rx[i].data, rx[i].len))) {
        return "echo: the Tx path stayed full for 2 s";
      }
      stopped = stopped || is_stop(rx[i]);
    }
    t.tx_flush();
    if (n != 0) {
      idle_since = {};
    } else {
      idle(t, idle_since, sleeps);
    }
  }
  if (!stopped) return "server: no stop frame within 40 s";
  // Linger before closing the port: closing a memif port disconnects the
  // peer at once, and a client that has not yet read our last echo then
  // never sees it. The client exits first (memif: link down), or 1 s.
  const auto linger = Clock::now() + 1s;
  while (dpdk(t).link_up() && Clock::now() < linger) std::this_thread::sleep_for(1ms);
  const auto k = t.counters();
  const auto d = dpdk(t).rx_drops();
  r.info(fmt::format("server: rx {} tx {} rx_dropped {} (not ours {}, malformed {}, wrong dst "
                     "{}, unknown src {}), tx_dropped {}; slept {} times, {} woken by the fd; "
                     "PMD: {}",
                     k.rx_frames, k.tx_frames, k.rx_dropped, d.not_ours, d.malformed,
                     d.wrong_dst, d.unknown_src, k.tx_dropped, sleeps.sleeps, sleeps.fd_wakeups,
                     dpdk(t).pmd_stats()));
  if (k.rx_frames != k.tx_frames) return "server: echoed a different number of frames";
  if (sleeps.sleeps == 0) return "server: never slept (the slow phase should let it)";
  if (expect.check_injected_drops) {
    // Exactly what the client injected; "not ours" also counts the
    // kernel's own IPv6 chatter on the veth, so at least.
    if (d.malformed != 2 || d.wrong_dst != 1 || d.unknown_src != 1 || d.not_ours < 1) {
      return "server: the injected bad frames were not dropped as expected";
    }
    if (k.rx_dropped != d.not_ours + d.malformed + d.wrong_dst + d.unknown_src) {
      return "server: rx_dropped is not the sum of its reasons";
    }
  }
  return {};
}

// Waits for the echo of frame `k` (its exact bytes, from node `from`).
std::string expect_echo(Transport& t, RxFrame& rx, NodeId from, std::span<const uint8_t> sent,
                        uint32_t k, std::chrono::milliseconds timeout, bool sleep_between) {
  const auto end = Clock::now() + timeout;
  while (Clock::now() < end) {
    if (t.rx_burst(std::span<RxFrame>(&rx, 1)) == 1) {
      if (rx.src != from) return fmt::format("frame {}: from node {}, not {}", k, rx.src, from);
      if (rx.len != sent.size() || std::memcmp(rx.data, sent.data(), sent.size()) != 0) {
        uint32_t got = 0;
        if (rx.len >= 4) std::memcpy(&got, rx.data, 4);
        return fmt::format("frame {} ({} bytes): echo has {} bytes and starts with number {} "
                           "(lost, reordered or corrupted)",
                           k, sent.size(), rx.len, got);
      }
      return {};
    }
    if (sleep_between) std::this_thread::sleep_for(20us);
  }
  return fmt::format("frame {} ({} bytes): no echo within {} ms", k, sent.size(), timeout.count());
}

struct Percentiles {
  double p50 = 0, p99 = 0, p999 = 0;
};

Percentiles percentiles(std::vector<uint64_t> ns) {
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    return static_cast<double>(ns[std::min(ns.size() - 1, static_cast<size_t>(q * static_cast<double>(ns.size())))]) / 1000.0;
  };
  return {at(0.50), at(0.99), at(0.999)};
}

struct ClientPlan {
  bool inject_bad_frames = false;  // af_packet: raw frames into the veth
  std::string iface;               // for injection
  size_t min_max_frame = 0;        // max_frame_size() must be at least this
};

std::string inject_bad_frames(const std::string& iface, const Mac& self, const Mac& server);

std::string echo_client(Report& r, const DpdkTransportConfig& c, const ClientPlan& plan) {
  auto tr = open(c);
  if (!tr.ok()) return tr.error().message;
  Transport& t = **tr;
  r.info("client " + describe(t));
  const size_t max = t.max_frame_size();
  if (max < plan.min_max_frame) {
    return fmt::format("max_frame_size() is {}, expected at least {}", max, plan.min_max_frame);
  }
  auto rx = std::make_unique<RxFrame>();

  // 1. Link up (memif: the server accepted us), then a hello that the
  //    server echoes: it proves the server's port is polling.
  auto end = Clock::now() + 15s;
  while (!dpdk(t).link_up()) {
    if (Clock::now() > end) return "link not up within 15 s";
    std::this_thread::sleep_for(1ms);
  }
  bool hello = false;
  for (uint32_t k = 0; !hello && Clock::now() < end; ++k) {
    const auto v = make_frame(0xFFFF0000u + k, 64);
    if (!send(t, 0, v)) return "hello: Tx path full";
    t.tx_flush();
    // Earlier hellos may echo late: accept any hello echo.
    const auto wait_end = Clock::now() + 20ms;
    while (Clock::now() < wait_end) {
      if (t.rx_burst(std::span<RxFrame>(rx.get(), 1)) == 1) {
        hello = true;
        break;
      }
      std::this_thread::sleep_for(50us);
    }
  }
  if (!hello) return "the server never answered a hello within 15 s";
  // Drain late hello echoes.
  std::this_thread::sleep_for(50ms);
  while (t.rx_burst(std::span<RxFrame>(rx.get(), 1)) == 1) {
  }

  // 2. Ping-pong in order: 64 bytes and the largest frame, alternating,
  //    plus sizes around the boundaries.
  std::vector<size_t> sizes = {64, max, 1, 24, 45, 46, 88, 1498, 2048, 2049, max - 1, max};
  sizes.erase(std::remove_if(sizes.begin(), sizes.end(), [&](size_t s) { return s > max; }),
              sizes.end());
  uint32_t k = 0;
  for (int round = 0; round < 50; ++round) {
    for (const size_t len : sizes) {
      const auto v = make_frame(k, len);
      if (!send(t, 0, v)) return "ping: Tx path full";
      t.tx_flush();
      if (auto e = expect_echo(t, *rx, 0, v, k, 2000ms, true); !e.empty()) return e;
      ++k;
    }
  }
  r.info(fmt::format("client: {} frames ping-ponged in order (64 B to {} B)", k, max));

  // 2b. No tx_flush: the 100 µs drain timer (run from rx_burst) sends.
  for (int i = 0; i < 10; ++i, ++k) {
    const auto v = make_frame(k, 64);
    const TxFrame f{0, v};
    if (t.tx_burst(std::span<const TxFrame>(&f, 1)) != 1) return "unflushed: not taken";
    if (auto e = expect_echo(t, *rx, 0, v, k, 2000ms, true); !e.empty()) {
      return "without tx_flush: " + e;
    }
  }

  // 3. Bursts: 32 frames queued at once, echoed back in order.
  for (int round = 0; round < 20; ++round) {
    std::vector<std::vector<uint8_t>> frames;
    std::vector<TxFrame> tx;
    for (uint32_t i = 0; i < 32; ++i) frames.push_back(make_frame(k + i, (i % 2) ? 64 : max));
    for (const auto& f : frames) tx.push_back(TxFrame{0, f});
    size_t queued = 0;
    const auto qend = Clock::now() + 2s;
    while (queued < tx.size()) {
      queued += t.tx_burst(std::span<const TxFrame>(tx).subspan(queued));
      t.tx_flush();
      if (Clock::now() > qend) return "burst: Tx path full for 2 s";
    }
    for (uint32_t i = 0; i < 32; ++i) {
      if (auto e = expect_echo(t, *rx, 0, frames[i], k + i, 2000ms, true); !e.empty()) return e;
    }
    k += 32;
  }
  r.info("client: 20 bursts of 32 echoed in order");

  // 4. Round trips, busy polling (no sleep between polls: this measures).
  for (const size_t len : {size_t{64}, max}) {
    const int n = len == 64 ? 3000 : 1000;
    std::vector<uint64_t> rtt;
    rtt.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i, ++k) {
      const auto v = make_frame(k, len);
      const auto t0 = Clock::now();
      if (!send(t, 0, v)) return "rtt: Tx path full";
      t.tx_flush();
      if (auto e = expect_echo(t, *rx, 0, v, k, 1000ms, false); !e.empty()) return e;
      rtt.push_back(static_cast<uint64_t>((Clock::now() - t0) / 1ns));
    }
    const auto p = percentiles(rtt);
    r.info(fmt::format("client: round trip {} B: p50 {:.2f} us, p99 {:.2f} us, p99.9 {:.2f} us "
                       "({} samples, server busy-polling)",
                       len, p.p50, p.p99, p.p999, n));
  }

  // 5. Slow pings: the server falls asleep before each one and must wake.
  {
    std::vector<uint64_t> rtt;
    for (int i = 0; i < 30; ++i, ++k) {
      std::this_thread::sleep_for(3ms);
      const auto v = make_frame(k, 64);
      const auto t0 = Clock::now();
      if (!send(t, 0, v)) return "slow: Tx path full";
      t.tx_flush();
      if (auto e = expect_echo(t, *rx, 0, v, k, 500ms, false); !e.empty()) {
        return "after the server slept: " + e;
      }
      rtt.push_back(static_cast<uint64_t>((Clock::now() - t0) / 1ns));
    }
    const auto p = percentiles(rtt);
    r.info(fmt::format("client: round trip 64 B to a sleeping server: p50 {:.1f} us, max {:.1f} "
                       "us",
                       p.p50, static_cast<double>(*std::max_element(rtt.begin(), rtt.end())) / 1000.0));
  }

  // 6. Frames the server must drop (and count by reason).
  if (plan.inject_bad_frames) {
    if (auto e = inject_bad_frames(plan.iface, dpdk(t).port_info().mac, kMac0); !e.empty()) {
      return e;
    }
  }

  // 7. Tx drops: unknown node, ourselves, oversize. Taken, counted, not sent.
  {
    const auto before = t.counters().tx_dropped;
    const auto big = make_frame(0, max + 1);
    const auto small = make_frame(0, 64);
    const TxFrame bad[] = {{7, small}, {1, small}, {0, big}};
    if (t.tx_burst(bad) != 3) return "tx_burst did not take the frames it must drop";
    if (t.counters().tx_dropped != before + 3) return "tx_dropped did not count 3 drops";
  }

  // 8. Stop, and its echo (then nothing else may be pending).
  if (!send(t, 0, kStop)) return "stop: Tx path full";
  t.tx_flush();
  if (auto e = expect_echo(t, *rx, 0, kStop, k, 2000ms, true); !e.empty()) return "stop: " + e;
  const auto cnt = t.counters();
  r.info(fmt::format("client: rx {} tx {} rx_dropped {} tx_dropped {}", cnt.rx_frames,
                     cnt.tx_frames, cnt.rx_dropped, cnt.tx_dropped));
  return {};
}

// Raw Ethernet frames from a packet socket on the client's veth end, each
// one wrong in one way. The server must drop and count each by its reason.
std::string inject_bad_frames(const std::string& iface, const Mac& self, const Mac& server) {
  const int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (s < 0) return fmt::format("packet socket: {}", std::strerror(errno));
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
  to.sll_halen = 6;
  std::memcpy(to.sll_addr, server.data(), 6);
  auto frame = [](const Mac& dst, const Mac& src, uint16_t type, size_t len) {
    std::vector<uint8_t> f(len, 0x5A);
    std::memcpy(f.data(), dst.data(), 6);
    std::memcpy(f.data() + 6, src.data(), 6);
    f[12] = static_cast<uint8_t>(type >> 8);
    f[13] = static_cast<uint8_t>(type);
    if (len >= 16) {  // a valid length field unless changed below
      f[14] = static_cast<uint8_t>((len - 16) >> 8);
      f[15] = static_cast<uint8_t>(len - 16);
    }
    return f;
  };
  std::vector<std::vector<uint8_t>> bad;
  bad.push_back(frame(server, self, 0x0800, 100));      // not ours: IPv4
  bad.push_back(frame(server, self, kEtherType, 15));   // malformed: too short
  auto trunc = frame(server, self, kEtherType, 80);     // malformed: truncated
  trunc[14] = 0x01;
  bad.push_back(trunc);
  bad.push_back(frame(kStranger, self, kEtherType, 80));  // to another MAC
  bad.push_back(frame(server, kStranger, kEtherType, 80));  // from an unknown MAC
  for (const auto& f : bad) {
    if (sendto(s, f.data(), f.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) !=
        static_cast<ssize_t>(f.size())) {
      const int err = errno;
      close(s);
      return fmt::format("inject: sendto: {}", std::strerror(err));
    }
  }
  close(s);
  return {};
}

// --- tests --------------------------------------------------------------------

class DpdkTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "needs root (DPDK PMDs and network namespaces); run as root";
  }
};

// A temporary directory for memif's control socket, removed on every path.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/dvmm-memif-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void run_pair(const std::function<std::string(Report&)>& server,
              const std::function<std::string(Report&)>& client) {
  Child s(server, 60s);
  ASSERT_TRUE(s.started()) << "fork failed";
  // The client starts once the server's port is up: a memif client
  // connects at start and fails if its server is not listening yet.
  if (!s.wait_for("I server ", 15s)) {
    const auto so = s.wait(1s);
    FAIL() << "the server did not start:\n" << so.text;
  }
  Child c(client, 60s);
  ASSERT_TRUE(c.started()) << "fork failed";
  const auto co = c.wait(50s);
  const auto so = s.wait(co.ok ? 10s : 1s);
  print_info("client", co.text);
  print_info("server", so.text);
  EXPECT_TRUE(co.ok) << "client:\n" << co.text;
  EXPECT_TRUE(so.ok) << "server:\n" << so.text;
}

TEST_F(DpdkTransportTest, MemifPingPongBetweenProcesses) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty()) << "mkdtemp: " << std::strerror(errno);
  const std::string sock = dir.path() + "/memif.sock";
  // The server uses a configured MAC (memif cannot program one: used as
  // is), the client its port's own (memif's mac= devarg).
  // bsize=9216: a 9000-byte frame fits one memif buffer (see
  // dpdk_transport.hpp on memif's chained buffers).
  auto sc = config("net_memif0,role=server,bsize=9216,socket=" + sock, 0, kMac0);
  auto cc = config("net_memif0,role=client,bsize=9216,socket=" + sock + ",mac=" +
                       VethPair::mac_string(kMac1),
                   1, Mac{});
  run_pair([&](Report& r) { return echo_server(r, sc, {}); },
           [&](Report& r) { return echo_client(r, cc, {false, "", kMaxFrameSize}); });
}

// One side of the exactly-once test: the reliability layer over the DPDK
// port, with received frames dropped, duplicated and reordered. Sends
// kCount numbered messages to the peer and checks that the peer's arrive
// each exactly once and in order; then keeps answering (acks for the
// peer's retransmissions) for a linger period, so the peer finishes too.
std::string reliable_peer(Report& r, const DpdkTransportConfig& c, uint64_t seed) {
  constexpr uint64_t kCount = 20'000;
  auto tr = open(c);
  if (!tr.ok()) return tr.error().message;
  ImpairedTransport faulty(**tr, Impairments{0.05, 0.05, 0.05, seed});
  MonotonicClock clock;
  const NodeId peer = c.local == 0 ? 1 : 0;
  ReliableLink link(faulty, clock, ReliableLink::Config{.cluster_id = 7, .local = c.local,
                                                        .peers = {peer}});
  r.info(fmt::format("{} {}", c.local == 0 ? "server" : "client", describe(**tr)));
  uint64_t sent = 0, received = 0;
  std::string error;
  auto deliver = [&](const Message& m) {
    const auto* hb = std::get_if<HeartbeatPayload>(&m.payload);
    if (!error.empty()) return;
    if (hb == nullptr || m.header.src_node != peer) {
      error = fmt::format("message {}: unexpected type {} from node {}", received,
                          static_cast<int>(m.header.type), m.header.src_node);
    } else if (hb->sent_ns != received) {
      error = fmt::format("expected message {}, got {} (lost, duplicated or reordered)", received,
                          hb->sent_ns);
    }
    ++received;
  };
  const auto end = Clock::now() + 40s;
  Clock::time_point done_at{};
  while (Clock::now() < end && error.empty()) {
    for (int i = 0; i < 32 && sent < kCount; ++i, ++sent) {
      Message m;
      m.header.dst_node = peer;
      m.payload = HeartbeatPayload{sent};
      if (auto s = link.send(std::move(m)); !s) return "send: " + s.error().message;
    }
    if (link.poll(deliver) == 0) std::this_thread::sleep_for(20us);
    const bool done = sent == kCount && received == kCount && link.all_acknowledged();
    if (done && done_at == Clock::time_point{}) done_at = Clock::now();
    if (done_at != Clock::time_point{} && Clock::now() - done_at > 1s) break;
  }
  const auto k = link.counters();
  const auto f = faulty.stats();
  r.info(fmt::format("node {}: received {} of {}; link: retransmitted {}, duplicates {}, out of "
                     "order {}, acks {}; injected: dropped {}, duplicated {}, reordered {} of {}",
                     c.local, received, kCount, k.retransmitted, k.duplicates, k.out_of_order,
                     k.acks_sent, f.dropped, f.duplicated, f.reordered, f.received));
  if (!error.empty()) return error;
  if (received != kCount) return fmt::format("received {} of {} messages in 40 s", received, kCount);
  if (!link.all_acknowledged()) return "not every message was acknowledged";
  if (f.dropped == 0 || f.duplicated == 0 || f.reordered == 0) {
    return "the injected faults did not all happen: the test proved nothing";
  }
  if (k.duplicates == 0 || k.out_of_order == 0 || k.retransmitted == 0) {
    return "the link never saw a duplicate, a gap and a retransmission";
  }
  return {};
}

TEST_F(DpdkTransportTest, ReliableLinkIsExactlyOnceOverMemifWithFrameFaults) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty()) << "mkdtemp: " << std::strerror(errno);
  const std::string sock = dir.path() + "/memif.sock";
  auto sc = config("net_memif0,role=server,bsize=9216,socket=" + sock, 0, kMac0);
  auto cc = config("net_memif0,role=client,bsize=9216,socket=" + sock, 1, kMac1);
  run_pair([&](Report& r) { return reliable_peer(r, sc, 11); },
           [&](Report& r) { return reliable_peer(r, cc, 12); });
}

TEST_F(DpdkTransportTest, AfPacketPingPongOverVethBetweenNamespaces) {
  VethPair veth(9000, kMac0, kMac1);
  if (!veth.ok()) GTEST_SKIP() << "cannot create network namespaces here: " << veth.error();
  // Node 0 names its MAC (equal to the port's), node 1 passes all-zero
  // (use the port's own): both paths of the local-MAC rule.
  auto sc = config("net_af_packet0,iface=v1,blocksz=8192,framesz=8192", 0, kMac0);
  auto cc = config("net_af_packet0,iface=v2,blocksz=8192,framesz=8192", 1, Mac{});
  const std::string ns_a = veth.ns_a(), ns_b = veth.ns_b();
  run_pair(
      [&](Report& r) {
        if (auto e = enter_netns(ns_a); !e.empty()) return e;
        return echo_server(r, sc, {true});
      },
      [&](Report& r) {
        if (auto e = enter_netns(ns_b); !e.empty()) return e;
        // A 4 KiB page plus the dvmm header fits in one frame.
        return echo_client(r, cc, {true, "v2", 4096 + kHeaderSize});
      });
}

TEST_F(DpdkTransportTest, AfPacketFrameSizeFollowsTheInterfaceMtuAndRingSlot) {
  VethPair veth(1500, kMac0, kMac1);
  if (!veth.ok()) GTEST_SKIP() << "cannot create network namespaces here: " << veth.error();
  const std::string ns_a = veth.ns_a();
  Child c(
      [&](Report& r) -> std::string {
        if (auto e = enter_netns(ns_a); !e.empty()) return e;
        // MTU 1500: 1498 bytes of dvmm frame (2 go to the length field).
        auto tr = open(config("net_af_packet0,iface=v1,blocksz=8192,framesz=8192", 0, Mac{}));
        if (!tr.ok()) return tr.error().message;
        r.info(describe(**tr));
        if ((*tr)->max_frame_size() != 1498) {
          return fmt::format("max_frame_size() {} != 1498", (*tr)->max_frame_size());
        }
        const auto& info = dpdk(**tr).port_info();
        if (info.kernel_mtu != 1500 || info.kernel_iface != "v1") return "kernel MTU not seen";
        if (info.mtu_limit.find("MTU 1500") == std::string::npos) return "limit not explained";
        if (info.wake != DpdkTransport::WakeMode::kKernelSocket) return "expected kernel-socket";
        return {};
      },
      30s);
  const auto o = c.wait(25s);
  print_info("child", o.text);
  EXPECT_TRUE(o.ok) << o.text;

  // The ring slot limits too: framesz=2048 on MTU 9000 gives 2048-66-16
  // (the kernel starts a received frame 66 bytes into the slot).
  ASSERT_EQ(run(fmt::format("ip -n {} link set v1 mtu 9000", ns_a)), 0);
  Child c2(
      [&](Report& r) -> std::string {
        if (auto e = enter_netns(ns_a); !e.empty()) return e;
        auto tr = open(config("net_af_packet0,iface=v1", 0, Mac{}));  // default framesz 2048
        if (!tr.ok()) return tr.error().message;
        r.info(describe(**tr));
        if ((*tr)->max_frame_size() != 1966) {
          return fmt::format("max_frame_size() {} != 1966", (*tr)->max_frame_size());
        }
        if (dpdk(**tr).port_info().mtu_limit.find("framesz=2048") == std::string::npos) {
          return "limit not explained";
        }
        return {};
      },
      30s);
  const auto o2 = c2.wait(25s);
  print_info("child", o2.text);
  EXPECT_TRUE(o2.ok) << o2.text;
}

TEST_F(DpdkTransportTest, StaleNamespacesOfDeadTestsAreRemoved) {
  // A namespace named like ours, for a pid that cannot exist.
  const std::string stale = "dvmm-t-2147483646-0a";
  ASSERT_EQ(run("ip netns add " + stale), 0);
  ASSERT_TRUE(VethPair::exists(stale));
  {
    VethPair veth(1500, kMac0, kMac1);  // cleans up first
    EXPECT_FALSE(VethPair::exists(stale));
    if (veth.ok()) {
      EXPECT_TRUE(VethPair::exists(veth.ns_a()));
    }
  }
  (void)run("ip netns del " + stale + " 2>/dev/null");
}

// Each error case in its own child: the EAL starts once per process.
std::string expect_error(const DpdkTransportConfig& c, const std::vector<std::string>& needles,
                         Report& r) {
  auto tr = open(c);
  if (tr.ok()) return "the transport opened, but it should have failed";
  const std::string& m = tr.error().message;
  r.info(m);
  for (const auto& n : needles) {
    if (m.find(n) == std::string::npos) return fmt::format("error lacks '{}': {}", n, m);
  }
  return {};
}

void expect_child_ok(const std::function<std::string(Report&)>& fn) {
  Child c(fn, 30s);
  ASSERT_TRUE(c.started());
  const auto o = c.wait(25s);
  print_info("child", o.text);
  EXPECT_TRUE(o.ok) << o.text;
}

TEST_F(DpdkTransportTest, NoSuchPortSaysWhichPortsExist) {
  expect_child_ok([](Report& r) {
    return expect_error(config("", 0, Mac{}), {"no port 0", "ports: none", "No --vdev"}, r);
  });
}

TEST_F(DpdkTransportTest, MissingInterfaceIsNamed) {
  expect_child_ok([](Report& r) {
    return expect_error(config("net_af_packet0,iface=dvmm-nope0", 0, Mac{}),
                        {"no port 0", "'dvmm-nope0' does not exist in this network namespace"},
                        r);
  });
}

TEST_F(DpdkTransportTest, BadEalArgumentsGiveDpdksReasonAndAHint) {
  expect_child_ok([](Report& r) -> std::string {
    auto c = config("", 0, Mac{});
    c.eal_args = {"--no-pci", "--no-such-eal-option"};
    if (auto e = expect_error(c, {"EAL initialisation failed", "rte_errno", "--no-huge"}, r);
        !e.empty()) {
      return e;
    }
    // The failure is remembered: the EAL cannot be started twice.
    return expect_error(config("", 0, Mac{}), {"EAL initialisation failed"}, r);
  });
}

TEST_F(DpdkTransportTest, SecondTransportMustShareTheEalArguments) {
  TempDir dir;
  const std::string sock = dir.path() + "/memif.sock";
  expect_child_ok([&](Report& r) -> std::string {
    auto a = open(config("net_memif0,role=server,socket=" + sock, 0, kMac0));
    if (!a.ok()) return a.error().message;
    auto c = config("net_af_packet0,iface=lo", 0, kMac0);
    c.port_id = 1;
    return expect_error(c, {"already running", "cannot be restarted"}, r);
  });
}

TEST_F(DpdkTransportTest, MtuTheMemifPortRefusesIsReportedWithItsLimits) {
  TempDir dir;
  const std::string sock = dir.path() + "/memif.sock";
  expect_child_ok([&](Report& r) {
    auto c = config("net_memif0,role=server,socket=" + sock, 0, kMac0);
    c.mtu = 9000;
    return expect_error(c, {"cannot set MTU 9000", "Rx frames up to 1518"}, r);
  });
}

TEST_F(DpdkTransportTest, NotRootIsReported) {
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0777), 0);
  const std::string sock = dir.path() + "/memif.sock";
  expect_child_ok([&](Report& r) -> std::string {
    if (setgid(65534) != 0 || setuid(65534) != 0) return "cannot drop to nobody";
    return expect_error(config("net_af_packet0,iface=lo", 0, kMac0), {"root"}, r);
  });
}

// Configuration errors are found before the EAL starts: no child needed.
TEST(DpdkTransportConfig, RejectsBadMacTablesBeforeStartingTheEal) {
  auto c = config("", 0, kMac0);
  c.macs = {{1, kMac1}};
  auto r = make_dpdk_transport(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("local node 0 is not in the MAC list"), std::string::npos)
      << r.error().message;

  c.macs = {{0, kMac0}, {1, kMac0}};
  r = make_dpdk_transport(c);
  ASSERT_FALSE(r.ok());
  c.macs = {{0, kMac0}, {1, Mac{0x01, 0, 0x5e, 0, 0, 1}}};
  r = make_dpdk_transport(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a unicast"), std::string::npos) << r.error().message;
  c.macs = {{0, kMac0}, {1, kMac1}, {2, kMac1}};
  r = make_dpdk_transport(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("listed twice"), std::string::npos) << r.error().message;

  c = config("", 0, kMac0);
  c.mbufs = 100;
  r = make_dpdk_transport(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("mbufs = 100 is too small"), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace dvmm::dataplane
