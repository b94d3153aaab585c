// The FpgaDevice of an AMD/Xilinx Alveo card, through XRT (Debian
// libxrt-dev 2.13: xrt::device, xrt::ip, xrt::bo, xrt::xclbin). Built only
// where the XRT headers and libraries are found (dataplane/fpga/
// CMakeLists.txt); elsewhere open_xrt_device() says so.
//
// The xclbin holds the card kernel dvmm_card_top (fpga/rtl/
// dvmm_card_top.sv; docs/fpga.md "Card build"). The driver reaches its
// registers through xrt::ip on that kernel instance and gives it host-only
// buffers (allocated in the memory bank its m_axi_gmem port is connected
// to, found in the xclbin) for the host rings (host_rings.hpp, the code the
// co-simulation runs too) and the pending bitmaps; the card reaches them at
// bo.address() through the shell's host-memory bridge. There is no
// interrupt: the node's poller comes back every 20 µs while idle.
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
// card at that index, no xclbin or no dvmm_card_top in it, its m_axi_gmem
// not connected to host memory, another register map version.
Result<std::unique_ptr<FpgaDevice>> open_xrt_device(const XrtDeviceConfig& config);

}  // namespace dvmm::dataplane::fpga
