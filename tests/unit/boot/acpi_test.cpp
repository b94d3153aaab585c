// ACPI tables, found and checked the way an OS does: scan 0xE0000-0xFFFFF
// for the RSDP on 16-byte boundaries, verify every checksum, follow both
// the RSDT and the XSDT to the MADT and walk its entries.
#include "host/boot/acpi.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "host/boot/checksum.hpp"
#include "host/boot/layout.hpp"
#include "host/boot/mptable.hpp"
#include "tests/unit/boot/test_images.hpp"

namespace dvmm::boot {
namespace {

constexpr uint64_t kRam = 4 * MiB;

struct ParsedMadt {
  uint64_t address = 0;
  AcpiMadt fixed{};
  std::vector<MadtLocalApic> lapics;
  std::vector<MadtLocalX2Apic> x2apics;
  std::vector<MadtIoApic> ioapics;
  std::vector<MadtInterruptSourceOverride> overrides;
  std::vector<MadtLocalApicNmi> nmis;
  std::vector<MadtLocalX2ApicNmi> x2nmis;
};

template <typename T>
T from(const std::vector<uint8_t>& bytes, size_t off) {
  T v;
  std::memcpy(&v, bytes.data() + off, sizeof(T));
  return v;
}

std::optional<uint64_t> find_rsdp(const GuestMemory& mem) {
  for (uint64_t a = kFirmwareTables.start; a < kFirmwareTables.end; a += 16) {
    auto bytes = test::read_bytes(mem, a, 20);
    if (std::memcmp(bytes.data(), "RSD PTR ", 8) == 0 && byte_sum(bytes) == 0) return a;
  }
  return std::nullopt;
}

// Reads a table, checking its length bounds and its checksum.
std::vector<uint8_t> read_table(const GuestMemory& mem, uint64_t addr, const char* sig) {
  auto hdr = mem.read_obj<AcpiTableHeader>(GuestAddress{addr});
  EXPECT_TRUE(hdr.ok());
  if (!hdr.ok()) return {};
  EXPECT_EQ(std::string(hdr->signature, 4), sig);
  EXPECT_GE(test::val(hdr->length), sizeof(AcpiTableHeader));
  EXPECT_TRUE(kAcpiTables.contains(addr) && addr + hdr->length <= kAcpiTables.end)
      << sig << " outside the ACPI area";
  auto bytes = test::read_bytes(mem, addr, hdr->length);
  EXPECT_EQ(byte_sum(bytes), 0) << sig << " checksum";
  EXPECT_EQ(std::string(hdr->oem_id, 6), "DVMM  ");
  return bytes;
}

ParsedMadt parse_madt(const GuestMemory& mem, uint64_t addr) {
  ParsedMadt m;
  m.address = addr;
  auto t = read_table(mem, addr, "APIC");
  if (t.size() < sizeof(AcpiMadt)) {
    ADD_FAILURE() << "MADT too short";
    return m;
  }
  m.fixed = from<AcpiMadt>(t, 0);
  for (size_t off = sizeof(AcpiMadt); off < t.size();) {
    EXPECT_LE(off + 2, t.size());
    const uint8_t type = t[off], len = t[off + 1];
    EXPECT_GE(len, 2);
    EXPECT_LE(off + len, t.size());
    if (len < 2 || off + len > t.size()) break;
    switch (static_cast<MadtEntryType>(type)) {
      case MadtEntryType::kLocalApic:
        EXPECT_EQ(len, sizeof(MadtLocalApic));
        m.lapics.push_back(from<MadtLocalApic>(t, off));
        break;
      case MadtEntryType::kLocalX2Apic:
        EXPECT_EQ(len, sizeof(MadtLocalX2Apic));
        m.x2apics.push_back(from<MadtLocalX2Apic>(t, off));
        break;
      case MadtEntryType::kIoApic:
        EXPECT_EQ(len, sizeof(MadtIoApic));
        m.ioapics.push_back(from<MadtIoApic>(t, off));
        break;
      case MadtEntryType::kInterruptSourceOverride:
        EXPECT_EQ(len, sizeof(MadtInterruptSourceOverride));
        m.overrides.push_back(from<MadtInterruptSourceOverride>(t, off));
        break;
      case MadtEntryType::kLocalApicNmi:
        EXPECT_EQ(len, sizeof(MadtLocalApicNmi));
        m.nmis.push_back(from<MadtLocalApicNmi>(t, off));
        break;
      case MadtEntryType::kLocalX2ApicNmi:
        EXPECT_EQ(len, sizeof(MadtLocalX2ApicNmi));
        m.x2nmis.push_back(from<MadtLocalX2ApicNmi>(t, off));
        break;
      default:
        ADD_FAILURE() << "unexpected MADT entry type " << int{type};
    }
    off += len;
  }
  return m;
}

// Finds the RSDP, checks it, and returns the MADT reached through the RSDT
// after checking that the XSDT leads to the same one.
ParsedMadt find_madt(const GuestMemory& mem) {
  auto rsdp_addr = find_rsdp(mem);
  if (!rsdp_addr) {
    ADD_FAILURE() << "no RSDP in 0xE0000-0xFFFFF";
    return {};
  }
  EXPECT_EQ(*rsdp_addr % 16, 0u);
  auto rsdp = mem.read_obj<AcpiRsdp>(GuestAddress{*rsdp_addr}).value();
  EXPECT_EQ(test::val(rsdp.revision), 2);
  EXPECT_EQ(test::val(rsdp.length), 36u);
  EXPECT_EQ(byte_sum(test::read_bytes(mem, *rsdp_addr, rsdp.length)), 0) << "extended checksum";

  auto rsdt = read_table(mem, rsdp.rsdt_address, "RSDT");
  auto xsdt = read_table(mem, rsdp.xsdt_address, "XSDT");
  const size_t rsdt_n = (rsdt.size() - sizeof(AcpiTableHeader)) / 4;
  const size_t xsdt_n = (xsdt.size() - sizeof(AcpiTableHeader)) / 8;
  EXPECT_EQ(rsdt_n, 1u);
  EXPECT_EQ(xsdt_n, 1u);
  auto signature_at = [&](uint64_t a) {
    auto h = mem.read_obj<AcpiTableHeader>(GuestAddress{a});
    return h.ok() ? std::string(h->signature, 4) : std::string();
  };
  std::optional<uint64_t> via_rsdt, via_xsdt;
  for (size_t i = 0; i < rsdt_n; ++i) {
    uint64_t a = from<uint32_t>(rsdt, sizeof(AcpiTableHeader) + 4 * i);
    if (signature_at(a) == "APIC") via_rsdt = a;
  }
  for (size_t i = 0; i < xsdt_n; ++i) {
    uint64_t a = from<uint64_t>(xsdt, sizeof(AcpiTableHeader) + 8 * i);
    if (signature_at(a) == "APIC") via_xsdt = a;
  }
  if (!via_rsdt || !via_xsdt) {
    ADD_FAILURE() << "MADT not listed in RSDT and XSDT";
    return {};
  }
  EXPECT_EQ(*via_rsdt, *via_xsdt);
  return parse_madt(mem, *via_rsdt);
}

TEST(Acpi, FourCpus) {
  GuestRam ram = test::make_ram(kRam);
  PlatformDescription p = PlatformDescription::with_cpus(4);
  ASSERT_TRUE(write_acpi_tables(ram, p).ok());
  ParsedMadt m = find_madt(ram);
  EXPECT_EQ(test::val(m.fixed.header.revision), kAcpiMadtRevision);
  EXPECT_EQ(test::val(m.fixed.lapic_address), 0xFEE00000u);
  EXPECT_EQ(test::val(m.fixed.flags), kMadtPcatCompat);
  ASSERT_EQ(m.lapics.size(), 4u);
  for (uint8_t i = 0; i < 4; ++i) {
    EXPECT_EQ(test::val(m.lapics[i].apic_id), i);
    EXPECT_EQ(test::val(m.lapics[i].processor_uid), i);
    EXPECT_EQ(test::val(m.lapics[i].flags), kMadtCpuEnabled);
  }
  EXPECT_TRUE(m.x2apics.empty());
  EXPECT_TRUE(m.x2nmis.empty());
  ASSERT_EQ(m.ioapics.size(), 1u);
  EXPECT_EQ(test::val(m.ioapics[0].ioapic_id), 4);
  EXPECT_EQ(test::val(m.ioapics[0].address), 0xFEC00000u);
  EXPECT_EQ(test::val(m.ioapics[0].gsi_base), 0u);
  ASSERT_EQ(m.overrides.size(), 1u);
  EXPECT_EQ(test::val(m.overrides[0].bus), 0);
  EXPECT_EQ(test::val(m.overrides[0].source), 0);
  EXPECT_EQ(test::val(m.overrides[0].gsi), 2u);
  EXPECT_EQ(test::val(m.overrides[0].flags), 0);
  ASSERT_EQ(m.nmis.size(), 1u);
  EXPECT_EQ(test::val(m.nmis[0].processor_uid), 0xFF);
  EXPECT_EQ(test::val(m.nmis[0].lint), 1);
}

TEST(Acpi, LargeApicIdsUseX2ApicEntries) {
  GuestRam ram = test::make_ram(kRam);
  PlatformDescription p;
  p.apic_ids = {0, 1, 254, 255, 300, 4096};
  p.ioapic_id = 2;
  ASSERT_TRUE(write_acpi_tables(ram, p).ok());
  ParsedMadt m = find_madt(ram);
  ASSERT_EQ(m.lapics.size(), 3u);
  EXPECT_EQ(test::val(m.lapics[2].apic_id), 254);
  EXPECT_EQ(test::val(m.lapics[2].processor_uid), 2);
  ASSERT_EQ(m.x2apics.size(), 3u);
  EXPECT_EQ(test::val(m.x2apics[0].x2apic_id), 255u);
  EXPECT_EQ(test::val(m.x2apics[0].processor_uid), 3u);
  EXPECT_EQ(test::val(m.x2apics[2].x2apic_id), 4096u);
  EXPECT_EQ(test::val(m.x2apics[2].flags), kMadtCpuEnabled);
  ASSERT_EQ(m.x2nmis.size(), 1u);
  EXPECT_EQ(test::val(m.x2nmis[0].processor_uid), kMadtAllX2Processors);
  EXPECT_EQ(test::val(m.x2nmis[0].lint), 1);
}

TEST(Acpi, ManyCpusAndAreaLimit) {
  GuestRam ram = test::make_ram(kRam);
  auto p = PlatformDescription::with_cpus(1000);
  ASSERT_TRUE(write_acpi_tables(ram, p).ok());
  ParsedMadt m = find_madt(ram);
  EXPECT_EQ(m.lapics.size() + m.x2apics.size(), 1000u);
  EXPECT_EQ(m.lapics.size(), 255u);

  auto r = write_acpi_tables(ram, PlatformDescription::with_cpus(5000));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("ACPI tables area [0xe0000, 0xf0000) is full"),
            std::string::npos)
      << r.error().message;
}

TEST(Acpi, CustomOverridesAndAddresses) {
  GuestRam ram = test::make_ram(kRam);
  PlatformDescription p = PlatformDescription::with_cpus(2);
  p.ioapic_address = 0xFEC01000;
  p.lapic_address = 0xFEE10000;
  p.isa_irq_overrides.push_back({9, 9, kIntiActiveHigh | kIntiLevel});
  ASSERT_TRUE(write_acpi_tables(ram, p).ok());
  ParsedMadt m = find_madt(ram);
  EXPECT_EQ(test::val(m.fixed.lapic_address), 0xFEE10000u);
  EXPECT_EQ(test::val(m.ioapics.at(0).address), 0xFEC01000u);
  ASSERT_EQ(m.overrides.size(), 2u);
  EXPECT_EQ(test::val(m.overrides[1].source), 9);
  EXPECT_EQ(test::val(m.overrides[1].flags), 0xD);
}

TEST(Acpi, AcpiAndMpTablesCoexist) {
  GuestRam ram = test::make_ram(kRam);
  test::RecordingMemory mem(ram);
  auto p = PlatformDescription::with_cpus(8);
  ASSERT_TRUE(write_mp_table(mem, p).ok());
  ASSERT_TRUE(write_acpi_tables(mem, p).ok());
  for (auto [start, end] : mem.writes) {
    EXPECT_TRUE(start >= kFirmwareTables.start && end <= kFirmwareTables.end)
        << std::hex << start << "-" << end;
  }
  // The RSDP is still where an OS looks first, and the MADT still checks out
  // after the MP table was written (and the other way round in mptable_test).
  EXPECT_EQ(find_rsdp(ram), kAcpiTables.start);
  EXPECT_EQ(find_madt(ram).lapics.size(), 8u);
}

TEST(Acpi, RejectsBadPlatforms) {
  GuestRam ram = test::make_ram(kRam);
  struct Case {
    PlatformDescription p;
    const char* expect;
  };
  std::vector<Case> cases;
  cases.push_back({PlatformDescription{}, "no CPUs"});
  {
    auto p = PlatformDescription::with_cpus(2);
    p.apic_ids[1] = 0;
    cases.push_back({p, "APIC ID 0 is given to more than one CPU"});
  }
  {
    auto p = PlatformDescription::with_cpus(2);
    p.ioapic_id = 300;
    cases.push_back({p, "IOAPIC ID 300"});
  }
  {
    auto p = PlatformDescription::with_cpus(2);
    p.lapic_address = 0x1'0000'0000;
    cases.push_back({p, "local APIC address 0x100000000"});
  }
  {
    auto p = PlatformDescription::with_cpus(2);
    p.isa_irq_overrides.push_back({4, 30, 0});
    cases.push_back({p, "ISA IRQ 4 -> GSI 30"});
  }
  {
    auto p = PlatformDescription::with_cpus(2);
    p.isa_irq_overrides.push_back({0, 5, 0});
    cases.push_back({p, "ISA IRQ 0 has more than one interrupt override"});
  }
  {
    auto p = PlatformDescription::with_cpus(2);
    p.isa_irq_overrides.push_back({16, 5, 0});
    cases.push_back({p, "ISA IRQs are 0-15"});
  }
  {
    auto p = PlatformDescription::with_cpus(2);
    p.isa_irq_overrides.push_back({3, 5, 0x2});
    cases.push_back({p, "invalid flags 0x2"});
  }
  for (const Case& c : cases) {
    auto r = write_acpi_tables(ram, c.p);
    ASSERT_FALSE(r.ok()) << c.expect;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }
}

TEST(Acpi, RamTooSmall) {
  GuestRam ram = test::make_ram(512 * KiB);
  auto r = write_acpi_tables(ram, PlatformDescription::with_cpus(1));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too small to hold the ACPI tables"), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace dvmm::boot
