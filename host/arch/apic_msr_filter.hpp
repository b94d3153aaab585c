// The MSR filter of a VM whose LAPIC lives in userspace: IA32_APIC_BASE
// and the x2APIC range must reach dvmm, not KVM's MSR emulation.
#pragma once

#include "host/common/result.hpp"
#include "host/kvm/kvm.hpp"

namespace dvmm::x86 {

// A filter range whose bitmap bit is 0 denies the access in the kernel,
// which (with KVM_MSR_EXIT_REASON_FILTER enabled) turns it into a
// KVM_EXIT_X86_RDMSR/WRMSR. KVM waits for an SRCU grace period before it
// returns (1-15 ms here); vCPUs may be created and run meanwhile.
Status forward_apic_msrs(kvm::Vm& vm);

}  // namespace dvmm::x86
