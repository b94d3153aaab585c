#include "dataplane/udp_transport.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace dvmm::dataplane {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Test traffic stays on loopback (127.0.0.0/8) only.

UdpTransport& udp(Transport& t) {
  return dynamic_cast<UdpTransport&>(t);
}

// Starts one endpoint per host, each on an ephemeral port (no guessing of
// free ports, no collisions with concurrent test runs), then tells every
// endpoint its peers' ports.
std::vector<std::unique_ptr<Transport>> start_cluster(const std::vector<std::string>& hosts) {
  std::vector<std::unique_ptr<Transport>> ts;
  UdpTransportConfig c;
  for (size_t i = 0; i < hosts.size(); ++i) {
    c.nodes.push_back(UdpPeer{static_cast<NodeId>(i), hosts[i], 0});
  }
  for (size_t i = 0; i < hosts.size(); ++i) {
    c.local = static_cast<NodeId>(i);
    auto r = make_udp_transport(c);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r.ok()) return {};
    ts.push_back(std::move(r).value());
  }
  for (auto& t : ts) {
    for (auto& peer : ts) {
      if (peer != t) {
        const Status s = udp(*t).set_peer_port(peer->local_node(), udp(*peer).local_port());
        EXPECT_TRUE(s.ok());
      }
    }
  }
  return ts;
}

std::vector<std::vector<uint8_t>> recv_frames(Transport& t, size_t want,
                                              std::chrono::milliseconds timeout,
                                              std::vector<NodeId>* srcs = nullptr) {
  std::vector<std::vector<uint8_t>> got;
  auto frames = std::make_unique<RxFrame[]>(16);
  const auto end = Clock::now() + timeout;
  while (got.size() < want && Clock::now() < end) {
    const size_t n = t.rx_burst(std::span<RxFrame>(frames.get(), 16));
    for (size_t i = 0; i < n; ++i) {
      got.emplace_back(frames[i].data, frames[i].data + frames[i].len);
      if (srcs != nullptr) srcs->push_back(frames[i].src);
    }
    if (n == 0) {
      pollfd p{t.rx_wait_fd(), POLLIN, 0};
      (void)poll(&p, 1, 10);
    }
  }
  return got;
}

std::vector<uint8_t> make_frame(uint32_t k, size_t len) {
  std::vector<uint8_t> v(len);
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<uint8_t>(k * 131u + i * 7u);
  if (len >= 4) std::memcpy(v.data(), &k, 4);
  return v;
}

TEST(UdpTransport, TwoEndpointsExchangeFrames) {
  auto ts = start_cluster({"127.0.0.1", "127.0.0.1"});
  ASSERT_EQ(ts.size(), 2u);
  Transport& a = *ts[0];
  Transport& b = *ts[1];
  EXPECT_STREQ(a.name(), "udp");
  EXPECT_EQ(a.max_frame_size(), kMaxFrameSize);
  EXPECT_NE(udp(a).local_port(), 0);
  EXPECT_NE(udp(a).local_port(), udp(b).local_port());

  // Sizes up to the largest frame, sent in bursts (one sendmmsg each).
  constexpr uint32_t kFrames = 100;
  std::vector<std::vector<uint8_t>> bufs;
  for (uint32_t k = 0; k < kFrames; ++k)
    bufs.push_back(make_frame(k, 1 + (k * 997) % kMaxFrameSize));
  bufs.push_back(make_frame(kFrames, kMaxFrameSize));
  std::vector<TxFrame> burst;
  for (const auto& v : bufs) burst.push_back(TxFrame{1, v});
  size_t sent = 0;
  const auto end = Clock::now() + 5s;
  while (sent < burst.size() && Clock::now() < end) {
    sent += a.tx_burst(std::span<const TxFrame>(burst).subspan(sent));
    a.tx_flush();
  }
  ASSERT_EQ(sent, burst.size());
  std::vector<NodeId> srcs;
  const auto got = recv_frames(b, burst.size(), 5s, &srcs);
  ASSERT_EQ(got.size(), burst.size());  // loopback with 4 MiB buffers: no loss
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], bufs[i]) << "frame " << i;
    EXPECT_EQ(srcs[i], 0);
  }
  EXPECT_EQ(a.counters().tx_frames, burst.size());
  EXPECT_EQ(b.counters().rx_frames, burst.size());

  const auto reply = make_frame(7, 3);
  const TxFrame r{0, reply};
  ASSERT_EQ(b.tx_burst(std::span<const TxFrame>(&r, 1)), 1u);
  srcs.clear();
  const auto back = recv_frames(a, 1, 2s, &srcs);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0], reply);
  EXPECT_EQ(srcs[0], 1);
}

TEST(UdpTransport, ThreeEndpointsOnDistinctLoopbackAddresses) {
  auto ts = start_cluster({"127.0.0.1", "127.0.0.2", "127.0.0.3"});
  ASSERT_EQ(ts.size(), 3u);
  for (NodeId s = 0; s < 3; ++s) {
    for (NodeId d = 0; d < 3; ++d) {
      if (s == d) continue;
      const std::vector<uint8_t> v{static_cast<uint8_t>(s), static_cast<uint8_t>(d)};
      const TxFrame f{d, v};
      ASSERT_EQ(ts[s]->tx_burst(std::span<const TxFrame>(&f, 1)), 1u);
    }
  }
  for (NodeId d = 0; d < 3; ++d) {
    std::vector<NodeId> srcs;
    const auto got = recv_frames(*ts[d], 2, 2s, &srcs);
    ASSERT_EQ(got.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(got[i][0], srcs[i]);
      EXPECT_EQ(got[i][1], d);
    }
  }
}

TEST(UdpTransport, FramesFromUnknownSendersAreDroppedAndCounted) {
  auto ts = start_cluster({"127.0.0.1", "127.0.0.1"});
  ASSERT_EQ(ts.size(), 2u);
  // A stranger on loopback sends to node 0.
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(udp(*ts[0]).local_port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const char junk[] = "not from a node";
  const auto n =
      sendto(s, junk, sizeof(junk), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to));
  close(s);
  ASSERT_EQ(n, static_cast<ssize_t>(sizeof(junk)));
  // Then a real frame from node 1, which must still arrive.
  const std::vector<uint8_t> v{1, 2, 3};
  const TxFrame f{0, v};
  ASSERT_EQ(ts[1]->tx_burst(std::span<const TxFrame>(&f, 1)), 1u);
  // Same socket queue, so the stranger's datagram was processed first.
  const auto got = recv_frames(*ts[0], 1, 2s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], v);
  EXPECT_EQ(ts[0]->counters().rx_dropped, 1u);
}

TEST(UdpTransport, InvalidDestinationsAreTakenAndDropped) {
  auto ts = start_cluster({"127.0.0.1", "127.0.0.1"});
  ASSERT_EQ(ts.size(), 2u);
  const std::vector<uint8_t> big(kMaxFrameSize + 1, 1);
  const std::vector<uint8_t> small(8, 2);
  const TxFrame burst[] = {{1, big}, {9, small}, {0, small}, {1, small}, {1, big}};
  EXPECT_EQ(ts[0]->tx_burst(burst), 5u);
  EXPECT_EQ(ts[0]->counters().tx_dropped, 4u);
  EXPECT_EQ(ts[0]->counters().tx_frames, 1u);
  const auto got = recv_frames(*ts[1], 1, 2s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], small);
}

TEST(UdpTransport, WaitFdBecomesReadable) {
  auto ts = start_cluster({"127.0.0.1", "127.0.0.1"});
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_TRUE(ts[1]->prepare_to_sleep());
  pollfd p{ts[1]->rx_wait_fd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0);
  const std::vector<uint8_t> v{42};
  const TxFrame f{1, v};
  ASSERT_EQ(ts[0]->tx_burst(std::span<const TxFrame>(&f, 1)), 1u);
  EXPECT_EQ(poll(&p, 1, 2000), 1);
  ts[1]->after_wakeup();
  EXPECT_EQ(recv_frames(*ts[1], 1, 1s).size(), 1u);
}

TEST(UdpTransport, BindErrorNamesNodeAndAddress) {
  auto ts = start_cluster({"127.0.0.1", "127.0.0.1"});
  ASSERT_EQ(ts.size(), 2u);
  const uint16_t taken = udp(*ts[0]).local_port();
  UdpTransportConfig c;
  c.local = 3;
  c.nodes = {{3, "127.0.0.1", taken}, {4, "127.0.0.1", static_cast<uint16_t>(taken + 1)}};
  auto r = make_udp_transport(c);
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message;
  EXPECT_NE(m.find("node 3"), std::string::npos) << m;
  EXPECT_NE(m.find("127.0.0.1:" + std::to_string(taken)), std::string::npos) << m;
  EXPECT_NE(m.find("in use"), std::string::npos) << m;
}

TEST(UdpTransport, BadAddressesAreRefusedWithoutResolving) {
  UdpTransportConfig c;
  c.local = 0;
  c.nodes = {{0, "127.0.0.300", 0}, {1, "127.0.0.1", 9}};
  auto bad_local = make_udp_transport(c);
  ASSERT_FALSE(bad_local.ok());
  EXPECT_NE(bad_local.error().message.find("'127.0.0.300'"), std::string::npos)
      << bad_local.error().message;

  c.nodes = {{0, "127.0.0.1", 0}, {1, "::1", 9}};  // mixed families
  auto mixed = make_udp_transport(c);
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.error().message.find("node 1"), std::string::npos) << mixed.error().message;

  c.nodes = {{1, "127.0.0.1", 9}};  // local node missing
  EXPECT_FALSE(make_udp_transport(c).ok());
  c.nodes = {{0, "127.0.0.1", 0}, {1, "127.0.0.1", 9}, {1, "127.0.0.1", 10}};  // duplicate id
  EXPECT_FALSE(make_udp_transport(c).ok());
  c.nodes = {{0, "127.0.0.1", 0}, {1, "127.0.0.1", 9}, {2, "127.0.0.1", 9}};  // same endpoint
  EXPECT_FALSE(make_udp_transport(c).ok());
}

TEST(UdpTransport, Ipv6LoopbackWorks) {
  auto probe = socket(AF_INET6, SOCK_DGRAM, 0);
  if (probe < 0) GTEST_SKIP() << "no IPv6";
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool has_v6 = bind(probe, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
  close(probe);
  if (!has_v6) GTEST_SKIP() << "no IPv6 loopback";
  auto ts = start_cluster({"::1", "[::1]"});
  ASSERT_EQ(ts.size(), 2u);
  const std::vector<uint8_t> v{6, 6};
  const TxFrame f{1, v};
  ASSERT_EQ(ts[0]->tx_burst(std::span<const TxFrame>(&f, 1)), 1u);
  std::vector<NodeId> srcs;
  ASSERT_EQ(recv_frames(*ts[1], 1, 2s, &srcs).size(), 1u);
  EXPECT_EQ(srcs[0], 0);
}

}  // namespace
}  // namespace dvmm::dataplane
