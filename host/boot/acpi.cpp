#include "host/boot/acpi.hpp"

#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "host/boot/area_builder.hpp"
#include "host/boot/checksum.hpp"
#include "host/boot/layout.hpp"
#include "host/boot/table_bytes.hpp"

namespace dvmm::boot {
namespace {

constexpr std::string_view kOemId = "DVMM";
constexpr uint32_t kOemRevision = 1;
constexpr std::string_view kCreatorId = "DVMM";
constexpr uint32_t kCreatorRevision = 1;

AcpiTableHeader make_header(std::string_view signature, uint8_t revision) {
  AcpiTableHeader h{};
  std::memcpy(h.signature, signature.data(), sizeof(h.signature));
  h.revision = revision;
  set_id(h.oem_id, kOemId);
  set_id(h.oem_table_id, fmt::format("{}{}", kOemId, signature));
  h.oem_revision = kOemRevision;
  set_id(h.creator_id, kCreatorId);
  h.creator_revision = kCreatorRevision;
  return h;
}

// Fills in the length and checksum of a table that starts with an
// AcpiTableHeader.
Status finish_table(std::vector<uint8_t>& table) {
  if (table.size() > UINT32_MAX) {
    return Error::format("ACPI table of {} bytes exceeds its 32-bit length", table.size());
  }
  const auto length = static_cast<uint32_t>(table.size());
  std::memcpy(&table[offsetof(AcpiTableHeader, length)], &length, sizeof(length));
  set_checksum(table, offsetof(AcpiTableHeader, checksum));
  return {};
}

Result<std::vector<uint8_t>> build_madt(const PlatformDescription& p) {
  std::vector<uint8_t> t;
  AcpiMadt madt{};
  madt.header = make_header("APIC", kAcpiMadtRevision);
  madt.lapic_address = static_cast<uint32_t>(p.lapic_address);
  madt.flags = kMadtPcatCompat;
  append_struct(t, madt);

  bool any_x2apic = false;
  for (size_t i = 0; i < p.apic_ids.size(); ++i) {
    const uint32_t id = p.apic_ids[i];
    // xAPIC entries carry 8-bit IDs and UIDs (0xFF means "all" elsewhere).
    if (id <= kMadtMaxXapicId && i <= kMadtMaxXapicId) {
      append_struct(
          t, MadtLocalApic{static_cast<uint8_t>(MadtEntryType::kLocalApic), sizeof(MadtLocalApic),
                           static_cast<uint8_t>(i), static_cast<uint8_t>(id), kMadtCpuEnabled});
    } else {
      any_x2apic = true;
      append_struct(t, MadtLocalX2Apic{static_cast<uint8_t>(MadtEntryType::kLocalX2Apic),
                                       sizeof(MadtLocalX2Apic), 0, id, kMadtCpuEnabled,
                                       static_cast<uint32_t>(i)});
    }
  }
  append_struct(t, MadtIoApic{static_cast<uint8_t>(MadtEntryType::kIoApic), sizeof(MadtIoApic),
                              static_cast<uint8_t>(p.ioapic_id), 0,
                              static_cast<uint32_t>(p.ioapic_address), 0});
  for (const IsaIrqOverride& o : p.isa_irq_overrides) {
    append_struct(t, MadtInterruptSourceOverride{
                         static_cast<uint8_t>(MadtEntryType::kInterruptSourceOverride),
                         sizeof(MadtInterruptSourceOverride), 0, o.isa_irq, o.gsi, o.flags});
  }
  append_struct(t,
                MadtLocalApicNmi{static_cast<uint8_t>(MadtEntryType::kLocalApicNmi),
                                 sizeof(MadtLocalApicNmi), kMadtAllProcessors, kIntiConforms, 1});
  if (any_x2apic) {
    append_struct(t, MadtLocalX2ApicNmi{static_cast<uint8_t>(MadtEntryType::kLocalX2ApicNmi),
                                        sizeof(MadtLocalX2ApicNmi),
                                        kIntiConforms,
                                        kMadtAllX2Processors,
                                        1,
                                        {}});
  }
  DVMM_TRY(finish_table(t));
  return t;
}

// RSDT (4-byte entries) or XSDT (8-byte entries) listing `tables`.
template <typename Entry>
Result<std::vector<uint8_t>> build_root_table(std::string_view signature,
                                              std::span<const uint64_t> tables) {
  std::vector<uint8_t> t;
  append_struct(t, make_header(signature, 1));
  for (uint64_t addr : tables) append_struct(t, static_cast<Entry>(addr));
  DVMM_TRY(finish_table(t));
  return t;
}

}  // namespace

Status write_acpi_tables(GuestMemory& mem, const PlatformDescription& p) {
  DVMM_TRY(validate_platform(p));
  AreaBuilder area(kAcpiTables, "ACPI tables");
  const uint64_t rsdp_addr = DVMM_TRY(area.reserve(sizeof(AcpiRsdp), 16, "the RSDP"));

  // The tables the RSDT and XSDT list. A FADT goes here too when dvmm gets
  // one: build the DSDT first (it is not listed; FADT.DSDT/X_DSDT point at
  // it), then the FADT, and add the FADT's address to `listed`.
  std::vector<uint64_t> listed;
  const std::vector<uint8_t> madt = DVMM_TRY(build_madt(p));
  listed.push_back(DVMM_TRY(area.append(madt, 16, "the MADT")));

  const std::vector<uint8_t> rsdt = DVMM_TRY(build_root_table<uint32_t>("RSDT", listed));
  const uint64_t rsdt_addr = DVMM_TRY(area.append(rsdt, 16, "the RSDT"));
  const std::vector<uint8_t> xsdt = DVMM_TRY(build_root_table<uint64_t>("XSDT", listed));
  const uint64_t xsdt_addr = DVMM_TRY(area.append(xsdt, 16, "the XSDT"));

  AcpiRsdp rsdp{};
  std::memcpy(rsdp.signature, "RSD PTR ", sizeof(rsdp.signature));
  set_id(rsdp.oem_id, kOemId);
  rsdp.revision = kAcpiRsdpRevision;
  rsdp.rsdt_address = static_cast<uint32_t>(rsdt_addr);  // the area is below 1 MiB
  rsdp.length = sizeof(AcpiRsdp);
  rsdp.xsdt_address = xsdt_addr;
  std::span<uint8_t> bytes(reinterpret_cast<uint8_t*>(&rsdp), sizeof(rsdp));
  set_checksum(bytes.first(20), offsetof(AcpiRsdp, checksum));
  set_checksum(bytes, offsetof(AcpiRsdp, extended_checksum));
  area.put(rsdp_addr, rsdp);

  return area.commit(mem);
}

}  // namespace dvmm::boot
