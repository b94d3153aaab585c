#include "host/cluster/cluster_node.hpp"

#include <pthread.h>
#include <signal.h>
#include <x86intrin.h>

#include <unistd.h>

#include <cstring>

#include <spdlog/spdlog.h>

#include <net/if.h>

#include "dataplane/authenticated_transport.hpp"
#include "dataplane/dpdk_transport.hpp"
#include "dataplane/fpga/engine_map.hpp"
#include "dataplane/fpga/fpga_link.hpp"
#include "dataplane/fpga/xrt_device.hpp"
#ifdef DVMM_HAVE_FPGA_SIM
#include "dataplane/fpga/verilated_device.hpp"
#endif
#include "dataplane/shm_transport.hpp"
#include "dataplane/udp_transport.hpp"
#include "host/cluster/apic_wire.hpp"
#include "host/cluster/instance_files.hpp"

namespace dvmm::cluster {

using dataplane::ControlCode;
using dataplane::ControlPayload;
using dataplane::Message;
using dataplane::NodeId;

namespace {

// A forwarded I/O access spins this long for its answer before it sleeps:
// a futex wake-up costs ~25 µs here, a local round trip over shm a few µs.
constexpr uint64_t kIoSpinNs = 30'000;

Result<std::unique_ptr<dataplane::Transport>> make_shm(const ClusterConfig& c, uint16_t id,
                                                       const NodeOptions& o) {
  dataplane::ShmTransportConfig sc;
  sc.path = instance_rings_path(o.instance);
  sc.local = id;
  sc.node_count = static_cast<uint16_t>(c.nodes.size());
  sc.cluster_id = c.cluster_id;
  return dataplane::make_shm_transport(sc);
}

Result<std::unique_ptr<dataplane::Transport>> make_udp(const ClusterConfig& c, uint16_t id) {
  dataplane::UdpTransportConfig uc;
  uc.local = id;
  for (const NodeConfig& n : c.nodes) uc.nodes.push_back({n.id, n.host, n.port});
  return dataplane::make_udp_transport(uc);
}

Result<std::unique_ptr<dataplane::Transport>> make_transport(const ClusterConfig& c, uint16_t id,
                                                             const NodeOptions& o) {
  switch (c.transport) {
    case TransportKind::kShm:
      return make_shm(c, id, o);
    case TransportKind::kUdp:
      return make_udp(c, id);
    case TransportKind::kFpga:
      // The software wire that joins the co-simulated engines' Ethernet
      // ports (a card has its own; the poller then waits on nothing here).
      return c.fpga.wire == FpgaWire::kUdp ? make_udp(c, id) : make_shm(c, id, o);
    case TransportKind::kDpdk: {
#ifdef DVMM_HAVE_DPDK
      if (c.dpdk.network == DpdkNetwork::kNamespaces && if_nametoindex(kNamespaceInterface) == 0) {
        return Error::format(
            "{}: dpdk.network = \"namespaces\" but there is no interface {} in this node's network "
            "namespace: start the cluster with `dvmm run`, which creates the namespaces, or use "
            "network = \"host\"",
            c.source, kNamespaceInterface);
      }
      dataplane::DpdkTransportConfig dc;
      dc.eal_args = node_eal_args(c, id, o.instance);
      dc.port_id = c.dpdk.port_id;
      dc.local = id;
      for (const NodeConfig& n : c.nodes) dc.macs.emplace_back(n.id, n.mac);
      dc.mbufs = c.dpdk.mbufs;
      // A veth's MTU was set when it was made (DPDK refuses MTUs above 1500 on
      // af_packet ports); a host port gets the configured one.
      dc.mtu = c.dpdk.network == DpdkNetwork::kHost ? c.dpdk.mtu : 0;
      // Nodes start in any order; the start barrier waits 30 s in all.
      dc.peer_wait_ms = 20'000;
      return dataplane::make_dpdk_transport(dc);
#else
      return Error::format("{}: cluster.transport = \"dpdk\" but this dvmm was built without "
                           "DPDK: install libdpdk-dev (tools/install-deps.sh) and rebuild",
                           c.source);
#endif
    }
  }
  return Error::format("unknown transport");
}

// The engine's device (docs/fpga.md "Host driver and the fpga transport")
// and the link that drives it, programmed from the cluster configuration.
Result<std::unique_ptr<dataplane::MessageLink>> make_fpga_link(const ClusterConfig& c, uint16_t id,
                                                               dataplane::Transport& wire,
                                                               const Clock& clock) {
  namespace fpga = dataplane::fpga;
  fpga::FpgaLink::Config lc;
  lc.cluster_id = c.cluster_id;
  lc.local = id;
  for (const NodeConfig& n : c.nodes) lc.node_macs.push_back(n.mac);
  lc.vcpu_node = c.vcpu_node;
  lc.retransmit_timeout_cycles = c.fpga.retransmit_timeout_cycles;
  lc.ack_delay_cycles = c.fpga.ack_delay_cycles;
  std::unique_ptr<fpga::FpgaDevice> device;
  if (c.fpga.device == FpgaDeviceKind::kXrt) {
    device = DVMM_TRY(fpga::open_xrt_device({c.fpga.xrt_device, c.fpga.xclbin}));
  } else {
#ifdef DVMM_HAVE_FPGA_SIM
    fpga::VerilatedDeviceConfig dc;
    dc.wire = &wire;
    dc.node_macs = lc.node_macs;
    dc.cycle_ns = c.fpga.sim_cycle_ns;
    device = DVMM_TRY(fpga::VerilatedFpgaDevice::create(dc));
#else
    (void)wire;
    return Error::format("{}: fpga.device = \"sim\" but this dvmm was built without Verilator: "
                         "install verilator (tools/install-deps.sh) and rebuild",
                         c.source);
#endif
  }
  std::unique_ptr<dataplane::MessageLink> link =
      DVMM_TRY(fpga::FpgaLink::create(std::move(device), clock, lc));
  return link;
}

}  // namespace

ClusterNode::ClusterNode(const ClusterConfig& config, uint16_t node_id, NodeOptions options)
    : config_(config), id_(node_id), options_(std::move(options)) {}

ClusterNode::~ClusterNode() {
  if (poller_) poller_->stop();
  if (poller_thread_.joinable()) poller_thread_.join();
}

Result<std::unique_ptr<ClusterNode>> ClusterNode::create(const ClusterConfig& config,
                                                         uint16_t node_id,
                                                         const NodeOptions& options) {
  if (node_id >= config.nodes.size()) {
    return Error::format("{}: there is no node {} (the cluster has nodes 0 to {})", config.source,
                         node_id, config.nodes.size() - 1);
  }
  std::unique_ptr<ClusterNode> node(new ClusterNode(config, node_id, options));
  const size_t n_nodes = config.nodes.size();

  node->transport_ = DVMM_TRY(make_transport(config, node_id, options));
  if (!config.key_file.empty()) {
    const auto key = DVMM_TRY(dataplane::ClusterKey::load(config.key_file));
    node->unauthenticated_transport_ = std::move(node->transport_);
    auto auth =
        DVMM_TRY(dataplane::AuthenticatedTransport::create(*node->unauthenticated_transport_, key));
    node->auth_ = auth.get();
    node->transport_ = std::move(auth);
  }
  if (config.transport == TransportKind::kFpga) {
    // The engine runs the reliability protocol: no ReliableLink on top.
    node->link_ = DVMM_TRY(make_fpga_link(config, node_id, *node->transport_, node->clock_));
  } else {
    DVMM_TRY(node->check_frame_size());
    dataplane::ReliableLink::Config lc;
    lc.cluster_id = config.cluster_id;
    lc.local = node_id;
    for (const NodeConfig& n : config.nodes) {
      if (n.id != node_id) lc.peers.push_back(n.id);
    }
    node->link_ = std::make_unique<dataplane::ReliableLink>(*node->transport_, node->clock_, lc);
  }
  dataplane::AdaptivePoller::Config pc;
  pc.busy_poll = config.transport == TransportKind::kDpdk && config.dpdk.busy_poll;
  node->poller_ = std::make_unique<dataplane::AdaptivePoller>(*node->transport_, pc);
  node->link_->set_wake([poller = node->poller_.get()] { poller->wake(); });
  node->io_slots_.resize(config.vcpus);
  for (auto& s : node->io_slots_) s = std::make_unique<IoSlot>();
  node->apic_acks_.assign(n_nodes, 0);
  node->ready_.assign(n_nodes, false);
  node->last_heard_ns_.reset(new std::atomic<uint64_t>[n_nodes]);
  for (size_t i = 0; i < n_nodes; ++i) node->last_heard_ns_[i] = 0;

  MachineConfig mc;
  mc.vcpus = config.vcpus;
  mc.memory_bytes = config.memory_bytes;
  mc.kernel_path = options.kernel_path;
  mc.initrd_path = config.initrd;
  mc.cmdline = config.cmdline;
  mc.linux_entry = config.linux_entry;
  mc.print_stats = options.print_stats;
  mc.node_id = node_id;
  mc.vcpu_node = config.vcpu_node;
  if (config.memory == MemoryMode::kDsm) {
    mc.anonymous_ram = true;
  } else {
    mc.shared_ram_path = instance_ram_path(options.instance);
  }
  mc.remote = node.get();
  node->machine_ = DVMM_TRY(Machine::create(mc));
  node->control_ = &node->machine_->control();
  if (config.memory == MemoryMode::kDsm) DVMM_TRY(node->start_dsm());
  return node;
}

// Small frames only cost more of them per page (DSM data travels in chunks),
// but below kMinFrameSize a page would take so many that the link is
// misconfigured rather than slow.
Status ClusterNode::check_frame_size() const {
  constexpr size_t kMinFrameSize = 512;
  const size_t max_frame = transport_->max_frame_size();
  const size_t chunk =
      max_frame - std::min(max_frame, dataplane::kHeaderSize + dataplane::kDsmDataFixedSize +
                                          dataplane::kIncarnationSize);
  if (max_frame < kMinFrameSize) {
    return Error::format(
        "node {}: the {} transport carries frames of at most {} bytes; dvmm needs {} (a 4 KiB page "
        "then takes 9 frames; MTU 9000 carries it in one): raise the MTU (dpdk.mtu, or the "
        "interface's)",
        id_, transport_->name(), max_frame, kMinFrameSize);
  }
  spdlog::info("node {}: {} transport, frames up to {} bytes: a guest page travels in {} frame(s)",
               id_, transport_->name(), max_frame, (dsm::kPageSize + chunk - 1) / chunk);
  return {};
}

// Registers guest RAM with userfaultfd only now: on node 0 the loader has
// already written the kernel and firmware tables, and node 0 initially
// owns every page, so what it wrote is the owner's copy.
Status ClusterNode::start_dsm() {
  dsm_region_ = DVMM_TRY(dsm::UffdRegion::create(machine_->ram_base(), machine_->ram_size()));
  dsm::DsmProtocol::Config dc;
  dc.local = id_;
  dc.node_count = static_cast<uint16_t>(config_.nodes.size());
  dc.page_count = machine_->ram_size() / dsm::kPageSize;
  dc.initial_owner = 0;
  // DSM runs over a ReliableLink (never fpga), whose frames end in the
  // incarnation trailer.
  dc.max_payload_bytes =
      transport_->max_frame_size() - dataplane::kHeaderSize - dataplane::kIncarnationSize;
  // Long enough for the access that faulted to run before the page may be
  // taken away again, so two writers of one page both make progress.
  dc.min_hold_ns = 100'000;
  dsm_ = DVMM_TRY(dsm::DsmProtocol::create(
      dc, *dsm_region_, clock_, [this](NodeId dst, dataplane::Payload p) { send(dst, std::move(p)); }));
  return dsm_region_->start([this](dsm::PageNumber page, dsm::Access access) {
    auto granted = dsm_->request(page, access);
    if (!granted) {
      control_->request_stop(StopReason{StopReason::Kind::kError, 1,
                                        fmt::format("node {}: guest memory fault: {}", id_,
                                                    granted.error().message)});
    } else if (*granted) {
      dsm_region_->wake(page);  // the page arrived between the fault and now
    }
  });
}

void ClusterNode::send(NodeId dst, dataplane::Payload payload) {
  Message m;
  m.header.dst_node = dst;
  m.payload = std::move(payload);
  if (Status s = link_->send(std::move(m)); !s) {
    control_->request_stop(StopReason{StopReason::Kind::kError, 1,
                                      fmt::format("node {}: dataplane: {}", id_, s.error().message)});
  }
}

void ClusterNode::send_to_peers(const dataplane::Payload& payload) {
  for (const NodeConfig& n : config_.nodes) {
    if (n.id != id_) send(n.id, payload);
  }
}

// --- RemotePlatform ---------------------------------------------------------

void ClusterNode::send_ipi(uint32_t vcpu, const InterruptMessage& msg) {
  send(config_.vcpu_node[vcpu], to_ipi_payload(vcpu, msg));
}

void ClusterNode::send_eoi(uint8_t vector) {
  dataplane::EoiPayload p;
  p.vector = vector;
  send(0, p);
}

bool ClusterNode::forward_io(uint32_t vcpu, bool mmio, uint64_t address, std::span<uint8_t> data,
                             bool is_write) {
  IoSlot& slot = *io_slots_[vcpu];
  dataplane::IoRequestPayload req;
  req.request_id = (static_cast<uint64_t>(vcpu) << 32) | ((slot.request_id + 1) & 0xFFFFFFFF);
  req.vcpu = vcpu;
  req.space = mmio ? dataplane::IoSpace::kMmio : dataplane::IoSpace::kPort;
  req.size = static_cast<uint8_t>(data.size());
  req.is_write = is_write ? 1 : 0;
  req.address = address;
  if (is_write) std::memcpy(&req.data, data.data(), std::min(data.size(), sizeof(req.data)));
  {
    std::lock_guard lock(slot.mu);
    slot.request_id = req.request_id;
    slot.done.store(false, std::memory_order_relaxed);
  }
  send(0, req);

  const uint64_t spin_until = clock_.now_ns() + kIoSpinNs;
  while (!slot.done.load(std::memory_order_acquire) && clock_.now_ns() < spin_until) {
    _mm_pause();
  }
  std::unique_lock lock(slot.mu);
  while (!slot.done.load(std::memory_order_acquire)) {
    if (control_->stop_requested()) return false;
    slot.cv.wait_for(lock, std::chrono::milliseconds(50));
  }
  if (!is_write) std::memcpy(data.data(), &slot.data, std::min(data.size(), sizeof(slot.data)));
  return true;
}

void ClusterNode::publish_addressing(uint32_t vcpu, const ApicAddressing& addressing) {
  uint32_t update_id = 0;
  {
    std::lock_guard lock(apic_mu_);
    update_id = ++apic_update_seq_;
  }
  send_to_peers(to_apic_update(vcpu, addressing, update_id));
  // Wait until every peer applied it (acks are cumulative: updates from one
  // node are applied in order on each link).
  std::unique_lock lock(apic_mu_);
  for (;;) {
    bool all = true;
    for (const NodeConfig& n : config_.nodes) {
      if (n.id != id_ && apic_acks_[n.id] < update_id) all = false;
    }
    if (all || control_->stop_requested()) return;
    apic_cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
}

// --- dataplane thread --------------------------------------------------------

void ClusterNode::dispatch(const Message& msg) {
  const NodeId src = msg.header.src_node;
  if (src < config_.nodes.size()) last_heard_ns_[src].store(clock_.now_ns(), std::memory_order_relaxed);

  if (const auto* ipi = std::get_if<dataplane::IpiPayload>(&msg.payload)) {
    if (ipi->target_vcpu < config_.vcpus && config_.vcpu_node[ipi->target_vcpu] == id_) {
      machine_->deliver_ipi(ipi->target_vcpu, from_ipi_payload(*ipi));
    } else {
      spdlog::warn("node {}: IPI for vCPU {} from node {} does not belong here: dropped", id_,
                   ipi->target_vcpu, src);
    }
  } else if (const auto* req = std::get_if<dataplane::IoRequestPayload>(&msg.payload)) {
    dataplane::IoResponsePayload resp;
    resp.request_id = req->request_id;
    uint64_t value = req->data;
    if (id_ == 0) {
      std::span<uint8_t> bytes(reinterpret_cast<uint8_t*>(&value), req->size);
      machine_->handle_remote_io(req->space == dataplane::IoSpace::kMmio, req->address, bytes,
                                 req->is_write != 0);
    } else {
      value = ~0ull;  // not the I/O home: nothing answers here
    }
    resp.data = req->is_write ? 0 : value;
    send(src, resp);
  } else if (const auto* resp = std::get_if<dataplane::IoResponsePayload>(&msg.payload)) {
    uint32_t vcpu = static_cast<uint32_t>(resp->request_id >> 32);
    if (vcpu < io_slots_.size()) {
      IoSlot& slot = *io_slots_[vcpu];
      std::lock_guard lock(slot.mu);
      if (slot.request_id == resp->request_id) {
        slot.data = resp->data;
        slot.done.store(true, std::memory_order_release);
        slot.cv.notify_one();
      }
    }
  } else if (const auto* eoi = std::get_if<dataplane::EoiPayload>(&msg.payload)) {
    machine_->handle_eoi(eoi->vector);
  } else if (const auto* upd = std::get_if<dataplane::ApicUpdatePayload>(&msg.payload)) {
    if (upd->vcpu < config_.vcpus) machine_->update_addressing(upd->vcpu, from_apic_update(*upd));
    dataplane::ApicUpdateAckPayload ack;
    ack.update_id = upd->update_id;
    send(src, ack);
  } else if (const auto* uack = std::get_if<dataplane::ApicUpdateAckPayload>(&msg.payload)) {
    std::lock_guard lock(apic_mu_);
    if (src < apic_acks_.size()) apic_acks_[src] = std::max(apic_acks_[src], uack->update_id);
    apic_cv_.notify_all();
  } else if (const auto* clk = std::get_if<dataplane::ClockPayload>(&msg.payload)) {
    if (src == 0) {
      std::lock_guard lock(start_mu_);
      tsc_base_ = clk->t_sender;
    }
  } else if (msg.header.type >= dataplane::MessageType::kDsmRequest &&
             msg.header.type <= dataplane::MessageType::kDsmDone) {
    if (dsm_) dsm_->on_message(src, msg);
  } else if (const auto* ctl = std::get_if<ControlPayload>(&msg.payload)) {
    switch (ctl->code) {
      case ControlCode::kReady: {
        std::lock_guard lock(start_mu_);
        if (src < ready_.size()) ready_[src] = true;
        start_cv_.notify_all();
        break;
      }
      case ControlCode::kStart: {
        std::lock_guard lock(start_mu_);
        start_received_ = true;
        start_cv_.notify_all();
        break;
      }
      case ControlCode::kStop:
        stop_from_peer(src, ctl->status);
        break;
    }
  }
}

void ClusterNode::stop_from_peer(NodeId src, int status) {
  stopped_by_peer_.store(true);
  control_->request_stop(StopReason{StopReason::Kind::kGuestExit, status,
                                    fmt::format("node {} stopped the VM (status {})", src, status)});
  start_cv_.notify_all();
}

size_t ClusterNode::housekeeping() {
  const uint64_t now = clock_.now_ns();
  if (dsm_) {
    if (std::optional<uint64_t> t = dsm_->next_timer_ns(); t && *t <= now) dsm_->run_timers();
  }
  if (now < next_heartbeat_ns_) return 0;
  next_heartbeat_ns_ = now + kHeartbeatIntervalNs;
  dataplane::HeartbeatPayload hb;
  hb.sent_ns = now;
  send_to_peers(hb);
  // Bad frames are dropped and counted by the link; say so at most once per
  // heartbeat interval, with the latest reason.
  const auto c = link_->counters();
  const uint64_t rejected = c.malformed + c.foreign + c.stale_incarnation;
  if (rejected > rejected_reported_) {
    spdlog::warn("node {}: dropped {} bad frame(s); latest: {}", id_, rejected - rejected_reported_,
                 link_->last_rejection());
    rejected_reported_ = rejected;
  }
  // Frames the transport itself refused (a sender that is no configured
  // node, another EtherType, truncated): counted there, said here, at info
  // level because on a shared Ethernet other protocols' frames are normal.
  const uint64_t unauthenticated = auth_ != nullptr ? auth_->auth_failures() : 0;
  const uint64_t transport_dropped = transport_->counters().rx_dropped - unauthenticated;
  if (transport_dropped > transport_dropped_reported_) {
    spdlog::info("node {}: the {} transport dropped {} received frame(s) from unknown senders, of "
                 "another protocol, or truncated (--stats-json: transport_counters.rx_dropped)",
                 id_, transport_->name(), transport_dropped - transport_dropped_reported_);
    transport_dropped_reported_ = transport_dropped;
  }
  if (unauthenticated > unauthenticated_reported_) {
    spdlog::warn("node {}: dropped {} frame(s) whose authentication tag did not verify (a sender "
                 "without this cluster's key, or a damaged frame)",
                 id_, unauthenticated - unauthenticated_reported_);
    unauthenticated_reported_ = unauthenticated;
  }
  if (running_.load(std::memory_order_relaxed)) {
    for (const NodeConfig& n : config_.nodes) {
      if (n.id == id_) continue;
      uint64_t heard = last_heard_ns_[n.id].load(std::memory_order_relaxed);
      if (now > heard + kPeerTimeoutNs) {
        control_->request_stop(StopReason{
            StopReason::Kind::kError, 1,
            fmt::format("node {} stopped responding: nothing heard from it for {} s", n.id,
                        (now - heard) / 1'000'000'000)});
      }
    }
  }
  return 1;
}

std::optional<uint64_t> ClusterNode::next_deadline() const {
  std::optional<uint64_t> d = link_->next_timer_ns();
  if (!d || *d > next_heartbeat_ns_) d = next_heartbeat_ns_;
  if (dsm_) {
    if (std::optional<uint64_t> t = dsm_->next_timer_ns(); t && *t < *d) d = t;
  }
  return d;
}

Status ClusterNode::start_barrier() {
  const uint64_t deadline = clock_.now_ns() + kStartTimeoutNs;
  std::unique_lock lock(start_mu_);
  if (id_ != 0) {
    lock.unlock();
    ControlPayload ready;
    ready.code = ControlCode::kReady;
    send(0, ready);
    lock.lock();
    while (!start_received_ && !control_->stop_requested()) {
      if (clock_.now_ns() > deadline) {
        return Error::format("node {}: node 0 did not start the VM within {} s; is it running?",
                             id_, kStartTimeoutNs / 1'000'000'000);
      }
      start_cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    uint64_t base = tsc_base_;
    lock.unlock();
    return machine_->set_tsc_base(base);
  }
  for (;;) {
    std::string missing;
    for (size_t i = 1; i < ready_.size(); ++i) {
      if (!ready_[i]) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
    }
    if (missing.empty() || control_->stop_requested()) break;
    if (clock_.now_ns() > deadline) {
      return Error::format("node 0: node(s) {} did not report ready within {} s; are they running?",
                           missing, kStartTimeoutNs / 1'000'000'000);
    }
    start_cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
  lock.unlock();
  const uint64_t base = __rdtsc();
  DVMM_TRY(machine_->set_tsc_base(base));
  dataplane::ClockPayload clk;
  clk.t_sender = base;
  send_to_peers(clk);
  ControlPayload start;
  start.code = ControlCode::kStart;
  send_to_peers(start);
  return {};
}

StopReason ClusterNode::run() {
  // SIGINT/SIGTERM are taken by the Machine's signal watcher; no other
  // thread may receive them (the default action would kill the node).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  next_heartbeat_ns_ = clock_.now_ns();
  poller_thread_ = std::thread([this] {
    Status s = poller_->run(
        [this] { return link_->poll([this](const Message& m) { dispatch(m); }) + housekeeping(); },
        [this] { return next_deadline(); });
    if (!s) {
      control_->request_stop(StopReason{StopReason::Kind::kError, 1,
                                        fmt::format("node {}: dataplane poller: {}", id_,
                                                    s.error().message)});
    }
  });

  StopReason reason;
  if (Status s = start_barrier(); !s) {
    reason = StopReason{StopReason::Kind::kError, 1, s.error().message};
    control_->request_stop(reason);
  } else if (control_->stop_requested()) {
    reason = control_->wait();
  } else {
    const uint64_t now = clock_.now_ns();
    for (size_t i = 0; i < config_.nodes.size(); ++i) last_heard_ns_[i].store(now);
    running_.store(true);
    reason = machine_->run();
    running_.store(false);
  }

  if (!stopped_by_peer_.load()) {
    ControlPayload stop;
    stop.code = ControlCode::kStop;
    stop.status = reason.exit_status;
    send_to_peers(stop);
    // Give the STOP a moment to be acknowledged so peers learn the status
    // from us rather than by timing out.
    const uint64_t until = clock_.now_ns() + 1'000'000'000;
    while (!link_->all_acknowledged() && clock_.now_ns() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  poller_->stop();
  poller_thread_.join();
  if (id_ == 0) {
    // The I/O home removes the instance's shared files (dvmm run does too):
    // a stale ring file would replay old frames to the next run.
    unlink(instance_ram_path(options_.instance).c_str());
    (void)dataplane::ShmTransport::unlink(instance_rings_path(options_.instance));
  }
  if (dsm_region_) dsm_region_->stop();
  if (options_.print_stats) print_stats();
  if (!options_.stats_json_path.empty()) write_stats_json();
  return reason;
}

void ClusterNode::print_stats() const {
  auto c = link_->counters();
  std::fprintf(stderr,
               "dvmm: node %u dataplane: sent %lu delivered %lu retransmitted %lu duplicates %lu "
               "malformed %lu foreign %lu unauthenticated %lu acks %lu peer restarts %lu stale "
               "incarnation %lu\n",
               id_, c.sent, c.delivered, c.retransmitted, c.duplicates, c.malformed, c.foreign,
               auth_ != nullptr ? auth_->auth_failures() : 0, c.acks_sent, c.peer_restarts,
               c.stale_incarnation);
  if (auto* f = dynamic_cast<dataplane::fpga::FpgaLink*>(link_.get())) {
    using C = dataplane::fpga::EngineCounter;
    const auto e = f->engine_counters();
    auto at = [&](C i) { return e[static_cast<size_t>(i)]; };
    std::fprintf(stderr,
                 "dvmm: node %u fpga engine (%s): IPIs to the pending bitmaps %lu, to the host "
                 "queue %lu; go-back-N timeouts %lu; dropped: queue full %lu, out of order %lu\n",
                 id_, f->device().name(), at(C::kRxIpi), at(C::kRxHost), at(C::kTxTimeout),
                 at(C::kRxQueueFull), at(C::kRxOutOfOrder));
  }
#ifdef DVMM_HAVE_DPDK
  dataplane::Transport* bottom = auth_ != nullptr ? &auth_->inner() : transport_.get();
  if (const auto* dpdk = dynamic_cast<const dataplane::DpdkTransport*>(bottom)) {
    const auto r = dpdk->rx_drops();
    std::fprintf(stderr,
                 "dvmm: node %u dpdk: received frames dropped: other protocols %lu, malformed %lu, "
                 "to another MAC %lu, from an unknown MAC %lu; PMD: %s\n",
                 id_, r.not_ours, r.malformed, r.wrong_dst, r.unknown_src,
                 dpdk->pmd_stats().c_str());
  }
#endif
  if (dsm_) {
    auto d = dsm_->counters();
    auto u = dsm_region_->counters();
    std::fprintf(stderr,
                 "dvmm: node %u dsm: faults read %lu write %lu upgrade %lu (uffd missing %lu wp "
                 "%lu); pages sent %lu (zero %lu) received %lu (zero %lu); bytes sent %lu "
                 "received %lu; invalidations %lu downgrades %lu; blocked %.3f ms; rejected %lu\n",
                 id_, d.read_faults, d.write_faults, d.upgrade_faults, u.missing_faults,
                 u.wp_faults, d.pages_sent, d.zero_pages_sent, d.pages_received,
                 d.zero_pages_received, d.bytes_sent, d.bytes_received, d.invalidations,
                 d.downgrades, static_cast<double>(d.blocked_ns) / 1e6, d.rejected);
  }
}

}  // namespace dvmm::cluster
