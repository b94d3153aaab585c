#include "host/boot/acpi.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <iterator>
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

// The DSDT's definition block, hand-assembled (ACPI 6.5 section 20.2;
// what `iasl` makes of `DefinitionBlock ("", "DSDT", 2, "DVMM", "DVMMDSDT",
// 1) { Name (_S5, Package () { 5, 5, 0, 0 }) }` after the header):
constexpr uint8_t kDsdtAml[] = {
    0x08,                    // NameOp: Name (NameString, DataRefObject)
    '_', 'S', '5', '_',      // NameString "_S5_" (a NameSeg: 4 chars, '_'-padded,
                             //   relative to the root scope the DSDT loads into)
    0x12,                    // PackageOp: Package (PkgLength NumElements Elements)
    0x08,                    // PkgLength, one-byte form (bits 7:6 = 0): 8 bytes, this
                             //   byte and the 7 that follow
    0x04,                    // NumElements: 4
    0x0A, kAcpiS5SleepType,  // BytePrefix 5: SLP_TYPa, what PM1a_CNT.SLP_TYP gets
    0x0A, kAcpiS5SleepType,  // BytePrefix 5: SLP_TYPb (there is no PM1b block)
    0x00,                    // ZeroOp: reserved
    0x00,                    // ZeroOp: reserved
};
static_assert(kAcpiS5SleepType <= 7, "SLP_TYP is a 3-bit field");

// An I/O-space register of `bytes` bytes at `port`.
AcpiGas io_register(uint16_t port, uint8_t bytes, uint8_t access_size) {
  return AcpiGas{kGasSystemIo, static_cast<uint8_t>(bytes * 8), 0, access_size, port};
}

std::vector<uint8_t> build_facs() {
  AcpiFacs facs{};
  std::memcpy(facs.signature, "FACS", sizeof(facs.signature));
  facs.length = sizeof(AcpiFacs);
  facs.version = kAcpiFacsVersion;
  std::vector<uint8_t> t;
  append_struct(t, facs);
  return t;
}

Result<std::vector<uint8_t>> build_dsdt() {
  std::vector<uint8_t> t;
  append_struct(t, make_header("DSDT", kAcpiDsdtRevision));
  t.insert(t.end(), std::begin(kDsdtAml), std::end(kDsdtAml));
  DVMM_TRY(finish_table(t));
  return t;
}

// The FADT: both the 32-bit block addresses and their X_ forms, equal (an
// OS that reads either finds the same registers; ACPICA warns when they
// differ or when an X_ width is not 8 times the legacy length).
Result<std::vector<uint8_t>> build_fadt(uint64_t facs_addr, uint64_t dsdt_addr) {
  AcpiFadt f{};
  f.header = make_header("FACP", kAcpiFadtRevision);
  f.firmware_ctrl = static_cast<uint32_t>(facs_addr);  // the area is below 1 MiB
  f.dsdt = static_cast<uint32_t>(dsdt_addr);
  f.sci_int = kAcpiSciIrq;
  f.pm1a_evt_blk = kAcpiPm1aEventPort;
  f.pm1a_cnt_blk = kAcpiPm1aControlPort;
  f.pm_tmr_blk = kAcpiPmTimerPort;
  f.pm1_evt_len = kAcpiPm1EventLength;
  f.pm1_cnt_len = kAcpiPm1ControlLength;
  f.pm_tmr_len = kAcpiPmTimerLength;
  f.p_lvl2_lat = kFadtNoC2;
  f.p_lvl3_lat = kFadtNoC3;
  f.century = kCmosCenturyIndex;
  f.iapc_boot_arch = kBootArchLegacyDevices | kBootArchVgaNotPresent;
  // A 24-bit PM timer (kFadtTmrValExt clear), as PIIX4 and QEMU have.
  f.flags =
      kFadtWbinvd | kFadtProcC1 | kFadtPwrButton | kFadtSlpButton | kFadtFixRtc | kFadtResetRegSup;
  f.reset_reg = io_register(kAcpiResetPort, 1, kGasAccessByte);
  f.reset_value = kAcpiResetValue;
  f.minor_revision = kAcpiFadtMinorRevision;
  f.x_dsdt = dsdt_addr;
  // PM1 status and enable are 16-bit registers, each half of the event block.
  f.x_pm1a_evt_blk = io_register(kAcpiPm1aEventPort, kAcpiPm1EventLength, kGasAccessWord);
  f.x_pm1a_cnt_blk = io_register(kAcpiPm1aControlPort, kAcpiPm1ControlLength, kGasAccessWord);
  f.x_pm_tmr_blk = io_register(kAcpiPmTimerPort, kAcpiPmTimerLength, kGasAccessDword);
  std::vector<uint8_t> t;
  append_struct(t, f);
  DVMM_TRY(finish_table(t));
  return t;
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
  // Without an override an OS takes the SCI as level-triggered active low
  // (ACPI 5.2.12.5); dvmm's SCI is an ISA line, active high, so say so as
  // QEMU does (the ISA IRQ is not remapped: no override for it). Otherwise
  // Linux would see the idle (low) line as asserted, an interrupt storm.
  const bool sci_overridden =
      std::any_of(p.isa_irq_overrides.begin(), p.isa_irq_overrides.end(),
                  [](const IsaIrqOverride& o) { return o.isa_irq == kAcpiSciIrq; });
  if (!sci_overridden) {
    append_struct(t, MadtInterruptSourceOverride{
                         static_cast<uint8_t>(MadtEntryType::kInterruptSourceOverride),
                         sizeof(MadtInterruptSourceOverride), 0, kAcpiSciIrq, kAcpiSciIrq,
                         kIntiActiveHigh | kIntiLevel});
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

std::span<const uint8_t> dsdt_aml() {
  return kDsdtAml;
}

Status write_acpi_tables(GuestMemory& mem, const PlatformDescription& p) {
  DVMM_TRY(validate_platform(p));
  AreaBuilder area(kAcpiTables, "ACPI tables");
  const uint64_t rsdp_addr = DVMM_TRY(area.reserve(sizeof(AcpiRsdp), 16, "the RSDP"));

  // The FACS and DSDT are reached through the FADT only; the RSDT and XSDT
  // list the FADT (first, by convention) and the MADT.
  const uint64_t facs_addr = DVMM_TRY(area.append(build_facs(), kAcpiFacsAlignment, "the FACS"));
  const std::vector<uint8_t> dsdt = DVMM_TRY(build_dsdt());
  const uint64_t dsdt_addr = DVMM_TRY(area.append(dsdt, 16, "the DSDT"));
  std::vector<uint64_t> listed;
  const std::vector<uint8_t> fadt = DVMM_TRY(build_fadt(facs_addr, dsdt_addr));
  listed.push_back(DVMM_TRY(area.append(fadt, 16, "the FADT")));
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
