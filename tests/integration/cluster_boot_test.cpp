// One guest over several node processes: smp-test with 4 vCPUs on 2 and on
// 4 nodes, over shm and over udp, must pass exactly as on one node. Also:
// killing a node stops the cluster naming it, Ctrl-C stops every node, and
// nothing is left behind.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/smp_test_output.hpp"
#include "tests/support/instance_files.hpp"
#include "tests/support/node_stats.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_file.hpp"

namespace dvmm {
namespace {

std::string config_path(const std::string& name) {
  return std::string(DVMM_CONFIGS_DIR) + "/" + name + ".toml";
}

bool instance_files_left(pid_t launcher) { return !test::instance_files_of(launcher).empty(); }

class ClusterBoot : public ::testing::TestWithParam<std::string> {};

TEST_P(ClusterBoot, SmpTestPassesAcrossNodes) {
  DVMM_REQUIRE_KVM();
  test::Child dvmm({DVMM_BINARY, "run", config_path(GetParam())});
  auto r = dvmm.wait(std::chrono::seconds(240));
  SCOPED_TRACE("stdout:\n" + r.out + "\nstderr:\n" + r.err);
  ASSERT_FALSE(r.timed_out) << "the cluster did not finish within 240 s";
  test::expect_smp_test_passed(r.out, 4);
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_TRUE(test::child_pids(dvmm.pid()).empty());
  EXPECT_FALSE(instance_files_left(dvmm.pid()));
}

INSTANTIATE_TEST_SUITE_P(Configs, ClusterBoot,
                         ::testing::Values("two-nodes-shm", "four-nodes-shm", "two-nodes-udp",
                                           "four-nodes-udp", "two-nodes-shm-dsm"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

// configs/two-nodes-udp.toml on ports of this test process's own (the
// shipped 7100 may be in use by a test running beside this one), with
// `cluster_extra` appended to its [cluster] table.
test::TempFile private_udp_config(const std::string& name, const std::string& cluster_extra) {
  std::ifstream in(config_path("two-nodes-udp"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string port = std::to_string(20000 + getpid() % 20000);
  for (size_t at = text.find(":7100"); at != std::string::npos; at = text.find(":7100", at + 1)) {
    text.replace(at + 1, 4, port);
  }
  text.replace(text.find("transport = \"udp\""), 17, "transport = \"udp\"\n" + cluster_extra);
  test::TempFile file(::testing::TempDir() + "/" + name + "-" + std::to_string(getpid()) + ".toml");
  std::ofstream(file.path()) << text;
  return file;
}

// --stats-json: every node writes its counters; with DSM the node without
// the initial copy of guest RAM must have faulted pages in over the wire.
TEST(ClusterStats, EveryNodeWritesItsCountersAsJson) {
  DVMM_REQUIRE_KVM();
  const std::string pattern =
      ::testing::TempDir() + "/stats-" + std::to_string(getpid()) + "-{node}.json";
  const test::TempFile config = private_udp_config("stats", "");
  auto r = test::run_process({DVMM_BINARY, "run", config.path(), "--stats-json", pattern},
                             std::chrono::seconds(240));
  SCOPED_TRACE("stderr:\n" + r.err);
  ASSERT_EQ(r.exit_status, 0);
  for (int id : {0, 1}) {
    const auto j = test::take_node_stats(pattern, id);
    ASSERT_FALSE(j.is_null()) << "node " << id << " wrote no statistics (or not JSON)";
    EXPECT_EQ(j.at("node"), id);
    EXPECT_EQ(j.at("transport"), "udp");
    EXPECT_EQ(j.at("memory"), "dsm");
    EXPECT_GT(j.at("link").at("delivered").get<uint64_t>(), 0u);
    EXPECT_EQ(j.at("link").at("malformed").get<uint64_t>(), 0u);
    EXPECT_GT(j.at("transport_counters").at("rx_frames").get<uint64_t>(), 0u);
    const auto& dsm = j.at("dsm");
    EXPECT_EQ(dsm.at("rejected").get<uint64_t>(), 0u);
    EXPECT_EQ(dsm.at("uffd_errors").get<uint64_t>(), 0u);
    if (id == 1) {
      EXPECT_GT(dsm.at("faults").at("read").get<uint64_t>() +
                    dsm.at("faults").at("write").get<uint64_t>(),
                0u);
      EXPECT_GT(dsm.at("pages_received").get<uint64_t>(), 0u);
      EXPECT_GT(dsm.at("blocked_ns").get<uint64_t>(), 0u);
    } else {
      EXPECT_GT(dsm.at("pages_sent").get<uint64_t>(), 0u);
    }
  }
}

// cluster.key_file: every frame carries a tag made with the shared key; the
// guest runs as without it, and a key others can read is refused up front.
TEST(ClusterAuth, AuthenticatedClusterRunsAndAnOpenKeyIsRefused) {
  DVMM_REQUIRE_KVM();
  const std::string dir = ::testing::TempDir();
  const std::string tag = std::to_string(getpid());
  const std::string key = dir + "/auth-" + tag + ".key";
  const std::string stats = dir + "/auth-" + tag + "-{node}.json";
  std::ofstream(key) << std::string(64, 'c') << "\n";
  chmod(key.c_str(), 0600);
  const test::TempFile config = private_udp_config("auth", "key_file = \"" + key + "\"");
  auto r = test::run_process({DVMM_BINARY, "run", config.path(), "--stats-json", stats},
                             std::chrono::seconds(240));
  SCOPED_TRACE("stdout:\n" + r.out + "\nstderr:\n" + r.err);
  test::expect_smp_test_passed(r.out, 4);
  EXPECT_EQ(r.exit_status, 0);
  for (int id : {0, 1}) {
    const auto j = test::take_node_stats(stats, id);
    ASSERT_FALSE(j.is_null()) << "node " << id << " wrote no statistics (or not JSON)";
    EXPECT_TRUE(j.at("authenticated").get<bool>());
    EXPECT_EQ(j.at("link").at("unauthenticated").get<uint64_t>(), 0u);
    EXPECT_GT(j.at("link").at("delivered").get<uint64_t>(), 0u);
  }

  chmod(key.c_str(), 0644);
  auto open_key = test::run_process({DVMM_BINARY, "run", config.path()}, std::chrono::seconds(30));
  EXPECT_EQ(open_key.exit_status, 2);
  EXPECT_NE(open_key.err.find("chmod 600"), std::string::npos) << open_key.err;
  std::filesystem::remove(key);
}

// A two-node shm cluster whose guest stays up after its tests.
test::TempFile idle_config() {
  test::TempFile file(::testing::TempDir() + "/idle-cluster-" + std::to_string(getpid()) + ".toml");
  std::ofstream f(file.path());
  f << "[vm]\nvcpus = 4\nmemory = \"64M\"\ncmdline = \"idle\"\n"
       "[cluster]\nid = 9\ntransport = \"shm\"\n"
       "[[node]]\nid = 0\nvcpus = [0, 1]\n"
       "[[node]]\nid = 1\nvcpus = [2, 3]\n";
  return file;
}

pid_t find_node(pid_t launcher, int id) {
  for (pid_t p : test::child_pids(launcher)) {
    if (test::process_cmdline(p).find("--id " + std::to_string(id) + " ") != std::string::npos) {
      return p;
    }
  }
  return -1;
}

TEST(ClusterFailure, KillingANodeStopsTheClusterNamingIt) {
  DVMM_REQUIRE_KVM();
  const test::TempFile config = idle_config();
  test::Child dvmm({DVMM_BINARY, "run", config.path()});
  ASSERT_TRUE(dvmm.wait_for_output("smp-test: idle", std::chrono::seconds(120)))
      << dvmm.out() << dvmm.err();
  pid_t node1 = find_node(dvmm.pid(), 1);
  ASSERT_GT(node1, 0) << "node 1 not found among the launcher's children";
  const auto killed_at = std::chrono::steady_clock::now();
  kill(node1, SIGKILL);
  auto r = dvmm.wait(std::chrono::seconds(20));
  const auto took = std::chrono::steady_clock::now() - killed_at;
  SCOPED_TRACE("stderr:\n" + r.err);
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(took, std::chrono::seconds(10));
  EXPECT_NE(r.exit_status, 0);
  EXPECT_NE(r.err.find("node 1"), std::string::npos);
  EXPECT_TRUE(test::child_pids(dvmm.pid()).empty());
  EXPECT_FALSE(instance_files_left(dvmm.pid()));
}

TEST(ClusterFailure, CtrlCStopsEveryNode) {
  DVMM_REQUIRE_KVM();
  const test::TempFile config = idle_config();
  test::Child dvmm({DVMM_BINARY, "run", config.path()});
  ASSERT_TRUE(dvmm.wait_for_output("smp-test: idle", std::chrono::seconds(120)))
      << dvmm.out() << dvmm.err();
  std::vector<pid_t> nodes = test::child_pids(dvmm.pid());
  ASSERT_EQ(nodes.size(), 2u);
  dvmm.signal(SIGINT, /*whole_group=*/true);  // what a terminal's Ctrl-C does
  auto r = dvmm.wait(std::chrono::seconds(20));
  SCOPED_TRACE("stderr:\n" + r.err);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_status, 128 + SIGINT);
  for (pid_t p : nodes) EXPECT_NE(kill(p, 0), 0) << "node process " << p << " still exists";
  EXPECT_FALSE(instance_files_left(dvmm.pid()));
}

}  // namespace
}  // namespace dvmm
