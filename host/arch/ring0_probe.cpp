#include "host/arch/ring0_probe.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "host/arch/apic_msr_filter.hpp"
#include "host/arch/cpuid.hpp"
#include "host/arch/x86_state.hpp"

namespace dvmm::x86 {

namespace {

constexpr uint64_t kProbeRam = 2ull << 20;  // one 2 MiB page, identity-mapped
constexpr uint64_t kPml4 = 0x1000, kPdpt = 0x2000, kPd = 0x3000, kGdt = 0x4000;
constexpr uint64_t kCode = 0x10000;
constexpr uint64_t kData = 0x100000;  // 64-byte aligned xsave area / cmpxchg16b target

// What the probes need beyond the 64-bit boot entry (x86_state.hpp): x87
// errors reported natively, SSE (and, for the xsave probes, XSAVE) enabled,
// and SYSCALL.
constexpr uint64_t kCr0Ne = 1u << 5;
constexpr uint64_t kCr4Osfxsr = 1u << 9, kCr4Osxmmexcpt = 1u << 10, kCr4Osxsave = 1u << 18;
constexpr uint64_t kEferSce = 1;
// 0x10 kernel code, 0x18 kernel data, 0x28 user data, 0x30 user code.
constexpr uint16_t kKernelCode = 0x10, kKernelData = 0x18;
constexpr uint64_t kGdtFlatUserData = 0x00CFF3000000FFFF, kGdtFlatUserCode64 = 0x00AFFB000000FFFF;

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
// What kernel library and crypto code runs, with SSE enabled (CR4.OSFXSR).
constexpr std::array<uint8_t, 11> kSse2Moves{0x66, 0x44, 0x0F, 0x6E, 0xF9,  // movd xmm15, ecx
                                             0x66, 0x4C, 0x0F, 0x7E, 0xF8,  // movq rax, xmm15
                                             0xF4};
constexpr std::array<uint8_t, 6> kSsse3{0x66, 0x0F, 0x38, 0x00, 0xC1, 0xF4};  // pshufb xmm0, xmm1
constexpr std::array<uint8_t, 12> kSse41{0x66, 0x0F, 0x38, 0x17, 0xC1,  // ptest xmm0, xmm1
                                         0x66, 0x0F, 0x3A, 0x0E, 0xC1, 0x05,  // pblendw .., 5
                                         0xF4};
constexpr std::array<uint8_t, 12> kSse42{0xF2, 0x0F, 0x38, 0xF1, 0xC1,  // crc32 eax, ecx
                                         0x66, 0x0F, 0x3A, 0x63, 0xC1, 0x00,  // pcmpistri .., 0
                                         0xF4};
constexpr std::array<uint8_t, 5> kPopcnt{0xF3, 0x0F, 0xB8, 0xC1, 0xF4};     // popcnt eax, ecx
constexpr std::array<uint8_t, 6> kAes{0x66, 0x0F, 0x38, 0xDC, 0xC1, 0xF4};  // aesenc xmm0, xmm1
constexpr std::array<uint8_t, 7> kPclmulqdq{0x66, 0x0F, 0x3A, 0x44, 0xC1, 0x00,  // pclmulqdq .., 0
                                            0xF4};
constexpr std::array<uint8_t, 4> kRdrand{0x0F, 0xC7, 0xF0, 0xF4};            // rdrand eax
constexpr std::array<uint8_t, 4> kRdseed{0x0F, 0xC7, 0xF8, 0xF4};            // rdseed eax
constexpr std::array<uint8_t, 5> kSha{0x0F, 0x38, 0xCB, 0xCA, 0xF4};         // sha256rnds2
constexpr std::array<uint8_t, 6> kGfni{0x66, 0x0F, 0x38, 0xCF, 0xC1, 0xF4};  // gf2p8mulb
constexpr std::array<uint8_t, 7> kSmap{0x0F, 0x01, 0xCA,  // clac
                                       0x0F, 0x01, 0xCB,  // stac
                                       0xF4};

// In probe order: a feature after the one it needs.
using R = Ring0Support;
constexpr Ring0Feature kFeatures[] = {
    {"cx16", {1, 0, Reg::ecx, 1u << 13}, &R::cmpxchg16b, nullptr, kCmpxchg16b, false},
    {"xsave", {1, 0, Reg::ecx, 1u << 26}, &R::xsave, nullptr, kXsave, true},
    {"xsaves", {0xD, 1, Reg::eax, 1u << 3}, &R::xsaves, &R::xsave, kXsaves, true},
    {"rdtscp", {0x80000001, 0, Reg::edx, 1u << 27}, &R::rdtscp, nullptr, kRdtscp, false},
    {"ssse3", {1, 0, Reg::ecx, 1u << 9}, &R::ssse3, nullptr, kSsse3, false},
    {"sse4_1", {1, 0, Reg::ecx, 1u << 19}, &R::sse4_1, &R::ssse3, kSse41, false},
    {"sse4_2", {1, 0, Reg::ecx, 1u << 20}, &R::sse4_2, &R::sse4_1, kSse42, false},
    {"popcnt", {1, 0, Reg::ecx, 1u << 23}, &R::popcnt, nullptr, kPopcnt, false},
    {"aes", {1, 0, Reg::ecx, 1u << 25}, &R::aes, nullptr, kAes, false},
    {"pclmulqdq", {1, 0, Reg::ecx, 1u << 1}, &R::pclmulqdq, nullptr, kPclmulqdq, false},
    {"rdrand", {1, 0, Reg::ecx, 1u << 30}, &R::rdrand, nullptr, kRdrand, false},
    {"rdseed", {7, 0, Reg::ebx, 1u << 18}, &R::rdseed, nullptr, kRdseed, false},
    {"sha_ni", {7, 0, Reg::ebx, 1u << 29}, &R::sha_ni, nullptr, kSha, false},
    {"gfni", {7, 0, Reg::ecx, 1u << 8}, &R::gfni, nullptr, kGfni, false},
    {"smap", {7, 0, Reg::ebx, 1u << 20}, &R::smap, nullptr, kSmap, false},
};

constexpr uint32_t kMarkerApicId = 0x5A;  // set in the table, looked for in EBX[31:24]
// mov ecx, 0x802 (x2APIC ID register); rdmsr; hlt. Forwarded, it exits to
// userspace (KVM_EXIT_X86_RDMSR) instead of reaching the hlt.
constexpr std::array<uint8_t, 9> kX2apicRdmsr{0xB9, 0x02, 0x08, 0x00, 0x00, 0x0F, 0x32, 0xF4, 0xF4};

// A system call from ring 3, as Linux sets it up: STAR with kernel CS 0x10
// and user base 0x23 (user CS 0x33, SS 0x2B), LSTAR at the final hlt;
// iretq to ring 3, where `syscall` must land on that hlt in ring 0. In
// ring 3 the hlt raises #GP and, with no IDT, the VM shuts down instead.
// The GDT at kGdt holds the user segments iretq loads.
constexpr uint8_t kSyscallUserAt = 0x2E, kSyscallEntryAt = 0x32;
constexpr std::array<uint8_t, 0x33> kUserSyscall{
    0xB9, 0x81, 0x00, 0x00, 0xC0,  // mov ecx, STAR
    0x31, 0xC0,                    // xor eax, eax
    0xBA, 0x10, 0x00, 0x23, 0x00,  // mov edx, 0x00230010
    0x0F, 0x30,                    // wrmsr
    0xB9, 0x82, 0x00, 0x00, 0xC0,  // mov ecx, LSTAR
    0xB8, kSyscallEntryAt, 0x00, 0x01, 0x00,  // mov eax, kCode + kSyscallEntryAt
    0x31, 0xD2,                    // xor edx, edx
    0x0F, 0x30,                    // wrmsr
    0x6A, 0x2B,                    // push 0x2b (SS)
    0x68, 0x00, 0x80, 0x10, 0x00,  // push kData + 0x8000 (RSP)
    0x6A, 0x02,                    // push 2 (RFLAGS)
    0x6A, 0x33,                    // push 0x33 (CS)
    0x68, kSyscallUserAt, 0x00, 0x01, 0x00,  // push kCode + kSyscallUserAt (RIP)
    0x48, 0xCF,                    // iretq
    0x0F, 0x05,                    // user: syscall
    0x0F, 0x0B,                    // ud2 (not reached)
    0xF4};                         // entry: hlt
static_assert(kUserSyscall[kSyscallUserAt] == 0x0F && kUserSyscall[kSyscallUserAt + 1] == 0x05);
static_assert(kUserSyscall[kSyscallEntryAt] == 0xF4);
static_assert(kCode == 0x10000, "the probe's absolute addresses assume kCode");

// Ring-0 code that runs `cpuid` for each (leaf, subleaf) and stores EAX,
// EBX, ECX and EDX of the i-th at kData + 16 * i (8-bit displacements: at
// most 8 leaves).
constexpr size_t kMaxDumpedLeaves = 8;
std::vector<uint8_t> cpuid_dump_code(std::span<const std::pair<uint32_t, uint32_t>> leaves) {
  std::vector<uint8_t> code;
  auto op_imm32 = [&](uint8_t op, uint32_t imm) {
    code.push_back(op);
    for (int i = 0; i < 4; ++i) code.push_back(static_cast<uint8_t>(imm >> (8 * i)));
  };
  op_imm32(0xBF, static_cast<uint32_t>(kData));  // mov edi, kData (cpuid overwrites rbx)
  for (size_t i = 0; i < leaves.size(); ++i) {
    op_imm32(0xB8, leaves[i].first);   // mov eax, leaf
    op_imm32(0xB9, leaves[i].second);  // mov ecx, subleaf
    const auto at = static_cast<uint8_t>(16 * i);
    code.insert(code.end(), {0x0F, 0xA2,                                   // cpuid
                             0x89, 0x47, at,                               // mov [rdi+at], eax
                             0x89, 0x5F, static_cast<uint8_t>(at + 4),     // mov [rdi+at+4], ebx
                             0x89, 0x4F, static_cast<uint8_t>(at + 8),     // mov [rdi+at+8], ecx
                             0x89, 0x57, static_cast<uint8_t>(at + 12)});  // mov [rdi+at+12], edx
  }
  code.push_back(0xF4);
  return code;
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
    // and filtered MSRs exit (the x2APIC range is filtered apart,
    // filter_apic_msrs).
    kvm_enable_cap msr_cap{};
    msr_cap.cap = KVM_CAP_X86_USER_SPACE_MSR;
    msr_cap.args[0] = KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_FILTER;
    DVMM_TRY(vm.vm_.enable_cap(msr_cap));
    // User-accessible too, for the probe that runs at ring 3.
    constexpr uint64_t kTable = kPtePresent | kPteWritable | kPteUser;
    vm.put64(kPml4, kPdpt | kTable);
    vm.put64(kPdpt, kPd | kTable);
    vm.put64(kPd, 0 | kTable | kPteLargePage);
    vm.put64(kGdt + kKernelCode, kGdtFlatCode64);
    vm.put64(kGdt + kKernelData, kGdtFlatData);
    vm.put64(kGdt + 0x28, kGdtFlatUserData);
    vm.put64(kGdt + 0x30, kGdtFlatUserCode64);
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
    kvm_regs regs{};
    set_long_mode_entry(regs, sregs,
                        LongModeEntry{.rip = kCode,
                                      .cr3 = kPml4,
                                      .gdt_base = kGdt,
                                      .gdt_limit = 0x37,
                                      .code_selector = kKernelCode,
                                      .data_selector = kKernelData});
    sregs.cr0 |= kCr0Ne;
    sregs.cr4 |= kCr4Osfxsr | kCr4Osxmmexcpt | (osxsave ? kCr4Osxsave : 0);
    sregs.efer |= kEferSce;
    DVMM_TRY(vcpu.set_sregs(sregs));
    regs.rbx = kData;
    regs.rsp = kData + 0x8000;
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

  // The MSR filter of a dvmm VM with its userspace LAPIC.
  Status filter_apic_msrs() { return forward_apic_msrs(vm_); }

  // What the last run left at kData (RBX).
  uint32_t data32(uint64_t offset) const {
    uint32_t v;
    std::memcpy(&v, ram_ + kData + offset, sizeof(v));
    return v;
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

// What the guest's ring-0 `cpuid` shows of the flags make_cpuid may clear
// when dvmm's table clears them all; whether it shows the table at all.
struct CpuidSeen {
  std::vector<CpuidBits> shown_anyway;
  bool table_used = false;
};

bool same_register(const CpuidBits& a, const CpuidBits& b) {
  return a.leaf == b.leaf && a.index == b.index && a.reg == b.reg;
}

Result<CpuidSeen> cpuid_seen(ProbeVm& vm, const kvm::CpuidEntries& supported) {
  Ring0Support none;
  for (const Ring0Feature& f : kFeatures) none.*f.runs = false;
  const std::vector<HiddenFeature> hideable = ring0_hidden_features(none);
  std::vector<std::pair<uint32_t, uint32_t>> leaves{{1, 0}};  // first: the marker's leaf
  auto slot = [&](const CpuidBits& b) {
    return static_cast<size_t>(std::find(leaves.begin(), leaves.end(), std::pair{b.leaf, b.index}) -
                               leaves.begin());
  };
  for (const HiddenFeature& h : hideable) {
    if (slot(h.bits) == leaves.size()) leaves.emplace_back(h.bits.leaf, h.bits.index);
  }
  if (leaves.size() > kMaxDumpedLeaves) {
    return Error::format("ring-0 probe: {} CPUID leaves to read, at most {}", leaves.size(),
                         kMaxDumpedLeaves);
  }
  CpuidSeen seen;
  if (!DVMM_TRY(vm.runs(cpuid_dump_code(leaves), make_cpuid(supported, {kMarkerApicId, 1}, none),
                        false))) {
    return seen;
  }
  seen.table_used = (vm.data32(4) >> 24) == kMarkerApicId;
  for (const HiddenFeature& h : hideable) {
    const uint32_t shown =
        vm.data32(16 * slot(h.bits) + 4 * static_cast<size_t>(h.bits.reg)) & h.bits.mask;
    if (shown == 0) continue;
    auto same = std::find_if(seen.shown_anyway.begin(), seen.shown_anyway.end(),
                             [&](const CpuidBits& b) { return same_register(b, h.bits); });
    if (same == seen.shown_anyway.end()) {
      seen.shown_anyway.push_back({h.bits.leaf, h.bits.index, h.bits.reg, shown});
    } else {
      same->mask |= shown;
    }
  }
  return seen;
}

}  // namespace

uint32_t& cpuid_reg(kvm_cpuid_entry2& e, Reg r) {
  uint32_t* regs[] = {&e.eax, &e.ebx, &e.ecx, &e.edx};
  return *regs[static_cast<size_t>(r)];
}

bool cpuid_has(const kvm::CpuidEntries& table, const CpuidBits& bits) {
  for (kvm_cpuid_entry2 e : table) {
    if (e.function == bits.leaf && e.index == bits.index) {
      return (cpuid_reg(e, bits.reg) & bits.mask) != 0;
    }
  }
  return false;
}

bool Ring0Support::shows_anyway(const CpuidBits& bits) const {
  return std::any_of(shown_anyway.begin(), shown_anyway.end(), [&](const CpuidBits& b) {
    return same_register(b, bits) && (b.mask & bits.mask) != 0;
  });
}

std::string Ring0Support::missing() const {
  std::string out;
  auto add = [&](bool ok, const char* name) {
    if (ok) return;
    if (!out.empty()) out += ", ";
    out += name;
  };
  for (const Ring0Feature& f : kFeatures) add(this->*f.runs, f.name);
  add(sse2_moves, "SSE2 register moves (x86-64 cannot hide them)");
  add(x2apic_msr_exits, "x2APIC MSRs (not forwarded to userspace)");
  add(cpuid_applied, "dvmm's CPUID flags (the guest sees the host's)");
  return out;
}

std::span<const Ring0Feature> ring0_features() { return kFeatures; }

Result<Ring0Support> probe_ring0(const kvm::Kvm& kvm, const kvm::CpuidEntries& supported) {
  ProbeVm vm = DVMM_TRY(ProbeVm::create(kvm));
  Status filtered;  // the wait for KVM beside the other probes
  std::jthread filtering([&] { filtered = vm.filter_apic_msrs(); });
  Ring0Support s;
  CpuidSeen seen = DVMM_TRY(cpuid_seen(vm, supported));
  s.shown_anyway = std::move(seen.shown_anyway);
  s.cpuid_applied = seen.table_used && s.shown_anyway.empty();
  for (const Ring0Feature& f : kFeatures) {
    // CR4.OSXSAVE is refused unless the table offers XSAVE.
    const bool offered = cpuid_has(supported, f.flag) || (!f.osxsave && s.shows_anyway(f.flag));
    const bool needs = f.needs == nullptr || s.*f.needs;
    s.*f.runs = offered && needs && DVMM_TRY(vm.runs(f.code, supported, f.osxsave));
  }
  s.sse2_moves = DVMM_TRY(vm.runs(kSse2Moves, supported, false));
  s.user_syscall = DVMM_TRY(vm.runs(kUserSyscall, supported, false));
  filtering.join();
  DVMM_TRY(std::move(filtered));
  s.x2apic_msr_exits = DVMM_TRY(vm.runs(kX2apicRdmsr, supported, false, KVM_EXIT_X86_RDMSR));
  return s;
}

Result<Ring0Support> ring0_support(const kvm::Kvm& kvm, const kvm::CpuidEntries& supported) {
  static std::mutex mu;
  static std::optional<Ring0Support> cached;
  std::lock_guard lock(mu);
  if (!cached) {
    cached = DVMM_TRY(probe_ring0(kvm, supported));
    if (std::string m = cached->missing(); !m.empty()) {
      spdlog::info("KVM cannot give guest ring 0 here: {}; dvmm's CPUID hides what it can", m);
    }
    if (std::string c = linux_clearcpuid(*cached); !c.empty()) {
      spdlog::info("KVM shows the guest some of these whatever dvmm's CPUID says: a Linux guest "
                   "needs clearcpuid={} (what it runs anyway dvmm emulates where it can)",
                   c);
    }
  }
  return *cached;
}

Result<bool> runs_at_ring0(const kvm::Kvm& kvm, std::span<const uint8_t> code,
                           const kvm::CpuidEntries& cpuid, bool osxsave, kvm_regs* regs) {
  ProbeVm vm = DVMM_TRY(ProbeVm::create(kvm));
  return vm.runs(code, cpuid, osxsave, KVM_EXIT_HLT, regs);
}

}  // namespace dvmm::x86
