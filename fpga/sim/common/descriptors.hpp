// Builders for the engine's TX descriptors (layout: rtl/dvmm_tx_desc.sv,
// docs/fpga.md "Descriptors").
#pragma once

#include <cstdint>

#include "beats.hpp"
#include "engine_regs.hpp"

namespace dvmm::fpga::tb {

// RAW: a control beat naming the destination node, then the message.
inline BeatPacket raw_descriptor(uint16_t dst_node, const Bytes& message) {
  BeatPacket p;
  p.push_back(AxisBeat{uint64_t{reg::kDescRaw} | (uint64_t{dst_node} << 16), 0xFF, false, false});
  for (const AxisBeat& b : to_beats(message)) p.push_back(b);
  return p;
}

struct IpiDesc {
  uint8_t vector = 0;
  uint8_t mode = 0;       // delivery mode
  uint8_t flags = 0;      // bit 0 logical, 1 level, 2 assert, 3 x2APIC
  uint8_t shorthand = 0;  // 0 none, 1 self, 2 all, 3 all but self
  uint32_t destination = 0;
  int32_t source_vcpu = -1;
};

inline BeatPacket ipi_descriptor(const IpiDesc& d) {
  const uint64_t w0 = uint64_t{reg::kDescIpi} | (uint64_t{d.vector} << 8) |
                      (uint64_t{d.mode} << 16) | (uint64_t{d.flags} << 24) |
                      (uint64_t{d.shorthand} << 32);
  const uint64_t w1 =
      uint64_t{d.destination} | (uint64_t{static_cast<uint32_t>(d.source_vcpu)} << 32);
  return BeatPacket{AxisBeat{w0, 0xFF, false, false}, AxisBeat{w1, 0xFF, true, false}};
}

}  // namespace dvmm::fpga::tb
