#include "tools/dvmm-bench/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tools/dvmm-bench/bench_clock.hpp"

namespace dvmm::bench {
namespace {

constexpr uint64_t kCheckEvery = 4096;
constexpr uint64_t kRedrawNs = 200'000'000;
constexpr int kBarWidth = 30;

}  // namespace

bool stderr_is_tty() {
  const char* term = std::getenv("TERM");
  return isatty(STDERR_FILENO) == 1 && (term == nullptr || std::strcmp(term, "dumb") != 0);
}

Progress::Progress(bool enabled, uint64_t total)
    : enabled_(enabled), total_(std::max<uint64_t>(total, 1)),
      next_check_(enabled ? kCheckEvery : UINT64_MAX) {}

Progress::~Progress() { finish(); }

void Progress::set_label(std::string label) {
  label_ = std::move(label);
  if (enabled_) draw();
}

void Progress::check() {
  next_check_ = done_ + kCheckEvery;
  const uint64_t now = now_ns();
  if (now - last_draw_ns_ < kRedrawNs) return;
  last_draw_ns_ = now;
  draw();
}

void Progress::draw() {
  const double frac = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
  const int filled = static_cast<int>(frac * kBarWidth);
  char bar[kBarWidth + 1];
  for (int i = 0; i < kBarWidth; ++i) bar[i] = i < filled ? '#' : '.';
  bar[kBarWidth] = '\0';
  // \r and clear-to-end-of-line: the bar rewrites itself in place.
  std::fprintf(stderr, "\r[%s] %3d%%  %s\x1b[K", bar, static_cast<int>(frac * 100), label_.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\x1b[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace dvmm::bench
