#include "dataplane/udp_transport.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <unordered_map>

namespace dvmm::dataplane {
namespace {

// Frames per sendmmsg/recvmmsg call: enough to amortise the system call,
// small enough to keep the arrays on the stack.
constexpr size_t kBatch = 64;

void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

struct Endpoint {
  bool configured = false;
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string host;  // as configured, for messages
};

// Source-address lookup key: family, port and address bytes (IPv4 in the
// first 4). Fixed size so that a lookup per received datagram allocates
// nothing.
struct AddrKey {
  std::array<uint8_t, 20> b{};
  bool operator==(const AddrKey&) const = default;
};
struct AddrKeyHash {
  size_t operator()(const AddrKey& k) const {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const uint8_t c : k.b) h = (h ^ c) * 0x100000001b3ull;
    return static_cast<size_t>(h);
  }
};

bool make_key(const sockaddr_storage& ss, AddrKey& k) {
  k = AddrKey{};
  if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    k.b[0] = 4;
    std::memcpy(&k.b[2], &a.sin_port, 2);
    std::memcpy(&k.b[4], &a.sin_addr, 4);
    return true;
  }
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    k.b[0] = 6;
    std::memcpy(&k.b[2], &a.sin6_port, 2);
    std::memcpy(&k.b[4], &a.sin6_addr, 16);
    return true;
  }
  return false;
}

uint16_t get_port(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
}

void set_port(sockaddr_storage& ss, uint16_t port) {
  if (ss.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in&>(ss).sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6&>(ss).sin6_port = htons(port);
  }
}

std::string to_string(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(ss).sin_addr, buf, sizeof(buf));
    return fmt::format("{}:{}", buf, get_port(ss));
  }
  inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr, buf, sizeof(buf));
  return fmt::format("[{}]:{}", buf, get_port(ss));
}

const char* family_name(int family) {
  return family == AF_INET ? "IPv4" : "IPv6";
}

// A literal (digits and dots, or anything with a colon) is never sent to
// the resolver: a typo in an address must fail at once, not after a DNS
// timeout, and must not leave this host as a query.
bool looks_literal(const std::string& h) {
  if (h.find(':') != std::string::npos) return true;
  return std::all_of(h.begin(), h.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

// Resolves one node's address once, at start. `family` is AF_UNSPEC for
// the local node; peers must then use the local node's family.
Result<Endpoint> resolve(const UdpPeer& p, int family) {
  Endpoint e;
  e.configured = true;
  e.host = p.host;
  std::string host = p.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return Error::format("udp transport: node {} has no host address", p.id);
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 && looks_literal(host)) {
    return Error::format(
        "udp transport: node {} address '{}' is not a valid {} address (check the cluster config)",
        p.id, p.host, family == AF_UNSPEC ? "IPv4 or IPv6" : family_name(family));
  }
  if (rc != 0) {
    hints.ai_flags = 0;
    rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
      return Error::format(
          "udp transport: cannot resolve node {} host '{}'{}: {} (check the name, or use an "
          "address literal)",
          p.id, p.host, family == AF_UNSPEC ? "" : fmt::format(" as {}", family_name(family)),
          gai_strerror(rc));
    }
  }
  std::memcpy(&e.addr, res->ai_addr, res->ai_addrlen);
  e.len = res->ai_addrlen;
  freeaddrinfo(res);
  set_port(e.addr, p.port);
  return e;
}

class UdpTransportImpl final : public UdpTransport {
 public:
  ~UdpTransportImpl() override {
    if (sock_ >= 0) close(sock_);
  }

  static Result<std::unique_ptr<Transport>> open(const UdpTransportConfig& c) {
    std::unique_ptr<UdpTransportImpl> t(new UdpTransportImpl(c.local));
    DVMM_TRY(t->resolve_all(c));
    DVMM_TRY(t->bind_socket(c));
    t->rebuild_lookup();
    return std::unique_ptr<Transport>(std::move(t));
  }

  const char* name() const override { return "udp"; }
  NodeId local_node() const override { return local_; }
  size_t max_frame_size() const override { return kMaxFrameSize; }
  uint16_t local_port() const override { return get_port(nodes_[local_].addr); }

  Status set_peer_port(NodeId id, uint16_t port) override {
    if (id >= nodes_.size() || !nodes_[id].configured || id == local_) {
      return Error::format("udp transport: node {} is not a peer of node {}", id, local_);
    }
    set_port(nodes_[id].addr, port);
    rebuild_lookup();
    return {};
  }

  size_t tx_burst(std::span<const TxFrame> frames) override {
    std::array<mmsghdr, kBatch> msgs;
    std::array<iovec, kBatch> iovs;
    size_t i = 0;  // frames before i are taken
    while (i < frames.size()) {
      // A batch of consecutive sendable frames; an unsendable one at the
      // front is dropped (taken), one further on ends the batch.
      size_t n = 0;
      while (i + n < frames.size() && n < kBatch) {
        const TxFrame& f = frames[i + n];
        const bool ok = f.dst < nodes_.size() && f.dst != local_ && nodes_[f.dst].configured &&
                        get_port(nodes_[f.dst].addr) != 0 && f.bytes.size() <= kMaxFrameSize;
        if (!ok) {
          if (n != 0) break;
          bump(counters_.tx_dropped);
          ++i;
          continue;
        }
        iovs[n].iov_base = const_cast<uint8_t*>(f.bytes.data());
        iovs[n].iov_len = f.bytes.size();
        msgs[n] = mmsghdr{};
        msgs[n].msg_hdr.msg_name = &nodes_[f.dst].addr;
        msgs[n].msg_hdr.msg_namelen = nodes_[f.dst].len;
        msgs[n].msg_hdr.msg_iov = &iovs[n];
        msgs[n].msg_hdr.msg_iovlen = 1;
        ++n;
      }
      if (n == 0) continue;
      const int r = sendmmsg(sock_, msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
          return i;  // socket buffer full: the caller retries the rest
        }
        if (errno == EINTR) continue;
        // This frame cannot be sent (EMSGSIZE, unreachable, ...): drop it
        // rather than stall every frame behind it.
        bump(counters_.tx_dropped);
        ++i;
        continue;
      }
      for (size_t k = 0; k < static_cast<size_t>(r); ++k) {
        bump(counters_.tx_bytes, frames[i + k].bytes.size());
      }
      bump(counters_.tx_frames, static_cast<uint64_t>(r));
      // Fewer than n sent: the next call reports the error of frame i + r.
      i += static_cast<size_t>(r);
    }
    return i;
  }

  void tx_flush() override {}

  size_t rx_burst(std::span<RxFrame> out) override {
    std::array<mmsghdr, kBatch> msgs;
    std::array<iovec, kBatch> iovs;
    std::array<sockaddr_storage, kBatch> from;
    size_t got = 0;
    while (got < out.size()) {
      const size_t want = std::min(kBatch, out.size() - got);
      for (size_t k = 0; k < want; ++k) {
        iovs[k].iov_base = out[got + k].data;
        iovs[k].iov_len = sizeof(out[got + k].data);
        msgs[k] = mmsghdr{};
        msgs[k].msg_hdr.msg_name = &from[k];
        msgs[k].msg_hdr.msg_namelen = sizeof(from[k]);
        msgs[k].msg_hdr.msg_iov = &iovs[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
      }
      const int r =
          recvmmsg(sock_, msgs.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
      if (r <= 0) break;  // EAGAIN: nothing more waiting
      // Keep the good datagrams, compacting over the dropped ones.
      size_t kept = 0;
      for (size_t k = 0; k < static_cast<size_t>(r); ++k) {
        const mmsghdr& m = msgs[k];
        NodeId src = 0;
        if ((m.msg_hdr.msg_flags & MSG_TRUNC) != 0 || m.msg_len > kMaxFrameSize ||
            !lookup(from[k], src)) {
          bump(counters_.rx_dropped);
          continue;
        }
        RxFrame& dst = out[got + kept];
        if (kept != k) std::memcpy(dst.data, out[got + k].data, m.msg_len);
        dst.src = src;
        dst.len = static_cast<uint16_t>(m.msg_len);
        bump(counters_.rx_frames);
        bump(counters_.rx_bytes, m.msg_len);
        ++kept;
      }
      got += kept;
      if (static_cast<size_t>(r) < want) break;
    }
    return got;
  }

  int rx_wait_fd() const override { return sock_; }
  // The socket itself becomes readable: nothing to arm or disarm.
  bool prepare_to_sleep() override { return true; }
  void after_wakeup() override {}

  Counters counters() const override { return counters_.snapshot(); }

 private:
  explicit UdpTransportImpl(NodeId local) : local_(local) {}

  Status resolve_all(const UdpTransportConfig& c) {
    const UdpPeer* self = nullptr;
    NodeId max_id = 0;
    for (const UdpPeer& p : c.nodes) {
      if (p.id == c.local) {
        if (self != nullptr) return Error::format("udp transport: node {} listed twice", p.id);
        self = &p;
      }
      max_id = std::max(max_id, p.id);
    }
    if (self == nullptr) {
      return Error::format("udp transport: the local node {} is not in the node list", c.local);
    }
    nodes_.resize(size_t{max_id} + 1);
    nodes_[local_] = DVMM_TRY(resolve(*self, AF_UNSPEC));
    const int family = nodes_[local_].addr.ss_family;
    for (const UdpPeer& p : c.nodes) {
      if (p.id == local_) continue;
      if (nodes_[p.id].configured)
        return Error::format("udp transport: node {} listed twice", p.id);
      auto r = resolve(p, family);
      if (!r.ok()) {
        return Error::format("{} (the local node {} uses {})", r.error().message, local_,
                             family_name(family));
      }
      nodes_[p.id] = std::move(r).value();
    }
    // Two nodes on one address and port would make sources ambiguous.
    for (size_t a = 0; a < nodes_.size(); ++a) {
      for (size_t b = a + 1; b < nodes_.size(); ++b) {
        if (!nodes_[a].configured || !nodes_[b].configured || get_port(nodes_[a].addr) == 0) {
          continue;
        }
        AddrKey ka, kb;
        if (make_key(nodes_[a].addr, ka) && make_key(nodes_[b].addr, kb) && ka == kb) {
          return Error::format("udp transport: nodes {} and {} both use {}", a, b,
                               to_string(nodes_[a].addr));
        }
      }
    }
    return {};
  }

  Status bind_socket(const UdpTransportConfig& c) {
    Endpoint& self = nodes_[local_];
    const int family = self.addr.ss_family;
    sock_ = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sock_ < 0) return Error::from_errno("udp transport: socket");
    const int one = 1;
    if (family == AF_INET6) {
      (void)setsockopt(sock_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    } else {
      // Never set DF: a frame larger than the path MTU is fragmented by the
      // kernel instead of failing with EMSGSIZE after a PMTU update.
      const int pmtu = IP_PMTUDISC_DONT;
      (void)setsockopt(sock_, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
    }
    // Best effort: bursts of jumbo frames overflow the default ~200 KiB.
    (void)setsockopt(sock_, SOL_SOCKET, SO_RCVBUF, &c.socket_buffer_bytes,
                     sizeof(c.socket_buffer_bytes));
    (void)setsockopt(sock_, SOL_SOCKET, SO_SNDBUF, &c.socket_buffer_bytes,
                     sizeof(c.socket_buffer_bytes));

    if (bind(sock_, reinterpret_cast<const sockaddr*>(&self.addr), self.len) != 0) {
      const int err = errno;
      const std::string where = fmt::format("node {}: cannot bind UDP {} (host '{}')", local_,
                                            to_string(self.addr), self.host);
      switch (err) {
        case EADDRINUSE:
          return Error::format(
              "udp transport: {}: address already in use: another dvmm node or program has this "
              "port (check `ss -uapn | grep :{}`), or choose another port",
              where, get_port(self.addr));
        case EADDRNOTAVAIL:
          return Error::format(
              "udp transport: {}: cannot assign requested address: no interface of this machine "
              "has that address; check that node {}'s host in the cluster config is this "
              "machine (`ip addr`)",
              where, local_);
        case EACCES:
          return Error::format(
              "udp transport: {}: permission denied (ports below 1024 need privileges)", where);
        default:
          return Error::from_errno(fmt::format("udp transport: {}", where), err);
      }
    }
    // Learn the kernel's port when configured 0.
    sockaddr_storage bound{};
    socklen_t blen = sizeof(bound);
    if (getsockname(sock_, reinterpret_cast<sockaddr*>(&bound), &blen) != 0) {
      return Error::from_errno("udp transport: getsockname");
    }
    set_port(self.addr, get_port(bound));
    return {};
  }

  void rebuild_lookup() {
    by_addr_.clear();
    for (size_t id = 0; id < nodes_.size(); ++id) {
      AddrKey k;
      if (nodes_[id].configured && get_port(nodes_[id].addr) != 0 && make_key(nodes_[id].addr, k)) {
        by_addr_.emplace(k, static_cast<NodeId>(id));
      }
    }
  }

  bool lookup(const sockaddr_storage& from, NodeId& id) const {
    AddrKey k;
    if (!make_key(from, k)) return false;
    const auto it = by_addr_.find(k);
    if (it == by_addr_.end()) return false;
    id = it->second;
    return true;
  }

  const NodeId local_;
  int sock_ = -1;
  std::vector<Endpoint> nodes_;  // indexed by node id
  std::unordered_map<AddrKey, NodeId, AddrKeyHash> by_addr_;

  TransportCounterSet counters_;
};

}  // namespace

Result<std::unique_ptr<Transport>> make_udp_transport(const UdpTransportConfig& config) {
  return UdpTransportImpl::open(config);
}

}  // namespace dvmm::dataplane
