#include "host/boot/platform.hpp"

#include <algorithm>
#include <limits>

namespace dvmm::boot {

PlatformDescription PlatformDescription::with_cpus(uint32_t ncpus) {
  PlatformDescription p;
  p.apic_ids.resize(ncpus);
  for (uint32_t i = 0; i < ncpus; ++i) p.apic_ids[i] = i;
  p.ioapic_id = std::min<uint32_t>(ncpus, 0xFF);
  return p;
}

uint32_t isa_irq_to_gsi(const PlatformDescription& p, uint8_t irq) {
  for (const IsaIrqOverride& o : p.isa_irq_overrides) {
    if (o.isa_irq == irq) return o.gsi;
  }
  return irq;
}

Status validate_platform(const PlatformDescription& p) {
  if (p.apic_ids.empty()) return Error::format("platform description has no CPUs");
  std::vector<uint32_t> ids = p.apic_ids;
  std::sort(ids.begin(), ids.end());
  if (auto dup = std::adjacent_find(ids.begin(), ids.end()); dup != ids.end()) {
    return Error::format("APIC ID {} is given to more than one CPU", *dup);
  }
  if (p.ioapic_id > 0xFF) {
    return Error::format("IOAPIC ID {} does not fit the tables' 8-bit field", p.ioapic_id);
  }
  constexpr uint64_t kMax32 = std::numeric_limits<uint32_t>::max();
  if (p.lapic_address > kMax32 || p.lapic_address % 16 != 0) {
    return Error::format("local APIC address {:#x} is not a 16-byte aligned 32-bit address",
                         p.lapic_address);
  }
  if (p.ioapic_address > kMax32 || p.ioapic_address % 16 != 0) {
    return Error::format("IOAPIC address {:#x} is not a 16-byte aligned 32-bit address",
                         p.ioapic_address);
  }
  if (p.ioapic_pins < 16 || p.ioapic_pins > 240) {
    return Error::format("IOAPIC with {} inputs: need 16 (the ISA IRQs) to 240", p.ioapic_pins);
  }
  for (size_t i = 0; i < p.isa_irq_overrides.size(); ++i) {
    const IsaIrqOverride& o = p.isa_irq_overrides[i];
    if (o.isa_irq > 15) {
      return Error::format("interrupt override of ISA IRQ {}: ISA IRQs are 0-15", o.isa_irq);
    }
    if (o.gsi >= p.ioapic_pins) {
      return Error::format("interrupt override ISA IRQ {} -> GSI {}: the IOAPIC has inputs 0-{}",
                           o.isa_irq, o.gsi, p.ioapic_pins - 1);
    }
    if (o.flags > 0xF || (o.flags & 0x3) == 0x2 || (o.flags & 0xC) == 0x8) {
      return Error::format("interrupt override of ISA IRQ {}: invalid flags {:#x}", o.isa_irq,
                           o.flags);
    }
    for (size_t j = 0; j < i; ++j) {
      if (p.isa_irq_overrides[j].isa_irq == o.isa_irq) {
        return Error::format("ISA IRQ {} has more than one interrupt override", o.isa_irq);
      }
      if (p.isa_irq_overrides[j].gsi == o.gsi) {
        return Error::format("ISA IRQs {} and {} are both overridden to GSI {}",
                             p.isa_irq_overrides[j].isa_irq, o.isa_irq, o.gsi);
      }
    }
  }
  return {};
}

}  // namespace dvmm::boot
