// The CPUID table one vCPU sees. Every vCPU of a VM gets the same table
// except for its APIC ID, so the guest sees one uniform SMP machine no
// matter which node or host CPU runs the vCPU.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/arch/ring0_probe.hpp"
#include "host/kvm/kvm.hpp"

namespace dvmm::x86 {

struct CpuTopology {
  uint32_t apic_id = 0;
  uint32_t cpu_count = 1;
};

// A CPUID flag make_cpuid clears, with Linux's name for it (nullptr for
// flags Linux drops together with a named one, as AVX2 with AVX).
struct HiddenFeature {
  const char* name;
  CpuidBits bits;
};

// What make_cpuid clears because of `ring0`: each feature ring 0 cannot run
// (or cannot run what it needs, Ring0Feature::needs), with what is built on
// it: no XSAVE, no AVX family, AMX or leaf 0xD; no SSSE3, SSE4.1 or SSE4.2,
// no AVX family (a CPU with AVX has them all); no AES, no VAES; no
// PCLMULQDQ, no VPCLMULQDQ.
std::vector<HiddenFeature> ring0_hidden_features(const Ring0Support& ring0);

// Linux's clearcpuid= value ("ssse3,popcnt,smap") for the hidden features
// the guest sees anyway (Ring0Support::shown_anyway): where KVM ignores
// dvmm's table only the guest can be told. "" when there are none.
std::string linux_clearcpuid(const Ring0Support& ring0);

// Adjusts KVM's supported CPUID for dvmm's platform:
//  - leaf 1: initial APIC ID, logical processor count, APIC present
//    (emulated in userspace), no TSC-deadline timer (the
//    userspace LAPIC does not implement it), hypervisor bit set;
//  - leaves 4, 0xB and 0x1F: one package of cpu_count cores, one thread each;
//  - what `ring0` says KVM cannot execute in guest ring 0 is hidden, with
//    the features that need it (ring0_hidden_features);
//  - x2APIC only where KVM forwards its MSRs to the userspace LAPIC;
//  - KVM's paravirtual leaf 0x40000001 offers NOP_IO_DELAY and kvmclock
//    (the guest's only way to learn the TSC frequency without calibrating
//    it against the PIT, which fails when every port access is a slow
//    exit; nodes align their kvmclocks in Machine::set_tsc_base). Steal
//    time and async page faults are per-VM state that would differ between
//    nodes; PV EOI, PV IPIs, PV unhalt and PV TLB flush need KVM's
//    in-kernel LAPIC and hypercalls, which some KVMs cannot emulate in ring 0.
kvm::CpuidEntries make_cpuid(const kvm::CpuidEntries& supported, const CpuTopology& topo,
                             const Ring0Support& ring0 = {});

}  // namespace dvmm::x86
