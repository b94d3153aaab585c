// Peer authentication: frames tagged with the cluster key pass, frames
// from a holder of another key or altered in flight are dropped and
// counted, the reliability layer runs unchanged on top, and key files are
// checked for format and permissions.
#include "dataplane/authenticated_transport.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>

#include "dataplane/fake_transport.hpp"
#include "dataplane/reliable_link.hpp"

namespace dvmm::dataplane {
namespace {

ClusterKey key_of(uint8_t fill) {
  std::array<uint8_t, ClusterKey::kSize> b{};
  b.fill(fill);
  return ClusterKey::from_bytes(b);
}

// Wraps a fake endpoint; the network outlives it.
std::unique_ptr<AuthenticatedTransport> wrap(FakeNetwork& net, NodeId id, const ClusterKey& key) {
  auto r = AuthenticatedTransport::create(net.endpoint(id), key);
  EXPECT_TRUE(r.ok());
  return std::move(*r);
}

size_t send_and_receive(Transport& from, Transport& to, std::span<const uint8_t> bytes,
                        RxFrame& rx) {
  const TxFrame f{to.local_node(), bytes};
  EXPECT_EQ(from.tx_burst(std::span<const TxFrame>(&f, 1)), 1u);
  from.tx_flush();
  return to.rx_burst(std::span<RxFrame>(&rx, 1));
}

TEST(AuthenticatedTransport, OnlyFramesTaggedWithTheClusterKeyPass) {
  ManualClock clock;
  FakeNetwork net(clock, FakeNetwork::Config{});
  auto a = wrap(net, 0, key_of(1));
  auto b = wrap(net, 1, key_of(1));
  auto stranger = wrap(net, 2, key_of(2));
  auto rx = std::make_unique<RxFrame>();
  const uint8_t msg[] = {1, 2, 3, 4, 5, 6, 7, 8};

  ASSERT_EQ(send_and_receive(*a, *b, msg, *rx), 1u);
  EXPECT_EQ(rx->src, 0);
  ASSERT_EQ(rx->len, sizeof(msg)) << "the tag is removed";
  EXPECT_EQ(std::memcmp(rx->data, msg, sizeof(msg)), 0);
  EXPECT_EQ(a->max_frame_size(), net.endpoint(0).max_frame_size() - AuthenticatedTransport::kTagSize);

  EXPECT_EQ(send_and_receive(*stranger, *b, msg, *rx), 0u) << "another key's frame passed";
  EXPECT_EQ(b->auth_failures(), 1u);

  // Altered in flight: one bit of a correctly tagged frame, then a frame
  // too short to hold a tag, injected below the authentication layer.
  std::vector<uint8_t> wire(sizeof(msg) + AuthenticatedTransport::kTagSize);
  {
    auto c = wrap(net, 3, key_of(1));
    const TxFrame f{3, msg};
    ASSERT_EQ(a->tx_burst(std::span<const TxFrame>(&f, 1)), 1u);
    a->tx_flush();
    RxFrame& raw = *rx;
    ASSERT_EQ(net.endpoint(3).rx_burst(std::span<RxFrame>(&raw, 1)), 1u);
    ASSERT_EQ(raw.len, wire.size());
    std::memcpy(wire.data(), raw.data, wire.size());
  }
  wire[3] ^= 0x10;
  ASSERT_TRUE(net.inject(0, 1, wire).ok());
  ASSERT_TRUE(net.inject(0, 1, std::vector<uint8_t>{1, 2, 3}).ok());
  auto many = std::make_unique<RxFrame[]>(4);
  EXPECT_EQ(b->rx_burst(std::span<RxFrame>(many.get(), 4)), 0u);
  EXPECT_EQ(b->auth_failures(), 3u);
  EXPECT_EQ(b->counters().rx_dropped, 3u);

  // A bad frame between two good ones in one burst: the good ones come out
  // in order, moved up over the gap.
  const uint8_t first[] = {'o', 'n', 'e'};
  const uint8_t second[] = {'t', 'w', 'o', '!'};
  const TxFrame f1{1, first}, f2{1, second};
  ASSERT_EQ(a->tx_burst(std::span<const TxFrame>(&f1, 1)), 1u);
  a->tx_flush();
  ASSERT_TRUE(net.inject(0, 1, wire).ok());
  ASSERT_EQ(a->tx_burst(std::span<const TxFrame>(&f2, 1)), 1u);
  a->tx_flush();
  ASSERT_EQ(b->rx_burst(std::span<RxFrame>(many.get(), 4)), 2u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(many[0].data), many[0].len), "one");
  EXPECT_EQ(std::string(reinterpret_cast<char*>(many[1].data), many[1].len), "two!");
  EXPECT_EQ(b->auth_failures(), 4u);
}

TEST(AuthenticatedTransport, ReliableLinkRunsOnTop) {
  ManualClock clock;
  FakeNetwork net(clock, FakeNetwork::Config{});
  auto a = wrap(net, 0, key_of(7));
  auto b = wrap(net, 1, key_of(7));
  ReliableLink la(*a, clock, ReliableLink::Config{.cluster_id = 1, .local = 0, .peers = {1}});
  ReliableLink lb(*b, clock, ReliableLink::Config{.cluster_id = 1, .local = 1, .peers = {0}});
  for (uint64_t k = 0; k < 100; ++k) {
    Message m;
    m.header.dst_node = 1;
    m.payload = HeartbeatPayload{k};
    ASSERT_TRUE(la.send(std::move(m)).ok());
  }
  uint64_t next = 0;
  for (int i = 0; i < 1000 && !(next == 100 && la.all_acknowledged()); ++i) {
    la.poll([](const Message&) {});
    lb.poll([&](const Message& m) { EXPECT_EQ(std::get<HeartbeatPayload>(m.payload).sent_ns, next++); });
    clock.advance(100'000);
  }
  EXPECT_EQ(next, 100u);
  EXPECT_TRUE(la.all_acknowledged());
  EXPECT_EQ(b->auth_failures(), 0u);
}

class KeyFile : public ::testing::Test {
 protected:
  std::string write(const std::string& text, mode_t mode) {
    const std::string path = ::testing::TempDir() + "/key-" + std::to_string(getpid()) + "-" +
                             std::to_string(counter_++);
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
    paths_.push_back(path);
    return path;
  }
  ~KeyFile() override {
    for (const auto& p : paths_) unlink(p.c_str());
  }
  int counter_ = 0;
  std::vector<std::string> paths_;
};

TEST_F(KeyFile, HexKeyWithPrivatePermissionsLoads) {
  const std::string hex(64, 'a');
  auto k = ClusterKey::load(write(hex + "\n", 0600));
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->bytes()[0], 0xaa);
  EXPECT_EQ(k->bytes()[31], 0xaa);
}

TEST_F(KeyFile, BadKeysAreRefusedWithTheFix) {
  auto open_to_others = ClusterKey::load(write(std::string(64, 'a'), 0644));
  ASSERT_FALSE(open_to_others.ok());
  EXPECT_NE(open_to_others.error().message.find("chmod 600"), std::string::npos);
  auto short_key = ClusterKey::load(write("abcd", 0600));
  ASSERT_FALSE(short_key.ok());
  EXPECT_NE(short_key.error().message.find("not 64 hex digits"), std::string::npos);
  auto not_hex = ClusterKey::load(write(std::string(64, 'g'), 0600));
  EXPECT_FALSE(not_hex.ok());
  auto missing = ClusterKey::load("/nonexistent/cluster.key");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/cluster.key"), std::string::npos);
}

}  // namespace
}  // namespace dvmm::dataplane
