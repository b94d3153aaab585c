// What `dvmm-bench soak --kill-restart` counts, defined once. The survivor
// S sends ids 0..N-1 to the restarting endpoint R; each incarnation of R
// (numbered 0, 1, ... as they are started) records every delivery in the
// RestartLog and answers it with a message of its own, numbered 0, 1, ...
// within that incarnation. The link's promise (reliable_link.hpp, "Peer
// restarts") turns into these checks:
//
// S -> R, from the log, once S's link has everything acknowledged:
//   lost        an id no incarnation delivered;
//   doubled     an id delivered twice by one incarnation, or one never sent,
//               or more redeliveries by one incarnation than the window
//               (only the unacknowledged, at most a window, are resent);
//   misordered  a delivery that is not the incarnation's previous one + 1,
//               or an incarnation's first one past everything delivered
//               before it (a gap);
//   redelivered an id an earlier incarnation had delivered but not yet
//               acknowledged when it was killed: delivered again, first
//               thing, by the next (at-least-once across a crash: not an
//               error, reported).
// R -> S, as S delivers, per incarnation of R:
//   doubled     a number delivered twice, or one the incarnation never sent;
//   misordered  not the next number of that incarnation, or an incarnation
//               older than one already delivered from;
//   lost        R's link counted more messages acknowledged than S
//               delivered from that incarnation;
//   died        sent but never delivered: what R had not got acknowledged
//               when it was killed (that is what a crash takes; reported).
#pragma once

#include <cstdint>
#include <vector>

#include "tools/dvmm-bench/restart_log.hpp"

namespace dvmm::bench {

struct ToRestartingAudit {
  uint64_t delivered = 0;  // log entries, redeliveries included
  uint64_t lost = 0, doubled = 0, misordered = 0, redelivered = 0;
};

// `sent` ids (0..sent-1) went out; `window` is the link's.
ToRestartingAudit audit_to_restarting(const RestartLog& log, uint64_t sent, uint32_t window);

// One past the highest id any incarnation delivered so far (the survivor's
// pacing and its kill schedule), read incrementally.
class DeliveryProgress {
 public:
  uint64_t update(const RestartLog& log);

 private:
  uint64_t read_ = 0;
  uint64_t high_ = 0;
};

class FromRestartingTally {
 public:
  // S delivered message `number` of incarnation `incarnation`.
  void on(const RestartLog& log, uint32_t incarnation, uint64_t number);

  struct Counts {
    uint64_t sent = 0, delivered = 0, lost = 0, doubled = 0, misordered = 0, died = 0;
  };
  // After the last incarnation was killed: `incarnations` were started.
  Counts finish(const RestartLog& log, uint32_t incarnations) const;

 private:
  std::vector<uint64_t> next_;   // per incarnation: the number due next
  std::vector<uint64_t> count_;  // per incarnation: delivered, doubles left out
  uint32_t newest_ = 0;
  uint64_t delivered_ = 0, doubled_ = 0, misordered_ = 0;
};

}  // namespace dvmm::bench
