// Peer authentication: a Transport decorator that appends a keyed BLAKE2b
// tag (libsodium's crypto_generichash, 16 bytes) to every frame it sends
// and drops every received frame whose tag does not verify. All nodes of a
// cluster share one 32-byte key (ClusterKey), so a node accepts frames only
// from holders of the key: a stranger on the network (or a node of another
// cluster) can neither inject messages that write guest memory or inject
// interrupts, nor alter frames in flight. The tag covers the whole frame,
// header included (cluster id, source, destination, sequence numbers), so a
// frame cannot be redirected either; replays within a run are duplicates
// the reliability layer discards by sequence number.
//
// It sits under the reliability layer like any backend and reduces the
// frame size by kTagSize (max_frame_size() accounts for it). Rejected
// frames are counted (auth_failures) and included in rx_dropped.
//
// Threading: as the wrapped Transport.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/transport.hpp"
#include "host/common/result.hpp"

namespace dvmm::dataplane {

class ClusterKey {
 public:
  static constexpr size_t kSize = 32;

  // Reads a key file: 64 hex digits (an optional newline after them), as
  // `head -c 32 /dev/urandom | xxd -p -c 64` writes. Refuses a file that
  // others than its owner can read or write (chmod 600 it), a malformed
  // one, and one not owned by this user or root.
  static Result<ClusterKey> load(const std::string& path);
  static ClusterKey from_bytes(const std::array<uint8_t, kSize>& bytes);

  const std::array<uint8_t, kSize>& bytes() const { return bytes_; }

 private:
  std::array<uint8_t, kSize> bytes_{};
};

class AuthenticatedTransport final : public Transport {
 public:
  static constexpr size_t kTagSize = 16;

  // `inner` must outlive this wrapper. Errors: libsodium cannot be
  // initialised; the inner transport's frames are too small for a tag.
  static Result<std::unique_ptr<AuthenticatedTransport>> create(Transport& inner,
                                                                const ClusterKey& key);

  const char* name() const override { return inner_.name(); }
  NodeId local_node() const override { return inner_.local_node(); }
  size_t max_frame_size() const override { return inner_.max_frame_size() - kTagSize; }
  size_t tx_burst(std::span<const TxFrame> frames) override;
  void tx_flush() override { inner_.tx_flush(); }
  size_t rx_burst(std::span<RxFrame> out) override;
  int rx_wait_fd() const override { return inner_.rx_wait_fd(); }
  bool prepare_to_sleep() override { return inner_.prepare_to_sleep(); }
  void after_wakeup() override { inner_.after_wakeup(); }
  Counters counters() const override;

  uint64_t auth_failures() const { return auth_failures_.load(std::memory_order_relaxed); }
  Transport& inner() { return inner_; }

 private:
  AuthenticatedTransport(Transport& inner, const ClusterKey& key);
  void tag(const uint8_t* data, size_t len, uint8_t* out) const;

  Transport& inner_;
  ClusterKey key_;
  std::vector<std::vector<uint8_t>> scratch_;  // tagged copies, one burst at a time
  std::vector<TxFrame> tagged_;
  std::atomic<uint64_t> auth_failures_{0};
};

}  // namespace dvmm::dataplane
