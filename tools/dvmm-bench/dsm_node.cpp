#include "tools/dvmm-bench/dsm_node.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace dvmm::bench {
namespace {

using dataplane::Message;
using dataplane::MessageType;

// The poller sleeps at most this long. The cluster's heartbeat does the
// same for it: a message sent from another thread (the fault thread)
// arms a retransmission timer the sleeping poller has not seen.
constexpr uint64_t kMaxSleepNs = 5'000'000;

bool is_dsm(const Message& m) {
  return m.header.type >= MessageType::kDsmRequest && m.header.type <= MessageType::kDsmDone;
}

}  // namespace

Result<std::unique_ptr<DsmNode>> DsmNode::create(dataplane::Transport& transport,
                                                 const DsmNodeConfig& config) {
  std::unique_ptr<DsmNode> node(new DsmNode(transport, config));
  DVMM_TRY(node->start());
  return node;
}

Status DsmNode::start() {
  bytes_ = config_.page_count * dsm::kPageSize;
  void* mem = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (mem == MAP_FAILED) return Error::from_errno(fmt::format("mmap of {} DSM pages", config_.page_count));
  base_ = static_cast<uint8_t*>(mem);

  dataplane::ReliableLink::Config lc;
  lc.cluster_id = config_.cluster_id;
  lc.local = config_.local;
  lc.peers = {static_cast<dataplane::NodeId>(1 - config_.local)};
  link_ = std::make_unique<dataplane::ReliableLink>(transport_, clock_, lc);
  dataplane::AdaptivePoller::Config pc;
  pc.spin_ns = config_.poller_spin_ns;
  poller_ = std::make_unique<dataplane::AdaptivePoller>(transport_, pc);

  region_ = DVMM_TRY(dsm::UffdRegion::create(base_, bytes_));
  dsm::DsmProtocol::Config dc;
  dc.local = config_.local;
  dc.node_count = 2;
  dc.page_count = config_.page_count;
  dc.initial_owner = 0;
  // The ReliableLink's frames end in the incarnation trailer.
  dc.max_payload_bytes =
      transport_.max_frame_size() - dataplane::kHeaderSize - dataplane::kIncarnationSize;
  dc.min_hold_ns = config_.min_hold_ns;
  dsm_ = DVMM_TRY(dsm::DsmProtocol::create(dc, *region_, clock_,
                                           [this](dataplane::NodeId dst, dataplane::Payload p) {
                                             Message msg;
                                             msg.header.dst_node = dst;
                                             msg.payload = std::move(p);
                                             if (Status s = link_->send(std::move(msg)); !s.ok()) {
                                               fail(fmt::format("link: {}", s.error().message));
                                             }
                                           }));
  // Built once: link_->poll() takes a std::function, and making one per
  // poll would allocate in the poll loop.
  deliver_ = [this](const Message& m) {
    if (is_dsm(m)) dsm_->on_message(m.header.src_node, m);
  };
  poller_thread_ = std::thread([this] {
    Status s = poller_->run([this] { return poll_once(); }, [this] { return next_deadline(); });
    if (!s.ok()) fail(fmt::format("poller: {}", s.error().message));
  });
  return region_->start([this](dsm::PageNumber page, dsm::Access access) {
    Result<bool> granted = dsm_->request(page, access);
    if (!granted.ok()) {
      fail(granted.error().message);
    } else if (*granted) {
      region_->wake(page);  // the page arrived between the fault and the request
    }
  });
}

size_t DsmNode::poll_once() {
  size_t work = link_->poll(deliver_);
  if (std::optional<uint64_t> t = dsm_->next_timer_ns(); t && *t <= clock_.now_ns()) {
    dsm_->run_timers();
    ++work;
  }
  return work;
}

std::optional<uint64_t> DsmNode::next_deadline() const {
  uint64_t d = clock_.now_ns() + kMaxSleepNs;
  if (std::optional<uint64_t> t = link_->next_timer_ns()) d = std::min(d, *t);
  if (std::optional<uint64_t> t = dsm_->next_timer_ns()) d = std::min(d, *t);
  return d;
}

DsmNodeCounters DsmNode::counters() const {
  const dsm::DsmProtocol::Counters c = dsm_->counters();
  DsmNodeCounters n;
  n.read_faults = c.read_faults;
  n.write_faults = c.write_faults;
  n.upgrade_faults = c.upgrade_faults;
  n.local_grants = c.local_grants;
  n.pages_sent = c.pages_sent;
  n.pages_received = c.pages_received;
  n.invalidations = c.invalidations;
  n.forwards_deferred = c.forwards_deferred;
  n.rejected = c.rejected;
  n.uffd_errors = region_->counters().uffd_errors;
  n.link_retransmitted = link_->counters().retransmitted;
  return n;
}

void DsmNode::fail(std::string why) {
  std::lock_guard lock(failure_mu_);
  if (failure_.empty()) failure_ = fmt::format("node {}: {}", config_.local, why);
}

std::string DsmNode::failure() const {
  std::lock_guard lock(failure_mu_);
  return failure_;
}

DsmNode::~DsmNode() {
  // Order: nothing may call into the engine or the region once they go,
  // and the region must unregister before the mapping disappears.
  if (poller_) poller_->stop();
  if (poller_thread_.joinable()) poller_thread_.join();
  if (region_) region_->stop();
  dsm_.reset();
  region_.reset();
  if (base_ != nullptr) munmap(base_, bytes_);
}

}  // namespace dvmm::bench
