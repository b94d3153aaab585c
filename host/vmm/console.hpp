// The guest console on the host side: bytes from the UART, written to a file
// descriptor (stdout) a line at a time, so that lines from the guest arrive
// whole even when the host logs in between.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace dvmm {

class ConsoleOutput {
 public:
  explicit ConsoleOutput(int fd) : fd_(fd) {}
  ~ConsoleOutput() { flush(); }
  void put(uint8_t byte);
  void flush();

 private:
  void flush_locked();
  std::mutex mu_;
  int fd_;
  std::string line_;
};

}  // namespace dvmm
