// x86 architectural register states dvmm puts a vCPU in: the boot
// protocols' entry state (32-bit flat protected mode, paging off) and the state after
// a Startup IPI (real mode at vector << 12). Kept apart from the vCPU loop
// so the loop stays a small dispatch over exits.
#pragma once

#include <linux/kvm.h>

#include <cstdint>

namespace dvmm::x86 {

// The 32-bit entry state of the multiboot v1 (spec section 3.2) and PVH
// boot protocols: CS a 32-bit flat read/execute segment, data segments flat
// read/write, CR0.PE set and paging off, IF clear; EAX and EBX as the
// protocol says (multiboot: magic and information address; PVH: EBX = the
// hvm_start_info address).
void set_protected_mode_entry(kvm_regs& regs, kvm_sregs& sregs, uint32_t eip, uint32_t eax,
                              uint32_t ebx);

// After INIT the CPU waits for a SIPI; SIPI vector V starts it in real mode
// at CS = V << 8 (base V << 12), IP = 0 (SDM vol. 3A 9.4.4.1).
// `reset_sregs` is the vCPU's power-on segment state as KVM created it.
void set_sipi_entry(kvm_regs& regs, kvm_sregs& sregs, const kvm_sregs& reset_sregs,
                    uint8_t vector);

}  // namespace dvmm::x86
