// Which instructions this host's KVM can really execute in guest ring 0.
//
// On hosts where KVM runs guest kernel code through its instruction
// emulator (software virtualization such as PVM, see ../shared/FACTS.md),
// some instructions the CPU has are beyond the emulator: `lock
// cmpxchg16b`, `xsave`/`xrstor`, `xsaves`, `rdtscp`. A guest that finds them
// in CPUID uses them and dies of an emulation failure. So before building a
// vCPU's CPUID, dvmm runs each candidate once at ring 0 in a throw-away
// 64-bit VM and hides what fails. On VMX/SVM hosts everything passes and
// nothing is hidden: the profile follows the host, not a hard-coded list.
#pragma once

#include <string>

#include "host/common/result.hpp"
#include "host/kvm/kvm.hpp"

namespace dvmm::x86 {

struct Ring0Support {
  bool cmpxchg16b = true;
  bool xsave = true;   // xsave + xrstor
  bool xsaves = true;  // xsaves + xrstors (compacted format)
  bool rdtscp = true;
  // Not an instruction but the same kind of host property: whether KVM
  // hands guest x2APIC MSR accesses to userspace when it has no in-kernel
  // LAPIC. Linux 6.x never filters the x2APIC range and #GPs them instead,
  // so there dvmm's userspace LAPIC can only be reached through xAPIC MMIO.
  bool x2apic_msr_exits = true;
  // Whether the guest sees the CPUID dvmm gives KVM (KVM_SET_CPUID2). PVM
  // shows the host's instead; then nothing above can be hidden from the
  // guest, and what it uses anyway must be emulated (emulation_failure.hpp)
  // or switched off on its command line (Linux: noxsave).
  bool cpuid_applied = true;

  // "cmpxchg16b, xsave" (what is missing), or "" when nothing is.
  std::string missing() const;
};

// Runs the probes (a few ms; each in a fresh vCPU). Instructions the supported CPUID does not
// offer are not probed and reported as unsupported. Errors only when the
// probe VM itself cannot be built.
Result<Ring0Support> probe_ring0(const kvm::Kvm& kvm, const kvm::CpuidEntries& supported);

// The probe's result for this process, computed on first use.
Result<Ring0Support> ring0_support(const kvm::Kvm& kvm, const kvm::CpuidEntries& supported);

}  // namespace dvmm::x86
