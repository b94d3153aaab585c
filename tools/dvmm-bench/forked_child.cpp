#include "tools/dvmm-bench/forked_child.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <utility>

#include "tools/dvmm-bench/bench_clock.hpp"

namespace dvmm::bench {

Result<ForkedChild> ForkedChild::start(const std::function<int(int control_fd)>& body) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return Error::from_errno("socketpair");
  }
  const pid_t parent = getpid();
  // Buffered output would otherwise be written twice (once by each).
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(sv[0]);
    close(sv[1]);
    return Error::from_errno("fork", err);
  }
  if (pid == 0) {
    close(sv[0]);
    // Dies with the parent; the getppid() check closes the race where the
    // parent died before prctl() took effect.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
    _exit(body(sv[1]));
  }
  close(sv[1]);
  ForkedChild c;
  c.pid_ = pid;
  c.fd_ = sv[0];
  return c;
}

ForkedChild::ForkedChild(ForkedChild&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), fd_(std::exchange(other.fd_, -1)) {}

ForkedChild& ForkedChild::operator=(ForkedChild&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = std::exchange(other.pid_, -1);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

ForkedChild::~ForkedChild() { kill_and_reap(); }

void ForkedChild::kill_and_reap() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

void ForkedChild::kill() {
  if (pid_ > 0) ::kill(pid_, SIGKILL);
  kill_and_reap();
}

int ForkedChild::finish(int timeout_ms) {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  if (pid_ <= 0) return -1;
  const uint64_t until = now_ns() + static_cast<uint64_t>(timeout_ms) * 1'000'000;
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (r < 0 && errno != EINTR) {
      pid_ = -1;
      return -1;
    }
    if (now_ns() >= until) {
      ::kill(pid_, SIGKILL);
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    usleep(1000);
  }
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void ForkedChild::drop_inherited_copy() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  pid_ = -1;
}

bool control_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

}  // namespace dvmm::bench
