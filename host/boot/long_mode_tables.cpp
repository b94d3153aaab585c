#include "host/boot/long_mode_tables.hpp"

#include <array>

#include "host/boot/area_builder.hpp"
#include "host/boot/layout.hpp"

namespace dvmm::boot {

namespace {

constexpr uint64_t kTableBytes = 4096;
constexpr uint64_t kEntriesPerTable = kTableBytes / sizeof(uint64_t);
constexpr uint64_t kPageDirectories = kIdentityMappedBytes / (kEntriesPerTable * x86::kLargePageSize);
static_assert(kPageDirectories == 4);
static_assert((2 + kPageDirectories) * kTableBytes <= kBootPageTables.size());

}  // namespace

Result<LongModeTables> write_long_mode_tables(GuestMemory& mem) {
  constexpr uint64_t kTable = x86::kPtePresent | x86::kPteWritable;
  AreaBuilder tables(kBootPageTables, "boot page tables");
  const uint64_t pml4 = DVMM_TRY(tables.reserve(kTableBytes, kTableBytes, "the PML4"));
  const uint64_t pdpt = DVMM_TRY(tables.reserve(kTableBytes, kTableBytes, "the PDPT"));
  tables.put<uint64_t>(pml4, pdpt | kTable);
  for (uint64_t d = 0; d < kPageDirectories; ++d) {
    const uint64_t pd = DVMM_TRY(tables.reserve(kTableBytes, kTableBytes, "a page directory"));
    tables.put<uint64_t>(pdpt + d * sizeof(uint64_t), pd | kTable);
    for (uint64_t i = 0; i < kEntriesPerTable; ++i) {
      const uint64_t page = (d * kEntriesPerTable + i) * x86::kLargePageSize;
      tables.put<uint64_t>(pd + i * sizeof(uint64_t), page | kTable | x86::kPteLargePage);
    }
  }
  DVMM_TRY(tables.commit(mem));

  // GDT entries 0 and 1 stay null: Linux's boot selectors are 0x10, 0x18.
  constexpr std::array<uint64_t, 4> kGdt{0, 0, x86::kGdtFlatCode64, x86::kGdtFlatData};
  static_assert(kBootCodeSelector == 2 * sizeof(uint64_t) &&
                kBootDataSelector == 3 * sizeof(uint64_t));
  AreaBuilder gdt_area(kVmmReserved, "boot GDT");
  const uint64_t gdt = DVMM_TRY(gdt_area.reserve(sizeof(kGdt), 8, "the GDT"));
  gdt_area.put(gdt, kGdt);
  DVMM_TRY(gdt_area.commit(mem));
  return LongModeTables{pml4, gdt, static_cast<uint16_t>(sizeof(kGdt) - 1)};
}

}  // namespace dvmm::boot
