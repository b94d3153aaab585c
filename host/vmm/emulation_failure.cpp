#include "host/vmm/emulation_failure.hpp"

#include <cstring>

#include <fmt/format.h>

namespace dvmm {

namespace {

constexpr uint8_t kBreakpoint = 3;      // #BP
constexpr uint8_t kInvalidOpcode = 6;   // #UD
constexpr uint8_t kGeneralProtection = 13;
constexpr uint64_t kFlagZero = 1u << 6;
constexpr uint64_t kFlagAlignmentCheck = 1u << 18;
// MXCSR bits software may set (flags, masks, rounding, FZ, DAZ): the
// MXCSR_MASK of every CPU with SSE2 and DAZ.
constexpr uint32_t kMxcsrWritable = 0xFFFF;
constexpr uint32_t kMsrTsc = 0x10;
constexpr uint32_t kMsrTscAux = 0xC0000103;

// Legacy prefixes, and what the emulator cares about in them.
struct Prefixes {
  size_t length = 0;
  bool address_size = false;  // 0x67
  int segment = -1;           // 4 = FS, 5 = GS (others have base 0 in 64-bit mode)
};

Prefixes read_prefixes(std::span<const uint8_t> b) {
  Prefixes p;
  for (; p.length < b.size(); ++p.length) {
    switch (b[p.length]) {
      case 0xF0: case 0xF2: case 0xF3: case 0x2E: case 0x36: case 0x3E: case 0x26: case 0x66:
        continue;
      case 0x64: p.segment = 4; continue;
      case 0x65: p.segment = 5; continue;
      case 0x67: p.address_size = true; continue;
      default:
        return p;
    }
  }
  return p;
}

bool has_prefix(std::span<const uint8_t> b, const Prefixes& p, uint8_t prefix) {
  for (size_t i = 0; i < p.length; ++i) {
    if (b[i] == prefix) return true;
  }
  return false;
}

__u64& gpr(kvm_regs& r, unsigned n) {
  __u64* regs[16] = {&r.rax, &r.rcx, &r.rdx, &r.rbx, &r.rsp, &r.rbp, &r.rsi, &r.rdi,
                        &r.r8,  &r.r9,  &r.r10, &r.r11, &r.r12, &r.r13, &r.r14, &r.r15};
  return *regs[n & 15];
}

// A decoded ModRM memory operand (64-bit mode): its linear address and the
// instruction's total length.
struct MemoryOperand {
  bool is_register = false;
  unsigned rm_register = 0;  // is_register: the r/m register, REX.B applied
  uint64_t linear = 0;
  size_t length = 0;  // of the whole instruction
};

std::optional<MemoryOperand> decode_modrm(std::span<const uint8_t> b, size_t at, uint8_t rex,
                                          const Prefixes& p, kvm_regs& regs,
                                          const kvm_sregs& sregs) {
  if (at >= b.size()) return std::nullopt;
  const uint8_t modrm = b[at++];
  const unsigned mod = modrm >> 6, rm = modrm & 7;
  MemoryOperand op;
  if (mod == 3) {
    op.is_register = true;
    op.rm_register = rm | ((rex & 0x1) ? 8u : 0u);
    op.length = at;
    return op;
  }
  uint64_t addr = 0;
  bool rip_relative = false;
  if (rm == 4) {
    if (at >= b.size()) return std::nullopt;
    const uint8_t sib = b[at++];
    const unsigned index = ((sib >> 3) & 7) | ((rex & 0x2) ? 8 : 0);
    const unsigned base = (sib & 7) | ((rex & 0x1) ? 8 : 0);
    if (index != 4) addr += gpr(regs, index) << (sib >> 6);
    // Base 5 with mod 0 means "no base, disp32".
    if ((sib & 7) == 5 && mod == 0) {
      if (at + 4 > b.size()) return std::nullopt;
      int32_t d;
      std::memcpy(&d, b.data() + at, 4);
      at += 4;
      addr += static_cast<uint64_t>(static_cast<int64_t>(d));
    } else {
      addr += gpr(regs, base);
    }
  } else if (rm == 5 && mod == 0) {
    rip_relative = true;
  } else {
    addr += gpr(regs, rm | ((rex & 0x1) ? 8u : 0u));
  }
  if (mod == 1) {
    if (at >= b.size()) return std::nullopt;
    addr += static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(b[at++])));
  } else if (mod == 2 || rip_relative) {
    if (at + 4 > b.size()) return std::nullopt;
    int32_t d;
    std::memcpy(&d, b.data() + at, 4);
    at += 4;
    addr += static_cast<uint64_t>(static_cast<int64_t>(d));
  }
  op.length = at;
  if (rip_relative) addr += regs.rip + op.length;
  if (p.address_size) addr &= 0xFFFFFFFF;
  if (p.segment == 4) addr += sregs.fs.base;
  if (p.segment == 5) addr += sregs.gs.base;
  op.linear = addr;
  return op;
}

EmulationResult fail(std::span<const uint8_t> bytes, std::string why) {
  EmulationResult r;
  r.what = fmt::format("instruction bytes {}: {}", hex_bytes(bytes), why);
  return r;
}

EmulationResult inject(uint8_t vector, std::string what, bool has_error_code = false) {
  EmulationResult r;
  r.kind = EmulationResult::Kind::kInject;
  r.vector = vector;
  r.has_error_code = has_error_code;
  r.what = std::move(what);
  return r;
}

EmulationResult done(kvm_regs& regs, size_t length, std::string what) {
  regs.rip += length;
  EmulationResult r;
  r.kind = EmulationResult::Kind::kDone;
  r.what = std::move(what);
  return r;
}

// The host address of a `size`-byte memory operand at `linear`, or the
// reason dvmm cannot reach it (there is no #PF emulation: the kernel code
// that gets here touches mapped RAM).
struct OperandAddress {
  uint8_t* host = nullptr;
  std::string why_not;
};

OperandAddress map_operand(uint64_t linear, uint64_t size, bool write, EmulationTarget& target) {
  if ((linear & 0xFFF) + size > 0x1000) return {nullptr, "operand crosses a page"};
  std::optional<uint64_t> gpa = target.translate(linear, write);
  if (!gpa) {
    return {nullptr, fmt::format("{:#x} is not mapped{} (no #PF emulation)", linear,
                                 write ? " writable" : "")};
  }
  uint8_t* host = target.ram(*gpa, size);
  if (host == nullptr) return {nullptr, fmt::format("guest-physical {:#x} is not RAM", *gpa)};
  return {host, {}};
}

// lock cmpxchg8b / cmpxchg16b on host memory: the guest's own atomicity
// against other vCPUs of this node, which touch the same page natively.
bool host_cmpxchg(uint8_t* p, bool wide, uint64_t& lo, uint64_t& hi, uint64_t new_lo,
                  uint64_t new_hi) {
  bool equal;
  if (wide) {
    asm volatile("lock cmpxchg16b %1"
                 : "=@ccz"(equal), "+m"(*reinterpret_cast<unsigned __int128*>(p)), "+a"(lo), "+d"(hi)
                 : "b"(new_lo), "c"(new_hi)
                 : "memory");
  } else {
    uint32_t a = static_cast<uint32_t>(lo), d = static_cast<uint32_t>(hi);
    asm volatile("lock cmpxchg8b %1"
                 : "=@ccz"(equal), "+m"(*reinterpret_cast<uint64_t*>(p)), "+a"(a), "+d"(d)
                 : "b"(static_cast<uint32_t>(new_lo)), "c"(static_cast<uint32_t>(new_hi))
                 : "memory");
    lo = a;
    hi = d;
  }
  return equal;
}

EmulationResult emulate_cmpxchg(std::span<const uint8_t> bytes, size_t at, uint8_t rex,
                                const Prefixes& p, kvm_regs& regs, const kvm_sregs& sregs,
                                EmulationTarget& target) {
  const bool wide = (rex & 0x8) != 0;
  const char* name = wide ? "cmpxchg16b" : "cmpxchg8b";
  std::optional<MemoryOperand> op = decode_modrm(bytes, at, rex, p, regs, sregs);
  if (!op) return fail(bytes, "truncated");
  if (op->is_register) return inject(kInvalidOpcode, fmt::format("{} with a register operand", name));
  const uint64_t size = wide ? 16 : 8;
  if (wide && op->linear % 16 != 0) {
    return inject(kGeneralProtection, fmt::format("{} at misaligned {:#x}", name, op->linear), true);
  }
  // An aligned 8- or 16-byte operand never crosses a page; cmpxchg8b may
  // be misaligned (then only its first page is checked: refuse crossing).
  const OperandAddress at_ram = map_operand(op->linear, size, true, target);
  if (at_ram.host == nullptr) return fail(bytes, at_ram.why_not);
  uint8_t* host = at_ram.host;
  uint64_t lo = regs.rax, hi = regs.rdx;
  if (!wide) {
    lo &= 0xFFFFFFFF;
    hi &= 0xFFFFFFFF;
  }
  const bool equal = host_cmpxchg(host, wide, lo, hi, regs.rbx, regs.rcx);
  if (equal) {
    regs.rflags |= kFlagZero;
  } else {
    regs.rflags &= ~kFlagZero;
    regs.rax = lo;  // 32-bit forms zero-extend into RAX/RDX in 64-bit mode
    regs.rdx = hi;
  }
  return done(regs, op->length, name);
}

// popcnt r, r/m (F3 [REX] 0F B8 /r): KVM's emulator has no popcnt, and
// Linux patches it into its bit-counting helpers when CPUID offers it.
EmulationResult emulate_popcnt(std::span<const uint8_t> bytes, size_t at, uint8_t rex,
                               const Prefixes& p, bool operand16, kvm_regs& regs,
                               const kvm_sregs& sregs, EmulationTarget& target) {
  std::optional<MemoryOperand> op = decode_modrm(bytes, at, rex, p, regs, sregs);
  if (!op) return fail(bytes, "truncated");
  const unsigned size = (rex & 0x8) ? 8 : operand16 ? 2 : 4;
  uint64_t src = 0;
  if (op->is_register) {
    src = gpr(regs, op->rm_register);
  } else {
    if (sregs.cs.l == 0) return fail(bytes, "popcnt from memory outside 64-bit mode");
    const OperandAddress at_ram = map_operand(op->linear, size, false, target);
    if (at_ram.host == nullptr) return fail(bytes, at_ram.why_not);
    std::memcpy(&src, at_ram.host, size);
  }
  if (size < 8) src &= (uint64_t{1} << (size * 8)) - 1;
  const auto count = static_cast<uint64_t>(__builtin_popcountll(src));
  const unsigned dest = ((bytes[at] >> 3) & 7) | ((rex & 0x4) ? 8u : 0u);
  __u64& d = gpr(regs, dest);
  if (size == 2) {
    d = (d & ~uint64_t{0xFFFF}) | count;  // 16-bit writes keep the upper bits
  } else {
    d = count;  // 32-bit writes zero-extend
  }
  // ZF = (source == 0); CF, OF, SF, AF, PF cleared.
  regs.rflags &= ~uint64_t{0x8D5};
  if (src == 0) regs.rflags |= kFlagZero;
  return done(regs, op->length, "popcnt");
}

// ldmxcsr m32 (0F AE /2) and stmxcsr m32 (0F AE /3).
EmulationResult emulate_mxcsr(std::span<const uint8_t> bytes, size_t at, uint8_t rex,
                              const Prefixes& p, bool load, kvm_regs& regs,
                              const kvm_sregs& sregs, EmulationTarget& target) {
  const char* name = load ? "ldmxcsr" : "stmxcsr";
  std::optional<MemoryOperand> op = decode_modrm(bytes, at, rex, p, regs, sregs);
  if (!op) return fail(bytes, "truncated");
  if (op->is_register) return inject(kInvalidOpcode, fmt::format("{} with a register operand", name));
  if (sregs.cs.l == 0) return fail(bytes, fmt::format("{} outside 64-bit mode", name));
  const OperandAddress at_ram = map_operand(op->linear, 4, !load, target);
  if (at_ram.host == nullptr) return fail(bytes, at_ram.why_not);
  uint8_t* host = at_ram.host;
  if (load) {
    uint32_t value;
    std::memcpy(&value, host, 4);
    if ((value & ~kMxcsrWritable) != 0) {
      return inject(kGeneralProtection, fmt::format("ldmxcsr of reserved bits {:#x}", value), true);
    }
    if (!target.write_mxcsr(value)) return fail(bytes, "cannot set the vCPU's MXCSR");
  } else {
    std::optional<uint32_t> value = target.read_mxcsr();
    if (!value) return fail(bytes, "cannot read the vCPU's MXCSR");
    std::memcpy(host, &*value, 4);
  }
  return done(regs, op->length, name);
}

}  // namespace

std::string hex_bytes(std::span<const uint8_t> bytes) {
  std::string out;
  for (uint8_t b : bytes) out += fmt::format("{}{:02x}", out.empty() ? "" : " ", b);
  return out;
}

EmulationResult emulate_failed_instruction(std::span<const uint8_t> bytes, kvm_regs& regs,
                                           const kvm_sregs& sregs, EmulationTarget& target) {
  if (bytes.empty()) {
    EmulationResult r;
    r.what = "an instruction KVM did not report";
    return r;
  }
  if (bytes[0] == 0xCC) {
    regs.rip += 1;
    return inject(kBreakpoint, "int3");
  }
  if (bytes.size() >= 2 && bytes[0] == 0xCD && bytes[1] == 0x03) {
    regs.rip += 2;
    return inject(kBreakpoint, "int 3");
  }
  if (bytes[0] == 0x9B) {
    // fwait: waits for pending unmasked x87 exceptions. Linux's kernel
    // code runs with none pending (it saves user FPU state with fxsave,
    // which does not raise them), so here it does nothing.
    return done(regs, 1, "fwait");
  }
  const Prefixes p = read_prefixes(bytes);
  size_t at = p.length;
  uint8_t rex = 0;
  const bool long_mode = sregs.cs.l != 0;
  if (long_mode && at < bytes.size() && (bytes[at] & 0xF0) == 0x40) rex = bytes[at++];
  if (at + 1 >= bytes.size() || bytes[at] != 0x0F) return fail(bytes, "not an instruction dvmm emulates");
  const uint8_t op = bytes[at + 1];
  const int modrm = at + 2 < bytes.size() ? bytes[at + 2] : -1;
  const int reg = modrm < 0 ? -1 : (modrm >> 3) & 7;
  if (op == 0x01 && modrm == 0xF9) {
    std::optional<uint64_t> tsc = target.read_msr(kMsrTsc);
    std::optional<uint64_t> aux = target.read_msr(kMsrTscAux);
    if (!tsc || !aux) return fail(bytes, "rdtscp: cannot read the guest's TSC");
    regs.rax = *tsc & 0xFFFFFFFF;
    regs.rdx = *tsc >> 32;
    regs.rcx = *aux & 0xFFFFFFFF;
    return done(regs, at + 3, "rdtscp");
  }
  // clac / stac (SMAP): the kernel's entry code brackets user accesses
  // with them.
  if (op == 0x01 && (modrm == 0xCA || modrm == 0xCB)) {
    if (modrm == 0xCA) {
      regs.rflags &= ~kFlagAlignmentCheck;
    } else {
      regs.rflags |= kFlagAlignmentCheck;
    }
    return done(regs, at + 3, modrm == 0xCA ? "clac" : "stac");
  }
  if (op == 0xB8 && has_prefix(bytes, p, 0xF3)) {
    return emulate_popcnt(bytes, at + 2, rex, p, has_prefix(bytes, p, 0x66), regs, sregs, target);
  }
  if (op == 0xC7 && reg == 1) {
    if (!long_mode) return fail(bytes, "cmpxchg8b/16b outside 64-bit mode");
    return emulate_cmpxchg(bytes, at + 2, rex, p, regs, sregs, target);
  }
  if (op == 0xAE && (reg == 2 || reg == 3) && modrm >= 0 && (modrm >> 6) != 3) {
    return emulate_mxcsr(bytes, at + 2, rex, p, reg == 2, regs, sregs, target);
  }
  if ((op == 0xAE && (reg == 4 || reg == 5)) || (op == 0xC7 && (reg == 3 || reg == 5))) {
    return fail(bytes, "an xsave-family instruction KVM cannot emulate here; boot Linux with "
                       "`noxsave` on its command line");
  }
  return fail(bytes, "not an instruction dvmm emulates");
}

}  // namespace dvmm
