#include "host/arch/ring0_probe.hpp"

#include <sys/mman.h>

#include <array>
#include <cstring>
#include <mutex>
#include <span>

#include <spdlog/spdlog.h>

namespace dvmm::x86 {

namespace {

constexpr uint64_t kProbeRam = 2ull << 20;  // one 2 MiB page, identity-mapped
constexpr uint64_t kPml4 = 0x1000, kPdpt = 0x2000, kPd = 0x3000;
constexpr uint64_t kCode = 0x10000;
constexpr uint64_t kData = 0x100000;  // 64-byte aligned xsave area / cmpxchg16b target

constexpr uint64_t kPtePresent = 1, kPteWrite = 2, kPteLarge = 0x80;
constexpr uint64_t kCr0Pe = 1, kCr0Et = 1u << 4, kCr0Ne = 1u << 5, kCr0Pg = 1u << 31;
constexpr uint64_t kCr4Pae = 1u << 5, kCr4Osfxsr = 1u << 9, kCr4Osxmmexcpt = 1u << 10,
                   kCr4Osxsave = 1u << 18;
constexpr uint64_t kEferLme = 1u << 8, kEferLma = 1u << 10;

// Each probe ends in `hlt`: reaching it (KVM_EXIT_HLT) means every
// instruction before it executed.
constexpr std::array<uint8_t, 6> kCmpxchg16b{0xF0, 0x48, 0x0F, 0xC7, 0x0B, 0xF4};  // lock cmpxchg16b [rbx]
constexpr std::array<uint8_t, 14> kXsave{0xB8, 0x01, 0x00, 0x00, 0x00,  // mov eax, 1 (x87)
                                         0x31, 0xD2,                    // xor edx, edx
                                         0x0F, 0xAE, 0x23,              // xsave [rbx]
                                         0x0F, 0xAE, 0x2B,              // xrstor [rbx]
                                         0xF4};
constexpr std::array<uint8_t, 14> kXsaves{0xB8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xD2,
                                          0x0F, 0xC7, 0x2B,  // xsaves [rbx]
                                          0x0F, 0xC7, 0x1B,  // xrstors [rbx]
                                          0xF4};
constexpr std::array<uint8_t, 4> kRdtscp{0x0F, 0x01, 0xF9, 0xF4};
// mov eax, 1; xor ecx, ecx; cpuid; hlt
constexpr std::array<uint8_t, 10> kCpuidLeaf1{0xB8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xC9,
                                              0x0F, 0xA2, 0xF4};
constexpr uint32_t kMarkerApicId = 0x5A;  // set in the table, looked for in EBX[31:24]
// mov ecx, 0x802 (x2APIC ID register); rdmsr; hlt. Forwarded, it exits to
// userspace (KVM_EXIT_X86_RDMSR) instead of reaching the hlt.
constexpr std::array<uint8_t, 9> kX2apicRdmsr{0xB9, 0x02, 0x08, 0x00, 0x00, 0x0F, 0x32, 0xF4, 0xF4};

const kvm_cpuid_entry2* find(const kvm::CpuidEntries& c, uint32_t fn, uint32_t index = 0) {
  for (const auto& e : c) {
    if (e.function == fn && e.index == index) return &e;
  }
  return nullptr;
}

bool has(const kvm::CpuidEntries& c, uint32_t fn, uint32_t index, int reg, unsigned bit) {
  const kvm_cpuid_entry2* e = find(c, fn, index);
  if (e == nullptr) return false;
  const uint32_t regs[4] = {e->eax, e->ebx, e->ecx, e->edx};
  return (regs[reg] >> bit) & 1;
}

kvm_segment segment64(uint16_t selector, uint8_t type, bool code) {
  kvm_segment s{};
  s.limit = 0xFFFFFFFF;
  s.selector = selector;
  s.type = type;
  s.present = 1;
  s.s = 1;
  s.g = 1;
  s.l = code ? 1 : 0;
  s.db = code ? 0 : 1;
  return s;
}

class ProbeVm {
 public:
  static Result<ProbeVm> create(const kvm::Kvm& kvm) {
    void* p = mmap(nullptr, kProbeRam, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return Error::from_errno("mmap(ring-0 probe RAM)");
    ProbeVm vm(static_cast<uint8_t*>(p), DVMM_TRY(kvm.create_vm()), DVMM_TRY(kvm.vcpu_mmap_size()));
    kvm_userspace_memory_region region{};
    region.memory_size = kProbeRam;
    region.userspace_addr = reinterpret_cast<uint64_t>(vm.ram_);
    DVMM_TRY(vm.vm_.set_user_memory_region(region));
    // The same MSR set-up as a dvmm VM with its userspace LAPIC: unknown
    // and filtered MSRs exit, and the x2APIC range is filtered.
    kvm_enable_cap msr_cap{};
    msr_cap.cap = KVM_CAP_X86_USER_SPACE_MSR;
    msr_cap.args[0] = KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_FILTER;
    DVMM_TRY(vm.vm_.enable_cap(msr_cap));
    static std::array<uint8_t, 256 / 8> deny_x2apic{};
    kvm_msr_filter filter{};
    filter.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
    filter.ranges[0].flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
    filter.ranges[0].base = 0x800;
    filter.ranges[0].nmsrs = 256;
    filter.ranges[0].bitmap = deny_x2apic.data();
    DVMM_TRY(vm.vm_.set_msr_filter(filter));
    vm.put64(kPml4, kPdpt | kPtePresent | kPteWrite);
    vm.put64(kPdpt, kPd | kPtePresent | kPteWrite);
    vm.put64(kPd, 0 | kPtePresent | kPteWrite | kPteLarge);
    return vm;
  }
  ProbeVm(ProbeVm&& o) noexcept
      : ram_(std::exchange(o.ram_, nullptr)), vm_(std::move(o.vm_)), mmap_size_(o.mmap_size_),
        next_id_(o.next_id_) {}
  ~ProbeVm() {
    if (ram_ != nullptr) munmap(ram_, kProbeRam);
  }

  // Runs code at ring 0 in 64-bit mode on a fresh vCPU: true when the
  // first exit that is not an interruption has reason `expect_exit`
  // (normally the final hlt).
  Result<bool> runs(std::span<const uint8_t> code, const kvm::CpuidEntries& cpuid, bool osxsave,
                    uint32_t expect_exit = KVM_EXIT_HLT, kvm_regs* out = nullptr) {
    std::memset(ram_ + kData, 0, 4096);
    std::memcpy(ram_ + kCode, code.data(), code.size());
    kvm::Vcpu vcpu = DVMM_TRY(vm_.create_vcpu(next_id_++, mmap_size_));
    DVMM_TRY(vcpu.set_cpuid(cpuid));
    kvm_sregs sregs = DVMM_TRY(vcpu.get_sregs());
    sregs.cs = segment64(0x08, 0xB, true);
    sregs.ds = segment64(0x10, 0x3, false);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.tr = kvm_segment{};
    sregs.tr.limit = 0x67;
    sregs.tr.type = 0xB;
    sregs.tr.present = 1;
    sregs.cr0 = kCr0Pe | kCr0Et | kCr0Ne | kCr0Pg;
    sregs.cr3 = kPml4;
    sregs.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt | (osxsave ? kCr4Osxsave : 0);
    sregs.efer = kEferLme | kEferLma;
    DVMM_TRY(vcpu.set_sregs(sregs));
    kvm_regs regs{};
    regs.rip = kCode;
    regs.rbx = kData;
    regs.rsp = kData + 0x8000;
    regs.rflags = 2;
    DVMM_TRY(vcpu.set_regs(regs));
    // A failing instruction ends in an emulation failure, a shutdown
    // (no IDT: an exception triple-faults) or an unexpected exit; bound
    // the loop in case something keeps exiting harmlessly.
    for (int i = 0; i < 16; ++i) {
      if (int err = vcpu.run(); err != 0) {
        if (err == EINTR || err == EAGAIN) continue;
        return false;
      }
      const uint32_t reason = vcpu.run_state()->exit_reason;
      if (reason == KVM_EXIT_IRQ_WINDOW_OPEN || reason == KVM_EXIT_INTR) continue;
      if (out != nullptr) *out = DVMM_TRY(vcpu.get_regs());
      return reason == expect_exit;
    }
    return false;
  }

 private:
  ProbeVm(uint8_t* ram, kvm::Vm vm, int mmap_size)
      : ram_(ram), vm_(std::move(vm)), mmap_size_(mmap_size) {}
  void put64(uint64_t at, uint64_t v) { std::memcpy(ram_ + at, &v, sizeof(v)); }

  uint8_t* ram_;
  kvm::Vm vm_;
  int mmap_size_;
  unsigned long next_id_ = 0;
};

}  // namespace

std::string Ring0Support::missing() const {
  std::string out;
  auto add = [&](bool ok, const char* name) {
    if (ok) return;
    if (!out.empty()) out += ", ";
    out += name;
  };
  add(cmpxchg16b, "cmpxchg16b");
  add(xsave, "xsave/xrstor");
  add(xsaves, "xsaves/xrstors");
  add(rdtscp, "rdtscp");
  add(x2apic_msr_exits, "x2APIC MSRs (not forwarded to userspace)");
  add(cpuid_applied, "dvmm's CPUID (the guest sees the host's)");
  return out;
}

Result<Ring0Support> probe_ring0(const kvm::Kvm& kvm, const kvm::CpuidEntries& supported) {
  ProbeVm vm = DVMM_TRY(ProbeVm::create(kvm));
  Ring0Support s;
  const bool has_xsave = has(supported, 1, 0, 2, 26);
  s.cmpxchg16b = has(supported, 1, 0, 2, 13) && DVMM_TRY(vm.runs(kCmpxchg16b, supported, false));
  s.xsave = has_xsave && DVMM_TRY(vm.runs(kXsave, supported, true));
  s.xsaves = s.xsave && has(supported, 0xD, 1, 0, 3) && DVMM_TRY(vm.runs(kXsaves, supported, true));
  s.rdtscp = has(supported, 0x80000001, 0, 3, 27) && DVMM_TRY(vm.runs(kRdtscp, supported, false));
  s.x2apic_msr_exits = DVMM_TRY(vm.runs(kX2apicRdmsr, supported, false, KVM_EXIT_X86_RDMSR));
  kvm::CpuidEntries marked = supported;
  for (kvm_cpuid_entry2& e : marked) {
    if (e.function == 1) e.ebx = (e.ebx & 0x00FFFFFF) | (kMarkerApicId << 24);
  }
  kvm_regs regs{};
  s.cpuid_applied = DVMM_TRY(vm.runs(kCpuidLeaf1, marked, false, KVM_EXIT_HLT, &regs)) &&
                    (regs.rbx >> 24) == kMarkerApicId;
  return s;
}

Result<Ring0Support> ring0_support(const kvm::Kvm& kvm, const kvm::CpuidEntries& supported) {
  static std::mutex mu;
  static std::optional<Ring0Support> cached;
  std::lock_guard lock(mu);
  if (!cached) {
    cached = DVMM_TRY(probe_ring0(kvm, supported));
    if (std::string m = cached->missing(); !m.empty()) {
      spdlog::info("KVM cannot give guest ring 0 {} here: hidden from the guest's CPUID{}", m,
                   cached->cpuid_applied ? "" : " where it can be, emulated where dvmm can");
    }
  }
  return *cached;
}

}  // namespace dvmm::x86
