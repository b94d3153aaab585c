#include "dataplane/shm_transport.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace dvmm::dataplane {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A unique /dev/shm file per test (pid + counter), removed on every path.
class ShmFile {
 public:
  ShmFile() {
    static std::atomic<int> counter{0};
    path_ = "/dev/shm/dvmm-shm-test-" + std::to_string(getpid()) + "-" +
            std::to_string(counter.fetch_add(1));
    (void)ShmTransport::unlink(path_);
  }
  ~ShmFile() { (void)ShmTransport::unlink(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

ShmTransportConfig config(const ShmFile& f, NodeId local, uint16_t nodes,
                          size_t ring_bytes = ShmTransport::kMinRingBytes) {
  ShmTransportConfig c;
  c.path = f.path();
  c.local = local;
  c.node_count = nodes;
  c.ring_bytes = ring_bytes;
  c.cluster_id = 7;
  return c;
}

std::unique_ptr<Transport> open_ok(const ShmTransportConfig& c) {
  auto r = make_shm_transport(c);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : nullptr;
}

// Frame k: its length and a byte pattern both derived from k, so that any
// loss, reorder or corruption shows.
std::vector<uint8_t> make_frame(uint32_t k, size_t len) {
  std::vector<uint8_t> v(len);
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<uint8_t>(k * 131u + i * 7u);
  if (len >= 4) std::memcpy(v.data(), &k, 4);
  return v;
}

bool send_one(Transport& t, NodeId dst, std::span<const uint8_t> bytes) {
  const TxFrame f{dst, bytes};
  const size_t n = t.tx_burst(std::span<const TxFrame>(&f, 1));
  t.tx_flush();
  return n == 1;
}

// Receives up to `want` frames within `timeout` (polls with short sleeps:
// bounded, and never monopolises one of the two shared cores).
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
    if (n == 0) std::this_thread::sleep_for(100us);
  }
  return got;
}

TEST(ShmTransport, TwoEndpointsExchangeFramesInOrder) {
  ShmFile f;
  auto a = open_ok(config(f, 0, 2));
  auto b = open_ok(config(f, 1, 2));
  ASSERT_TRUE(a && b);
  EXPECT_STREQ(a->name(), "shm");
  EXPECT_EQ(a->max_frame_size(), kMaxFrameSize);
  EXPECT_EQ(b->local_node(), 1);

  // More than a ring's worth in total, so the ring is reused several times;
  // the receiver drains between bursts.
  constexpr uint32_t kFrames = 2000;
  uint32_t sent = 0;
  uint32_t received = 0;
  auto rx = std::make_unique<RxFrame[]>(32);
  const auto end = Clock::now() + 10s;
  while (received < kFrames && Clock::now() < end) {
    std::vector<std::vector<uint8_t>> bufs;
    std::vector<TxFrame> burst;
    for (uint32_t k = sent; k < std::min(kFrames, sent + 16); ++k) {
      bufs.push_back(make_frame(k, 4 + k % 300));
    }
    for (const auto& v : bufs) burst.push_back(TxFrame{1, v});
    sent += static_cast<uint32_t>(a->tx_burst(burst));
    a->tx_flush();
    const size_t n = b->rx_burst(std::span<RxFrame>(rx.get(), 32));
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(rx[i].src, 0);
      const auto want = make_frame(received, 4 + received % 300);
      ASSERT_EQ(rx[i].len, want.size()) << "frame " << received;
      ASSERT_EQ(0, std::memcmp(rx[i].data, want.data(), want.size())) << "frame " << received;
      ++received;
    }
  }
  EXPECT_EQ(received, kFrames);
  EXPECT_EQ(a->counters().tx_frames, kFrames);
  EXPECT_EQ(b->counters().rx_frames, kFrames);
  EXPECT_EQ(b->counters().rx_dropped, 0u);

  // And the other direction.
  const auto reply = make_frame(99, 64);
  ASSERT_TRUE(send_one(*b, 0, reply));
  std::vector<NodeId> srcs;
  const auto got = recv_frames(*a, 1, 2s, &srcs);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], reply);
  EXPECT_EQ(srcs[0], 1);
}

TEST(ShmTransport, ThreeNodesSeeTheirSources) {
  ShmFile f;
  std::unique_ptr<Transport> t[3];
  for (NodeId n = 0; n < 3; ++n) {
    t[n] = open_ok(config(f, n, 3));
    ASSERT_TRUE(t[n]);
  }
  for (NodeId s = 0; s < 3; ++s) {
    for (NodeId d = 0; d < 3; ++d) {
      if (s == d) continue;
      const std::vector<uint8_t> v{static_cast<uint8_t>(s), static_cast<uint8_t>(d)};
      ASSERT_TRUE(send_one(*t[s], d, v));
    }
  }
  for (NodeId d = 0; d < 3; ++d) {
    std::vector<NodeId> srcs;
    const auto got = recv_frames(*t[d], 2, 2s, &srcs);
    ASSERT_EQ(got.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(got[i][0], srcs[i]);
      EXPECT_EQ(got[i][1], d);
    }
    EXPECT_NE(srcs[0], srcs[1]);
  }
}

TEST(ShmTransport, FullRingTakesFewerAndRecovers) {
  ShmFile f;
  auto a = open_ok(config(f, 0, 2));
  auto b = open_ok(config(f, 1, 2));
  ASSERT_TRUE(a && b);
  // 1 KiB frames take 1032 bytes each: 31 fit in a 32 KiB ring.
  const std::vector<uint8_t> kib(1024, 0xab);
  std::vector<TxFrame> burst(100, TxFrame{1, kib});
  const size_t taken = a->tx_burst(burst);
  a->tx_flush();
  EXPECT_EQ(taken, ShmTransport::kMinRingBytes / (8 + 1024));
  EXPECT_EQ(a->tx_burst(burst), 0u);
  EXPECT_EQ(a->counters().tx_dropped, 0u);  // not taken is not dropped

  // Draining one frame makes room for exactly one more.
  RxFrame rx;
  ASSERT_EQ(b->rx_burst(std::span<RxFrame>(&rx, 1)), 1u);
  EXPECT_EQ(a->tx_burst(burst), 1u);
  const auto got = recv_frames(*b, taken, 2s);
  EXPECT_EQ(got.size(), taken);  // taken - 1 + the new one
  EXPECT_EQ(b->rx_burst(std::span<RxFrame>(&rx, 1)), 0u);
}

TEST(ShmTransport, WrapAroundWithVariedSizes) {
  ShmFile f;
  auto a = open_ok(config(f, 0, 2));
  auto b = open_ok(config(f, 1, 2));
  ASSERT_TRUE(a && b);
  // Sizes from 1 byte to kMaxFrameSize in a 32 KiB ring: every record
  // alignment and many skip records at the wrap point.
  std::mt19937 rng(12345);
  std::vector<size_t> sizes = {1, 2, 7, 8, 9, 15, 16, 17, kMaxFrameSize, kMaxFrameSize - 1, 0};
  for (int i = 0; i < 3000; ++i) {
    sizes.push_back(rng() % 4 == 0 ? kMaxFrameSize - rng() % 8 : 1 + rng() % kMaxFrameSize);
  }
  size_t next_tx = 0;
  size_t next_rx = 0;
  auto rx = std::make_unique<RxFrame[]>(4);
  const auto end = Clock::now() + 20s;
  while (next_rx < sizes.size() && Clock::now() < end) {
    if (next_tx < sizes.size()) {
      const auto v = make_frame(static_cast<uint32_t>(next_tx), sizes[next_tx]);
      const TxFrame fr{1, v};
      next_tx += a->tx_burst(std::span<const TxFrame>(&fr, 1));
      a->tx_flush();
    }
    // Receive a little less often than we send, so the ring fills up too.
    if (next_tx % 3 != 0 || next_tx == sizes.size()) {
      const size_t n = b->rx_burst(std::span<RxFrame>(rx.get(), 4));
      for (size_t i = 0; i < n; ++i, ++next_rx) {
        const auto want = make_frame(static_cast<uint32_t>(next_rx), sizes[next_rx]);
        ASSERT_EQ(rx[i].len, want.size()) << "frame " << next_rx;
        ASSERT_TRUE(want.empty() || std::memcmp(rx[i].data, want.data(), want.size()) == 0)
            << "frame " << next_rx;
      }
    }
  }
  EXPECT_EQ(next_rx, sizes.size());
  EXPECT_GT(a->counters().tx_bytes, 20 * ShmTransport::kMinRingBytes);  // many laps
  EXPECT_EQ(b->counters().rx_dropped, 0u);
}

TEST(ShmTransport, OversizeSelfAndUnknownDestinationsAreTakenAndDropped) {
  ShmFile f;
  auto a = open_ok(config(f, 0, 2));
  auto b = open_ok(config(f, 1, 2));
  ASSERT_TRUE(a && b);
  const std::vector<uint8_t> big(kMaxFrameSize + 1, 1);
  const std::vector<uint8_t> small(8, 2);
  const TxFrame burst[] = {{1, big}, {5, small}, {0, small}, {1, small}};
  EXPECT_EQ(a->tx_burst(burst), 4u);
  a->tx_flush();
  EXPECT_EQ(a->counters().tx_dropped, 3u);
  EXPECT_EQ(a->counters().tx_frames, 1u);
  const auto got = recv_frames(*b, 1, 2s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], small);
}

TEST(ShmTransport, DoorbellWakesASleepingConsumer) {
  ShmFile f;
  auto a = open_ok(config(f, 0, 2));
  auto b = open_ok(config(f, 1, 2));
  ASSERT_TRUE(a && b);
  auto* sa = dynamic_cast<ShmTransport*>(a.get());
  ASSERT_NE(sa, nullptr);

  // While the consumer is awake, sending rings no doorbell.
  ASSERT_TRUE(send_one(*a, 1, make_frame(1, 10)));
  EXPECT_EQ(sa->doorbells_sent(), 0u);
  // Frames waiting: not allowed to sleep.
  EXPECT_FALSE(b->prepare_to_sleep());
  ASSERT_EQ(recv_frames(*b, 1, 2s).size(), 1u);

  ASSERT_TRUE(b->prepare_to_sleep());
  pollfd p{b->rx_wait_fd(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 0), 0);  // nothing yet

  std::thread producer([&] {
    std::this_thread::sleep_for(20ms);
    (void)send_one(*a, 1, make_frame(2, 100));
  });
  const auto t0 = Clock::now();
  const int r = poll(&p, 1, 5000);
  const auto waited = Clock::now() - t0;
  producer.join();
  ASSERT_EQ(r, 1);
  EXPECT_LT(waited, 2s);
  b->after_wakeup();
  EXPECT_EQ(sa->doorbells_sent(), 1u);
  EXPECT_EQ(poll(&p, 1, 0), 0);  // drained
  const auto got = recv_frames(*b, 1, 2s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], make_frame(2, 100));

  // After waking, the consumer is awake again: no further doorbells.
  ASSERT_TRUE(send_one(*a, 1, make_frame(3, 10)));
  EXPECT_EQ(sa->doorbells_sent(), 1u);
}

TEST(ShmTransport, OneDoorbellPerSleepFromSeveralProducers) {
  ShmFile f;
  std::unique_ptr<Transport> t[3];
  for (NodeId n = 0; n < 3; ++n) {
    t[n] = open_ok(config(f, n, 3));
    ASSERT_TRUE(t[n]);
  }
  ASSERT_TRUE(t[0]->prepare_to_sleep());
  ASSERT_TRUE(send_one(*t[1], 0, make_frame(1, 8)));
  ASSERT_TRUE(send_one(*t[2], 0, make_frame(2, 8)));
  ASSERT_TRUE(send_one(*t[1], 0, make_frame(3, 8)));
  const uint64_t bells = dynamic_cast<ShmTransport&>(*t[1]).doorbells_sent() +
                         dynamic_cast<ShmTransport&>(*t[2]).doorbells_sent();
  EXPECT_EQ(bells, 1u);
  pollfd p{t[0]->rx_wait_fd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 1000), 1);
  t[0]->after_wakeup();
  EXPECT_EQ(recv_frames(*t[0], 3, 2s).size(), 3u);
}

TEST(ShmTransport, AllZeroFileIsAValidEmptyRingSet) {
  ShmFile f;
  // Whoever creates the file leaves it all zero (as ftruncate does).
  {
    const int fd = open(f.path().c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, static_cast<off_t>(ShmTransport::file_bytes(2, 1 << 16))), 0);
    close(fd);
  }
  auto a = open_ok(config(f, 0, 2, 1 << 16));
  auto b = open_ok(config(f, 1, 2, 1 << 16));
  ASSERT_TRUE(a && b);
  RxFrame rx;
  EXPECT_EQ(a->rx_burst(std::span<RxFrame>(&rx, 1)), 0u);
  EXPECT_EQ(b->rx_burst(std::span<RxFrame>(&rx, 1)), 0u);
  EXPECT_TRUE(a->prepare_to_sleep());
  a->after_wakeup();
  ASSERT_TRUE(send_one(*a, 1, make_frame(5, 33)));
  EXPECT_EQ(recv_frames(*b, 1, 2s).size(), 1u);
}

TEST(ShmTransport, NodesOpenInEitherOrder) {
  for (const bool receiver_first : {false, true}) {
    SCOPED_TRACE(receiver_first ? "receiver first" : "sender first");
    ShmFile f;
    std::unique_ptr<Transport> rx;
    if (receiver_first) rx = open_ok(config(f, 0, 3));
    auto tx = open_ok(config(f, 2, 3));
    ASSERT_TRUE(tx);
    // Frames sent before the receiver exists wait in the file.
    ASSERT_TRUE(send_one(*tx, 0, make_frame(1, 50)));
    ASSERT_TRUE(send_one(*tx, 0, make_frame(2, 60)));
    if (!receiver_first) rx = open_ok(config(f, 0, 3));
    ASSERT_TRUE(rx);
    std::vector<NodeId> srcs;
    const auto got = recv_frames(*rx, 2, 2s, &srcs);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], make_frame(1, 50));
    EXPECT_EQ(got[1], make_frame(2, 60));
    EXPECT_EQ(srcs[0], 2);
  }
}

TEST(ShmTransport, ReopenResumesWhereTheRingIs) {
  ShmFile f;
  auto a = open_ok(config(f, 0, 2));
  auto b = open_ok(config(f, 1, 2));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(send_one(*a, 1, make_frame(1, 10)));
  ASSERT_EQ(recv_frames(*b, 1, 2s).size(), 1u);
  ASSERT_TRUE(send_one(*a, 1, make_frame(2, 20)));
  a.reset();
  b.reset();
  // Both ends restart: nothing consumed twice, the waiting frame delivered.
  a = open_ok(config(f, 0, 2));
  b = open_ok(config(f, 1, 2));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(send_one(*a, 1, make_frame(3, 30)));
  const auto got = recv_frames(*b, 2, 2s);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], make_frame(2, 20));
  EXPECT_EQ(got[1], make_frame(3, 30));
  RxFrame rx;
  EXPECT_EQ(b->rx_burst(std::span<RxFrame>(&rx, 1)), 0u);
}

TEST(ShmTransport, MismatchedGeometryOrClusterIsRefused) {
  ShmFile f;
  auto a = open_ok(config(f, 0, 2));
  ASSERT_TRUE(a);
  auto other_count = make_shm_transport(config(f, 1, 3));
  ASSERT_FALSE(other_count.ok());
  EXPECT_NE(other_count.error().message.find("node_count"), std::string::npos)
      << other_count.error().message;
  auto other_ring = make_shm_transport(config(f, 1, 2, 1 << 16));
  ASSERT_FALSE(other_ring.ok());
  EXPECT_NE(other_ring.error().message.find("ring_bytes"), std::string::npos);
  auto c = config(f, 1, 2);
  c.cluster_id = 8;
  auto other_cluster = make_shm_transport(c);
  ASSERT_FALSE(other_cluster.ok());
  EXPECT_NE(other_cluster.error().message.find("cluster_id"), std::string::npos);
  // The file was not damaged: the right configuration still works.
  EXPECT_TRUE(open_ok(config(f, 1, 2)));
}

TEST(ShmTransport, BadConfigAndDuplicateNodeAreRefused) {
  ShmFile f;
  EXPECT_FALSE(make_shm_transport(config(f, 2, 2)).ok());          // local >= node_count
  EXPECT_FALSE(make_shm_transport(config(f, 0, 1)).ok());          // one node
  EXPECT_FALSE(make_shm_transport(config(f, 0, 2, 50'000)).ok());  // not a power of two
  EXPECT_FALSE(make_shm_transport(config(f, 0, 2, 4096)).ok());    // too small
  auto a = open_ok(config(f, 0, 2));
  ASSERT_TRUE(a);
  auto dup = make_shm_transport(config(f, 0, 2));
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("already open"), std::string::npos) << dup.error().message;
}

TEST(ShmTransport, UnlinkRemovesTheFile) {
  ShmFile f;
  { auto a = open_ok(config(f, 0, 2)); }
  struct stat st {};
  ASSERT_EQ(stat(f.path().c_str(), &st), 0);
  EXPECT_TRUE(ShmTransport::unlink(f.path()).ok());
  EXPECT_NE(stat(f.path().c_str(), &st), 0);
  EXPECT_TRUE(ShmTransport::unlink(f.path()).ok());  // already gone: fine
}

// Kills and reaps the child on every path out of the test.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // The child's exit status, or -1 if it did not exit within `timeout`.
  int wait(std::chrono::milliseconds timeout) {
    const auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(1ms);
    }
    return -1;
  }

 private:
  pid_t pid_;
};

// Child process: node 1 echoes kFrames frames back to node 0, sleeping on
// its doorbell between them. Exit codes name the step that failed.
constexpr uint32_t kEchoFrames = 200;
[[noreturn]] void echo_child(const ShmTransportConfig& c) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
  alarm(20);
  auto r = make_shm_transport(c);
  if (!r.ok()) _exit(10);
  Transport& t = **r;
  auto rx = std::make_unique<RxFrame[]>(8);
  uint32_t echoed = 0;
  while (echoed < kEchoFrames) {
    const size_t n = t.rx_burst(std::span<RxFrame>(rx.get(), 8));
    for (size_t i = 0; i < n; ++i) {
      const TxFrame f{rx[i].src, std::span<const uint8_t>(rx[i].data, rx[i].len)};
      const auto end = Clock::now() + 5s;
      while (t.tx_burst(std::span<const TxFrame>(&f, 1)) != 1) {
        if (Clock::now() > end) _exit(11);
        std::this_thread::sleep_for(100us);
      }
      ++echoed;
    }
    t.tx_flush();
    if (n == 0 && t.prepare_to_sleep()) {
      pollfd p{t.rx_wait_fd(), POLLIN, 0};
      if (poll(&p, 1, 5000) != 1) _exit(12);  // the doorbell never came
      t.after_wakeup();
    }
  }
  _exit(0);
}

TEST(ShmTransport, EchoAcrossAForkedProcess) {
  ShmFile f;
  // The parent opens first here; the child's open races with our sends,
  // which the layout allows.
  auto a = open_ok(config(f, 0, 2));
  ASSERT_TRUE(a);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) echo_child(config(f, 1, 2));
  Child child(pid);

  uint32_t received = 0;
  auto rx = std::make_unique<RxFrame[]>(8);
  const auto end = Clock::now() + 15s;
  for (uint32_t k = 0; k < kEchoFrames && Clock::now() < end; ++k) {
    // One frame at a time, waiting on our own doorbell for the echo: a
    // ping-pong that exercises both sleeping sides.
    const auto v = make_frame(k, 1 + (k * 97) % kMaxFrameSize);
    ASSERT_TRUE(send_one(*a, 1, v));
    bool got = false;
    while (!got && Clock::now() < end) {
      const size_t n = a->rx_burst(std::span<RxFrame>(rx.get(), 8));
      if (n == 1) {
        ASSERT_EQ(rx[0].src, 1);
        ASSERT_EQ(rx[0].len, v.size()) << "echo " << k;
        ASSERT_EQ(0, std::memcmp(rx[0].data, v.data(), v.size())) << "echo " << k;
        got = true;
        ++received;
      } else if (n == 0 && a->prepare_to_sleep()) {
        pollfd p{a->rx_wait_fd(), POLLIN, 0};
        (void)poll(&p, 1, 1000);
        a->after_wakeup();
      }
    }
  }
  EXPECT_EQ(received, kEchoFrames);
  EXPECT_EQ(child.wait(5s), 0);
}

}  // namespace
}  // namespace dvmm::dataplane
