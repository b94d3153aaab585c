// The DSM peer: node 1 of `dvmm-bench dsm`, in a forked child. It builds
// its DsmNode over the node-1 end of a transport and then, on the parent's
// command, plays the other node of a measurement: it takes pages (writes
// them, so that node 1 holds them exclusively and the parent's next access
// must fetch them), or it is the second writer of a page ping-pong. The
// faults it takes are set-up, not measured; all timing is the parent's.
//
// Control messages over the ForkedChild channel, fixed-size structs.
#pragma once

#include <cstdint>

#include "dataplane/transport.hpp"
#include "tools/dvmm-bench/dsm_node.hpp"

namespace dvmm::bench {

// Parent -> peer.
struct DsmCommand {
  enum Kind : uint32_t { kTake = 1, kBounce = 2 };
  uint32_t kind = kTake;
  // kTake: write take_value(tag, page) into the first word of every page
  // of [first_page, first_page + page_count).
  uint64_t first_page = 0;
  uint64_t page_count = 0;
  uint64_t tag = 0;
  // kBounce: `turns` times, wait until the first word of bounce_page holds
  // start + 2k + 1 (the parent's k-th write) and make it start + 2k + 2.
  uint64_t bounce_page = 0;
  uint64_t start = 0;
  uint64_t turns = 0;
  uint64_t deadline_ns = 0;  // now_ns() time after which the peer gives up spinning
};

// Peer -> parent: ready (after its node is up), then one report a command.
struct DsmReport {
  enum Kind : uint32_t { kReady = 1, kDone = 2, kFailed = 3 };
  uint32_t kind = kFailed;
  DsmNodeCounters counters;  // the peer's, as of the report
  char error[240] = {};
};

// What a take writes: never 0 (so the page travels as data, not as the
// zero flag), and different per take and page, so the parent can tell a
// stale copy from the current one.
constexpr uint64_t take_value(uint64_t tag, uint64_t page) { return (tag << 32) | (page + 1); }

// The child's main: pins itself to `cpu` (if >= 0), builds its node, then
// serves commands until EOF on the channel. Returns the exit status.
int dsm_peer_main(int control_fd, dataplane::Transport& transport, const DsmNodeConfig& config,
                  int cpu);

}  // namespace dvmm::bench
