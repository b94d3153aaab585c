// ACPI tables, found and checked the way an OS does: scan 0xE0000-0xFFFFF
// for the RSDP on 16-byte boundaries, verify every checksum, follow both
// the RSDT and the XSDT to the FADT and the MADT, follow the FADT to the
// FACS and the DSDT, walk the MADT's entries and decode the DSDT's AML.
#include "host/boot/acpi.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <span>
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
  EXPECT_EQ(rsdt_n, 2u);  // FADT, MADT
  EXPECT_EQ(xsdt_n, 2u);
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

// The address of the table with signature `sig`, listed by both the RSDT
// and the XSDT (at the same address).
std::optional<uint64_t> find_listed_table(const GuestMemory& mem, const char* sig) {
  auto rsdp_addr = find_rsdp(mem);
  if (!rsdp_addr) {
    ADD_FAILURE() << "no RSDP in 0xE0000-0xFFFFF";
    return std::nullopt;
  }
  auto rsdp = mem.read_obj<AcpiRsdp>(GuestAddress{*rsdp_addr}).value();
  auto rsdt = read_table(mem, rsdp.rsdt_address, "RSDT");
  auto xsdt = read_table(mem, rsdp.xsdt_address, "XSDT");
  auto signature_at = [&](uint64_t a) {
    auto h = mem.read_obj<AcpiTableHeader>(GuestAddress{a});
    return h.ok() ? std::string(h->signature, 4) : std::string();
  };
  std::optional<uint64_t> via_rsdt, via_xsdt;
  for (size_t off = sizeof(AcpiTableHeader); off + 4 <= rsdt.size(); off += 4) {
    uint64_t a = from<uint32_t>(rsdt, off);
    if (signature_at(a) == sig) via_rsdt = a;
  }
  for (size_t off = sizeof(AcpiTableHeader); off + 8 <= xsdt.size(); off += 8) {
    uint64_t a = from<uint64_t>(xsdt, off);
    if (signature_at(a) == sig) via_xsdt = a;
  }
  if (!via_rsdt || !via_xsdt) {
    ADD_FAILURE() << sig << " not listed in both the RSDT and the XSDT";
    return std::nullopt;
  }
  EXPECT_EQ(*via_rsdt, *via_xsdt);
  return via_rsdt;
}

AcpiFadt find_fadt(const GuestMemory& mem) {
  auto addr = find_listed_table(mem, "FACP");
  if (!addr) return {};
  auto t = read_table(mem, *addr, "FACP");
  if (t.size() != sizeof(AcpiFadt)) {
    ADD_FAILURE() << "FADT of " << t.size() << " bytes, expected " << sizeof(AcpiFadt);
    return {};
  }
  return from<AcpiFadt>(t, 0);
}

void expect_io_gas(const AcpiGas& g, uint64_t port, uint8_t bits, const char* what) {
  EXPECT_EQ(test::val(g.space_id), kGasSystemIo) << what;
  EXPECT_EQ(test::val(g.bit_width), bits) << what;
  EXPECT_EQ(test::val(g.bit_offset), 0) << what;
  EXPECT_EQ(test::val(g.address), port) << what;
}

void expect_absent_gas(const AcpiGas& g, const char* what) {
  EXPECT_EQ(test::val(g.address), 0u) << what;
  EXPECT_EQ(test::val(g.bit_width), 0) << what;
}

// A small AML reader: enough of ACPI 6.5 chapter 20 to decode what dvmm's
// DSDT may contain (Name, Package, integer constants), so that the
// hand-assembled bytes are checked by decoding rather than by comparison.
class AmlReader {
 public:
  explicit AmlReader(std::span<const uint8_t> aml) : aml_(aml) {}
  bool done() const { return pos_ >= aml_.size(); }
  size_t pos() const { return pos_; }
  uint8_t byte() {
    if (pos_ >= aml_.size()) {
      ADD_FAILURE() << "AML ends early at byte " << pos_;
      return 0;
    }
    return aml_[pos_++];
  }
  // PkgLength (20.2.4): bits 7:6 of the lead byte count the bytes that
  // follow; with followers, bits 3:0 are the low nibble. The length counts
  // the PkgLength bytes themselves. Returns the offset the package ends at.
  size_t pkg_length() {
    const size_t start = pos_;
    const uint8_t lead = byte();
    const unsigned follow = lead >> 6;
    uint32_t len = follow == 0 ? (lead & 0x3Fu) : (lead & 0x0Fu);
    if (follow != 0) {
      EXPECT_EQ(lead & 0x30, 0) << "PkgLength lead byte bits 5:4 must be 0";
    }
    for (unsigned i = 0; i < follow; ++i) len |= static_cast<uint32_t>(byte()) << (4 + 8 * i);
    return start + len;
  }
  std::string name_seg() {
    std::string s;
    for (int i = 0; i < 4; ++i) s += static_cast<char>(byte());
    return s;
  }
  // ComputationalData integers: ZeroOp, OneOp, OnesOp, Byte/Word/DWord/QWordPrefix.
  std::optional<uint64_t> integer() {
    const uint8_t op = byte();
    auto le = [&](int n) {
      uint64_t v = 0;
      for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(byte()) << (8 * i);
      return v;
    };
    switch (op) {
      case 0x00:
        return 0;
      case 0x01:
        return 1;
      case 0xFF:
        return ~uint64_t{0};
      case 0x0A:
        return le(1);
      case 0x0B:
        return le(2);
      case 0x0C:
        return le(4);
      case 0x0E:
        return le(8);
      default:
        ADD_FAILURE() << "AML opcode " << int{op} << " at byte " << pos_ - 1
                      << " is not an integer";
        return std::nullopt;
    }
  }

 private:
  std::span<const uint8_t> aml_;
  size_t pos_ = 0;
};

// Decodes a definition block made only of Name(Seg, Package(){integers...})
// objects: name -> package elements.
std::map<std::string, std::vector<uint64_t>> decode_named_packages(std::span<const uint8_t> aml) {
  std::map<std::string, std::vector<uint64_t>> out;
  AmlReader r(aml);
  while (!r.done()) {
    const uint8_t op = r.byte();
    if (op != 0x08) {
      ADD_FAILURE() << "expected NameOp (0x08), found " << int{op};
      break;
    }
    const std::string name = r.name_seg();
    EXPECT_EQ(r.byte(), 0x12) << name << ": expected PackageOp";
    const size_t end = r.pkg_length();
    EXPECT_LE(end, aml.size()) << name << ": package runs past the definition block";
    const uint8_t count = r.byte();
    std::vector<uint64_t> elements;
    while (r.pos() < end && !r.done()) {
      auto v = r.integer();
      if (!v) return out;
      elements.push_back(*v);
    }
    EXPECT_EQ(r.pos(), end) << name << ": PkgLength does not end at the last element";
    EXPECT_EQ(elements.size(), count) << name << ": NumElements";
    out[name] = elements;
  }
  return out;
}

TEST(Acpi, FadtDescribesPowerManagementHardware) {
  GuestRam ram = test::make_ram(kRam);
  ASSERT_TRUE(write_acpi_tables(ram, PlatformDescription::with_cpus(2)).ok());
  const AcpiFadt f = find_fadt(ram);
  EXPECT_EQ(test::val(f.header.revision), kAcpiFadtRevision);
  EXPECT_GE(test::val(f.header.revision), 2) << "Linux's acpi_reboot needs revision 2 or later";
  EXPECT_EQ(test::val(f.header.length), 276u);
  EXPECT_EQ(test::val(f.minor_revision), kAcpiFadtMinorRevision);
  EXPECT_EQ(test::val(f.sci_int), 9);
  // No SMI command port: always in ACPI mode.
  EXPECT_EQ(test::val(f.smi_cmd), 0u);
  EXPECT_EQ(test::val(f.acpi_enable), 0);
  EXPECT_EQ(test::val(f.acpi_disable), 0);
  // PM1a event/control and the PM timer, in both the 32-bit and X_ forms.
  EXPECT_EQ(test::val(f.pm1a_evt_blk), 0x600u);
  EXPECT_EQ(test::val(f.pm1a_cnt_blk), 0x604u);
  EXPECT_EQ(test::val(f.pm_tmr_blk), 0x608u);
  EXPECT_EQ(test::val(f.pm1_evt_len), 4);
  EXPECT_EQ(test::val(f.pm1_cnt_len), 2);
  EXPECT_EQ(test::val(f.pm_tmr_len), 4);
  expect_io_gas(f.x_pm1a_evt_blk, 0x600, 32, "X_PM1a_EVT_BLK");
  expect_io_gas(f.x_pm1a_cnt_blk, 0x604, 16, "X_PM1a_CNT_BLK");
  expect_io_gas(f.x_pm_tmr_blk, 0x608, 32, "X_PM_TMR_BLK");
  // Nothing else: no PM1b, PM2, GPE blocks, no sleep registers.
  EXPECT_EQ(test::val(f.pm1b_evt_blk), 0u);
  EXPECT_EQ(test::val(f.pm1b_cnt_blk), 0u);
  EXPECT_EQ(test::val(f.pm2_cnt_blk), 0u);
  EXPECT_EQ(test::val(f.gpe0_blk), 0u);
  EXPECT_EQ(test::val(f.gpe1_blk), 0u);
  EXPECT_EQ(test::val(f.gpe0_blk_len), 0);
  expect_absent_gas(f.x_pm1b_evt_blk, "X_PM1b_EVT_BLK");
  expect_absent_gas(f.x_pm1b_cnt_blk, "X_PM1b_CNT_BLK");
  expect_absent_gas(f.x_pm2_cnt_blk, "X_PM2_CNT_BLK");
  expect_absent_gas(f.x_gpe0_blk, "X_GPE0_BLK");
  expect_absent_gas(f.x_gpe1_blk, "X_GPE1_BLK");
  expect_absent_gas(f.sleep_control_reg, "SLEEP_CONTROL_REG");
  expect_absent_gas(f.sleep_status_reg, "SLEEP_STATUS_REG");
  // Reset through port 0xCF9, value 6.
  const uint32_t flags = f.flags;
  EXPECT_NE(flags & kFadtResetRegSup, 0u);
  expect_io_gas(f.reset_reg, 0xCF9, 8, "RESET_REG");
  EXPECT_EQ(test::val(f.reset_value), 0x06);
  EXPECT_EQ(flags & kFadtHwReducedAcpi, 0u);
  EXPECT_EQ(flags & kFadtTmrValExt, 0u) << "the PM timer is 24 bits";
  EXPECT_NE(flags & kFadtPwrButton, 0u) << "no fixed-feature power button";
  EXPECT_NE(flags & kFadtWbinvd, 0u);
  // No 8042 (Linux then leaves ports 0x60/0x64 alone), no VGA, ISA devices.
  const uint16_t boot_arch = f.iapc_boot_arch;
  EXPECT_EQ(boot_arch & kBootArch8042, 0);
  EXPECT_NE(boot_arch & kBootArchLegacyDevices, 0);
  EXPECT_EQ(test::val(f.century), 0x32);
  EXPECT_GT(test::val(f.p_lvl2_lat), 100) << "C2 must read as unsupported";
  EXPECT_GT(test::val(f.p_lvl3_lat), 1000) << "C3 must read as unsupported";
  // DSDT in both forms, FACS in the 32-bit one only (it is below 4 GiB).
  EXPECT_NE(test::val(f.dsdt), 0u);
  EXPECT_EQ(test::val(f.x_dsdt), uint64_t{f.dsdt});
  EXPECT_NE(test::val(f.firmware_ctrl), 0u);
  EXPECT_EQ(test::val(f.x_firmware_ctrl), 0u);
}

TEST(Acpi, FacsIsAlignedAndWellFormed) {
  GuestRam ram = test::make_ram(kRam);
  ASSERT_TRUE(write_acpi_tables(ram, PlatformDescription::with_cpus(1)).ok());
  const uint64_t addr = find_fadt(ram).firmware_ctrl;
  EXPECT_EQ(addr % 64, 0u);
  EXPECT_TRUE(kAcpiTables.contains(addr) && addr + sizeof(AcpiFacs) <= kAcpiTables.end);
  auto facs = ram.read_obj<AcpiFacs>(GuestAddress{addr});
  ASSERT_TRUE(facs.ok());
  EXPECT_EQ(std::string(facs->signature, 4), "FACS");
  EXPECT_EQ(test::val(facs->length), 64u);
  EXPECT_EQ(test::val(facs->version), kAcpiFacsVersion);
  EXPECT_EQ(test::val(facs->firmware_waking_vector), 0u);
  EXPECT_EQ(test::val(facs->global_lock), 0u);
}

TEST(Acpi, DsdtDefinesS5) {
  GuestRam ram = test::make_ram(kRam);
  ASSERT_TRUE(write_acpi_tables(ram, PlatformDescription::with_cpus(4)).ok());
  const uint64_t addr = find_fadt(ram).x_dsdt;
  auto dsdt = read_table(ram, addr, "DSDT");
  ASSERT_GT(dsdt.size(), sizeof(AcpiTableHeader));
  EXPECT_EQ(from<AcpiTableHeader>(dsdt, 0).revision, kAcpiDsdtRevision);
  const std::span<const uint8_t> aml(dsdt.data() + sizeof(AcpiTableHeader),
                                     dsdt.size() - sizeof(AcpiTableHeader));
  EXPECT_TRUE(std::equal(aml.begin(), aml.end(), dsdt_aml().begin(), dsdt_aml().end()));
  auto names = decode_named_packages(aml);
  ASSERT_EQ(names.count("_S5_"), 1u);
  // SLP_TYPa, SLP_TYPb, two reserved: what acpi_pm's PM1a_CNT acts on.
  EXPECT_EQ(names["_S5_"], (std::vector<uint64_t>{kAcpiS5SleepType, kAcpiS5SleepType, 0, 0}));
  EXPECT_EQ(kAcpiS5SleepType, 5);
  EXPECT_EQ(names.size(), 1u);
}

TEST(Acpi, AmlReaderDecodesMultiBytePkgLength) {
  // The reader itself, on a package long enough for a two-byte PkgLength:
  // Name(_XYZ, Package(){ 70 x BytePrefix 1 }) = 2 + 1 + 140 bytes after PackageOp.
  std::vector<uint8_t> aml = {0x08, '_', 'X', 'Y', 'Z', 0x12};
  const uint32_t len = 2 + 1 + 140;
  aml.push_back(static_cast<uint8_t>(0x40 | (len & 0x0F)));
  aml.push_back(static_cast<uint8_t>(len >> 4));
  aml.push_back(70);
  for (int i = 0; i < 70; ++i) {
    aml.push_back(0x0A);
    aml.push_back(1);
  }
  auto names = decode_named_packages(aml);
  ASSERT_EQ(names.count("_XYZ"), 1u);
  EXPECT_EQ(names["_XYZ"].size(), 70u);
}

TEST(Acpi, PlatformOverrideOfTheSciIrqIsNotDuplicated) {
  GuestRam ram = test::make_ram(kRam);
  PlatformDescription p = PlatformDescription::with_cpus(2);
  p.isa_irq_overrides.push_back({9, 20, kIntiActiveLow | kIntiLevel});
  ASSERT_TRUE(write_acpi_tables(ram, p).ok());
  ParsedMadt m = find_madt(ram);
  ASSERT_EQ(m.overrides.size(), 2u);
  EXPECT_EQ(test::val(m.overrides[1].source), 9);
  EXPECT_EQ(test::val(m.overrides[1].gsi), 20u);
  EXPECT_EQ(test::val(m.overrides[1].flags), kIntiActiveLow | kIntiLevel);
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
  ASSERT_EQ(m.overrides.size(), 2u);
  EXPECT_EQ(test::val(m.overrides[0].bus), 0);
  EXPECT_EQ(test::val(m.overrides[0].source), 0);
  EXPECT_EQ(test::val(m.overrides[0].gsi), 2u);
  EXPECT_EQ(test::val(m.overrides[0].flags), 0);
  // The SCI: ISA IRQ 9, level-triggered, active high.
  EXPECT_EQ(test::val(m.overrides[1].bus), 0);
  EXPECT_EQ(test::val(m.overrides[1].source), kAcpiSciIrq);
  EXPECT_EQ(test::val(m.overrides[1].gsi), 9u);
  EXPECT_EQ(test::val(m.overrides[1].flags), kIntiActiveHigh | kIntiLevel);
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
