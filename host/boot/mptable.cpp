#include "host/boot/mptable.hpp"

#include <cstddef>
#include <cstring>
#include <span>
#include <vector>

#include "host/boot/area_builder.hpp"
#include "host/boot/checksum.hpp"
#include "host/boot/layout.hpp"
#include "host/boot/table_bytes.hpp"

namespace dvmm::boot {
namespace {

constexpr uint8_t kIsaBusId = 0;

Status validate_for_mp(const PlatformDescription& p) {
  DVMM_TRY(validate_platform(p));
  if (p.apic_ids.size() > kMpMaxCpus) {
    return Error::format(
        "the MP table describes at most {} CPUs (8-bit APIC IDs), {} requested; use fewer CPUs "
        "or boot with ACPI only",
        kMpMaxCpus, p.apic_ids.size());
  }
  for (size_t i = 0; i < p.apic_ids.size(); ++i) {
    if (p.apic_ids[i] > 0xFE) {
      return Error::format(
          "CPU {} has APIC ID {}: the MP table only holds APIC IDs 0-254; boot with ACPI only", i,
          p.apic_ids[i]);
    }
  }
  for (uint32_t id : p.apic_ids) {
    if (id == p.ioapic_id) {
      return Error::format(
          "IOAPIC ID {} is also a CPU's APIC ID; the MP table needs distinct IDs (use the number "
          "of CPUs)",
          p.ioapic_id);
    }
  }
  return {};
}

MpInterruptEntry interrupt_entry(MpEntryType type, MpInterruptType itype, uint16_t flags,
                                 uint8_t src_irq, uint8_t dest, uint8_t pin) {
  return MpInterruptEntry{static_cast<uint8_t>(type),
                          static_cast<uint8_t>(itype),
                          flags,
                          kIsaBusId,
                          src_irq,
                          dest,
                          pin};
}

}  // namespace

Status write_mp_table(GuestMemory& mem, const PlatformDescription& p) {
  DVMM_TRY(validate_for_mp(p));

  // Entries, in the order the spec recommends: processors, buses, I/O
  // APICs, I/O interrupts, local interrupts.
  std::vector<uint8_t> entries;
  uint16_t count = 0;
  for (size_t i = 0; i < p.apic_ids.size(); ++i) {
    MpProcessorEntry cpu{};
    cpu.type = static_cast<uint8_t>(MpEntryType::kProcessor);
    cpu.lapic_id = static_cast<uint8_t>(p.apic_ids[i]);
    cpu.lapic_version = kMpLapicVersion;
    cpu.cpu_flags = static_cast<uint8_t>(kMpCpuEnabled | (i == 0 ? kMpCpuBootstrap : 0));
    cpu.cpu_signature = kMpCpuSignature;
    cpu.feature_flags = kMpCpuFeatures;
    append_struct(entries, cpu);
    ++count;
  }

  MpBusEntry bus{};
  bus.type = static_cast<uint8_t>(MpEntryType::kBus);
  bus.bus_id = kIsaBusId;
  set_id(bus.bus_type, "ISA");
  append_struct(entries, bus);
  ++count;

  const auto ioapic_id = static_cast<uint8_t>(p.ioapic_id);
  MpIoapicEntry ioapic{};
  ioapic.type = static_cast<uint8_t>(MpEntryType::kIoapic);
  ioapic.id = ioapic_id;
  ioapic.version = kMpIoapicVersion;
  ioapic.flags = kMpIoapicEnabled;
  ioapic.address = static_cast<uint32_t>(p.ioapic_address);
  append_struct(entries, ioapic);
  ++count;

  for (uint8_t irq = 0; irq < 16; ++irq) {
    uint16_t flags = kIntiConforms;
    bool overridden = false;
    bool pin_taken = false;
    for (const IsaIrqOverride& o : p.isa_irq_overrides) {
      if (o.isa_irq == irq) {
        overridden = true;
        flags = o.flags;
      } else if (o.gsi == irq) {
        pin_taken = true;
      }
    }
    // Identity-wired IRQ whose input another IRQ was moved to (IRQ 2, the
    // cascade, when IRQ0 -> pin 2): it has no input of its own.
    if (!overridden && pin_taken) continue;
    const auto pin = static_cast<uint8_t>(isa_irq_to_gsi(p, irq));
    append_struct(entries, interrupt_entry(MpEntryType::kIoInterrupt, MpInterruptType::kInt, flags,
                                           irq, ioapic_id, pin));
    ++count;
  }

  append_struct(entries, interrupt_entry(MpEntryType::kLocalInterrupt, MpInterruptType::kExtInt,
                                         kIntiConforms, 0, kMpAllLapics, 0));
  append_struct(entries, interrupt_entry(MpEntryType::kLocalInterrupt, MpInterruptType::kNmi,
                                         kIntiConforms, 0, kMpAllLapics, 1));
  count = static_cast<uint16_t>(count + 2);

  AreaBuilder area(kMpTables, "MP table");
  const uint64_t fp_addr =
      DVMM_TRY(area.reserve(sizeof(MpFloatingPointer), 16, "the MP floating pointer"));
  const uint64_t cfg_size = sizeof(MpConfigHeader) + entries.size();
  const uint64_t cfg_addr = DVMM_TRY(area.reserve(cfg_size, 16, "the MP configuration table"));
  if (cfg_size > 0xFFFF) {
    return Error::format("MP configuration table of {} bytes exceeds its 16-bit length field",
                         cfg_size);
  }

  MpConfigHeader hdr{};
  std::memcpy(hdr.signature, "PCMP", 4);
  hdr.base_length = static_cast<uint16_t>(cfg_size);
  hdr.spec_rev = kMpSpecRev;
  set_id(hdr.oem_id, "DVMM");
  set_id(hdr.product_id, "DVMM VM");
  hdr.entry_count = count;
  hdr.lapic_address = static_cast<uint32_t>(p.lapic_address);
  std::vector<uint8_t> cfg;
  append_struct(cfg, hdr);
  cfg.insert(cfg.end(), entries.begin(), entries.end());
  set_checksum(cfg, offsetof(MpConfigHeader, checksum));
  area.put_bytes(cfg_addr, cfg);

  MpFloatingPointer fp{};
  std::memcpy(fp.signature, "_MP_", 4);
  fp.config_table = static_cast<uint32_t>(cfg_addr);
  fp.length = sizeof(MpFloatingPointer) / 16;
  fp.spec_rev = kMpSpecRev;
  auto* fp_bytes = reinterpret_cast<uint8_t*>(&fp);
  set_checksum(std::span<uint8_t>(fp_bytes, sizeof(fp)), offsetof(MpFloatingPointer, checksum));
  area.put(fp_addr, fp);

  return area.commit(mem);
}

}  // namespace dvmm::boot
