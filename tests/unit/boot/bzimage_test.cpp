// bzImage unpacking: a synthetic bzImage around an xz-compressed PVH ELF
// (compressed here with liblzma, as the kernel build does with xz) boots
// through load_kernel; broken headers and payloads give errors that say
// what is wrong.
#include <gtest/gtest.h>
#include <lzma.h>

#include <cstring>
#include <string>
#include <vector>

#include "host/boot/bzimage.hpp"
#include "host/boot/kernel_loader.hpp"
#include "host/boot/pvh.hpp"
#include "tests/unit/boot/test_images.hpp"

namespace dvmm::boot {
namespace {

constexpr uint64_t kRam = 64ull << 20;
constexpr uint8_t kSetupSects = 3;
constexpr uint64_t kProtectedModeStart = (kSetupSects + 1) * 512;
constexpr uint32_t kPayloadOffset = 0x100;  // within the protected-mode part

std::vector<uint8_t> xz(const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out(lzma_stream_buffer_bound(in.size()));
  size_t pos = 0;
  EXPECT_EQ(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, nullptr, in.data(), in.size(), out.data(),
                                    &pos, out.size()),
            LZMA_OK);
  out.resize(pos);
  // As the kernel build does: the uncompressed size follows the stream.
  test::poke<uint32_t>(out, out.size(), static_cast<uint32_t>(in.size()));
  return out;
}

std::vector<uint8_t> bzimage(const std::vector<uint8_t>& payload, uint16_t version = 0x020F) {
  std::vector<uint8_t> img(kProtectedModeStart + kPayloadOffset, 0);
  img[0x1F1] = kSetupSects;
  test::poke<uint16_t>(img, 0x1FE, 0xAA55);
  std::memcpy(img.data() + 0x202, "HdrS", 4);
  test::poke<uint16_t>(img, 0x206, version);
  test::poke<uint32_t>(img, 0x248, kPayloadOffset);
  test::poke<uint32_t>(img, 0x24C, static_cast<uint32_t>(payload.size()));
  const size_t at = img.size();
  // The decompressor's tail follows the payload: 64 zero bytes.
  img.resize(at + payload.size() + 64, 0);
  if (!payload.empty()) std::memcpy(img.data() + at, payload.data(), payload.size());
  return img;
}

// A PVH kernel: one segment at 16 MiB, entered at its start.
std::vector<uint8_t> vmlinux() {
  test::ElfSpec spec;
  spec.elf64 = true;
  spec.multiboot_header = false;
  spec.segments.push_back(test::TestSegment{0x1000000, 0, test::pattern(0x5000, 5), 0, PT_LOAD,
                                            PF_R | PF_X});
  std::vector<uint8_t> note;
  test::poke<uint32_t>(note, 0, 4);
  test::poke<uint32_t>(note, 4, 8);
  test::poke<uint32_t>(note, 8, kXenElfNotePhys32Entry);
  test::poke<uint32_t>(note, 12, 0x006E6558);  // "Xen\0"
  test::poke<uint64_t>(note, 16, 0x1000000);
  spec.segments.push_back(test::TestSegment{0, 0, note, 0, PT_NOTE, PF_R});
  return test::build_elf(spec).bytes;
}

TEST(BzImage, UnpacksTheXzPayloadAndBootsItThroughPvh) {
  const std::vector<uint8_t> elf = vmlinux();
  const std::vector<uint8_t> image = bzimage(xz(elf));
  ASSERT_TRUE(is_bzimage(image));
  auto unpacked = unpack_bzimage(image);
  ASSERT_TRUE(unpacked.ok()) << unpacked.error().message;
  EXPECT_EQ(*unpacked, elf);

  GuestRam ram = test::make_ram(kRam);
  auto boot = load_kernel(ram, image, KernelArgs{"bzImage", "console=ttyS0", {}, 0xE0000});
  ASSERT_TRUE(boot.ok()) << boot.error().message;
  EXPECT_EQ(boot->protocol, BootProtocol::kPvh);
  EXPECT_EQ(boot->eip, 0x1000000u);
  EXPECT_NE(boot->description.find("bzImage"), std::string::npos);
  std::vector<uint8_t> loaded(0x5000);
  ASSERT_TRUE(ram.read(GuestAddress{0x1000000}, loaded).ok());
  EXPECT_EQ(loaded, test::pattern(0x5000, 5));
}

TEST(BzImage, ErrorsNameTheProblem) {
  const std::vector<uint8_t> good = xz(vmlinux());
  struct Case {
    const char* name;
    std::vector<uint8_t> image;
    const char* expect;
  };
  std::vector<uint8_t> corrupt = good;
  corrupt[corrupt.size() / 2] ^= 0xFF;
  std::vector<uint8_t> past_end = bzimage(good);
  test::poke<uint32_t>(past_end, 0x24C, 0x7FFFFFFF);
  std::vector<uint8_t> gzip{0x1F, 0x8B, 8, 0, 0, 0, 0, 0};
  const Case cases[] = {
      {"old protocol", bzimage(good, 0x0206), "2.08 or later"},
      {"payload past the end", past_end, "outside the"},
      {"gzip payload", bzimage(gzip), "gzip"},
      {"corrupt xz", bzimage(corrupt), "corrupt"},
      {"truncated xz", bzimage(std::vector<uint8_t>(good.begin(), good.begin() + 40)), "corrupt or truncated"},
  };
  for (const Case& c : cases) {
    auto r = unpack_bzimage(c.image);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << c.name << ": "
                                                                    << r.error().message;
  }
}

TEST(BzImage, OutputIsBounded) {
  std::vector<uint8_t> big(4 << 20, 0);  // compresses to almost nothing
  auto r = unpack_bzimage(bzimage(xz(big)), 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("more than 1 MiB"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace dvmm::boot
