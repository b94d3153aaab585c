// Fuzzes emulate_failed_instruction (host/vmm/emulation_failure.hpp): the
// code that executes a guest instruction KVM's emulator gave up on (int3,
// cmpxchg8b/16b with ModRM/SIB/RIP-relative addressing, popcnt, rdtscp,
// clac/stac). The guest controls all of it: the instruction bytes, every
// register, RFLAGS, CS.L and the FS/GS bases.
//
// Input: u8 flags (bit 0 CS.L, bit 1 IA32_TSC readable, bit 2 IA32_TSC_AUX
// readable), u8 instruction length (mod 16) and the bytes, then u64 RAX..R15
// (the kvm_regs order), RIP, RFLAGS, FS base, GS base, TSC, TSC_AUX, then
// bytes copied into guest RAM at 0x2000 (the rest).
//
// The fake vCPU has 64 KiB of RAM at guest-physical 0, in a host buffer
// with guard bytes on both sides. Linear [0, 64 KiB) is identity-mapped,
// except a read-only page at 0x3000 and two pages at 0x5000 mapped to MMIO
// (guest-physical 0xFEE00000 up, not RAM); linear kAlias up maps the same
// RAM at a different address (so a linear address used as physical shows);
// everything else is unmapped.
//
// Properties, beyond the sanitizers: kFail has a message and changes
// neither registers nor memory; kInject is #BP (RIP past the int3), #UD (a
// cmpxchg with a register operand) or #GP (a misaligned cmpxchg16b), both
// faults that leave RIP and everything else unchanged, #GP with an error
// code; kDone advances RIP by 1..15 bytes, no further than the bytes given.
// The instructions with operands are checked against a second, independent
// decoder (ref_decode): same length, same operand address, translated once
// (for writing only by cmpxchg), RAM at the translated address. A cmpxchg
// touches only its 8/16 bytes (the rest of RAM and the guards stay as they
// were) and has the instruction's result (ZF, RDX:RAX or the store); popcnt
// writes only its destination (16-bit: the low word) and the flags. With
// the prefixes a compiler emits, a mapped RAM operand (writable for
// cmpxchg) and long mode (or a register operand), the instruction is
// executed, not refused. rdtscp loads EDX:EAX and ECX from the MSRs;
// clac/stac change only RFLAGS.AC. An instruction this target has no model
// of may write only the operand it translated for writing.
#include <linux/kvm.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "fuzz/fuzz_input.hpp"
#include "host/vmm/emulation_failure.hpp"

namespace {

using namespace dvmm;
using dvmm::fuzz::fail;
using dvmm::fuzz::Input;
using dvmm::fuzz::Output;
using Kind = EmulationResult::Kind;

constexpr uint64_t kRamSize = 0x10000;
constexpr uint64_t kGuard = 0x1000;
constexpr uint64_t kReadOnlyPage = 0x3000;
constexpr uint64_t kMmioLinear = 0x5000, kMmioEnd = 0x7000, kMmioGpa = 0xFEE00000;
constexpr uint64_t kAlias = 0xFFFF888000000000;
constexpr uint64_t kSeedData = 0x2000;  // where the input's tail goes
constexpr uint32_t kMsrTsc = 0x10, kMsrTscAux = 0xC0000103;
constexpr uint64_t kZf = 1u << 6, kAc = 1u << 18;

// The page tables, as translate() implements them: a guest-physical
// address, and whether it may be written.
struct Mapping {
  uint64_t gpa;
  bool writable;
};
std::optional<Mapping> page_walk(uint64_t linear) {
  if (linear >= kAlias && linear - kAlias < kRamSize) return Mapping{linear - kAlias, true};
  if (linear >= kRamSize) return std::nullopt;
  if (linear >= kMmioLinear && linear < kMmioEnd) return Mapping{kMmioGpa + linear - kMmioLinear, true};
  return Mapping{linear, (linear & ~uint64_t{0xFFF}) != kReadOnlyPage};
}

class FakeVcpu final : public EmulationTarget {
 public:
  std::optional<uint64_t> translate(uint64_t linear, bool write) override {
    ++translations;
    last_linear = linear;
    last_write = write;
    std::optional<Mapping> m = page_walk(linear);
    if (!m || (write && !m->writable)) return std::nullopt;
    return m->gpa;
  }
  uint8_t* ram(uint64_t gpa, uint64_t len) override {
    ++ram_calls;
    ram_gpa = gpa;
    ram_len = len;
    if (gpa > kRamSize || len > kRamSize - gpa) return nullptr;
    return guest_ram() + gpa;
  }
  std::optional<uint32_t> read_mxcsr() override { return mxcsr; }
  bool write_mxcsr(uint32_t value) override {
    if ((value & ~0xFFFFu) != 0) fail("an MXCSR with reserved bits reached the vCPU");
    mxcsr = value;
    return true;
  }
  std::optional<uint64_t> read_msr(uint32_t index) override {
    ++msr_reads;
    if (index == kMsrTsc && tsc) return tsc;
    if (index == kMsrTscAux && tsc_aux) return tsc_aux;
    return std::nullopt;
  }

  // Guard, RAM, guard; page-aligned, so a 16-byte-aligned guest address is
  // a 16-byte-aligned host address, as with the real mmap'ed RAM.
  static uint8_t* buffer() {
    alignas(4096) static std::array<uint8_t, kGuard + kRamSize + kGuard> b;
    return b.data();
  }
  static uint8_t* guest_ram() { return buffer() + kGuard; }
  static constexpr size_t kBufferSize = kGuard + kRamSize + kGuard;

  std::optional<uint64_t> tsc, tsc_aux;
  uint32_t mxcsr = 0x1F80;
  int translations = 0, ram_calls = 0, msr_reads = 0;
  uint64_t last_linear = 0, ram_gpa = 0, ram_len = 0;
  bool last_write = false;
};

// An independent decoder for the instructions with operands the emulator
// executes, cmpxchg8b/16b (0F C7 /1) and popcnt (F3 0F B8 /r), written from
// the SDM's tables: prefixes, REX (64-bit mode only), ModRM, SIB,
// displacement, RIP-relative and 32-bit addressing, FS/GS bases.
struct Ref {
  enum Op { kOther, kCmpxchg, kPopcnt } op = kOther;
  bool complete = false;   // ModRM, SIB and displacement all present
  bool plain = true;       // the prefixes a compiler emits for it, each at most once
  bool ambiguous = false;  // several segment overrides: the SDM leaves it open
  bool rex_w = false, operand16 = false, is_register = false;
  unsigned reg = 0, rm = 0;  // REX.R / REX.B applied
  uint64_t linear = 0;       // memory operand
  size_t length = 0;
};

Ref ref_decode(std::span<const uint8_t> b, const kvm_regs& r, const kvm_sregs& s) {
  Ref out;
  const uint64_t gpr[16] = {r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
                            r.r8,  r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
  std::array<int, 256> count{};
  size_t i = 0;
  uint64_t seg_base = 0;
  for (; i < b.size(); ++i) {
    const uint8_t p = b[i];
    if (p == 0x64 || p == 0x65) {
      seg_base = p == 0x64 ? s.fs.base : s.gs.base;
    } else if (p == 0x26 || p == 0x2E || p == 0x36 || p == 0x3E) {
      seg_base = 0;  // base 0 in 64-bit mode
    } else if (p != 0xF0 && p != 0xF2 && p != 0xF3 && p != 0x66 && p != 0x67) {
      break;
    }
    ++count[p];
  }
  const int segs = count[0x64] + count[0x65] + count[0x26] + count[0x2E] + count[0x36] + count[0x3E];
  out.ambiguous = segs > 1;
  const bool long_mode = s.cs.l != 0;
  uint8_t rex = 0;
  if (long_mode && i < b.size() && b[i] >= 0x40 && b[i] <= 0x4F) rex = b[i++];
  if (i + 3 > b.size() || b[i] != 0x0F) return out;
  const uint8_t opcode = b[i + 1];
  i += 2;
  const uint8_t modrm = b[i++];
  const unsigned mod = modrm >> 6, rm = modrm & 7;
  out.reg = ((modrm >> 3) & 7) + ((rex & 4) ? 8 : 0);
  out.rex_w = (rex & 8) != 0;
  out.operand16 = count[0x66] != 0;
  const bool common = count[0xF2] == 0 && count[0x67] <= 1 && segs == count[0x64] + count[0x65] &&
                      segs <= 1;
  if (opcode == 0xB8 && count[0xF3] != 0) {
    out.op = Ref::kPopcnt;
    out.plain = common && count[0xF3] == 1 && count[0x66] <= 1 && count[0xF0] == 0;
  } else if (opcode == 0xC7 && ((modrm >> 3) & 7) == 1) {
    out.op = Ref::kCmpxchg;
    out.plain = common && count[0xF3] == 0 && count[0x66] == 0 && count[0xF0] <= 1;
  } else {
    return out;
  }
  const bool rex_b = rex & 1, rex_x = rex & 2;
  if (mod == 3) {
    out.is_register = true;
    out.rm = rm + (rex_b ? 8 : 0);
    out.complete = true;
    out.length = i;
    return out;
  }
  // Displacement size by mod, and the SIB/RIP special cases.
  uint64_t ea = 0;
  size_t disp_bytes = mod == 1 ? 1 : mod == 2 ? 4 : 0;
  bool rip_relative = false;
  if (rm == 4) {
    if (i >= b.size()) return out;
    const uint8_t sib = b[i++];
    const unsigned scale = sib >> 6, index = ((sib >> 3) & 7) + (rex_x ? 8 : 0);
    const unsigned base = (sib & 7) + (rex_b ? 8 : 0);
    if (index != 4) ea += gpr[index] * (uint64_t{1} << scale);
    if ((sib & 7) == 5 && mod == 0) {
      disp_bytes = 4;
    } else {
      ea += gpr[base];
    }
  } else if (rm == 5 && mod == 0) {
    rip_relative = true;
    disp_bytes = 4;
  } else {
    ea += gpr[rm + (rex_b ? 8 : 0)];
  }
  if (i + disp_bytes > b.size()) return out;
  int64_t disp = 0;
  if (disp_bytes == 1) disp = static_cast<int8_t>(b[i]);
  if (disp_bytes == 4) {
    int32_t d;
    std::memcpy(&d, b.data() + i, 4);
    disp = d;
  }
  i += disp_bytes;
  ea += static_cast<uint64_t>(disp);
  if (rip_relative) ea += r.rip + i;
  if (count[0x67] != 0) ea = static_cast<uint32_t>(ea);
  out.complete = true;
  out.linear = seg_base + ea;
  out.length = i;
  return out;
}

unsigned popcnt_size(const Ref& ref) { return ref.rex_w ? 8 : ref.operand16 ? 2 : 4; }

// True when the CPU would execute it and nothing stands in the way of the
// emulator doing so: long mode for memory operands, mapped RAM (writable
// for cmpxchg), within a page, cmpxchg16b aligned.
bool must_execute(const Ref& ref, const kvm_sregs& s) {
  if (!ref.complete || !ref.plain || ref.ambiguous) return false;
  if (ref.op == Ref::kPopcnt && ref.is_register) return true;
  if (ref.op == Ref::kOther || ref.is_register || s.cs.l == 0) return false;
  const bool cmpxchg = ref.op == Ref::kCmpxchg;
  const uint64_t size = cmpxchg ? (ref.rex_w ? 16 : 8) : popcnt_size(ref);
  if (cmpxchg && size == 16 && ref.linear % 16 != 0) return false;
  if ((ref.linear & 0xFFF) + size > 0x1000) return false;
  std::optional<Mapping> m = page_walk(ref.linear);
  return m && (m->writable || !cmpxchg) && m->gpa + size <= kRamSize;
}

bool same_except(const kvm_regs& a, const kvm_regs& b, std::initializer_list<__u64 kvm_regs::*> allowed) {
  kvm_regs x = a, y = b;
  for (auto field : allowed) x.*field = y.*field = 0;
  return std::memcmp(&x, &y, sizeof(x)) == 0;
}

__u64& gpr(kvm_regs& r, unsigned n) {
  __u64* regs[16] = {&r.rax, &r.rcx, &r.rdx, &r.rbx, &r.rsp, &r.rbp, &r.rsi, &r.rdi,
                     &r.r8,  &r.r9,  &r.r10, &r.r11, &r.r12, &r.r13, &r.r14, &r.r15};
  return *regs[n & 15];
}

struct Run {
  const Ref& ref;
  const kvm_regs& old;
  const kvm_regs& regs;
  const kvm_sregs& sregs;
  const FakeVcpu& vcpu;
  const uint8_t* before;  // the buffer (guards and RAM) before the instruction
  const uint8_t* after;
  uint64_t advance;
};

// The operand the emulator used is the reference's, and it reached RAM
// through the page tables.
uint64_t check_operand(const Run& x, bool write, uint64_t size) {
  if (x.ref.length != x.advance) fail("instruction length differs from the reference decoder");
  if (x.vcpu.translations != 1 || x.vcpu.ram_calls != 1) fail("memory operand not translated once");
  if (x.vcpu.last_write != write) fail("operand translated for the wrong access");
  if (!x.ref.ambiguous && x.vcpu.last_linear != x.ref.linear) {
    fail("operand address differs from the reference decoder");
  }
  if (x.vcpu.ram_len != size) fail("operand size wrong");
  std::optional<Mapping> m = page_walk(x.vcpu.last_linear);
  if (!m || (write && !m->writable) || m->gpa != x.vcpu.ram_gpa) {
    fail("RAM accessed at an untranslated address");
  }
  if (x.sregs.cs.l == 0) fail("memory operand executed outside 64-bit mode");
  return kGuard + x.vcpu.ram_gpa;
}

void check_cmpxchg(const Run& x) {
  if (x.ref.op != Ref::kCmpxchg || !x.ref.complete || x.ref.is_register) {
    fail("cmpxchg executed where the reference decodes none");
  }
  const uint64_t size = x.ref.rex_w ? 16 : 8;
  const uint64_t at = check_operand(x, true, size);
  if (size == 16 && x.vcpu.last_linear % 16 != 0) fail("misaligned cmpxchg16b executed");
  for (uint64_t i = 0; i < FakeVcpu::kBufferSize; ++i) {
    if (x.after[i] != x.before[i] && (i < at || i >= at + size)) fail("cmpxchg wrote outside its operand");
  }
  const kvm_regs& old = x.old;
  uint64_t mem_lo, mem_hi = 0, cmp_lo = old.rax, cmp_hi = old.rdx, new_lo = old.rbx, new_hi = old.rcx;
  if (size == 16) {
    std::memcpy(&mem_lo, x.before + at, 8);
    std::memcpy(&mem_hi, x.before + at + 8, 8);
  } else {
    uint32_t lo, hi;
    std::memcpy(&lo, x.before + at, 4);
    std::memcpy(&hi, x.before + at + 4, 4);
    mem_lo = lo;
    mem_hi = hi;
    cmp_lo &= 0xFFFFFFFF;
    cmp_hi &= 0xFFFFFFFF;
    new_lo &= 0xFFFFFFFF;
    new_hi &= 0xFFFFFFFF;
  }
  std::array<uint8_t, 16> expect{};
  if (mem_lo == cmp_lo && mem_hi == cmp_hi) {
    if ((x.regs.rflags & kZf) == 0) fail("cmpxchg equal without ZF");
    if (x.regs.rax != old.rax || x.regs.rdx != old.rdx) fail("cmpxchg equal changed RDX:RAX");
    if (size == 16) {
      std::memcpy(expect.data(), &new_lo, 8);
      std::memcpy(expect.data() + 8, &new_hi, 8);
    } else {
      const uint32_t lo = static_cast<uint32_t>(new_lo), hi = static_cast<uint32_t>(new_hi);
      std::memcpy(expect.data(), &lo, 4);
      std::memcpy(expect.data() + 4, &hi, 4);
    }
  } else {
    if ((x.regs.rflags & kZf) != 0) fail("cmpxchg unequal with ZF");
    if (x.regs.rax != mem_lo || x.regs.rdx != mem_hi) fail("cmpxchg unequal: RDX:RAX not loaded");
    std::memcpy(expect.data(), x.before + at, size);
  }
  if (std::memcmp(x.after + at, expect.data(), size) != 0) fail("cmpxchg left the wrong bytes");
  if (!same_except(x.regs, old, {&kvm_regs::rip, &kvm_regs::rflags, &kvm_regs::rax, &kvm_regs::rdx}) ||
      ((x.regs.rflags ^ old.rflags) & ~kZf) != 0) {
    fail("cmpxchg changed other registers or flags");
  }
}

void check_popcnt(const Run& x, bool ram_changed) {
  if (x.ref.op != Ref::kPopcnt || !x.ref.complete) fail("popcnt executed where the reference decodes none");
  if (ram_changed) fail("popcnt wrote memory");
  const unsigned size = popcnt_size(x.ref);
  kvm_regs old = x.old;
  uint64_t src = 0;
  if (x.ref.is_register) {
    if (x.ref.length != x.advance) fail("instruction length differs from the reference decoder");
    if (x.vcpu.translations != 0 || x.vcpu.ram_calls != 0) fail("register popcnt touched memory");
    src = gpr(old, x.ref.rm);
  } else {
    std::memcpy(&src, x.before + check_operand(x, false, size), size);
  }
  if (size < 8) src &= (uint64_t{1} << (size * 8)) - 1;
  kvm_regs expect = old;
  const auto count = static_cast<uint64_t>(__builtin_popcountll(src));
  gpr(expect, x.ref.reg) = size == 2 ? (gpr(old, x.ref.reg) & ~uint64_t{0xFFFF}) | count : count;
  expect.rip = x.regs.rip;
  // ZF = (source == 0); CF, OF, SF, AF, PF clear.
  expect.rflags = (old.rflags & ~uint64_t{0x8D5}) | (src == 0 ? kZf : 0);
  if (std::memcmp(&expect, &x.regs, sizeof(expect)) != 0) fail("popcnt result or flags wrong");
}

void run(Input& in) {
  const uint8_t flags = in.u8();
  const std::span<const uint8_t> bytes = in.bytes(in.u8() % 16u);
  kvm_regs regs{};
  for (__u64* r : {&regs.rax, &regs.rbx, &regs.rcx, &regs.rdx, &regs.rsi, &regs.rdi, &regs.rsp,
                   &regs.rbp, &regs.r8, &regs.r9, &regs.r10, &regs.r11, &regs.r12, &regs.r13,
                   &regs.r14, &regs.r15, &regs.rip, &regs.rflags}) {
    *r = in.u64();
  }
  kvm_sregs sregs{};
  sregs.cs.l = flags & 1;
  sregs.fs.base = in.u64();
  sregs.gs.base = in.u64();
  FakeVcpu vcpu;
  const uint64_t tsc = in.u64(), aux = in.u64();
  if (flags & 2) vcpu.tsc = tsc;
  if (flags & 4) vcpu.tsc_aux = aux;

  uint8_t* buf = FakeVcpu::buffer();
  std::memset(buf, 0xA5, FakeVcpu::kBufferSize);  // guards and RAM: a pattern
  std::memset(FakeVcpu::guest_ram(), 0, kRamSize);
  const std::span<const uint8_t> data = in.bytes(kRamSize - kSeedData);
  if (!data.empty()) std::memcpy(FakeVcpu::guest_ram() + kSeedData, data.data(), data.size());
  static std::array<uint8_t, FakeVcpu::kBufferSize> before;
  std::memcpy(before.data(), buf, before.size());

  const kvm_regs old = regs;
  const Ref ref = ref_decode(bytes, old, sregs);
  const EmulationResult r = emulate_failed_instruction(bytes, regs, sregs, vcpu);
  const bool ram_changed = std::memcmp(buf, before.data(), before.size()) != 0;
  const bool touched = vcpu.translations != 0 || vcpu.ram_calls != 0;
  if (vcpu.ram_calls > 1 || vcpu.translations > 1) fail("more than one memory operand");
  if (vcpu.ram_calls != 0 && vcpu.translations == 0) fail("RAM reached without a translation");

  switch (r.kind) {
    case Kind::kFail:
      if (r.what.empty()) fail("kFail without a message");
      if (std::memcmp(&regs, &old, sizeof(regs)) != 0) fail("kFail changed registers");
      if (ram_changed) fail("kFail changed memory");
      if (must_execute(ref, sregs)) fail("an instruction the CPU executes, on mapped RAM, refused");
      return;
    case Kind::kInject:
      if (ram_changed || touched) fail("an exception touched memory");
      if (r.vector == 3) {
        const uint64_t len = bytes[0] == 0xCC ? 1 : 2;
        if (r.has_error_code || regs.rip != old.rip + len ||
            !same_except(regs, old, {&kvm_regs::rip})) {
          fail("#BP: RIP not past the int3, or other state changed");
        }
        return;
      }
      if (r.vector != 6 && r.vector != 13) fail("an exception other than #BP, #UD, #GP");
      if (std::memcmp(&regs, &old, sizeof(regs)) != 0) fail("a fault changed registers");
      if (r.vector == 13 && !r.has_error_code) fail("#GP without an error code");
      if (r.vector == 6 && !(ref.op == Ref::kCmpxchg && ref.is_register)) {
        fail("#UD for something other than cmpxchg with a register operand");
      }
      if (r.vector == 13 && !ref.ambiguous && r.what.rfind("ldmxcsr", 0) != 0 &&
          !(ref.op == Ref::kCmpxchg && ref.rex_w && ref.linear % 16 != 0)) {
        fail("#GP for something other than a misaligned cmpxchg16b or a bad MXCSR");
      }
      return;
    case Kind::kDone:
      break;
  }

  const uint64_t advance = regs.rip - old.rip;
  if (advance < 1 || advance > 15 || advance > bytes.size()) fail("RIP advanced by a bad length");
  const Run x{ref, old, regs, sregs, vcpu, before.data(), buf, advance};
  if (r.what == "cmpxchg8b" || r.what == "cmpxchg16b") {
    check_cmpxchg(x);
  } else if (r.what == "popcnt") {
    check_popcnt(x, ram_changed);
  } else if (r.what == "rdtscp") {
    if (touched || ram_changed) fail("rdtscp touched memory");
    if (regs.rax != (*vcpu.tsc & 0xFFFFFFFF) || regs.rdx != *vcpu.tsc >> 32 ||
        regs.rcx != (*vcpu.tsc_aux & 0xFFFFFFFF) ||
        !same_except(regs, old, {&kvm_regs::rip, &kvm_regs::rax, &kvm_regs::rdx, &kvm_regs::rcx})) {
      fail("rdtscp result wrong");
    }
  } else if (r.what == "clac" || r.what == "stac") {
    if (touched || ram_changed) fail("clac/stac touched memory");
    const uint64_t ac = r.what == "stac" ? kAc : 0;
    if (!same_except(regs, old, {&kvm_regs::rip, &kvm_regs::rflags}) ||
        regs.rflags != ((old.rflags & ~kAc) | ac)) {
      fail("clac/stac did more than set or clear RFLAGS.AC");
    }
  } else if (ram_changed) {
    // An instruction this target has no model of yet: it may only have
    // written the operand it translated for writing.
    if (vcpu.ram_calls == 0 || !vcpu.last_write) fail("memory changed without a writable operand");
    const uint64_t at = kGuard + vcpu.ram_gpa;
    for (uint64_t i = 0; i < FakeVcpu::kBufferSize; ++i) {
      if (buf[i] != before[i] && (i < at || i >= at + vcpu.ram_len)) fail("wrote outside its operand");
    }
  }
}

std::vector<dvmm::fuzz::Seed> seeds() {
  struct Regs {
    uint64_t rax = 0, rbx = 0, rcx = 0, rdx = 0, rsi = 0, rdi = 0, rsp = 0x8000, rbp = 0;
    uint64_t r9 = 0, rip = 0x1000, rflags = 2, fs = 0, gs = 0;
  };
  auto seed = [](std::vector<uint8_t> insn, const Regs& r, std::vector<uint8_t> data = {},
                 uint8_t flags = 7) {
    Output o;
    o.u8(flags).u8(static_cast<uint8_t>(insn.size())).bytes(insn);
    for (uint64_t v : {r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp, uint64_t{0}, r.r9,
                       uint64_t{0}, uint64_t{0}, uint64_t{0}, uint64_t{0}, uint64_t{0},
                       uint64_t{0}, r.rip, r.rflags, r.fs, r.gs}) {
      o.u64(v);
    }
    o.u64(0x1122334455667788).u64(3).bytes(data);
    return o.data();
  };
  // 16 bytes at 0x2020 that RDX:RAX = 0xBBBB:0xAAAA match.
  std::vector<uint8_t> match(0x30, 0);
  match[0x20] = match[0x21] = 0xAA;
  match[0x28] = match[0x29] = 0xBB;
  Regs cas;
  cas.rbp = 0x2000;
  cas.rax = 0xAAAA;
  cas.rdx = 0xBBBB;
  cas.rbx = 0x1111;
  cas.rcx = 0x2222;
  Regs sib;  // gs:[rsi + r9*4 + 0x40]: GS base in the alias, so guest-physical 0x2180
  sib.rsi = 0x100;
  sib.r9 = 0x10;
  sib.gs = kAlias + 0x2000;
  Regs low8;  // lock cmpxchg8b [rdi], only EAX/EDX compare
  low8.rdi = 0x2008;
  low8.rax = 0xFFFFFFFF00000000;
  Regs pop;  // popcnt ax, [rsi+8]: 0xAAAA at 0x2020; RAX's upper bits stay
  pop.rsi = 0x2018;
  pop.rax = ~uint64_t{0};
  Regs clac;
  clac.rflags = 0x40246;
  return {
      {"int3", seed({0xCC}, Regs{})},
      {"lock-cmpxchg16b-rbp", seed({0xF0, 0x48, 0x0F, 0xC7, 0x4D, 0x20}, cas, match)},
      {"cmpxchg16b-gs-sib", seed({0x65, 0x4A, 0x0F, 0xC7, 0x4C, 0x8E, 0x40}, sib)},
      {"cmpxchg16b-rip-relative", seed({0x48, 0x0F, 0xC7, 0x0D, 0xF8, 0x0F, 0x00, 0x00}, cas)},
      {"lock-cmpxchg8b-rdi", seed({0xF0, 0x0F, 0xC7, 0x0F}, low8)},
      {"rdtscp", seed({0x0F, 0x01, 0xF9}, Regs{})},
      {"popcnt-register", seed({0xF3, 0x48, 0x0F, 0xB8, 0xC1}, cas)},   // popcnt rax, rcx
      {"popcnt-memory16", seed({0x66, 0xF3, 0x0F, 0xB8, 0x46, 0x08}, pop, match)},
      {"clac", seed({0x0F, 0x01, 0xCA}, clac)},
      {"xsave", seed({0x0F, 0xAE, 0x27}, Regs{})},
      {"ldmxcsr-rsp4", seed({0x0F, 0xAE, 0x54, 0x24, 0x04}, Regs{})},
      {"stmxcsr-rsp8", seed({0x0F, 0xAE, 0x5C, 0x24, 0x08}, Regs{})},
      {"fwait", seed({0x9B, 0x90}, Regs{})},
      {"cmpxchg8b-register", seed({0xF0, 0x66, 0x0F, 0xC7, 0xC8, 0x90, 0xFF}, Regs{})},
      {"junk", seed({0x0F, 0x0B, 0xFF, 0x3E, 0x45}, Regs{}, {}, 0x01)},
  };
}

}  // namespace

DVMM_FUZZ_TARGET(seeds, run)
