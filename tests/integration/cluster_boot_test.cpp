// One guest over several node processes: smp-test with 4 vCPUs on 2 and on
// 4 nodes, over shm and over udp, must pass exactly as on one node. Also:
// killing a node stops the cluster naming it, Ctrl-C stops every node, and
// nothing is left behind.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/smp_test_output.hpp"
#include "tests/support/subprocess.hpp"

namespace dvmm {
namespace {

std::string config_path(const std::string& name) {
  return std::string(DVMM_CONFIGS_DIR) + "/" + name + ".toml";
}

// Files of cluster instances started by the launcher with this pid.
bool instance_files_left(pid_t launcher) {
  const std::string suffix = "-" + std::to_string(launcher) + "-";
  for (const auto& e : std::filesystem::directory_iterator("/dev/shm")) {
    std::string name = e.path().filename().string();
    if (name.rfind("dvmm-", 0) == 0 && name.find(suffix) != std::string::npos) return true;
  }
  return false;
}

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

// A two-node shm cluster whose guest stays up after its tests.
std::string idle_config() {
  std::string path = ::testing::TempDir() + "/idle-cluster-" + std::to_string(getpid()) + ".toml";
  std::ofstream f(path);
  f << "[vm]\nvcpus = 4\nmemory = \"64M\"\ncmdline = \"idle\"\n"
       "[cluster]\nid = 9\ntransport = \"shm\"\n"
       "[[node]]\nid = 0\nvcpus = [0, 1]\n"
       "[[node]]\nid = 1\nvcpus = [2, 3]\n";
  return path;
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
  test::Child dvmm({DVMM_BINARY, "run", idle_config()});
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
  test::Child dvmm({DVMM_BINARY, "run", idle_config()});
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
