// The CPUID table one vCPU sees. Every vCPU of a VM gets the same table
// except for its APIC ID, so the guest sees one uniform SMP machine no
// matter which node or host CPU runs the vCPU.
#pragma once

#include <cstdint>

#include "host/kvm/kvm.hpp"

namespace dvmm::x86 {

struct CpuTopology {
  uint32_t apic_id = 0;
  uint32_t cpu_count = 1;
};

// Adjusts KVM's supported CPUID for dvmm's platform:
//  - leaf 1: initial APIC ID, logical processor count, APIC and x2APIC
//    present (both emulated in userspace), no TSC-deadline timer (the
//    userspace LAPIC does not implement it), hypervisor bit set;
//  - leaves 4, 0xB and 0x1F: one package of cpu_count cores, one thread each.
kvm::CpuidEntries make_cpuid(const kvm::CpuidEntries& supported, const CpuTopology& topo);

}  // namespace dvmm::x86
