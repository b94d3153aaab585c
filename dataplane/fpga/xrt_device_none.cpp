// open_xrt_device() of a build without XRT.
#include "dataplane/fpga/xrt_device.hpp"

namespace dvmm::dataplane::fpga {

bool xrt_backend_built() { return false; }

Result<std::unique_ptr<FpgaDevice>> open_xrt_device(const XrtDeviceConfig& config) {
  return Error::format("fpga.device = \"xrt\" (card {}): this dvmm was built without XRT: install "
                       "libxrt-dev (tools/install-deps.sh) and rebuild, or use device = \"sim\"",
                       config.device_index);
}

}  // namespace dvmm::dataplane::fpga
