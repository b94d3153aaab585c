#include "dataplane/fpga/xrt_device.hpp"

#include <cstdlib>
#include <cstring>
#include <exception>

#include <experimental/xrt_ip.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>

#include "dataplane/fpga/engine_map.hpp"

namespace dvmm::dataplane::fpga {
namespace {

// XRT reports every failure as an exception; none may escape into a node.
template <typename F>
Status xrt_call(const std::string& what, F&& f) {
  try {
    f();
    return {};
  } catch (const std::exception& e) {
    return Error::format("{}: {}", what, e.what());
  }
}

class XrtFpgaDevice final : public FpgaDevice {
 public:
  XrtFpgaDevice(xrt::device device, xrt::ip ip) : device_(std::move(device)), ip_(std::move(ip)) {}

  const char* name() const override { return "xrt"; }
  uint32_t read32(uint32_t addr) override {
    uint32_t v = 0;
    (void)xrt_call("xrt read", [&] { v = ip_.read_register(addr); });
    return v;
  }
  void write32(uint32_t addr, uint32_t value) override {
    (void)xrt_call("xrt write", [&] { ip_.write_register(addr, value); });
  }
  Result<DmaWindow> dma_window(size_t bytes) override {
    if (!bo_) {
      DVMM_TRY(xrt_call("xrt: pending-bitmap buffer", [&] {
        bo_ = xrt::bo(device_, bytes, xrt::bo::flags::host_only, 0);
        std::memset(bo_.map<void*>(), 0, bytes);
      }));
    } else if (bytes > bo_.size()) {
      return Error::format("xrt: the bitmap buffer is {} bytes, {} asked", bo_.size(), bytes);
    }
    return DmaWindow{bo_.map<uint64_t*>(), bo_.address(), bo_.size()};
  }
  // The streams need the shell's DMA queues (see the header).
  void push_descriptor(std::span<const uint8_t>) override {}
  size_t descriptors_waiting() const override { return 0; }
  size_t pop_message(std::span<uint8_t>) override { return 0; }
  size_t service(uint64_t) override {
    idle_ = (read32(reg::kStatus) & reg::kStatusLinksIdle) != 0;
    return 0;
  }
  std::optional<uint64_t> next_service_ns() const override { return std::nullopt; }
  bool links_idle() const override { return idle_; }
  Transport* wire() override { return nullptr; }

 private:
  xrt::device device_;
  xrt::ip ip_;
  xrt::bo bo_;
  bool idle_ = true;
};

}  // namespace

bool xrt_backend_built() { return true; }

Result<std::unique_ptr<FpgaDevice>> open_xrt_device(const XrtDeviceConfig& config) {
  const char* xrt_env = std::getenv("XILINX_XRT");
  const std::string env_note = xrt_env != nullptr
                                   ? fmt::format("XILINX_XRT={}", xrt_env)
                                   : std::string("XILINX_XRT is not set: point it at the XRT "
                                                 "installation, e.g. source /opt/xilinx/xrt/setup.sh");
  xrt::device device;
  DVMM_TRY(xrt_call(fmt::format("fpga.device = \"xrt\": cannot open Alveo card {} ({}; is a card "
                                "installed and its driver loaded? `xbutil examine` lists them)",
                                config.device_index, env_note),
                    [&] { device = xrt::device(config.device_index); }));
  if (config.xclbin.empty()) {
    return Error::format("fpga.device = \"xrt\": card {} is open but fpga.xclbin names no bitstream "
                         "with the dvmm_engine kernel",
                         config.device_index);
  }
  xrt::ip ip;
  DVMM_TRY(xrt_call(fmt::format("fpga.xclbin = \"{}\": no dvmm_engine IP on card {}",
                                config.xclbin, config.device_index),
                    [&] {
                      const xrt::uuid uuid = device.load_xclbin(config.xclbin);
                      ip = xrt::ip(device, uuid, "dvmm_engine");
                    }));
  auto dev = std::make_unique<XrtFpgaDevice>(std::move(device), std::move(ip));
  if (const uint32_t id = dev->read32(reg::kId); id != kEngineId) {
    return Error::format("fpga.xclbin = \"{}\": dvmm_engine's ID register reads {:#010x}, expected "
                         "{:#010x}",
                         config.xclbin, id, kEngineId);
  }
  return Error::format("fpga.device = \"xrt\": card {} and its dvmm_engine are open, but this "
                       "version does not drive the engine's descriptor and receive streams (they "
                       "need the shell's QDMA stream queues; docs/fpga.md): use device = \"sim\"",
                       config.device_index);
}

}  // namespace dvmm::dataplane::fpga
