// x86 architectural register states dvmm puts a vCPU in: the boot
// protocols' entry states (32-bit flat protected mode, paging off; or 64-bit
// long mode on the loader's page tables) and the state after a Startup IPI
// (real mode at vector << 12). Kept apart from the vCPU loop
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

// The 64-bit entry of Linux's boot protocol (Documentation/arch/x86/
// boot.rst, "64-bit BOOT PROTOCOL"): long mode with 4-level paging (CR0.PE
// and PG, CR4.PAE, EFER.LME and LMA, CR3 = the loader's identity map), the
// loader's GDT in GDTR, CS = a flat 64-bit code segment, DS/ES/SS (and FS,
// GS) = a flat data segment, IF clear, RSI = boot_params. The selectors
// name descriptors the loader wrote (host/boot/long_mode_tables.hpp); the
// hidden parts set here are what those descriptors hold.
// The architectural formats a long-mode entry stands on (SDM vol. 3A
// 3.4.5, 4.5): flat GDT descriptors, base 0, limit 0xFFFFF in 4 KiB units
// (G), present, DPL 0 -- code type 0xB (execute/read, accessed) with L = 1
// and D = 0, data type 0x3 (read/write, accessed) with D/B = 1 -- and the
// page-table entry bits identity maps use.
inline constexpr uint64_t kGdtFlatCode64 = 0x00AF9B000000FFFF;
inline constexpr uint64_t kGdtFlatData = 0x00CF93000000FFFF;
inline constexpr uint64_t kPtePresent = 1u << 0;
inline constexpr uint64_t kPteWritable = 1u << 1;
inline constexpr uint64_t kPteUser = 1u << 2;
inline constexpr uint64_t kPteLargePage = 1u << 7;  // PS: a 2 MiB page in a PD entry
inline constexpr uint64_t kLargePageSize = 2ull << 20;

struct LongModeEntry {
  uint64_t rip = 0;
  uint64_t rsi = 0;
  uint64_t cr3 = 0;
  uint64_t gdt_base = 0;
  uint16_t gdt_limit = 0;
  uint16_t code_selector = 0;
  uint16_t data_selector = 0;
};
void set_long_mode_entry(kvm_regs& regs, kvm_sregs& sregs, const LongModeEntry& entry);

// After INIT the CPU waits for a SIPI; SIPI vector V starts it in real mode
// at CS = V << 8 (base V << 12), IP = 0 (SDM vol. 3A 9.4.4.1).
// `reset_sregs` is the vCPU's power-on segment state as KVM created it.
void set_sipi_entry(kvm_regs& regs, kvm_sregs& sregs, const kvm_sregs& reset_sregs,
                    uint8_t vector);

}  // namespace dvmm::x86
