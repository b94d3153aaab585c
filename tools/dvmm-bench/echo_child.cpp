#include "tools/dvmm-bench/echo_child.hpp"

#include <cstdio>
#include <cstring>

#include "tools/dvmm-bench/cpu_plan.hpp"
#include "tools/dvmm-bench/forked_child.hpp"

namespace dvmm::bench {

EchoCommand to_command(const PhaseSpec& spec) {
  EchoCommand c;
  c.layer = static_cast<uint8_t>(spec.layer);
  c.yield_when_idle = spec.yield_when_idle ? 1 : 0;
  c.size = spec.size;
  c.tag = spec.tag;
  c.warmup = spec.warmup;
  c.count = spec.count;
  c.deadline_ns = spec.deadline_ns;
  return c;
}

PhaseSpec to_spec(const EchoCommand& c) {
  PhaseSpec s;
  s.layer = c.layer <= static_cast<uint8_t>(Layer::kAuthenticated) ? static_cast<Layer>(c.layer)
                                                                  : Layer::kRaw;
  s.yield_when_idle = c.yield_when_idle != 0;
  s.size = c.size;
  s.tag = c.tag;
  s.warmup = c.warmup;
  s.count = c.count;
  s.deadline_ns = c.deadline_ns;
  return s;
}

int echo_child_main(int control_fd, dataplane::Transport& echo, int cpu) {
  if (cpu >= 0 && !pin_to_cpu(cpu).ok()) return 3;
  for (;;) {
    Result<EchoCommand> cmd = recv_control<EchoCommand>(control_fd, -1);
    if (!cmd.ok()) return 0;  // EOF: the parent is done
    EchoReport ready;
    ready.kind = EchoReport::kReady;
    if (!send_control(control_fd, ready).ok()) return 0;

    Result<EchoResult> r = run_echo(echo, to_spec(*cmd));
    EchoReport rep;
    if (r.ok()) {
      rep.kind = EchoReport::kDone;
      rep.echoed = r->echoed;
      rep.retransmitted = r->retransmitted;
    } else {
      rep.kind = EchoReport::kFailed;
      std::snprintf(rep.error, sizeof rep.error, "%s", r.error().message.c_str());
    }
    if (!send_control(control_fd, rep).ok()) return 0;
  }
}

}  // namespace dvmm::bench
