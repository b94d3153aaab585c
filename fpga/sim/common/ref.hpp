// Reference models shared by the testbenches: the Ethernet CRC-32 written
// from the IEEE 802.3 definition (bit-serial, reflected), independent of
// the RTL's lane-parallel form, and helpers around dataplane's own frame
// and message codecs, which are the byte-for-byte reference for what the
// engine puts on the wire.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "beats.hpp"
#include "dataplane/dpdk/frame.hpp"
#include "dataplane/message.hpp"

namespace dvmm::fpga::tb {

// CRC-32 as the FCS: initial ~0, reflected polynomial, final complement.
uint32_t crc32(std::span<const uint8_t> bytes);
// The frame with its FCS appended (little-endian, as transmitted).
Bytes with_fcs(std::span<const uint8_t> frame);
// True when the last four bytes are the FCS of the rest.
bool fcs_ok(std::span<const uint8_t> frame_with_fcs);

using dataplane::dpdk::MacAddress;

// A MAC as the engine's registers hold it: byte 0 (first on the wire) in
// bits 7:0.
uint64_t mac_to_u64(const MacAddress& mac);

// The wire bytes (without FCS) frame.cpp produces for msg from src to dst.
Bytes encode_wire(const dataplane::Message& msg, const MacAddress& dst, const MacAddress& src);

// Decodes a wire frame (FCS stripped) with frame.cpp and message.cpp.
struct WireFrame {
  MacAddress dst{};
  MacAddress src{};
  dataplane::Message msg;
};
std::optional<WireFrame> decode_wire(std::span<const uint8_t> frame, std::string* why);

std::string hex(std::span<const uint8_t> bytes);

}  // namespace dvmm::fpga::tb
