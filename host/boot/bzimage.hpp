// Linux bzImage files (Documentation/x86/boot.rst): the real-mode setup
// code and header, then the protected-mode part, whose compressed payload
// (payload_offset/payload_length, boot protocol 2.08+) is the kernel ELF.
//
// On hosts where ring-0 guest code is emulated, the kernel's own
// decompressor takes minutes, so dvmm unpacks the payload on the host
// (xz, with liblzma) and boots the ELF through its PVH entry (pvh.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "host/common/result.hpp"

namespace dvmm::boot {

// True when the image carries the bzImage header magic "HdrS" at 0x202.
bool is_bzimage(std::span<const uint8_t> image);

// The decompressed payload (an ELF vmlinux). Errors name what is wrong: an
// old boot protocol, a payload outside the file, a compression other than
// xz, or corrupt data. The output is bounded (max_bytes) so that a hostile
// image cannot exhaust host memory.
Result<std::vector<uint8_t>> unpack_bzimage(std::span<const uint8_t> image,
                                            uint64_t max_bytes = 512ull << 20);

}  // namespace dvmm::boot
