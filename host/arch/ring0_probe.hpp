// Which instructions this host's KVM can really execute in guest ring 0.
//
// On hosts where KVM runs guest kernel code through its instruction
// emulator (software virtualization such as PVM, see ../shared/FACTS.md),
// some instructions the CPU has are beyond the emulator: `lock
// cmpxchg16b`, `xsave`/`xrstor`, `xsaves`, `rdtscp`, and most of SSE beyond
// plain moves (pshufb, crc32, aesenc, ...), `popcnt`, `clac`/`stac`. A guest
// that finds them in CPUID uses them and dies of an emulation failure. So
// before building a vCPU's CPUID, dvmm runs each candidate once at ring 0
// in a throw-away 64-bit VM and hides what fails. On VMX/SVM hosts
// everything passes and nothing is hidden: the profile follows the host,
// not a hard-coded list.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "host/common/result.hpp"
#include "host/kvm/kvm.hpp"

namespace dvmm::x86 {

enum class Reg : uint8_t { eax, ebx, ecx, edx };

// Feature flags in one CPUID register: leaf, subleaf, register, bits.
struct CpuidBits {
  uint32_t leaf = 0;
  uint32_t index = 0;
  Reg reg = Reg::eax;
  uint32_t mask = 0;
};

// The register `r` of a CPUID entry.
uint32_t& cpuid_reg(kvm_cpuid_entry2& e, Reg r);
// Whether `table` sets any of `bits`.
bool cpuid_has(const kvm::CpuidEntries& table, const CpuidBits& bits);

struct Ring0Support {
  bool cmpxchg16b = true;
  bool xsave = true;   // xsave + xrstor
  bool xsaves = true;  // xsaves + xrstors (compacted format)
  bool rdtscp = true;
  // What kernel library and crypto code (and, for SMAP, every user-memory
  // access) executes; each with the instructions its probe runs.
  bool ssse3 = true;   // pshufb
  bool sse4_1 = true;  // ptest, pblendw
  bool sse4_2 = true;  // crc32, pcmpistri
  bool popcnt = true;
  bool aes = true;  // aesenc
  bool pclmulqdq = true;
  bool rdrand = true;
  bool rdseed = true;
  bool sha_ni = true;  // sha256rnds2
  bool gfni = true;    // gf2p8mulb
  bool smap = true;    // clac, stac
  // `movd xmm15, ecx` / `movq rax, xmm15`. x86-64 has no CPUID bit to
  // take SSE2 away, so this is only reported: where it fails, any kernel
  // SSE code (even with the flags above hidden) stops the VM.
  bool sse2_moves = true;
  // Not an instruction but the same kind of host property: whether KVM
  // hands guest x2APIC MSR accesses to userspace when it has no in-kernel
  // LAPIC. Linux 6.x never filters the x2APIC range and #GPs them instead,
  // so there dvmm's userspace LAPIC can only be reached through xAPIC MMIO.
  bool x2apic_msr_exits = true;
  // Whether the guest's ring-0 `cpuid` returns the table dvmm gives KVM
  // (KVM_SET_CPUID2), feature flags included: false when a flag dvmm
  // clears still shows (shown_anyway), or the table is not used at all.
  bool cpuid_applied = true;
  // Flags make_cpuid may clear (ring0_hidden_features) that the guest's
  // ring-0 `cpuid` returns although dvmm's table clears them. PVM here
  // shows the host's leaf 7 and leaf 0xD whatever the table says, and in
  // leaf 1 every host flag KVM's supported CPUID lacks (SSSE3, SSE4.x,
  // POPCNT, AES, XSAVE, AVX, ...). Hiding those takes the guest's own
  // switch (Linux: linux_clearcpuid() in cpuid.hpp); what it uses anyway
  // must be emulated (emulation_failure.hpp).
  std::vector<CpuidBits> shown_anyway;
  // Whether a `syscall` executed in guest ring 3 enters the guest kernel
  // at LSTAR in ring 0. PVM here leaves the vCPU in ring 3 at LSTAR (and
  // raises #UD for `int $0x80`), so no user program of an unmodified
  // Linux guest can make a system call: the kernel boots, its first user
  // program faults. Nothing in dvmm can mend that; it is reported.
  bool user_syscall = true;

  // True when the guest sees one of `bits` whatever dvmm's table says.
  bool shows_anyway(const CpuidBits& bits) const;
  // "cx16, xsave, smap" (what is missing, by Linux's flag names), or ""
  // when nothing is.
  std::string missing() const;
};

// One probed feature: Linux's name for it (/proc/cpuinfo, clearcpuid=),
// its CPUID flag, its verdict in Ring0Support, and the ring-0 code that
// must reach its final `hlt`. A feature whose `needs` is missing is not
// probed and counts as missing too (no SSSE3: no SSE4.1, no SSE4.2).
struct Ring0Feature {
  const char* name;
  CpuidBits flag;
  bool Ring0Support::*runs;
  bool Ring0Support::*needs;  // or nullptr
  std::span<const uint8_t> code;
  bool osxsave;  // runs with CR4.OSXSAVE (only where KVM offers XSAVE)
};

// Every feature the probe checks, each after what it needs.
std::span<const Ring0Feature> ring0_features();

// Runs the probes, each in a fresh vCPU: about 12 ms here, most of it the
// host's kernel logging each failed instruction (~1 ms each, the first ten
// in five seconds), a few ms where nothing fails. A feature is probed
// when KVM's supported CPUID offers it or the guest would see it anyway;
// others are reported as unsupported. Errors only when the probe VM itself
// cannot be built.
Result<Ring0Support> probe_ring0(const kvm::Kvm& kvm, const kvm::CpuidEntries& supported);

// The probe's result for this process, computed on first use.
Result<Ring0Support> ring0_support(const kvm::Kvm& kvm, const kvm::CpuidEntries& supported);

// Runs `code` once at ring 0 of a throw-away VM as the probes do (64-bit,
// CR4.OSFXSR and OSXMMEXCPT set, RBX pointing at zeroed 64-byte aligned
// RAM): true when it reaches its final `hlt`. `regs` gets the registers
// there.
Result<bool> runs_at_ring0(const kvm::Kvm& kvm, std::span<const uint8_t> code,
                           const kvm::CpuidEntries& cpuid, bool osxsave = false,
                           kvm_regs* regs = nullptr);

}  // namespace dvmm::x86
