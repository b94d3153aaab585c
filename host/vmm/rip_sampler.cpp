#include "host/vmm/rip_sampler.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace dvmm {

namespace {

constexpr long kIntervalNs = 4'000'000;

thread_local timer_t tls_timer{};
thread_local bool tls_timer_armed = false;

}  // namespace

RipSampler* RipSampler::from_environment() {
  static RipSampler* sampler = []() -> RipSampler* {
    const char* path = std::getenv("DVMM_RIP_SAMPLES");
    if (path == nullptr || *path == '\0') return nullptr;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      spdlog::warn("DVMM_RIP_SAMPLES: cannot open '{}': {}; not sampling", path, std::strerror(errno));
      return nullptr;
    }
    return new RipSampler(fd);  // lives as long as the process
  }();
  return sampler;
}

void RipSampler::start_for_this_thread(int signal) {
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = signal;
  sev._sigev_un._tid = gettid();
  if (timer_create(CLOCK_MONOTONIC, &sev, &tls_timer) != 0) {
    spdlog::warn("DVMM_RIP_SAMPLES: timer_create failed: {}; this vCPU is not sampled",
                 std::strerror(errno));
    return;
  }
  itimerspec its{};
  its.it_interval.tv_nsec = kIntervalNs;
  its.it_value.tv_nsec = kIntervalNs;
  timer_settime(tls_timer, 0, &its, nullptr);
  tls_timer_armed = true;
}

void RipSampler::stop_for_this_thread() {
  if (!tls_timer_armed) return;
  timer_delete(tls_timer);
  tls_timer_armed = false;
}

void RipSampler::record(int vcpu, uint64_t rip) {
  char line[40];
  auto end = fmt::format_to_n(line, sizeof(line), "{} {:x}\n", vcpu, rip);
  [[maybe_unused]] ssize_t n = write(fd_, line, end.size);
}

}  // namespace dvmm
