// Parses memory sizes the way QEMU's -m does: a plain number is MiB; a
// suffix K, M, G or T (optionally followed by "iB" or "B") scales by 1024s.
#pragma once

#include <cstdint>
#include <string_view>

#include "host/common/result.hpp"

namespace dvmm {

Result<uint64_t> parse_memory_size(std::string_view text);

}  // namespace dvmm
