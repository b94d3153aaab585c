// A child process made with fork() that cannot outlive the benchmark: the
// destructor kills (SIGKILL) and reaps it on every path out of the parent
// (errors, exceptions, early returns), PR_SET_PDEATHSIG kills it if the
// parent dies without running destructors (SIGKILL, crash), and a
// SOCK_SEQPACKET socketpair is its control channel: message boundaries
// kept, and EOF when the parent goes away.
#pragma once

#include <sys/types.h>

#include <functional>

#include "host/common/result.hpp"

namespace dvmm::bench {

class ForkedChild {
 public:
  // Forks; the child runs body(control_fd) and _exit()s with its return
  // value (no destructors or atexit handlers of the parent's objects run
  // in the child). The parent must have no other threads (fork copies only
  // the calling one).
  static Result<ForkedChild> start(const std::function<int(int control_fd)>& body);

  ForkedChild() = default;
  ForkedChild(ForkedChild&& other) noexcept;
  ForkedChild& operator=(ForkedChild&& other) noexcept;
  ~ForkedChild();

  pid_t pid() const { return pid_; }
  int control_fd() const { return fd_; }

  // Closes the control channel (the child sees EOF and exits) and waits up
  // to timeout_ms for it, killing it after that. Returns its exit status
  // (128 + signal when killed).
  int finish(int timeout_ms);

  // SIGKILLs the child now (before closing the control channel, so it
  // gets no chance to notice and tidy up: a crash) and reaps it.
  void kill();

  // For a process forked after this child was started: closes the
  // inherited copy of the control channel (or this child would never see
  // EOF) without touching the child itself.
  void drop_inherited_copy();

 private:
  void kill_and_reap();

  pid_t pid_ = -1;
  int fd_ = -1;
};

// Fixed-size control messages over the channel (whole struct per datagram).
template <typename T>
Status send_control(int fd, const T& msg);
// Waits up to timeout_ms (-1: forever) for one message. Error on EOF, on a
// message of another size and on timeout.
template <typename T>
Result<T> recv_control(int fd, int timeout_ms);
// True when a message is waiting (does not consume it).
bool control_readable(int fd);

}  // namespace dvmm::bench

#include "tools/dvmm-bench/forked_child_inl.hpp"
