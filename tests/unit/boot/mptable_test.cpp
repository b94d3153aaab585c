// MP tables, found and checked the way an OS does: scan 0xF0000-0xFFFFF
// for "_MP_" on 16-byte boundaries, verify both checksums, walk the
// configuration table's entries.
#include "host/boot/mptable.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "host/boot/acpi.hpp"
#include "host/boot/checksum.hpp"
#include "host/boot/layout.hpp"
#include "tests/unit/boot/test_images.hpp"

namespace dvmm::boot {
namespace {

constexpr uint64_t kRam = 4 * MiB;

struct ParsedMp {
  bool found = false;
  MpFloatingPointer fp{};
  MpConfigHeader header{};
  std::vector<MpProcessorEntry> cpus;
  std::vector<MpBusEntry> buses;
  std::vector<MpIoapicEntry> ioapics;
  std::vector<MpInterruptEntry> io_ints;
  std::vector<MpInterruptEntry> local_ints;
};

template <typename T>
T from(const std::vector<uint8_t>& bytes, size_t off) {
  T v;
  std::memcpy(&v, bytes.data() + off, sizeof(T));
  return v;
}

ParsedMp find_mp(const GuestMemory& mem) {
  ParsedMp mp;
  std::optional<uint64_t> fp_addr;
  for (uint64_t a = 0xF0000; a < 0x100000; a += 16) {
    auto b = test::read_bytes(mem, a, 16);
    if (std::memcmp(b.data(), "_MP_", 4) == 0 && byte_sum(b) == 0) {
      fp_addr = a;
      break;
    }
  }
  if (!fp_addr) {
    ADD_FAILURE() << "no MP floating pointer in 0xF0000-0xFFFFF";
    return mp;
  }
  mp.fp = mem.read_obj<MpFloatingPointer>(GuestAddress{*fp_addr}).value();
  EXPECT_EQ(test::val(mp.fp.length), 1);
  EXPECT_EQ(test::val(mp.fp.spec_rev), 4);
  EXPECT_EQ(test::val(mp.fp.features[0]), 0) << "a configuration table must be present";

  mp.header = mem.read_obj<MpConfigHeader>(GuestAddress{mp.fp.config_table}).value();
  EXPECT_EQ(std::string(mp.header.signature, 4), "PCMP");
  EXPECT_EQ(test::val(mp.header.spec_rev), 4);
  EXPECT_EQ(std::string(mp.header.oem_id, 8), "DVMM    ");
  EXPECT_EQ(test::val(mp.header.ext_length), 0);
  EXPECT_GE(test::val(mp.fp.config_table), kMpTables.start);
  EXPECT_LE(mp.fp.config_table + mp.header.base_length, kMpTables.end);
  auto t = test::read_bytes(mem, mp.fp.config_table, mp.header.base_length);
  EXPECT_EQ(byte_sum(t), 0) << "PCMP checksum";

  size_t off = sizeof(MpConfigHeader);
  for (uint16_t i = 0; i < mp.header.entry_count; ++i) {
    if (off >= t.size()) {
      ADD_FAILURE() << "entry " << i << " past base_length";
      return mp;
    }
    switch (static_cast<MpEntryType>(t[off])) {
      case MpEntryType::kProcessor:
        mp.cpus.push_back(from<MpProcessorEntry>(t, off));
        off += sizeof(MpProcessorEntry);
        break;
      case MpEntryType::kBus:
        mp.buses.push_back(from<MpBusEntry>(t, off));
        off += 8;
        break;
      case MpEntryType::kIoapic:
        mp.ioapics.push_back(from<MpIoapicEntry>(t, off));
        off += 8;
        break;
      case MpEntryType::kIoInterrupt:
        mp.io_ints.push_back(from<MpInterruptEntry>(t, off));
        off += 8;
        break;
      case MpEntryType::kLocalInterrupt:
        mp.local_ints.push_back(from<MpInterruptEntry>(t, off));
        off += 8;
        break;
      default:
        ADD_FAILURE() << "unknown MP entry type " << int{t[off]};
        return mp;
    }
  }
  EXPECT_EQ(off, t.size()) << "entries must fill base_length exactly";
  mp.found = true;
  return mp;
}

TEST(MpTable, FourCpus) {
  GuestRam ram = test::make_ram(kRam);
  ASSERT_TRUE(write_mp_table(ram, PlatformDescription::with_cpus(4)).ok());
  ParsedMp mp = find_mp(ram);
  ASSERT_TRUE(mp.found);
  EXPECT_EQ(test::val(mp.header.lapic_address), 0xFEE00000u);

  ASSERT_EQ(mp.cpus.size(), 4u);
  for (uint8_t i = 0; i < 4; ++i) {
    EXPECT_EQ(test::val(mp.cpus[i].lapic_id), i);
    EXPECT_EQ(test::val(mp.cpus[i].cpu_flags),
              i == 0 ? kMpCpuEnabled | kMpCpuBootstrap : kMpCpuEnabled);
    EXPECT_EQ(test::val(mp.cpus[i].lapic_version), kMpLapicVersion);
    EXPECT_EQ((mp.cpus[i].cpu_signature >> 8) & 0xF, 6u);  // family
    EXPECT_NE(mp.cpus[i].feature_flags & (1u << 9), 0u);   // APIC
  }

  ASSERT_EQ(mp.buses.size(), 1u);
  EXPECT_EQ(test::val(mp.buses[0].bus_id), 0);
  EXPECT_EQ(std::string(mp.buses[0].bus_type, 6), "ISA   ");

  ASSERT_EQ(mp.ioapics.size(), 1u);
  EXPECT_EQ(test::val(mp.ioapics[0].id), 4);
  EXPECT_EQ(test::val(mp.ioapics[0].version), 0x11);
  EXPECT_EQ(test::val(mp.ioapics[0].flags), kMpIoapicEnabled);
  EXPECT_EQ(test::val(mp.ioapics[0].address), 0xFEC00000u);

  // ISA IRQs 0-15 minus IRQ 2; IRQ0 on pin 2, the rest identity.
  ASSERT_EQ(mp.io_ints.size(), 15u);
  for (const MpInterruptEntry& e : mp.io_ints) {
    EXPECT_EQ(test::val(e.interrupt_type), static_cast<uint8_t>(MpInterruptType::kInt));
    EXPECT_EQ(test::val(e.source_bus), 0);
    EXPECT_EQ(test::val(e.dest_apic), 4);
    EXPECT_EQ(test::val(e.flags), 0);
    EXPECT_NE(test::val(e.source_irq), 2);
    EXPECT_LT(test::val(e.source_irq), 16);
    EXPECT_EQ(test::val(e.dest_pin), e.source_irq == 0 ? 2 : e.source_irq);
  }

  ASSERT_EQ(mp.local_ints.size(), 2u);
  EXPECT_EQ(test::val(mp.local_ints[0].interrupt_type),
            static_cast<uint8_t>(MpInterruptType::kExtInt));
  EXPECT_EQ(test::val(mp.local_ints[0].dest_apic), 0xFF);
  EXPECT_EQ(test::val(mp.local_ints[0].dest_pin), 0);
  EXPECT_EQ(test::val(mp.local_ints[1].interrupt_type),
            static_cast<uint8_t>(MpInterruptType::kNmi));
  EXPECT_EQ(test::val(mp.local_ints[1].dest_apic), 0xFF);
  EXPECT_EQ(test::val(mp.local_ints[1].dest_pin), 1);
}

TEST(MpTable, MaximumCpus) {
  GuestRam ram = test::make_ram(kRam);
  auto p = PlatformDescription::with_cpus(255);
  ASSERT_TRUE(write_mp_table(ram, p).ok());
  ParsedMp mp = find_mp(ram);
  ASSERT_TRUE(mp.found);
  ASSERT_EQ(mp.cpus.size(), 255u);
  EXPECT_EQ(test::val(mp.cpus[254].lapic_id), 254);
  EXPECT_EQ(test::val(mp.ioapics.at(0).id), 255);

  auto r = write_mp_table(ram, PlatformDescription::with_cpus(256));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("at most 255 CPUs"), std::string::npos) << r.error().message;
}

TEST(MpTable, RejectsWhatTheFormatCannotHold) {
  GuestRam ram = test::make_ram(kRam);
  PlatformDescription p;
  p.apic_ids = {0, 255};
  p.ioapic_id = 2;
  auto r = write_mp_table(ram, p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("CPU 1 has APIC ID 255"), std::string::npos)
      << r.error().message;

  p = PlatformDescription::with_cpus(2);
  p.ioapic_id = 1;
  r = write_mp_table(ram, p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("IOAPIC ID 1 is also a CPU's APIC ID"), std::string::npos)
      << r.error().message;
  // ACPI has no such restriction.
  EXPECT_TRUE(write_acpi_tables(ram, p).ok());

  r = write_mp_table(ram, PlatformDescription{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no CPUs"), std::string::npos);
}

TEST(MpTable, NonDefaultOverridesAndApicIds) {
  GuestRam ram = test::make_ram(kRam);
  PlatformDescription p;
  p.apic_ids = {6, 2, 4};
  p.ioapic_id = 8;
  p.isa_irq_overrides = {};  // everything identity: all 16 IRQs listed
  ASSERT_TRUE(write_mp_table(ram, p).ok());
  ParsedMp mp = find_mp(ram);
  ASSERT_TRUE(mp.found);
  ASSERT_EQ(mp.cpus.size(), 3u);
  EXPECT_EQ(test::val(mp.cpus[0].lapic_id), 6);
  EXPECT_NE(mp.cpus[0].cpu_flags & kMpCpuBootstrap, 0);
  EXPECT_EQ(mp.cpus[1].cpu_flags & kMpCpuBootstrap, 0);
  ASSERT_EQ(mp.io_ints.size(), 16u);
  for (const MpInterruptEntry& e : mp.io_ints) EXPECT_EQ(test::val(e.dest_pin), e.source_irq);

  p.isa_irq_overrides = {{0, 2, 0}, {9, 20, kIntiActiveLow | kIntiLevel}};
  ASSERT_TRUE(write_mp_table(ram, p).ok());
  mp = find_mp(ram);
  ASSERT_EQ(mp.io_ints.size(), 15u);
  bool saw9 = false;
  for (const MpInterruptEntry& e : mp.io_ints) {
    if (e.source_irq == 9) {
      saw9 = true;
      EXPECT_EQ(test::val(e.dest_pin), 20);
      EXPECT_EQ(test::val(e.flags), 0xF);
    }
  }
  EXPECT_TRUE(saw9);
}

TEST(MpTable, SurvivesAcpiTablesWrittenAfterIt) {
  GuestRam ram = test::make_ram(kRam);
  auto p = PlatformDescription::with_cpus(16);
  ASSERT_TRUE(write_acpi_tables(ram, p).ok());
  ASSERT_TRUE(write_mp_table(ram, p).ok());
  ASSERT_TRUE(write_acpi_tables(ram, p).ok());
  ParsedMp mp = find_mp(ram);
  ASSERT_TRUE(mp.found);
  EXPECT_EQ(mp.cpus.size(), 16u);
  // The floating pointer sits at the start of its sub-range.
  auto fp = test::read_bytes(ram, kMpTables.start, 4);
  EXPECT_EQ(std::string(fp.begin(), fp.end()), "_MP_");
}

}  // namespace
}  // namespace dvmm::boot
