// A progress bar on stderr for long runs, drawn only when stderr is a
// terminal (never in logs, pipes or tests). tick() is called once per
// round trip, so its common path is one compare; the clock is read every
// 4096 ticks and the bar is redrawn at most every 200 ms. Callers tick
// between two round trips, outside the timed region, so a redraw never
// lands inside a sample.
#pragma once

#include <cstdint>
#include <string>

namespace dvmm::bench {

class Progress {
 public:
  // total: round trips of the whole run (all phases).
  Progress(bool enabled, uint64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // What is being measured now, shown next to the bar.
  void set_label(std::string label);
  void tick() {
    if (++done_ >= next_check_) check();
  }
  // Clears the bar so the next output starts on a clean line.
  void finish();

 private:
  void check();
  void draw();

  bool enabled_;
  uint64_t total_;
  uint64_t done_ = 0;
  uint64_t next_check_;
  uint64_t last_draw_ns_ = 0;
  std::string label_;
  bool drawn_ = false;
};

// True when stderr is a terminal (and TERM is not "dumb").
bool stderr_is_tty();

}  // namespace dvmm::bench
