// The DSM protocol engine (see dsm_protocol.hpp for the protocol).
//
// State, all under `mu`:
//   every node   per page: its PageState; per page with a request of this
//                node outstanding: a Pending (data and acks collected so far).
//   home         per page homed here: a directory entry (exclusive owner, or
//                the sharer mask); per page being served: the transaction in
//                progress and the FIFO of requests waiting behind it.
//   delivery     messages to this node itself go through `local` and are
//                handled before the entry point returns (never recursively,
//                so a handler never sees half-updated state); messages to
//                other nodes go through `outbox`, sent after `mu` is
//                released by whichever thread is not already sending, in
//                order, so each peer sees them in the order they were made.
#include "host/dsm/dsm_protocol.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dvmm::dsm {
namespace {

using dataplane::DsmAckPayload;
using dataplane::DsmDataPayload;
using dataplane::DsmDonePayload;
using dataplane::DsmForwardPayload;
using dataplane::DsmRequestPayload;
using dataplane::Payload;

static_assert(kPageSize == dataplane::kDsmPageSize);

constexpr bool sufficient(PageState s, Access a) {
  return a == Access::kRead ? s != PageState::kInvalid : s == PageState::kExclusive;
}

constexpr uint64_t bit(NodeId n) {
  return uint64_t{1} << n;
}

bool all_zero(const uint8_t* p) {
  static constexpr std::array<uint8_t, kPageSize> kZero{};
  return std::memcmp(p, kZero.data(), kPageSize) == 0;
}

}  // namespace

struct DsmProtocol::Impl {
  // A request of this node in flight.
  struct Pending {
    uint32_t id = 0;
    Access access = Access::kRead;
    uint64_t start_ns = 0;
    bool write_after = false;  // a write fault came while this read was out
    bool data_done = false;    // the whole page, a zero flag, or a grant arrived
    uint8_t data_flags = 0;    // of the data that completed it
    size_t bytes = 0;          // page bytes received; chunks arrive in order
    bool acks_known = false;   // a data message said how many acks to expect
    uint16_t acks_expected = 0;
    uint32_t acks_received = 0;  // may arrive before the data
    std::unique_ptr<std::array<uint8_t, kPageSize>> buf;  // page being assembled
  };

  // The home's view of a page homed here.
  struct DirEntry {
    uint64_t sharers = 0;  // nodes with a read-only copy (when not exclusive)
    NodeId owner = 0;      // the exclusive holder; when shared, the last one
    bool exclusive = true;
  };

  struct Queued {
    NodeId requester = 0;
    uint32_t id = 0;
    Access access = Access::kRead;
  };

  // A page this home is serving: nothing else is dispatched for it until
  // the requester's DONE.
  struct Busy {
    NodeId requester = 0;
    uint32_t id = 0;
    std::deque<Queued> queue;
  };

  struct Deferred {
    uint64_t due_ns = 0;
    DsmForwardPayload forward;
  };

  struct Outgoing {
    NodeId dst = 0;
    Payload payload;
  };

  Impl(Config c, PageStore& s, const Clock& clk, SendFn fn);

  // ---- helpers (mu held) ----
  NodeId home_of(PageNumber page) const {
    return static_cast<NodeId>(page % config.node_count);
  }
  DirEntry& dir(PageNumber page) { return directory[page / config.node_count]; }
  void emit(NodeId dst, Payload payload);
  void reject(std::string why);
  void note_hold(PageNumber page, uint64_t now);
  void prune_holds(uint64_t now);

  // ---- the protocol (mu held) ----
  Result<bool> request_locked(PageNumber page, Access access);
  void issue(PageNumber page, Access access);
  void handle(NodeId src, const Payload& payload);
  void on_request(NodeId src, const DsmRequestPayload& r);
  void dispatch(PageNumber page, const Queued& q);
  void forward(NodeId holder, PageNumber page, const Queued& q, dataplane::DsmAction action,
               bool send_data, uint16_t acks);
  void grant_without_data(PageNumber page, const Queued& q, uint16_t acks);
  void on_forward(NodeId src, const DsmForwardPayload& f);
  void apply_forward(const DsmForwardPayload& f);
  void send_page(NodeId requester, PageNumber page, uint32_t id, uint16_t acks,
                 const uint8_t* data);
  void on_data(NodeId src, const DsmDataPayload& d);
  void on_ack(NodeId src, const DsmAckPayload& a);
  void try_complete(PageNumber page, Pending& p, const uint8_t* direct);
  void on_done(NodeId src, const DsmDonePayload& d);
  void run_due_timers(uint64_t now);

  // Handles messages to self, then sends the outbox (releases and retakes
  // the lock around each send).
  void finish(std::unique_lock<std::mutex>& lock);

  const Config config;
  const size_t chunk_size;
  PageStore& store;
  const Clock& clock;
  const SendFn send;

  mutable std::mutex mu;
  std::condition_variable installed;  // a request of this node completed

  std::vector<PageState> states;  // per page
  std::unordered_map<PageNumber, Pending> pending;
  uint32_t next_request_id = 1;

  std::vector<DirEntry> directory;  // pages homed here, index page / node_count
  std::unordered_map<PageNumber, Busy> busy;

  // Hold times (min_hold_ns > 0 only): until when each recently installed
  // page is kept, and the same in time order for pruning.
  std::unordered_map<PageNumber, uint64_t> held_until;
  std::deque<std::pair<uint64_t, PageNumber>> hold_order;
  std::vector<Deferred> deferred;

  std::deque<std::pair<NodeId, Payload>> local;  // messages to self: (src = local)
  std::deque<Outgoing> outbox;
  bool sending = false;  // a thread is draining outbox

  std::array<uint8_t, kPageSize> scratch{};  // a page read for sending
  Counters counters;
  std::string last_rejection;
};

DsmProtocol::Impl::Impl(Config c, PageStore& s, const Clock& clk, SendFn fn)
    : config(c),
      chunk_size(std::min(kPageSize, c.max_payload_bytes - dataplane::kDsmDataFixedSize)),
      store(s),
      clock(clk),
      send(std::move(fn)),
      states(c.page_count,
             c.local == c.initial_owner ? PageState::kExclusive : PageState::kInvalid) {
  const uint64_t homed =
      c.page_count > c.local ? (c.page_count - c.local + c.node_count - 1) / c.node_count : 0;
  directory.assign(homed, DirEntry{.sharers = 0, .owner = c.initial_owner, .exclusive = true});
}

void DsmProtocol::Impl::emit(NodeId dst, Payload payload) {
  if (dst == config.local) {
    local.emplace_back(config.local, std::move(payload));
  } else {
    outbox.push_back(Outgoing{dst, std::move(payload)});
  }
}

void DsmProtocol::Impl::reject(std::string why) {
  ++counters.rejected;
  last_rejection = std::move(why);
}

void DsmProtocol::Impl::note_hold(PageNumber page, uint64_t now) {
  if (config.min_hold_ns == 0) return;
  const uint64_t until = now + config.min_hold_ns;
  held_until[page] = until;
  hold_order.emplace_back(until, page);
}

void DsmProtocol::Impl::prune_holds(uint64_t now) {
  while (!hold_order.empty() && hold_order.front().first <= now) {
    const auto [until, page] = hold_order.front();
    auto it = held_until.find(page);
    // A later install may have extended it; that one has its own entry.
    if (it != held_until.end() && it->second == until) held_until.erase(it);
    hold_order.pop_front();
  }
}

// ---- requester side -------------------------------------------------------------

Result<bool> DsmProtocol::Impl::request_locked(PageNumber page, Access access) {
  if (page >= config.page_count) {
    return Error::format("DSM request for page {:#x}: guest RAM has {:#x} pages", page,
                         config.page_count);
  }
  const PageState s = states[page];
  if (sufficient(s, access)) {
    // An exclusive page faults only when never populated here (the initial
    // owner's untouched pages) or as a duplicate of a fault already served;
    // either way the contents are local. Making it writable even for a read
    // saves the write-protect fault that would follow.
    if (s == PageState::kExclusive) store.make_writable(page);
    ++counters.local_grants;
    return true;
  }
  auto it = pending.find(page);
  if (it != pending.end()) {
    ++counters.duplicate_requests;
    if (access == Access::kWrite && it->second.access == Access::kRead) {
      it->second.write_after = true;
    }
    return false;
  }
  issue(page, access);
  return false;
}

void DsmProtocol::Impl::issue(PageNumber page, Access access) {
  Pending& p = pending[page];
  p = Pending{};
  p.id = next_request_id++;
  p.access = access;
  p.start_ns = clock.now_ns();
  if (access == Access::kRead) {
    ++counters.read_faults;
  } else if (states[page] == PageState::kShared) {
    ++counters.upgrade_faults;
  } else {
    ++counters.write_faults;
  }
  emit(home_of(page),
       DsmRequestPayload{.page = page,
                         .request_id = p.id,
                         .access = access == Access::kWrite ? dataplane::DsmAccess::kWrite
                                                            : dataplane::DsmAccess::kRead});
}

void DsmProtocol::Impl::on_data(NodeId src, const DsmDataPayload& d) {
  auto it = pending.find(d.page);
  if (it == pending.end() || it->second.id != d.request_id) {
    reject(fmt::format("DSM data from node {} for page {:#x} request {}: not outstanding", src,
                       d.page, d.request_id));
    return;
  }
  Pending& p = it->second;
  if (p.data_done || (p.acks_known && p.acks_expected != d.acks)) {
    reject(fmt::format("DSM data from node {} for page {:#x}: more than one page, or acks {} "
                       "disagree with {}",
                       src, d.page, d.acks, p.acks_expected));
    return;
  }
  p.acks_known = true;
  p.acks_expected = d.acks;
  const uint8_t* direct = nullptr;
  if (d.flags != 0) {
    if (p.bytes != 0) {
      reject(fmt::format("DSM data from node {} for page {:#x}: flags {:#x} after page bytes",
                         src, d.page, d.flags));
      return;
    }
    p.data_done = true;
    p.data_flags = d.flags;
    if ((d.flags & dataplane::kDsmDataZero) != 0) {
      ++counters.pages_received;
      ++counters.zero_pages_received;
    } else {
      ++counters.grants_without_data;
    }
  } else {
    // One sender, and the link keeps its order: chunks come in page order.
    if (d.chunk_offset != p.bytes) {
      reject(fmt::format("DSM data from node {} for page {:#x}: chunk at {} where {} was due",
                         src, d.page, d.chunk_offset, p.bytes));
      return;
    }
    const size_t len = d.data.size();  // the codec keeps it inside the page
    ++counters.chunks_received;
    counters.bytes_received += len;
    if (len == kPageSize) {
      direct = d.data.data();  // the whole page in one message: no copy unless acks are due
    } else {
      if (!p.buf) p.buf = std::make_unique<std::array<uint8_t, kPageSize>>();
      std::memcpy(p.buf->data() + d.chunk_offset, d.data.data(), len);
    }
    p.bytes += len;
    if (p.bytes == kPageSize) {
      p.data_done = true;
      ++counters.pages_received;
    }
  }
  try_complete(d.page, p, direct);
}

void DsmProtocol::Impl::on_ack(NodeId src, const DsmAckPayload& a) {
  auto it = pending.find(a.page);
  if (it == pending.end() || it->second.id != a.request_id) {
    reject(fmt::format("DSM ack from node {} for page {:#x} request {}: not outstanding", src,
                       a.page, a.request_id));
    return;
  }
  Pending& p = it->second;
  ++p.acks_received;
  try_complete(a.page, p, nullptr);
}

// Installs the page once the data (or grant) and every ack are in: only
// then has every other copy gone, so a writable install keeps one writer.
void DsmProtocol::Impl::try_complete(PageNumber page, Pending& p, const uint8_t* direct) {
  if (!p.data_done || p.acks_received < p.acks_expected) {
    if (direct != nullptr) {
      p.buf = std::make_unique<std::array<uint8_t, kPageSize>>();
      std::memcpy(p.buf->data(), direct, kPageSize);
    }
    return;
  }
  if (p.acks_received > p.acks_expected) {
    reject(fmt::format("DSM page {:#x}: {} acks where {} were expected", page, p.acks_received,
                       p.acks_expected));
  }
  const bool writable = p.access == Access::kWrite;
  PageState& s = states[page];
  if ((p.data_flags & dataplane::kDsmDataNone) != 0) {
    // The home says our copy is current. With an accurate directory it
    // always is; if not, installing nothing would show stale data.
    if (s == PageState::kInvalid) {
      reject(fmt::format("DSM page {:#x}: granted without data but no local copy", page));
    }
    if (writable && s != PageState::kExclusive) store.make_writable(page);
  } else if ((p.data_flags & dataplane::kDsmDataZero) != 0) {
    store.install(page, nullptr, writable);
  } else {
    store.install(page, direct != nullptr ? direct : p.buf->data(), writable);
  }
  if (writable) {
    s = PageState::kExclusive;
  } else if (s == PageState::kInvalid) {
    s = PageState::kShared;
  }
  const uint64_t now = clock.now_ns();
  ++counters.completed;
  counters.blocked_ns += now - std::min(now, p.start_ns);
  note_hold(page, now);
  emit(home_of(page), DsmDonePayload{.page = page, .request_id = p.id});
  const bool write_next = p.write_after && p.access == Access::kRead;
  pending.erase(page);
  installed.notify_all();
  if (write_next && s != PageState::kExclusive) issue(page, Access::kWrite);
}

// ---- home side ------------------------------------------------------------------

void DsmProtocol::Impl::on_request(NodeId src, const DsmRequestPayload& r) {
  if (home_of(r.page) != config.local) {
    reject(fmt::format("DSM request from node {} for page {:#x}: its home is node {}", src, r.page,
                       home_of(r.page)));
    return;
  }
  const Queued q{.requester = src,
                 .id = r.request_id,
                 .access = r.access == dataplane::DsmAccess::kWrite ? Access::kWrite
                                                                    : Access::kRead};
  auto it = busy.find(r.page);
  if (it != busy.end()) {
    it->second.queue.push_back(q);
    ++counters.requests_queued;
    return;
  }
  dispatch(r.page, q);
}

void DsmProtocol::Impl::forward(NodeId holder, PageNumber page, const Queued& q,
                                dataplane::DsmAction action, bool send_data, uint16_t acks) {
  emit(holder, DsmForwardPayload{.page = page,
                                 .request_id = q.id,
                                 .requester = q.requester,
                                 .action = action,
                                 .flags = send_data ? dataplane::kDsmForwardSendData : uint8_t{0},
                                 .acks = send_data ? acks : uint16_t{0}});
}

void DsmProtocol::Impl::grant_without_data(PageNumber page, const Queued& q, uint16_t acks) {
  emit(q.requester, DsmDataPayload{.page = page,
                                   .request_id = q.id,
                                   .flags = dataplane::kDsmDataNone,
                                   .acks = acks});
}

// Decides the transaction from the directory (accurate: nothing else for
// this page is in flight) and updates the directory to its outcome.
void DsmProtocol::Impl::dispatch(PageNumber page, const Queued& q) {
  Busy& b = busy[page];
  b.requester = q.requester;
  b.id = q.id;
  DirEntry& e = dir(page);
  const NodeId r = q.requester;
  using dataplane::DsmAction;

  // The node that sends a shared page: this home if it has a copy (the
  // forward is a local call), else the last writer, else any sharer.
  auto source = [&](uint64_t candidates) -> NodeId {
    if ((candidates & bit(config.local)) != 0) return config.local;
    if ((candidates & bit(e.owner)) != 0) return e.owner;
    return static_cast<NodeId>(std::countr_zero(candidates));
  };

  if (q.access == Access::kRead) {
    if (e.exclusive) {
      if (e.owner == r) {
        grant_without_data(page, q, 0);  // stale: it is the owner already
        return;
      }
      forward(e.owner, page, q, DsmAction::kDowngrade, true, 0);
      e.exclusive = false;
      e.sharers = bit(e.owner) | bit(r);
      return;
    }
    if ((e.sharers & bit(r)) != 0) {
      grant_without_data(page, q, 0);  // stale: it has a copy
      return;
    }
    forward(source(e.sharers), page, q, DsmAction::kDowngrade, true, 0);
    e.sharers |= bit(r);
    return;
  }

  if (e.exclusive) {
    if (e.owner == r) {
      grant_without_data(page, q, 0);  // stale: it is the owner already
    } else {
      forward(e.owner, page, q, DsmAction::kInvalidate, true, 0);
      e.owner = r;
    }
    return;
  }
  const uint64_t others = e.sharers & ~bit(r);
  if ((e.sharers & bit(r)) != 0) {
    // An upgrade: its copy is current, only the others must go.
    for (uint64_t m = others; m != 0; m &= m - 1) {
      forward(static_cast<NodeId>(std::countr_zero(m)), page, q, DsmAction::kInvalidate, false, 0);
    }
    grant_without_data(page, q, static_cast<uint16_t>(std::popcount(others)));
  } else {
    // The source's data message stands for its ack: it dropped its copy
    // before sending.
    const NodeId src = source(others);
    const uint64_t rest = others & ~bit(src);
    for (uint64_t m = rest; m != 0; m &= m - 1) {
      forward(static_cast<NodeId>(std::countr_zero(m)), page, q, DsmAction::kInvalidate, false, 0);
    }
    forward(src, page, q, DsmAction::kInvalidate, true, static_cast<uint16_t>(std::popcount(rest)));
  }
  e.exclusive = true;
  e.owner = r;
  e.sharers = 0;
}

void DsmProtocol::Impl::on_done(NodeId src, const DsmDonePayload& d) {
  auto it = busy.find(d.page);
  if (home_of(d.page) != config.local || it == busy.end() || it->second.requester != src ||
      it->second.id != d.request_id) {
    reject(fmt::format("DSM done from node {} for page {:#x} request {}: not being served", src,
                       d.page, d.request_id));
    return;
  }
  Busy& b = it->second;
  if (b.queue.empty()) {
    busy.erase(it);
    return;
  }
  const Queued next = b.queue.front();
  b.queue.pop_front();
  dispatch(d.page, next);
}

// ---- holder side ------------------------------------------------------------------

void DsmProtocol::Impl::on_forward(NodeId src, const DsmForwardPayload& f) {
  if (src != home_of(f.page) || f.requester >= config.node_count || f.requester == config.local) {
    reject(fmt::format("DSM forward from node {} for page {:#x} to requester {}: not its home, "
                       "or a bad requester",
                       src, f.page, f.requester));
    return;
  }
  if (config.min_hold_ns != 0) {
    const uint64_t now = clock.now_ns();
    prune_holds(now);
    auto it = held_until.find(f.page);
    if (it != held_until.end() && it->second > now) {
      // Nothing else for this page can arrive meanwhile: its home waits for
      // this transaction's DONE.
      deferred.push_back(Deferred{it->second, f});
      ++counters.forwards_deferred;
      return;
    }
  }
  apply_forward(f);
}

void DsmProtocol::Impl::apply_forward(const DsmForwardPayload& f) {
  PageState& s = states[f.page];
  if (s == PageState::kInvalid) {
    // The directory says we hold it; answering anyway keeps the requester
    // from hanging, but the contents can't be trusted.
    reject(fmt::format("DSM forward for page {:#x}: no local copy", f.page));
  }
  const bool send_data = (f.flags & dataplane::kDsmForwardSendData) != 0;
  if (send_data) {
    // A vCPU may write an exclusive page until write_protect returns, so
    // copy only after it.
    if (s == PageState::kExclusive) store.write_protect(f.page);
    store.read_page(f.page, scratch.data());
  }
  if (f.action == dataplane::DsmAction::kInvalidate) {
    store.drop(f.page);
    s = PageState::kInvalid;
    ++counters.invalidations;
  } else if (s == PageState::kExclusive) {
    s = PageState::kShared;
    ++counters.downgrades;
  }
  if (send_data) {
    send_page(f.requester, f.page, f.request_id, f.acks, scratch.data());
  } else {
    emit(f.requester, DsmAckPayload{.page = f.page, .request_id = f.request_id});
    ++counters.acks_sent;
  }
}

void DsmProtocol::Impl::send_page(NodeId requester, PageNumber page, uint32_t id, uint16_t acks,
                                  const uint8_t* data) {
  ++counters.pages_sent;
  if (all_zero(data)) {
    ++counters.zero_pages_sent;
    emit(requester, DsmDataPayload{.page = page,
                                   .request_id = id,
                                   .flags = dataplane::kDsmDataZero,
                                   .acks = acks});
    return;
  }
  for (size_t off = 0; off < kPageSize; off += chunk_size) {
    const size_t len = std::min(chunk_size, kPageSize - off);
    ++counters.chunks_sent;
    counters.bytes_sent += len;
    emit(requester, DsmDataPayload{.page = page,
                                   .request_id = id,
                                   .chunk_offset = static_cast<uint16_t>(off),
                                   .acks = acks,
                                   .data = std::vector<uint8_t>(data + off, data + off + len)});
  }
}

// ---- dispatch and delivery --------------------------------------------------------

void DsmProtocol::Impl::handle(NodeId src, const Payload& payload) {
  auto page_ok = [&](PageNumber page) {
    if (page < config.page_count) return true;
    reject(fmt::format("DSM message from node {} for page {:#x}: guest RAM has {:#x} pages", src,
                       page, config.page_count));
    return false;
  };
  if (const auto* r = std::get_if<DsmRequestPayload>(&payload)) {
    if (page_ok(r->page)) on_request(src, *r);
  } else if (const auto* f = std::get_if<DsmForwardPayload>(&payload)) {
    if (page_ok(f->page)) on_forward(src, *f);
  } else if (const auto* d = std::get_if<DsmDataPayload>(&payload)) {
    if (page_ok(d->page)) on_data(src, *d);
  } else if (const auto* a = std::get_if<DsmAckPayload>(&payload)) {
    if (page_ok(a->page)) on_ack(src, *a);
  } else if (const auto* n = std::get_if<DsmDonePayload>(&payload)) {
    if (page_ok(n->page)) on_done(src, *n);
  }
}

void DsmProtocol::Impl::run_due_timers(uint64_t now) {
  if (deferred.empty()) return;
  // Take the due ones out first: applying one may defer nothing new, but
  // keeps the loop simple and the order of arrival.
  std::vector<DsmForwardPayload> due;
  auto keep = std::stable_partition(deferred.begin(), deferred.end(),
                                    [now](const Deferred& d) { return d.due_ns > now; });
  for (auto it = keep; it != deferred.end(); ++it) due.push_back(it->forward);
  deferred.erase(keep, deferred.end());
  for (const DsmForwardPayload& f : due) apply_forward(f);
}

void DsmProtocol::Impl::finish(std::unique_lock<std::mutex>& lock) {
  // Any entry point serves due forwards too, so a poller that is late with
  // run_timers() delays them no further than the next message.
  if (!deferred.empty()) run_due_timers(clock.now_ns());
  while (!local.empty()) {
    auto [src, payload] = std::move(local.front());
    local.pop_front();
    handle(src, payload);
  }
  // Whoever is sending already (maybe this thread, further up the stack,
  // inside a synchronous send) sends ours too, after its current one.
  if (sending) return;
  sending = true;
  while (!outbox.empty()) {
    Outgoing o = std::move(outbox.front());
    outbox.pop_front();
    lock.unlock();
    send(o.dst, std::move(o.payload));
    lock.lock();
  }
  sending = false;
}

// ---- public --------------------------------------------------------------------------

Result<std::unique_ptr<DsmProtocol>> DsmProtocol::create(Config config, PageStore& store,
                                                         const Clock& clock, SendFn send) {
  if (config.node_count == 0 || config.node_count > kMaxNodes) {
    return Error::format("DSM: {} nodes is not supported (1-{})", config.node_count, kMaxNodes);
  }
  if (config.local >= config.node_count || config.initial_owner >= config.node_count) {
    return Error::format("DSM: local node {} and initial owner {} must be below the node count {}",
                         config.local, config.initial_owner, config.node_count);
  }
  if (config.page_count == 0) return Error::format("DSM: guest RAM has no pages");
  if (config.max_payload_bytes <= dataplane::kDsmDataFixedSize) {
    return Error::format("DSM: a payload of {} bytes leaves no room for page bytes (need > {})",
                         config.max_payload_bytes, dataplane::kDsmDataFixedSize);
  }
  if (!send) return Error::format("DSM: no send function");
  return std::unique_ptr<DsmProtocol>(
      new DsmProtocol(std::make_unique<Impl>(config, store, clock, std::move(send))));
}

DsmProtocol::DsmProtocol(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DsmProtocol::~DsmProtocol() = default;

Result<bool> DsmProtocol::request(PageNumber page, Access access) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mu);
  Result<bool> r = s.request_locked(page, access);
  s.finish(lock);
  return r;
}

void DsmProtocol::on_message(NodeId src, const dataplane::Message& msg) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mu);
  if (src >= s.config.node_count || src == s.config.local) {
    s.reject(fmt::format("DSM message from node {}: not a peer", src));
    return;
  }
  s.handle(src, msg.payload);
  s.finish(lock);
}

void DsmProtocol::run_timers() {
  Impl& s = *impl_;
  std::unique_lock lock(s.mu);
  s.run_due_timers(s.clock.now_ns());
  s.finish(lock);
}

std::optional<uint64_t> DsmProtocol::next_timer_ns() const {
  const Impl& s = *impl_;
  std::lock_guard lock(s.mu);
  std::optional<uint64_t> next;
  for (const Impl::Deferred& d : s.deferred) next = next ? std::min(*next, d.due_ns) : d.due_ns;
  return next;
}

PageState DsmProtocol::state(PageNumber page) const {
  const Impl& s = *impl_;
  std::lock_guard lock(s.mu);
  return page < s.config.page_count ? s.states[page] : PageState::kInvalid;
}

bool DsmProtocol::wait_for(PageNumber page, Access access, std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(s.mu);
  for (;;) {
    Result<bool> r = s.request_locked(page, access);
    s.finish(lock);
    if (!r.ok()) return false;
    if (*r || sufficient(s.states[page], access)) return true;
    // finish() released the lock to send: the page may have arrived and
    // gone again (to another node's request) meanwhile. Sleep only while a
    // request is out, else ask again; likewise after every wake-up.
    if (!s.pending.contains(page)) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      continue;
    }
    if (s.installed.wait_until(lock, deadline) == std::cv_status::timeout) {
      return sufficient(s.states[page], access);
    }
  }
}

NodeId DsmProtocol::home(PageNumber page) const {
  return impl_->home_of(page);
}

bool DsmProtocol::idle() const {
  const Impl& s = *impl_;
  std::lock_guard lock(s.mu);
  return s.pending.empty() && s.busy.empty() && s.deferred.empty() && s.outbox.empty() &&
         s.local.empty() && !s.sending;
}

DsmProtocol::Counters DsmProtocol::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

std::string DsmProtocol::last_rejection() const {
  std::lock_guard lock(impl_->mu);
  return impl_->last_rejection;
}

}  // namespace dvmm::dsm
