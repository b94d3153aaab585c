#include "dataplane/authenticated_transport.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dvmm::dataplane {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<ClusterKey> ClusterKey::load(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::format("cluster key '{}': {}", path, std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    return Error::format("cluster key '{}': {}", path, std::strerror(err));
  }
  std::string text(200, '\0');
  const ssize_t n = read(fd, text.data(), text.size());
  close(fd);
  if ((st.st_mode & 077) != 0) {
    return Error::format("cluster key '{}' can be accessed by others (mode {:o}): chmod 600 it",
                         path, st.st_mode & 0777);
  }
  if (st.st_uid != geteuid() && st.st_uid != 0) {
    return Error::format("cluster key '{}' belongs to uid {}, not to this user ({}) or root",
                         path, st.st_uid, geteuid());
  }
  if (n < 0) return Error::format("cluster key '{}': {}", path, std::strerror(errno));
  text.resize(static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  ClusterKey key;
  bool ok = text.size() == 2 * kSize;
  for (size_t i = 0; ok && i < kSize; ++i) {
    const int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    ok = hi >= 0 && lo >= 0;
    if (ok) key.bytes_[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  if (!ok) {
    return Error::format("cluster key '{}' is not 64 hex digits (make one with: head -c 32 "
                         "/dev/urandom | xxd -p -c 64 > KEY && chmod 600 KEY)",
                         path);
  }
  return key;
}

ClusterKey ClusterKey::from_bytes(const std::array<uint8_t, kSize>& bytes) {
  ClusterKey k;
  k.bytes_ = bytes;
  return k;
}

AuthenticatedTransport::AuthenticatedTransport(Transport& inner, const ClusterKey& key)
    : inner_(inner), key_(key) {}

Result<std::unique_ptr<AuthenticatedTransport>> AuthenticatedTransport::create(
    Transport& inner, const ClusterKey& key) {
  if (sodium_init() < 0) return Error::format("libsodium could not be initialised");
  if (inner.max_frame_size() <= kTagSize + 64) {
    return Error::format("the {} transport's frames ({} bytes) are too small for an "
                         "authentication tag",
                         inner.name(), inner.max_frame_size());
  }
  return std::unique_ptr<AuthenticatedTransport>(new AuthenticatedTransport(inner, key));
}

void AuthenticatedTransport::tag(const uint8_t* data, size_t len, uint8_t* out) const {
  crypto_generichash(out, kTagSize, data, len, key_.bytes().data(), ClusterKey::kSize);
}

size_t AuthenticatedTransport::tx_burst(std::span<const TxFrame> frames) {
  if (scratch_.size() < frames.size()) scratch_.resize(frames.size());
  tagged_.clear();
  for (size_t i = 0; i < frames.size(); ++i) {
    const TxFrame& f = frames[i];
    std::vector<uint8_t>& buf = scratch_[i];
    // Oversize frames pass untagged: the inner transport drops and counts them.
    if (f.bytes.size() > max_frame_size()) {
      tagged_.push_back(f);
      continue;
    }
    buf.resize(f.bytes.size() + kTagSize);
    std::memcpy(buf.data(), f.bytes.data(), f.bytes.size());
    tag(f.bytes.data(), f.bytes.size(), buf.data() + f.bytes.size());
    tagged_.push_back(TxFrame{f.dst, buf});
  }
  // Every backend copies (or sends) a frame within tx_burst, so the
  // scratch buffers may be reused by the next call.
  return inner_.tx_burst(tagged_);
}

size_t AuthenticatedTransport::rx_burst(std::span<RxFrame> out) {
  const size_t n = inner_.rx_burst(out);
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    RxFrame& f = out[i];
    uint8_t expected[kTagSize];
    const bool ok = f.len > kTagSize &&
                    (tag(f.data, f.len - kTagSize, expected),
                     sodium_memcmp(expected, f.data + f.len - kTagSize, kTagSize) == 0);
    if (!ok) {
      auth_failures_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    f.len = static_cast<uint16_t>(f.len - kTagSize);
    if (kept != i) {
      out[kept].src = f.src;
      out[kept].len = f.len;
      std::memcpy(out[kept].data, f.data, f.len);
    }
    ++kept;
  }
  return kept;
}

Transport::Counters AuthenticatedTransport::counters() const {
  Counters c = inner_.counters();
  c.rx_dropped += auth_failures();
  return c;
}

}  // namespace dvmm::dataplane
