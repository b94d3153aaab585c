// The record of `dvmm-bench soak --kill-restart` that outlives the process
// it describes: each incarnation of the restarting endpoint appends every
// delivery of the survivor's messages to it, and counts what it sent and saw
// acknowledged. It is one shared anonymous mapping, made before the first
// fork: a store into it is in the page itself, so a SIGKILL loses nothing
// already recorded (as an O_APPEND write(2) would, without a system call per
// delivery and without a file to remove afterwards).
//
// One writer at a time (the current incarnation; the previous one has been
// killed and reaped before the next starts), one reader (the survivor).
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "host/common/result.hpp"

namespace dvmm::bench {

class RestartLog {
 public:
  // Room for `capacity` deliveries by `incarnations` incarnations. Errors:
  // mmap.
  static Result<RestartLog> create(uint64_t capacity, uint32_t incarnations);
  RestartLog() = default;
  RestartLog(RestartLog&& other) noexcept;
  RestartLog& operator=(RestartLog&& other) noexcept;
  ~RestartLog();

  // Writer. record() is called from the deliver callback before it returns,
  // so every delivery the link acknowledges is recorded; false when the log
  // is full (the run then fails). The counters are per incarnation:
  // note_sending() before each send() (a SIGKILL in between counts a
  // message as sent that never was: it only shows as died with its
  // sender), note_acknowledged() after polls (so it may lag, never lead).
  bool record(uint32_t incarnation, uint64_t id);
  void note_sending(uint32_t incarnation);
  void note_acknowledged(uint32_t incarnation, uint64_t acknowledged);
  void note_stale(uint32_t incarnation, uint64_t stale);

  // Reader.
  uint64_t size() const;  // deliveries recorded
  uint32_t incarnation_at(uint64_t i) const;
  uint64_t id_at(uint64_t i) const;
  uint64_t sent(uint32_t incarnation) const;
  uint64_t acknowledged(uint32_t incarnation) const;
  uint64_t stale(uint32_t incarnation) const;
  bool overflowed() const;
  uint32_t incarnations() const;

 private:
  struct Header;
  struct Counters;
  Header* header() const;
  Counters* counters(uint32_t incarnation) const;
  uint64_t* entries() const;

  void* base_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace dvmm::bench
