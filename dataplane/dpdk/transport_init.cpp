// Setup of the DPDK transport: everything but the bursts. See
// dataplane/dpdk_transport.hpp for the design.
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <string_view>

#include "dataplane/dpdk/eal.hpp"
#include "dataplane/dpdk/transport_impl.hpp"
#include "dataplane/message.hpp"

namespace dvmm::dataplane::dpdk {
namespace {

std::string mac_string(const MacAddress& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                     m[5]);
}

// The value of `key` in a "name,k1=v1,k2=v2" device string ("" if absent).
std::string devarg(std::string_view dev, std::string_view key) {
  size_t pos = 0;
  while (pos <= dev.size()) {
    size_t end = dev.find(',', pos);
    if (end == std::string_view::npos) end = dev.size();
    const std::string_view kv = dev.substr(pos, end - pos);
    const size_t eq = kv.find('=');
    if (eq != std::string_view::npos && kv.substr(0, eq) == key) {
      return std::string(kv.substr(eq + 1));
    }
    pos = end + 1;
  }
  return {};
}

// The kernel MTU of an interface of this network namespace (0 if unknown).
uint32_t kernel_mtu(const std::string& iface) {
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return 0;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
  const int r = ioctl(s, SIOCGIFMTU, &ifr);
  close(s);
  return r == 0 && ifr.ifr_mtu > 0 ? static_cast<uint32_t>(ifr.ifr_mtu) : 0;
}

// af_packet's TPACKET_V2 ring slot (framesz bytes) holds less than
// framesz of frame. Tx: the data starts after TPACKET2_HDRLEN -
// sizeof(sockaddr_ll) = 32 bytes, and the PMD drops larger frames
// silently. Rx, the tighter limit: the kernel puts the MAC header at
// macoff = TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - 14 = 66 and truncates the
// frame to framesz - 66 (tpacket_rcv), which our length field catches.
constexpr uint32_t kAfPacketSlotOverhead = 66;
constexpr uint32_t kAfPacketDefaultFramesz = 2048;  // the PMD's default
constexpr uint32_t kMemifDefaultBsize = 2048;       // the PMD's default buffer size

std::string privileges_hint() {
  return geteuid() == 0 ? std::string()
                        : std::string(" You are not root: DPDK's af_packet and memif PMDs need "
                                      "root (CAP_NET_RAW, CAP_IPC_LOCK); run as root.");
}

// Why a port may be missing: one line per --vdev of the EAL arguments.
std::string vdev_hints() {
  std::string h;
  for (const std::string& v : vdev_args(eal_args())) {
    const std::string name = v.substr(0, v.find(','));
    if (name.rfind("net_af_packet", 0) == 0 || name.rfind("eth_af_packet", 0) == 0) {
      const std::string iface = devarg(v, "iface");
      if (iface.empty()) {
        h += fmt::format(" --vdev {} has no iface=NAME.", name);
      } else if (if_nametoindex(iface.c_str()) == 0) {
        h += fmt::format(
            " --vdev {}: interface '{}' does not exist in this network namespace (check `ip "
            "link`; create it, or enter its namespace before starting the EAL).",
            name, iface);
      } else {
        h += fmt::format(" --vdev {} (interface '{}' exists) failed to probe: see the EAL log.",
                         name, iface);
      }
    } else if (name.rfind("net_memif", 0) == 0) {
      const std::string sock = devarg(v, "socket");
      const std::string dir = sock.empty() ? std::string("/run") : sock.substr(0, sock.rfind('/'));
      if (!dir.empty() && access(dir.c_str(), W_OK) != 0) {
        h += fmt::format(" --vdev {}: the socket directory '{}' does not exist or is not "
                         "writable.",
                         name, dir);
      } else {
        h += fmt::format(" --vdev {} failed to probe: see the EAL log.", name);
      }
    } else {
      h += fmt::format(" --vdev {}: see the EAL log for why it did not probe.", name);
    }
  }
  return h;
}

std::string port_list() {
  std::string s;
  // Not RTE_ETH_FOREACH_DEV: its expansion trips our -Wconversion.
  for (uint16_t p = 0; p < RTE_MAX_ETHPORTS; ++p) {
    if (!rte_eth_dev_is_valid_port(p)) continue;
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    (void)rte_eth_dev_get_name_by_port(p, name);
    s += fmt::format("{}{} ({})", s.empty() ? "" : ", ", p, name);
  }
  return s.empty() ? std::string("none") : s;
}

// "rte_xxx failed: <reason>" from a negative errno return of an ethdev call.
std::string dpdk_reason(int rc) {
  return fmt::format("{} ({})", rte_strerror(-rc), rc);
}

}  // namespace

// Why rte_eth_dev_start may fail for the PMDs used here.
std::string DpdkTransportImpl::device_args() const {
  rte_eth_dev_info dev{};
  (void)rte_eth_dev_info_get(port_, &dev);
  const rte_devargs* da = dev.device != nullptr ? rte_dev_devargs(dev.device) : nullptr;
  return da != nullptr && da->args != nullptr ? da->args : "";
}

bool DpdkTransportImpl::memif_client() const {
  return info_.driver == "net_memif" && devarg(device_args(), "role") == "client";
}

std::string DpdkTransportImpl::start_hint() const {
  if (!memif_client()) return {};
  const std::string args = device_args();
  std::string sock = devarg(args, "socket");
  if (sock.empty()) sock = "/run/memif.sock";  // the PMD's default
  // The PMD's default is an abstract socket (per network namespace, no
  // file); socket-abstract=no makes it a file.
  if (devarg(args, "socket-abstract") == "no") {
    if (access(sock.c_str(), F_OK) != 0) {
      return fmt::format(" The memif server's socket '{}' does not exist: a memif client "
                         "connects at start, so start the server (role=server) first.",
                         sock);
    }
    return fmt::format(" Is a memif server listening on '{}'?", sock);
  }
  return fmt::format(" A memif client connects at start: is a memif server (role=server) "
                     "listening on the abstract socket '@{}' in this network namespace? Start "
                     "it first.",
                     sock);
}

DpdkTransportImpl::DpdkTransportImpl(const DpdkTransportConfig& c)
    : cfg_(c), local_(c.local), port_(c.port_id) {}

DpdkTransportImpl::~DpdkTransportImpl() {
  if (started_) {
    // Frames queued but never handed over, and frames received but never
    // returned, go back to the pool before the port stops.
    if (tx_n_ != 0) rte_pktmbuf_free_bulk(tx_buf_, tx_n_);
    if (stash_pos_ < stash_n_) {
      rte_pktmbuf_free_bulk(stash_ + stash_pos_, static_cast<unsigned>(stash_n_ - stash_pos_));
    }
    (void)rte_eth_dev_stop(port_);
    // Closing releases the PMD's resources (memif's socket, af_packet's
    // rings); the port cannot be opened again in this process.
    (void)rte_eth_dev_close(port_);
  } else if (configured_) {
    // Set up but never started: leave the port reusable for a new attempt.
    (void)rte_eth_dev_stop(port_);
  }
  if (pool_ != nullptr) rte_mempool_free(pool_);
  if (owns_wait_fd_ && wait_fd_ >= 0) close(wait_fd_);
}

Result<std::unique_ptr<Transport>> DpdkTransportImpl::open(const DpdkTransportConfig& c) {
  std::unique_ptr<DpdkTransportImpl> t(new DpdkTransportImpl(c));
  DVMM_TRY(t->check_config());
  DVMM_TRY(eal_init(c.eal_args));
  DVMM_TRY(t->find_port());
  DVMM_TRY(t->create_pool());
  DVMM_TRY(t->configure_and_start());
  if (!t->macs_.add(t->local_, t->local_mac_)) {
    return Error::format("dpdk transport: the local node {}'s MAC {} is also configured for "
                         "another node",
                         t->local_, mac_string(t->local_mac_));
  }
  DVMM_TRY(t->compute_frame_size());
  DVMM_TRY(t->setup_wakeup());
  t->drain_tsc_ = rte_get_tsc_hz() / 1'000'000 * kTxDrainUs;
  return std::unique_ptr<Transport>(std::move(t));
}

Status DpdkTransportImpl::check_config() {
  bool have_local = false;
  for (const auto& [node, mac] : cfg_.macs) {
    if (node == local_) {
      if (have_local) return Error::format("dpdk transport: node {} listed twice", node);
      have_local = true;
      if (!is_zero(mac) && !is_unicast(mac)) {
        return Error::format(
            "dpdk transport: the local node {}'s MAC {} is a group address; use a unicast MAC "
            "(first byte even), or all-zero for the port's own",
            node, mac_string(mac));
      }
      continue;
    }
    if (!is_unicast(mac)) {
      return Error::format(
          "dpdk transport: node {}'s MAC {} is not a unicast address (all-zero, or the group "
          "bit of the first byte set)",
          node, mac_string(mac));
    }
    if (!macs_.add(node, mac)) {
      return Error::format("dpdk transport: node {} or its MAC {} is listed twice", node,
                           mac_string(mac));
    }
  }
  if (!have_local) {
    return Error::format("dpdk transport: the local node {} is not in the MAC list", local_);
  }
  for (const auto& [node, mac] : cfg_.macs) {
    NodeId other = 0;
    if (node == local_ && !is_zero(mac) && macs_.lookup(mac, other)) {
      return Error::format("dpdk transport: nodes {} and {} are both configured with MAC {}",
                           local_, other, mac_string(mac));
    }
  }
  // The Rx ring holds rx_desc mbufs at all times, the Tx ring up to
  // tx_desc, and bursts in flight plus per-core caches a few bursts more.
  const uint64_t need = uint64_t{cfg_.rx_desc} + cfg_.tx_desc + 4 * kBurst;
  if (cfg_.mbufs < need) {
    return Error::format(
        "dpdk transport: mbufs = {} is too small for rx_desc {} + tx_desc {} + bursts in flight "
        "(at least {})",
        cfg_.mbufs, cfg_.rx_desc, cfg_.tx_desc, need);
  }
  if (cfg_.rx_desc == 0 || cfg_.tx_desc == 0) {
    return Error::format("dpdk transport: rx_desc and tx_desc must be positive");
  }
  max_sleep_ns_ = std::max<uint64_t>(kMinSleepNs, uint64_t{cfg_.max_sleep_us} * 1000);
  return {};
}

Status DpdkTransportImpl::find_port() {
  if (!rte_eth_dev_is_valid_port(port_)) {
    return Error::format(
        "dpdk transport: no port {} (ports: {}).{}{}{}", port_, port_list(), vdev_hints(),
        vdev_args(eal_args()).empty()
            ? " No --vdev in the EAL arguments: add one (e.g. "
              "--vdev=net_af_packet0,iface=IFACE or --vdev=net_memif0,role=server,socket=PATH)."
            : "",
        privileges_hint());
  }
  rte_eth_dev_info dev{};
  const int rc = rte_eth_dev_info_get(port_, &dev);
  if (rc != 0) {
    return Error::format("dpdk transport: port {}: rte_eth_dev_info_get: {}", port_,
                         dpdk_reason(rc));
  }
  char name[RTE_ETH_NAME_MAX_LEN] = {};
  (void)rte_eth_dev_get_name_by_port(port_, name);
  info_.port_id = port_;
  info_.device = name;
  info_.driver = dev.driver_name != nullptr ? dev.driver_name : "?";
  if (dev.if_index != 0) {
    char ifname[IF_NAMESIZE] = {};
    if (if_indextoname(dev.if_index, ifname) != nullptr) {
      info_.kernel_iface = ifname;
      info_.kernel_mtu = kernel_mtu(ifname);
    }
  }
  if (info_.driver == "net_memif") {
    const rte_devargs* da = dev.device != nullptr ? rte_dev_devargs(dev.device) : nullptr;
    const std::string args = da != nullptr && da->args != nullptr ? da->args : "";
    const std::string bs = devarg(args, "bsize");
    memif_bsize_ = bs.empty() ? kMemifDefaultBsize
                              : static_cast<uint32_t>(std::strtoul(bs.c_str(), nullptr, 0));
    // A zero-copy client's buffers are our mbufs: one segment per frame.
    if (devarg(args, "zero-copy") == "yes") memif_bsize_ = 0;
  }
  if (info_.driver == "net_af_packet") {
    af_packet_framesz_ = kAfPacketDefaultFramesz;
    const rte_devargs* da = dev.device != nullptr ? rte_dev_devargs(dev.device) : nullptr;
    if (da != nullptr && da->args != nullptr) {
      const std::string fs = devarg(da->args, "framesz");
      if (!fs.empty()) af_packet_framesz_ = static_cast<uint32_t>(std::strtoul(fs.c_str(), nullptr, 0));
    }
  }
  return {};
}

Status DpdkTransportImpl::create_pool() {
  // One mbuf holds a whole encapsulated frame (Tx never chains), and for
  // af_packet a whole ring slot (its Rx queue setup refuses smaller mbufs).
  size_t data = std::max<size_t>(kMaxEncapFrame, af_packet_framesz_);
  data = (data + 1023) & ~size_t{1023};
  const size_t room = RTE_PKTMBUF_HEADROOM + data;
  if (room > UINT16_MAX) {
    return Error::format("dpdk transport: port {}: framesz={} needs mbufs of {} bytes, above "
                         "DPDK's 65535; use framesz=8192 or 16384",
                         port_, af_packet_framesz_, room);
  }
  data_room_ = static_cast<uint16_t>(room);
  // A per-lcore cache of a few bursts; at most n/1.5 (DPDK's rule).
  const unsigned cache = std::min<unsigned>(256, cfg_.mbufs * 2 / 3);
  const std::string name = fmt::format("dvmm_mbufs_p{}", port_);
  pool_ = rte_pktmbuf_pool_create(name.c_str(), cfg_.mbufs, cache, 0, data_room_,
                                  static_cast<int>(rte_socket_id()));
  if (pool_ == nullptr) {
    const int err = rte_errno;
    const uint64_t mib = (uint64_t{cfg_.mbufs} * (data_room_ + sizeof(rte_mbuf))) >> 20;
    return Error::format(
        "dpdk transport: port {}: cannot create a pool of {} mbufs of {} bytes (~{} MiB): {}. "
        "Give the EAL more memory (-m 256 or more), or lower mbufs.",
        port_, cfg_.mbufs, data_room_, mib, rte_strerror(err));
  }
  return {};
}

Status DpdkTransportImpl::configure_and_start() {
  if (cfg_.rx_interrupts) {
    const Status s = configure_and_start_once(true);
    if (s.ok()) return s;
    // A PMD may refuse Rx interrupts only when it starts (no MSI-X vector,
    // no event fd): try again without them before reporting anything.
    if (started_) {
      (void)rte_eth_dev_stop(port_);
      started_ = false;
    }
  }
  return configure_and_start_once(false);
}

Status DpdkTransportImpl::configure_and_start_once(bool rx_intr) {
  rte_eth_conf conf{};
  conf.intr_conf.rxq = rx_intr ? 1 : 0;
  int rc = rte_eth_dev_configure(port_, 1, 1, &conf);
  if (rc != 0) {
    return Error::format("dpdk transport: port {} ({}): rte_eth_dev_configure: {}", port_,
                         info_.device, dpdk_reason(rc));
  }
  configured_ = true;

  if (cfg_.mtu != 0) {
    rc = rte_eth_dev_set_mtu(port_, cfg_.mtu);
    if (rc != 0) {
      rte_eth_dev_info dev{};
      (void)rte_eth_dev_info_get(port_, &dev);
      return Error::format(
          "dpdk transport: port {} ({}): cannot set MTU {}: {}; the port allows MTU {}..{} and "
          "Rx frames up to {} bytes.{}",
          port_, info_.device, cfg_.mtu, dpdk_reason(rc), dev.min_mtu, dev.max_mtu,
          dev.max_rx_pktlen,
          info_.kernel_iface.empty()
              ? ""
              : fmt::format(" For {} set the MTU of interface '{}' with `ip link set {} mtu {}` "
                            "and leave mtu = 0 (DPDK itself refuses MTUs above 1500 here).",
                            info_.driver, info_.kernel_iface, info_.kernel_iface, cfg_.mtu));
    }
  }

  uint16_t rxd = cfg_.rx_desc, txd = cfg_.tx_desc;
  rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_, &rxd, &txd);
  if (rc != 0) {
    return Error::format("dpdk transport: port {}: rte_eth_dev_adjust_nb_rx_tx_desc: {}", port_,
                         dpdk_reason(rc));
  }
  // SOCKET_ID_ANY (-1) for virtual devices: wraps to the unsigned value
  // DPDK itself uses for "any".
  const unsigned socket = static_cast<unsigned>(rte_eth_dev_socket_id(port_));
  rc = rte_eth_rx_queue_setup(port_, 0, rxd, socket, nullptr, pool_);
  if (rc != 0) {
    return Error::format(
        "dpdk transport: port {} ({}): Rx queue setup ({} descriptors, mbufs of {} bytes): {}",
        port_, info_.device, rxd, data_room_, dpdk_reason(rc));
  }
  rc = rte_eth_tx_queue_setup(port_, 0, txd, socket, nullptr);
  if (rc != 0) {
    return Error::format("dpdk transport: port {} ({}): Tx queue setup ({} descriptors): {}",
                         port_, info_.device, txd, dpdk_reason(rc));
  }

  DVMM_TRY(setup_mac());

  rc = start_port();
  if (rc != 0) {
    return Error::format("dpdk transport: port {} ({}): rte_eth_dev_start: {}.{}{}", port_,
                         info_.device, dpdk_reason(rc), start_hint(), privileges_hint());
  }
  started_ = true;

  if (rx_intr) {
    // Usable only if the PMD both has a per-queue fd and implements
    // enable/disable (memif and af_packet have neither: -ENOTSUP).
    // (Asking for the fd first would log "Rx Intr handle unset" for them.)
    if (rte_eth_dev_rx_intr_disable(port_, 0) == 0) {
      const int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(port_, 0);
      if (fd < 0) return {};
      wake_ = WakeMode::kRxInterrupt;
      wait_fd_ = fd;
      owns_wait_fd_ = false;  // the PMD's
    }
  }
  return {};
}

// A memif client connects to its server when it starts, and a server that
// starts at the same time (another node process) loses two races: it does
// not listen yet (the start fails), or it listens (from its rte_eal_init
// on) but has not configured its rings yet and drops the connection; then
// the link never comes up, as the PMD does not reconnect. Both are
// repaired by starting again, for up to peer_wait_ms.
int DpdkTransportImpl::start_port() {
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + std::chrono::milliseconds(cfg_.peer_wait_ms);
  for (;;) {
    const int rc = rte_eth_dev_start(port_);
    if (!memif_client() || cfg_.peer_wait_ms == 0) return rc;
    if (rc == 0) {
      const auto link_deadline = std::min(until, Clock::now() + std::chrono::seconds(1));
      while (!link_up() && Clock::now() < link_deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      // Still down at the end: started all the same, the caller's own
      // timeouts (the cluster's start barrier) say what is missing.
      if (link_up() || Clock::now() >= until) return 0;
      (void)rte_eth_dev_stop(port_);
    }
    if (Clock::now() >= until) return rc;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Status DpdkTransportImpl::setup_mac() {
  rte_ether_addr port_mac{};
  int rc = rte_eth_macaddr_get(port_, &port_mac);
  if (rc != 0) {
    return Error::format("dpdk transport: port {}: rte_eth_macaddr_get: {}", port_,
                         dpdk_reason(rc));
  }
  MacAddress pm{};
  std::memcpy(pm.data(), port_mac.addr_bytes, 6);
  MacAddress want{};
  for (const auto& [node, mac] : cfg_.macs) {
    if (node == local_) want = mac;
  }
  if (is_zero(want) || want == pm) {
    local_mac_ = pm;
  } else {
    rte_ether_addr a{};
    std::memcpy(a.addr_bytes, want.data(), 6);
    rc = rte_eth_dev_default_mac_addr_set(port_, &a);
    // -ENOTSUP: the PMD has no MAC filter to program (memif): frames reach
    // us whatever their destination, so the configured MAC just works.
    if (rc != 0 && rc != -ENOTSUP) {
      return Error::format(
          "dpdk transport: port {} ({}): cannot set its MAC to {} (node {}'s configured MAC; "
          "the port has {}): {}. Configure {} for node {}, or all-zero to use the port's own.",
          port_, info_.device, mac_string(want), local_, mac_string(pm), dpdk_reason(rc),
          mac_string(pm), local_);
    }
    local_mac_ = want;
  }
  info_.mac = local_mac_;
  return {};
}

Status DpdkTransportImpl::compute_frame_size() {
  uint16_t mtu = 0;
  (void)rte_eth_dev_get_mtu(port_, &mtu);
  info_.ethdev_mtu = mtu;
  // Our encapsulation spends 2 bytes of the Ethernet payload (the length).
  constexpr size_t kLen = kEncapHeaderSize - kEthHeaderSize;
  size_t limit = kMaxFrameSize;
  if (info_.driver == "net_memif") {
    // memif checks no MTU (the 1500 it reports limits nothing), but a
    // frame larger than one of its buffers (bsize) is split over chained
    // descriptors, and DPDK 22.11's copy-mode Tx never clears the chain
    // flag of a packet's first descriptor: a slot once used mid-chain
    // later glues a small frame to stale ring contents and the rings
    // desynchronise (seen here as old frames delivered again). So a frame
    // must fit one buffer: give both ends bsize=9216 for 9000-byte frames.
    if (memif_bsize_ != 0) {
      limit = memif_bsize_ > kEncapHeaderSize ? memif_bsize_ - kEncapHeaderSize : 0;
      info_.mtu_limit = fmt::format("memif bsize={} (one buffer per frame)", memif_bsize_);
    } else {
      info_.mtu_limit = "none (memif zero-copy enforces no MTU)";
    }
  } else if (!info_.kernel_iface.empty() && info_.kernel_mtu != 0) {
    // A kernel-backed PMD: the interface's MTU is the real limit; DPDK's
    // view of the MTU is nominal (1500) for these.
    limit = info_.kernel_mtu - kLen;
    info_.mtu_limit = fmt::format("MTU {} of interface '{}'", info_.kernel_mtu, info_.kernel_iface);
  } else {
    limit = mtu > kLen ? size_t{mtu} - kLen : 0;
    info_.mtu_limit = fmt::format("port MTU {}", mtu);
  }
  if (af_packet_framesz_ != 0) {
    const size_t slot = af_packet_framesz_ > kAfPacketSlotOverhead + kEncapHeaderSize
                            ? af_packet_framesz_ - kAfPacketSlotOverhead - kEncapHeaderSize
                            : 0;
    if (slot < limit) {
      limit = slot;
      info_.mtu_limit = fmt::format("af_packet framesz={} (frames up to {} bytes with the "
                                    "Ethernet header)",
                                    af_packet_framesz_, af_packet_framesz_ - kAfPacketSlotOverhead);
    }
  }
  max_frame_ = std::min(limit, kMaxFrameSize);
  info_.max_frame_size = max_frame_;
  if (max_frame_ < kMinUsableFrameSize) {
    return Error::format(
        "dpdk transport: port {} ({}) carries dvmm frames of at most {} bytes ({}); dvmm needs "
        "at least {} and wants {} (a 4 KiB page in one frame: MTU 9000{})",
        port_, info_.device, max_frame_, info_.mtu_limit, kMinUsableFrameSize, kMaxFrameSize,
        af_packet_framesz_ != 0 ? " and framesz=8192" : "");
  }
  return {};
}

Status DpdkTransportImpl::setup_wakeup() {
  info_.wake = wake_;
  if (wake_ == WakeMode::kRxInterrupt) return {};
  if (info_.driver == "net_af_packet" && !info_.kernel_iface.empty()) {
    const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return Error::from_errno(fmt::format("dpdk transport: port {}: wake-up packet socket on "
                                           "'{}'{}",
                                           port_, info_.kernel_iface, privileges_hint()));
    }
    wait_fd_ = fd;
    owns_wait_fd_ = true;
    // Keep 1 byte of each frame: the socket only signals, its data is
    // thrown away.
    sock_filter code[] = {{BPF_RET | BPF_K, 0, 0, 1}};
    sock_fprog prog{1, code};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) {
      return Error::from_errno("dpdk transport: wake-up socket: SO_ATTACH_FILTER");
    }
    // The kernel's minimum buffer: a handful of queued frames is as good
    // as thousands for "readable", and a full queue drops copies cheaply.
    const int small = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(kEtherType);
    sll.sll_ifindex = static_cast<int>(if_nametoindex(info_.kernel_iface.c_str()));
    if (bind(fd, reinterpret_cast<const sockaddr*>(&sll), sizeof(sll)) != 0) {
      return Error::from_errno(
          fmt::format("dpdk transport: wake-up socket: bind to '{}'", info_.kernel_iface));
    }
    wake_ = WakeMode::kKernelSocket;
  } else {
    const int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) return Error::from_errno("dpdk transport: timerfd_create");
    wait_fd_ = fd;
    owns_wait_fd_ = true;
    wake_ = WakeMode::kTimer;
  }
  info_.wake = wake_;
  return {};
}

bool DpdkTransportImpl::link_up() const {
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(port_, &link) != 0) return false;
  return link.link_status == RTE_ETH_LINK_UP;
}

std::string DpdkTransportImpl::pmd_stats() const {
  rte_eth_stats s{};
  if (rte_eth_stats_get(port_, &s) != 0) return "unavailable";
  return fmt::format("ipackets {} opackets {} ibytes {} obytes {} imissed {} ierrors {} "
                     "oerrors {} rx_nombuf {}",
                     s.ipackets, s.opackets, s.ibytes, s.obytes, s.imissed, s.ierrors,
                     s.oerrors, s.rx_nombuf);
}

}  // namespace dvmm::dataplane::dpdk

namespace dvmm::dataplane {

const char* to_string(DpdkTransport::WakeMode m) {
  switch (m) {
    case DpdkTransport::WakeMode::kRxInterrupt: return "rx-interrupt";
    case DpdkTransport::WakeMode::kKernelSocket: return "kernel-socket";
    case DpdkTransport::WakeMode::kTimer: return "timer";
  }
  return "?";
}

}  // namespace dvmm::dataplane
