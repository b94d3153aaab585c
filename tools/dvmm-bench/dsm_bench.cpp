#include "tools/dvmm-bench/dsm_bench.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "tools/dvmm-bench/bench_clock.hpp"
#include "tools/dvmm-bench/cpu_plan.hpp"
#include "tools/dvmm-bench/dsm_access.hpp"
#include "tools/dvmm-bench/dsm_node.hpp"
#include "tools/dvmm-bench/dsm_peer.hpp"
#include "tools/dvmm-bench/echo_endpoint.hpp"
#include "tools/dvmm-bench/transport_bench.hpp"

namespace dvmm::bench {
namespace {

using dsm::PageNumber;

// Node 1 builds its DsmNode (mmap, userfaultfd, two threads) before it
// says ready: milliseconds; seconds only on a machine in trouble.
constexpr int kPeerReadyTimeoutMs = 10'000;
// A take is `pages` write faults on node 1: well under a second.
constexpr int kTakeTimeoutMs = 10'000;
// A fault waits at most this long for its page before the run is declared
// broken (a lost peer, a protocol bug); healthy faults take microseconds
// to a few milliseconds here.
constexpr uint64_t kFaultTimeoutNs = 5'000'000'000;
// How often the watchdog looks at the access in progress.
constexpr auto kWatchPeriod = std::chrono::milliseconds(10);
constexpr uint32_t kDsmClusterId = 0xD5A0;

const char* case_description(const std::string& name) {
  if (name == "uffd_local") {
    return "read fault on a page held here, not populated: userfaultfd, engine (local grant), "
           "UFFDIO_COPY; no network";
  }
  if (name == "read_remote") return "first read of a page the other node holds exclusively (4 KiB travels)";
  if (name == "write_upgrade") return "write to a page held shared: the other copy invalidated, no data travels";
  if (name == "write_remote") return "write to a page the other node holds exclusively (4 KiB travels)";
  if (name == "bounce") return "page ping-pong: both nodes write one page in turn; one sample = here -> there -> here";
  return "";
}

Status validate(const DsmBenchConfig& c) {
  DVMM_TRY(check_transports(c.transports));
  if (c.pages == 0 || c.pages > 4096) return Error::format("--pages {}: must be 1 to 4096", c.pages);
  if (c.count == 0) return Error::format("--count must be at least 1");
  for (const uint32_t s : c.raw_sizes) {
    if (s < kMinRawFrame || s > dataplane::kMaxFrameSize) {
      return Error::format("--raw-size {}: out of range {}..{} bytes", s, kMinRawFrame,
                           dataplane::kMaxFrameSize);
    }
  }
  if (c.min_hold_us > 10'000) return Error::format("--min-hold-us {}: at most 10000", c.min_hold_us);
  if (c.poller_spin_us > 1'000'000) {
    return Error::format("--poller-spin-us {}: at most 1000000", c.poller_spin_us);
  }
  if (!(c.time_limit_s > 0)) return Error::format("--time-limit must be positive");
  return {};
}

// Releases the measuring thread when its fault never completes. A thread
// blocked in a userfaultfd fault waits in the kernel for as long as nobody
// resolves it, so without this a dead peer or a lost page would hang the
// benchmark for ever. Once an access has lasted kPeerCheckNs, the watchdog
// checks the peer's control channel (readable mid-access means it exited
// or failed) and, after kFaultTimeoutNs or at once on a dead peer, makes
// the page present itself (a zero page, or the write protection lifted):
// the kernel then lets the thread go, and the run ends with the reason.
class FaultWatch {
 public:
  FaultWatch() : thread_([this] { loop(); }) {}
  ~FaultWatch() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  FaultWatch(const FaultWatch&) = delete;
  FaultWatch& operator=(const FaultWatch&) = delete;

  void arm(DsmNode& node, PageNumber page, int peer_fd) {
    node_.store(&node, std::memory_order_relaxed);
    page_.store(page, std::memory_order_relaxed);
    fd_.store(peer_fd, std::memory_order_relaxed);
    since_.store(now_ns(), std::memory_order_release);
  }
  void disarm() { since_.store(0, std::memory_order_release); }

  // Why the run was aborted, or "".
  std::string reason() const {
    std::lock_guard lock(mu_);
    return reason_;
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      cv_.wait_for(lock, kWatchPeriod);
      const uint64_t since = since_.load(std::memory_order_acquire);
      if (since == 0) continue;
      const uint64_t waited = now_ns() - since;
      if (waited < kPeerCheckNs) continue;
      DsmNode* node = node_.load(std::memory_order_relaxed);
      const PageNumber page = page_.load(std::memory_order_relaxed);
      std::string why;
      if (control_readable(fd_.load(std::memory_order_relaxed))) {
        why = "the peer process (node 1) exited or failed meanwhile";
      } else if (waited >= kFaultTimeoutNs) {
        why = fmt::format("not completed after {} s", waited / 1'000'000'000);
      } else {
        continue;
      }
      // The same access still (not a new one armed meanwhile)?
      if (since_.load(std::memory_order_acquire) != since) continue;
      if (reason_.empty()) reason_ = fmt::format("DSM access to page {:#x}: {}", page, why);
      // The engine's view of this page is wrong from here on; the run ends.
      node->region().make_writable(page);
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string reason_;
  std::atomic<uint64_t> since_{0};
  std::atomic<DsmNode*> node_{nullptr};
  std::atomic<PageNumber> page_{0};
  std::atomic<int> fd_{-1};
  std::thread thread_;  // last: starts after the members it uses
};

// The DSM side of one transport: node 1 in a forked child, node 0 here.
struct Lane {
  std::string kind;
  EchoEndpoint echo;      // raw round trips
  EndpointPair dsm_pair;  // the DSM nodes' transport
  ForkedChild peer;
  std::unique_ptr<DsmNode> node;  // declared after dsm_pair: destroyed before it
  DsmReport peer_last;
  size_t first_series = 0;
  uint64_t bounce_start = 0;  // the ping-pong word's value at the next pass
};

// Page layout of the DSM region.
struct Layout {
  uint64_t pages = 0;
  PageNumber test(uint64_t i) const { return i; }
  PageNumber local(uint64_t i) const { return pages + i; }
  PageNumber bounce() const { return 2 * pages; }
  uint64_t total() const { return 2 * pages + 1; }
};

void close_inherited(std::vector<Lane>& lanes, Lane* current) {
  for (Lane& l : lanes) {
    l.echo.child.drop_inherited_copy();
    l.peer.drop_inherited_copy();
  }
  if (current != nullptr) current->echo.child.drop_inherited_copy();
}

Status start_lane(const std::string& kind, const CpuPlan& plan, const DsmNodeConfig& peer_config,
                  std::vector<Lane>& lanes) {
  Lane lane;
  lane.kind = kind;
  lane.echo = DVMM_TRY(start_echo_endpoint(kind, plan, [&lanes] { close_inherited(lanes, nullptr); }));
  lane.dsm_pair = DVMM_TRY(make_endpoint_pair(kind));
  EndpointPair& pair = lane.dsm_pair;
  Lane* self = &lane;
  const int cpu = plan.echo_cpu;
  lane.peer = DVMM_TRY(ForkedChild::start([&](int fd) {
    pair.initiator.reset();
    close_inherited(lanes, self);
    return dsm_peer_main(fd, *pair.echo, peer_config, cpu);
  }));
  pair.echo.reset();  // node 1's end, now in the child
  lanes.push_back(std::move(lane));
  return {};
}

Error peer_error(const Lane& lane, const Error& e) {
  return Error::format("{} DSM peer (node 1, pid {}): {}", lane.kind, lane.peer.pid(), e.message);
}

Status peer_send(const Lane& lane, const DsmCommand& c) {
  if (Status s = send_control(lane.peer.control_fd(), c); !s.ok()) return peer_error(lane, s.error());
  return {};
}

Result<DsmReport> peer_command(Lane& lane, const DsmCommand& c, int timeout_ms) {
  DVMM_TRY(peer_send(lane, c));
  Result<DsmReport> r = recv_control<DsmReport>(lane.peer.control_fd(), timeout_ms);
  if (!r.ok()) return peer_error(lane, r.error());
  lane.peer_last = *r;
  if (r->kind != DsmReport::kDone) return Error::format("{} DSM peer failed: {}", lane.kind, r->error);
  return r;
}

// Node 0's engine's request -> install time over a stretch of faults
// (its own counters; node 1 faults nothing meanwhile).
class EngineTime {
 public:
  explicit EngineTime(DsmNode& node) : node_(node) { restart(); }
  void restart() { start_ = node_.protocol().counters(); }
  // Adds the stretch since the last restart to s, and restarts.
  void add_to(DsmSeries& s) {
    const dsm::DsmProtocol::Counters now = node_.protocol().counters();
    s.engine_ns_sum += now.blocked_ns - start_.blocked_ns;
    s.engine_faults += now.completed - start_.completed;
    start_ = now;
  }

 private:
  DsmNode& node_;
  dsm::DsmProtocol::Counters start_;
};

// One pass's measurements of one lane, appended to its series.
class PassRunner {
 public:
  PassRunner(DsmRun& run, Lane& lane, FaultWatch& watch, Progress& progress, const Layout& layout,
             uint64_t deadline)
      : run_(run), lane_(lane), watch_(watch), progress_(progress), layout_(layout),
        deadline_(deadline) {}

  Status run_raw(uint32_t& next_tag, const CpuPlan& plan);
  Status run_dsm(uint64_t pass);
  bool out_of_time() const { return out_of_time_; }

 private:
  DsmSeries& series(const std::string& name) {
    for (size_t i = lane_.first_series; i < run_.series.size(); ++i) {
      if (run_.series[i].transport == lane_.kind && run_.series[i].name == name) return run_.series[i];
    }
    return run_.series.front();  // unreachable: every name is made up front
  }

  // Times one access by this thread to `page`; the watchdog covers it.
  template <typename Access>
  Result<uint64_t> timed(PageNumber page, Access&& access) {
    watch_.arm(*lane_.node, page, lane_.peer.control_fd());
    const uint64_t t0 = now_ns();
    access();
    const uint64_t t1 = now_ns();
    watch_.disarm();
    DVMM_TRY(check());
    return t1 - t0;
  }

  Status check() const {
    if (std::string why = watch_.reason(); !why.empty()) return Error::format("{}: {}", lane_.kind, why);
    if (std::string f = lane_.node->failure(); !f.empty()) return Error::format("{}: {}", lane_.kind, f);
    return {};
  }

  void record(const std::string& name, uint64_t ns) {
    DsmSeries& s = series(name);
    s.samples_ns.push_back(ns);
    s.elapsed_ns += ns;
    progress_.tick();
  }

  Status take(uint64_t tag);
  void let_holds_lapse() const;
  Status bounce();

  DsmRun& run_;
  Lane& lane_;
  FaultWatch& watch_;
  Progress& progress_;
  const Layout& layout_;
  const uint64_t deadline_;
  bool out_of_time_ = false;
};

Status PassRunner::run_raw(uint32_t& next_tag, const CpuPlan& plan) {
  for (const uint32_t size : run_.config.raw_sizes) {
    PhaseSpec spec;
    spec.layer = Layer::kRaw;
    spec.size = size;
    spec.tag = next_tag++;
    spec.count = run_.raw_per_pass;
    spec.warmup = default_warmup(spec.count);
    spec.deadline_ns = deadline_;
    spec.yield_when_idle = plan.yield_when_idle;
    uint64_t echo_retx = 0;
    const PhaseResult r = DVMM_TRY(run_echo_phase(lane_.echo, spec, progress_, echo_retx));
    DsmSeries& s = series(fmt::format("raw_rtt_{}", size));
    s.samples_ns.insert(s.samples_ns.end(), r.rtt_ns.begin(), r.rtt_ns.end());
    s.elapsed_ns += r.elapsed_ns;
    if (r.truncated) out_of_time_ = true;
  }
  return {};
}

// Node 1 writes every test page: afterwards it holds each exclusively.
Status PassRunner::take(uint64_t tag) {
  DsmCommand c;
  c.kind = DsmCommand::kTake;
  c.first_page = layout_.test(0);
  c.page_count = layout_.pages;
  c.tag = tag;
  DVMM_TRY(peer_command(lane_, c, kTakeTimeoutMs));
  return check();
}

// A node keeps a page it just received for min_hold before a forward may
// take it away (dsm_protocol.hpp). Waiting that long after a take means
// the measured faults show the transfer, not the hold.
void PassRunner::let_holds_lapse() const {
  std::this_thread::sleep_for(std::chrono::microseconds(run_.config.min_hold_us + 50));
}

Status PassRunner::run_dsm(uint64_t pass) {
  progress_.set_label(fmt::format("{} dsm", lane_.kind));
  const uint64_t tag_read = 2 * pass + 1;
  const uint64_t tag_write = 2 * pass + 2;

  DVMM_TRY(take(tag_read));
  let_holds_lapse();
  EngineTime engine(*lane_.node);
  for (uint64_t i = 0; i < layout_.pages; ++i) {
    const PageNumber p = layout_.test(i);
    uint64_t seen = 0;
    record("read_remote", DVMM_TRY(timed(p, [&] { seen = load_word(lane_.node->page(p)); })));
    if (seen != take_value(tag_read, p)) {
      return Error::format("{}: page {:#x} read {:#x} where node 1 had written {:#x}: stale copy",
                           lane_.kind, p, seen, take_value(tag_read, p));
    }
  }
  engine.add_to(series("read_remote"));
  // Second word: the first keeps node 1's value, checked above.
  for (uint64_t i = 0; i < layout_.pages; ++i) {
    const PageNumber p = layout_.test(i);
    record("write_upgrade", DVMM_TRY(timed(p, [&] { store_word(lane_.node->page(p) + 8, pass); })));
  }
  engine.add_to(series("write_upgrade"));

  DVMM_TRY(take(tag_write));
  let_holds_lapse();
  engine.restart();
  for (uint64_t i = 0; i < layout_.pages; ++i) {
    const PageNumber p = layout_.test(i);
    uint64_t before = 0;
    record("write_remote", DVMM_TRY(timed(p, [&] { before = fetch_add_word(lane_.node->page(p), 1); })));
    if (before != take_value(tag_write, p)) {
      return Error::format("{}: page {:#x} held {:#x} when written, node 1 had written {:#x}: a lost "
                           "update",
                           lane_.kind, p, before, take_value(tag_write, p));
    }
  }
  engine.add_to(series("write_remote"));

  // Never written by anyone: a zero page each time; dropping it (untimed)
  // makes the next read fault again, and it stays exclusive here.
  for (uint64_t i = 0; i < layout_.pages; ++i) {
    const PageNumber p = layout_.local(i);
    uint64_t seen = 1;
    record("uffd_local", DVMM_TRY(timed(p, [&] { seen = load_word(lane_.node->page(p)); })));
    if (seen != 0) return Error::format("{}: local page {:#x} read {:#x}, not 0", lane_.kind, p, seen);
    lane_.node->region().drop(p);
  }
  return bounce();
}

// Turn k: node 0 changes the word from start + 2k to start + 2k + 1, node
// 1 from start + 2k + 1 to start + 2k + 2. The time between two of node
// 0's writes is one round trip of the page. A pass cut by the time limit
// sets out_of_time_ and leaves the word where it is: no pass follows.
Status PassRunner::bounce() {
  const PageNumber p = layout_.bounce();
  const uint64_t turns = run_.bounces_per_pass + 1;
  const uint64_t start = lane_.bounce_start;
  DsmCommand c;
  c.kind = DsmCommand::kBounce;
  c.bounce_page = p;
  c.start = start;
  c.turns = turns;
  c.deadline_ns = deadline_ + kStopGraceNs;
  DVMM_TRY(peer_send(lane_, c));
  uint8_t* word = lane_.node->page(p);
  uint64_t previous = 0;
  bool cut = false;
  for (uint64_t k = 0; k < turns && !cut; ++k) {
    const uint64_t mine = start + 2 * k;
    bool swapped = false;
    watch_.arm(*lane_.node, p, lane_.peer.control_fd());
    swapped = wait_and_swap(word, mine, mine + 1, deadline_);
    const uint64_t t = now_ns();
    watch_.disarm();
    DVMM_TRY(check());
    if (!swapped) {
      cut = true;
      out_of_time_ = true;
      break;
    }
    if (k > 0) record("bounce", t - previous);
    previous = t;
  }
  // Node 1 makes its last write (or gives up at its deadline when the
  // time limit cut this short) and reports.
  const int wait_ms = static_cast<int>(kStopGraceNs / 1'000'000) + 2000 +
                      static_cast<int>((std::max(deadline_, now_ns()) - now_ns()) / 1'000'000);
  Result<DsmReport> r = recv_control<DsmReport>(lane_.peer.control_fd(), wait_ms);
  if (!r.ok()) return peer_error(lane_, r.error());
  lane_.peer_last = *r;
  if (r->kind != DsmReport::kDone && !cut) {
    return Error::format("{} DSM peer failed: {}", lane_.kind, r->error);
  }
  if (!cut) lane_.bounce_start = start + 2 * turns;
  return {};
}

void finish_series(DsmSeries& s) {
  std::sort(s.samples_ns.begin(), s.samples_ns.end());
  if (!s.samples_ns.empty()) s.latency = summarize(s.samples_ns);
  if (s.elapsed_ns > 0) {
    s.per_s = static_cast<double>(s.latency.count) * 1e9 / static_cast<double>(s.elapsed_ns);
  }
}

uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace

const std::vector<std::string>& dsm_case_names() {
  static const std::vector<std::string> names{"uffd_local", "read_remote", "write_upgrade",
                                              "write_remote", "bounce"};
  return names;
}

Result<DsmRun> run_dsm_bench(const DsmBenchConfig& config) {
  DVMM_TRY(validate(config));
  const uint64_t start = now_ns();
  DsmRun run;
  run.config = config;
  run.machine = read_machine_info();
  run.clock = kClockName;
  run.clock_overhead_ns = timer_overhead_ns();
  const CpuPlan plan = DVMM_TRY(plan_cpus(config.cpus));
  run.cpu_plan = plan.description;
  run.passes = div_up(config.count, config.pages);
  run.bounces_per_pass = div_up(config.count, run.passes);
  run.raw_per_pass = div_up(config.count, run.passes);
  const Layout layout{config.pages};

  for (const std::string& t : config.transports) {
    for (const uint32_t size : config.raw_sizes) {
      DsmSeries s;
      s.transport = t;
      s.name = fmt::format("raw_rtt_{}", size);
      s.raw_size = size;
      s.what = fmt::format("raw transport round trip, {} B frame echoed", size);
      run.series.push_back(std::move(s));
    }
    for (const std::string& name : dsm_case_names()) {
      DsmSeries s;
      s.transport = t;
      s.name = name;
      s.what = case_description(name);
      run.series.push_back(std::move(s));
    }
  }

  const AffinityGuard restore_affinity;
  // Node 0's threads are made below by this one and inherit its CPU.
  if (plan.initiator_cpu >= 0) DVMM_TRY(pin_to_cpu(plan.initiator_cpu));
  DsmNodeConfig node_config;
  node_config.page_count = layout.total();
  node_config.min_hold_ns = config.min_hold_us * 1000;
  node_config.cluster_id = kDsmClusterId;
  node_config.poller_spin_ns = config.poller_spin_us * 1000;

  // Every fork first, while this process has one thread.
  std::vector<Lane> lanes;
  lanes.reserve(config.transports.size());
  DsmNodeConfig peer_config = node_config;
  peer_config.local = 1;
  for (const std::string& t : config.transports) DVMM_TRY(start_lane(t, plan, peer_config, lanes));
  for (size_t i = 0; i < lanes.size(); ++i) {
    Lane& l = lanes[i];
    l.first_series = i * (config.raw_sizes.size() + dsm_case_names().size());
    l.node = DVMM_TRY(DsmNode::create(*l.dsm_pair.initiator, node_config));
    run.endpoints.push_back(fmt::format("{}: raw {}; dsm {}", l.kind, l.echo.pair.detail, l.dsm_pair.detail));
  }
  for (Lane& l : lanes) {
    Result<DsmReport> ready = recv_control<DsmReport>(l.peer.control_fd(), kPeerReadyTimeoutMs);
    if (!ready.ok()) return Error::format("{} DSM peer: {}", l.kind, ready.error().message);
    if (ready->kind != DsmReport::kReady) return Error::format("{} DSM peer: {}", l.kind, ready->error);
  }

  FaultWatch watch;
  const uint64_t per_pass = run.raw_per_pass * config.raw_sizes.size() + 4 * config.pages +
                            run.bounces_per_pass;
  Progress progress(config.progress, run.passes * per_pass * lanes.size());
  const uint64_t deadline = start + static_cast<uint64_t>(config.time_limit_s * 1e9);
  uint32_t next_tag = 1;
  bool out_of_time = false;
  for (uint64_t pass = 0; pass < run.passes && !out_of_time; ++pass) {
    for (Lane& l : lanes) {
      PassRunner r(run, l, watch, progress, layout, deadline);
      DVMM_TRY(r.run_raw(next_tag, plan));
      if (r.out_of_time() || now_ns() >= deadline) {
        out_of_time = true;
        break;
      }
      DVMM_TRY(r.run_dsm(pass));
      if (r.out_of_time()) {
        out_of_time = true;
        break;
      }
    }
    if (!out_of_time) run.passes_done = pass + 1;
  }
  progress.finish();

  for (Lane& l : lanes) {
    run.counters.push_back(DsmTransportCounters{l.kind, l.node->counters(), l.peer_last.counters});
  }
  // Node 0 first (its threads still talk to node 1), then node 1.
  for (Lane& l : lanes) l.node.reset();
  for (Lane& l : lanes) {
    const int echo = l.echo.child.finish(kEchoExitTimeoutMs);
    const int peer = l.peer.finish(kEchoExitTimeoutMs);
    if (echo != 0) run.notes.push_back(fmt::format("the {} echo process exited with status {}", l.kind, echo));
    if (peer != 0) run.notes.push_back(fmt::format("the {} DSM peer exited with status {}", l.kind, peer));
  }
  for (DsmSeries& s : run.series) {
    const uint64_t wanted = s.name == "bounce" ? run.passes * run.bounces_per_pass
                            : s.raw_size > 0   ? run.passes * run.raw_per_pass
                                               : run.passes * config.pages;
    s.truncated = s.samples_ns.size() < wanted;
    finish_series(s);
  }
  if (out_of_time) {
    run.notes.push_back(fmt::format("time limit ({} s) reached after {} of {} passes",
                                    config.time_limit_s, run.passes_done, run.passes));
  }
  for (const DsmTransportCounters& c : run.counters) {
    const uint64_t deferred = c.node0.forwards_deferred + c.node1.forwards_deferred;
    if (c.node0.rejected + c.node1.rejected > 0) {
      run.notes.push_back(fmt::format("{}: the engines rejected {} message(s): a protocol bug",
                                      c.transport, c.node0.rejected + c.node1.rejected));
    }
    if (deferred > 0) {
      run.notes.push_back(fmt::format(
          "{}: {} forward(s) waited for the {} µs hold time (expected in set-up and in the ping-pong)",
          c.transport, deferred, config.min_hold_us));
    }
  }
  run.wall_s = static_cast<double>(now_ns() - start) / 1e9;
  return run;
}

namespace {

const DsmSeries* find_series(const DsmRun& run, const std::string& t, const std::string& name) {
  for (const DsmSeries& s : run.series) {
    if (s.transport == t && s.name == name && s.latency.count > 0) return &s;
  }
  return nullptr;
}

}  // namespace

std::vector<DsmRatio> dsm_ratios(const DsmRun& run) {
  std::vector<DsmRatio> out;
  auto find = [&](const std::string& t, const std::string& name) { return find_series(run, t, name); };
  auto ratio = [](uint64_t a, uint64_t b) {
    return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
  };
  for (const std::string& t : run.config.transports) {
    const DsmSeries* raw = find(t, "raw_rtt_4096");
    if (raw == nullptr) continue;
    for (const std::string& name : dsm_case_names()) {
      const DsmSeries* s = find(t, name);
      if (s == nullptr) continue;
      out.push_back(DsmRatio{t, fmt::format("{} / raw_rtt_4096", name),
                             ratio(s->latency.p50, raw->latency.p50),
                             ratio(s->latency.p99, raw->latency.p99),
                             ratio(s->latency.p999, raw->latency.p999)});
    }
  }
  return out;
}

std::vector<DsmBreakdown> dsm_breakdown(const DsmRun& run) {
  std::vector<DsmBreakdown> out;
  for (const std::string& t : run.config.transports) {
    const DsmSeries* rtt = find_series(run, t, "raw_rtt_4096");
    const DsmSeries* floor = find_series(run, t, "uffd_local");
    if (rtt == nullptr || floor == nullptr) continue;
    for (const char* name : {"read_remote", "write_upgrade", "write_remote"}) {
      const DsmSeries* s = find_series(run, t, name);
      if (s == nullptr) continue;
      DsmBreakdown b{t, name, s->latency.p50, rtt->latency.p50, floor->latency.p50, 0,
                     s->engine_faults > 0 ? s->engine_ns_sum / s->engine_faults : 0};
      b.rest_ns = static_cast<int64_t>(b.fault_p50) - static_cast<int64_t>(b.rtt_p50) -
                  static_cast<int64_t>(b.floor_p50);
      out.push_back(b);
    }
  }
  return out;
}

}  // namespace dvmm::bench
