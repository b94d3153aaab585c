#include "dataplane/impaired_transport.hpp"

#include <algorithm>
#include <cstring>

namespace dvmm::dataplane {

namespace {
constexpr size_t kStagingFrames = 32;
}

ImpairedTransport::ImpairedTransport(Transport& inner, const Impairments& impairments)
    : inner_(inner),
      impairments_(impairments),
      rng_(impairments.seed),
      staging_(std::make_unique<RxFrame[]>(kStagingFrames)) {}

ImpairedTransport::FramePtr ImpairedTransport::take_spare() {
  if (spare_.empty()) return std::make_unique<RxFrame>();
  FramePtr f = std::move(spare_.back());
  spare_.pop_back();
  return f;
}

ImpairedTransport::FramePtr ImpairedTransport::copy_of(const RxFrame& f) {
  FramePtr c = take_spare();
  c->src = f.src;
  c->len = f.len;
  std::memcpy(c->data, f.data, f.len);
  return c;
}

size_t ImpairedTransport::rx_burst(std::span<RxFrame> out) {
  const size_t n = inner_.rx_burst(std::span<RxFrame>(staging_.get(), kStagingFrames));
  stats_.received += n;
  for (size_t i = 0; i < n; ++i) {
    const RxFrame& f = staging_[i];
    if (chance(impairments_.drop)) {
      ++stats_.dropped;
      continue;
    }
    if (!held_ && chance(impairments_.reorder)) {
      ++stats_.reordered;
      held_ = copy_of(f);
      held_polls_ = 0;
      continue;
    }
    ready_.push_back(copy_of(f));
    if (chance(impairments_.duplicate)) {
      ++stats_.duplicated;
      ready_.push_back(copy_of(f));
    }
    if (held_) ready_.push_back(std::move(held_));  // this frame overtook it
  }
  if (held_ && n == 0 && ++held_polls_ > kMaxHoldPolls) ready_.push_back(std::move(held_));

  size_t given = 0;
  while (given < out.size() && !ready_.empty()) {
    FramePtr& f = ready_.front();
    out[given].src = f->src;
    out[given].len = f->len;
    std::memcpy(out[given].data, f->data, f->len);
    ++given;
    spare_.push_back(std::move(f));
    ready_.pop_front();
  }
  return given;
}

bool ImpairedTransport::prepare_to_sleep() {
  // Frames of ours still waiting: the caller must poll again, not sleep.
  if (!ready_.empty() || held_) return false;
  return inner_.prepare_to_sleep();
}

}  // namespace dvmm::dataplane
