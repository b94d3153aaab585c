// Reference model of the engine's IPI target expansion, written from the
// documented rules (rtl/dvmm_tx_desc.sv, docs/fpga.md) rather than from the
// RTL: which APIC table entries an IPI descriptor reaches, in table order.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "descriptors.hpp"

namespace dvmm::fpga::tb {

struct ApicEntry {
  bool valid = false;
  uint16_t node = 0;
  uint32_t vcpu = 0;
  uint32_t ldr = 0;  // xAPIC flat: logical ID in 31:24; x2APIC: cluster 31:16, bits 15:0
};

// APIC IDs (table indices) the IPI goes to. node_remote(n): n is another
// node whose MAC the engine knows (targets elsewhere are skipped).
inline std::vector<uint32_t> ipi_targets(const IpiDesc& d, std::span<const ApicEntry> table,
                                         const std::function<bool(uint16_t)>& node_remote) {
  std::vector<uint32_t> out;
  if (d.shorthand == 1) return out;  // self: always local
  const bool x2 = (d.flags & 8) != 0;
  const bool logical = (d.flags & 1) != 0;
  const bool bcast = x2 ? d.destination == 0xFFFF'FFFFu : (d.destination & 0xFF) == 0xFF;
  for (uint32_t a = 0; a < table.size(); ++a) {
    const ApicEntry& e = table[a];
    if (!e.valid || !node_remote(e.node)) continue;
    bool match = false;
    if (d.shorthand == 2) {
      match = true;
    } else if (d.shorthand == 3) {
      match = e.vcpu != static_cast<uint32_t>(d.source_vcpu);
    } else if (logical) {
      match = x2 ? (e.ldr >> 16) == (d.destination >> 16) && (e.ldr & d.destination & 0xFFFF) != 0
                 : ((e.ldr >> 24) & d.destination & 0xFF) != 0;
    } else {
      match = bcast || a == d.destination;
    }
    if (!match) continue;
    out.push_back(a);
    if (d.mode == 1) break;  // lowest priority: the first match only
  }
  return out;
}

}  // namespace dvmm::fpga::tb
