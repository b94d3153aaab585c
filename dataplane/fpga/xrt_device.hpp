// The FpgaDevice of an AMD/Xilinx Alveo card, through XRT (Debian
// libxrt-dev 2.13: xrt::device, xrt::ip, xrt::bo). Built only where the
// XRT headers and libraries are found (dataplane/fpga/CMakeLists.txt);
// elsewhere open_xrt_device() says so.
//
// What it drives: the engine's AXI-Lite registers (xrt::ip, the kernel
// instance "dvmm_engine" of the loaded xclbin) and the pending bitmaps (a
// host-only xrt::bo, whose device address goes to BITMAP_LO/HI). What it
// does not drive yet: the descriptor and receive streams need DMA queues
// from the card's shell (QDMA stream queues on s_desc/m_host), which the
// engine does not define; open_xrt_device() therefore stops with that
// message once the card and the engine's IP are opened.
#pragma once

#include <memory>
#include <string>

#include "dataplane/fpga/fpga_device.hpp"

namespace dvmm::dataplane::fpga {

struct XrtDeviceConfig {
  unsigned device_index = 0;  // xrt::device(index), as `xbutil examine` lists them
  std::string xclbin;         // the bitstream with the dvmm_engine kernel
};

// True when this build has the XRT backend.
bool xrt_backend_built();

// Errors name what is missing: no XRT in this build, XILINX_XRT unset, no
// card at that index, no xclbin or no dvmm_engine in it.
Result<std::unique_ptr<FpgaDevice>> open_xrt_device(const XrtDeviceConfig& config);

}  // namespace dvmm::dataplane::fpga
