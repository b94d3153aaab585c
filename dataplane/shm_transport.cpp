#include "dataplane/shm_transport.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <vector>

namespace dvmm::dataplane {
namespace {

using AtomicU64 = std::atomic_ref<uint64_t>;
static_assert(AtomicU64::is_always_lock_free, "ring indices must be lock-free across processes");

constexpr uint64_t kMagic = 0x474e4952'4d4d5644ull;  // "DVMMRING"
constexpr uint64_t kVersion = 1;
// Geometry fields are stored with this bit set, so that a legitimate value
// of 0 (cluster id 0) is still distinguishable from "not yet written".
constexpr uint64_t kWritten = 1ull << 63;

constexpr size_t kLine = 128;  // see the header: pairs of 64-byte lines
constexpr size_t kRingHeaderBytes = 2 * kLine;

// Record header: tag in the high 32 bits (catches a corrupted or
// misaligned read), length in the low 32 bits.
constexpr uint64_t kFrameTag = 0xD7F00000ull << 32;
constexpr uint64_t kSkipTag = 0xD75C0000ull << 32;
constexpr uint64_t kTagMask = 0xFFFFFFFFull << 32;
constexpr size_t kRecordHeader = 8;

constexpr size_t align8(size_t n) {
  return (n + 7) & ~size_t{7};
}
constexpr size_t kMaxRecord = kRecordHeader + align8(kMaxFrameSize);
// With capacity >= 2 * kMaxRecord the largest record always fits in an empty
// ring: either before the end of the data area, or after a skip record
// (then the write position was past capacity - kMaxRecord >= kMaxRecord).
static_assert(ShmTransport::kMinRingBytes >= 2 * kMaxRecord);

struct Geometry {
  uint64_t magic;
  uint64_t version;
  uint64_t node_count;
  uint64_t ring_bytes;
  uint64_t cluster_id;
};
static_assert(sizeof(Geometry) <= kLine);

size_t ctrl_bytes(uint16_t node_count) {
  const size_t raw = kLine + kLine * size_t{node_count};
  return (raw + 4095) & ~size_t{4095};
}

size_t ring_stride(size_t ring_bytes) {
  return kRingHeaderBytes + ring_bytes;
}

// FNV-1a: only to shorten a long path into an abstract socket name.
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

struct DoorbellAddress {
  sockaddr_un addr{};
  socklen_t len = 0;
  std::string printable;  // for error messages: "@name"
};

// Abstract-namespace name (leading NUL): nothing to clean up when a node
// dies, and no file-system permissions to get right.
DoorbellAddress doorbell_address(const std::string& path, NodeId node) {
  DoorbellAddress d;
  std::string name = fmt::format("dvmm-shm:{}:{}", path, node);
  if (name.size() > sizeof(d.addr.sun_path) - 1) {
    name = fmt::format("dvmm-shm:#{:016x}:{}", fnv1a(path), node);
  }
  d.addr.sun_family = AF_UNIX;
  d.addr.sun_path[0] = '\0';
  std::memcpy(d.addr.sun_path + 1, name.data(), name.size());
  d.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  d.printable = "@" + name;
  return d;
}

// Counters written by one thread and read by any: a relaxed load+store is a
// plain mov on x86, unlike fetch_add's locked instruction.
void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

class ShmTransportImpl final : public ShmTransport {
 public:
  ~ShmTransportImpl() override {
    if (map_ != nullptr) munmap(map_, map_bytes_);
    if (fd_ >= 0) close(fd_);
    if (sock_ >= 0) close(sock_);
  }

  static Result<std::unique_ptr<Transport>> open(const ShmTransportConfig& c) {
    if (c.path.empty()) return Error::format("shm transport: empty path (use a file in /dev/shm)");
    if (c.node_count < 2 || c.node_count > kMaxNodes) {
      return Error::format("shm transport {}: node_count {} out of range 2..{}", c.path,
                           c.node_count, kMaxNodes);
    }
    if (c.local >= c.node_count) {
      return Error::format("shm transport {}: local node {} not below node_count {}", c.path,
                           c.local, c.node_count);
    }
    if (c.ring_bytes < kMinRingBytes || c.ring_bytes > kMaxRingBytes ||
        (c.ring_bytes & (c.ring_bytes - 1)) != 0) {
      return Error::format(
          "shm transport {}: ring_bytes {} must be a power of two between {} and {}", c.path,
          c.ring_bytes, kMinRingBytes, kMaxRingBytes);
    }

    std::unique_ptr<ShmTransportImpl> t(new ShmTransportImpl(c));
    DVMM_TRY(t->map_file());
    DVMM_TRY(t->check_geometry());
    DVMM_TRY(t->open_doorbell());
    t->setup_rings();
    return std::unique_ptr<Transport>(std::move(t));
  }

  const char* name() const override { return "shm"; }
  NodeId local_node() const override { return cfg_.local; }
  size_t max_frame_size() const override { return kMaxFrameSize; }

  size_t tx_burst(std::span<const TxFrame> frames) override {
    size_t taken = 0;
    for (const TxFrame& f : frames) {
      if (f.dst >= cfg_.node_count || f.dst == cfg_.local || f.bytes.size() > kMaxFrameSize) {
        bump(counters_.tx_dropped);
        ++taken;
        continue;
      }
      Ring& r = out_[f.dst];
      if (!enqueue(r, f.bytes)) break;  // ring full: the caller keeps the rest
      if (!r.dirty) {
        r.dirty = true;
        dirty_.push_back(f.dst);
      }
      bump(counters_.tx_frames);
      bump(counters_.tx_bytes, f.bytes.size());
      ++taken;
    }
    // Publish once per ring per burst: one store to the producer line that
    // the consumer polls, instead of one per frame. seq_cst (not just
    // release): with the flag load in tx_flush() and the consumer's flag
    // store and tail loads in prepare_to_sleep(), all seq_cst, either the
    // consumer sees this tail or we see its flag (the Dekker pattern
    // without fences, which ThreadSanitizer also understands). On x86 it
    // costs one xchg per ring per burst.
    for (const NodeId dst : dirty_) {
      Ring& r = out_[dst];
      if (r.dirty) {
        AtomicU64(*r.tail).store(r.pos, std::memory_order_seq_cst);
        r.dirty = false;
        if (!r.doorbell_pending) {
          r.doorbell_pending = true;
          doorbell_.push_back(dst);
        }
      }
    }
    dirty_.clear();
    return taken;
  }

  void tx_flush() override {
    if (doorbell_.empty()) return;
    for (const NodeId dst : doorbell_) {
      out_[dst].doorbell_pending = false;
      AtomicU64 flag(*sleeping_flag(dst));
      // Load first: the common case (consumer awake) then stays a shared
      // read of its line, and only one producer wins the exchange.
      if (flag.load(std::memory_order_seq_cst) != 0 &&
          flag.exchange(0, std::memory_order_acq_rel) != 0) {
        ring_doorbell(dst);
      }
    }
    doorbell_.clear();
  }

  size_t rx_burst(std::span<RxFrame> out) override {
    size_t n = 0;
    const size_t peers = in_order_.size();
    // Start one ring further each call so a busy peer cannot starve others.
    for (size_t k = 0; k < peers && n < out.size(); ++k) {
      const NodeId src = in_order_[(rr_ + k) % peers];
      n += dequeue(in_[src], src, out.subspan(n));
    }
    rr_ = (rr_ + 1) % peers;
    return n;
  }

  int rx_wait_fd() const override { return sock_; }

  bool prepare_to_sleep() override {
    AtomicU64 flag(*sleeping_flag(cfg_.local));
    flag.store(1, std::memory_order_seq_cst);  // pairs with tx_burst()/tx_flush()
    for (const NodeId src : in_order_) {
      const Ring& r = in_[src];
      if (AtomicU64(*r.tail).load(std::memory_order_seq_cst) != r.pos) {
        // Frames arrived meanwhile. If a producer already took the flag, its
        // doorbell makes one spurious wake-up later; harmless.
        flag.store(0, std::memory_order_relaxed);
        return false;
      }
    }
    return true;
  }

  void after_wakeup() override {
    AtomicU64(*sleeping_flag(cfg_.local)).store(0, std::memory_order_relaxed);
    uint8_t buf[64];
    while (recv(sock_, buf, sizeof(buf), MSG_DONTWAIT) >= 0) {
    }
  }

  Counters counters() const override { return counters_.snapshot(); }

  uint64_t doorbells_sent() const override { return doorbells_.load(std::memory_order_relaxed); }

 private:
  // One end of a ring, with this process's private copy of both indices:
  // `pos` is ours (tail for a producer, head for a consumer) and `other` is
  // the last value read of the peer's, re-read only when it looks like we
  // have run out (full ring / empty ring). This keeps the peer's cache line
  // out of the fast path, as in DPDK's and Lamport's rings.
  struct Ring {
    uint64_t* tail = nullptr;
    uint64_t* head = nullptr;
    uint8_t* data = nullptr;
    uint64_t pos = 0;
    uint64_t other = 0;
    bool dirty = false;             // producer: pos not yet published
    bool doorbell_pending = false;  // producer: check the flag at tx_flush
  };

  explicit ShmTransportImpl(const ShmTransportConfig& c)
      : cfg_(c), cap_(c.ring_bytes), mask_(c.ring_bytes - 1) {}

  Status map_file() {
    map_bytes_ = file_bytes(cfg_.node_count, cfg_.ring_bytes);
    fd_ = ::open(cfg_.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      return Error::format(
          "shm transport: cannot open {}: {} (check that the directory exists "
          "and is writable; /dev/shm is the usual place)",
          cfg_.path, std::strerror(errno));
    }
    struct stat st {};
    if (fstat(fd_, &st) != 0) return Error::from_errno(fmt::format("fstat {}", cfg_.path));
    // Every node grows the file to the same size; concurrent ftruncates to
    // equal sizes are harmless, and never shrinking keeps a larger peer's
    // mapping valid until the geometry check refuses the mismatch.
    if (static_cast<uint64_t>(st.st_size) < map_bytes_) {
      if (ftruncate(fd_, static_cast<off_t>(map_bytes_)) != 0) {
        return Error::format("shm transport: cannot size {} to {} bytes: {}", cfg_.path, map_bytes_,
                             std::strerror(errno));
      }
    }
    void* m = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (m == MAP_FAILED) {
      return Error::format("shm transport: cannot map {} ({} bytes): {}", cfg_.path, map_bytes_,
                           std::strerror(errno));
    }
    map_ = static_cast<uint8_t*>(m);
    return {};
  }

  Status check_geometry() {
    auto* g = reinterpret_cast<Geometry*>(map_);
    struct Field {
      uint64_t* where;
      uint64_t want;
      const char* what;
    };
    const Field fields[] = {
        {&g->magic, kMagic, "magic"},
        {&g->version, kVersion, "layout version"},
        {&g->node_count, cfg_.node_count, "node_count"},
        {&g->ring_bytes, cfg_.ring_bytes, "ring_bytes"},
        {&g->cluster_id, cfg_.cluster_id, "cluster_id"},
    };
    for (const Field& f : fields) {
      uint64_t seen = 0;
      const uint64_t want = f.want | kWritten;
      // Compare-and-set from zero: the first node writes, the others agree.
      if (!AtomicU64(*f.where).compare_exchange_strong(seen, want, std::memory_order_acq_rel) &&
          seen != want) {
        return Error::format(
            "shm transport {}: {} in the file is {:#x}, this node (node {}) expects {:#x}: "
            "another cluster or configuration uses this file (remove it with "
            "ShmTransport::unlink, or give every node the same node_count, ring_bytes and "
            "cluster_id)",
            cfg_.path, f.what, seen & ~kWritten, cfg_.local, f.want);
      }
    }
    return {};
  }

  Status open_doorbell() {
    sock_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sock_ < 0) return Error::from_errno("shm transport: doorbell socket");
    const DoorbellAddress self = doorbell_address(cfg_.path, cfg_.local);
    if (bind(sock_, reinterpret_cast<const sockaddr*>(&self.addr), self.len) != 0) {
      if (errno == EADDRINUSE) {
        return Error::format(
            "shm transport {}: node {} is already open (doorbell socket {} in use): another "
            "process, or another endpoint in this one, uses the same path and node id",
            cfg_.path, cfg_.local, self.printable);
      }
      return Error::from_errno(fmt::format("shm transport: bind doorbell {}", self.printable));
    }
    peers_.resize(cfg_.node_count);
    for (NodeId n = 0; n < cfg_.node_count; ++n) {
      if (n != cfg_.local) peers_[n] = doorbell_address(cfg_.path, n);
    }
    return {};
  }

  size_t ring_index(NodeId src, NodeId dst) const {
    const size_t n1 = size_t{cfg_.node_count} - 1;
    return size_t{src} * n1 + (dst < src ? dst : size_t{dst} - 1);
  }

  uint8_t* ring_base(NodeId src, NodeId dst) const {
    return map_ + ctrl_bytes(cfg_.node_count) + ring_index(src, dst) * ring_stride(cap_);
  }

  uint64_t* sleeping_flag(NodeId node) const {
    return reinterpret_cast<uint64_t*>(map_ + kLine + kLine * size_t{node});
  }

  void setup_rings() {
    in_.resize(cfg_.node_count);
    out_.resize(cfg_.node_count);
    for (NodeId n = 0; n < cfg_.node_count; ++n) {
      if (n == cfg_.local) continue;
      in_order_.push_back(n);
      for (const bool incoming : {true, false}) {
        uint8_t* base = incoming ? ring_base(n, cfg_.local) : ring_base(cfg_.local, n);
        Ring& r = incoming ? in_[n] : out_[n];
        r.tail = reinterpret_cast<uint64_t*>(base);
        r.head = reinterpret_cast<uint64_t*>(base + kLine);
        r.data = base + kRingHeaderBytes;
        // Resume from the indices in the file: a node reopening a ring set
        // (or opening after its peers started sending) continues where the
        // ring is, without any handshake.
        const uint64_t tail = AtomicU64(*r.tail).load(std::memory_order_acquire);
        const uint64_t head = AtomicU64(*r.head).load(std::memory_order_acquire);
        r.pos = incoming ? head : tail;
        r.other = incoming ? tail : head;
#ifdef MADV_POPULATE_WRITE
        // Fault the pages of our own rings in now rather than on the first
        // lap (about a microsecond per 4 KiB page); best effort, and it does
        // not change the contents.
        const uintptr_t start = reinterpret_cast<uintptr_t>(base) & ~uintptr_t{4095};
        const uintptr_t end = reinterpret_cast<uintptr_t>(base) + ring_stride(cap_);
        (void)madvise(reinterpret_cast<void*>(start), end - start, MADV_POPULATE_WRITE);
#endif
      }
    }
    doorbell_.reserve(cfg_.node_count);
    dirty_.reserve(cfg_.node_count);
  }

  // Producer: writes one record at r.pos (not yet published).
  bool enqueue(Ring& r, std::span<const uint8_t> bytes) {
    const size_t rec = kRecordHeader + align8(bytes.size());
    size_t off = r.pos & mask_;
    const size_t to_end = cap_ - off;
    const size_t pad = rec > to_end ? to_end : 0;  // skip record when it would wrap
    const uint64_t need = pad + rec;
    if (r.pos + need - r.other > cap_) {
      r.other = AtomicU64(*r.head).load(std::memory_order_acquire);
      if (r.pos + need - r.other > cap_) return false;
    }
    if (pad != 0) {
      const uint64_t skip = kSkipTag | pad;
      std::memcpy(r.data + off, &skip, sizeof(skip));
      r.pos += pad;
      off = 0;
    }
    const uint64_t hdr = kFrameTag | bytes.size();
    std::memcpy(r.data + off, &hdr, sizeof(hdr));
    if (!bytes.empty()) std::memcpy(r.data + off + kRecordHeader, bytes.data(), bytes.size());
    r.pos += rec;
    return true;
  }

  // Consumer: copies out up to out.size() frames of one ring.
  size_t dequeue(Ring& r, NodeId src, std::span<RxFrame> out) {
    if (r.pos == r.other) {
      r.other = AtomicU64(*r.tail).load(std::memory_order_acquire);
      if (r.pos == r.other) return 0;
    }
    size_t n = 0;
    while (n < out.size() && r.pos != r.other) {
      const size_t off = r.pos & mask_;
      const uint64_t avail = r.other - r.pos;
      uint64_t hdr = 0;
      std::memcpy(&hdr, r.data + off, sizeof(hdr));
      const uint64_t len = hdr & ~kTagMask;
      const uint64_t tag = hdr & kTagMask;
      if (tag == kSkipTag && len == cap_ - off && len <= avail) {
        r.pos += len;
        continue;
      }
      const size_t rec = kRecordHeader + align8(static_cast<size_t>(len));
      if (tag != kFrameTag || len > kMaxFrameSize || rec > avail || rec > cap_ - off) {
        // Corrupted ring (a buggy or foreign writer): resynchronise by
        // discarding everything published so far; the reliability layer
        // retransmits what mattered.
        bump(counters_.rx_dropped);
        r.pos = r.other;
        break;
      }
      RxFrame& f = out[n++];
      f.src = src;
      f.len = static_cast<uint16_t>(len);
      std::memcpy(f.data, r.data + off + kRecordHeader, static_cast<size_t>(len));
      bump(counters_.rx_frames);
      bump(counters_.rx_bytes, len);
      r.pos += rec;
    }
    // Release: our reads of the records happen before the producer may
    // overwrite them.
    AtomicU64(*r.head).store(r.pos, std::memory_order_release);
    return n;
  }

  void ring_doorbell(NodeId dst) {
    const DoorbellAddress& a = peers_[dst];
    const uint8_t b = 1;
    // EAGAIN: the consumer's queue is full of doorbells, so it is readable
    // already. ECONNREFUSED: the consumer is gone. Neither needs more.
    if (sendto(sock_, &b, 1, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&a.addr), a.len) ==
        1) {
      bump(doorbells_);
    }
  }

  ShmTransportConfig cfg_;
  const size_t cap_;
  const size_t mask_;
  int fd_ = -1;
  int sock_ = -1;
  uint8_t* map_ = nullptr;
  size_t map_bytes_ = 0;

  std::vector<Ring> in_;          // indexed by source node
  std::vector<Ring> out_;         // indexed by destination node
  std::vector<NodeId> in_order_;  // every peer, for round-robin
  size_t rr_ = 0;
  std::vector<DoorbellAddress> peers_;
  std::vector<NodeId> dirty_;
  std::vector<NodeId> doorbell_;

  TransportCounterSet counters_;
  std::atomic<uint64_t> doorbells_{0};
};

}  // namespace

Status ShmTransport::unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Error::format("shm transport: cannot remove {}: {}", path, std::strerror(errno));
  }
  return {};
}

size_t ShmTransport::file_bytes(uint16_t node_count, size_t ring_bytes) {
  const size_t rings = size_t{node_count} * (node_count > 0 ? size_t{node_count} - 1 : 0);
  return ctrl_bytes(node_count) + rings * ring_stride(ring_bytes);
}

Result<std::unique_ptr<Transport>> make_shm_transport(const ShmTransportConfig& config) {
  return ShmTransportImpl::open(config);
}

}  // namespace dvmm::dataplane
