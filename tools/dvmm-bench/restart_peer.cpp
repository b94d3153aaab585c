#include "tools/dvmm-bench/restart_peer.hpp"

#include <poll.h>

#include <algorithm>
#include <cstring>

#include "dataplane/reliable_link.hpp"
#include "dataplane/udp_transport.hpp"
#include "tools/dvmm-bench/forked_child.hpp"

namespace dvmm::bench {
namespace {

using dataplane::Message;

void report(int fd, uint16_t port, const std::string& why) {
  RestartPeerReport r;
  r.port = port;
  r.failed = why.empty() ? 0 : 1;
  std::strncpy(r.why, why.c_str(), sizeof r.why - 1);
  (void)send_control(fd, r);  // the survivor may have gone: nothing to do then
}

}  // namespace

bool wait_for_work(dataplane::Transport& t, const dataplane::MessageLink& link, const Clock& clock,
                   int extra_fd, uint64_t max_ns) {
  if (!t.prepare_to_sleep()) return false;
  const uint64_t now = clock.now_ns();
  uint64_t until = now + max_ns;
  if (std::optional<uint64_t> timer = link.next_timer_ns()) until = std::min(until, *timer);
  pollfd fds[2] = {{t.rx_wait_fd(), POLLIN, 0}, {extra_fd, POLLIN, 0}};
  const uint64_t wait = until > now ? until - now : 0;
  const timespec timeout{static_cast<time_t>(wait / 1'000'000'000),
                         static_cast<long>(wait % 1'000'000'000)};
  const int n = ppoll(fds, extra_fd >= 0 ? 2 : 1, &timeout, nullptr);
  t.after_wakeup();
  return n > 0 && extra_fd >= 0 && fds[1].revents != 0;
}

int run_restart_peer(const RestartPeerSpec& spec, int control_fd) {
  RestartLog& log = *spec.log;
  const uint32_t inc = spec.incarnation;
  dataplane::UdpTransportConfig uc;
  uc.local = kRestartingNode;
  uc.nodes = {{kSurvivorNode, spec.survivor_host, spec.survivor_port},
              {kRestartingNode, spec.host, spec.port}};
  auto udp = dataplane::make_udp_transport(uc);
  if (!udp.ok()) {
    report(control_fd, 0, "udp transport: " + udp.error().message);
    return 1;
  }
  const uint16_t port = static_cast<dataplane::UdpTransport&>(**udp).local_port();
  dataplane::ImpairedTransport wire(**udp, spec.impairments);
  MonotonicClock clock;
  dataplane::ReliableLink link(
      wire, clock,
      {.cluster_id = kRestartSoakCluster, .local = kRestartingNode, .peers = {kSurvivorNode}});

  uint64_t number = 0;  // this incarnation's own messages
  std::string failure;
  const std::function<void(const Message&)> deliver = [&](const Message& m) {
    const auto* hb = std::get_if<dataplane::HeartbeatPayload>(&m.payload);
    if (hb == nullptr || !failure.empty()) return;
    if (!log.record(inc, hb->sent_ns)) {
      failure = "the restart log is full";
      return;
    }
    Message reply;
    reply.header.dst_node = kSurvivorNode;
    reply.payload =
        dataplane::ClockPayload{.probe_id = number++, .t_sender = inc, .t_receiver = hb->sent_ns};
    log.note_sending(inc);
    if (Status s = link.send(std::move(reply)); !s.ok()) failure = "send: " + s.error().message;
  };
  report(control_fd, port, "");

  for (;;) {
    const size_t work = link.poll(deliver);
    if (!failure.empty()) {
      report(control_fd, port, failure);
      return 1;
    }
    if (work > 0) {
      const dataplane::LinkCounters k = link.counters();
      log.note_acknowledged(inc, k.acknowledged);
      log.note_stale(inc, k.stale_incarnation);
      continue;
    }
    // Idle. The survivor closing the channel (or writing to it) means stop.
    if (wait_for_work(wire, link, clock, control_fd, 10'000'000)) return 0;
  }
}

}  // namespace dvmm::bench
