// ACPI tables: where the guest finds its CPUs, local APICs and the IOAPIC,
// and the fixed-hardware power management it may use to power off and
// reset. (ACPI spec 6.5: 5.2.5 RSDP, 5.2.6 table header, 5.2.7 RSDT, 5.2.8
// XSDT, 5.2.9 FADT, 5.2.10 FACS, 5.2.11.1 DSDT, 5.2.12 MADT, 4.8 fixed
// hardware registers, 7.4.2 \_Sx objects, 20 AML encoding.)
//
// Layout, inside layout.hpp's kAcpiTables range (16-byte aligned unless
// said otherwise):
//   0xE0000  RSDP "RSD PTR " revision 2 (36 bytes): RSDT and XSDT addresses;
//            an OS finds it by scanning 0xE0000-0xFFFFF on 16-byte boundaries
//            FACS "FACS" version 2 (64 bytes, 64-byte aligned): no waking
//              vector, no global lock owner: it exists because ACPI requires
//              one unless HW_REDUCED_ACPI (and ACPICA looks for it)
//            DSDT "DSDT" revision 2: the AML of dsdt_aml() below
//            FADT "FACP" revision 6 (ACPI 6.0+ layout, 276 bytes): the
//              fixed power-management hardware of the table below, and the
//              FACS and DSDT addresses
//            MADT "APIC" revision 3:
//              local APIC address, flags PCAT_COMPAT (dual 8259s present)
//              type 0 Processor Local APIC per CPU with APIC ID <= 254
//                   (UID = CPU index, enabled)
//              type 9 Processor Local x2APIC per other CPU (APIC ID >= 255)
//              type 1 I/O APIC (GSI base 0)
//              type 2 Interrupt Source Override per ISA IRQ override (IRQ0 ->
//                   GSI 2), and one for the SCI (IRQ 9, level, active high)
//                   unless the platform already overrides IRQ 9
//              type 4 Local APIC NMI: all processors, LINT1
//                   (and type 0xA Local x2APIC NMI when there are x2APIC CPUs)
//            RSDT "RSDT" (32-bit pointers) and XSDT "XSDT" (64-bit), each
//            listing the FADT and the MADT (the DSDT and FACS are reached
//            through the FADT)
// Every table's checksum makes its bytes sum to 0 (the FACS has none); the
// RSDP has both the 20-byte (ACPI 1.0) checksum and the extended checksum
// over all 36 bytes.
//
// Power management hardware the FADT describes (the devices are
// host/devices/acpi_pm.hpp and host/devices/reset_ports.hpp; the I/O home
// registers them at these ports):
//   I/O 0x600-0x603  PM1a_EVT_BLK: PM1 status (0x600) and enable (0x602)
//   I/O 0x604-0x605  PM1a_CNT_BLK: PM1 control (SLP_TYP, SLP_EN, SCI_EN)
//   I/O 0x608-0x60B  PM_TMR_BLK: 24-bit ACPI PM timer, 3.579545 MHz
//   I/O 0xCF9        RESET_REG: write 0x06 resets (RESET_REG_SUP set)
//   SCI              ISA IRQ 9 (the PIIX4 choice, as QEMU)
//   SMI_CMD = 0      no SMI port: the hardware is always in ACPI mode, so
//                    PM1 control's SCI_EN reads 1
// The block at 0x600 is where QEMU's PIIX4 PM puts it; nothing else in dvmm
// uses ports 0x600-0x60F. There is no GPE block, no PM2 control, no
// PM1b: Linux accepts zero for each.
//
// Why these values are what Linux 6.1 needs: it powers off through
// acpi_enter_sleep_state(S5), which takes SLP_TYP from \_S5 and writes
// SLP_TYP | SLP_EN to PM1a_CNT; it resets through acpi_reboot(), which
// needs FADT revision >= 2, RESET_REG_SUP and a RESET_REG in I/O space. It
// finds the PM timer through X_PM_TMR_BLK (revision >= 2, SystemIO). An
// IAPC_BOOT_ARCH without the 8042 bit tells it there is no keyboard
// controller, so it does not probe ports 0x60/0x64.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "host/boot/platform.hpp"
#include "host/common/result.hpp"
#include "host/memory/guest_memory.hpp"

namespace dvmm::boot {

inline constexpr uint8_t kAcpiRsdpRevision = 2;
inline constexpr uint8_t kAcpiMadtRevision = 3;
inline constexpr uint32_t kMadtPcatCompat = 1u << 0;
inline constexpr uint32_t kMadtCpuEnabled = 1u << 0;
inline constexpr uint8_t kMadtAllProcessors = 0xFF;           // type 4 UID
inline constexpr uint32_t kMadtAllX2Processors = 0xFFFFFFFF;  // type 0xA UID
inline constexpr uint32_t kMadtMaxXapicId = 254;              // larger IDs use x2APIC entries

// The power management hardware's guest-visible placement (see above).
inline constexpr uint16_t kAcpiPmIoBase = 0x600;
inline constexpr uint16_t kAcpiPm1aEventPort = kAcpiPmIoBase + 0x0;    // 4 bytes
inline constexpr uint16_t kAcpiPm1aControlPort = kAcpiPmIoBase + 0x4;  // 2 bytes
inline constexpr uint16_t kAcpiPmTimerPort = kAcpiPmIoBase + 0x8;      // 4 bytes
inline constexpr uint16_t kAcpiPmIoLength = 0xC;                       // 0x600-0x60B
inline constexpr uint8_t kAcpiPm1EventLength = 4;
inline constexpr uint8_t kAcpiPm1ControlLength = 2;
inline constexpr uint8_t kAcpiPmTimerLength = 4;
inline constexpr uint16_t kAcpiResetPort = 0xCF9;
inline constexpr uint8_t kAcpiResetValue = 0x06;  // RST_CPU | SYS_RST: a hard reset
inline constexpr uint8_t kAcpiSciIrq = 9;
// SLP_TYP the DSDT's \_S5 package gives for soft-off (both PM1a and PM1b).
inline constexpr uint8_t kAcpiS5SleepType = 5;
// CMOS index of the century register (host/devices/cmos.hpp), for FADT.CENTURY.
inline constexpr uint8_t kCmosCenturyIndex = 0x32;

inline constexpr uint8_t kAcpiFadtRevision = 6;
inline constexpr uint8_t kAcpiFadtMinorRevision = 0;
inline constexpr uint8_t kAcpiDsdtRevision = 2;  // 2: AML integers are 64 bits
inline constexpr uint8_t kAcpiFacsVersion = 2;
inline constexpr uint64_t kAcpiFacsAlignment = 64;

// FADT.Flags (table 5.10).
inline constexpr uint32_t kFadtWbinvd = 1u << 0;          // WBINVD flushes caches
inline constexpr uint32_t kFadtProcC1 = 1u << 2;          // C1 (HLT) on every CPU
inline constexpr uint32_t kFadtPwrButton = 1u << 4;       // no fixed-feature power button
inline constexpr uint32_t kFadtSlpButton = 1u << 5;       // no fixed-feature sleep button
inline constexpr uint32_t kFadtFixRtc = 1u << 6;          // no RTC wake status in PM1
inline constexpr uint32_t kFadtTmrValExt = 1u << 8;       // 32-bit PM timer (clear: 24-bit)
inline constexpr uint32_t kFadtResetRegSup = 1u << 10;    // RESET_REG is valid
inline constexpr uint32_t kFadtHwReducedAcpi = 1u << 20;  // never set by dvmm
// FADT.IAPC_BOOT_ARCH (table 5.11).
inline constexpr uint16_t kBootArchLegacyDevices = 1u << 0;  // ISA devices (UART, PIT, RTC)
inline constexpr uint16_t kBootArch8042 = 1u << 1;           // never set: no 8042
inline constexpr uint16_t kBootArchVgaNotPresent = 1u << 2;
// FADT P_LVL2_LAT/P_LVL3_LAT values that mean "C2/C3 not supported".
inline constexpr uint16_t kFadtNoC2 = 101;
inline constexpr uint16_t kFadtNoC3 = 1001;

// Generic Address Structure address space IDs and access sizes (5.2.3.2).
inline constexpr uint8_t kGasSystemIo = 1;
inline constexpr uint8_t kGasAccessByte = 1;
inline constexpr uint8_t kGasAccessWord = 2;
inline constexpr uint8_t kGasAccessDword = 3;

enum class MadtEntryType : uint8_t {
  kLocalApic = 0,
  kIoApic = 1,
  kInterruptSourceOverride = 2,
  kLocalApicNmi = 4,
  kLocalX2Apic = 9,
  kLocalX2ApicNmi = 0xA,
};

#pragma pack(push, 1)
struct AcpiRsdp {
  char signature[8];  // "RSD PTR "
  uint8_t checksum;   // over bytes 0-19
  char oem_id[6];
  uint8_t revision;  // 2: the fields below are valid
  uint32_t rsdt_address;
  uint32_t length;  // 36
  uint64_t xsdt_address;
  uint8_t extended_checksum;  // over all 36 bytes
  uint8_t reserved[3];
};

struct AcpiTableHeader {
  char signature[4];
  uint32_t length;  // of the whole table, header included
  uint8_t revision;
  uint8_t checksum;
  char oem_id[6];
  char oem_table_id[8];
  uint32_t oem_revision;
  char creator_id[4];
  uint32_t creator_revision;
};

// Generic Address Structure: where a register is and how wide it is.
struct AcpiGas {
  uint8_t space_id;     // kGasSystemIo
  uint8_t bit_width;    // the register's width
  uint8_t bit_offset;   // 0
  uint8_t access_size;  // kGasAccess*
  uint64_t address;     // the I/O port
};

// FADT, ACPI 6.0+ layout (revision 6; table 5.9, byte offsets in comments).
struct AcpiFadt {
  AcpiTableHeader header;        //   0 "FACP"
  uint32_t firmware_ctrl;        //  36 FACS (below 4 GiB, so X_FIRMWARE_CTRL is 0)
  uint32_t dsdt;                 //  40
  uint8_t reserved0;             //  44 (ACPI 1.0 INT_MODEL)
  uint8_t preferred_pm_profile;  //  45 0: unspecified
  uint16_t sci_int;              //  46
  uint32_t smi_cmd;              //  48 0: no SMI port, always in ACPI mode
  uint8_t acpi_enable;           //  52
  uint8_t acpi_disable;          //  53
  uint8_t s4bios_req;            //  54
  uint8_t pstate_cnt;            //  55
  uint32_t pm1a_evt_blk;         //  56
  uint32_t pm1b_evt_blk;         //  60
  uint32_t pm1a_cnt_blk;         //  64
  uint32_t pm1b_cnt_blk;         //  68
  uint32_t pm2_cnt_blk;          //  72
  uint32_t pm_tmr_blk;           //  76
  uint32_t gpe0_blk;             //  80
  uint32_t gpe1_blk;             //  84
  uint8_t pm1_evt_len;           //  88
  uint8_t pm1_cnt_len;           //  89
  uint8_t pm2_cnt_len;           //  90
  uint8_t pm_tmr_len;            //  91
  uint8_t gpe0_blk_len;          //  92
  uint8_t gpe1_blk_len;          //  93
  uint8_t gpe1_base;             //  94
  uint8_t cst_cnt;               //  95
  uint16_t p_lvl2_lat;           //  96
  uint16_t p_lvl3_lat;           //  98
  uint16_t flush_size;           // 100
  uint16_t flush_stride;         // 102
  uint8_t duty_offset;           // 104
  uint8_t duty_width;            // 105
  uint8_t day_alrm;              // 106
  uint8_t mon_alrm;              // 107
  uint8_t century;               // 108 CMOS index of the century, 0 = none
  uint16_t iapc_boot_arch;       // 109
  uint8_t reserved1;             // 111
  uint32_t flags;                // 112
  AcpiGas reset_reg;             // 116
  uint8_t reset_value;           // 128
  uint16_t arm_boot_arch;        // 129
  uint8_t minor_revision;        // 131
  uint64_t x_firmware_ctrl;      // 132
  uint64_t x_dsdt;               // 140
  AcpiGas x_pm1a_evt_blk;        // 148
  AcpiGas x_pm1b_evt_blk;        // 160
  AcpiGas x_pm1a_cnt_blk;        // 172
  AcpiGas x_pm1b_cnt_blk;        // 184
  AcpiGas x_pm2_cnt_blk;         // 196
  AcpiGas x_pm_tmr_blk;          // 208
  AcpiGas x_gpe0_blk;            // 220
  AcpiGas x_gpe1_blk;            // 232
  AcpiGas sleep_control_reg;     // 244 (HW_REDUCED_ACPI only)
  AcpiGas sleep_status_reg;      // 256 (HW_REDUCED_ACPI only)
  uint64_t hypervisor_vendor;    // 268
};

// FACS (table 5.14). Not checksummed.
struct AcpiFacs {
  char signature[4];  // "FACS"
  uint32_t length;    // 64
  uint32_t hardware_signature;
  uint32_t firmware_waking_vector;
  uint32_t global_lock;
  uint32_t flags;
  uint64_t x_firmware_waking_vector;
  uint8_t version;
  uint8_t reserved0[3];
  uint32_t ospm_flags;
  uint8_t reserved1[24];
};

// The MADT's fixed part; interrupt controller structures follow.
struct AcpiMadt {
  AcpiTableHeader header;
  uint32_t lapic_address;
  uint32_t flags;
};

struct MadtLocalApic {
  uint8_t type;
  uint8_t length;  // 8
  uint8_t processor_uid;
  uint8_t apic_id;
  uint32_t flags;
};

struct MadtIoApic {
  uint8_t type;
  uint8_t length;  // 12
  uint8_t ioapic_id;
  uint8_t reserved;
  uint32_t address;
  uint32_t gsi_base;
};

struct MadtInterruptSourceOverride {
  uint8_t type;
  uint8_t length;  // 10
  uint8_t bus;     // 0: ISA
  uint8_t source;  // ISA IRQ
  uint32_t gsi;
  uint16_t flags;  // kInti* polarity/trigger
};

struct MadtLocalApicNmi {
  uint8_t type;
  uint8_t length;  // 6
  uint8_t processor_uid;
  uint16_t flags;
  uint8_t lint;
};

struct MadtLocalX2Apic {
  uint8_t type;
  uint8_t length;  // 16
  uint16_t reserved;
  uint32_t x2apic_id;
  uint32_t flags;
  uint32_t processor_uid;
};

struct MadtLocalX2ApicNmi {
  uint8_t type;
  uint8_t length;  // 12
  uint16_t flags;
  uint32_t processor_uid;
  uint8_t lint;
  uint8_t reserved[3];
};
#pragma pack(pop)
static_assert(sizeof(AcpiRsdp) == 36);
static_assert(sizeof(AcpiTableHeader) == 36);
static_assert(sizeof(AcpiGas) == 12);
static_assert(sizeof(AcpiFadt) == 276);
static_assert(offsetof(AcpiFadt, flags) == 112 && offsetof(AcpiFadt, reset_reg) == 116);
static_assert(offsetof(AcpiFadt, x_firmware_ctrl) == 132 &&
              offsetof(AcpiFadt, x_pm_tmr_blk) == 208);
static_assert(sizeof(AcpiFacs) == 64);
static_assert(sizeof(AcpiMadt) == 44);
static_assert(sizeof(MadtLocalApic) == 8);
static_assert(sizeof(MadtIoApic) == 12);
static_assert(sizeof(MadtInterruptSourceOverride) == 10);
static_assert(sizeof(MadtLocalApicNmi) == 6);
static_assert(sizeof(MadtLocalX2Apic) == 16);
static_assert(sizeof(MadtLocalX2ApicNmi) == 12);

// The DSDT's AML (the definition block after the table header): the \_S5
// sleep-state package. Exposed so that tests can check it byte by byte.
std::span<const uint8_t> dsdt_aml();

// Writes the RSDP, FACS, DSDT, FADT, MADT, RSDT and XSDT into kAcpiTables.
Status write_acpi_tables(GuestMemory& mem, const PlatformDescription& platform);

}  // namespace dvmm::boot
