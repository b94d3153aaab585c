#include "host/vmm/vcpu_thread.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>

#include <spdlog/spdlog.h>

#include "host/arch/x86_state.hpp"
#include "host/vmm/emulation_failure.hpp"
#include "host/vmm/rip_sampler.hpp"

namespace dvmm {

namespace {

// The kick signal. SIGUSR1 is not used by anything else in dvmm.
constexpr int kKickSignal = SIGUSR1;

constexpr uint32_t kMsrApicBase = 0x1B;
constexpr uint32_t kMsrX2apicFirst = 0x800;
constexpr uint32_t kMsrX2apicLast = 0x8FF;

// The kvm_run of the vCPU this thread runs, for the signal handler.
thread_local kvm_run* tls_run = nullptr;

void kick_signal_handler(int) {
  // SAFETY: only touches a field of this thread's own kvm_run mapping, which
  // stays mapped for as long as tls_run points to it.
  if (tls_run != nullptr) tls_run->immediate_exit = 1;
}

}  // namespace

VcpuThread::VcpuThread(int index, kvm::Vcpu vcpu, Lapic* lapic, Buses buses, VmControl& control,
                       bool start_running)
    : index_(index),
      vcpu_(std::move(vcpu)),
      lapic_(lapic),
      buses_(buses),
      control_(control),
      running_(start_running || lapic == nullptr) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (!running_) lapic_->set_waiting_for_sipi(true);
}

VcpuThread::~VcpuThread() {
  join();
  if (wake_fd_ >= 0) close(wake_fd_);
}

Status VcpuThread::install_kick_handler() {
  struct sigaction sa {};
  sa.sa_handler = kick_signal_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a kick must interrupt poll() too
  if (sigaction(kKickSignal, &sa, nullptr) != 0) return Error::from_errno("sigaction(SIGUSR1)");
  return {};
}

Status VcpuThread::capture_reset_state() {
  if (wake_fd_ < 0) return Error::from_errno("eventfd(vCPU wake-up)");
  reset_sregs_ = DVMM_TRY(vcpu_.get_sregs());
  return {};
}

void VcpuThread::start() {
  thread_ = std::thread([this] { thread_main(); });
}

void VcpuThread::join() {
  if (thread_.joinable()) thread_.join();
}

void VcpuThread::kick() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  switch (state_.load(std::memory_order_seq_cst)) {
    case State::kInGuest:
      if (thread_started_.load(std::memory_order_acquire)) {
        pthread_kill(thread_handle_.load(), kKickSignal);
      }
      break;
    case State::kHalted: {
      uint64_t one = 1;
      // A full eventfd counter already means "wake up": ignore EAGAIN.
      [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
      break;
    }
    case State::kBusy:
      break;  // the vCPU will look at its LAPIC before it enters or halts
  }
}

void VcpuThread::fail(std::string message) {
  control_.request_stop(StopReason{StopReason::Kind::kError, 1,
                                   fmt::format("vCPU {}: {}", index_, message)});
}

void VcpuThread::thread_main() {
  tls_run = vcpu_.run_state();
  thread_handle_.store(pthread_self());
  thread_started_.store(true, std::memory_order_release);

  // A per-thread POSIX timer delivers the kick signal to this very thread
  // when the LAPIC timer is due, so a running guest is interrupted on time.
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = kKickSignal;
  sev._sigev_un._tid = gettid();
  if (timer_create(CLOCK_MONOTONIC, &sev, &timer_) != 0) {
    fail(Error::from_errno("timer_create(LAPIC timer)").message);
    return;
  }
  timer_created_ = true;
  RipSampler* sampler = RipSampler::from_environment();
  if (sampler != nullptr) sampler->start_for_this_thread(kKickSignal);

  while (!control_.stop_requested()) {
    if (!running_) {
      if (Status s = wait_for_sipi(); !s) {
        fail(s.error().message);
        break;
      }
      continue;
    }
    if (run_once() == VcpuStep::kStopped) break;
  }

  if (sampler != nullptr) sampler->stop_for_this_thread();
  timer_delete(timer_);
  timer_created_ = false;
  state_.store(State::kBusy);
  tls_run = nullptr;
}

Status VcpuThread::wait_for_sipi() {
  while (!control_.stop_requested()) {
    // INIT while waiting re-arms the wait; only a SIPI starts the CPU.
    if (lapic_->take_init()) lapic_->set_waiting_for_sipi(true);
    if (std::optional<uint8_t> vector = lapic_->take_sipi()) {
      kvm_regs regs{};
      kvm_sregs sregs{};
      x86::set_sipi_entry(regs, sregs, reset_sregs_, *vector);
      DVMM_TRY(vcpu_.set_sregs(sregs));
      DVMM_TRY(vcpu_.set_regs(regs));
      lapic_->set_waiting_for_sipi(false);
      running_ = true;
      spdlog::debug("vCPU {}: SIPI vector {:#04x}, starting at {:#x}", index_, *vector,
                    static_cast<unsigned>(*vector) << 12);
      return {};
    }
    wait_for_event(false);
  }
  return {};
}

void VcpuThread::wait_for_event(bool interrupts_enabled) {
  if (lapic_ == nullptr) return;  // the in-kernel LAPIC halts inside KVM_RUN
  state_.store(State::kHalted, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (;;) {
    if (control_.stop_requested()) break;
    std::optional<uint64_t> deadline = lapic_->poll_timer();
    // With IF clear only NMI, INIT and SIPI end a halt; a fixed interrupt
    // waits in IRR until the guest enables interrupts.
    if (lapic_->has_work() && (interrupts_enabled || !lapic_->pending_vector())) break;
    int timeout_ms = -1;
    if (deadline) {
      uint64_t now = MonotonicClock().now_ns();
      timeout_ms = *deadline <= now ? 0 : static_cast<int>((*deadline - now + 999'999) / 1'000'000);
    }
    pollfd pfd{wake_fd_, POLLIN, 0};
    poll(&pfd, 1, timeout_ms);
    uint64_t drained = 0;
    [[maybe_unused]] ssize_t n = read(wake_fd_, &drained, sizeof(drained));
  }
  state_.store(State::kBusy, std::memory_order_seq_cst);
}

void VcpuThread::arm_timer(std::optional<uint64_t> deadline_ns) {
  if (deadline_ns == armed_deadline_) return;
  armed_deadline_ = deadline_ns;
  itimerspec its{};
  if (deadline_ns) {
    // it_value of zero would disarm: a deadline at time 0 fires at 1 ns.
    uint64_t d = *deadline_ns == 0 ? 1 : *deadline_ns;
    its.it_value.tv_sec = static_cast<time_t>(d / 1'000'000'000);
    its.it_value.tv_nsec = static_cast<long>(d % 1'000'000'000);
  }
  timer_settime(timer_, TIMER_ABSTIME, &its, nullptr);
}

Status VcpuThread::prepare_entry() {
  if (lapic_ == nullptr) return {};  // KVM injects from its own LAPIC
  kvm_run* run = vcpu_.run_state();
  if (lapic_->take_init()) {
    // INIT: the CPU stops and waits for a SIPI (SDM vol. 3A 9.4.4.1).
    lapic_->set_waiting_for_sipi(true);
    running_ = false;
    return {};
  }
  if (lapic_->take_nmi()) DVMM_TRY(vcpu_.nmi());
  arm_timer(lapic_->poll_timer());

  run->request_interrupt_window = 0;
  if (lapic_->pending_vector()) {
    if (run->ready_for_interrupt_injection && run->if_flag) {
      if (std::optional<uint8_t> v = lapic_->acknowledge()) {
        DVMM_TRY(vcpu_.interrupt(*v));
        stats_.interrupts_injected.fetch_add(1, std::memory_order_relaxed);
      }
      // More pending: come back as soon as the guest can take another.
      if (lapic_->pending_vector()) run->request_interrupt_window = 1;
    } else {
      run->request_interrupt_window = 1;
    }
  }
  return {};
}

VcpuStep VcpuThread::run_once() {
  kvm_run* run = vcpu_.run_state();
  run->immediate_exit = 0;
  state_.store(State::kInGuest, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (Status s = prepare_entry(); !s) {
    fail(s.error().message);
    return VcpuStep::kStopped;
  }
  if (!running_ || control_.stop_requested()) {
    state_.store(State::kBusy, std::memory_order_seq_cst);
    return VcpuStep::kInterrupted;
  }
  int err = vcpu_.run();
  state_.store(State::kBusy, std::memory_order_seq_cst);
  if (err != 0) {
    if (err == EINTR || err == EAGAIN) {
      stats_.exits_intr.fetch_add(1, std::memory_order_relaxed);
      if (RipSampler* sampler = RipSampler::from_environment(); sampler != nullptr) {
        if (Result<kvm_regs> regs = vcpu_.get_regs()) sampler->record(index_, regs->rip);
      }
      return VcpuStep::kInterrupted;
    }
    fail(fmt::format("KVM_RUN failed: {} (errno {})", std::strerror(err), err));
    return VcpuStep::kStopped;
  }

  switch (run->exit_reason) {
    case KVM_EXIT_IO:
      handle_io();
      return VcpuStep::kHandled;
    case KVM_EXIT_MMIO:
      handle_mmio();
      return VcpuStep::kHandled;
    case KVM_EXIT_X86_RDMSR:
      handle_rdmsr();
      return VcpuStep::kHandled;
    case KVM_EXIT_X86_WRMSR:
      handle_wrmsr();
      return VcpuStep::kHandled;
    case KVM_EXIT_HLT:
      stats_.exits_hlt.fetch_add(1, std::memory_order_relaxed);
      wait_for_event(run->if_flag != 0);
      return VcpuStep::kHandled;
    case KVM_EXIT_IRQ_WINDOW_OPEN:
      stats_.exits_irq_window.fetch_add(1, std::memory_order_relaxed);
      return VcpuStep::kHandled;
    case KVM_EXIT_INTR:
      stats_.exits_intr.fetch_add(1, std::memory_order_relaxed);
      return VcpuStep::kInterrupted;
    case KVM_EXIT_SHUTDOWN:
      control_.request_stop(StopReason{StopReason::Kind::kShutdown, 1,
                                       fmt::format("vCPU {}: guest shutdown (triple fault)", index_)});
      return VcpuStep::kStopped;
    case KVM_EXIT_FAIL_ENTRY:
      fail(fmt::format("KVM_EXIT_FAIL_ENTRY, hardware reason {:#x}",
                       run->fail_entry.hardware_entry_failure_reason));
      return VcpuStep::kStopped;
    case KVM_EXIT_INTERNAL_ERROR: {
      if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
        return handle_emulation_failure() ? VcpuStep::kHandled : VcpuStep::kStopped;
      }
      std::string data;
      for (uint32_t i = 0; i < run->internal.ndata && i < 16; ++i) {
        data += fmt::format(" {:#x}", run->internal.data[i]);
      }
      fail(fmt::format("KVM internal error, suberror {} (data:{})", run->internal.suberror, data));
      return VcpuStep::kStopped;
    }
    case KVM_EXIT_SYSTEM_EVENT:
      control_.request_stop(StopReason{StopReason::Kind::kShutdown, 0,
                                       fmt::format("vCPU {}: system event {}", index_,
                                                   run->system_event.type)});
      return VcpuStep::kStopped;
    default:
      fail(fmt::format("unexpected KVM exit reason {}", run->exit_reason));
      return VcpuStep::kStopped;
  }
}

namespace {

class VcpuEmulationTarget final : public EmulationTarget {
 public:
  VcpuEmulationTarget(kvm::Vcpu& vcpu, std::span<uint8_t> ram) : vcpu_(vcpu), ram_(ram) {}
  std::optional<uint64_t> translate(uint64_t linear, bool write) override {
    Result<kvm_translation> t = vcpu_.translate(linear);
    if (!t || !t->valid || (write && !t->writeable)) return std::nullopt;
    return t->physical_address;
  }
  uint8_t* ram(uint64_t gpa, uint64_t len) override {
    if (gpa > ram_.size() || len > ram_.size() - gpa) return nullptr;
    return ram_.data() + gpa;
  }
  std::optional<uint64_t> read_msr(uint32_t index) override {
    Result<uint64_t> v = vcpu_.get_msr(index);
    if (!v) return std::nullopt;
    return *v;
  }
  std::optional<uint32_t> read_mxcsr() override {
    Result<kvm_fpu> fpu = vcpu_.get_fpu();
    if (!fpu) return std::nullopt;
    return fpu->mxcsr;
  }
  bool write_mxcsr(uint32_t value) override {
    Result<kvm_fpu> fpu = vcpu_.get_fpu();
    if (!fpu) return false;
    fpu->mxcsr = value;
    return vcpu_.set_fpu(*fpu).ok();
  }

 private:
  kvm::Vcpu& vcpu_;
  std::span<uint8_t> ram_;
};

}  // namespace

bool VcpuThread::handle_emulation_failure() {
  const kvm_run* run = vcpu_.run_state();
  std::span<const uint8_t> bytes;
  if ((run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) != 0) {
    bytes = std::span<const uint8_t>(run->emulation_failure.insn_bytes,
                                     std::min<size_t>(run->emulation_failure.insn_size,
                                                      sizeof(run->emulation_failure.insn_bytes)));
  }
  Result<kvm_regs> regs = vcpu_.get_regs();
  Result<kvm_sregs> sregs = vcpu_.get_sregs();
  if (!regs || !sregs) {
    fail(fmt::format("KVM cannot emulate an instruction and its registers cannot be read: {}",
                     (!regs ? regs.error() : sregs.error()).message));
    return false;
  }
  const uint64_t rip = regs->rip;
  VcpuEmulationTarget target(vcpu_, buses_.ram);
  EmulationResult r = emulate_failed_instruction(bytes, *regs, *sregs, target);
  if (r.kind == EmulationResult::Kind::kFail) {
    fail(fmt::format("KVM cannot emulate the guest's {} (RIP {:#x})", r.what, rip));
    return false;
  }
  if (Status s = vcpu_.set_regs(*regs); !s) {
    fail(s.error().message);
    return false;
  }
  if (r.kind == EmulationResult::Kind::kInject) {
    Result<kvm_vcpu_events> events = vcpu_.get_vcpu_events();
    if (!events) {
      fail(events.error().message);
      return false;
    }
    events->exception.injected = 1;
    events->exception.nr = r.vector;
    events->exception.has_error_code = r.has_error_code ? 1 : 0;
    events->exception.error_code = r.error_code;
    events->flags = 0;
    if (Status s = vcpu_.set_vcpu_events(*events); !s) {
      fail(s.error().message);
      return false;
    }
  }
  stats_.emulated_instructions.fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("vCPU {}: KVM could not emulate {} at {:#x}: {}", index_, r.what, rip,
                r.kind == EmulationResult::Kind::kDone ? "executed by dvmm"
                                                       : fmt::format("raised exception {}", r.vector));
  return true;
}

void VcpuThread::handle_io() {
  stats_.exits_io.fetch_add(1, std::memory_order_relaxed);
  kvm_run* run = vcpu_.run_state();
  auto* base = reinterpret_cast<uint8_t*>(run) + run->io.data_offset;
  const size_t size = run->io.size;
  // `rep ins/outs` arrive as `count` consecutive accesses to one port.
  for (uint32_t i = 0; i < run->io.count; ++i) {
    std::span<uint8_t> data(base + i * size, size);
    const bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
    bool handled = is_write ? buses_.pio.write(run->io.port, data) : buses_.pio.read(run->io.port, data);
    if (!handled && buses_.remote != nullptr) {
      handled = buses_.remote->forward_io(static_cast<uint32_t>(index_), false, run->io.port, data,
                                          is_write);
    }
    if (!handled) {
      // Nothing decodes the port: the ISA bus floats high.
      if (!is_write) std::memset(data.data(), 0xFF, size);
      stats_.unhandled_io.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void VcpuThread::handle_mmio() {
  kvm_run* run = vcpu_.run_state();
  const uint64_t addr = run->mmio.phys_addr;
  std::span<uint8_t> data(run->mmio.data, run->mmio.len);
  const uint64_t apic_base = lapic_ != nullptr ? lapic_->apic_base() : 0;
  const bool xapic_mmio = (apic_base & Lapic::kApicBaseEnable) != 0 &&
                          (apic_base & Lapic::kApicBaseX2apic) == 0;
  const uint64_t apic_page = apic_base & ~(Lapic::kPageSize - 1) & 0xFFFFFFFFFFull;
  if (xapic_mmio && addr >= apic_page && addr < apic_page + Lapic::kPageSize) {
    stats_.exits_lapic.fetch_add(1, std::memory_order_relaxed);
    if (run->mmio.is_write) {
      lapic_->mmio_write(addr - apic_page, data);
    } else {
      lapic_->mmio_read(addr - apic_page, data);
    }
    return;
  }
  stats_.exits_mmio.fetch_add(1, std::memory_order_relaxed);
  const bool is_write = run->mmio.is_write != 0;
  bool handled = is_write ? buses_.mmio.write(addr, data) : buses_.mmio.read(addr, data);
  if (!handled && buses_.remote != nullptr) {
    handled = buses_.remote->forward_io(static_cast<uint32_t>(index_), true, addr, data, is_write);
  }
  if (!handled) {
    // Reads of unbacked physical addresses return all ones.
    if (!is_write) std::memset(data.data(), 0xFF, data.size());
    stats_.unhandled_mmio.fetch_add(1, std::memory_order_relaxed);
  }
}

void VcpuThread::handle_rdmsr() {
  stats_.exits_msr.fetch_add(1, std::memory_order_relaxed);
  kvm_run* run = vcpu_.run_state();
  const uint32_t msr = run->msr.index;
  uint64_t value = 0;
  bool ok = false;
  if (lapic_ == nullptr) {
    // Nothing is forwarded with the in-kernel irqchip.
  } else if (msr == kMsrApicBase) {
    value = lapic_->apic_base();
    ok = true;
  } else if (msr >= kMsrX2apicFirst && msr <= kMsrX2apicLast) {
    ok = lapic_->msr_read(msr, value);
  }
  if (!ok) stats_.unhandled_msr.fetch_add(1, std::memory_order_relaxed);
  run->msr.data = value;
  run->msr.error = ok ? 0 : 1;  // error = 1 makes KVM inject #GP
}

void VcpuThread::handle_wrmsr() {
  stats_.exits_msr.fetch_add(1, std::memory_order_relaxed);
  kvm_run* run = vcpu_.run_state();
  const uint32_t msr = run->msr.index;
  bool ok = false;
  if (lapic_ == nullptr) {
    // Nothing is forwarded with the in-kernel irqchip.
  } else if (msr == kMsrApicBase) {
    ok = lapic_->set_apic_base(run->msr.data);
  } else if (msr >= kMsrX2apicFirst && msr <= kMsrX2apicLast) {
    ok = lapic_->msr_write(msr, run->msr.data);
  }
  if (!ok) stats_.unhandled_msr.fetch_add(1, std::memory_order_relaxed);
  run->msr.error = ok ? 0 : 1;
}

}  // namespace dvmm
