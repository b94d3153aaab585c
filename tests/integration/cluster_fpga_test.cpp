// The fpga transport end to end: smp-test with 4 vCPUs on 2 node processes
// whose dataplane is the co-simulated FPGA engine (each node runs the
// Verilated RTL; the engines' frames travel over shm rings). The guest
// must pass as on any other transport, cross-node IPIs must have taken the
// engine's pending-bitmap fast path, and nothing may be left behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/smp_test_output.hpp"
#include "tests/support/instance_files.hpp"
#include "tests/support/node_stats.hpp"
#include "tests/support/subprocess.hpp"

namespace dvmm {
namespace {

TEST(ClusterFpga, SmpTestPassesOverTheCoSimulatedEngine) {
  DVMM_REQUIRE_KVM();
  const std::string stats =
      ::testing::TempDir() + "/fpga-stats-" + std::to_string(getpid()) + "-{node}.json";
  test::Child dvmm({DVMM_BINARY, "run", std::string(DVMM_CONFIGS_DIR) + "/two-nodes-fpga-sim.toml",
                    "--stats-json", stats});
  auto r = dvmm.wait(std::chrono::seconds(240));
  SCOPED_TRACE("stdout:\n" + r.out + "\nstderr:\n" + r.err);
  ASSERT_FALSE(r.timed_out) << "the cluster did not finish within 240 s";
  test::expect_smp_test_passed(r.out, 4);
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_TRUE(test::child_pids(dvmm.pid()).empty());

  uint64_t bitmap_ipis = 0;
  for (int id : {0, 1}) {
    const auto j = test::take_node_stats(stats, id);
    ASSERT_FALSE(j.is_null()) << "node " << id << " wrote no statistics (or not JSON)";
    EXPECT_EQ(j.at("transport"), "fpga");
    EXPECT_EQ(j.at("memory"), "shared");
    EXPECT_GT(j.at("link").at("delivered").get<uint64_t>(), 0u);
    EXPECT_EQ(j.at("link").at("malformed").get<uint64_t>(), 0u);
    const auto& fpga = j.at("fpga");
    EXPECT_EQ(fpga.at("device"), "sim");
    EXPECT_GT(fpga.at("engine").at("tx_desc").get<uint64_t>(), 0u);
    EXPECT_GT(fpga.at("engine").at("rx_host").get<uint64_t>(), 0u);
    EXPECT_EQ(fpga.at("engine").at("rx_bad_fcs").get<uint64_t>(), 0u);
    EXPECT_EQ(fpga.at("sim").at("dma_outside").get<uint64_t>(), 0u);
    EXPECT_EQ(fpga.at("bitmap_ipis").get<uint64_t>(),
              fpga.at("engine").at("rx_ipi").get<uint64_t>());
    bitmap_ipis += fpga.at("bitmap_ipis").get<uint64_t>();
  }
  // smp-test's cross-node fixed IPIs (ping-pong, broadcast) take the fast path.
  EXPECT_GT(bitmap_ipis, 0u);
  // The shm wire's ring file is gone (node 0 removes it).
  for (const std::string& name : test::instance_files_of(dvmm.pid())) {
    ADD_FAILURE() << name << " left behind";
  }
}

// The fpga transport cannot carry DSM pages: the configuration says so
// before any node starts.
TEST(ClusterFpga, DsmIsRefusedWithAClearMessage) {
  const std::string config =
      ::testing::TempDir() + "/fpga-dsm-" + std::to_string(getpid()) + ".toml";
  std::ofstream(config) << "[vm]\nvcpus = 2\n[cluster]\ntransport = \"fpga\"\nmemory = \"dsm\"\n"
                           "[[node]]\nid = 0\nvcpus = [0]\n[[node]]\nid = 1\nvcpus = [1]\n";
  auto r = test::run_process({DVMM_BINARY, "run", config}, std::chrono::seconds(30));
  std::filesystem::remove(config);
  EXPECT_EQ(r.exit_status, 2) << r.err;
  EXPECT_NE(r.err.find("memory = \"shared\""), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dvmm
