#include "dataplane/fpga/xrt_device.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <vector>

#include <experimental/xrt_ip.h>
#include <experimental/xrt_xclbin.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>

#include "dataplane/fpga/engine_map.hpp"
#include "dataplane/fpga/host_rings.hpp"

namespace dvmm::dataplane::fpga {
namespace {

// With no interrupt from the card, the node's poller comes back this often
// while it has nothing else to do (docs/fpga.md "Not done yet").
constexpr uint64_t kPollIntervalNs = 20'000;
// The kernel's AXI4 master port, as the xclbin's kernel arguments name it.
constexpr const char* kHostPort = "m_axi_gmem";

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

// The memory bank the kernel's m_axi_gmem reaches (the host-memory bridge,
// HOST[0] in v++ --connectivity.sp terms): host-only buffers must be
// allocated in it for their addresses to be valid for the kernel.
Result<xrt::memory_group> host_bank(const xrt::xclbin& xclbin, const std::string& path) {
  xrt::memory_group group = 0;
  bool found = false;
  DVMM_TRY(xrt_call(fmt::format("fpga.xclbin = \"{}\": reading kernel {}", path, kKernelName), [&] {
    for (const xrt::xclbin::arg& a : xclbin.get_kernel(kKernelName).get_args()) {
      const std::vector<xrt::xclbin::mem> mems = a.get_mems();
      std::string port = a.get_port();
      std::transform(port.begin(), port.end(), port.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (port != kHostPort || mems.empty()) continue;
      group = static_cast<xrt::memory_group>(mems.front().get_index());
      found = true;
      return;
    }
  }));
  if (!found) {
    return Error::format("fpga.xclbin = \"{}\": kernel {} has no argument on port {} connected to "
                         "a memory bank; link it with [connectivity] sp={}_1.{}:HOST[0] "
                         "(docs/fpga.md \"Card build\")",
                         path, kKernelName, kHostPort, kKernelName, kHostPort);
  }
  return group;
}

class XrtFpgaDevice final : public FpgaDevice {
 public:
  XrtFpgaDevice(xrt::device device, xrt::ip ip, xrt::memory_group bank)
      : device_(std::move(device)), ip_(std::move(ip)), bank_(bank) {}

  // The engine must not write into buffers that are about to be freed:
  // disabling it waits for its transfers in flight (write32 stops the
  // rings) before the members, buffers last, go.
  ~XrtFpgaDevice() override { write32(reg::kControl, 0); }

  Status open_rings() {
    rings_ = DVMM_TRY(HostRings::create(*this, [this](size_t bytes) { return allocate(bytes); }));
    return {};
  }

  const char* name() const override { return "xrt"; }
  uint32_t read32(uint32_t addr) override {
    uint32_t v = 0;
    (void)xrt_call("xrt read", [&] { v = ip_.read_register(addr); });
    return v;
  }
  void write32(uint32_t addr, uint32_t value) override {
    (void)xrt_call("xrt write", [&] { ip_.write_register(addr, value); });
    // Clearing enable resets the engine's ring indices: the driver's follow.
    if (addr == reg::kControl && (value & reg::kControlEnable) == 0 && rings_) {
      (void)rings_->stop();
    }
  }
  Result<DmaWindow> dma_window(size_t bytes) override {
    if (bitmaps_.host == nullptr) {
      bitmaps_ = DVMM_TRY(allocate(bytes));
    } else if (bytes > bitmaps_.bytes) {
      return Error::format("xrt: the bitmap buffer is {} bytes, {} asked", bitmaps_.bytes, bytes);
    }
    return bitmaps_;
  }
  void push_descriptor(std::span<const uint8_t> d) override { rings_->push(d); }
  size_t descriptors_waiting() const override { return rings_->waiting(); }
  size_t pop_message(std::span<uint8_t> out) override { return rings_->pop(out); }
  size_t service(uint64_t now_ns) override {
    const bool kicked = rings_->kick();
    const uint32_t s = read32(reg::kStatus);
    idle_ = (s & reg::kStatusLinksIdle) != 0 && (s & reg::kStatusRingsBusy) == 0;
    last_service_ns_ = now_ns;
    return kicked ? 1 : 0;
  }
  std::optional<uint64_t> next_service_ns() const override {
    if (rings_->kick_pending()) return 0;
    return last_service_ns_ + kPollIntervalNs;
  }
  bool links_idle() const override { return idle_; }
  Transport* wire() override { return nullptr; }

 private:
  // A host-only buffer in the kernel's host bank: the card reaches it at
  // bo.address() through the host-memory bridge.
  Result<DmaWindow> allocate(size_t bytes) {
    xrt::bo bo;
    DVMM_TRY(xrt_call(fmt::format("xrt: a host-only buffer of {} bytes", bytes), [&] {
      bo = xrt::bo(device_, bytes, xrt::bo::flags::host_only, bank_);
      std::memset(bo.map<void*>(), 0, bytes);
    }));
    const DmaWindow w{bo.map<uint64_t*>(), bo.address(), bo.size()};
    buffers_.push_back(std::move(bo));
    return w;
  }

  xrt::device device_;
  xrt::ip ip_;
  xrt::memory_group bank_;
  std::vector<xrt::bo> buffers_;  // after rings_ is gone: freed last
  DmaWindow bitmaps_{};
  std::unique_ptr<HostRings> rings_;
  bool idle_ = true;
  uint64_t last_service_ns_ = 0;
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
                         "with the {} kernel",
                         config.device_index, kKernelName);
  }
  xrt::xclbin xclbin;
  xrt::ip ip;
  DVMM_TRY(xrt_call(fmt::format("fpga.xclbin = \"{}\": no {} IP on card {}", config.xclbin,
                                kKernelName, config.device_index),
                    [&] {
                      xclbin = xrt::xclbin(config.xclbin);
                      const xrt::uuid uuid = device.load_xclbin(xclbin);
                      ip = xrt::ip(device, uuid, kKernelName);
                    }));
  const xrt::memory_group bank = DVMM_TRY(host_bank(xclbin, config.xclbin));
  auto dev = std::make_unique<XrtFpgaDevice>(std::move(device), std::move(ip), bank);
  if (const uint32_t id = dev->read32(reg::kId); id != kEngineId) {
    return Error::format("fpga.xclbin = \"{}\": {}'s ID register reads {:#010x}, expected {:#010x} "
                         "(a bitstream of another register map version?)",
                         config.xclbin, kKernelName, id, kEngineId);
  }
  // The rings are programmed with the engine disabled (it may still run
  // from a previous process).
  dev->write32(reg::kControl, 0);
  DVMM_TRY(dev->open_rings());
  return std::unique_ptr<FpgaDevice>(std::move(dev));
}

}  // namespace dvmm::dataplane::fpga
