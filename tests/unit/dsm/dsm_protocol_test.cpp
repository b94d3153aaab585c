// The DSM protocol engine. Three kinds of tests:
//   scripted   one engine, the test plays every other node by hand: each
//              protocol case (requester is home, upgrade, stale request,
//              invalidation during an upgrade, acks before data, hold time,
//              rejections) message by message;
//   cluster    N engines on simulated page stores, joined either by in-order
//              per-pair queues delivered in random interleavings, or by
//              ReliableLinks over a FakeNetwork that drops, duplicates,
//              reorders and delays; simulated CPUs read and write hot and
//              cold pages while the coherence invariants are checked after
//              every step;
//   threads    engines delivering synchronously into each other, with
//              host threads blocking in wait_for().
// Cluster runs replay from their seed (printed on failure; DVMM_TEST_SEED
// runs just that one; DVMM_TEST_SEEDS=n runs n per configuration).
#include "host/dsm/dsm_protocol.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "dataplane/fake_transport.hpp"
#include "dataplane/reliable_link.hpp"

namespace dvmm::dsm {
namespace {

using dataplane::DsmAckPayload;
using dataplane::DsmAction;
using dataplane::DsmDataPayload;
using dataplane::DsmDonePayload;
using dataplane::DsmForwardPayload;
using dataplane::DsmRequestPayload;
using dataplane::Message;
using dataplane::Payload;
using Page = std::array<uint8_t, kPageSize>;

// ---- a page store as a map -------------------------------------------------------

// Does exactly what the PageStore contract says, and nothing the engine
// doesn't ask for; a dropped copy is poisoned so a stale read shows.
class SimStore final : public PageStore {
 public:
  struct Frame {
    bool present = false;
    bool writable = false;
    Page bytes{};
  };

  explicit SimStore(uint64_t pages) : frames_(pages) {}

  void install(PageNumber page, const uint8_t* data, bool writable) override {
    std::lock_guard lock(mu);
    Frame& f = frames_.at(page);
    if (data != nullptr) {
      std::memcpy(f.bytes.data(), data, kPageSize);
    } else {
      f.bytes.fill(0);
    }
    f.present = true;
    f.writable = writable;
  }
  void make_writable(PageNumber page) override {
    std::lock_guard lock(mu);
    populate(frames_.at(page)).writable = true;
  }
  void write_protect(PageNumber page) override {
    std::lock_guard lock(mu);
    populate(frames_.at(page)).writable = false;
  }
  void read_page(PageNumber page, uint8_t* out) override {
    std::lock_guard lock(mu);
    const Frame& f = frames_.at(page);
    if (f.present) {
      std::memcpy(out, f.bytes.data(), kPageSize);
    } else {
      std::memset(out, 0, kPageSize);
    }
  }
  void drop(PageNumber page) override {
    std::lock_guard lock(mu);
    Frame& f = frames_.at(page);
    f.present = false;
    f.writable = false;
    f.bytes.fill(0xDD);
  }

  // Test side: single-threaded tests use these freely; threaded ones hold mu.
  Frame& frame(PageNumber page) { return frames_.at(page); }
  std::mutex mu;

 private:
  // A never-populated page is a zero page.
  static Frame& populate(Frame& f) {
    if (!f.present) {
      f.bytes.fill(0);
      f.present = true;
    }
    return f;
  }
  std::vector<Frame> frames_;
};

// A page's version: written at several offsets, across chunk boundaries
// (980-byte chunks with a 1000-byte payload), so a misplaced or missing chunk
// shows as disagreeing probes.
constexpr std::array<size_t, 6> kProbes = {0, 976, 984, 2048, 3000, 4088};

void write_version(uint8_t* page, uint64_t v) {
  for (size_t off : kProbes) std::memcpy(page + off, &v, sizeof v);
}
// The version, or nullopt when the probes disagree (a torn page).
std::optional<uint64_t> read_version(const uint8_t* page) {
  uint64_t v = 0;
  std::memcpy(&v, page, sizeof v);
  for (size_t off : kProbes) {
    uint64_t w = 0;
    std::memcpy(&w, page + off, sizeof w);
    if (w != v) return std::nullopt;
  }
  return v;
}

template <typename P, size_t I = 0>
constexpr size_t index_of() {
  if constexpr (std::is_same_v<std::variant_alternative_t<I, Payload>, P>) {
    return I;
  } else {
    return index_of<P, I + 1>();
  }
}

Message message(NodeId src, NodeId dst, Payload p) {
  Message m;
  m.header.src_node = src;
  m.header.dst_node = dst;
  m.payload = std::move(p);
  return m;
}

std::optional<uint64_t> env_seed() {
  const char* env = std::getenv("DVMM_TEST_SEED");
  if (env == nullptr) return std::nullopt;
  return std::strtoull(env, nullptr, 0);
}

// ---- scripted: one engine, the test is every other node ----------------------------

class Scripted {
 public:
  Scripted(NodeId local, uint16_t nodes, uint64_t pages, uint64_t min_hold_ns = 0)
      : store_(pages) {
    DsmProtocol::Config c{.local = local,
                          .node_count = nodes,
                          .page_count = pages,
                          .initial_owner = 0,
                          .min_hold_ns = min_hold_ns};
    auto r = DsmProtocol::create(c, store_, clock_, [this](NodeId dst, Payload p) {
      sent_.emplace_back(dst, std::move(p));
    });
    EXPECT_TRUE(r.ok()) << r.error().message;
    dsm_ = std::move(*r);
  }

  DsmProtocol& dsm() { return *dsm_; }
  SimStore& store() { return store_; }
  ManualClock& clock() { return clock_; }

  void deliver(NodeId src, Payload p) { dsm_->on_message(src, message(src, 0, std::move(p))); }

  // Everything sent since the last call.
  std::vector<std::pair<NodeId, Payload>> take() { return std::exchange(sent_, {}); }

  // The one message sent since the last call, of type P, to dst.
  template <typename P>
  P take_one(NodeId dst) {
    auto all = take();
    EXPECT_EQ(all.size(), 1u);
    if (all.size() != 1) return P{};
    EXPECT_EQ(all[0].first, dst);
    const P* p = std::get_if<P>(&all[0].second);
    EXPECT_NE(p, nullptr) << "got variant index " << all[0].second.index();
    return p != nullptr ? *p : P{};
  }

 private:
  SimStore store_;
  ManualClock clock_;
  std::vector<std::pair<NodeId, Payload>> sent_;
  std::unique_ptr<DsmProtocol> dsm_;
};

DsmDataPayload page_data(PageNumber page, uint32_t id, uint16_t acks, const Page& bytes,
                         size_t off = 0, size_t len = kPageSize) {
  const auto first = bytes.begin() + static_cast<ptrdiff_t>(off);
  return DsmDataPayload{.page = page,
                        .request_id = id,
                        .chunk_offset = static_cast<uint16_t>(off),
                        .acks = acks,
                        .data = std::vector<uint8_t>(first, first + static_cast<ptrdiff_t>(len))};
}

Page pattern(uint8_t salt) {
  Page p;
  for (size_t i = 0; i < kPageSize; ++i) p[i] = static_cast<uint8_t>(i * 31 + salt);
  return p;
}

TEST(DsmConfig, CreateRejectsNonsense) {
  SimStore store(4);
  ManualClock clock;
  auto sink = [](NodeId, Payload) {};
  auto make = [&](DsmProtocol::Config c) {
    auto r = DsmProtocol::create(c, store, clock, sink);
    return r.ok() ? std::string("<ok>") : r.error().message;
  };
  EXPECT_EQ(make({.local = 0, .node_count = 2, .page_count = 4}), "<ok>");
  EXPECT_EQ(make({.local = 0, .node_count = 0, .page_count = 4}),
            "DSM: 0 nodes is not supported (1-64)");
  EXPECT_EQ(make({.local = 0, .node_count = 65, .page_count = 4}),
            "DSM: 65 nodes is not supported (1-64)");
  EXPECT_NE(make({.local = 2, .node_count = 2, .page_count = 4}), "<ok>");
  EXPECT_NE(make({.local = 0, .node_count = 2, .page_count = 4, .initial_owner = 2}), "<ok>");
  EXPECT_EQ(make({.local = 0, .node_count = 2, .page_count = 0}), "DSM: guest RAM has no pages");
  EXPECT_NE(make({.local = 0, .node_count = 2, .page_count = 4, .max_payload_bytes = 20}), "<ok>");
  EXPECT_EQ(make({.local = 0, .node_count = 2, .page_count = 4, .max_payload_bytes = 21}), "<ok>");
  auto r = DsmProtocol::create({.node_count = 1, .page_count = 1}, store, clock, nullptr);
  EXPECT_FALSE(r.ok());
}

TEST(DsmScripted, InitialOwnerGrantsItselfWithoutMessages) {
  Scripted s(0, 3, 8);
  EXPECT_EQ(s.dsm().state(5), PageState::kExclusive);
  auto r = s.dsm().request(5, Access::kRead);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r) << "the initial owner has every page";
  EXPECT_TRUE(s.take().empty());
  // Made present and writable even for a read: no write-protect fault later.
  EXPECT_TRUE(s.store().frame(5).present);
  EXPECT_TRUE(s.store().frame(5).writable);
  EXPECT_EQ(s.dsm().counters().local_grants, 1u);

  Scripted other(1, 3, 8);
  EXPECT_EQ(other.dsm().state(5), PageState::kInvalid);
  EXPECT_FALSE(other.dsm().request(99, Access::kRead).ok()) << "page outside guest RAM";
  EXPECT_EQ(other.dsm().state(99), PageState::kInvalid);
}

// The home's side: directory, FIFO queue, stale requests, DONE matching.
TEST(DsmScripted, HomeSerialisesRequestsAndGrantsStaleOnesWithoutData) {
  Scripted s(0, 3, 6);  // node 0: home of page 3 and its initial owner
  // Node 1 reads: the home owns it, so it downgrades itself and ships a
  // zero page (never touched) without bytes.
  s.deliver(1, DsmRequestPayload{.page = 3, .request_id = 5, .access = dataplane::DsmAccess::kRead});
  auto d = s.take_one<DsmDataPayload>(1);
  EXPECT_EQ(d.page, 3u);
  EXPECT_EQ(d.request_id, 5u);
  EXPECT_EQ(d.flags, dataplane::kDsmDataZero);
  EXPECT_TRUE(d.data.empty());
  EXPECT_EQ(d.acks, 0);
  EXPECT_EQ(s.dsm().state(3), PageState::kShared);
  EXPECT_TRUE(s.store().frame(3).present);
  EXPECT_FALSE(s.store().frame(3).writable);
  EXPECT_EQ(s.dsm().counters().zero_pages_sent, 1u);
  EXPECT_EQ(s.dsm().counters().bytes_sent, 0u);

  // Node 2 wants to write while node 1's transfer is open: it waits.
  s.deliver(2, DsmRequestPayload{.page = 3, .request_id = 9, .access = dataplane::DsmAccess::kWrite});
  EXPECT_TRUE(s.take().empty());
  EXPECT_EQ(s.dsm().counters().requests_queued, 1u);

  // A DONE that isn't node 1's current request changes nothing.
  s.deliver(1, DsmDonePayload{.page = 3, .request_id = 4});
  s.deliver(2, DsmDonePayload{.page = 3, .request_id = 9});
  EXPECT_TRUE(s.take().empty());
  EXPECT_EQ(s.dsm().counters().rejected, 2u);

  // Node 1 done: node 2's write is served. Sharers are 0 (the home) and 1:
  // the home sends the page (its copy goes), node 1 is told to ack.
  s.deliver(1, DsmDonePayload{.page = 3, .request_id = 5});
  auto out = s.take();
  ASSERT_EQ(out.size(), 2u);
  ASSERT_EQ(out[0].first, 1);
  const auto& inv = std::get<DsmForwardPayload>(out[0].second);
  EXPECT_EQ(inv.action, DsmAction::kInvalidate);
  EXPECT_EQ(inv.flags, 0);
  EXPECT_EQ(inv.requester, 2);
  EXPECT_EQ(inv.request_id, 9u);
  ASSERT_EQ(out[1].first, 2);
  const auto& data = std::get<DsmDataPayload>(out[1].second);
  EXPECT_EQ(data.flags, dataplane::kDsmDataZero);
  EXPECT_EQ(data.acks, 1) << "node 1's ack";
  EXPECT_EQ(s.dsm().state(3), PageState::kInvalid);
  EXPECT_FALSE(s.store().frame(3).present);

  // Node 2, the owner now, asks again (a stale request after a race): a
  // grant without data, nothing forwarded.
  s.deliver(2, DsmDonePayload{.page = 3, .request_id = 9});
  s.deliver(2, DsmRequestPayload{.page = 3, .request_id = 10, .access = dataplane::DsmAccess::kWrite});
  auto grant = s.take_one<DsmDataPayload>(2);
  EXPECT_EQ(grant.flags, dataplane::kDsmDataNone);
  EXPECT_EQ(grant.request_id, 10u);
  EXPECT_EQ(grant.acks, 0);
  s.deliver(2, DsmDonePayload{.page = 3, .request_id = 10});

  // Node 1 reads: the owner (2) downgrades and sends to node 1.
  s.deliver(1, DsmRequestPayload{.page = 3, .request_id = 6, .access = dataplane::DsmAccess::kRead});
  auto fwd = s.take_one<DsmForwardPayload>(2);
  EXPECT_EQ(fwd.action, DsmAction::kDowngrade);
  EXPECT_EQ(fwd.flags, dataplane::kDsmForwardSendData);
  EXPECT_EQ(fwd.requester, 1);
  s.deliver(1, DsmDonePayload{.page = 3, .request_id = 6});
  // A stale read from node 1, a sharer now: a grant without data.
  s.deliver(1, DsmRequestPayload{.page = 3, .request_id = 7, .access = dataplane::DsmAccess::kRead});
  grant = s.take_one<DsmDataPayload>(1);
  EXPECT_EQ(grant.flags, dataplane::kDsmDataNone);
  EXPECT_EQ(grant.request_id, 7u);
  s.deliver(1, DsmDonePayload{.page = 3, .request_id = 7});
  // The home reads its own page: a local request, a forward to the last
  // writer (2), which sends to the home; sharers were {1, 2}.
  ASSERT_FALSE(*s.dsm().request(3, Access::kRead));
  fwd = s.take_one<DsmForwardPayload>(2);
  EXPECT_EQ(fwd.action, DsmAction::kDowngrade);
  EXPECT_EQ(fwd.requester, 0);
  const Page bytes = pattern(7);
  s.deliver(2, page_data(3, fwd.request_id, 0, bytes));
  EXPECT_TRUE(s.take().empty()) << "DONE to itself stays inside";
  EXPECT_EQ(s.dsm().state(3), PageState::kShared);
  EXPECT_EQ(s.store().frame(3).bytes, bytes);
  EXPECT_TRUE(s.dsm().idle());
  EXPECT_EQ(s.dsm().counters().rejected, 2u);
}

TEST(DsmScripted, HomeUpgradeOfItsOwnSharedCopyOnlyInvalidatesOthers) {
  Scripted s(0, 3, 6);
  s.deliver(1, DsmRequestPayload{.page = 0, .request_id = 1, .access = dataplane::DsmAccess::kRead});
  s.take();
  s.deliver(1, DsmDonePayload{.page = 0, .request_id = 1});
  s.deliver(2, DsmRequestPayload{.page = 0, .request_id = 1, .access = dataplane::DsmAccess::kRead});
  s.take();
  s.deliver(2, DsmDonePayload{.page = 0, .request_id = 1});
  ASSERT_EQ(s.dsm().state(0), PageState::kShared);
  s.store().frame(0).bytes = pattern(3);  // what it had

  // Home (a sharer) writes: invalidate 1 and 2, collect their acks itself.
  ASSERT_FALSE(*s.dsm().request(0, Access::kWrite));
  auto out = s.take();
  ASSERT_EQ(out.size(), 2u);
  uint32_t id = 0;
  for (const auto& [dst, p] : out) {
    const auto& f = std::get<DsmForwardPayload>(p);
    EXPECT_EQ(f.action, DsmAction::kInvalidate);
    EXPECT_EQ(f.flags, 0);
    EXPECT_EQ(f.requester, 0);
    id = f.request_id;
  }
  EXPECT_EQ(s.dsm().counters().upgrade_faults, 1u);
  s.deliver(2, DsmAckPayload{.page = 0, .request_id = id});
  EXPECT_EQ(s.dsm().state(0), PageState::kShared) << "one ack still missing";
  EXPECT_FALSE(s.store().frame(0).writable);
  s.deliver(1, DsmAckPayload{.page = 0, .request_id = id});
  EXPECT_EQ(s.dsm().state(0), PageState::kExclusive);
  EXPECT_TRUE(s.store().frame(0).writable);
  EXPECT_EQ(s.store().frame(0).bytes, pattern(3)) << "kept its own copy";
  EXPECT_EQ(s.dsm().counters().pages_received, 0u);
  EXPECT_TRUE(s.dsm().idle());
}

// The requester's side: duplicates, chunks, a write queued behind a read,
// an invalidation while upgrading, acks before data.
TEST(DsmScripted, RequesterCollectsChunksAcksAndSurvivesInvalidationDuringUpgrade) {
  Scripted s(1, 3, 6);  // page 3: home 0
  ASSERT_FALSE(*s.dsm().request(3, Access::kRead));
  const auto req = s.take_one<DsmRequestPayload>(0);
  EXPECT_EQ(req.page, 3u);
  EXPECT_EQ(req.access, dataplane::DsmAccess::kRead);
  // Duplicate faults: no second request; a write waits for the read.
  ASSERT_FALSE(*s.dsm().request(3, Access::kRead));
  ASSERT_FALSE(*s.dsm().request(3, Access::kWrite));
  EXPECT_TRUE(s.take().empty());
  EXPECT_EQ(s.dsm().counters().duplicate_requests, 2u);

  // The page in three chunks from the owner (node 2). A chunk out of place is refused.
  const Page first = pattern(1);
  s.deliver(2, page_data(3, req.request_id, 0, first, 0, 1500));
  s.deliver(2, page_data(3, req.request_id, 0, first, 3000, 1096));
  EXPECT_EQ(s.dsm().counters().rejected, 1u);
  s.deliver(2, page_data(3, req.request_id, 0, first, 1500, 1500));
  EXPECT_FALSE(s.store().frame(3).present);
  s.deliver(2, page_data(3, req.request_id, 0, first, 3000, 1096));
  EXPECT_EQ(s.dsm().state(3), PageState::kShared);
  EXPECT_EQ(s.store().frame(3).bytes, first);
  EXPECT_FALSE(s.store().frame(3).writable);
  // DONE, then at once the write that waited: an upgrade.
  auto out = s.take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<DsmDonePayload>(out[0].second).request_id, req.request_id);
  const auto up = std::get<DsmRequestPayload>(out[1].second);
  EXPECT_EQ(up.access, dataplane::DsmAccess::kWrite);
  EXPECT_EQ(s.dsm().counters().upgrade_faults, 1u);
  EXPECT_EQ(s.dsm().counters().chunks_received, 3u);

  // Before the upgrade is served, node 2 writes first: the home invalidates us.
  s.deliver(0, DsmForwardPayload{.page = 3,
                                 .request_id = 77,
                                 .requester = 2,
                                 .action = DsmAction::kInvalidate,
                                 .flags = 0});
  auto ack = s.take_one<DsmAckPayload>(2);
  EXPECT_EQ(ack.request_id, 77u);
  EXPECT_EQ(s.dsm().state(3), PageState::kInvalid);
  EXPECT_FALSE(s.store().frame(3).present);

  // Our upgrade is served later as a full write: node 0 (a sharer by now)
  // must ack, node 2 sends the data. The ack comes first.
  s.deliver(0, DsmAckPayload{.page = 3, .request_id = up.request_id});
  EXPECT_EQ(s.dsm().state(3), PageState::kInvalid);
  const Page second = pattern(2);
  s.deliver(2, page_data(3, up.request_id, 1, second));
  EXPECT_EQ(s.dsm().state(3), PageState::kExclusive);
  EXPECT_TRUE(s.store().frame(3).writable);
  EXPECT_EQ(s.store().frame(3).bytes, second);
  EXPECT_EQ(s.take_one<DsmDonePayload>(0).request_id, up.request_id);
  EXPECT_TRUE(s.dsm().idle());
  EXPECT_EQ(s.dsm().counters().completed, 2u);
  EXPECT_EQ(s.dsm().counters().rejected, 1u);
}

TEST(DsmScripted, DataBeforeAcksWaitsForEveryAck) {
  Scripted s(1, 4, 8);
  ASSERT_FALSE(*s.dsm().request(2, Access::kWrite));
  const auto req = s.take_one<DsmRequestPayload>(2);
  EXPECT_EQ(s.dsm().counters().write_faults, 1u);
  s.deliver(0, page_data(2, req.request_id, 2, pattern(9)));
  s.deliver(3, DsmAckPayload{.page = 2, .request_id = req.request_id});
  EXPECT_FALSE(s.store().frame(2).present) << "one ack missing";
  EXPECT_TRUE(s.take().empty());
  s.deliver(2, DsmAckPayload{.page = 2, .request_id = req.request_id});
  EXPECT_TRUE(s.store().frame(2).writable);
  EXPECT_EQ(s.store().frame(2).bytes, pattern(9));
  EXPECT_EQ(s.take_one<DsmDonePayload>(2).request_id, req.request_id);
  // A late duplicate of anything of that request is refused, not applied.
  s.deliver(2, DsmAckPayload{.page = 2, .request_id = req.request_id});
  s.deliver(0, page_data(2, req.request_id, 2, pattern(1)));
  EXPECT_EQ(s.dsm().counters().rejected, 2u);
  EXPECT_EQ(s.store().frame(2).bytes, pattern(9));
}

TEST(DsmScripted, OwnerSendsDataAfterWriteProtectAndDropsForAWrite) {
  Scripted s(1, 3, 6);
  // Become the owner of page 4 (home 1 = us, initial owner 0).
  ASSERT_FALSE(*s.dsm().request(4, Access::kWrite));
  auto fwd = s.take_one<DsmForwardPayload>(0);
  EXPECT_EQ(fwd.action, DsmAction::kInvalidate);
  EXPECT_EQ(fwd.requester, 1);
  DsmDataPayload zero{.page = 4, .request_id = fwd.request_id, .flags = dataplane::kDsmDataZero};
  s.deliver(0, zero);
  EXPECT_TRUE(s.take().empty());
  ASSERT_EQ(s.dsm().state(4), PageState::kExclusive);
  EXPECT_EQ(s.store().frame(4).bytes, Page{});
  s.store().frame(4).bytes = pattern(4);  // the vCPU writes

  // Node 2 reads: we are home and owner: downgrade ourselves, send to 2.
  s.deliver(2, DsmRequestPayload{.page = 4, .request_id = 3, .access = dataplane::DsmAccess::kRead});
  auto d = s.take_one<DsmDataPayload>(2);
  const Page p4 = pattern(4);
  EXPECT_EQ(d.data, std::vector<uint8_t>(p4.begin(), p4.end()));
  EXPECT_EQ(s.dsm().state(4), PageState::kShared);
  EXPECT_FALSE(s.store().frame(4).writable);
  EXPECT_EQ(s.dsm().counters().downgrades, 1u);
  s.deliver(2, DsmDonePayload{.page = 4, .request_id = 3});
  // Node 0 writes: sharers {1, 2}; we (home) send, node 2 acks.
  s.deliver(0, DsmRequestPayload{.page = 4, .request_id = 8, .access = dataplane::DsmAccess::kWrite});
  auto out = s.take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, 2);
  EXPECT_EQ(std::get<DsmForwardPayload>(out[0].second).action, DsmAction::kInvalidate);
  EXPECT_EQ(out[1].first, 0);
  EXPECT_EQ(std::get<DsmDataPayload>(out[1].second).acks, 1);
  EXPECT_EQ(s.dsm().state(4), PageState::kInvalid);
  EXPECT_EQ(s.dsm().counters().invalidations, 1u);
}

TEST(DsmScripted, HoldTimeDefersForwardsUntilTheTimer) {
  Scripted s(1, 2, 4, /*min_hold_ns=*/10'000);
  s.clock().set(1'000'000);
  ASSERT_FALSE(*s.dsm().request(0, Access::kRead));
  const auto req = s.take_one<DsmRequestPayload>(0);
  s.clock().advance(500);
  s.deliver(0, page_data(0, req.request_id, 0, pattern(5)));
  s.take();
  EXPECT_FALSE(s.dsm().next_timer_ns().has_value());
  s.deliver(0, DsmForwardPayload{.page = 0,
                                 .request_id = 4,
                                 .requester = 0,
                                 .action = DsmAction::kInvalidate,
                                 .flags = 0});
  EXPECT_TRUE(s.take().empty());
  EXPECT_EQ(s.dsm().counters().forwards_deferred, 1u);
  ASSERT_TRUE(s.dsm().next_timer_ns().has_value());
  EXPECT_EQ(*s.dsm().next_timer_ns(), 1'010'500u);
  EXPECT_FALSE(s.dsm().idle());
  s.clock().advance(9'999);
  s.dsm().run_timers();
  EXPECT_TRUE(s.take().empty());
  EXPECT_TRUE(s.store().frame(0).present);
  s.clock().advance(1);
  s.dsm().run_timers();
  EXPECT_EQ(s.take_one<DsmAckPayload>(0).request_id, 4u);
  EXPECT_FALSE(s.store().frame(0).present);
  EXPECT_FALSE(s.dsm().next_timer_ns().has_value());
  EXPECT_TRUE(s.dsm().idle());
}

TEST(DsmScripted, MessagesThatFitNoStateAreRejected) {
  Scripted s(1, 3, 6);
  auto rejected = [&] { return s.dsm().counters().rejected; };
  uint64_t n = 0;
  // Not our home (page 0's home is 0).
  s.deliver(2, DsmRequestPayload{.page = 0, .request_id = 1});
  EXPECT_EQ(rejected(), ++n);
  // Forward from a node that isn't the page's home.
  s.deliver(2, DsmForwardPayload{.page = 0, .requester = 0, .action = DsmAction::kInvalidate});
  EXPECT_EQ(rejected(), ++n);
  // Forward naming ourselves or no node as the requester.
  s.deliver(0, DsmForwardPayload{.page = 0, .requester = 1, .action = DsmAction::kInvalidate});
  EXPECT_EQ(rejected(), ++n);
  s.deliver(0, DsmForwardPayload{.page = 0, .requester = 3, .action = DsmAction::kInvalidate});
  EXPECT_EQ(rejected(), ++n);
  // Data and acks for nothing outstanding; DONE for nothing served here.
  s.deliver(0, DsmDataPayload{.page = 0, .request_id = 1, .flags = dataplane::kDsmDataZero});
  EXPECT_EQ(rejected(), ++n);
  s.deliver(0, DsmAckPayload{.page = 0, .request_id = 1});
  EXPECT_EQ(rejected(), ++n);
  s.deliver(0, DsmDonePayload{.page = 1, .request_id = 1});
  EXPECT_EQ(rejected(), ++n);
  // Pages outside guest RAM, and a source that is no peer.
  s.deliver(0, DsmAckPayload{.page = 6, .request_id = 1});
  EXPECT_EQ(rejected(), ++n);
  s.deliver(3, DsmAckPayload{.page = 0, .request_id = 1});
  EXPECT_EQ(rejected(), ++n);
  s.deliver(1, DsmAckPayload{.page = 0, .request_id = 1});
  EXPECT_EQ(rejected(), ++n);
  EXPECT_FALSE(s.dsm().last_rejection().empty());
  // Other payloads are not the engine's business.
  s.deliver(0, dataplane::HeartbeatPayload{.sent_ns = 1});
  EXPECT_EQ(rejected(), n);
  EXPECT_TRUE(s.take().empty());
  EXPECT_EQ(s.dsm().state(0), PageState::kInvalid);
}

// ---- a simulated cluster -----------------------------------------------------------

struct ClusterOptions {
  uint16_t nodes = 2;
  uint64_t pages = 16;
  size_t max_payload_bytes = dataplane::kMaxMessageSize - dataplane::kHeaderSize;
  uint64_t min_hold_ns = 0;
  bool lossy = false;  // ReliableLinks over an impaired FakeNetwork; else in-order queues
  uint64_t seed = 1;
};

class Cluster {
 public:
  explicit Cluster(const ClusterOptions& o)
      : o_(o), rng_(o.seed), queues_(size_t{o.nodes} * o.nodes) {
    if (o.lossy) {
      dataplane::FakeNetwork::Config nc;
      nc.seed = o.seed;
      // The link's frames: header, payload and its incarnation trailer.
      nc.max_frame_size =
          std::min(dataplane::kMaxFrameSize, o.max_payload_bytes + dataplane::kHeaderSize +
                                                 dataplane::kIncarnationSize);
      nc.impairments = {.drop = 0.03,
                        .duplicate = 0.03,
                        .reorder = 0.05,
                        .reorder_depth = 3,
                        .reorder_max_hold_ns = 5'000,
                        .delay_ns = 300,
                        .jitter_ns = 1'200};
      net_ = std::make_unique<dataplane::FakeNetwork>(clock_, nc);
      std::vector<NodeId> ids;
      for (NodeId n = 0; n < o.nodes; ++n) ids.push_back(n);
      for (NodeId n = 0; n < o.nodes; ++n) {
        dataplane::ReliableLink::Config lc;
        lc.cluster_id = 7;
        lc.local = n;
        lc.peers = ids;
        lc.retransmit_timeout_ns = 50'000;
        lc.max_retransmit_timeout_ns = 400'000;
        lc.ack_delay_ns = 5'000;
        lc.window = 32;  // each slot holds a page-sized frame
        links_.push_back(std::make_unique<dataplane::ReliableLink>(net_->endpoint(n), clock_, lc));
      }
    }
    for (NodeId n = 0; n < o.nodes; ++n) {
      stores_.push_back(std::make_unique<SimStore>(o.pages));
      DsmProtocol::Config c{.local = n,
                            .node_count = o.nodes,
                            .page_count = o.pages,
                            .initial_owner = 0,
                            .max_payload_bytes = o.max_payload_bytes,
                            .min_hold_ns = o.min_hold_ns};
      auto r = DsmProtocol::create(c, *stores_.back(), clock_,
                                   [this, n](NodeId dst, Payload p) { send(n, dst, std::move(p)); });
      EXPECT_TRUE(r.ok()) << r.error().message;
      dsms_.push_back(std::move(*r));
    }
  }

  DsmProtocol& dsm(NodeId n) { return *dsms_.at(n); }
  SimStore& store(NodeId n) { return *stores_.at(n); }
  uint16_t nodes() const { return o_.nodes; }
  uint64_t pages() const { return o_.pages; }
  std::mt19937_64& rng() { return rng_; }
  ManualClock& clock() { return clock_; }
  const std::string& send_error() const { return send_error_; }
  uint64_t messages(size_t variant_index) const { return sent_by_type_[variant_index]; }

  // One round of the network: delivers some messages (all that are due, on
  // links; a random few from random queues otherwise), runs the engines'
  // timers, and moves time on: a little when something happened or the
  // caller has work, else straight to the next timer or arrival.
  bool pump(bool busy) {
    size_t work = 0;
    if (o_.lossy) {
      for (NodeId n = 0; n < o_.nodes; ++n) {
        work += links_[n]->poll([this, n](const Message& m) {
          dsms_[n]->on_message(m.header.src_node, m);
        });
      }
    } else {
      const uint64_t k = 1 + rng_() % 3;
      for (uint64_t i = 0; i < k; ++i) work += deliver_one() ? 1u : 0u;
    }
    for (auto& d : dsms_) d->run_timers();
    if (work > 0 || busy || !o_.lossy) {
      clock_.advance(500);
    } else if (auto next = next_event(); next && *next > clock_.now_ns()) {
      clock_.set(*next);
    } else {
      clock_.advance(500);
    }
    return work > 0;
  }

  bool in_flight() {
    if (o_.lossy) {
      for (auto& l : links_) {
        if (!l->all_acknowledged()) return true;
      }
      return net_->in_flight() > 0;
    }
    return std::any_of(queues_.begin(), queues_.end(), [](const auto& q) { return !q.empty(); });
  }

  bool all_idle() {
    for (auto& d : dsms_) {
      if (!d->idle()) return false;
    }
    return !in_flight();
  }

  // Faults on node n until the access is granted there (bounded).
  bool fetch(NodeId n, PageNumber page, Access access, size_t max_rounds = 10'000) {
    for (size_t i = 0; i < max_rounds; ++i) {
      const SimStore::Frame& f = store(n).frame(page);
      if (f.present && (access == Access::kRead || f.writable)) return true;
      if (!dsm(n).request(page, access).ok()) return false;
      pump(false);
    }
    return false;
  }

  // Runs the network until everything is delivered and every engine idle.
  bool settle(size_t max_rounds = 200'000) {
    for (size_t i = 0; i < max_rounds; ++i) {
      if (all_idle()) return true;
      pump(false);
    }
    return all_idle();
  }

 private:
  void send(NodeId src, NodeId dst, Payload p) {
    ++sent_by_type_.at(p.index());
    if (o_.lossy) {
      const Status s = links_[src]->send(message(src, dst, std::move(p)));
      if (!s.ok() && send_error_.empty()) send_error_ = s.error().message;
    } else {
      queues_[size_t{src} * o_.nodes + dst].push_back(std::move(p));
    }
  }

  // From a random link that has messages, its oldest.
  bool deliver_one() {
    const auto ready = static_cast<uint64_t>(
        std::count_if(queues_.begin(), queues_.end(), [](const auto& q) { return !q.empty(); }));
    if (ready == 0) return false;
    uint64_t pick = rng_() % ready;
    size_t link = 0;
    for (;; ++link) {
      if (queues_[link].empty()) continue;
      if (pick == 0) break;
      --pick;
    }
    const auto src = static_cast<NodeId>(link / o_.nodes);
    const auto dst = static_cast<NodeId>(link % o_.nodes);
    auto& q = queues_[link];
    Payload p = std::move(q.front());
    q.pop_front();
    dsms_[dst]->on_message(src, message(src, dst, std::move(p)));
    return true;
  }

  std::optional<uint64_t> next_event() {
    std::optional<uint64_t> next;
    auto consider = [&next](std::optional<uint64_t> t) {
      if (t) next = next ? std::min(*next, *t) : *t;
    };
    for (NodeId n = 0; n < o_.nodes; ++n) {
      consider(links_[n]->next_timer_ns());
      consider(net_->next_arrival_ns(n));
      consider(dsms_[n]->next_timer_ns());
    }
    return next;
  }

  ClusterOptions o_;
  std::mt19937_64 rng_;
  ManualClock clock_;
  std::unique_ptr<dataplane::FakeNetwork> net_;
  std::vector<std::unique_ptr<dataplane::ReliableLink>> links_;
  std::vector<std::deque<Payload>> queues_;  // in-order queue per link, src * nodes + dst
  std::vector<std::unique_ptr<SimStore>> stores_;
  std::vector<std::unique_ptr<DsmProtocol>> dsms_;
  std::array<uint64_t, std::variant_size_v<Payload>> sent_by_type_{};
  std::string send_error_;
};

// Simulated CPUs on a cluster: each runs one access at a time; an access
// proceeds only when the local store allows it, else the CPU faults
// (request()) and tries again on a later step. Every write stores the next
// version of its page; the checker knows the latest version of every page.
class Workload {
 public:
  // No access may wait longer than this many steps (no starvation); a
  // transfer takes a handful of network rounds, plus retransmission
  // timeouts on lossy links.
  static constexpr uint64_t kMaxWaitSteps = 5'000;

  struct Options {
    unsigned cpus_per_node = 2;
    uint64_t hot_pages = 3;
    double hot = 0.75;
    double write = 0.5;
  };

  Workload(Cluster& c, Options o) : c_(c), o_(o), latest_(c.pages()), writes_(c.pages()) {
    for (NodeId n = 0; n < c.nodes(); ++n) {
      for (unsigned i = 0; i < o.cpus_per_node; ++i) cpus_.push_back(Cpu{.node = n});
    }
  }

  // Runs until `ops` accesses completed or `max_steps` steps passed; the
  // first broken invariant or a stall is returned as an error.
  std::optional<std::string> run(uint64_t ops, uint64_t max_steps) {
    std::mt19937_64& rng = c_.rng();
    uint64_t step = 0;
    for (; step < max_steps && done_ < ops; ++step) {
      std::shuffle(cpus_.begin(), cpus_.end(), rng);
      bool runnable = false;
      for (Cpu& cpu : cpus_) {
        if (!cpu.busy) {
          if (issued_ >= ops || rng() % 4 == 0) continue;  // idle for a while
          pick(cpu, rng);
          cpu.since = step;
        }
        if (rng() % 2 == 0) {
          runnable = runnable || allowed(cpu);
          continue;  // not scheduled this step
        }
        if (auto e = attempt(cpu)) return fmt::format("step {}: {}", step, *e);
        runnable = runnable || (cpu.busy && allowed(cpu));
      }
      for (const Cpu& cpu : cpus_) {
        if (!cpu.busy) continue;
        const uint64_t waited = step - cpu.since;
        max_wait_ = std::max(max_wait_, waited);
        if (waited > kMaxWaitSteps) {
          return fmt::format("step {}: a CPU of node {} waits for page {} ({}) since step {}",
                             step, cpu.node, cpu.page,
                             cpu.access == Access::kRead ? "read" : "write", cpu.since);
        }
      }
      c_.pump(runnable);
      if (!c_.send_error().empty()) return "send failed: " + c_.send_error();
      if (auto e = check()) return fmt::format("step {}: {}", step, *e);
    }
    steps_ += step;
    if (done_ < ops) {
      return fmt::format("no progress: {} of {} accesses after {} steps", done_, ops, step);
    }
    return std::nullopt;
  }

  // Quiesces, then reads every page through the protocol from a random
  // node: each must hold exactly as many increments as were written.
  std::optional<std::string> verify_final() {
    if (!c_.settle()) return "the cluster did not settle";
    for (PageNumber page = 0; page < c_.pages(); ++page) {
      const auto n = static_cast<NodeId>(c_.rng()() % c_.nodes());
      Cpu reader{.node = n, .busy = true, .page = page, .access = Access::kRead};
      for (int i = 0; reader.busy; ++i) {
        if (i > 100'000) return fmt::format("final read of page {} on node {} stalled", page, n);
        if (auto e = attempt(reader)) return e;
        c_.pump(false);
      }
      if (reader.seen != writes_[page]) {
        return fmt::format("page {}: {} writes but node {} reads version {}", page, writes_[page],
                           n, reader.seen);
      }
    }
    if (!c_.settle()) return "the cluster did not settle after the final reads";
    for (NodeId n = 0; n < c_.nodes(); ++n) {
      const auto k = c_.dsm(n).counters();
      if (k.rejected != 0) {
        return fmt::format("node {} rejected {} messages: {}", n, k.rejected,
                           c_.dsm(n).last_rejection());
      }
    }
    return check();
  }

  uint64_t done() const { return done_; }
  uint64_t max_wait() const { return max_wait_; }
  uint64_t steps() const { return steps_; }
  uint64_t writes(PageNumber page) const { return writes_[page]; }

  // The coherence invariants, on the stores (what the guest could see) and
  // on the engines (what the protocol believes).
  std::optional<std::string> check() {
    for (PageNumber page = 0; page < c_.pages(); ++page) {
      unsigned present = 0, writable = 0, exclusive = 0, shared = 0;
      for (NodeId n = 0; n < c_.nodes(); ++n) {
        const SimStore::Frame& f = c_.store(n).frame(page);
        const PageState s = c_.dsm(n).state(page);
        if ((s == PageState::kInvalid && f.present) ||
            (s == PageState::kShared && (!f.present || f.writable)) ||
            (s == PageState::kExclusive && f.present && !f.writable)) {
          return fmt::format("page {} node {}: state {} but store present={} writable={}", page,
                             n, static_cast<int>(s), f.present, f.writable);
        }
        present += f.present ? 1 : 0;
        writable += f.writable ? 1 : 0;
        exclusive += s == PageState::kExclusive ? 1 : 0;
        shared += s == PageState::kShared ? 1 : 0;
        if (f.present) {
          // Every copy anyone can read is the latest: a write happens only
          // when no other copy exists.
          const auto v = read_version(f.bytes.data());
          if (!v || *v != latest_[page]) {
            return fmt::format("page {} node {}: copy holds version {} but the latest is {}", page,
                               n, v ? fmt::to_string(*v) : std::string("<torn>"), latest_[page]);
          }
        }
      }
      if (writable > 1 || (writable == 1 && present > 1)) {
        return fmt::format("page {}: {} writable and {} present copies", page, writable, present);
      }
      if (exclusive > 1 || (exclusive == 1 && shared > 0)) {
        return fmt::format("page {}: {} exclusive and {} shared holders", page, exclusive, shared);
      }
    }
    return std::nullopt;
  }

 private:
  struct Cpu {
    NodeId node = 0;
    bool busy = false;
    PageNumber page = 0;
    Access access = Access::kRead;
    uint64_t seen = 0;   // the version the last read returned
    uint64_t since = 0;  // step the current access began
  };

  void pick(Cpu& cpu, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const bool hot = u(rng) < o_.hot || c_.pages() <= o_.hot_pages;
    cpu.page = hot ? rng() % o_.hot_pages
                   : o_.hot_pages + rng() % (c_.pages() - o_.hot_pages);
    cpu.access = u(rng) < o_.write ? Access::kWrite : Access::kRead;
    cpu.busy = true;
    ++issued_;
  }

  bool allowed(const Cpu& cpu) {
    const SimStore::Frame& f = c_.store(cpu.node).frame(cpu.page);
    return f.present && (cpu.access == Access::kRead || f.writable);
  }

  std::optional<std::string> attempt(Cpu& cpu) {
    if (!allowed(cpu)) {
      auto r = c_.dsm(cpu.node).request(cpu.page, cpu.access);
      if (!r.ok()) return r.error().message;
      if (!*r) return std::nullopt;  // faulted: wait
      if (!allowed(cpu)) {
        return fmt::format("node {} page {}: request() granted at once but the store refuses",
                           cpu.node, cpu.page);
      }
    }
    SimStore::Frame& f = c_.store(cpu.node).frame(cpu.page);
    const auto v = read_version(f.bytes.data());
    if (!v || *v != latest_[cpu.page]) {
      return fmt::format("node {} page {}: {} sees version {}, the latest is {}", cpu.node,
                         cpu.page, cpu.access == Access::kRead ? "read" : "write",
                         v ? fmt::to_string(*v) : std::string("<torn>"), latest_[cpu.page]);
    }
    cpu.seen = *v;
    if (cpu.access == Access::kWrite) {
      // Read-modify-write: a lost update would show as a final count short.
      write_version(f.bytes.data(), *v + 1);
      latest_[cpu.page] = *v + 1;
      ++writes_[cpu.page];
    }
    cpu.busy = false;
    ++done_;
    return std::nullopt;
  }

  Cluster& c_;
  Options o_;
  std::vector<uint64_t> latest_;
  std::vector<uint64_t> writes_;
  std::vector<Cpu> cpus_;
  uint64_t issued_ = 0;
  uint64_t done_ = 0;
  uint64_t steps_ = 0;
  uint64_t max_wait_ = 0;
};

// ---- cluster scenarios ------------------------------------------------------------------

TEST(DsmCluster, ZeroPagesTravelWithoutBytes) {
  Cluster c({.nodes = 2, .pages = 8});
  // Node 1 reads a page nobody wrote: a flag, no bytes.
  ASSERT_TRUE(c.fetch(1, 3, Access::kRead));
  EXPECT_EQ(c.store(1).frame(3).bytes, Page{});
  auto k0 = c.dsm(0).counters();
  auto k1 = c.dsm(1).counters();
  EXPECT_EQ(k0.zero_pages_sent, 1u);
  EXPECT_EQ(k0.bytes_sent, 0u);
  EXPECT_EQ(k0.chunks_sent, 0u);
  EXPECT_EQ(k1.zero_pages_received, 1u);
  EXPECT_EQ(k1.pages_received, 1u);
  EXPECT_EQ(k1.bytes_received, 0u);
  EXPECT_EQ(k1.read_faults, 1u);
  // A page with data travels whole, in one message.
  ASSERT_TRUE(*c.dsm(0).request(4, Access::kWrite));
  c.store(0).frame(4).bytes = pattern(6);
  ASSERT_TRUE(c.fetch(1, 4, Access::kRead));
  EXPECT_EQ(c.store(1).frame(4).bytes, pattern(6));
  k1 = c.dsm(1).counters();
  EXPECT_EQ(k1.bytes_received, kPageSize);
  EXPECT_EQ(k1.chunks_received, 1u);
  EXPECT_EQ(k1.zero_pages_received, 1u);
  ASSERT_TRUE(c.settle());
  EXPECT_GT(k1.blocked_ns, 0u);
}

TEST(DsmCluster, RequesterIsHomeSendsNoRequestOnTheWire) {
  Cluster c({.nodes = 2, .pages = 4});
  // Page 1: home node 1, owner node 0.
  ASSERT_TRUE(c.fetch(1, 1, Access::kWrite));
  ASSERT_TRUE(c.settle());
  EXPECT_EQ(c.messages(index_of<DsmRequestPayload>()), 0u);
  EXPECT_EQ(c.messages(index_of<DsmForwardPayload>()), 1u) << "to node 0";
  EXPECT_EQ(c.messages(index_of<DsmDataPayload>()), 1u) << "to node 1";
  EXPECT_EQ(c.messages(index_of<DsmDonePayload>()), 0u);
  EXPECT_EQ(c.dsm(0).state(1), PageState::kInvalid);
}

TEST(DsmCluster, UpgradeFetchesNoDataOnlyInvalidates) {
  Cluster c({.nodes = 3, .pages = 6});
  ASSERT_TRUE(*c.dsm(0).request(2, Access::kWrite));
  write_version(c.store(0).frame(2).bytes.data(), 1);
  for (NodeId n : {NodeId{1}, NodeId{2}}) {
    ASSERT_TRUE(c.fetch(n, 2, Access::kRead));
  }
  ASSERT_TRUE(c.settle());
  const auto before = c.dsm(1).counters();
  ASSERT_TRUE(c.fetch(1, 2, Access::kWrite));
  ASSERT_TRUE(c.settle());
  const auto after = c.dsm(1).counters();
  EXPECT_EQ(after.upgrade_faults, before.upgrade_faults + 1);
  EXPECT_EQ(after.pages_received, before.pages_received) << "its copy was current";
  EXPECT_EQ(after.grants_without_data, 1u);
  EXPECT_EQ(read_version(c.store(1).frame(2).bytes.data()), 1u);
  EXPECT_FALSE(c.store(0).frame(2).present);
  EXPECT_FALSE(c.store(2).frame(2).present);
  EXPECT_EQ(c.dsm(0).counters().invalidations + c.dsm(2).counters().invalidations, 2u);
}

// A page travels in 980-byte chunks (1000-byte payloads) and comes back
// whole, through reads, a write with an invalidation, and lossy links.
TEST(DsmCluster, ChunkedPagesReassemble) {
  for (bool lossy : {false, true}) {
    SCOPED_TRACE(lossy ? "lossy links" : "queues");
    Cluster c({.nodes = 3, .pages = 6, .max_payload_bytes = 1000, .lossy = lossy, .seed = 11});
    ASSERT_TRUE(*c.dsm(0).request(2, Access::kWrite));
    Page bytes;
    std::mt19937_64 rng(5);
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    c.store(0).frame(2).bytes = bytes;
    ASSERT_TRUE(c.fetch(1, 2, Access::kRead));
    EXPECT_EQ(c.store(1).frame(2).bytes, bytes);
    EXPECT_EQ(c.dsm(1).counters().chunks_received, 5u);  // 4 x 980 + 176
    EXPECT_EQ(c.dsm(1).counters().bytes_received, kPageSize);
    ASSERT_TRUE(c.settle());
    ASSERT_TRUE(c.fetch(2, 2, Access::kWrite));
    EXPECT_EQ(c.store(2).frame(2).bytes, bytes);
    EXPECT_EQ(c.dsm(2).counters().chunks_received, 5u);
    EXPECT_FALSE(c.store(0).frame(2).present);
    EXPECT_FALSE(c.store(1).frame(2).present);
    ASSERT_TRUE(c.settle());
    EXPECT_EQ(c.dsm(0).counters().chunks_sent + c.dsm(1).counters().chunks_sent, 10u);
    EXPECT_TRUE(c.send_error().empty()) << c.send_error();
  }
}

// Two nodes writing one page in a loop both finish: the hold time lets each
// write land before the page is taken away. The network runs four rounds
// per CPU turn (a fast network, slow vCPUs): without the hold, a page would
// mostly be gone again before its CPU runs.
TEST(DsmCluster, TwoWritersOfOnePageBothProgress) {
  for (bool lossy : {false, true}) {
    SCOPED_TRACE(lossy ? "lossy links" : "queues");
    Cluster c({.nodes = 2, .pages = 2, .min_hold_ns = 3'000, .lossy = lossy, .seed = 3});
    constexpr uint64_t kWrites = 200;
    std::array<uint64_t, 2> done{};
    uint64_t steps = 0;
    for (; steps < 100'000 && (done[0] < kWrites || done[1] < kWrites); ++steps) {
      for (NodeId n = 0; n < 2; ++n) {
        if (done[n] == kWrites) continue;
        SimStore::Frame& f = c.store(n).frame(1);
        if (f.writable) {
          const auto v = read_version(f.bytes.data());
          ASSERT_TRUE(v.has_value());
          write_version(f.bytes.data(), *v + 1);
          ++done[n];
        } else {
          ASSERT_TRUE(c.dsm(n).request(1, Access::kWrite).ok());
        }
      }
      for (int i = 0; i < 4; ++i) c.pump(true);
    }
    EXPECT_EQ(done[0], kWrites);
    EXPECT_EQ(done[1], kWrites);
    // Bounded: a transfer takes a few rounds of the network (about 500
    // steps for the 400 writes here), not thousands.
    EXPECT_LT(steps, 2'000u);
    ASSERT_TRUE(c.settle());
    ASSERT_TRUE(c.fetch(0, 1, Access::kRead));
    EXPECT_EQ(read_version(c.store(0).frame(1).bytes.data()), 2 * kWrites);
    RecordProperty(lossy ? "steps_lossy" : "steps_queues", static_cast<int>(steps));
  }
}

// ---- randomized cluster runs ---------------------------------------------------------------

struct RandomRun {
  uint16_t nodes;
  bool lossy;
  uint64_t min_hold_ns;
  size_t max_payload_bytes;
  unsigned seeds;  // lossy links and chunks cost more per step: fewer
};

void run_seeds(const RandomRun& run, uint64_t first_seed, unsigned seeds, uint64_t ops) {
  std::vector<uint64_t> list;
  if (auto s = env_seed()) {
    list.push_back(*s);
  } else {
    // DVMM_TEST_SEEDS=n: n seeds per configuration, for a soak run.
    if (const char* n = std::getenv("DVMM_TEST_SEEDS")) {
      seeds = static_cast<unsigned>(std::strtoul(n, nullptr, 0));
    }
    for (unsigned i = 0; i < seeds; ++i) list.push_back(first_seed + i);
  }
  uint64_t total_steps = 0;
  for (uint64_t seed : list) {
    Cluster c({.nodes = run.nodes,
               .pages = 8,
               .max_payload_bytes = run.max_payload_bytes,
               .min_hold_ns = run.min_hold_ns,
               .lossy = run.lossy,
               .seed = seed});
    Workload w(c, {.cpus_per_node = 2, .hot_pages = 3, .hot = 0.75, .write = 0.5});
    std::optional<std::string> e = w.run(ops, ops * 200);
    if (!e) e = w.verify_final();
    ASSERT_FALSE(e.has_value()) << "seed " << seed << " (DVMM_TEST_SEED=" << seed
                                << " replays it): " << *e;
    total_steps += w.steps();
  }
  ::testing::Test::RecordProperty("steps", static_cast<int>(total_steps));
}

class DsmRandom : public ::testing::TestWithParam<RandomRun> {};

constexpr size_t kFull = dataplane::kMaxMessageSize - dataplane::kHeaderSize;

INSTANTIATE_TEST_SUITE_P(
    Clusters, DsmRandom,
    ::testing::Values(RandomRun{2, false, 0, kFull, 40}, RandomRun{3, false, 0, kFull, 30},
                      RandomRun{4, false, 2'000, kFull, 25}, RandomRun{3, false, 0, 1000, 12},
                      RandomRun{2, true, 0, kFull, 12}, RandomRun{3, true, 2'000, kFull, 8},
                      RandomRun{4, true, 0, 1000, 4}),
    [](const ::testing::TestParamInfo<RandomRun>& param) {
      const RandomRun& r = param.param;
      return fmt::format("n{}_{}_hold{}_{}", r.nodes, r.lossy ? "lossy" : "queues",
                         r.min_hold_ns, r.max_payload_bytes == kFull ? "page" : "chunks");
    });

TEST_P(DsmRandom, EveryReadSeesTheLastWriteAndNoUpdateIsLost) {
  const RandomRun& r = GetParam();
  run_seeds(r, 1000u * r.nodes + (r.lossy ? 500u : 0u), r.seeds, 2000);
}

// ---- synchronous delivery and threads ---------------------------------------------------------

// Host threads on every node increment two hot pages through wait_for().
// Synchronous: send() calls straight into the destination engine on the
// sending thread, so engines must neither deadlock nor recurse into
// half-updated state. Asynchronous: each node has a poller thread that
// delivers its inbox, as the dataplane thread does.
void run_threads(bool synchronous) {
  constexpr uint16_t kNodes = 3;
  constexpr uint64_t kPages = 4;
  constexpr int kIncrements = 300;
  struct Inbox {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::pair<NodeId, Payload>> q;
  };
  MonotonicClock clock;
  std::vector<std::unique_ptr<SimStore>> stores;
  std::vector<std::unique_ptr<DsmProtocol>> dsms(kNodes);
  std::vector<Inbox> inboxes(kNodes);
  for (NodeId n = 0; n < kNodes; ++n) {
    stores.push_back(std::make_unique<SimStore>(kPages));
    auto send = [&dsms, &inboxes, n, synchronous](NodeId dst, Payload p) {
      if (synchronous) {
        dsms[dst]->on_message(n, message(n, dst, std::move(p)));
        return;
      }
      Inbox& box = inboxes[dst];
      std::lock_guard lock(box.mu);
      box.q.emplace_back(n, std::move(p));
      box.cv.notify_one();
    };
    auto r = DsmProtocol::create({.local = n, .node_count = kNodes, .page_count = kPages},
                                 *stores.back(), clock, send);
    ASSERT_TRUE(r.ok()) << r.error().message;
    dsms[n] = std::move(*r);
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> pollers;
  if (!synchronous) {
    for (NodeId n = 0; n < kNodes; ++n) {
      pollers.emplace_back([&, n] {
        Inbox& box = inboxes[n];
        std::unique_lock lock(box.mu);
        while (!stop) {
          if (box.q.empty()) {
            box.cv.wait_for(lock, std::chrono::milliseconds(1));
            continue;
          }
          auto [src, p] = std::move(box.q.front());
          box.q.pop_front();
          lock.unlock();
          dsms[n]->on_message(src, message(src, n, std::move(p)));
          lock.lock();
        }
      });
    }
  }
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (NodeId n = 0; n < kNodes; ++n) {
    threads.emplace_back([&, n] {
      for (int i = 0; i < kIncrements && !failed; ++i) {
        const auto page = static_cast<PageNumber>(i % 2);
        for (;;) {
          if (!dsms[n]->wait_for(page, Access::kWrite, std::chrono::seconds(20))) {
            failed = true;
            return;
          }
          // The access itself: only while the store allows it (a vCPU
          // would fault otherwise, and retry).
          std::lock_guard lock(stores[n]->mu);
          SimStore::Frame& f = stores[n]->frame(page);
          if (f.present && f.writable) {
            const auto v = read_version(f.bytes.data());
            if (!v) failed = true;
            write_version(f.bytes.data(), v.value_or(0) + 1);
            break;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(failed.load());
  for (PageNumber page = 0; page < 2 && !failed; ++page) {
    ASSERT_TRUE(dsms[1]->wait_for(page, Access::kRead, std::chrono::seconds(5)));
    std::lock_guard lock(stores[1]->mu);
    EXPECT_EQ(read_version(stores[1]->frame(page).bytes.data()), kNodes * kIncrements / 2);
  }
  // Let the last DONEs arrive before looking for idle engines.
  for (int i = 0; i < 2000; ++i) {
    if (std::all_of(dsms.begin(), dsms.end(), [](const auto& d) { return d->idle(); })) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop = true;
  for (auto& t : pollers) t.join();
  for (NodeId n = 0; n < kNodes; ++n) {
    EXPECT_TRUE(dsms[n]->idle());
    EXPECT_EQ(dsms[n]->counters().rejected, 0u) << dsms[n]->last_rejection();
  }
}

TEST(DsmThreads, SynchronousDeliveryAndWaitFor) {
  run_threads(true);
}

TEST(DsmThreads, PollerThreadsAndWaitFor) {
  run_threads(false);
}

TEST(DsmThreads, WaitForTimesOutWhenNobodyAnswers) {
  SimStore store(2);
  ManualClock clock;
  auto r = DsmProtocol::create({.local = 1, .node_count = 2, .page_count = 2}, store, clock,
                               [](NodeId, Payload) {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE((*r)->wait_for(0, Access::kRead, std::chrono::milliseconds(20)));
  EXPECT_FALSE((*r)->wait_for(5, Access::kRead, std::chrono::milliseconds(20)));
  EXPECT_EQ((*r)->counters().read_faults, 1u);
}

}  // namespace
}  // namespace dvmm::dsm
