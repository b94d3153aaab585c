// The DSM coherence protocol engine: a pure state machine that keeps guest
// pages coherent across the nodes of a cluster. It knows nothing of
// userfaultfd or KVM: a PageStore changes the local memory, a send callback
// carries messages, and the caller reports faults (request) and messages
// (on_message).
//
// Protocol: single writer / multiple readers, invalidation-based, 4 KiB
// pages, a home directory per page at node home(page) = page % node_count.
// Sequential consistency: a read fault gets a shared (read-only) copy; a
// write fault gets the only copy, after every other one was invalidated.
// Initially `initial_owner` holds every page exclusively.
//
//   requester R           home H                 holders
//   REQUEST(page, access) ----->
//                          busy? queue it (FIFO) : decide from the directory
//                          FORWARD ------------> downgrade / invalidate,
//                                                 maybe send the page
//   <------------------------------------------- DATA (chunked, or zero flag)
//   <------------------------------------------- ACK (each invalidated sharer
//                                                 that sends no data)
//   <----- DATA(none) when R's copy is current (upgrade, stale request)
//   all data and DATA.acks acks in: install, then
//   DONE ------------------>  next queued request for the page
//
// The page comes from the exclusive owner or, when shared, from the home if
// it has a copy, else the last writer, else any sharer; that holder
// write-protects before copying, and its DATA stands for its ack. A page of
// zeros travels as a flag.
//
// The home updates its directory when it dispatches a request and serves
// the next one only after DONE, so whenever it dispatches, the directory
// says exactly who holds the page (and how). Messages between two nodes
// must arrive exactly once and in order (the ReliableLink does that);
// messages to this node itself are handled internally.
//
// Progress: with min_hold_ns > 0, a node that has just received a page
// keeps it that long before honouring a forward that takes it away, so the
// access that faulted can run (without it, two writers of one page could
// pass it back and forth with neither writing). The dataplane poller calls
// run_timers() by next_timer_ns().
//
// Threading: one internal mutex. PageStore calls are made with it held;
// send() is called without it (messages wait in an outbox that one thread
// at a time drains in order), so send() may deliver synchronously into any
// engine, this one included. request() and wait_for() may be called from any
// thread; wait_for() blocks and must not run on the thread that delivers
// messages.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "dataplane/message.hpp"
#include "host/common/clock.hpp"
#include "host/common/result.hpp"
#include "host/dsm/page_store.hpp"

namespace dvmm::dsm {

using dataplane::NodeId;

class DsmProtocol {
 public:
  // Sharers are a 64-bit mask in the directory.
  static constexpr uint16_t kMaxNodes = 64;

  // Carries a payload to node dst (never this node). It cannot fail: the
  // protocol needs every message delivered once and in order per pair of
  // nodes (a ReliableLink; a send error there is a bug to log, not retry).
  using SendFn = std::function<void(NodeId dst, dataplane::Payload payload)>;

  struct Config {
    NodeId local = 0;
    uint16_t node_count = 1;
    uint64_t page_count = 0;
    NodeId initial_owner = 0;
    // Largest payload (message minus header) the transport carries; a page
    // that doesn't fit one DSM data message travels in chunks. For a
    // ReliableLink over a transport: max_frame_size() -
    // dataplane::kHeaderSize - dataplane::kIncarnationSize (its trailer).
    size_t max_payload_bytes = dataplane::kMaxMessageSize - dataplane::kHeaderSize;
    // How long a freshly installed page is kept before a forward may take it
    // away (0: no hold).
    uint64_t min_hold_ns = 0;
  };

  struct Counters {
    // Requests sent, by kind: invalid -> read, invalid -> write, shared -> write.
    uint64_t read_faults = 0;
    uint64_t write_faults = 0;
    uint64_t upgrade_faults = 0;
    uint64_t local_grants = 0;        // request() the local state already satisfied
    uint64_t duplicate_requests = 0;  // request() while one was outstanding
    uint64_t pages_sent = 0;          // whole pages (zero ones included)
    uint64_t pages_received = 0;
    uint64_t zero_pages_sent = 0;     // travelled as a flag, without bytes
    uint64_t zero_pages_received = 0;
    uint64_t chunks_sent = 0;         // DSM data messages with bytes
    uint64_t chunks_received = 0;
    uint64_t bytes_sent = 0;          // page bytes
    uint64_t bytes_received = 0;
    uint64_t invalidations = 0;       // local copies dropped for another node
    uint64_t downgrades = 0;          // exclusive -> shared for another node's read
    uint64_t acks_sent = 0;
    uint64_t grants_without_data = 0; // requester's copy was current (upgrade or stale)
    uint64_t requests_queued = 0;     // at this home, behind a busy page
    uint64_t forwards_deferred = 0;   // held back by min_hold_ns
    uint64_t completed = 0;           // requests of this node installed
    uint64_t blocked_ns = 0;          // sum over them of request -> install
    uint64_t rejected = 0;            // messages that fit no state (bug or foreign node)
  };

  // Errors: node_count 0 or above kMaxNodes, local or initial_owner not a
  // node, no pages, max_payload_bytes too small for any page bytes.
  static Result<std::unique_ptr<DsmProtocol>> create(Config config, PageStore& store,
                                                     const Clock& clock, SendFn send);
  ~DsmProtocol();
  DsmProtocol(const DsmProtocol&) = delete;
  DsmProtocol& operator=(const DsmProtocol&) = delete;

  // A local access needs `page`. Returns true when the local copy already
  // allows it (nothing sent; an exclusive page was made present and writable
  // in the store, and the caller may wake the faulting thread); false when a
  // request is outstanding: the store's install() or make_writable() ends
  // it. Idempotent while a request for at least this access is outstanding;
  // a write while a read is outstanding is requested once the read is done.
  // Errors: the page is outside guest RAM.
  Result<bool> request(PageNumber page, Access access);

  // A message from node `src`; non-DSM payloads are ignored.
  void on_message(NodeId src, const dataplane::Message& msg);

  // Serves forwards whose hold time has passed; call at next_timer_ns().
  void run_timers();
  std::optional<uint64_t> next_timer_ns() const;

  // This node's access to page (kInvalid for a page outside guest RAM).
  PageState state(PageNumber page) const;

  // For host-side accesses (loaders, device DMA): requests the page and
  // blocks until this node has the access, or the timeout passes (false).
  // The page may be taken away again right after; an access then simply
  // faults. Never call it from the thread that delivers messages.
  bool wait_for(PageNumber page, Access access, std::chrono::milliseconds timeout);

  // home(page) = page % node_count.
  NodeId home(PageNumber page) const;

  // No request of this node outstanding, no page busy at this home, nothing
  // deferred or waiting to be sent (tests, shutdown).
  bool idle() const;

  Counters counters() const;
  // Why the most recent message was rejected (empty if none was).
  std::string last_rejection() const;

 private:
  struct Impl;
  explicit DsmProtocol(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dvmm::dsm
