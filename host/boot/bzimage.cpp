#include "host/boot/image_bytes.hpp"
#include "host/boot/bzimage.hpp"

#include <lzma.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace dvmm::boot {

namespace {

constexpr uint64_t kSetupSectsOffset = 0x1F1;
constexpr uint64_t kHeaderMagicOffset = 0x202;
constexpr uint64_t kVersionOffset = 0x206;
constexpr uint64_t kPayloadOffsetOffset = 0x248;
constexpr uint64_t kPayloadLengthOffset = 0x24C;
constexpr uint16_t kMinVersion = 0x0208;  // payload fields
constexpr std::array<uint8_t, 6> kXzMagic{0xFD, '7', 'z', 'X', 'Z', 0x00};


const char* compression_name(std::span<const uint8_t> p) {
  auto starts = [&](std::initializer_list<uint8_t> m) {
    return p.size() >= m.size() && std::equal(m.begin(), m.end(), p.begin());
  };
  if (starts({0x1F, 0x8B})) return "gzip";
  if (starts({0x28, 0xB5, 0x2F, 0xFD})) return "zstd";
  if (starts({0x42, 0x5A, 0x68})) return "bzip2";
  if (starts({0x02, 0x21, 0x4C, 0x18})) return "lz4";
  if (starts({0x89, 'L', 'Z', 'O'})) return "lzo";
  if (starts({0x5D, 0x00, 0x00})) return "lzma";
  return "an unknown format";
}

}  // namespace

bool is_bzimage(std::span<const uint8_t> image) {
  return image.size() >= kHeaderMagicOffset + 4 &&
         std::memcmp(image.data() + kHeaderMagicOffset, "HdrS", 4) == 0;
}

Result<std::vector<uint8_t>> unpack_bzimage(std::span<const uint8_t> image, uint64_t max_bytes) {
  if (!is_bzimage(image)) return Error::format("not a bzImage (no \"HdrS\" magic at 0x202)");
  if (image.size() < kPayloadLengthOffset + 4) {
    return Error::format("the bzImage is {} bytes, too short for its setup header", image.size());
  }
  const auto version = read_at<uint16_t>(image, kVersionOffset);
  if (version < kMinVersion) {
    return Error::format("the bzImage uses boot protocol {}.{:02}; dvmm needs 2.08 or later "
                         "(Linux 2.6.26+) to find the compressed kernel",
                         version >> 8, version & 0xFF);
  }
  uint64_t setup_sects = image[kSetupSectsOffset];
  if (setup_sects == 0) setup_sects = 4;  // the protocol's rule for old images
  const uint64_t pm_start = (setup_sects + 1) * 512;
  const uint64_t offset = pm_start + read_at<uint32_t>(image, kPayloadOffsetOffset);
  const uint64_t length = read_at<uint32_t>(image, kPayloadLengthOffset);
  if (offset > image.size() || length > image.size() - offset || length == 0) {
    return Error::format("the bzImage's payload [{:#x}, {:#x}) lies outside the {}-byte file",
                         offset, offset + length, image.size());
  }
  std::span<const uint8_t> payload = image.subspan(offset, length);
  if (payload.size() < kXzMagic.size() ||
      !std::equal(kXzMagic.begin(), kXzMagic.end(), payload.begin())) {
    return Error::format("the bzImage's payload is compressed with {}; dvmm unpacks xz only "
                         "(Debian's kernels): give the uncompressed vmlinux instead",
                         compression_name(payload));
  }

  lzma_stream strm = LZMA_STREAM_INIT;
  // The decoder's own memory (mostly the LZMA2 dictionary, 32 MiB or less
  // for kernels) is bounded too: a header asking for more is refused.
  constexpr uint64_t kDecoderMemoryLimit = 256ull << 20;
  if (lzma_ret r = lzma_stream_decoder(&strm, kDecoderMemoryLimit, 0); r != LZMA_OK) {
    return Error::format("liblzma cannot start a decoder (error {})", static_cast<int>(r));
  }
  std::vector<uint8_t> out;
  // Linux appends the uncompressed size as 4 bytes after the stream: a
  // good first guess for the buffer, but only a guess from the file, so it
  // is capped (the buffer doubles as output arrives, up to max_bytes).
  constexpr uint64_t kMaxFirstGuess = 96ull << 20;
  const uint64_t guess = read_at<uint32_t>(payload, payload.size() - 4);
  out.resize(static_cast<size_t>(
      std::min({std::max<uint64_t>(guess, 1 << 20), kMaxFirstGuess, max_bytes})));
  strm.next_in = payload.data();
  strm.avail_in = payload.size();
  strm.next_out = out.data();
  strm.avail_out = out.size();
  lzma_ret r = LZMA_OK;
  for (;;) {
    r = lzma_code(&strm, LZMA_FINISH);
    if (r != LZMA_OK) break;
    if (strm.avail_out == 0) {
      if (out.size() >= max_bytes) break;
      const size_t used = out.size();
      out.resize(static_cast<size_t>(std::min<uint64_t>(used * 2, max_bytes)));
      strm.next_out = out.data() + used;
      strm.avail_out = out.size() - used;
    }
  }
  const uint64_t produced = strm.total_out;
  lzma_end(&strm);
  if (r == LZMA_OK) {
    return Error::format("the bzImage's payload unpacks to more than {} MiB; refusing it",
                         max_bytes >> 20);
  }
  if (r == LZMA_MEMLIMIT_ERROR) {
    return Error::format("the bzImage's xz payload needs more than {} MiB to decode; refusing it",
                         kDecoderMemoryLimit >> 20);
  }
  if (r != LZMA_STREAM_END) {
    return Error::format("the bzImage's xz payload is corrupt or truncated (liblzma error {} "
                         "after {} bytes out)",
                         static_cast<int>(r), produced);
  }
  out.resize(static_cast<size_t>(produced));
  return out;
}

}  // namespace dvmm::boot
