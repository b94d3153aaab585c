// Shared by the libFuzzer targets: reading a fuzz input as a stream of
// little-endian fields (Input), building the same stream for seeds
// (Output), and the `--write-seeds=DIR` mode every target offers.
//
// The targets read their inputs front to back with Input instead of
// libFuzzer's FuzzedDataProvider (which takes integers from the end), so a
// seed is simply the fields in order and the seed writers stay readable.
// Reads past the end yield zeroes and empty spans: every input, however
// short, is a complete (if dull) program.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dvmm::fuzz {

class Input {
 public:
  Input(const uint8_t* data, size_t size) : bytes_(data, size) {}

  bool empty() const { return pos_ >= bytes_.size(); }
  size_t remaining() const { return bytes_.size() - pos_; }

  uint8_t u8() { return static_cast<uint8_t>(le(1)); }
  uint16_t u16() { return static_cast<uint16_t>(le(2)); }
  uint32_t u32() { return static_cast<uint32_t>(le(4)); }
  uint64_t u64() { return le(8); }
  bool boolean() { return (u8() & 1) != 0; }

  // Up to n bytes (fewer at the end of the input).
  std::span<const uint8_t> bytes(size_t n) {
    const size_t take = n < remaining() ? n : remaining();
    const std::span<const uint8_t> out = bytes_.subspan(pos_, take);
    pos_ += take;
    return out;
  }
  std::span<const uint8_t> rest() { return bytes(remaining()); }

 private:
  uint64_t le(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n && !empty(); ++i) v |= uint64_t{bytes_[pos_++]} << (8 * i);
    return v;
  }

  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

// The writer side of Input, for seeds.
class Output {
 public:
  Output& u8(uint8_t v) { return le(v, 1); }
  Output& u16(uint16_t v) { return le(v, 2); }
  Output& u32(uint32_t v) { return le(v, 4); }
  Output& u64(uint64_t v) { return le(v, 8); }
  Output& bytes(std::span<const uint8_t> b) {
    out_.insert(out_.end(), b.begin(), b.end());
    return *this;
  }
  Output& text(std::string_view s) {
    out_.insert(out_.end(), s.begin(), s.end());
    return *this;
  }
  const std::vector<uint8_t>& data() const { return out_; }

 private:
  Output& le(uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  std::vector<uint8_t> out_;
};

struct Seed {
  std::string name;  // file name in the corpus directory
  std::vector<uint8_t> bytes;
};

// Call from LLVMFuzzerInitialize. With `--write-seeds=DIR` among the
// arguments, writes make_seeds() into DIR (created if needed) and exits,
// before libFuzzer parses its own flags; otherwise does nothing. The seeds
// live in the target's source, next to the code that reads them, so a
// change of input format and its seeds are one edit (fuzz/write-seeds.sh
// regenerates fuzz/corpus/).
inline void maybe_write_seeds(int* argc, char*** argv,
                              const std::function<std::vector<Seed>()>& make_seeds) {
  constexpr std::string_view kFlag = "--write-seeds=";
  for (int i = 1; i < *argc; ++i) {
    const std::string_view arg((*argv)[i]);
    if (arg.substr(0, kFlag.size()) != kFlag) continue;
    const std::filesystem::path dir(std::string(arg.substr(kFlag.size())));
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      std::fprintf(stderr, "cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
      std::exit(1);
    }
    const std::vector<Seed> seeds = make_seeds();
    for (const Seed& s : seeds) {
      std::ofstream f(dir / s.name, std::ios::binary | std::ios::trunc);
      f.write(reinterpret_cast<const char*>(s.bytes.data()),
              static_cast<std::streamsize>(s.bytes.size()));
      if (!f) {
        std::fprintf(stderr, "cannot write %s\n", (dir / s.name).c_str());
        std::exit(1);
      }
    }
    std::printf("wrote %zu seeds to %s\n", seeds.size(), dir.c_str());
    std::exit(0);
  }
}

// Stops the run with a message: a broken invariant the sanitizers cannot
// see (a round trip that changes bytes, a delivery out of order). libFuzzer
// reports the abort as a crash and saves the input.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

}  // namespace dvmm::fuzz

// libFuzzer's two entry points for a target: `seeds` (returning
// std::vector<Seed>) serves --write-seeds, `run` (taking Input&) runs one
// input. One line per target instead of the same two functions in each.
#define DVMM_FUZZ_TARGET(seeds, run)                                    \
  extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {        \
    ::dvmm::fuzz::maybe_write_seeds(argc, argv, seeds);                 \
    return 0;                                                           \
  }                                                                     \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    ::dvmm::fuzz::Input fuzz_input(data, size);                         \
    run(fuzz_input);                                                    \
    return 0;                                                           \
  }

