#include "host/vmm/kvm_setup.hpp"

#include <array>

#include "host/arch/apic_msr_filter.hpp"
#include "host/arch/cpuid.hpp"

namespace dvmm {

namespace {

// Addresses KVM needs for real-mode support on VMX hosts (the TSS and the
// identity page table of unrestricted-guest emulation). They sit in the
// MMIO hole just below the IOAPIC, where QEMU puts them too.
constexpr uint64_t kTssAddress = 0xFEFFD000;
constexpr uint64_t kIdentityMapAddress = 0xFEFFC000;

Status require(const kvm::Kvm& kvm, long cap, const char* name) {
  if (kvm.check_extension(cap) <= 0) {
    return Error::format("KVM lacks {}: dvmm needs a host kernel with this capability (Linux 5.10+)",
                         name);
  }
  return {};
}

}  // namespace

Result<KvmVmSetup> create_kvm_vm(const GuestRam& ram, bool kernel_irqchip) {
  kvm::Kvm kvm = DVMM_TRY(kvm::Kvm::open());
  DVMM_TRY(require(kvm, KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"));
  DVMM_TRY(require(kvm, KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"));
  DVMM_TRY(require(kvm, KVM_CAP_X86_USER_SPACE_MSR, "KVM_CAP_X86_USER_SPACE_MSR"));
  DVMM_TRY(require(kvm, KVM_CAP_X86_MSR_FILTER, "KVM_CAP_X86_MSR_FILTER"));
  int mmap_size = DVMM_TRY(kvm.vcpu_mmap_size());
  kvm::CpuidEntries cpuid = DVMM_TRY(kvm.supported_cpuid());
  kvm::Vm vm = DVMM_TRY(kvm.create_vm());

  // Not every KVM needs these (they matter for VMX real mode); a failure
  // on hosts that do not implement them is not fatal.
  (void)vm.set_tss_addr(kTssAddress);
  (void)vm.set_identity_map_addr(kIdentityMapAddress);

  if (kernel_irqchip) {
    DVMM_TRY(require(kvm, KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"));
    DVMM_TRY(vm.create_irqchip());  // before any vCPU: each then gets an in-kernel LAPIC
  } else {
    kvm_enable_cap msr_cap{};
    msr_cap.cap = KVM_CAP_X86_USER_SPACE_MSR;
    msr_cap.args[0] = KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_FILTER;
    DVMM_TRY(vm.enable_cap(msr_cap));
    DVMM_TRY(x86::forward_apic_msrs(vm));
  }

  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = 0;
  region.memory_size = ram.size();
  region.userspace_addr = reinterpret_cast<uint64_t>(ram.host_base());
  DVMM_TRY(vm.set_user_memory_region(region));

  return KvmVmSetup{std::move(kvm), std::move(vm), mmap_size, std::move(cpuid)};
}

Result<kvm::Vcpu> create_kvm_vcpu(KvmVmSetup& setup, uint32_t index, uint32_t apic_id,
                                  uint32_t cpu_count) {
  kvm::Vcpu vcpu = DVMM_TRY(setup.vm.create_vcpu(index, setup.vcpu_mmap_size));
  x86::Ring0Support ring0 = DVMM_TRY(x86::ring0_support(setup.kvm, setup.supported_cpuid));
  DVMM_TRY(vcpu.set_cpuid(x86::make_cpuid(setup.supported_cpuid, {apic_id, cpu_count}, ring0)));
  return vcpu;
}

}  // namespace dvmm
