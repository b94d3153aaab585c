// Template bodies of forked_child.hpp's control-channel helpers.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <type_traits>

namespace dvmm::bench {

template <typename T>
Status send_control(int fd, const T& msg) {
  static_assert(std::is_trivially_copyable_v<T>);
  const ssize_t n = send(fd, &msg, sizeof msg, MSG_NOSIGNAL);
  if (n < 0) return Error::from_errno("control channel: send");
  if (static_cast<size_t>(n) != sizeof msg) return Error::format("control channel: short send");
  return {};
}

template <typename T>
Result<T> recv_control(int fd, int timeout_ms) {
  static_assert(std::is_trivially_copyable_v<T>);
  pollfd p{fd, POLLIN, 0};
  int r;
  do {
    r = poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Error::from_errno("control channel: poll");
  if (r == 0) return Error::format("control channel: no answer within {} ms", timeout_ms);
  T msg{};
  const ssize_t n = recv(fd, &msg, sizeof msg, 0);
  if (n < 0) return Error::from_errno("control channel: recv");
  if (n == 0) return Error::format("control channel: the other process has gone");
  if (static_cast<size_t>(n) != sizeof msg) {
    return Error::format("control channel: message of {} bytes, expected {}", n, sizeof msg);
  }
  return msg;
}

}  // namespace dvmm::bench
