#include "host/vmm/size_parse.hpp"

#include <cctype>
#include <charconv>

#include "host/common/address.hpp"

namespace dvmm {

Result<uint64_t> parse_memory_size(std::string_view text) {
  const auto bad = [&] {
    return Error::format(
        "memory size '{}' is not a size: write a number of MiB (512) or a number with a "
        "K/M/G/T suffix (512M, 2G)",
        text);
  };
  uint64_t number = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, number);
  if (ec != std::errc() || ptr == begin) return bad();
  std::string_view suffix(ptr, static_cast<size_t>(end - ptr));
  uint64_t unit = MiB;
  if (!suffix.empty()) {
    switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
      case 'K': unit = KiB; break;
      case 'M': unit = MiB; break;
      case 'G': unit = GiB; break;
      case 'T': unit = 1024 * GiB; break;
      default: return bad();
    }
    suffix.remove_prefix(1);
    if (!(suffix.empty() || suffix == "B" || suffix == "iB")) return bad();
  }
  if (number > UINT64_MAX / unit) return Error::format("memory size '{}' is too large", text);
  return number * unit;
}

}  // namespace dvmm
