// What a vCPU does when KVM's instruction emulator gives up on a guest
// instruction (KVM_EXIT_INTERNAL_ERROR, suberror EMULATION). On hosts that
// emulate guest kernel code this happens for instructions a real CPU
// executes, and such hosts may not even apply dvmm's CPUID to the guest
// (../shared/FACTS.md: PVM shows the host's), so dvmm does what the
// hardware would have done:
//   - `int3` (CC) and `int 3` (CD 03): the #BP trap, RIP after the
//     instruction (Linux's boot-time int3 self-test relies on it);
//   - `cmpxchg8b`/`cmpxchg16b` on RAM in 64-bit mode: executed here, with
//     the host's own locked instruction on the guest's page; #GP for a
//     misaligned cmpxchg16b and #UD for a register operand, as the CPU;
//   - `rdtscp`: EDX:EAX = the guest TSC, ECX = IA32_TSC_AUX;
//   - `clac`/`stac` (SMAP): clear/set RFLAGS.AC;
//   - `popcnt` (register or RAM source), which Linux patches in when the
//     CPUID it sees offers it;
//   - `fwait`: nothing (no x87 exception is ever pending in kernel code);
//   - `ldmxcsr`/`stmxcsr` on RAM (kernel_fpu_begin loads MXCSR), #GP for
//     reserved MXCSR bits;
//   - anything else stops the VM with an error naming the instruction
//     bytes (for the xsave family: boot Linux with `noxsave`).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace dvmm {

// The vCPU and guest memory, as far as the emulator needs them.
class EmulationTarget {
 public:
  virtual ~EmulationTarget() = default;
  // The guest-physical address of a linear address, if mapped (and
  // writable, when `write`).
  virtual std::optional<uint64_t> translate(uint64_t linear, bool write) = 0;
  // The host address of guest RAM [gpa, gpa + len), or null when that is
  // not RAM.
  virtual uint8_t* ram(uint64_t gpa, uint64_t len) = 0;
  virtual std::optional<uint64_t> read_msr(uint32_t index) = 0;
  virtual std::optional<uint32_t> read_mxcsr() = 0;
  virtual bool write_mxcsr(uint32_t value) = 0;
};

struct EmulationResult {
  enum class Kind {
    kDone,    // executed: regs hold the new state (RIP advanced)
    kInject,  // raise `vector` (regs.rip already set as the exception needs)
    kFail,    // stop the VM: `what` says why
  } kind = Kind::kFail;
  uint8_t vector = 0;
  bool has_error_code = false;
  uint32_t error_code = 0;
  std::string what;  // the instruction (and, for kFail, the reason)
};

// bytes: the instruction as KVM reports it (may be empty when it gave none).
EmulationResult emulate_failed_instruction(std::span<const uint8_t> bytes, kvm_regs& regs,
                                           const kvm_sregs& sregs, EmulationTarget& target);

// "f0 48 0f c7 4d 20" for an error message.
std::string hex_bytes(std::span<const uint8_t> bytes);

}  // namespace dvmm
