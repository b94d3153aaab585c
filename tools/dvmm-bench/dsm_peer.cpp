#include "tools/dvmm-bench/dsm_peer.hpp"

#include <sched.h>

#include <cstdio>
#include <string>

#include "tools/dvmm-bench/bench_clock.hpp"
#include "tools/dvmm-bench/cpu_plan.hpp"
#include "tools/dvmm-bench/dsm_access.hpp"
#include "tools/dvmm-bench/forked_child.hpp"

namespace dvmm::bench {
namespace {

DsmReport report(DsmReport::Kind kind, DsmNode& node, const std::string& error) {
  DsmReport r;
  r.kind = kind;
  r.counters = node.counters();
  std::snprintf(r.error, sizeof r.error, "%s", error.c_str());
  return r;
}

// Each write may fault and wait for the page: set-up, not measured.
std::string take(DsmNode& node, const DsmCommand& c) {
  for (uint64_t p = c.first_page; p < c.first_page + c.page_count; ++p) {
    store_word(node.page(p), take_value(c.tag, p));
    if (std::string f = node.failure(); !f.empty()) return f;
  }
  return {};
}

std::string bounce(DsmNode& node, const DsmCommand& c) {
  uint8_t* word = node.page(c.bounce_page);
  for (uint64_t k = 0; k < c.turns; ++k) {
    const uint64_t theirs = c.start + 2 * k + 1;
    if (!wait_and_swap(word, theirs, theirs + 1, c.deadline_ns)) {
      return "page ping-pong: the parent's write did not come before the deadline";
    }
    if (std::string f = node.failure(); !f.empty()) return f;
  }
  return {};
}

}  // namespace

int dsm_peer_main(int control_fd, dataplane::Transport& transport, const DsmNodeConfig& config,
                  int cpu) {
  if (cpu >= 0 && !pin_to_cpu(cpu).ok()) return 3;
  Result<std::unique_ptr<DsmNode>> made = DsmNode::create(transport, config);
  if (!made.ok()) {
    DsmReport r;
    std::snprintf(r.error, sizeof r.error, "%s", made.error().message.c_str());
    (void)send_control(control_fd, r);
    return 1;
  }
  DsmNode& node = **made;
  if (!send_control(control_fd, report(DsmReport::kReady, node, "")).ok()) return 0;
  for (;;) {
    Result<DsmCommand> cmd = recv_control<DsmCommand>(control_fd, -1);
    if (!cmd.ok()) return 0;  // EOF: the parent is done
    std::string error;
    switch (cmd->kind) {
      case DsmCommand::kTake:
        error = take(node, *cmd);
        break;
      case DsmCommand::kBounce:
        error = bounce(node, *cmd);
        break;
      default:
        error = "unknown command";
    }
    const DsmReport r = report(error.empty() ? DsmReport::kDone : DsmReport::kFailed, node, error);
    if (!send_control(control_fd, r).ok()) return 0;
  }
}

}  // namespace dvmm::bench
