// The fake network: per-node tx and rx queues behind one mutex, impairments
// applied when frames leave the sender's tx queue (see fake_transport.hpp
// for the model). Speed matters only as far as the 100k-message protocol
// tests need it: frames own a heap buffer, queues are scanned linearly.
#include "dataplane/fake_transport.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <utility>
#include <vector>

namespace dvmm::dataplane {
namespace {

// A frame on the wire, waiting at its receiver.
struct WireFrame {
  NodeId src = 0;
  uint64_t ready_ns = 0;       // not receivable before (delay + jitter)
  uint32_t hold_frames = 0;    // reordering: later frames that must pass it first ...
  uint64_t hold_until_ns = 0;  // ... unless this time came (so a last frame is never stuck)
  bool overtaken = false;      // released by the frame being queued: goes behind it
  std::vector<uint8_t> bytes;
};

bool receivable(const WireFrame& f, uint64_t now) {
  return now >= f.ready_ns && (f.hold_frames == 0 || now >= f.hold_until_ns);
}

// When f becomes receivable if no other frame arrives (hold_until_ns >= ready_ns).
uint64_t receivable_at(const WireFrame& f) {
  return f.hold_frames == 0 ? f.ready_ns : f.hold_until_ns;
}

struct PendingTx {
  NodeId dst = 0;
  std::vector<uint8_t> bytes;
};

struct NodeState {
  int event_fd = -1;
  std::vector<PendingTx> txq;   // taken by tx_burst, not yet flushed
  std::deque<WireFrame> rxq;    // arrival order
  size_t held = 0;              // frames in rxq with hold_frames > 0 (skips the scan when 0)
  bool signal_pending = false;  // got frames during this flush
  Transport::Counters counters;
};

const FakeImpairments kNoImpairments{};

}  // namespace

struct FakeNetwork::Impl {
  // Both out of line: they need Endpoint complete (the endpoints map).
  Impl(const Clock& c, Config cfg);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  NodeState* find(NodeId id) {
    auto it = nodes.find(id);
    return it == nodes.end() ? nullptr : &it->second;
  }

  const FakeImpairments& impairments(NodeId from, NodeId to) const {
    auto it = links.find({from, to});
    return it == links.end() ? config.impairments : it->second;
  }

  // Draws nothing for a probability of 0 or 1, so a clean network leaves
  // the random sequence of the impaired links alone.
  bool chance(double p) {
    if (p <= 0.0) return false;
    if (p >= 1.0) return true;
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng) < p;
  }
  uint64_t uniform(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  }

  // Puts one copy of a frame into dst's rx queue.
  void enqueue(NodeState& dst, NodeId src, std::vector<uint8_t> bytes, const FakeImpairments& imp,
               uint64_t now) {
    if (dst.rxq.size() >= config.rx_queue_frames) {
      ++dst.counters.rx_dropped;
      ++stats.rx_overflow;
      return;
    }
    // This frame passes every frame held back so far; those it releases are
    // queued behind it, so that it is received first even by a receiver
    // that was not polling in between.
    size_t released = 0;
    if (dst.held > 0) {
      for (WireFrame& f : dst.rxq) {
        if (f.hold_frames > 0 && --f.hold_frames == 0) {
          --dst.held;
          f.overtaken = true;
          ++released;
        }
      }
    }
    WireFrame f;
    f.src = src;
    f.ready_ns = now + imp.delay_ns + (imp.jitter_ns > 0 ? uniform(0, imp.jitter_ns) : 0);
    if (chance(imp.reorder)) {
      f.hold_frames = static_cast<uint32_t>(uniform(1, std::max<uint32_t>(imp.reorder_depth, 1)));
      f.hold_until_ns = f.ready_ns + imp.reorder_max_hold_ns;
      ++dst.held;
      ++stats.reordered;
    }
    f.bytes = std::move(bytes);
    dst.rxq.push_back(std::move(f));
    if (released > 0) {
      auto tail = std::stable_partition(dst.rxq.begin(), dst.rxq.end(),
                                        [](const WireFrame& w) { return !w.overtaken; });
      for (; tail != dst.rxq.end(); ++tail) tail->overtaken = false;
    }
    dst.signal_pending = true;
  }

  // One eventfd write per receiver and flush, not per frame.
  void signal_receivers() {
    for (auto& [id, n] : nodes) {
      if (!n.signal_pending) continue;
      n.signal_pending = false;
      if (n.event_fd < 0) continue;
      const uint64_t one = 1;
      // EAGAIN means the counter is already huge, i.e. already readable.
      if (write(n.event_fd, &one, sizeof(one)) < 0) continue;
    }
  }

  const Clock& clock;
  Config config;
  mutable std::mutex mu;
  std::mt19937_64 rng;                // guarded by mu
  std::map<NodeId, NodeState> nodes;  // guarded by mu; std::map keeps addresses stable
  std::map<NodeId, std::unique_ptr<Endpoint>> endpoints;       // guarded by mu
  std::map<std::pair<NodeId, NodeId>, FakeImpairments> links;  // guarded by mu
  Stats stats;                                                 // guarded by mu
};

class FakeNetwork::Endpoint final : public Transport {
 public:
  Endpoint(Impl& net, NodeId id, NodeState& state) : net_(net), id_(id), state_(state) {}

  const char* name() const override { return "fake"; }
  NodeId local_node() const override { return id_; }
  size_t max_frame_size() const override { return net_.config.max_frame_size; }

  size_t tx_burst(std::span<const TxFrame> frames) override {
    std::lock_guard lock(net_.mu);
    size_t taken = 0;
    for (const TxFrame& f : frames) {
      if (net_.find(f.dst) == nullptr || f.bytes.size() > net_.config.max_frame_size) {
        ++state_.counters.tx_dropped;
        ++taken;
        continue;
      }
      if (state_.txq.size() >= net_.config.tx_queue_frames) break;
      state_.txq.push_back(PendingTx{f.dst, std::vector<uint8_t>(f.bytes.begin(), f.bytes.end())});
      ++taken;
    }
    return taken;
  }

  void tx_flush() override {
    std::lock_guard lock(net_.mu);
    const uint64_t now = net_.clock.now_ns();
    for (PendingTx& p : state_.txq) {
      ++state_.counters.tx_frames;
      state_.counters.tx_bytes += p.bytes.size();
      ++net_.stats.sent;
      // Endpoints are never removed, and tx_burst checked that dst has one.
      NodeState& dst = *net_.find(p.dst);
      const FakeImpairments& imp = net_.impairments(id_, p.dst);
      if (net_.chance(imp.drop)) {
        ++net_.stats.dropped;
        continue;
      }
      if (net_.chance(imp.duplicate)) {
        ++net_.stats.duplicated;
        net_.enqueue(dst, id_, p.bytes, imp, now);
      }
      net_.enqueue(dst, id_, std::move(p.bytes), imp, now);
    }
    state_.txq.clear();
    net_.signal_receivers();
  }

  size_t rx_burst(std::span<RxFrame> out) override {
    std::lock_guard lock(net_.mu);
    const uint64_t now = net_.clock.now_ns();
    std::deque<WireFrame>& q = state_.rxq;
    size_t n = 0;
    size_t kept = 0;
    // Stable compaction: receivable frames leave in arrival order, the
    // waiting ones slide down over them in theirs.
    for (size_t r = 0; r < q.size(); ++r) {
      WireFrame& f = q[r];
      if (n < out.size() && receivable(f, now)) {
        RxFrame& o = out[n++];
        o.src = f.src;
        o.len = static_cast<uint16_t>(f.bytes.size());
        std::memcpy(o.data, f.bytes.data(), f.bytes.size());
        ++state_.counters.rx_frames;
        state_.counters.rx_bytes += f.bytes.size();
        ++net_.stats.delivered;
        if (f.hold_frames > 0) --state_.held;
        if (n == out.size()) {
          // Burst full: slide the few waiting frames up against the
          // unscanned rest instead of the long rest down, then drop the
          // consumed front (cheap on a deque).
          const auto end = q.begin() + static_cast<std::ptrdiff_t>(r + 1);
          std::move_backward(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(kept), end);
          q.erase(q.begin(), end - static_cast<std::ptrdiff_t>(kept));
          return n;
        }
      } else {
        if (kept != r) q[kept] = std::move(f);
        ++kept;
      }
    }
    q.resize(kept);
    return n;
  }

  int rx_wait_fd() const override { return state_.event_fd; }

  // The fake signals its eventfd on every enqueue, so there is nothing to
  // arm; it only has to tell the poller not to sleep past a receivable frame.
  bool prepare_to_sleep() override {
    std::lock_guard lock(net_.mu);
    if (state_.event_fd < 0) return false;  // no fd to wake on: never sleep
    const uint64_t now = net_.clock.now_ns();
    return std::none_of(state_.rxq.begin(), state_.rxq.end(),
                        [now](const WireFrame& f) { return receivable(f, now); });
  }

  void after_wakeup() override {
    if (state_.event_fd < 0) return;
    uint64_t value = 0;
    // Non-blocking: EAGAIN just means nobody signalled.
    if (read(state_.event_fd, &value, sizeof(value)) < 0) return;
  }

  Counters counters() const override {
    std::lock_guard lock(net_.mu);
    return state_.counters;
  }

 private:
  Impl& net_;
  const NodeId id_;
  NodeState& state_;  // in net_.nodes, guarded by net_.mu
};

FakeNetwork::Impl::Impl(const Clock& c, Config cfg) : clock(c), config(cfg), rng(cfg.seed) {
  config.max_frame_size = std::min(config.max_frame_size, kMaxFrameSize);
}

FakeNetwork::Impl::~Impl() {
  for (auto& [id, n] : nodes) {
    if (n.event_fd >= 0) close(n.event_fd);
  }
}

FakeNetwork::FakeNetwork(const Clock& clock, Config config)
    : impl_(std::make_unique<Impl>(clock, config)) {}

FakeNetwork::~FakeNetwork() = default;

Transport& FakeNetwork::endpoint(NodeId node) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->endpoints.find(node);
  if (it != impl_->endpoints.end()) return *it->second;
  NodeState& state = impl_->nodes[node];
  // Without an eventfd the endpoint still works; prepare_to_sleep() then
  // always says "don't sleep", so a poller spins instead of hanging.
  state.event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  auto ep = std::make_unique<Endpoint>(*impl_, node, state);
  Transport& ref = *ep;
  impl_->endpoints.emplace(node, std::move(ep));
  return ref;
}

void FakeNetwork::set_impairments(const FakeImpairments& impairments) {
  std::lock_guard lock(impl_->mu);
  impl_->config.impairments = impairments;
}

void FakeNetwork::set_link_impairments(NodeId from, NodeId to, const FakeImpairments& impairments) {
  std::lock_guard lock(impl_->mu);
  impl_->links[{from, to}] = impairments;
}

void FakeNetwork::clear_link_impairments(NodeId from, NodeId to) {
  std::lock_guard lock(impl_->mu);
  impl_->links.erase({from, to});
}

Status FakeNetwork::inject(NodeId from, NodeId to, std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxFrameSize) {
    return Error::format("cannot inject a {}-byte frame: no transport receives more than {}",
                         bytes.size(), kMaxFrameSize);
  }
  std::lock_guard lock(impl_->mu);
  NodeState* dst = impl_->find(to);
  if (dst == nullptr) {
    return Error::format("cannot inject into node {}: it has no endpoint (call endpoint({}) first)",
                         to, to);
  }
  ++impl_->stats.injected;
  impl_->enqueue(*dst, from, std::vector<uint8_t>(bytes.begin(), bytes.end()), kNoImpairments,
                 impl_->clock.now_ns());
  impl_->signal_receivers();
  return {};
}

std::optional<uint64_t> FakeNetwork::next_arrival_ns(NodeId node) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->nodes.find(node);
  if (it == impl_->nodes.end() || it->second.rxq.empty()) return std::nullopt;
  uint64_t earliest = UINT64_MAX;
  for (const WireFrame& f : it->second.rxq) earliest = std::min(earliest, receivable_at(f));
  return earliest;
}

size_t FakeNetwork::in_flight() const {
  std::lock_guard lock(impl_->mu);
  size_t n = 0;
  for (const auto& [id, state] : impl_->nodes) n += state.rxq.size();
  return n;
}

FakeNetwork::Stats FakeNetwork::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

uint64_t FakeNetwork::seed() const {
  return impl_->config.seed;
}

}  // namespace dvmm::dataplane
