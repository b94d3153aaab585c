#include "host/vmm/machine.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <x86intrin.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "host/apic/lapic.hpp"
#include "host/arch/cpuid.hpp"
#include "host/arch/ring0_probe.hpp"
#include "host/arch/x86_state.hpp"
#include "host/boot/acpi.hpp"
#include "host/boot/mptable.hpp"
#include "host/boot/kernel_loader.hpp"
#include "host/boot/platform.hpp"
#include "host/common/clock.hpp"
#include "host/devices/acpi_pm.hpp"
#include "host/devices/bus.hpp"
#include "host/devices/cmos.hpp"
#include "host/devices/debug_exit.hpp"
#include "host/devices/fw_cfg.hpp"
#include "host/devices/ioapic.hpp"
#include "host/devices/isa_irqs.hpp"
#include "host/devices/pic8259.hpp"
#include "host/devices/pit8254.hpp"
#include "host/devices/reset_ports.hpp"
#include "host/devices/uart16550.hpp"
#include "host/memory/guest_ram.hpp"
#include "host/vmm/console.hpp"
#include "host/vmm/interrupt_router.hpp"
#include "host/vmm/kvm_setup.hpp"
#include "host/vmm/vcpu_thread.hpp"

namespace dvmm {

namespace {

// The same lines into KVM's in-kernel PIC and IOAPIC. KVM's default
// routing sends GSI n to PIC pin n and IOAPIC pin n; IRQ 0 is raised on
// GSI 2 too, where the MADT's override tells an IOAPIC guest to find it.
class KvmIsaIrqs final : public IrqSink {
 public:
  explicit KvmIsaIrqs(kvm::Vm& vm) : vm_(vm) {}
  void set_irq(unsigned line, bool level) override {
    if (Status s = vm_.irq_line(line, level); !s) {
      spdlog::warn("IRQ {}: {}", line, s.error().message);
    }
    if (line == 0) (void)vm_.irq_line(2, level);
  }

 private:
  kvm::Vm& vm_;
};

// KVM resets the BSP's LINT0 to ExtINT, unmasked (the virtual-wire mode a
// BIOS would leave), so the 8259 reaches CPU 0 beside the IOAPIC. dvmm has
// no BIOS and its own LAPIC resets LINT0 masked, as the SDM's power-on
// state says: make the baseline's the same, or guests see each ISA
// interrupt twice.
Status mask_lint0(kvm::Vcpu& vcpu) {
  constexpr size_t kLvtLint0 = 0x350;
  constexpr uint32_t kLvtMasked = 1u << 16;
  kvm_lapic_state state = DVMM_TRY(vcpu.get_lapic());
  uint32_t lvt = 0;
  std::memcpy(&lvt, state.regs + kLvtLint0, sizeof(lvt));
  lvt |= kLvtMasked;
  std::memcpy(state.regs + kLvtLint0, &lvt, sizeof(lvt));
  return vcpu.set_lapic(state);
}

// what: "kernel" or "initrd", and the option that names the file.
Result<std::vector<uint8_t>> read_file(const std::string& path, const char* what,
                                       const char* option) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return Error::format("cannot open {} '{}': {}: give an existing file with {}", what, path,
                         std::strerror(errno), option);
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return Error::format("cannot read {} '{}'", what, path);
  return bytes;
}

Status validate(const MachineConfig& c) {
  if (c.vcpus < 1 || c.vcpus > MachineConfig::kMaxVcpus) {
    return Error::format("--vcpus {} is out of range: choose 1 to {}", c.vcpus,
                         MachineConfig::kMaxVcpus);
  }
  if (c.memory_bytes < MachineConfig::kMinMemory || c.memory_bytes > MachineConfig::kMaxMemory) {
    return Error::format("--memory {} MiB is out of range: choose {} MiB to {} MiB",
                         c.memory_bytes >> 20, MachineConfig::kMinMemory >> 20,
                         MachineConfig::kMaxMemory >> 20);
  }
  if (c.memory_bytes % kPageSize != 0) {
    return Error::format("--memory {} bytes is not a multiple of 4 KiB", c.memory_bytes);
  }
  if (!c.vcpu_node.empty() && c.vcpu_node.size() != c.vcpus) {
    return Error::format("vCPU placement lists {} vCPUs, the VM has {}", c.vcpu_node.size(), c.vcpus);
  }
  bool all_local = true;
  for (unsigned i = 0; i < c.vcpus; ++i) all_local = all_local && c.is_local(i);
  if ((!all_local || !c.io_home()) && c.remote == nullptr) {
    return Error::format("node {}: vCPUs or devices live on other nodes but no dataplane is set up",
                         c.node_id);
  }
  if (c.is_local(0) && !c.io_home()) {
    return Error::format("vCPU 0 (the bootstrap processor) must run on the I/O home, node 0");
  }
  if (c.kernel_irqchip && (!all_local || !c.io_home())) {
    return Error::format("the in-kernel irqchip works on one node only (vCPUs on other nodes need "
                         "dvmm's userspace LAPIC): drop --irqchip kernel for a cluster");
  }
  return {};
}

}  // namespace

struct Machine::Impl {
  MachineConfig config;
  GuestRam ram;
  KvmVmSetup kvm;
  VmControl control;
  MonotonicClock clock;
  ConsoleOutput console{STDOUT_FILENO};
  Bus pio{"port I/O"};
  Bus mmio{"MMIO"};
  InterruptRouter router;

  std::shared_ptr<Ioapic> ioapic;
  std::shared_ptr<Pic8259> pic;
  std::unique_ptr<IrqSink> isa_irqs;
  std::shared_ptr<Uart16550> uart;
  std::shared_ptr<Pit8254> pit;

  // Indexed by vCPU; null for vCPUs that run on other nodes.
  std::vector<std::unique_ptr<ApicBus>> lapic_ports;
  std::vector<std::unique_ptr<Lapic>> lapics;
  std::vector<VcpuThread*> vcpu_by_index;
  std::vector<std::unique_ptr<VcpuThread>> vcpus;  // the local ones
  boot::BootEntry boot{};
  boot::PlatformDescription platform;  // what the firmware tables describe

  Impl(MachineConfig c, GuestRam r, KvmVmSetup k)
      : config(std::move(c)), ram(std::move(r)), kvm(std::move(k)) {}

  Status add_devices();
  Status add_vcpus();
  Status set_boot_registers();
  void platform_timer_loop();
  void print_stats() const;
};

Status Machine::Impl::add_devices() {
  if (config.kernel_irqchip) {
    isa_irqs = std::make_unique<KvmIsaIrqs>(kvm.vm);
  } else {
    ioapic = std::make_shared<Ioapic>(router, static_cast<uint8_t>(platform.ioapic_id));
    pic = std::make_shared<Pic8259>();
    isa_irqs = std::make_unique<IsaIrqs>(*pic, *ioapic);
  }
  uart = std::make_shared<Uart16550>(*isa_irqs, 4, [this](uint8_t b) { console.put(b); });
  pit = std::make_shared<Pit8254>(clock, *isa_irqs);
  auto cmos = std::make_shared<Cmos>(ram.size(), [] { return static_cast<int64_t>(time(nullptr)); });
  auto fw_cfg = std::make_shared<FwCfg>(config.vcpus, ram.size());
  auto debug_exit = std::make_shared<DebugExit>([this](uint32_t value) {
    console.flush();
    control.request_stop(StopReason{
        StopReason::Kind::kGuestExit, static_cast<int>(value & 0xFF),
        fmt::format("guest wrote {:#x} to the debug-exit port (QEMU would exit with status {})",
                    value, DebugExit::qemu_status(value))});
  });
  // ACPI power-off and the two reset ports end the VM (acpi.hpp's FADT
  // describes them; vm_control.hpp gives the exit statuses).
  auto acpi_pm =
      std::make_shared<AcpiPm>(clock, *isa_irqs, boot::kAcpiSciIrq, boot::kAcpiS5SleepType, [this] {
        console.flush();
        control.request_stop(StopReason{StopReason::Kind::kPowerOff, StopReason::kExitPowerOff,
                                        "guest powered off (ACPI S5)"});
      });
  auto reset_by = [this](const char* how) {
    return [this, how] {
      console.flush();
      control.request_stop(
          StopReason{StopReason::Kind::kReset, StopReason::kExitReset,
                     fmt::format("guest requested reset ({}); dvmm does not reboot: exit status {}",
                                 how, StopReason::kExitReset)});
    };
  };
  auto reset_control = std::make_shared<ResetControl>(reset_by("reset control port 0xCF9"));
  auto kbc_reset = std::make_shared<KeyboardControllerReset>(reset_by("8042 command 0xFE"));
  static_assert(boot::kAcpiPmIoLength == AcpiPm::kLength &&
                    boot::kAcpiPm1aEventPort - boot::kAcpiPmIoBase == AcpiPm::kStatus &&
                    boot::kAcpiPm1aControlPort - boot::kAcpiPmIoBase == AcpiPm::kControl &&
                    boot::kAcpiPmTimerPort - boot::kAcpiPmIoBase == AcpiPm::kTimer &&
                    boot::kAcpiResetPort == ResetControl::kDefaultBase &&
                    (boot::kAcpiResetValue & ResetControl::kRstCpu) != 0,
                "the FADT and the ACPI devices disagree");

  DVMM_TRY(pio.insert(0x3F8, 8, uart, "uart16550 COM1"));
  if (pic) {
    DVMM_TRY(pio.insert(0x20, 2, pic->master(), "8259 PIC master"));
    DVMM_TRY(pio.insert(0xA0, 2, pic->slave(), "8259 PIC slave"));
  }
  DVMM_TRY(pio.insert(0x40, 4, pit, "8254 PIT"));
  DVMM_TRY(pio.insert(0x61, 1, pit->port61(), "PC speaker / PIT gate (port 0x61)"));
  DVMM_TRY(pio.insert(0x70, 2, cmos, "CMOS/RTC"));
  DVMM_TRY(pio.insert(0x510, 2, fw_cfg, "QEMU fw_cfg"));
  DVMM_TRY(pio.insert(0xF4, 4, debug_exit, "isa-debug-exit"));
  DVMM_TRY(pio.insert(boot::kAcpiPmIoBase, AcpiPm::kLength, acpi_pm, "ACPI PM1a + PM timer"));
  DVMM_TRY(pio.insert(ResetControl::kDefaultBase, ResetControl::kLength, reset_control,
                      "reset control (0xCF9)"));
  DVMM_TRY(pio.insert(KeyboardControllerReset::kDefaultBase, KeyboardControllerReset::kLength,
                      kbc_reset, "8042 command/status (reset only)"));
  if (ioapic) DVMM_TRY(mmio.insert(0xFEC00000, 0x1000, ioapic, "IOAPIC"));
  return {};
}

Status Machine::Impl::add_vcpus() {
  DVMM_TRY(VcpuThread::install_kick_handler());
  const unsigned n = config.vcpus;
  RemotePlatform* remote = config.remote;
  // Accesses no local device claims go to the I/O home, unless this is it:
  // then nothing decodes them (all-ones reads), as on a PC's bus.
  const VcpuThread::Buses buses{pio, mmio, config.io_home() ? nullptr : remote,
                                std::span<uint8_t>(ram.host_base(), ram.size())};
  lapic_ports.resize(n);
  lapics.resize(n);
  vcpu_by_index.assign(n, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    if (!config.is_local(i)) {
      // A remote vCPU: the router matches it by the addressing its node
      // publishes (power-on values until then) and hands its interrupts to
      // the dataplane.
      ApicAddressing power_on;
      power_on.apic_id = i;
      router.add_cpu(static_cast<int>(i), power_on,
                     InterruptRouter::Target{
                         [remote, i](const InterruptMessage& m) { remote->send_ipi(i, m); },
                         [] { return 0; }, true});
      continue;
    }
    if (config.kernel_irqchip) {
      // KVM's LAPIC routes IPIs, starts APs and halts vCPUs by itself.
      kvm::Vcpu vcpu = DVMM_TRY(create_kvm_vcpu(kvm, i, i, n));
      if (i == 0) DVMM_TRY(mask_lint0(vcpu));
      auto thread = std::make_unique<VcpuThread>(static_cast<int>(i), std::move(vcpu), nullptr,
                                                 buses, control, true);
      DVMM_TRY(thread->capture_reset_state());
      VcpuThread* t = thread.get();
      control.add_waker([t] { t->kick(); });
      vcpu_by_index[i] = t;
      vcpus.push_back(std::move(thread));
      continue;
    }
    lapic_ports[i] = router.port_for_cpu(static_cast<int>(i));
    lapics[i] = std::make_unique<Lapic>(i, i == 0, *lapic_ports[i], clock);
    kvm::Vcpu vcpu = DVMM_TRY(create_kvm_vcpu(kvm, i, i, n));
    auto thread = std::make_unique<VcpuThread>(static_cast<int>(i), std::move(vcpu), lapics[i].get(),
                                               buses, control, i == 0);
    DVMM_TRY(thread->capture_reset_state());
    VcpuThread* t = thread.get();
    Lapic* lapic = lapics[i].get();
    router.add_cpu(static_cast<int>(i), lapic->addressing(),
                   InterruptRouter::Target{
                       [lapic, t](const InterruptMessage& m) {
                         lapic->accept(m);
                         t->kick();
                       },
                       [lapic] { return lapic->task_priority(); }});
    lapic->set_addressing_observer([this, i, remote](const ApicAddressing& a) {
      router.update_addressing(static_cast<int>(i), a);
      if (remote != nullptr) remote->publish_addressing(i, a);
    });
    control.add_waker([t] { t->kick(); });
    vcpu_by_index[i] = t;
    vcpus.push_back(std::move(thread));
  }
  if (config.io_home()) {
    if (ioapic) router.set_eoi_handler([io = ioapic.get()](uint8_t vector) { io->handle_eoi(vector); });
  } else {
    router.set_eoi_handler([remote](uint8_t vector) { remote->send_eoi(vector); });
  }
  return {};
}

Status Machine::Impl::set_boot_registers() {
  kvm::Vcpu& bsp = vcpus[0]->vcpu();
  kvm_regs regs{};
  kvm_sregs sregs = DVMM_TRY(bsp.get_sregs());
  if (boot.mode == boot::EntryMode::kLong64) {
    x86::set_long_mode_entry(regs, sregs, boot.long_mode);
  } else {
    x86::set_protected_mode_entry(regs, sregs, boot.eip, boot.eax, boot.ebx);
  }
  DVMM_TRY(bsp.set_sregs(sregs));
  DVMM_TRY(bsp.set_regs(regs));
  return {};
}

// Drives the PIT: no device has a thread of its own, so this one sleeps
// until the PIT's next output edge and lets it raise IRQ 0.
void Machine::Impl::platform_timer_loop() {
  constexpr uint64_t kMaxSleepNs = 50'000'000;  // re-check the stop flag 20 times a second
  if (!pit) return;  // not the I/O home: no PIT here
  while (!control.stop_requested()) {
    pit->poll();
    uint64_t now = clock.now_ns();
    uint64_t until = now + kMaxSleepNs;
    if (std::optional<uint64_t> d = pit->next_irq_deadline_ns()) until = std::min(until, *d);
    timespec ts{static_cast<time_t>(until / 1'000'000'000), static_cast<long>(until % 1'000'000'000)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
  }
}

void Machine::Impl::print_stats() const {
  for (const auto& v : vcpus) {
    const VcpuStats& s = v->stats();
    std::fprintf(stderr,
                 "dvmm: vCPU %d exits: io %lu mmio %lu lapic %lu msr %lu hlt %lu kicked %lu "
                 "irq-window %lu; injected %lu; unhandled io %lu mmio %lu msr %lu; "
                 "emulated instructions %lu\n",
                 v->index(), s.exits_io.load(), s.exits_mmio.load(), s.exits_lapic.load(),
                 s.exits_msr.load(), s.exits_hlt.load(), s.exits_intr.load(),
                 s.exits_irq_window.load(), s.interrupts_injected.load(), s.unhandled_io.load(),
                 s.unhandled_mmio.load(), s.unhandled_msr.load(), s.emulated_instructions.load());
  }
  auto rc = router.counters();
  std::fprintf(stderr,
               "dvmm: interrupts delivered %lu: IPIs %lu to this node's vCPUs, %lu to other "
               "nodes'; device interrupts %lu here, %lu to other nodes; with no target %lu\n",
               rc.delivered, rc.ipis_local, rc.ipis_remote, rc.device_local, rc.device_remote,
               rc.no_target);
}

// What this host's KVM runs in guest ring 0 (cached per process). Taken
// before the VM exists so that a kernel's own errors still come first; a
// host without a usable /dev/kvm gets the all-capable default here and the
// error from create_kvm_vm.
static x86::Ring0Support host_ring0_support() {
  auto kvm = kvm::Kvm::open();
  if (!kvm) return {};
  auto supported = kvm->supported_cpuid();
  if (!supported) return {};
  auto ring0 = x86::ring0_support(*kvm, *supported);
  return ring0 ? *ring0 : x86::Ring0Support{};
}

Result<std::unique_ptr<Machine>> Machine::create(const MachineConfig& config) {
  // Everything about the configuration and the image is checked before
  // /dev/kvm is touched, so those errors read the same on any host.
  DVMM_TRY(validate(config));
  std::vector<uint8_t> image;
  std::vector<uint8_t> initrd;
  if (config.io_home()) {
    image = DVMM_TRY(read_file(config.kernel_path, "kernel", "--kernel"));
    if (!config.initrd_path.empty()) initrd = DVMM_TRY(read_file(config.initrd_path, "initrd", "--initrd"));
  }
  GuestRam ram = config.anonymous_ram ? DVMM_TRY(GuestRam::create_anonymous(config.memory_bytes))
                 : config.shared_ram_path.empty()
                     ? DVMM_TRY(GuestRam::create(config.memory_bytes))
                     : DVMM_TRY(GuestRam::open_shared(config.shared_ram_path, config.memory_bytes,
                                                      config.io_home()));
  boot::BootEntry boot_info{};
  const auto platform = boot::PlatformDescription::with_cpus(config.vcpus);
  if (config.io_home()) {
    // The I/O home loads the guest and its firmware tables; other nodes see
    // them through the shared RAM once the VM starts. The CPU profile
    // (every node probes the same way) tells Linux what to leave alone.
    const x86::Ring0Support ring0 = host_ring0_support();
    const std::string clearcpuid = x86::linux_clearcpuid(ring0);
    boot::KernelArgs args{config.kernel_path, config.cmdline, initrd, boot::kAcpiTables.start,
                          config.linux_entry, clearcpuid};
    auto loaded = boot::load_kernel(ram, image, args);
    if (!loaded) {
      return Error::format("kernel '{}': {}", config.kernel_path, loaded.error().message);
    }
    boot_info = *loaded;
    spdlog::debug("kernel '{}': {}", config.kernel_path, boot_info.description);
    if (boot_info.protocol != boot::BootProtocol::kMultiboot) {
      if (boot::linux_cmdline(config.cmdline, clearcpuid) != config.cmdline) {
        spdlog::info("Linux command line: clearcpuid={} appended (what this host's KVM cannot run "
                     "in guest ring 0 but shows in CPUID; a clearcpuid= of your own replaces it)",
                     clearcpuid);
      }
      if (!ring0.user_syscall) {
        // Said once, before minutes of kernel boot, rather than left for
        // the operator to infer from init's segfault at the end of them.
        spdlog::warn("this host's KVM leaves a `syscall` from guest ring 3 in ring 3 (PVM does): "
                     "the kernel can boot, but its first user program (/init) will fault at the "
                     "kernel's syscall entry; boot on a VMX/SVM host to run user space "
                     "(docs/linux.md, \"User space\")");
      }
    }
    DVMM_TRY(boot::write_mp_table(ram, platform));
    DVMM_TRY(boot::write_acpi_tables(ram, platform));
  }

  KvmVmSetup kvm = DVMM_TRY(create_kvm_vm(ram, config.kernel_irqchip));
  auto impl = std::make_unique<Impl>(config, std::move(ram), std::move(kvm));
  impl->boot = boot_info;
  impl->platform = platform;
  if (config.io_home()) DVMM_TRY(impl->add_devices());
  DVMM_TRY(impl->add_vcpus());
  if (config.is_local(0)) DVMM_TRY(impl->set_boot_registers());
  return std::unique_ptr<Machine>(new Machine(std::move(impl)));
}

Status Machine::set_tsc_base(uint64_t host_tsc_base) {
  // Guest TSC = host TSC + offset (KVM_VCPU_TSC_OFFSET, Linux 5.16+).
  const uint64_t now = __rdtsc();
  uint64_t offset = 0 - host_tsc_base;
  kvm_device_attr attr{};
  attr.group = KVM_VCPU_TSC_CTRL;
  attr.attr = KVM_VCPU_TSC_OFFSET;
  attr.addr = reinterpret_cast<uint64_t>(&offset);
  for (auto& v : impl_->vcpus) {
    if (Status s = v->vcpu().set_device_attr(attr); !s) {
      return Error::format("cannot align the guest TSC across nodes: {} (needs Linux 5.16+)",
                           s.error().message);
    }
  }
  // kvmclock too: each node is its own KVM VM with its own kvmclock, which
  // the guest reads for the TSC frequency and its early clock. Set it to
  // the shared TSC's age in ns, so every node's reads the same.
  if (impl_->vcpus.empty()) return {};
  Result<uint32_t> khz = impl_->vcpus.front()->vcpu().tsc_khz();
  if (!khz) return Error::format("cannot align kvmclock across nodes: {}", khz.error().message);
  const auto age_ns = static_cast<uint64_t>(
      static_cast<unsigned __int128>(now - host_tsc_base) * 1'000'000 / *khz);
  return impl_->kvm.vm.set_clock(age_ns);
}

void Machine::deliver_ipi(uint32_t vcpu, const InterruptMessage& msg) {
  Impl& m = *impl_;
  if (vcpu >= m.lapics.size() || m.lapics[vcpu] == nullptr) return;
  m.lapics[vcpu]->accept(msg);
  m.vcpu_by_index[vcpu]->kick();
}

void Machine::handle_remote_io(bool mmio, uint64_t address, std::span<uint8_t> data,
                               bool is_write) {
  const Bus& bus = mmio ? impl_->mmio : impl_->pio;
  bool handled = is_write ? bus.write(address, data) : bus.read(address, data);
  if (!handled && !is_write) std::memset(data.data(), 0xFF, data.size());
}

void Machine::handle_eoi(uint8_t vector) {
  if (impl_->ioapic) impl_->ioapic->handle_eoi(vector);
}

void Machine::update_addressing(uint32_t vcpu, const ApicAddressing& addressing) {
  impl_->router.update_addressing(static_cast<int>(vcpu), addressing);
}

Machine::Machine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Machine::~Machine() = default;

VmControl& Machine::control() { return impl_->control; }
uint8_t* Machine::ram_base() const { return impl_->ram.host_base(); }
uint64_t Machine::ram_size() const { return impl_->ram.size(); }

StopReason Machine::run() {
  Impl& m = *impl_;
  // SIGINT/SIGTERM are taken by a watcher thread; every other thread,
  // the vCPUs included, inherits the blocked mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);

  for (auto& v : m.vcpus) v->start();
  std::thread timer([&m] { m.platform_timer_loop(); });
  std::thread watcher([&m, stop_signals] {
    timespec poll_interval{0, 100'000'000};
    while (!m.control.stop_requested()) {
      int sig = sigtimedwait(&stop_signals, nullptr, &poll_interval);
      if (sig > 0) {
        m.control.request_stop(StopReason{StopReason::Kind::kHostSignal, 128 + sig,
                                          fmt::format("stopped by signal {}", strsignal(sig))});
      }
    }
  });

  StopReason reason = m.control.wait();
  for (auto& v : m.vcpus) v->join();
  timer.join();
  watcher.join();
  m.console.flush();
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (m.config.print_stats) m.print_stats();
  return reason;
}

}  // namespace dvmm
