#include "host/arch/x86_state.hpp"

namespace dvmm::x86 {

namespace {

constexpr uint64_t kCr0ProtectionEnable = 1u << 0;
constexpr uint64_t kCr0ExtensionType = 1u << 4;
constexpr uint64_t kCr0Paging = 1u << 31;
constexpr uint64_t kCr4Pae = 1u << 5;
constexpr uint64_t kEferLongModeEnable = 1u << 8;
constexpr uint64_t kEferLongModeActive = 1u << 10;
constexpr uint64_t kRflagsReserved1 = 1u << 1;  // bit 1 always reads as 1

kvm_segment flat_segment(uint16_t selector, uint8_t type) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xFFFFFFFF;
  s.selector = selector;
  s.type = type;
  s.present = 1;
  s.dpl = 0;
  s.db = 1;  // 32-bit
  s.s = 1;   // code/data, not system
  s.l = 0;
  s.g = 1;   // 4 KiB granularity
  return s;
}

// Flat code segment `code`, flat data segments `data`, a busy TSS and an
// LDT: the segment state both boot entries share.
void set_flat_segments(kvm_sregs& sregs, const kvm_segment& code, const kvm_segment& data) {
  sregs.cs = code;
  sregs.ds = data;
  sregs.es = data;
  sregs.fs = data;
  sregs.gs = data;
  sregs.ss = data;
  // A valid busy TSS and an unusable LDT keep VM entry checks happy; the
  // guest loads its own GDT before it reloads segments.
  sregs.tr = kvm_segment{};
  sregs.tr.limit = 0xFFFF;
  sregs.tr.type = 0xB;
  sregs.tr.present = 1;
  sregs.ldt = kvm_segment{};
  sregs.ldt.type = 0x2;
  sregs.ldt.present = 1;
  sregs.ldt.limit = 0xFFFF;
}

}  // namespace

void set_protected_mode_entry(kvm_regs& regs, kvm_sregs& sregs, uint32_t eip, uint32_t eax,
                              uint32_t ebx) {
  regs = kvm_regs{};
  regs.rax = eax;
  regs.rbx = ebx;
  regs.rip = eip;
  regs.rflags = kRflagsReserved1;

  set_flat_segments(sregs, flat_segment(0x08, 0xB),  // execute/read, accessed
                    flat_segment(0x10, 0x3));        // read/write, accessed
  sregs.cr0 = kCr0ProtectionEnable | kCr0ExtensionType;
  sregs.cr3 = 0;
  sregs.cr4 = 0;
  sregs.efer = 0;
}

void set_long_mode_entry(kvm_regs& regs, kvm_sregs& sregs, const LongModeEntry& entry) {
  regs = kvm_regs{};
  regs.rip = entry.rip;
  regs.rsi = entry.rsi;
  regs.rflags = kRflagsReserved1;

  kvm_segment code = flat_segment(entry.code_selector, 0xB);  // execute/read, accessed
  code.l = 1;   // 64-bit code
  code.db = 0;  // required with L = 1
  set_flat_segments(sregs, code, flat_segment(entry.data_selector, 0x3));
  sregs.gdt.base = entry.gdt_base;
  sregs.gdt.limit = entry.gdt_limit;
  sregs.idt.base = 0;  // no IDT: the kernel loads its own before it enables interrupts
  sregs.idt.limit = 0;
  sregs.cr0 = kCr0ProtectionEnable | kCr0ExtensionType | kCr0Paging;
  sregs.cr3 = entry.cr3;
  sregs.cr4 = kCr4Pae;
  sregs.efer = kEferLongModeEnable | kEferLongModeActive;
}

void set_sipi_entry(kvm_regs& regs, kvm_sregs& sregs, const kvm_sregs& reset_sregs,
                    uint8_t vector) {
  regs = kvm_regs{};
  regs.rflags = kRflagsReserved1;
  regs.rip = 0;
  sregs = reset_sregs;
  sregs.cs.selector = static_cast<uint16_t>(vector << 8);
  sregs.cs.base = static_cast<uint64_t>(vector) << 12;
}

}  // namespace dvmm::x86
