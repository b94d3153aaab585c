// Creates and configures the KVM side of a VM for dvmm's platform: no
// in-kernel irqchip (the LAPIC lives in userspace), x2APIC and APIC-base MSR
// accesses forwarded to userspace, guest RAM as memory slot 0, and vCPUs
// with dvmm's CPUID. Checks every capability it relies on and says which
// one is missing.
#pragma once

#include <cstdint>
#include <vector>

#include "host/kvm/kvm.hpp"
#include "host/memory/guest_ram.hpp"

namespace dvmm {

struct KvmVmSetup {
  kvm::Kvm kvm;
  kvm::Vm vm;
  int vcpu_mmap_size = 0;
  kvm::CpuidEntries supported_cpuid;
};

// Opens /dev/kvm, creates the VM and maps guest RAM into it.
// `kernel_irqchip`: KVM's own LAPICs, IOAPIC and PIC instead of dvmm's (the
// single-node baseline of the benchmarks: what one machine gives); then no
// APIC MSR is forwarded to userspace.
Result<KvmVmSetup> create_kvm_vm(const GuestRam& ram, bool kernel_irqchip = false);

// Creates vCPU `index` with APIC ID `apic_id` in a VM of `cpu_count` vCPUs.
Result<kvm::Vcpu> create_kvm_vcpu(KvmVmSetup& setup, uint32_t index, uint32_t apic_id,
                                  uint32_t cpu_count);

}  // namespace dvmm
