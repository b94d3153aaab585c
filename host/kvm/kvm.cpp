#include "host/kvm/kvm.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <utility>

namespace dvmm::kvm {

namespace {

// ioctl(2) takes the request as unsigned long; the KVM_* macros expand to
// values that need this cast under -Wsign-conversion.
template <typename Arg>
int do_ioctl(int fd, unsigned long request, Arg arg) {
  return ::ioctl(fd, request, arg);
}

// linux-libc-dev 6.1 declares the trailing arrays of kvm_cpuid2 and kvm_msrs
// with __DECLARE_FLEX_ARRAY, which under C++ adds an empty struct: the
// structs grow by 4-8 bytes, `entries` moves, and the size encoded in the
// ioctl numbers changes so the kernel rejects them with EINVAL. dvmm lays
// these buffers out as the kernel (C) sees them: an 8-byte header followed
// by the entries.
struct CountHeader {
  uint32_t count;
  uint32_t padding;
};
static_assert(sizeof(CountHeader) == 8);
constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CountHeader);
constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CountHeader);
constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, CountHeader);
constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, CountHeader);

// A kernel-layout buffer: header, then `count` entries of T.
template <typename T>
class CountedBuffer {
 public:
  explicit CountedBuffer(size_t count)
      : bytes_(sizeof(CountHeader) + count * sizeof(T)), buf_(new uint8_t[bytes_]()) {
    header()->count = static_cast<uint32_t>(count);
  }
  CountHeader* header() { return reinterpret_cast<CountHeader*>(buf_.get()); }
  T* entries() { return reinterpret_cast<T*>(buf_.get() + sizeof(CountHeader)); }
  void* data() { return buf_.get(); }

 private:
  size_t bytes_;
  std::unique_ptr<uint8_t[]> buf_;
};

Status check(int ret, const char* name) {
  if (ret < 0) return Error::from_errno(name);
  return {};
}

}  // namespace

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Result<Kvm> Kvm::open(const char* path) {
  int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return Error::format(
          "{} does not exist: load the kvm module (modprobe kvm_intel or kvm_amd) or run on a "
          "host with virtualization enabled",
          path);
    }
    if (err == EACCES || err == EPERM) {
      return Error::format("{}: permission denied: run as root or add your user to the 'kvm' group",
                           path);
    }
    return Error::from_errno(fmt::format("open({})", path), err);
  }
  Kvm kvm{Fd(fd)};
  int version = kvm.api_version();
  if (version < 0) {
    return Error::format("{} is not a usable KVM device (KVM_GET_API_VERSION: {})", path,
                         std::strerror(errno));
  }
  if (version != KVM_API_VERSION) {
    return Error::format("{}: KVM API version {} is not the supported version {}", path, version,
                         KVM_API_VERSION);
  }
  return kvm;
}

int Kvm::api_version() const { return do_ioctl(fd_.get(), KVM_GET_API_VERSION, 0); }

int Kvm::check_extension(long capability) const {
  int r = do_ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability);
  return r < 0 ? 0 : r;
}

Result<int> Kvm::vcpu_mmap_size() const {
  int r = do_ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (r <= 0) return Error::from_errno("KVM_GET_VCPU_MMAP_SIZE");
  return r;
}

Result<CpuidEntries> Kvm::supported_cpuid() const {
  // The kernel says E2BIG when the buffer is too small: grow until it fits.
  for (size_t n = 64; n <= 4096; n *= 2) {
    CountedBuffer<kvm_cpuid_entry2> cpuid(n);
    if (do_ioctl(fd_.get(), kGetSupportedCpuid, cpuid.data()) == 0) {
      return CpuidEntries(cpuid.entries(), cpuid.entries() + cpuid.header()->count);
    }
    if (errno != E2BIG) return Error::from_errno("KVM_GET_SUPPORTED_CPUID");
  }
  return Error::format("KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

Result<Vm> Kvm::create_vm() const {
  int fd = do_ioctl(fd_.get(), KVM_CREATE_VM, 0);
  if (fd < 0) return Error::from_errno("KVM_CREATE_VM");
  return Vm(Fd(fd));
}

Status Vm::set_user_memory_region(const kvm_userspace_memory_region& region) {
  return check(do_ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region),
               "KVM_SET_USER_MEMORY_REGION");
}

Status Vm::set_tss_addr(uint64_t address) {
  return check(do_ioctl(fd_.get(), KVM_SET_TSS_ADDR, address), "KVM_SET_TSS_ADDR");
}

Status Vm::set_identity_map_addr(uint64_t address) {
  return check(do_ioctl(fd_.get(), KVM_SET_IDENTITY_MAP_ADDR, &address),
               "KVM_SET_IDENTITY_MAP_ADDR");
}

Status Vm::enable_cap(const kvm_enable_cap& cap) {
  if (do_ioctl(fd_.get(), KVM_ENABLE_CAP, &cap) < 0) {
    return Error::from_errno(fmt::format("KVM_ENABLE_CAP({})", cap.cap));
  }
  return {};
}

Status Vm::set_msr_filter(const kvm_msr_filter& filter) {
  return check(do_ioctl(fd_.get(), KVM_X86_SET_MSR_FILTER, &filter), "KVM_X86_SET_MSR_FILTER");
}

Status Vm::create_irqchip() {
  return check(do_ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
}

Status Vm::irq_line(uint32_t irq, bool level) {
  kvm_irq_level l{};
  l.irq = irq;
  l.level = level ? 1 : 0;
  return check(do_ioctl(fd_.get(), KVM_IRQ_LINE, &l), "KVM_IRQ_LINE");
}

int Vm::check_extension(long capability) const {
  int r = do_ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability);
  return r < 0 ? 0 : r;
}

Result<Vcpu> Vm::create_vcpu(unsigned long id, int mmap_size) {
  int fd = do_ioctl(fd_.get(), KVM_CREATE_VCPU, id);
  if (fd < 0) return Error::from_errno(fmt::format("KVM_CREATE_VCPU({})", id));
  Fd owned(fd);
  void* p = ::mmap(nullptr, static_cast<size_t>(mmap_size), PROT_READ | PROT_WRITE, MAP_SHARED,
                   fd, 0);
  if (p == MAP_FAILED) return Error::from_errno(fmt::format("mmap(kvm_run of vCPU {})", id));
  return Vcpu(std::move(owned), static_cast<kvm_run*>(p), static_cast<size_t>(mmap_size));
}

Vcpu::~Vcpu() { unmap(); }

void Vcpu::unmap() {
  if (run_ != nullptr) ::munmap(run_, run_size_);
  run_ = nullptr;
}

Vcpu::Vcpu(Vcpu&& o) noexcept
    : fd_(std::move(o.fd_)),
      run_(std::exchange(o.run_, nullptr)),
      run_size_(std::exchange(o.run_size_, 0)) {}

Vcpu& Vcpu::operator=(Vcpu&& o) noexcept {
  if (this != &o) {
    unmap();
    fd_ = std::move(o.fd_);
    run_ = std::exchange(o.run_, nullptr);
    run_size_ = std::exchange(o.run_size_, 0);
  }
  return *this;
}

int Vcpu::run() {
  if (do_ioctl(fd_.get(), KVM_RUN, 0) < 0) return errno;
  return 0;
}

Result<kvm_regs> Vcpu::get_regs() const {
  kvm_regs regs{};
  DVMM_TRY(check(do_ioctl(fd_.get(), KVM_GET_REGS, &regs), "KVM_GET_REGS"));
  return regs;
}

Status Vcpu::set_regs(const kvm_regs& regs) {
  return check(do_ioctl(fd_.get(), KVM_SET_REGS, &regs), "KVM_SET_REGS");
}

Result<kvm_sregs> Vcpu::get_sregs() const {
  kvm_sregs sregs{};
  DVMM_TRY(check(do_ioctl(fd_.get(), KVM_GET_SREGS, &sregs), "KVM_GET_SREGS"));
  return sregs;
}

Status Vcpu::set_sregs(const kvm_sregs& sregs) {
  return check(do_ioctl(fd_.get(), KVM_SET_SREGS, &sregs), "KVM_SET_SREGS");
}

Status Vcpu::set_cpuid(const CpuidEntries& entries) {
  CountedBuffer<kvm_cpuid_entry2> cpuid(entries.size());
  std::copy(entries.begin(), entries.end(), cpuid.entries());
  return check(do_ioctl(fd_.get(), kSetCpuid2, cpuid.data()), "KVM_SET_CPUID2");
}

Status Vcpu::set_msrs(std::span<const kvm_msr_entry> entries) {
  CountedBuffer<kvm_msr_entry> msrs(entries.size());
  std::copy(entries.begin(), entries.end(), msrs.entries());
  int r = do_ioctl(fd_.get(), kSetMsrs, msrs.data());
  if (r < 0) return Error::from_errno("KVM_SET_MSRS");
  if (static_cast<size_t>(r) != entries.size()) {
    return Error::format("KVM_SET_MSRS: MSR {:#x} was rejected", entries[static_cast<size_t>(r)].index);
  }
  return {};
}

Result<uint64_t> Vcpu::get_msr(uint32_t index) const {
  CountedBuffer<kvm_msr_entry> msrs(1);
  msrs.entries()[0].index = index;
  int r = do_ioctl(fd_.get(), kGetMsrs, msrs.data());
  if (r < 0) return Error::from_errno("KVM_GET_MSRS");
  if (r != 1) return Error::format("KVM_GET_MSRS: MSR {:#x} is not readable", index);
  return msrs.entries()[0].data;
}

Result<uint32_t> Vcpu::tsc_khz() const {
  int r = do_ioctl(fd_.get(), KVM_GET_TSC_KHZ, 0);
  if (r <= 0) return Error::from_errno("KVM_GET_TSC_KHZ");
  return static_cast<uint32_t>(r);
}

Status Vm::set_clock(uint64_t kvmclock_ns) {
  kvm_clock_data data{};
  data.clock = kvmclock_ns;
  return check(do_ioctl(fd_.get(), KVM_SET_CLOCK, &data), "KVM_SET_CLOCK");
}

Result<kvm_translation> Vcpu::translate(uint64_t linear_address) const {
  kvm_translation t{};
  t.linear_address = linear_address;
  if (do_ioctl(fd_.get(), KVM_TRANSLATE, &t) < 0) return Error::from_errno("KVM_TRANSLATE");
  return t;
}

Result<kvm_fpu> Vcpu::get_fpu() const {
  kvm_fpu fpu{};
  DVMM_TRY(check(do_ioctl(fd_.get(), KVM_GET_FPU, &fpu), "KVM_GET_FPU"));
  return fpu;
}

Status Vcpu::set_fpu(const kvm_fpu& fpu) {
  return check(do_ioctl(fd_.get(), KVM_SET_FPU, &fpu), "KVM_SET_FPU");
}

Status Vcpu::interrupt(uint32_t vector) {
  kvm_interrupt irq{vector};
  return check(do_ioctl(fd_.get(), KVM_INTERRUPT, &irq), "KVM_INTERRUPT");
}

Status Vcpu::nmi() { return check(do_ioctl(fd_.get(), KVM_NMI, 0), "KVM_NMI"); }

Result<kvm_lapic_state> Vcpu::get_lapic() const {
  kvm_lapic_state state{};
  DVMM_TRY(check(do_ioctl(fd_.get(), KVM_GET_LAPIC, &state), "KVM_GET_LAPIC"));
  return state;
}

Status Vcpu::set_lapic(const kvm_lapic_state& state) {
  return check(do_ioctl(fd_.get(), KVM_SET_LAPIC, &state), "KVM_SET_LAPIC");
}

Result<kvm_vcpu_events> Vcpu::get_vcpu_events() const {
  kvm_vcpu_events ev{};
  DVMM_TRY(check(do_ioctl(fd_.get(), KVM_GET_VCPU_EVENTS, &ev), "KVM_GET_VCPU_EVENTS"));
  return ev;
}

Status Vcpu::set_vcpu_events(const kvm_vcpu_events& ev) {
  return check(do_ioctl(fd_.get(), KVM_SET_VCPU_EVENTS, &ev), "KVM_SET_VCPU_EVENTS");
}

Status Vcpu::set_device_attr(const kvm_device_attr& attr) {
  if (do_ioctl(fd_.get(), KVM_SET_DEVICE_ATTR, &attr) < 0) {
    return Error::from_errno(
        fmt::format("KVM_SET_DEVICE_ATTR(group {}, attr {})", attr.group, attr.attr));
  }
  return {};
}

}  // namespace dvmm::kvm
