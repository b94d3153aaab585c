// A cluster over the dpdk transport: smp-test with 4 vCPUs on 2 nodes, each
// node in its own network namespace on a net_af_packet port (veths and a
// bridge that `dvmm run` creates), and over net_memif between the two node
// processes. Also: the namespaces are removed when a node fails, and those
// of a launcher killed with SIGKILL (which cannot clean up) are removed by
// the next `dvmm run`.
//
// Needs root (DPDK's PMDs, network namespaces) and KVM.
#include <gtest/gtest.h>

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/instance_files.hpp"
#include "tests/support/smp_test_output.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_file.hpp"

namespace dvmm {
namespace {

std::string config_path(const std::string& name) {
  return std::string(DVMM_CONFIGS_DIR) + "/" + name + ".toml";
}

// Network namespaces of cluster instances started by the launcher `pid`
// (named dvmm-<cluster id>-<pid>-...).
std::vector<std::string> namespaces_of(pid_t launcher) {
  std::vector<std::string> found;
  const std::string tag = "-" + std::to_string(launcher) + "-";
  DIR* d = opendir("/run/netns");
  if (d == nullptr) return found;
  while (const dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n.rfind("dvmm-", 0) == 0 && n.find(tag) != std::string::npos) found.push_back(n);
  }
  closedir(d);
  return found;
}

bool instance_files_left(pid_t launcher) { return !test::instance_files_of(launcher).empty(); }

// Removes what a failed test left (the next dvmm run would too).
struct NamespaceSweeper {
  std::vector<pid_t> launchers;
  ~NamespaceSweeper() {
    for (pid_t p : launchers) {
      for (const auto& n : namespaces_of(p)) {
        (void)test::run_process({"ip", "netns", "del", n}, std::chrono::seconds(10));
      }
    }
  }
};

// The namespace config with `extra` appended to node 1's table.
test::TempFile netns_config_with(const std::string& vm_cmdline, const std::string& node1_extra) {
  std::ifstream in(config_path("two-nodes-dpdk-netns"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!vm_cmdline.empty()) {
    text.replace(text.find("[vm]\n"), 5, "[vm]\ncmdline = \"" + vm_cmdline + "\"\n");
  }
  text += node1_extra;
  test::TempFile file(::testing::TempDir() + "/dpdk-netns-" + std::to_string(getpid()) + "-" +
                      std::to_string(std::hash<std::string>{}(vm_cmdline + node1_extra)) + ".toml");
  std::ofstream(file.path()) << text;
  return file;
}

class ClusterDpdk : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root (DPDK PMDs and network namespaces); run the tests as root";
    }
  }
};

TEST_P(ClusterDpdk, SmpTestPassesAcrossNodes) {
  DVMM_REQUIRE_KVM();
  test::Child dvmm({DVMM_BINARY, "run", config_path(GetParam())});
  NamespaceSweeper sweep{{dvmm.pid()}};
  auto r = dvmm.wait(std::chrono::seconds(240));
  SCOPED_TRACE("stdout:\n" + r.out + "\nstderr:\n" + r.err);
  ASSERT_FALSE(r.timed_out) << "the cluster did not finish within 240 s";
  test::expect_smp_test_passed(r.out, 4);
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_TRUE(test::child_pids(dvmm.pid()).empty());
  EXPECT_FALSE(instance_files_left(dvmm.pid()));
  EXPECT_TRUE(namespaces_of(dvmm.pid()).empty());
}

INSTANTIATE_TEST_SUITE_P(Configs, ClusterDpdk,
                         ::testing::Values("two-nodes-dpdk-netns", "two-nodes-dpdk-memif"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

using ClusterDpdkFailure = ClusterDpdk;

TEST_F(ClusterDpdkFailure, NamespacesAreRemovedWhenANodeCannotStartDpdk) {
  DVMM_REQUIRE_KVM();
  const test::TempFile config = netns_config_with("", "eal_args = [\"--no-such-eal-option\"]\n");
  test::Child dvmm({DVMM_BINARY, "run", config.path()});
  NamespaceSweeper sweep{{dvmm.pid()}};
  auto r = dvmm.wait(std::chrono::seconds(60));
  SCOPED_TRACE("stderr:\n" + r.err);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_NE(r.err.find("node 1: dpdk: EAL initialisation failed"), std::string::npos);
  EXPECT_NE(r.err.find("--no-such-eal-option"), std::string::npos);
  EXPECT_TRUE(test::child_pids(dvmm.pid()).empty());
  EXPECT_TRUE(namespaces_of(dvmm.pid()).empty());
}

TEST_F(ClusterDpdkFailure, NextRunRemovesTheNamespacesOfAKilledLauncher) {
  DVMM_REQUIRE_KVM();
  pid_t killed = -1;
  NamespaceSweeper sweep;
  {
    const test::TempFile config = netns_config_with("idle", "");
    test::Child dvmm({DVMM_BINARY, "run", config.path()});
    killed = dvmm.pid();
    sweep.launchers.push_back(killed);
    ASSERT_TRUE(dvmm.wait_for_output("smp-test: idle", std::chrono::seconds(120)))
        << dvmm.out() << dvmm.err();
    // Two nodes and the switch.
    EXPECT_EQ(namespaces_of(killed).size(), 3u);
    dvmm.signal(SIGKILL);  // the launcher alone: its nodes die with it (PDEATHSIG)
    auto r = dvmm.wait(std::chrono::seconds(20));
    EXPECT_FALSE(r.timed_out);
  }
  ASSERT_EQ(namespaces_of(killed).size(), 3u) << "a SIGKILLed launcher cannot clean up";

  // Any later run with namespaces sweeps them, even one that fails.
  const test::TempFile config = netns_config_with("", "eal_args = [\"--no-such-eal-option\"]\n");
  test::Child next({DVMM_BINARY, "run", config.path()});
  sweep.launchers.push_back(next.pid());
  auto r = next.wait(std::chrono::seconds(60));
  SCOPED_TRACE("stderr:\n" + r.err);
  EXPECT_NE(r.err.find("removed 3 network namespace(s) left by dvmm runs that were killed"),
            std::string::npos);
  EXPECT_TRUE(namespaces_of(killed).empty());
  EXPECT_TRUE(namespaces_of(next.pid()).empty());
}

}  // namespace
}  // namespace dvmm
