#include "host/vmm/console.hpp"

#include <unistd.h>

#include <cerrno>

namespace dvmm {

namespace {
constexpr size_t kMaxBuffered = 512;
}

void ConsoleOutput::put(uint8_t byte) {
  std::lock_guard lock(mu_);
  line_.push_back(static_cast<char>(byte));
  if (byte == '\n' || line_.size() >= kMaxBuffered) flush_locked();
}

void ConsoleOutput::flush() {
  std::lock_guard lock(mu_);
  flush_locked();
}

void ConsoleOutput::flush_locked() {
  size_t done = 0;
  while (done < line_.size()) {
    ssize_t n = write(fd_, line_.data() + done, line_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;  // vCPU kicks interrupt system calls
      break;                         // console gone: drop, the guest must not stall
    }
    done += static_cast<size_t>(n);
  }
  line_.clear();
}

}  // namespace dvmm
