// Owning, move-only handles for the KVM API (Documentation/virt/kvm/api.rst):
// Kvm (/dev/kvm) -> Vm (KVM_CREATE_VM) -> Vcpu (KVM_CREATE_VCPU, with its
// mmap'ed kvm_run). One member function per ioctl; failures come back as an
// Error naming the ioctl and the errno, never as an exception. These
// wrappers hold no policy: what to enable is decided in host/vmm.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "host/common/result.hpp"

namespace dvmm::kvm {

// A file descriptor closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

// CPUID entries as KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2 take them.
using CpuidEntries = std::vector<kvm_cpuid_entry2>;

class Vm;

class Kvm {
 public:
  // Opens /dev/kvm and checks the API version (12). The error says what to
  // do when the device is missing or not accessible.
  static Result<Kvm> open(const char* path = "/dev/kvm");

  int api_version() const;                              // KVM_GET_API_VERSION
  int check_extension(long capability) const;           // KVM_CHECK_EXTENSION
  Result<int> vcpu_mmap_size() const;                   // KVM_GET_VCPU_MMAP_SIZE
  Result<CpuidEntries> supported_cpuid() const;         // KVM_GET_SUPPORTED_CPUID
  Result<Vm> create_vm() const;                         // KVM_CREATE_VM
  int fd() const { return fd_.get(); }

 private:
  explicit Kvm(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

class Vcpu;

class Vm {
 public:
  Status set_user_memory_region(const kvm_userspace_memory_region& region);  // KVM_SET_USER_MEMORY_REGION
  Status set_tss_addr(uint64_t address);                    // KVM_SET_TSS_ADDR
  Status set_identity_map_addr(uint64_t address);           // KVM_SET_IDENTITY_MAP_ADDR
  Status enable_cap(const kvm_enable_cap& cap);             // KVM_ENABLE_CAP
  Status set_msr_filter(const kvm_msr_filter& filter);      // KVM_X86_SET_MSR_FILTER
  Status create_irqchip();                                  // KVM_CREATE_IRQCHIP (baseline benchmarks only)
  Status irq_line(uint32_t irq, bool level);                // KVM_IRQ_LINE (in-kernel irqchip only)
  Status set_clock(uint64_t kvmclock_ns);                   // KVM_SET_CLOCK
  Result<Vcpu> create_vcpu(unsigned long id, int mmap_size);  // KVM_CREATE_VCPU + mmap
  int check_extension(long capability) const;               // KVM_CHECK_EXTENSION on the VM fd
  int fd() const { return fd_.get(); }

 private:
  friend class Kvm;
  explicit Vm(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

class Vcpu {
 public:
  ~Vcpu();
  Vcpu(Vcpu&& o) noexcept;
  Vcpu& operator=(Vcpu&& o) noexcept;
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;

  // KVM_RUN. Returns the errno on failure (EINTR when kicked by a signal or
  // immediate_exit, EAGAIN, EFAULT...) so the vCPU loop can tell a kick
  // from a fault without building a message on the hot path.
  int run();

  Result<kvm_regs> get_regs() const;                   // KVM_GET_REGS
  Status set_regs(const kvm_regs& regs);               // KVM_SET_REGS
  Result<kvm_sregs> get_sregs() const;                 // KVM_GET_SREGS
  Status set_sregs(const kvm_sregs& sregs);            // KVM_SET_SREGS
  Status set_cpuid(const CpuidEntries& entries);       // KVM_SET_CPUID2
  Status set_msrs(std::span<const kvm_msr_entry> entries);  // KVM_SET_MSRS
  Result<uint64_t> get_msr(uint32_t index) const;      // KVM_GET_MSRS (one)
  Result<kvm_translation> translate(uint64_t linear_address) const;  // KVM_TRANSLATE
  Result<uint32_t> tsc_khz() const;                    // KVM_GET_TSC_KHZ
  Result<kvm_fpu> get_fpu() const;                     // KVM_GET_FPU
  Status set_fpu(const kvm_fpu& fpu);                  // KVM_SET_FPU
  Status interrupt(uint32_t vector);                   // KVM_INTERRUPT
  Status nmi();                                        // KVM_NMI
  Result<kvm_lapic_state> get_lapic() const;           // KVM_GET_LAPIC (in-kernel irqchip)
  Status set_lapic(const kvm_lapic_state& state);      // KVM_SET_LAPIC
  Result<kvm_vcpu_events> get_vcpu_events() const;    // KVM_GET_VCPU_EVENTS
  Status set_vcpu_events(const kvm_vcpu_events& ev);   // KVM_SET_VCPU_EVENTS
  Status set_device_attr(const kvm_device_attr& attr);  // KVM_SET_DEVICE_ATTR (vCPU attributes)

  kvm_run* run_state() const { return run_; }
  int fd() const { return fd_.get(); }

 private:
  friend class Vm;
  Vcpu(Fd fd, kvm_run* run, size_t run_size) : fd_(std::move(fd)), run_(run), run_size_(run_size) {}
  void unmap();

  Fd fd_;
  kvm_run* run_ = nullptr;
  size_t run_size_ = 0;
};

}  // namespace dvmm::kvm
