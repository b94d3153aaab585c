#include "tools/dvmm-bench/restart_log.hpp"

#include <fmt/format.h>
#include <sys/mman.h>

#include <utility>

namespace dvmm::bench {
namespace {

// An entry is the incarnation in the top 24 bits and the message id below.
constexpr unsigned kIdBits = 40;
constexpr uint64_t kIdMask = (uint64_t{1} << kIdBits) - 1;

}  // namespace

// Lock-free atomics work across processes in a shared mapping.
static_assert(std::atomic<uint64_t>::is_always_lock_free);

struct RestartLog::Header {
  std::atomic<uint64_t> size;
  std::atomic<uint32_t> overflowed;
  uint32_t incarnations;
  uint64_t capacity;
};

struct RestartLog::Counters {
  std::atomic<uint64_t> sent;
  std::atomic<uint64_t> acknowledged;
  std::atomic<uint64_t> stale;
};

Result<RestartLog> RestartLog::create(uint64_t capacity, uint32_t incarnations) {
  if (incarnations >= (1u << (64 - kIdBits))) {
    return Error::format("restart log: {} incarnations are too many", incarnations);
  }
  RestartLog log;
  log.bytes_ = sizeof(Header) + incarnations * sizeof(Counters) + capacity * sizeof(uint64_t);
  void* p = mmap(nullptr, log.bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return Error::from_errno(fmt::format("mmap of the {}-byte restart log", log.bytes_));
  }
  log.base_ = p;
  // The mapping is zero-filled: every atomic starts at 0.
  log.header()->incarnations = incarnations;
  log.header()->capacity = capacity;
  return log;
}

RestartLog::RestartLog(RestartLog&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

RestartLog& RestartLog::operator=(RestartLog&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) munmap(base_, bytes_);
    base_ = std::exchange(other.base_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

RestartLog::~RestartLog() {
  if (base_ != nullptr) munmap(base_, bytes_);
}

RestartLog::Header* RestartLog::header() const {
  return static_cast<Header*>(base_);
}

RestartLog::Counters* RestartLog::counters(uint32_t incarnation) const {
  auto* first = reinterpret_cast<Counters*>(static_cast<char*>(base_) + sizeof(Header));
  return first + incarnation;
}

uint64_t* RestartLog::entries() const {
  return reinterpret_cast<uint64_t*>(static_cast<char*>(base_) + sizeof(Header) +
                                     header()->incarnations * sizeof(Counters));
}

bool RestartLog::record(uint32_t incarnation, uint64_t id) {
  Header& h = *header();
  const uint64_t n = h.size.load(std::memory_order_relaxed);
  if (n >= h.capacity || incarnation >= h.incarnations || id > kIdMask) {
    h.overflowed.store(1, std::memory_order_relaxed);
    return false;
  }
  entries()[n] = (uint64_t{incarnation} << kIdBits) | id;
  // The entry first, then the size that publishes it: killed in between,
  // the delivery is simply not recorded (and, its callback not having
  // returned, not acknowledged either).
  h.size.store(n + 1, std::memory_order_release);
  return true;
}

void RestartLog::note_sending(uint32_t incarnation) {
  if (incarnation < header()->incarnations) {
    counters(incarnation)->sent.fetch_add(1, std::memory_order_relaxed);
  }
}

void RestartLog::note_acknowledged(uint32_t incarnation, uint64_t acknowledged) {
  if (incarnation < header()->incarnations) {
    counters(incarnation)->acknowledged.store(acknowledged, std::memory_order_relaxed);
  }
}

void RestartLog::note_stale(uint32_t incarnation, uint64_t stale) {
  if (incarnation < header()->incarnations) {
    counters(incarnation)->stale.store(stale, std::memory_order_relaxed);
  }
}

uint64_t RestartLog::size() const {
  return header()->size.load(std::memory_order_acquire);
}

uint32_t RestartLog::incarnation_at(uint64_t i) const {
  return static_cast<uint32_t>(entries()[i] >> kIdBits);
}

uint64_t RestartLog::id_at(uint64_t i) const {
  return entries()[i] & kIdMask;
}

uint64_t RestartLog::sent(uint32_t incarnation) const {
  return counters(incarnation)->sent.load(std::memory_order_relaxed);
}

uint64_t RestartLog::acknowledged(uint32_t incarnation) const {
  return counters(incarnation)->acknowledged.load(std::memory_order_relaxed);
}

uint64_t RestartLog::stale(uint32_t incarnation) const {
  return counters(incarnation)->stale.load(std::memory_order_relaxed);
}

bool RestartLog::overflowed() const {
  return header()->overflowed.load(std::memory_order_relaxed) != 0;
}

uint32_t RestartLog::incarnations() const {
  return header()->incarnations;
}

}  // namespace dvmm::bench
