// The XRT backend on a machine without an Alveo card: opening it fails with
// a message that names the missing card and XILINX_XRT, rather than an
// exception or a crash. Skipped (visibly) in a build without XRT.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "dataplane/fpga/xrt_device.hpp"

namespace dvmm::dataplane::fpga {
namespace {

// Restores an environment variable when the test ends.
class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    if (const char* v = std::getenv(name)) saved_ = v;
  }
  ~EnvGuard() {
    if (saved_) {
      setenv(name_, saved_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

TEST(FpgaXrt, NoCardGivesAClearMessage) {
  if (!xrt_backend_built()) GTEST_SKIP() << "built without XRT (install libxrt-dev)";
  EnvGuard guard("XILINX_XRT");

  unsetenv("XILINX_XRT");
  auto unset = open_xrt_device({.device_index = 0, .xclbin = "dvmm.xclbin"});
  ASSERT_FALSE(unset.ok());
  const std::string& m1 = unset.error().message;
  std::printf("XILINX_XRT unset: %s\n", m1.c_str());
  EXPECT_NE(m1.find("cannot open Alveo card 0"), std::string::npos) << m1;
  EXPECT_NE(m1.find("XILINX_XRT is not set"), std::string::npos) << m1;

  setenv("XILINX_XRT", "/usr", 1);
  auto set = open_xrt_device({.device_index = 0, .xclbin = "dvmm.xclbin"});
  ASSERT_FALSE(set.ok());
  const std::string& m2 = set.error().message;
  std::printf("XILINX_XRT=/usr: %s\n", m2.c_str());
  EXPECT_NE(m2.find("cannot open Alveo card 0"), std::string::npos) << m2;
  EXPECT_NE(m2.find("XILINX_XRT=/usr"), std::string::npos) << m2;
}

}  // namespace
}  // namespace dvmm::dataplane::fpga
