// Bytes and 64-bit AXI-Stream beats (byte lane 0 first), without any
// Verilator dependency so the reference code can use them too.
#pragma once

#include <cstdint>
#include <vector>

namespace dvmm::fpga::tb {

using Bytes = std::vector<uint8_t>;

struct AxisBeat {
  uint64_t data = 0;
  uint8_t keep = 0;
  bool last = false;
  bool user = false;
};

// A packet as beats: built from bytes (to_beats) or word by word
// (descriptors).
using BeatPacket = std::vector<AxisBeat>;

// Splits a packet into beats, tkeep contiguous from lane 0.
BeatPacket to_beats(const Bytes& packet);

}  // namespace dvmm::fpga::tb
